/*
 * Synchronous wrappers for the unit tests of the gestor's stores: each
 * starts an asynchronous gstore call and runs the test's event loop until
 * its callback has run (at most 30 s), checking on the way that the
 * callback never ran inside the call itself.
 */
#ifndef P2P_GSTORE_WAIT_H
#define P2P_GSTORE_WAIT_H

#include <check.h>
#include <string.h>

#include <event2/event.h>

#include "gstore.h"

struct gwait {
	int		 done;
	enum gstore_rc	 rc;
	struct guser	 u;
	long		 n;
};

extern struct event_base *gw_base;

static inline void
gw_done_cb(enum gstore_rc rc, void *arg)
{
	struct gwait *w = arg;

	w->rc = rc;
	w->done++;
}

static inline void
gw_user_cb(enum gstore_rc rc, const struct guser *u, void *arg)
{
	struct gwait *w = arg;

	w->rc = rc;
	if (u != NULL)
		w->u = *u;
	w->done++;
}

static inline void
gw_count_cb(enum gstore_rc rc, long n, void *arg)
{
	struct gwait *w = arg;

	w->rc = rc;
	w->n = n;
	w->done++;
}

static inline void
gw_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	ck_abort_msg("a gstore callback did not come within 30 s");
}

/* Run the loop until w is done; then once more, so nothing runs twice. */
static inline enum gstore_rc
gw_wait(struct gwait *w)
{
	struct timeval tv = { 30, 0 };
	struct event *t = evtimer_new(gw_base, gw_timeout_cb, NULL);

	ck_assert_msg(w->done == 0, "a gstore callback ran inside the call");
	evtimer_add(t, &tv);
	while (w->done == 0)
		event_base_loop(gw_base, EVLOOP_ONCE);
	event_free(t);
	event_base_loop(gw_base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(w->done, 1);
	return w->rc;
}

static inline enum gstore_rc
gw_add(struct gstore *gs, const struct guser *u)
{
	struct gwait w = { 0 };

	ck_assert_ptr_nonnull(gstore_user_add(gs, u, gw_done_cb, &w));
	return gw_wait(&w);
}

static inline enum gstore_rc
gw_get(struct gstore *gs, const char *name, struct guser *out)
{
	struct gwait w = { 0 };
	enum gstore_rc rc;

	gstore_user_get(gs, name, gw_user_cb, &w);
	rc = gw_wait(&w);
	*out = w.u;
	return rc;
}

static inline enum gstore_rc
gw_set_key(struct gstore *gs, const char *name, const char *fp)
{
	struct gwait w = { 0 };

	gstore_user_set_key(gs, name, fp, gw_done_cb, &w);
	return gw_wait(&w);
}

static inline enum gstore_rc
gw_presence(struct gstore *gs, enum gstore_presence what, const char *name,
    const char *addr, int port, int64_t when)
{
	struct gwait w = { 0 };
	struct guser u;

	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "%s", name);
	snprintf(u.addr, sizeof(u.addr), "%.*s", (int)sizeof(u.addr) - 1, addr);
	if (strlen(addr) >= sizeof(u.addr))
		memset(u.addr, 'x', sizeof(u.addr));	/* unterminated */
	u.port = port;
	u.last_seen = when;
	gstore_presence(gs, what, &u, gw_done_cb, &w);
	return gw_wait(&w);
}

struct gw_walk {
	struct gwait	 w;		/* first: gw_done_cb sees a gwait */
	gstore_row_cb	 fn;
	void		*arg;
};

static inline int
gw_row_cb(const struct guser *u, void *arg)
{
	struct gw_walk *k = arg;

	return k->fn(u, k->arg);
}

static inline enum gstore_rc
gw_foreach(struct gstore *gs, gstore_row_cb fn, void *arg)
{
	struct gw_walk k = { { 0 }, fn, arg };

	gstore_user_foreach(gs, gw_row_cb, gw_done_cb, &k);
	return gw_wait(&k.w);
}

static inline long
gw_count(struct gstore *gs)
{
	struct gwait w = { 0 };

	gstore_user_count(gs, gw_count_cb, &w);
	return gw_wait(&w) == GSTORE_OK ? w.n : -1;
}

#endif
