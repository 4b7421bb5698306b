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

typedef void (*gframe_handler)(struct gconn *, struct wire_msg *);

static void	on_ready(struct conn *, void *);
static void	on_frame(struct conn *, json_t *, void *);
static void	on_close(struct conn *, const char *, void *);
static void	on_hb_timeout(evutil_socket_t, short, void *);
static void	arm_timer(struct gconn *, double);
static void	on_register(struct gconn *, struct wire_msg *);
static void	on_login(struct gconn *, struct wire_msg *);
static void	on_auth(struct gconn *, struct wire_msg *);
static void	on_hb(struct gconn *, struct wire_msg *);
static void	on_lookup(struct gconn *, struct wire_msg *);
static void	on_watch(struct gconn *, struct wire_msg *);
static void	on_watch_read(enum gstore_rc, const struct guser *, void *);
static void	on_relay(struct gconn *, struct wire_msg *);
static void	on_mail(struct gconn *, struct wire_msg *);

static const struct conn_cbs gconn_cbs = { on_ready, on_frame, on_close };

/* Frames a connection may send, and whether it must be authenticated. */
static const struct {
	gframe_handler	 fn;
	bool		 authed;
} gframes[W__MAX] = {
	[W_REGISTER] = { on_register, false },
	[W_LOGIN] = { on_login, false },
	[W_AUTH] = { on_auth, false },
	[W_HB] = { on_hb, true },
	[W_LOOKUP] = { on_lookup, true },
	[W_WATCH] = { on_watch, true },
	[W_RELAY] = { on_relay, true },
	[W_MBOX_PUT] = { on_mail, true },
	[W_MBOX_GET] = { on_mail, true },
	[W_MBOX_ACK] = { on_mail, true },
	[W_MBOX_WITHDRAW] = { on_mail, true },
};

static unsigned
bucket(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % GESTOR_BUCKETS;
}

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* ---------------------------------------------------------------- replies */

static json_t *
reply_new(json_t *req, const char *t)
{
	json_t *o = json_pack("{s:s}", "t", t), *n = json_object_get(req, "n");

	if (n != NULL)
		json_object_set(o, "n", n);
	return o;
}

/*
 * The hot replies (heartbeats, lookups) are printed with jsonw instead
 * of a jansson tree each: {"t":"ok","n":N, ...fields} opened here.
 */
static void
reply_open(struct jsonw *w, json_t *req)
{
	jsonw_init(w);
	jsonw_open(w, NULL);
	jsonw_str(w, "t", "ok");
	if (json_object_get(req, "n") != NULL)
		jsonw_json(w, "n", json_object_get(req, "n"));
}

static void
reply_send(struct gconn *gc, struct jsonw *w)
{
	jsonw_close(w);
	if (jsonw_ok(w) == 0)
		conn_send_text(gc->c, jsonw_data(w), jsonw_len(w));
	jsonw_free(w);
	gc->g->stats.frames_out++;
}

/* Send {"t":"ok",...extra} echoing the request's "n"; extra is stolen. */
static void
reply_ok(struct gconn *gc, json_t *req, json_t *extra)
{
	json_t *o;
	struct jsonw w;

	if (extra == NULL) {
		reply_open(&w, req);
		reply_send(gc, &w);
		return;
	}
	o = reply_new(req, "ok");
	if (extra != NULL) {
		json_object_update(o, extra);
		json_decref(extra);
	}
	conn_send(gc->c, o);
	json_decref(o);
	gc->g->stats.frames_out++;
}

static void
reply_err(struct gconn *gc, json_t *req, const char *code, const char *msg)
{
	json_t *o = reply_new(req, "error");

	json_object_set_new(o, "code", json_string(code));
	json_object_set_new(o, "message", json_string(msg));
	conn_send(gc->c, o);
	json_decref(o);
	gc->g->stats.frames_out++;
}

/* A store failure: "unavailable" when the database cannot be reached. */
static void
reply_store_err(struct gconn *gc, json_t *req, enum gstore_rc rc,
    const char *what)
{
	char msg[160];

	if (rc == GSTORE_UNAVAILABLE) {
		snprintf(msg, sizeof(msg), "the gestor's database is unavailable; "
		    "cannot %s now, try again later", what);
		reply_err(gc, req, ERR_UNAVAILABLE, msg);
		return;
	}
	snprintf(msg, sizeof(msg), "cannot %s", what);
	reply_err(gc, req, ERR_INTERNAL, msg);
}

