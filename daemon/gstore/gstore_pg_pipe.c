/*
 * The workers of the PostgreSQL store: an operation is queued on its
 * user's worker (gpc_enqueue) and sent when the worker can take it
 * (gpc_dispatch), one at a time until the set-up is done, then in libpq's
 * pipeline mode: up to GPG_PIPELINE statements are sent without waiting, each
 * followed by a sync (so that each is its own transaction and one error
 * spoils nothing else), and their results come back in order. Under load
 * this turns one round trip per request into one per batch.
 */
#include <stdio.h>
#include <string.h>

#include "gstore_pg.h"
#include "log.h"
#include "util.h"

void
gpc_pipe_dispatch(struct gpconn *c)
{
	struct gpg_stmt st;
	struct gstore_op *op;
	char buf[256];

	if (c->state != GPC_IDLE && c->state != GPC_BUSY)
		return;
	while (c->ninflight < GPG_PIPELINE &&
	    (op = TAILQ_FIRST(&c->queue)) != NULL) {
		TAILQ_REMOVE(&c->queue, op, entry);
		TAILQ_INSERT_TAIL(&c->inflight, op, entry);
		c->ninflight++;
		op->rc = GSTORE_OK;
		gpg_seal_op(c->pg, op);
		gpg_op_stmt(op, c->pg->self, c->pg->ttl, &st);
		if (!(st.name != NULL ? PQsendQueryPrepared(c->conn, st.name,
		    st.n, st.values, NULL, NULL, 0) : PQsendQueryParams(c->conn,
		    st.sql, st.n, NULL, st.values, NULL, NULL, 0)) ||
		    !PQpipelineSync(c->conn)) {
			snprintf(buf, sizeof(buf), "%s", PQerrorMessage(c->conn));
			buf[strcspn(buf, "\n")] = '\0';
			gpc_down(c, buf);
			return;
		}
		c->syncs++;
	}
	c->state = c->ninflight > 0 ? GPC_BUSY : GPC_IDLE;
	gpc_watch(c, EV_READ | EV_PERSIST | (PQflush(c->conn) == 1 ?
	    EV_WRITE : 0));
}

/* One result of the statement at the head of the pipeline. */
static void
pipe_result(struct gpconn *c, struct gstore_op *op, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	enum gstore_rc rc = gpg_op_result(op, res);

	if (rc == GSTORE_ERR && st != PGRES_COMMAND_OK &&
	    st != PGRES_TUPLES_OK) {
		gpc_log_error(c, res);
		if (c->reset)
			rc = GSTORE_UNAVAILABLE;
	}
	if (op->rc == GSTORE_OK)
		op->rc = rc;
	if (op->priv != res)		/* a listing keeps its rows */
		PQclear(res);
}

void
gpc_pipe_results(struct gpconn *c)
{
	struct gstore_op *op;
	PGresult *res;

	while (c->syncs > 0 && !PQisBusy(c->conn)) {
		res = PQgetResult(c->conn);
		op = TAILQ_FIRST(&c->inflight);
		if (res == NULL) {		/* the head statement is done */
			if (op == NULL)
				continue;
			TAILQ_REMOVE(&c->inflight, op, entry);
			c->ninflight--;
			gstore_op_done(op, op->rc);
			continue;
		}
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			c->syncs--;
			PQclear(res);
			continue;
		}
		if (op == NULL)
			PQclear(res);
		else
			pipe_result(c, op, res);
	}
	if (c->reset && c->syncs == 0) {
		gpc_down(c, "the server ended the session");
		return;
	}
	gpc_pipe_dispatch(c);
}

static unsigned
name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* Send what waits on c: one statement at a time, or pipelined. */
void
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

/* Queue op on its user's worker (each user's operations in order). */
void
gpc_enqueue(struct gpg *pg, struct gstore_op *op)
{
	struct gpconn *c = &pg->workers[name_hash(op->u.name) % GPG_WORKERS];

	/* Fail at once while the server is gone; else wait (bounded). */
	if (c->state == GPC_DOWN && !pg->up) {
		gstore_op_done(op, GSTORE_UNAVAILABLE);
		return;
	}
	op->deadline = util_mono() + pg->timeout;
	TAILQ_INSERT_TAIL(&c->queue, op, entry);
	gpc_dispatch(c);
}
