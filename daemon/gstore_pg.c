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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gstore_pg.h"
#include "log.h"
#include "util.h"

#define GPG_TICK		0.1	/* seconds between timer sweeps */
#define GPG_BACKOFF_MIN		0.2
#define GPG_BACKOFF_MAX		5.0
#define GPG_CONNECT_TIMEOUT	5.0
#define GPG_REQUEST_TIMEOUT	5.0

static void	on_io(evutil_socket_t, short, void *);
static void	on_tick(evutil_socket_t, short, void *);
static void	gpc_dispatch(struct gpconn *);

static unsigned
name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* A libpq message without its trailing newline, into buf. */
static const char *
pq_msg(const char *m, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%s", m != NULL && *m != '\0' ? m : "unknown error");
	buf[strcspn(buf, "\n")] = '\0';	/* the first line says it */
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return buf;
}

static void
set_state(struct gpg *pg, enum gstore_state st)
{
	if (pg->state == st)
		return;
	pg->state = st;
	pg->since = (int64_t)time(NULL);
	if (pg->on_state != NULL)
		pg->on_state(st, pg->arg);
}

/* Watch the connection's socket for what (it changes on every connect). */
void
gpc_watch(struct gpconn *c, short what)
{
	int fd = c->conn != NULL ? PQsocket(c->conn) : -1;

	if (c->ev != NULL && (fd != c->fd || what != c->what)) {
		event_free(c->ev);
		c->ev = NULL;
	}
	c->fd = fd;
	c->what = what;
	if (fd < 0 || what == 0)
		return;
	if (c->ev == NULL)
		c->ev = event_new(c->pg->base, fd, what, on_io, c);
	event_add(c->ev, NULL);
}

static void
fail_op(struct gstore_op *op)
{
	gstore_op_done(op, GSTORE_UNAVAILABLE);
}

static void
fail_queue(struct gpconn *c)
{
	struct gstore_op *op;

	while ((op = TAILQ_FIRST(&c->queue)) != NULL) {
		TAILQ_REMOVE(&c->queue, op, entry);
		gstore_op_done(op, GSTORE_UNAVAILABLE);
	}
}

/* The connection is lost (or given up): fail what waits, retry later. */
void
gpc_down(struct gpconn *c, const char *why)
{
	struct gpg *pg = c->pg;
	double j = 0.5 + (double)(rand() % 1000) / 1000.0;

	if (c->state != GPC_CONNECTING || !c->warned)
		log_warnx("gstore_pg: %s connection: %s; reconnecting", c->name,
		    why);
	c->warned = c->state == GPC_CONNECTING;
	snprintf(pg->detail, sizeof(pg->detail), "%s", why);
	pg->errors++;
	gpc_watch(c, 0);
	PQfinish(c->conn);
	c->conn = NULL;
	if (c->op != NULL)
		gstore_op_done(c->op, GSTORE_UNAVAILABLE);
	c->op = NULL;
	c->job = GJ_NONE;
	c->reset = false;
	gpc_pipe_fail(c, fail_op);
	fail_queue(c);
	c->state = GPC_DOWN;
	c->at = util_mono() + c->backoff * j;
	c->backoff = c->backoff * 2 > GPG_BACKOFF_MAX ? GPG_BACKOFF_MAX :
	    c->backoff * 2;
	if (c == &pg->listener && pg->up) {
		pg->up = false;
		set_state(pg, GSTORE_DOWN);
	}
}

/* Server notices (e.g. "already exists, skipping") go to the debug log. */
static void
on_notice(void *arg, const char *msg)
{
	char buf[256];

	log_debug("gstore_pg: server: %s", pq_msg(msg, buf, sizeof(buf)));
}