/*
 * A request that waits for the store or the hashing thread: frames of
 * the connection wait too (replies keep their order), and the request
 * frame is kept for its "n".
 */
static void
req_start(struct gconn *gc, struct wire_msg *m)
{
	conn_pause(gc->c, true);
	gc->req = json_incref(m->frame);
}

static void
req_end(struct gconn *gc)
{
	conn_pause(gc->c, false);
	json_decref(gc->req);
	gc->req = NULL;
	util_zero(&gc->job_user, sizeof(gc->job_user));
}

void
gestor_req_start(struct gconn *gc, struct wire_msg *m)
{
	req_start(gc, m);
}

void
gestor_req_end(struct gconn *gc)
{
	req_end(gc);
}

/* ---------------------------------------------------------------- presence */

struct gconn *
gestor_session(struct gestor *g, const char *user)
{
	struct gconn *gc;

	for (gc = g->sessions[bucket(user)]; gc != NULL; gc = gc->hnext)
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
static void
user_write(struct jsonw *w, struct gestor *g, const struct guser *u)
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

	for (w = g->watchers[bucket(user)]; w != NULL; w = w->hnext)
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
	for (w = g->watchers[bucket(user)]; w != NULL; w = w->hnext) {
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
static void
notify_watchers(struct gestor *g, const struct guser *u)
{
	json_t *p;

	if (g->watchers[bucket(u->name)] == NULL)
		return;
	p = gestor_presence_frame(g, u);
	gestor_watchers_send(g, u->name, p);
	json_decref(p);
}

/* The session's user as the store and the watchers see it now. */
static void
session_user(struct gconn *gc, struct guser *u)
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
static void
store_seen(struct gconn *gc, enum gstore_presence what, bool tell)
{
	struct guser u;

	gc->last_seen = now_s();
	gc->last_stored = gc->last_seen;
	session_user(gc, &u);
	gstore_presence(gc->g->store, what, &u, NULL, NULL);
	if (tell)
		notify_watchers(gc->g, &u);
}

static void
set_offline(struct gconn *gc, const char *why)
{
	if (!gc->online)
		return;
	gc->online = false;
	gc->g->nonline--;
	log_info("gestor: %s offline (%s)", gc->user, why);
	store_seen(gc, GSTORE_OFFLINE, !gc->replaced);
}

static void
session_remove(struct gconn *gc)
{
	struct gconn **pp;

	for (pp = &gc->g->sessions[bucket(gc->user)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == gc) {
			*pp = gc->hnext;
			break;
		}
	}
	gc->hnext = NULL;
}

static void
watches_clear(struct gconn *gc)
{
	struct gwatch *w, **pp;

	while ((w = gc->watches) != NULL) {
		gc->watches = w->cnext;
		for (pp = &gc->g->watchers[bucket(w->name)]; *pp != NULL;
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
	watches_clear(gc);
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
	    &code, err, sizeof(err)) == 0 && gframes[m.type].fn == NULL) {
		code = ERR_UNKNOWN_TYPE;
		snprintf(err, sizeof(err), "frame type '%s' is not for the gestor",
		    wire_type_name(m.type));
	} else if (code == NULL)
		goto ok;
	log_warnx_from(gc->addr, "gestor: %s: %s: %s", gc->addr, code, err);
	reply_err(gc, frame, code, err);
	return;
ok:
	if (gframes[m.type].authed && gc->state != GC_AUTHED) {
		reply_err(gc, frame, ERR_NOT_AUTHENTICATED,
		    "log in, register or auth first");
		return;
	}
	gframes[m.type].fn(gc, &m);
}

/* The mailbox's frames: gestor->on_mail (gestor_mail.c). */
static void
on_mail(struct gconn *gc, struct wire_msg *m)
{
	gc->g->on_mail(gc, m);
}

/* `relay`: the relay's part handles it (gestor->on_relay, gestor_relay.c). */
static void
on_relay(struct gconn *gc, struct wire_msg *m)
{
	gc->g->on_relay(gc, m);
}

/* ------------------------------------------------------------ authentication */

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

static void
arm_hb_timer(struct gconn *gc)
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
 * for ("": none), kept for the session and stored; a key that is not the
 * connection's is ignored (and logged). Absent: the store is left as is.
 */
static void
session_mail(struct gconn *gc)
{
	const char *mail = json_string_value(json_object_get(gc->req, "mail"));

	*gc->mail = '\0';
	if (mail == NULL)
		return;
	if (*mail != '\0' && !seal_pk_is(mail, gc->fp)) {
		log_warnx_from(gc->addr, "gestor: %s from %s: its mail key is "
		    "not its TLS key; it takes no mail", gc->user, gc->addr);
		mail = "";
	}
	snprintf(gc->mail, sizeof(gc->mail), "%s", mail);
	gstore_user_set_mail(gc->g->store, gc->user, gc->mail, NULL, NULL);
}

static void
bind_session(struct gconn *gc, const char *user)
{
	struct gconn *old = gestor_session(gc->g, user);
	json_t *claim;

	if (old != NULL && old != gc)
		gestor_replace(old, "session replaced by a new login");
	snprintf(gc->user, sizeof(gc->user), "%s", user);
	gc->state = GC_AUTHED;
	conn_set_untrusted(gc->c, false);
	gc->hnext = gc->g->sessions[bucket(user)];
	gc->g->sessions[bucket(user)] = gc;
	arm_hb_timer(gc);
	session_mail(gc);
	/* Other gestors of a cluster close their session of the user. */
	claim = json_pack("{s:s,s:s}", "t", "session", "user", user);
	gstore_notify(gc->g->store, claim);
	json_decref(claim);
}

/* Rate-limit check before a password or key check; true = refused. */
static bool
limited(struct gconn *gc, struct wire_msg *m, const char *user)
{
	char msg[160];

	if (!glimits_login_refused(gc, user, msg, sizeof(msg)))
		return false;
	gc->g->stats.login_limited++;
	reply_err(gc, m->frame, ERR_RATE_LIMITED, msg);
	return true;
}

/* The request's user: its check did not fail after all. */
static void
refund(struct gconn *gc)
{
	glimits_login_refund(gc, json_string_value(json_object_get(gc->req,
	    "user")));
}

static bool
already_authed(struct gconn *gc, struct wire_msg *m)
{
	if (gc->state != GC_AUTHED)
		return false;
	reply_err(gc, m->frame, ERR_BAD_REQUEST,
	    "this connection is already authenticated");
	return true;
}

/*
 * One key, one account: a daemon's key (its data_dir) already bound to
 * another account cannot register or take a second one. The other
 * account is not named.
 */
#define KEY_TAKEN_MSG	"this daemon's key already belongs to another " \
	"account (one daemon, one account: use another data_dir for it)"

/* register: hash (worker thread), then add the account (store). */
static void
on_register_added(enum gstore_rc rc, void *arg)
{
	struct gconn *gc = arg;
	struct guser *u = &gc->job_user;

	gc->op = NULL;
	if (rc == GSTORE_EXISTS) {
		/* Counted, so registration cannot probe names quickly. */
		glimits_name_taken(gc);
		log_info_from(gc->addr,
		    "gestor: register %s from %s: name taken", u->name,
		    gc->addr);
		reply_err(gc, gc->req, ERR_USER_EXISTS, "that username is taken");
	} else if (rc == GSTORE_KEY_TAKEN) {
		log_info_from(gc->addr,
		    "gestor: register %s from %s: key %s is another "
		    "account's", u->name, gc->addr, gc->fp);
		reply_err(gc, gc->req, ERR_KEY_TAKEN, KEY_TAKEN_MSG);
	} else if (rc != GSTORE_OK)
		reply_store_err(gc, gc->req, rc, "store the account");
	else {
		gc->g->stats.registrations++;
		log_info("gestor: registered %s from %s, key %s", u->name,
		    gc->addr, gc->fp);
		bind_session(gc, u->name);
		reply_ok(gc, gc->req, json_pack("{s:s,s:s}", "user", u->name,
		    "fingerprint", gc->fp));
	}
	req_end(gc);
}

static void
on_register_hashed(bool ok, const char *hash, void *arg)
{
	struct gconn *gc = arg;
	struct guser *u = &gc->job_user;

	gc->job = NULL;
	if (!ok) {
		reply_err(gc, gc->req, ERR_INTERNAL, "cannot hash the password");
		req_end(gc);
		return;
	}
	snprintf(u->hash, sizeof(u->hash), "%s", hash);
	gc->op = gstore_user_add(gc->g->store, u, on_register_added, gc);
}

/* The hashing queue is shared per source address (IPv6: per /64). */
static const char *
hash_source(struct gconn *gc)
{
	static char key[64];

	ratelimit_addr_key(gc->addr, key, sizeof(key));
	return key;
}

/* The hashing queue refused the job: this source has enough waiting. */
static void
hash_busy(struct gconn *gc)
{
	gc->g->stats.hash_busy++;
	log_warnx_from(gc->addr,
	    "gestor: %s: too many password checks waiting from this "
	    "address; refused", gc->addr);
	reply_err(gc, gc->req, ERR_BUSY, "too many password checks are "
	    "waiting from your address; try again in a few seconds");
	req_end(gc);
}

static void
on_register(struct gconn *gc, struct wire_msg *m)
{
	struct guser *u = &gc->job_user;
	char msg[160];

	if (already_authed(gc, m) || limited(gc, m, m->u.cred.user))
		return;
	if (glimits_register_refused(gc, msg, sizeof(msg))) {
		gc->g->stats.register_limited++;
		reply_err(gc, m->frame, ERR_RATE_LIMITED, msg);
		return;
	}
	glimits_register_started(gc);
	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", m->u.cred.user);
	snprintf(u->fingerprint, sizeof(u->fingerprint), "%s", gc->fp);
	u->created = now_s();
	req_start(gc, m);
	gc->job = hashpool_hash(gc->g->hashpool, hash_source(gc),
	    m->u.cred.password, m->u.cred.password_len, on_register_hashed, gc);
	if (gc->job == NULL)
		hash_busy(gc);
}

/* login: read the account (store), check the password (worker thread),
 * bind a new key (store), then the session. */
static void
login_finish(struct gconn *gc, bool changed)
{
	struct guser *u = &gc->job_user;

	gc->g->stats.logins++;
	log_info("gestor: login %s from %s%s", u->name, gc->addr,
	    changed ? " with a new key" : "");
	bind_session(gc, u->name);
	if (changed) {
		log_info("gestor: %s key changed to %s", u->name, gc->fp);
		snprintf(u->fingerprint, sizeof(u->fingerprint), "%s", gc->fp);
		u->online = false;
		notify_watchers(gc->g, u);
	}
	reply_ok(gc, gc->req, json_pack("{s:s,s:s,s:b}", "user", u->name,
	    "fingerprint", gc->fp, "key_changed", changed));
	req_end(gc);
}

static void
on_login_keyed(enum gstore_rc rc, void *arg)
{
	struct gconn *gc = arg;

	gc->op = NULL;
	if (rc == GSTORE_KEY_TAKEN) {
		log_info_from(gc->addr,
		    "gestor: login %s from %s: key %s is another account's",
		    gc->job_user.name, gc->addr, gc->fp);
		reply_err(gc, gc->req, ERR_KEY_TAKEN, KEY_TAKEN_MSG);
		req_end(gc);
		return;
	}
	if (rc != GSTORE_OK) {
		reply_store_err(gc, gc->req, rc, "store the new key");
		req_end(gc);
		return;
	}
	login_finish(gc, true);
}

static void
on_login_checked(bool ok, const char *unused, void *arg)
{
	struct gconn *gc = arg;
	struct guser *u = &gc->job_user;

	gc->job = NULL;
	if (!ok || *u->name == '\0') {
		const char *user = json_string_value(json_object_get(gc->req,
		    "user"));

		gc->g->stats.bad_credentials++;
		log_warnx_from(gc->addr,
		    "gestor: login failed for %s from %s", user, gc->addr);
		reply_err(gc, gc->req, ERR_BAD_CREDENTIALS,
		    "unknown user or wrong password");
		req_end(gc);
		return;
	}
	refund(gc);
	if (strcmp(u->fingerprint, gc->fp) == 0) {
		login_finish(gc, false);
		return;
	}
	gc->op = gstore_user_set_key(gc->g->store, u->name, gc->fp,
	    on_login_keyed, gc);
}

static void
on_login_read(enum gstore_rc rc, const struct guser *found, void *arg)
{
	struct gconn *gc = arg;
	struct guser *u = &gc->job_user;
	const char *user = json_string_value(json_object_get(gc->req, "user"));
	json_t *pw = json_object_get(gc->req, "password");

	gc->op = NULL;
	if (rc != GSTORE_OK && rc != GSTORE_NOTFOUND) {
		refund(gc);
		reply_store_err(gc, gc->req, rc, "check the password");
		req_end(gc);
		return;
	}
	if (rc == GSTORE_OK)
		*u = *found;
	else
		memset(u, 0, sizeof(*u));	/* a dummy check all the same */
	log_debug("gestor: login %s: checking the password", user);
	gc->job = hashpool_verify(gc->g->hashpool, hash_source(gc),
	    json_string_value(pw), json_string_length(pw),
	    rc == GSTORE_OK ? u->hash : NULL, on_login_checked, gc);
	util_zero(u->hash, sizeof(u->hash));
	if (gc->job == NULL) {
		refund(gc);
		hash_busy(gc);
	}
}

static void
on_login(struct gconn *gc, struct wire_msg *m)
{
	if (already_authed(gc, m) || limited(gc, m, m->u.cred.user))
		return;
	/*
	 * Counted as failed until it succeeds, so that logins in flight
	 * together (many connections) cannot all pass the limit.
	 */
	glimits_login_started(gc, m->u.cred.user);
	req_start(gc, m);
	gc->op = gstore_user_get(gc->g->store, m->u.cred.user, on_login_read, gc);
}

static void
on_auth_read(enum gstore_rc rc, const struct guser *u, void *arg)
{
	struct gconn *gc = arg;
	const char *user = json_string_value(json_object_get(gc->req, "user"));

	gc->op = NULL;
	if (rc != GSTORE_OK && rc != GSTORE_NOTFOUND)
		reply_store_err(gc, gc->req, rc, "check the key");
	else if (rc == GSTORE_NOTFOUND || strcmp(u->fingerprint, gc->fp) != 0) {
		/*
		 * Not counted in the failed-login limits: it guesses no
		 * password (TLS proved the key; docs/SESSIONS.md).
		 */
		gc->g->stats.key_mismatch++;
		log_warnx_from(gc->addr,
		    "gestor: auth failed for %s from %s: key is not the "
		    "account's", user, gc->addr);
		reply_err(gc, gc->req, ERR_KEY_MISMATCH,
		    "this key is not bound to the account; log in with the password");
	} else {
		gc->g->stats.logins++;
		log_info("gestor: auth %s from %s", user, gc->addr);
		bind_session(gc, user);
		reply_ok(gc, gc->req, json_pack("{s:s,s:s}", "user", user,
		    "fingerprint", gc->fp));
	}
	req_end(gc);
}

/*
 * A resume proven by the key: not refused by the password-guessing
 * limits, so that a daemon restarted during a campaign against its user
 * still resumes (issue 24 item 9).
 */
static void
on_auth(struct gconn *gc, struct wire_msg *m)
{
	if (already_authed(gc, m))
		return;
	req_start(gc, m);
	gc->op = gstore_user_get(gc->g->store, m->u.user.user, on_auth_read, gc);
}

/* ------------------------------------------------------------ authed frames */

static void
on_hb(struct gconn *gc, struct wire_msg *m)
{
	/* Port 0: the peer publishes no address (advertise = "none"). */
	const char *addr = m->u.hb.port == 0 ? "" :
	    glimits_hb_addr(gc, m->u.hb.addr);
	bool moved = strcmp(addr, gc->pub_addr) != 0 ||
	    m->u.hb.port != gc->pub_port;

	snprintf(gc->pub_addr, sizeof(gc->pub_addr), "%s", addr);
	gc->pub_port = m->u.hb.port;
	gc->last_seen = now_s();
	arm_hb_timer(gc);
	if (!gc->online) {
		gc->online = true;
		gc->g->nonline++;
		log_info("gestor: %s online at %s:%d", gc->user, gc->pub_addr,
		    gc->pub_port);
		store_seen(gc, GSTORE_ONLINE, true);
	} else if (moved) {
		log_info("gestor: %s moved to %s:%d", gc->user, gc->pub_addr,
		    gc->pub_port);
		store_seen(gc, GSTORE_ONLINE, true);
	} else if (gc->last_seen - gc->last_stored >= 60)
		store_seen(gc, GSTORE_SEEN, false);
	reply_ok(gc, m->frame, NULL);
}

static void
reply_user(struct gconn *gc, json_t *req, const struct guser *u)
{
	struct jsonw w;

	reply_open(&w, req);
	user_write(&w, gc->g, u);
	reply_send(gc, &w);
}

static void
on_lookup_read(enum gstore_rc rc, const struct guser *u, void *arg)
{
	struct gconn *gc = arg;

	gc->op = NULL;
	if (rc == GSTORE_NOTFOUND)
		reply_err(gc, gc->req, ERR_NO_SUCH_USER, "no such user");
	else if (rc != GSTORE_OK)
		reply_store_err(gc, gc->req, rc, "look users up");
	else
		reply_user(gc, gc->req, u);
	req_end(gc);
}

/* A rate_limited refusal from gestor_limits.c; true if refused. */
static bool
refused(struct gconn *gc, struct wire_msg *m, bool no, const char *msg,
    unsigned long *counter)
{
	if (!no)
		return false;
	(*counter)++;
	reply_err(gc, m->frame, ERR_RATE_LIMITED, msg);
	return true;
}

static void
on_lookup(struct gconn *gc, struct wire_msg *m)
{
	struct gconn *s;
	struct guser u;
	char msg[160];

	if (refused(gc, m, glimits_lookup_refused(gc, msg, sizeof(msg)), msg,
	    &gc->g->stats.lookups_refused))
		return;
	gc->g->stats.lookups++;
	/*
	 * A user online here: the session is the account's presence (one
	 * session per account, also across a cluster) and holds its key, so
	 * the answer needs no store read.
	 */
	if ((s = gestor_session(gc->g, m->u.user.user)) != NULL && s->online) {
		session_user(s, &u);
		u.online = true;
		reply_user(gc, m->frame, &u);
		return;
	}
	req_start(gc, m);
	gc->op = gstore_user_get(gc->g->store, m->u.user.user, on_lookup_read, gc);
}

/* The current state of each watched user, one store read after another. */
static void
watch_next(struct gconn *gc)
{
	json_t *users = json_object_get(gc->req, "users");
	json_t *name = json_array_get(users, gc->req_i);

	if (name == NULL) {
		req_end(gc);
		return;
	}
	gc->op = gstore_user_get(gc->g->store, json_string_value(name),
	    on_watch_read, gc);
}

static void
on_watch_read(enum gstore_rc rc, const struct guser *u, void *arg)
{
	struct gconn *gc = arg;
	json_t *p;

	gc->op = NULL;
	if (rc == GSTORE_OK) {
		p = gestor_presence_frame(gc->g, u);
		conn_send(gc->c, p);
		json_decref(p);
		gc->g->stats.frames_out++;
	}
	gc->req_i++;
	watch_next(gc);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* How many of users gc does not watch yet (what a watch costs it). */
static size_t
watch_new_names(struct gconn *gc, json_t *users)
{
	const char **old = NULL, *name;
	size_t nold = 0, n = 0, i;
	struct gwatch *w;
	json_t *u;

	for (w = gc->watches; w != NULL; w = w->cnext)
		nold++;
	if (nold > 0) {
		old = xcalloc(nold, sizeof(*old));
		for (i = 0, w = gc->watches; w != NULL; w = w->cnext)
			old[i++] = w->name;
		qsort(old, nold, sizeof(*old), name_cmp);
	}
	json_array_foreach(users, i, u) {
		name = json_string_value(u);
		if (nold == 0 || bsearch(&name, old, nold, sizeof(*old),
		    name_cmp) == NULL)
			n++;
	}
	free(old);
	return n;
}

static void
on_watch(struct gconn *gc, struct wire_msg *m)
{
	struct gestor *g = gc->g;
	struct gwatch *w;
	json_t *name;
	size_t i, nnew = watch_new_names(gc, m->u.watch.users);
	char msg[160];

	if (refused(gc, m, glimits_watch_refused(gc, nnew, msg, sizeof(msg)),
	    msg, &g->stats.watches_refused))
		return;
	g->stats.watched_names += nnew;
	watches_clear(gc);
	json_array_foreach(m->u.watch.users, i, name) {
		w = xcalloc(1, sizeof(*w));
		snprintf(w->name, sizeof(w->name), "%s", json_string_value(name));
		w->watcher = gc;
		w->cnext = gc->watches;
		gc->watches = w;
		w->hnext = g->watchers[bucket(w->name)];
		g->watchers[bucket(w->name)] = w;
	}
	reply_ok(gc, m->frame, NULL);
	/* The current state of each, so the watcher starts right. */
	req_start(gc, m);
	gc->req_i = 0;
	watch_next(gc);
}

/* A new heartbeat timeout applies from each session's next beat. */
void
gestor_conns_reload(struct gestor *g)
{
	struct gconn *gc;

	TAILQ_FOREACH(gc, &g->conns, entry)
		if (gc->state == GC_AUTHED)
			arm_hb_timer(gc);
}
