/*
 * The gestor's store on PostgreSQL: several gestors share one database.
 * Everything runs on the event loop with libpq's asynchronous API: a few
 * worker connections run the operations (each user's operations on the
 * same connection, in order; one slow statement holds up only its own
 * connection), and one more connection LISTENs for the other gestors'
 * notifications and keeps this gestor's lease: every heartbeat.interval
 * one statement renews the lease and all presence rows of this gestor,
 * and another marks the users of gestors whose lease lapsed offline;
 * heartbeat refreshes of last_seen are gathered and written together
 * (gstore_pg_seen.c).
 * Every request has a bounded wait (GSTORE_UNAVAILABLE past it); a lost
 * connection is made again with backoff (libpq's multi-host conninfo
 * finds a promoted standby), LISTENs again and reconciles presence.
 * Only open() and close() block, before and after the loop runs.
 *
 * This file is the backend (struct gstore_be) and routes what each
 * connection reads (on_io); the files below it are listed in
 * gstore_pg.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gstore_pg.h"
#include "log.h"
#include "util.h"

#define GPG_TICK		0.1	/* seconds between timer sweeps */
#define GPG_REQUEST_TIMEOUT	5.0

static void	on_io(evutil_socket_t, short, void *);
static void	on_tick(evutil_socket_t, short, void *);

/* ------------------------------------------------------------- results */

/* One result of the statement in flight on c (not pipelined). */
static void
gpc_result(struct gpconn *c, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	enum gstore_rc rc;

	switch (c->job) {
	case GJ_OP:
		rc = c->op != NULL ? gpg_op_result(c->op, res) : GSTORE_OK;
		if (rc == GSTORE_ERR && st != PGRES_COMMAND_OK &&
		    st != PGRES_TUPLES_OK) {
			gpc_log_error(c, res);
			if (c->reset)
				rc = GSTORE_UNAVAILABLE;
		}
		if (c->rc == GSTORE_OK)
			c->rc = rc;
		if (c->op != NULL && c->op->priv == res)
			return;			/* a listing keeps its rows */
		break;
	case GJ_SETUP:
		gpc_setup_result(c, res);
		break;
	case GJ_RECONCILE:
		gpg_reconcile_result(c, res);
		break;
	case GJ_REAP:
		gpg_reap_result(c, res);
		break;
	default:
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			gpc_log_error(c, res);
		break;
	}
	PQclear(res);
}

/* The statement in flight has all its results. */
static void
gpc_job_done(struct gpconn *c)
{
	enum gpc_job job = c->job;

	c->job = GJ_NONE;
	c->state = GPC_IDLE;
	if (job == GJ_OP && c->op != NULL) {
		gstore_op_done(c->op, c->rc);
		c->op = NULL;
	} else if (job == GJ_SETUP)
		gpc_setup_done(c);
	else if (job == GJ_RENEW) {
		struct gpg_stmt st;

		gpg_reap_stmt(c->pg->self, &st);
		gpc_send(c, GJ_REAP, &st);
		return;
	}
	if (c->state == GPC_IDLE && c->reset) {
		gpc_down(c, "the server ended the session");
		return;
	}
	if (c->state == GPC_IDLE)
		gpc_dispatch(c);
}

static void
on_io(evutil_socket_t fd, short what, void *arg)
{
	struct gpconn *c = arg;
	PGresult *res;
	char buf[256];

	if (c->state == GPC_CONNECTING) {
		gpc_connect_step(c);
		return;
	}
	if ((what & EV_WRITE) && PQflush(c->conn) == 1) {
		gpc_watch(c, EV_READ | EV_PERSIST | EV_WRITE);
		return;
	}
	if (what & EV_WRITE)
		gpc_watch(c, EV_READ | EV_PERSIST);
	if (!PQconsumeInput(c->conn)) {
		gpc_down(c, gpg_pq_msg(PQerrorMessage(c->conn), buf, sizeof(buf)));
		return;
	}
	gpc_notifies(c);
	if (c->pipeline) {
		gpc_pipe_results(c);
		return;
	}
	while (c->state == GPC_BUSY && !PQisBusy(c->conn)) {
		if ((res = PQgetResult(c->conn)) == NULL) {
			gpc_job_done(c);
			continue;
		}
		gpc_result(c, res);
	}
	if (c->conn != NULL && PQstatus(c->conn) == CONNECTION_BAD)
		gpc_down(c, gpg_pq_msg(PQerrorMessage(c->conn), buf, sizeof(buf)));
}

void
gpg_start(void *impl, struct gstore_op *op)
{
	struct gpg *pg = impl;

	if (op->kind == GOP_PRESENCE && op->presence == GSTORE_SEEN) {
		gpg_seen_add(pg, &op->u);	/* written within a second */
		gstore_op_done(op, GSTORE_OK);
		gpg_seen_tick(pg, util_mono());
		return;
	}
	gpc_enqueue(pg, op);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct gpg *pg = arg;
	double now = util_mono();
	int i;

	for (i = 0; i < GPG_WORKERS; i++)
		gpc_tick(&pg->workers[i], now);
	gpc_tick(&pg->listener, now);
	gpg_seen_tick(pg, now);
	gpg_lease_tick(pg, now);
}

/* ------------------------------------------------------------ open, close */

/*
 * Blocking, before the loop runs: reach the server, check and migrate.
 * -1: what waiting cannot mend (a malformed conninfo; a server that
 * answered but whose schema is newer or cannot be migrated); 1: the
 * server cannot be reached now (down, starting, refusing this role or
 * database for now): the gestor serves without it and keeps trying
 * (gpc_connect_step migrates then, gstore_pg_conn.c); 0: ready.
 */
