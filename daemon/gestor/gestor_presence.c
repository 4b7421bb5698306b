/*
 * The frames of a logged-in session, all about presence: `hb` (the
 * heartbeat: this session is online, at this address), `lookup` (a
 * user's presence and key, limited per session) and `watch` (presence
 * pushed as it changes, for a list of users, read from the store first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gestor_int.h"
#include "jsonw.h"
#include "log.h"
#include "util.h"
#include "valid.h"
#include "wire.h"

static void	on_watch_read(enum gstore_rc, const struct guser *, void *);

void
gestor_on_hb(struct gconn *gc, struct wire_msg *m)
{
	/* Port 0: the peer publishes no address (advertise = "none"). */
	const char *addr = m->u.hb.port == 0 ? "" :
	    glimits_hb_addr(gc, m->u.hb.addr);
	bool moved = strcmp(addr, gc->pub_addr) != 0 ||
	    m->u.hb.port != gc->pub_port;

	snprintf(gc->pub_addr, sizeof(gc->pub_addr), "%s", addr);
	gc->pub_port = m->u.hb.port;
	gc->last_seen = gestor_now();
	gestor_arm_hb_timer(gc);
	if (!gc->online) {
		gc->online = true;
		gc->g->nonline++;
		log_info("gestor: %s online at %s:%d", gc->user, gc->pub_addr,
		    gc->pub_port);
		gestor_store_seen(gc, GSTORE_ONLINE, true);
	} else if (moved) {
		log_info("gestor: %s moved to %s:%d", gc->user, gc->pub_addr,
		    gc->pub_port);
		gestor_store_seen(gc, GSTORE_ONLINE, true);
	} else if (gc->last_seen - gc->last_stored >= 60)
		gestor_store_seen(gc, GSTORE_SEEN, false);
	gestor_reply_ok(gc, m->frame, NULL);
}

static void
reply_user(struct gconn *gc, json_t *req, const struct guser *u)
{
	struct jsonw w;

	gestor_reply_open(&w, req);
	gestor_user_write(&w, gc->g, u);
	/* So that a sender can say why it deposits nothing. */
	if (!gc->g->d->cfg->mail_enable)
		jsonw_bool(&w, "mailbox", false);
	gestor_reply_send(gc, &w);
}

static void
on_lookup_read(enum gstore_rc rc, const struct guser *u, void *arg)
{
	struct gconn *gc = arg;

	gc->op = NULL;
	if (rc == GSTORE_NOTFOUND)
		gestor_reply_err(gc, gc->req, ERR_NO_SUCH_USER, "no such user");
	else if (rc != GSTORE_OK)
		gestor_reply_store_err(gc, gc->req, rc, "look users up");
	else
		reply_user(gc, gc->req, u);
	gestor_req_end(gc);
}

/* A rate_limited refusal from gestor_limits.c; true if refused. */
static bool
refused(struct gconn *gc, struct wire_msg *m, bool no, const char *msg,
    unsigned long *counter)
{
	if (!no)
		return false;
	(*counter)++;
	gestor_reply_err(gc, m->frame, ERR_RATE_LIMITED, msg);
	return true;
}

void
gestor_on_lookup(struct gconn *gc, struct wire_msg *m)
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
		gestor_session_user(s, &u);
		u.online = true;
		reply_user(gc, m->frame, &u);
		return;
	}
	gestor_req_start(gc, m);
	gc->op = gstore_user_get(gc->g->store, m->u.user.user, on_lookup_read, gc);
}

/* The current state of each watched user, one store read after another. */
static void
watch_next(struct gconn *gc)
{
	json_t *users = json_object_get(gc->req, "users");
	json_t *name = json_array_get(users, gc->req_i);

	if (name == NULL) {
		gestor_req_end(gc);
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

void
gestor_on_watch(struct gconn *gc, struct wire_msg *m)
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
	gestor_watches_clear(gc);
	json_array_foreach(m->u.watch.users, i, name) {
		w = xcalloc(1, sizeof(*w));
		snprintf(w->name, sizeof(w->name), "%s", json_string_value(name));
		w->watcher = gc;
		w->cnext = gc->watches;
		gc->watches = w;
		w->hnext = g->watchers[gestor_bucket(w->name)];
		g->watchers[gestor_bucket(w->name)] = w;
	}
	gestor_reply_ok(gc, m->frame, NULL);
	/* The current state of each, so the watcher starts right. */
	gestor_req_start(gc, m);
	gc->req_i = 0;
	watch_next(gc);
}
