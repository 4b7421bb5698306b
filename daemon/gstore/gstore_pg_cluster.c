/*
 * The PostgreSQL store's side of the cluster, on its listener connection:
 * the lease (renewed with this gestor's presence rows in one statement per
 * heartbeat.interval, then the reap of lapsed gestors), the reconcile after
 * a reconnect, the notifications other gestors send (typed JSON payloads
 * on channel p2pchat) and the ones this gestor sends, and the goodbye at a
 * clean stop (its users offline at once, its lease ended).
 *
 * Any role that may connect to the database may NOTIFY the channel, so
 * every notification is sealed (gstore_pg_seal.c: an HMAC-SHA256 under
 * the cluster's key, a per-sender counter and a time) and a receiver
 * drops what it cannot verify or saw before. Even then a notification is only
 * a hint: {t, user, online} for presence, and the gestor reads the rows
 * before it tells anyone anything (gestor_cluster.c).
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gstore_pg.h"
#include "log.h"
#include "util.h"

#define GPG_BYE_WAIT		1000	/* ms for the last statement at close */

/* A presence hint {t,user,online[,owner,reaped_by]} into a. */
static void
hint_add(json_t *a, const char *user, bool online, const char *owner,
    const char *reaped_by)
{
	json_t *o = json_pack("{s:s,s:s,s:b}", "t", "presence", "user", user,
	    "online", online);

	if (o == NULL)
		return;
	if (owner != NULL)
		json_object_set_new(o, "owner", json_string(owner));
	if (reaped_by != NULL)
		json_object_set_new(o, "reaped_by", json_string(reaped_by));
	json_array_append_new(a, o);
}

/*
 * Whether user is one of this gestor's sessions now (*now: the sessions,
 * asked once). A row the reconcile took back as gone is one that came
 * online after the reconcile read the sessions: its worker wrote the row
 * before the reconcile's statement ran.
 */
static bool
session_now(struct gpg *pg, json_t **now, const char *user)
{
	json_t *e;
	size_t i;

	if (*now == NULL && pg->sessions != NULL)
		*now = pg->sessions(pg->arg);
	json_array_foreach(*now, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));

		if (name != NULL && strcmp(name, user) == 0)
			return true;
	}
	return false;
}

/*
 * Rows of the reconcile, (name, what): "taken" (another live gestor holds
 * the user now: our session ends), "gone" (our row went: offline), "up"
 * (our row was written: online); the others hear of the last two. A
 * session gone that is here now came online meanwhile: the next
 * reconcile writes its row again, and nobody hears it went offline.
 */
void
gpg_reconcile_result(struct gpconn *c, PGresult *res)
{
	struct gpg *pg = c->pg;
	json_t *n, *hints, *now = NULL;
	const char *name, *what;
	int r;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 2) {
		gpc_log_error(c, res);
		pg->reconcile_due = true;
		return;
	}
	hints = json_array();
	for (r = 0; r < PQntuples(res); r++) {
		if (PQgetisnull(res, r, 0) || PQgetisnull(res, r, 1))
			continue;
		name = PQgetvalue(res, r, 0);
		what = PQgetvalue(res, r, 1);
		if (strcmp(what, "taken") == 0 && pg->on_notify != NULL) {
			n = json_pack("{s:s,s:s,s:s}", "t", "session", "user",
			    name, "origin", "");
			if (n != NULL)
				pg->on_notify(n, pg->arg);
			json_decref(n);
		} else if (strcmp(what, "gone") == 0 &&
		    session_now(pg, &now, name))
			pg->reconcile_due = true;
		else if (strcmp(what, "gone") == 0 || strcmp(what, "up") == 0)
			hint_add(hints, name, what[0] == 'u', NULL, NULL);
	}
	json_decref(now);
	gpg_hints_send(pg, hints);
}

/* Rows of the reap, (name, gestor): that gestor's users went offline. */
void
gpg_reap_result(struct gpconn *c, PGresult *res)
{
	struct gpg *pg = c->pg;
	json_t *hints;
	int r;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 2) {
		gpc_log_error(c, res);
		return;
	}
	hints = json_array();
	for (r = 0; r < PQntuples(res); r++)
		if (!PQgetisnull(res, r, 0) && !PQgetisnull(res, r, 1))
			hint_add(hints, PQgetvalue(res, r, 0), false,
			    PQgetvalue(res, r, 1), pg->self);
	gpg_hints_send(pg, hints);
}

