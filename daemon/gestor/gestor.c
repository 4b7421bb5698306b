/*
 * Gestor mode: the directory. Peers keep one TLS connection each; on it
 * they register or log in (password), or resume with auth (their TLS key
 * must be the account's key), then heartbeat, look users up and watch
 * their contacts' presence. A session missed for heartbeat.timeout, or
 * whose connection closes, is offline at once and its watchers are told.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gestor.h"
#include "gestor_int.h"
#include "jsonw.h"
#include "listener.h"
#include "log.h"
#include "ratelimit.h"
#include "relay.h"
#include "seal.h"
#include "util.h"
#include "valid.h"
#include "wire.h"

static void	on_ready(struct conn *, void *);
static void	on_frame(struct conn *, json_t *, void *);
static void	on_close(struct conn *, const char *, void *);
static void	on_hb_timeout(evutil_socket_t, short, void *);
static void	arm_timer(struct gconn *, double);

static const struct conn_cbs gconn_cbs = { on_ready, on_frame, on_close };

unsigned
gestor_bucket(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % GESTOR_BUCKETS;
}

int64_t
gestor_now(void)
{
	return (int64_t)time(NULL);
}

/* ---------------------------------------------------------------- presence */

struct gconn *
gestor_session(struct gestor *g, const char *user)
{
	struct gconn *gc;

	for (gc = g->sessions[gestor_bucket(user)]; gc != NULL; gc = gc->hnext)
		if (strcmp(gc->user, user) == 0)
			return gc;
	return NULL;
}

/*
 * The key u takes mail for, as published: "" when this gestor keeps no
 * mail or the key is not the account's (a login with another key since).
 */
static const char *
user_mail(struct gestor *g, const struct guser *u)
{
	if (!g->d->cfg->mail_enable || *u->mail == '\0' ||
	    !seal_pk_is(u->mail, u->fingerprint))
		return "";
	return u->mail;
}

json_t *
gestor_user_json(struct gestor *g, const struct guser *u)
{
	struct gconn *s = gestor_session(g, u->name);
	bool here = s != NULL && s->online;
	int64_t seen = here && s->last_seen > u->last_seen ? s->last_seen :
	    u->last_seen;

	return json_pack("{s:s,s:b,s:s,s:i,s:I,s:s,s:s}", "user", u->name,
	    "online", here || u->online, "addr", here ? s->pub_addr : u->addr,
	    "port", here ? s->pub_port : u->port, "last_seen", (json_int_t)seen,
	    "fingerprint", u->fingerprint, "mail", user_mail(g, u));
}

/* The fields of gestor_user_json(), printed into w. */
void
gestor_user_write(struct jsonw *w, struct gestor *g, const struct guser *u)
{
	struct gconn *s = gestor_session(g, u->name);
	bool here = s != NULL && s->online;
	int64_t seen = here && s->last_seen > u->last_seen ? s->last_seen :
	    u->last_seen;

	jsonw_str(w, "user", u->name);
	jsonw_bool(w, "online", here || u->online);
	jsonw_str(w, "addr", here ? s->pub_addr : u->addr);
	jsonw_int(w, "port", here ? s->pub_port : u->port);
	jsonw_int(w, "last_seen", seen);
	jsonw_str(w, "fingerprint", u->fingerprint);
	jsonw_str(w, "mail", user_mail(g, u));
}

/* The presence frame of user u as seen now. */
json_t *
gestor_presence_frame(struct gestor *g, const struct guser *u)
{
	json_t *p = gestor_user_json(g, u);

	json_object_set_new(p, "t", json_string("presence"));
	json_object_set(p, "key", json_object_get(p, "fingerprint"));
	json_object_del(p, "fingerprint");
	return p;
}

bool
gestor_watched(struct gestor *g, const char *user)
{
	struct gwatch *w;

	for (w = g->watchers[gestor_bucket(user)]; w != NULL; w = w->hnext)
		if (strcmp(w->name, user) == 0 && w->watcher->state == GC_AUTHED)
			return true;
	return false;
}

/* The frame is printed once and the same bytes queued to every watcher. */
void
gestor_watchers_send(struct gestor *g, const char *user, const json_t *p)
{
	struct gwatch *w;
	struct jsonw jw;

	jsonw_init(&jw);
	jsonw_json(&jw, NULL, p);
	for (w = g->watchers[gestor_bucket(user)]; w != NULL; w = w->hnext) {
		if (strcmp(w->name, user) != 0 || w->watcher->state != GC_AUTHED)
			continue;
		if (jsonw_ok(&jw) == 0)
			conn_send_text(w->watcher->c, jsonw_data(&jw),
			    jsonw_len(&jw));
		g->stats.frames_out++;
		g->stats.presence_pushes++;
	}
	jsonw_free(&jw);
}

/* Tell everyone watching u->name about its presence now. */
void
gestor_notify_watchers(struct gestor *g, const struct guser *u)
{
	json_t *p;

	if (g->watchers[gestor_bucket(u->name)] == NULL)
		return;
	p = gestor_presence_frame(g, u);
	gestor_watchers_send(g, u->name, p);
	json_decref(p);
}