static void
gpc_connect(struct gpconn *c)
{
	static const char *const kw[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char *val[] = { "5", "p2pchatd", c->pg->conninfo, NULL };
	char buf[256];

	c->conn = PQconnectStartParams(kw, val, 1);
	c->state = GPC_CONNECTING;
	c->at = util_mono();
	if (c->conn == NULL || PQstatus(c->conn) == CONNECTION_BAD) {
		gpc_down(c, pq_msg(c->conn != NULL ? PQerrorMessage(c->conn) :
		    "out of memory", buf, sizeof(buf)));
		return;
	}
	PQsetNoticeProcessor(c->conn, on_notice, NULL);
	gpc_watch(c, EV_WRITE);
}

void
gpc_send(struct gpconn *c, enum gpc_job job, const struct gpg_stmt *st)
{
	char buf[256];

	c->job = job;
	c->state = GPC_BUSY;
	c->rc = GSTORE_OK;
	c->job_deadline = util_mono() + c->pg->timeout;
	if (!PQsendQueryParams(c->conn, st->sql, st->n, NULL, st->values, NULL,
	    NULL, 0)) {
		gpc_down(c, pq_msg(PQerrorMessage(c->conn), buf, sizeof(buf)));
		return;
	}
	gpc_watch(c, EV_READ | EV_PERSIST | (PQflush(c->conn) == 1 ?
	    EV_WRITE : 0));
}

static void
gpc_setup(struct gpconn *c)
{
	struct gpg_stmt st;

	memset(&st, 0, sizeof(st));
	st.sql = c == &c->pg->listener ? GPG_LISTENER_SETUP :
	    gpg_worker_setup_sql();
	c->version = -1;
	/* Several statements: the simple protocol, without parameters. */
	c->job = GJ_SETUP;
	c->state = GPC_BUSY;
	c->job_deadline = util_mono() + c->pg->timeout;
	if (!PQsendQuery(c->conn, st.sql)) {
		gpc_down(c, "cannot send the set-up statement");
		return;
	}
	gpc_watch(c, EV_READ | EV_PERSIST | (PQflush(c->conn) == 1 ?
	    EV_WRITE : 0));
}

/* The server answers again: the others waiting to reconnect try now. */
static void
gpc_kick(struct gpg *pg)
{
	double now = util_mono();
	int i;

	for (i = 0; i < GPG_WORKERS; i++) {
		if (pg->workers[i].state == GPC_DOWN) {
			pg->workers[i].at = now;
			pg->workers[i].backoff = GPG_BACKOFF_MIN;
		}
	}
	if (pg->listener.state == GPC_DOWN) {
		pg->listener.at = now;
		pg->listener.backoff = GPG_BACKOFF_MIN;
	}
}

static void
gpc_connect_step(struct gpconn *c)
{
	char buf[256];

	switch (PQconnectPoll(c->conn)) {
	case PGRES_POLLING_READING:
		gpc_watch(c, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		gpc_watch(c, EV_WRITE);
		return;
	case PGRES_POLLING_OK:
		break;
	default:
		gpc_down(c, pq_msg(PQerrorMessage(c->conn), buf, sizeof(buf)));
		return;
	}
	PQsetnonblocking(c->conn, 1);
	log_info("gstore_pg: %s connection to %s:%s (database %s) up", c->name,
	    PQhost(c->conn), PQport(c->conn), PQdb(c->conn));
	c->warned = false;
	c->backoff = GPG_BACKOFF_MIN;
	if (c->ever_up)
		c->pg->reconnects++;
	c->ever_up = true;
	gpc_kick(c->pg);
	gpc_setup(c);
}

/* ------------------------------------------------------------- results */

/* SQLSTATEs after which the connection is no use: drop and reconnect. */
static bool
fatal_state(const char *s)
{
	return s != NULL && (strncmp(s, "08", 2) == 0 ||
	    strncmp(s, "57P", 3) == 0 || strcmp(s, "25006") == 0);
}

void
gpc_log_error(struct gpconn *c, PGresult *res)
{
	char buf[256];

	c->pg->errors++;
	pq_msg(PQresultErrorMessage(res), buf, sizeof(buf));
	snprintf(c->pg->detail, sizeof(c->pg->detail), "%s", buf);
	if (fatal_state(PQresultErrorField(res, PG_DIAG_SQLSTATE)))
		c->reset = true;
	log_warnx("gstore_pg: %s: %s", c->name, buf);
}

/* The listener's set-up read the cluster's key (64 hex digits). */
static void
key_result(struct gpg *pg, PGresult *res)
{
	const char *k = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
	unsigned int b;
	size_t i;

	if (pg->key_fixed)
		return;			/* cluster.key_file's */
	if (strlen(k) != 2 * GPG_KEY_LEN) {
		log_warnx("gstore_pg: the cluster's key (p2pchat_cluster_key) is "
		    "missing or malformed: notifications are neither sent nor "
		    "accepted");
		return;
	}
	for (i = 0; i < GPG_KEY_LEN; i++) {
		if (sscanf(k + 2 * i, "%2x", &b) != 1)
			return;
		pg->key[i] = (unsigned char)b;
	}
	pg->have_key = true;
}

/* The set-up's results: the version's row, then one per LISTEN/PREPARE. */
static void
setup_result(struct gpconn *c, PGresult *res)
{
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQnfields(res) == 1 &&
	    strcmp(PQfname(res, 0), "key") == 0)
		key_result(c->pg, res);
	else if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		c->version = atoi(PQgetvalue(res, 0, 0));
	else if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gpc_log_error(c, res);
		c->version = -1;	/* a failed PREPARE fails the set-up */
	}
}

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
		setup_result(c, res);
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