/* Queue one statement that sends the hints in a (objects; stolen). */
void
gpg_hints_send(struct gpg *pg, json_t *a)
{
	struct gstore_op *op;

	if (json_array_size(a) == 0) {
		json_decref(a);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->front = pg->front;
	op->gs = pg->gs;
	op->kind = GOP_NOTIFY;
	op->priv = json_dumps(a, JSON_COMPACT);	/* sealed when sent */
	json_decref(a);
	if (op->priv == NULL) {
		gstore_op_done(op, GSTORE_ERR);
		return;
	}
	gpc_enqueue(pg, op);
}

void
gpc_notifies(struct gpconn *c)
{
	struct gpg *pg = c->pg;
	PGnotify *n;
	json_t *o;
	const char *origin, *owner;

	while ((n = PQnotifies(c->conn)) != NULL) {
		o = gpg_unseal(pg, n->extra);
		origin = json_string_value(json_object_get(o, "origin"));
		owner = json_string_value(json_object_get(o, "owner"));
		if (o == NULL)
			;
		else if (owner != NULL && strcmp(owner, pg->self) == 0 &&
		    json_is_string(json_object_get(o, "reaped_by"))) {
			/* Our lease lapsed (we were away): publish ours again. */
			if (!pg->reconcile_due)
				log_warnx("gstore_pg: gestor %s took this gestor's "
				    "lapsed presence rows; publishing them again",
				    origin);
			pg->reconcile_due = true;
		} else if ((strcmp(origin, pg->self) != 0 ||
		    json_object_get(o, "reaped_by") != NULL) &&
		    pg->on_notify != NULL)
			pg->on_notify(o, pg->arg);	/* a reap: ours too */
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

/* The bye's rows (name): sealed offline hints, as notify statement text. */
static char *
bye_hints(struct gpg *pg, PGresult *res)
{
	json_t *a = json_array(), *o;
	char *text;
	int r;

	for (r = 0; r < PQntuples(res); r++) {
		o = json_pack("{s:s,s:s,s:b}", "t", "presence", "user",
		    PQgetvalue(res, r, 0), "online", false);
		if (o != NULL)
			json_array_append_new(a, o);
	}
	text = json_array_size(a) > 0 ? gpg_seal_all(pg, a) : NULL;
	json_decref(a);
	return text;
}

/*
 * Finish what the listener is doing, then write the heartbeat refreshes
 * gathered and say goodbye (bounded wait, at close): the bye returns the
 * users that went offline, and the others are told in a last statement.
 */
void
gpg_bye(struct gpg *pg)
{
	struct gpconn *c = &pg->listener;
	struct pollfd pfd;
	struct gpg_stmt st[3];
	char *seen = gpg_seen_take(pg), *hints = NULL;
	PGresult *res;
	int left = GPG_BYE_WAIT, nst = 0, sent = 0, bye;

	if (seen != NULL)
		gpg_seen_stmt(seen, &st[nst++]);
	bye = nst;
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
			else if (sent == bye + 1 && hints == NULL &&
			    PQresultStatus(res) == PGRES_TUPLES_OK &&
			    PQnfields(res) == 1 &&
			    (hints = bye_hints(pg, res)) != NULL)
				gpg_notify_stmt(hints, &st[nst++]);
			PQclear(res);
		}
	}
out:
	free(hints);
	free(seen);
}

/* msg: {"t":...}; sealed when a worker sends it. */
void
gpg_notify(void *impl, const json_t *msg)
{
	struct gpg *pg = impl;
	const char *user = json_string_value(json_object_get(msg, "user"));
	json_t *a = json_array();
	struct gstore_op *op;

	json_array_append_new(a, json_deep_copy(msg));
	op = xcalloc(1, sizeof(*op));
	op->front = pg->front;
	op->gs = pg->gs;
	op->kind = GOP_NOTIFY;
	op->priv = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (user != NULL && strlen(user) < sizeof(op->u.name))
		memcpy(op->u.name, user, strlen(user) + 1);
	if (op->priv == NULL || strlen(op->priv) > GPG_PAYLOAD_MAX -
	    GPG_MAC_HEX - 100) {
		log_warnx("gstore_pg: a notification is too long; not sent");
		gstore_op_done(op, GSTORE_ERR);
		return;
	}
	gpc_enqueue(pg, op);
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