/* The session's user as the store and the watchers see it now. */
void
gestor_session_user(struct gconn *gc, struct guser *u)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", gc->user);
	snprintf(u->fingerprint, sizeof(u->fingerprint), "%s", gc->fp);
	snprintf(u->addr, sizeof(u->addr), "%s", gc->pub_addr);
	snprintf(u->mail, sizeof(u->mail), "%s", gc->mail);
	u->port = gc->pub_port;
	u->last_seen = gc->last_seen;
}

/* Record the session's presence (fire-and-forget) and maybe tell watchers. */
void
gestor_store_seen(struct gconn *gc, enum gstore_presence what, bool tell)
{
	struct guser u;

	gc->last_seen = gestor_now();
	gc->last_stored = gc->last_seen;
	gestor_session_user(gc, &u);
	gstore_presence(gc->g->store, what, &u, NULL, NULL);
	if (tell)
		gestor_notify_watchers(gc->g, &u);
}

static void
set_offline(struct gconn *gc, const char *why)
{
	if (!gc->online)
		return;
	gc->online = false;
	gc->g->nonline--;
	log_info("gestor: %s offline (%s)", gc->user, why);
	gestor_store_seen(gc, GSTORE_OFFLINE, !gc->replaced);
}

static void
session_remove(struct gconn *gc)
{
	struct gconn **pp;

	for (pp = &gc->g->sessions[gestor_bucket(gc->user)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == gc) {
			*pp = gc->hnext;
			break;
		}
	}
	gc->hnext = NULL;
}

void
gestor_watches_clear(struct gconn *gc)
{
	struct gwatch *w, **pp;

	while ((w = gc->watches) != NULL) {
		gc->watches = w->cnext;
		for (pp = &gc->g->watchers[gestor_bucket(w->name)]; *pp != NULL;
		    pp = &(*pp)->hnext) {
			if (*pp == w) {
				*pp = w->hnext;
				break;
			}
		}
		free(w);
	}
}

/* ------------------------------------------------------------- connections */

static void
gconn_free(struct gconn *gc)
{
	struct gestor *g = gc->g;

	set_offline(gc, "connection closed");
	if (gc->job != NULL)
		hashjob_cancel(gc->job);
	gstore_op_cancel(gc->op);
	json_decref(gc->req);
	util_zero(&gc->job_user, sizeof(gc->job_user));
	if (gc->state == GC_AUTHED)
		session_remove(gc);
	gestor_watches_clear(gc);
	if (gc->hb_timer != NULL)
		event_free(gc->hb_timer);
	TAILQ_REMOVE(&g->conns, gc, entry);
	g->nconns--;
	free(gc);
}

/* Close a connection from our side (the conn is freed by conn_close). */
void
gestor_drop(struct gconn *gc, const char *why)
{
	struct conn *c = gc->c;

	log_info_from(gc->addr,
	    "gestor: closing %s%s%s: %s", gc->addr, *gc->user ? " user " : "",
	    gc->user, why);
	gconn_free(gc);
	conn_close(c);
}

void
gestor_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct gestor *g = arg;
	const struct config *cfg = g->d->cfg;
	struct gconn *gc;

	if (g->nconns >= cfg->max_connections) {
		log_warnx_from("gestor listener",
		    "gestor: refusing connection: max_connections (%ld) reached",
		    cfg->max_connections);
		evutil_closesocket(fd);
		return;
	}
	gc = xcalloc(1, sizeof(*gc));
	gc->g = g;
	gc->c = conn_accept(g->d->base, g->d->tls, fd, sa, (socklen_t)salen,
	    (size_t)cfg->max_frame_bytes, cfg->handshake_timeout, &gconn_cbs, gc);
	if (gc->c == NULL) {
		free(gc);
		return;
	}
	snprintf(gc->addr, sizeof(gc->addr), "%s", conn_peer_addr(gc->c));
	conn_set_untrusted(gc->c, true);	/* until login */
	TAILQ_INSERT_TAIL(&g->conns, gc, entry);
	g->nconns++;
	g->stats.connections_total++;
	log_info_from(gc->addr, "gestor: connection from %s", gc->addr);
}

static void
on_ready(struct conn *c, void *arg)
{
	struct gconn *gc = arg;

	snprintf(gc->fp, sizeof(gc->fp), "%s", conn_peer_fingerprint(c));
	gc->state = GC_ANON;
	arm_timer(gc, gc->g->d->cfg->handshake_timeout);
	log_debug("gestor: %s: TLS up, key %s", gc->addr, gc->fp);
}

static void
on_close(struct conn *c, const char *reason, void *arg)
{
	struct gconn *gc = arg;

	log_info_from(gc->addr, "gestor: disconnect %s%s%s: %s", gc->addr,
	    *gc->user ? " user " : "", gc->user, reason);
	gconn_free(gc);
}