static void
setup_done(struct gpconn *c)
{
	struct gpg *pg = c->pg;
	char msg[200];

	if (c->version > gpg_schema_version()) {
		snprintf(msg, sizeof(msg), "the database's schema is version %d, "
		    "newer than this p2pchatd knows (%d): upgrade p2pchatd",
		    c->version, gpg_schema_version());
		c->backoff = GPG_BACKOFF_MAX;
		gpc_down(c, msg);
		return;
	}
	if (c->version < 0) {
		gpc_down(c, "the set-up statement failed");
		return;
	}
	if (c != &pg->listener) {
		if (PQenterPipelineMode(c->conn) != 1)
			gpc_down(c, "cannot enter pipeline mode");
		c->pipeline = true;
		return;
	}
	pg->up = true;
	pg->detail[0] = '\0';
	/*
	 * Every time, the first included: a gestor restarted after a crash
	 * under the same cluster.name may find rows its earlier life left
	 * (users who are not here any more); they go offline now.
	 */
	pg->reconcile_due = true;
	pg->ever_up = true;
	pg->next_renew = util_mono();
	set_state(pg, GSTORE_UP);
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
		setup_done(c);
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
		gpc_down(c, pq_msg(PQerrorMessage(c->conn), buf, sizeof(buf)));
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
		gpc_down(c, pq_msg(PQerrorMessage(c->conn), buf, sizeof(buf)));
}

/* ------------------------------------------------------------ dispatch */

static void
gpc_dispatch(struct gpconn *c)
{
	struct gpg_stmt st;
	struct gstore_op *op;

	if (c->pipeline) {
		gpc_pipe_dispatch(c);
		return;
	}
	if (c->state != GPC_IDLE || (op = TAILQ_FIRST(&c->queue)) == NULL)
		return;
	TAILQ_REMOVE(&c->queue, op, entry);
	c->op = op;
	gpg_seal_op(c->pg, op);
	gpg_op_stmt(op, c->pg->self, c->pg->ttl, &st);
	gpc_send(c, GJ_OP, &st);
}

