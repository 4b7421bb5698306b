/*
 * The connections of the PostgreSQL store on the event loop: connect
 * with libpq's non-blocking calls, the set-up statement (LISTEN on the
 * listener, PREPARE on the workers, the schema version either way),
 * statements sent one at a time (gpc_send), errors logged, a lost
 * connection failing what waits on it and made again with backoff, and
 * the per-connection timers. What a connection reads is handled by
 * gstore_pg.c's on_io (given in struct gpg); the workers' queues and
 * pipelines are gstore_pg_pipe.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gstore_pg.h"
#include "log.h"
#include "util.h"

#define GPG_BACKOFF_MIN		0.2
#define GPG_BACKOFF_MAX		5.0
#define GPG_CONNECT_TIMEOUT	5.0

/* A libpq message without its trailing newline, into buf. */
const char *
gpg_pq_msg(const char *m, char *buf, size_t len)
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
		c->ev = event_new(c->pg->base, fd, what, c->pg->on_io, c);
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

/* The connection is gone: every statement in flight ends with fn. */
static void
pipe_fail(struct gpconn *c, void (*fn)(struct gstore_op *))
{
	struct gstore_op *op;

	while ((op = TAILQ_FIRST(&c->inflight)) != NULL) {
		TAILQ_REMOVE(&c->inflight, op, entry);
		fn(op);
	}
	c->ninflight = 0;
	c->syncs = 0;
	c->pipeline = false;
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
	pipe_fail(c, fail_op);
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
void
gpc_on_notice(void *arg, const char *msg)
{
	char buf[256];

	log_debug("gstore_pg: server: %s", gpg_pq_msg(msg, buf, sizeof(buf)));
}

void
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
		gpc_down(c, gpg_pq_msg(c->conn != NULL ? PQerrorMessage(c->conn) :
		    "out of memory", buf, sizeof(buf)));
		return;
	}
	PQsetNoticeProcessor(c->conn, gpc_on_notice, NULL);
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
		gpc_down(c, gpg_pq_msg(PQerrorMessage(c->conn), buf, sizeof(buf)));
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

/*
 * The database was unreachable at start: the first connection that comes
 * up checks and migrates the schema, as open() does otherwise. It blocks
 * the loop for those few statements on a server that just answered,
 * bounded by statement_timeout. A newer schema waits for an upgrade
 * (logged, retried at the longest backoff).
 */
static int
gpc_migrate(struct gpconn *c)
{
	struct gpg *pg = c->pg;
	char *cause = NULL;
	int rc;

	PQclear(PQexec(c->conn, "SET statement_timeout = 10000"));
	rc = gpg_migrate(c->conn, &cause);
	PQclear(PQexec(c->conn, "RESET statement_timeout"));
	if (rc == -1) {
		log_error("gstore_pg: the database answers but %s",
		    cause != NULL ? cause : "cannot be migrated");
		if (cause != NULL && strstr(cause, "newer") != NULL)
			c->backoff = GPG_BACKOFF_MAX;
		gpc_down(c, cause != NULL ? cause : "cannot migrate the schema");
		free(cause);
		return -1;
	}
	pg->need_migrate = false;
	log_info("gstore_pg: database %s on %s:%s reached, this gestor is "
	    "\"%s\"", PQdb(c->conn), PQhost(c->conn), PQport(c->conn), pg->self);
	return 0;
}

void
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
		gpc_down(c, gpg_pq_msg(PQerrorMessage(c->conn), buf, sizeof(buf)));
		return;
	}
	if (c->pg->need_migrate && gpc_migrate(c) == -1)
		return;
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
	gpg_pq_msg(PQresultErrorMessage(res), buf, sizeof(buf));
	snprintf(c->pg->detail, sizeof(c->pg->detail), "%s", buf);
	if (fatal_state(PQresultErrorField(res, PG_DIAG_SQLSTATE)))
		c->reset = true;
	log_warnx("gstore_pg: %s: %s", c->name, buf);
}

/* The set-up's results: the version's row, then one per LISTEN/PREPARE. */
void
gpc_setup_result(struct gpconn *c, PGresult *res)
{
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQnfields(res) == 1 &&
	    strcmp(PQfname(res, 0), "key") == 0)
		gpg_key_result(c->pg, res);
	else if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		c->version = atoi(PQgetvalue(res, 0, 0));
	else if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		gpc_log_error(c, res);
		c->version = -1;	/* a failed PREPARE fails the set-up */
	}
}

void
gpc_setup_done(struct gpconn *c)
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

/* Timers: deadlines, connects, retries, the lease. */
void
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

void
gpc_init(struct gpg *pg, struct gpconn *c, const char *name)
{
	c->pg = pg;
	c->name = name;
	c->fd = -1;
	c->backoff = GPG_BACKOFF_MIN;
	TAILQ_INIT(&c->queue);
	TAILQ_INIT(&c->inflight);
}

void
gpc_free(struct gpconn *c)
{
	struct gstore_op *op;

	gpc_watch(c, 0);
	PQfinish(c->conn);
	c->conn = NULL;
	if (c->op != NULL)
		gstore_op_free(c->op);
	c->op = NULL;
	pipe_fail(c, gstore_op_free);
	while ((op = TAILQ_FIRST(&c->queue)) != NULL) {
		TAILQ_REMOVE(&c->queue, op, entry);
		gstore_op_free(op);
	}
}