static void
on_frame(struct conn *c, json_t *frame, void *arg)
{
	struct gconn *gc = arg;
	struct wire_msg m;
	const char *code = NULL;
	char err[256];

	gc->g->stats.frames_in++;
	if (wire_parse(frame, &m, (size_t)gc->g->d->cfg->max_message_bytes,
	    &code, err, sizeof(err)) == 0 && gc->g->frames[m.type].fn == NULL) {
		code = ERR_UNKNOWN_TYPE;
		snprintf(err, sizeof(err), "frame type '%s' is not for the gestor",
		    wire_type_name(m.type));
	} else if (code == NULL)
		goto ok;
	log_warnx_from(gc->addr, "gestor: %s: %s: %s", gc->addr, code, err);
	gestor_reply_err(gc, frame, code, err);
	return;
ok:
	if (gc->g->frames[m.type].authed && gc->state != GC_AUTHED) {
		gestor_reply_err(gc, frame, ERR_NOT_AUTHENTICATED,
		    "log in, register or auth first");
		return;
	}
	gc->g->frames[m.type].fn(gc, &m);
}

/* ------------------------------------------------------------ sessions */

/*
 * One timer per connection: before authentication it is the deadline for
 * register/login/auth (limits.handshake_timeout, as for the TLS
 * handshake); after, the heartbeat timeout.
 */
/*
 * Every session's timer has the same duration, so it is a libevent
 * "common timeout": a FIFO list instead of the timer heap, and re-arming
 * it on each heartbeat is O(1) at any number of sessions.
 */
static void
arm_timer(struct gconn *gc, double t)
{
	struct timeval tv = { (time_t)t, (suseconds_t)((t - (time_t)t) * 1e6) };
	struct event_base *base = gc->g->d->base;
	const struct timeval *ctv;

	if (gc->hb_timer == NULL)
		gc->hb_timer = evtimer_new(base, on_hb_timeout, gc);
	if ((ctv = event_base_init_common_timeout(base, &tv)) == NULL)
		ctv = &tv;
	evtimer_add(gc->hb_timer, ctv);
}

void
gestor_arm_hb_timer(struct gconn *gc)
{
	arm_timer(gc, gc->g->d->cfg->hb_timeout);
}

static void
on_hb_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct gconn *gc = arg;

	if (gc->job != NULL || gc->op != NULL) {
		/* A hash or a store request is running (its frames wait). */
		arm_timer(gc, 1.0);
		return;
	}
	if (gc->state != GC_AUTHED) {
		gestor_drop(gc, "no register, login or auth in time");
		return;
	}
	log_info("gestor: %s missed heartbeats for %.1f s", gc->user,
	    gc->g->d->cfg->hb_timeout);
	gestor_drop(gc, "heartbeat timeout");
}

/* Tell the session of gc that another login took the account, and close it. */
void
gestor_replace(struct gconn *old, const char *why)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "t", "error", "code",
	    "session_replaced", "message",
	    "this account logged in from another connection");

	conn_send(old->c, o);
	json_decref(o);
	gestor_drop(old, why);
}

/* gc is now user's session; an older session of the user is closed. */
/*
 * The key the request (register, login, auth) says its peer takes mail
 * for ("": none), kept for the session and, when it is not what the store
 * has (stored), written: a login storm writes nothing for mail. A key
 * that is not the connection's is ignored (and logged). Absent: the
 * stored key stays, for the store and the session.
 */
static void
session_mail(struct gconn *gc, const char *stored)
{
	const char *mail = json_string_value(json_object_get(gc->req, "mail"));

	snprintf(gc->mail, sizeof(gc->mail), "%s", stored);
	if (mail == NULL)
		return;
	if (*mail != '\0' && !seal_pk_is(mail, gc->fp)) {
		log_warnx_from(gc->addr, "gestor: %s from %s: its mail key is "
		    "not its TLS key; it takes no mail", gc->user, gc->addr);
		mail = "";
	}
	snprintf(gc->mail, sizeof(gc->mail), "%s", mail);
	if (strcmp(mail, stored) == 0)
		return;
	log_info("gestor: %s takes %s", gc->user, *mail != '\0' ?
	    "mail" : "no mail");
	gstore_user_set_mail(gc->g->store, gc->user, gc->mail, NULL, NULL);
}

void
gestor_bind_session(struct gconn *gc, const char *user, const char *mail)
{
	struct gconn *old = gestor_session(gc->g, user);
	json_t *claim;

	if (old != NULL && old != gc)
		gestor_replace(old, "session replaced by a new login");
	snprintf(gc->user, sizeof(gc->user), "%s", user);
	gc->state = GC_AUTHED;
	conn_set_untrusted(gc->c, false);
	gc->hnext = gc->g->sessions[gestor_bucket(user)];
	gc->g->sessions[gestor_bucket(user)] = gc;
	gestor_arm_hb_timer(gc);
	session_mail(gc, mail);
	/* Other gestors of a cluster close their session of the user. */
	claim = json_pack("{s:s,s:s}", "t", "session", "user", user);
	gstore_notify(gc->g->store, claim);
	json_decref(claim);
}

/* A new heartbeat timeout applies from each session's next beat. */
void
gestor_conns_reload(struct gestor *g)
{
	struct gconn *gc;

	TAILQ_FOREACH(gc, &g->conns, entry)
		if (gc->state == GC_AUTHED)
			gestor_arm_hb_timer(gc);
}