static int
gpg_first_connect(struct gpg *pg, char **cause)
{
	static const char *const kw[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char *val[] = { "5", "p2pchatd", pg->conninfo, NULL };
	PQconninfoOption *opts;
	PGconn *conn;
	char buf[256], *err = NULL;
	int rc;

	if ((opts = PQconninfoParse(pg->conninfo, &err)) == NULL) {
		if (asprintf(cause, "postgresql: storage.conninfo: %s", gpg_pq_msg(
		    err != NULL ? err : "out of memory", buf, sizeof(buf))) < 0)
			*cause = NULL;
		PQfreemem(err);
		return -1;
	}
	PQconninfoFree(opts);
	conn = PQconnectdbParams(kw, val, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		if (asprintf(cause, "cannot connect (storage.conninfo): %s",
		    gpg_pq_msg(conn != NULL ? PQerrorMessage(conn) :
		    "out of memory", buf, sizeof(buf))) < 0)
			*cause = NULL;
		PQfinish(conn);
		return 1;
	}
	PQsetNoticeProcessor(conn, gpc_on_notice, NULL);
	log_info("gstore_pg: database %s on %s:%s, this gestor is \"%s\"",
	    PQdb(conn), PQhost(conn), PQport(conn), pg->self);
	rc = gpg_migrate(conn, cause);
	PQfinish(conn);
	return rc;
}

static void gpg_close(void *);

static void *
gpg_open(struct gstore *gs, const struct gstore_front *front,
    const struct gstore_opts *o, char **cause)
{
	struct gpg *pg;
	static const char *const names[GPG_WORKERS] = { "worker 1", "worker 2",
	    "worker 3", "worker 4" };
	struct timeval tv = { 0, (suseconds_t)(GPG_TICK * 1e6) };
	int i;

	if (pqdl_load(cause) == -1)
		return NULL;
	pg = xcalloc(1, sizeof(*pg));
	pg->gs = gs;
	pg->front = front;
	pg->on_io = on_io;
	pg->base = o->base;
	pg->conninfo = xstrdup(o->conninfo != NULL ? o->conninfo : "");
	snprintf(pg->self, sizeof(pg->self), "%s", o->cluster);
	pg->interval = o->hb_interval > 0 ? o->hb_interval : 10.0;
	pg->ttl = o->hb_timeout > pg->interval ? o->hb_timeout : 3 * pg->interval;
	pg->timeout = o->request_timeout > 0 ? o->request_timeout :
	    GPG_REQUEST_TIMEOUT;
	pg->on_notify = o->on_notify;
	pg->on_state = o->on_state;
	pg->sessions = o->sessions;
	pg->arg = o->arg;
	pg->state = GSTORE_CONNECTING;
	pg->since = (int64_t)time(NULL);
	gpc_init(pg, &pg->listener, "listener");
	for (i = 0; i < GPG_WORKERS; i++)
		gpc_init(pg, &pg->workers[i], names[i]);
	if ((i = gpg_key_file(o->cluster_key_file, pg->key, cause)) == -1) {
		gpg_close(pg);
		return NULL;
	}
	pg->have_key = pg->key_fixed = i == 1;
	if (*pg->self == '\0' || (i = gpg_first_connect(pg, cause)) == -1) {
		if (*pg->self == '\0' && asprintf(cause, "cluster.name is empty")
		    < 0)
			*cause = NULL;
		gpg_close(pg);
		return NULL;
	}
	if (i == 1) {
		/* A supervisor's start limit would give up on exit 1: serve
		 * what needs no database, and keep trying (issue 23 item 3). */
		log_warnx("gstore_pg: %s; serving without the database and "
		    "retrying with backoff", *cause != NULL ? *cause : "?");
		snprintf(pg->detail, sizeof(pg->detail), "%s",
		    *cause != NULL ? *cause : "");
		pg->errors++;
		free(*cause);
		*cause = NULL;
		pg->need_migrate = true;
	}
	pg->tick = event_new(pg->base, -1, EV_PERSIST, on_tick, pg);
	event_add(pg->tick, &tv);
	gpc_connect(&pg->listener);
	for (i = 0; i < GPG_WORKERS; i++)
		gpc_connect(&pg->workers[i]);
	return pg;
}

static void
gpg_close(void *impl)
{
	struct gpg *pg = impl;
	int i;

	if (pg->up)
		gpg_bye(pg);
	if (pg->tick != NULL)
		event_free(pg->tick);
	gpc_free(&pg->listener);
	for (i = 0; i < GPG_WORKERS; i++)
		gpc_free(&pg->workers[i]);
	gpg_seen_free(pg);
	util_zero(pg->conninfo, strlen(pg->conninfo));
	util_zero(pg->key, sizeof(pg->key));
	free(pg->conninfo);
	free(pg);
}

static void
gpg_rows_cb(void *impl, struct gstore_op *op)
{
	gpg_rows(op);
}

static void
gpg_drop(void *impl, struct gstore_op *op)
{
	gpg_rows_free(op);
}

static void
gpg_info(void *impl, struct gstore_info *info)
{
	struct gpg *pg = impl;

	info->state = pg->state;
	info->since = pg->since;
	info->errors = pg->errors;
	info->reconnects = pg->reconnects;
	info->timeouts = pg->timeouts;
	info->refused = pg->refused;
	info->detail = pg->detail;
	info->cluster = pg->self;
}

const struct gstore_be gstore_pg_be = {
	.name = "postgresql",
	.open = gpg_open,
	.close = gpg_close,
	.start = gpg_start,
	.rows = gpg_rows_cb,
	.drop = gpg_drop,
	.notify = gpg_notify,
	.info = gpg_info,
};
