/*
 * The PostgreSQL store's side of the cluster, on its listener connection:
 * the lease (renewed with this gestor's presence rows in one statement per
 * heartbeat.interval, then the reap of lapsed gestors), the reconcile after
 * a reconnect, the notifications other gestors send (typed JSON payloads
 * on channel p2pchat) and the ones this gestor sends, and the goodbye at a
 * clean stop (its users offline at once, its lease ended).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gstore_pg.h"
#include "log.h"
#include "util.h"

#define GPG_BYE_WAIT		1000	/* ms for the last statement at close */

/* Rows of the reconcile: users another live gestor holds now. */
void
gpg_reconcile_result(struct gpconn *c, PGresult *res)
{
	struct gpg *pg = c->pg;
	json_t *n;
	int r;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		gpc_log_error(c, res);
		pg->reconcile_due = true;
		return;
	}
	for (r = 0; r < PQntuples(res); r++) {
		if (PQgetisnull(res, r, 0) || pg->on_notify == NULL)
			continue;
		n = json_pack("{s:s,s:s,s:s}", "t", "session", "user",
		    PQgetvalue(res, r, 0), "origin", "");
		if (n != NULL)
			pg->on_notify(n, pg->arg);
		json_decref(n);
	}
}

void
gpc_notifies(struct gpconn *c)
{
	struct gpg *pg = c->pg;
	PGnotify *n;
	json_t *o;
	const char *origin;

	while ((n = PQnotifies(c->conn)) != NULL) {
		o = strlen(n->extra) <= GPG_PAYLOAD_MAX ?
		    json_loads(n->extra, JSON_REJECT_DUPLICATES, NULL) : NULL;
		origin = json_string_value(json_object_get(o, "origin"));
		if (!json_is_object(o) || origin == NULL ||
		    !json_is_string(json_object_get(o, "t")))
			log_warnx("gstore_pg: ignoring a malformed notification");
		else if (strcmp(origin, pg->self) != 0) {
			if (pg->on_notify != NULL)
				pg->on_notify(o, pg->arg);
		} else if (json_is_string(json_object_get(o, "reaped_by")) &&
		    !pg->reconcile_due) {
			/* Our lease lapsed (we were away): publish ours again. */
			log_warnx("gstore_pg: gestor %s took this gestor's lapsed "
			    "presence rows; publishing them again",
			    json_string_value(json_object_get(o, "reaped_by")));
			pg->reconcile_due = true;
		}
		json_decref(o);
		PQfreemem(n);
	}
}

static void
send_reconcile(struct gpg *pg)
{
	struct gpg_stmt st;
	json_t *s = pg->sessions != NULL ? pg->sessions(pg->arg) : NULL;
	char *text = s != NULL ? json_dumps(s, JSON_COMPACT) : NULL;

	pg->reconcile_due = false;
	gpg_reconcile_stmt(pg->self, pg->ttl, text != NULL ? text : "[]", &st);
	gpc_send(&pg->listener, GJ_RECONCILE, &st);
	free(text);
	json_decref(s);
}

/*
 * Finish what the listener is doing, then write the heartbeat refreshes
 * gathered and say goodbye (bounded wait, at close).
 */
void
gpg_bye(struct gpg *pg)
{
	struct gpconn *c = &pg->listener;
	struct pollfd pfd;
	struct gpg_stmt st[2];
	char *seen = gpg_seen_take(pg);
	PGresult *res;
	int left = GPG_BYE_WAIT, nst = 0, sent = 0;

	if (seen != NULL)
		gpg_seen_stmt(seen, &st[nst++]);
	gpg_bye_stmt(pg->self, &st[nst++]);
	if (c->state != GPC_IDLE && c->state != GPC_BUSY)
		goto out;
	pfd.fd = PQsocket(c->conn);
	pfd.events = POLLIN;
	while (left > 0) {
		if (c->state == GPC_IDLE && sent == nst)
			break;
		if (c->state == GPC_IDLE) {
			if (!PQsendQueryParams(c->conn, st[sent].sql, st[sent].n,
			    NULL, st[sent].values, NULL, NULL, 0))
				break;
			c->state = GPC_BUSY;
			c->job = GJ_NONE;
			sent++;
		}
		while (PQflush(c->conn) == 1 && left > 0) {
			poll(&(struct pollfd){ pfd.fd, POLLOUT, 0 }, 1, 10);
			left -= 10;
		}
		if (poll(&pfd, 1, 10) < 0 || !PQconsumeInput(c->conn))
			break;
		left -= 10;
		while (!PQisBusy(c->conn)) {
			if ((res = PQgetResult(c->conn)) == NULL) {
				c->state = GPC_IDLE;
				break;
			}
			if (PQresultStatus(res) != PGRES_COMMAND_OK &&
			    PQresultStatus(res) != PGRES_TUPLES_OK)
				gpc_log_error(c, res);
			PQclear(res);
		}
	}
out:
	free(seen);
}

void
gpg_notify(void *impl, const json_t *msg)
{
	struct gpg *pg = impl;
	struct gstore_op *op = xcalloc(1, sizeof(*op));
	const char *user = json_string_value(json_object_get(msg, "user"));
	json_t *o = json_deep_copy(msg);

	json_object_set_new(o, "origin", json_string(pg->self));
	op->front = pg->front;
	op->gs = pg->gs;
	op->kind = GOP_NOTIFY;
	op->priv = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (user != NULL && strlen(user) < sizeof(op->u.name))
		memcpy(op->u.name, user, strlen(user) + 1);
	if (op->priv == NULL || strlen(op->priv) > GPG_PAYLOAD_MAX) {
		log_warnx("gstore_pg: a notification is too long; not sent");
		gstore_op_done(op, GSTORE_ERR);
		return;
	}
	gpg_start(pg, op);
}


/* On every timer tick: reconcile when due, else renew on time. */
void
gpg_lease_tick(struct gpg *pg, double now)
{
	struct gpg_stmt st;

	if (!pg->up || pg->listener.state != GPC_IDLE)
		return;
	if (pg->reconcile_due) {
		send_reconcile(pg);
		return;
	}
	if (now >= pg->next_renew) {
		pg->next_renew = now + pg->interval;
		gpg_renew_stmt(pg->self, pg->ttl, &st);
		gpc_send(&pg->listener, GJ_RENEW, &st);
	}
}