void
gpg_start(void *impl, struct gstore_op *op)
{
	struct gpg *pg = impl;
	struct gpconn *c;

	if (op->kind == GOP_PRESENCE && op->presence == GSTORE_SEEN) {
		gpg_seen_add(pg, &op->u);	/* written within a second */
		gstore_op_done(op, GSTORE_OK);
		gpg_seen_tick(pg, util_mono());
		return;
	}
	c = &pg->workers[name_hash(op->u.name) % GPG_WORKERS];
	/* Fail at once while the server is gone; else wait (bounded). */
	if (c->state == GPC_DOWN && !pg->up) {
		gstore_op_done(op, GSTORE_UNAVAILABLE);
		return;
	}
	op->deadline = util_mono() + pg->timeout;
	TAILQ_INSERT_TAIL(&c->queue, op, entry);
	gpc_dispatch(c);
}

/* Timers: deadlines, connects, retries, the lease. */
static void
gpc_tick(struct gpconn *c, double now)
{
	struct gstore_op *op;

	switch (c->state) {
	case GPC_DOWN:
		if (now >= c->at)
			gpc_connect(c);
		break;
	case GPC_CONNECTING:
		if (now - c->at > GPG_CONNECT_TIMEOUT)
			gpc_down(c, "connecting timed out");
		break;
	case GPC_BUSY:
		if (c->pipeline ? TAILQ_FIRST(&c->inflight) != NULL &&
		    now > TAILQ_FIRST(&c->inflight)->deadline :
		    now > c->job_deadline) {
			c->pg->timeouts++;
			gpc_down(c, "a statement took too long");
			return;
		}
		break;
	case GPC_IDLE:
		break;
	}
	while ((op = TAILQ_FIRST(&c->queue)) != NULL && now > op->deadline) {
		TAILQ_REMOVE(&c->queue, op, entry);
		c->pg->timeouts++;
		gstore_op_done(op, GSTORE_UNAVAILABLE);
	}
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

static void
gpc_init(struct gpg *pg, struct gpconn *c, const char *name)
{
	c->pg = pg;
	c->name = name;
	c->fd = -1;
	c->backoff = GPG_BACKOFF_MIN;
	TAILQ_INIT(&c->queue);
	TAILQ_INIT(&c->inflight);
}

/* Blocking, before the loop runs: reach the server, check and migrate. */
static int
gpg_first_connect(struct gpg *pg, char **cause)
{
	static const char *const kw[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char *val[] = { "5", "p2pchatd", pg->conninfo, NULL };
	PGconn *conn = PQconnectdbParams(kw, val, 1);
	char buf[256];
	int rc;

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		if (asprintf(cause, "postgresql: cannot connect (storage.conninfo): "
		    "%s", pq_msg(conn != NULL ? PQerrorMessage(conn) :
		    "out of memory", buf, sizeof(buf))) < 0)
			*cause = NULL;
		PQfinish(conn);
		return -1;
	}
	PQsetNoticeProcessor(conn, on_notice, NULL);
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
	if (*pg->self == '\0' || gpg_first_connect(pg, cause) == -1) {
		if (*pg->self == '\0' && asprintf(cause, "cluster.name is empty")
		    < 0)
			*cause = NULL;
		gpg_close(pg);
		return NULL;
	}
	pg->tick = event_new(pg->base, -1, EV_PERSIST, on_tick, pg);
	event_add(pg->tick, &tv);
	gpc_connect(&pg->listener);
	for (i = 0; i < GPG_WORKERS; i++)
		gpc_connect(&pg->workers[i]);
	return pg;
}

static void
gpc_free(struct gpconn *c)
{
	struct gstore_op *op;

	gpc_watch(c, 0);
	PQfinish(c->conn);
	c->conn = NULL;
	if (c->op != NULL)
		gstore_op_free(c->op);
	c->op = NULL;
	gpc_pipe_fail(c, gstore_op_free);
	while ((op = TAILQ_FIRST(&c->queue)) != NULL) {
		TAILQ_REMOVE(&c->queue, op, entry);
		gstore_op_free(op);
	}
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
