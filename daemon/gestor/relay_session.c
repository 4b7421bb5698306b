/*
 * The relay's sessions (relay.c is the relay's connections): made with
 * their two single-use keys and a pairing deadline, capped per
 * requester, per requester's source address and per pair, a full relay
 * making room by evicting the least recently active session of whoever
 * holds the most (relay_share.c counts the holders), and freed with both
 * their connections; the per-session token bucket's refill.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "listener.h"
#include "log.h"
#include "ratelimit.h"
#include "relay_int.h"
#include "util.h"

#define RELAY_PAIR_WAITING 2		/* unpaired sessions per requester and target */

static void	on_session_timer(evutil_socket_t, short, void *);

const struct config *
relay_cfg(const struct relay *r)
{
	return r->d->cfg;
}

void
relay_rconn_free(struct rconn *rc)
{
	if (rc->state == RC_PREAMBLE) {
		TAILQ_REMOVE(&rc->r->preambles, rc, entry);
		rc->r->npreambles--;
	}
	if (rc->deadline != NULL)
		event_free(rc->deadline);
	if (rc->bev != NULL) {
		if (rc->s != NULL && rc->s->rl != NULL)
			bufferevent_remove_from_rate_limit_group(rc->bev);
		bufferevent_free(rc->bev);
	}
	free(rc);
}

void
relay_session_free(struct rsession *s, const char *why)
{
	struct relay *r = s->r;
	int i;

	if (s->paired) {
		r->st.active--;
		log_info("relay: session %s -> %s ended (%s), %llu bytes", s->from,
		    s->to, why, (unsigned long long)s->bytes);
	} else {
		r->st.waiting--;
		log_info("relay: session %s -> %s not paired: %s", s->from, s->to,
		    why);
	}
	for (i = 0; i < 2; i++)
		if (s->side[i] != NULL)
			relay_rconn_free(s->side[i]);
	if (s->rl != NULL)
		bufferevent_rate_limit_group_free(s->rl);
	event_free(s->timer);
	rshare_del(r->share, RSHARE_ACCOUNT, s->from);
	rshare_del(r->share, RSHARE_SOURCE, s->src);
	TAILQ_REMOVE(&r->sessions, s, entry);
	util_zero(s, sizeof(*s));
	free(s);
}

/* Unpaired at the deadline: expired; paired: idle or one-way, maybe. */
static void
on_session_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rsession *s = arg;

	if (s->paired) {
		relay_splice_timer(s);
		return;
	}
	s->r->st.expired++;
	relay_session_free(s, "the key expired");
}

/* When s last carried a byte (or was made, if it never did). */
static double
session_active(const struct rsession *s)
{
	if (!s->paired)
		return s->made;
	return s->last[0] > s->last[1] ? s->last[0] : s->last[1];
}

/*
 * The session to close for room: of those that key (an account or a
 * source) holds, the one of the account that holds the most, and of
 * those the least recently active.
 */
static struct rsession *
session_victim(struct relay *r, enum rshare_kind kind, const char *key)
{
	struct rsession *s, *v = NULL;
	long n, vn = 0;

	TAILQ_FOREACH(s, &r->sessions, entry) {
		if (strcmp(kind == RSHARE_ACCOUNT ? s->from : s->src, key) != 0)
			continue;
		n = rshare_count(r->share, RSHARE_ACCOUNT, s->from);
		if (v == NULL || n > vn || (n == vn &&
		    session_active(s) < session_active(v))) {
			v = s;
			vn = n;
		}
	}
	return v;
}

/*
 * The relay is full: close a session of whoever holds the most (the
 * source, then the account) if it holds at least two more than from
 * (or src) would hold, so that sharing converges on equal parts. -1 if
 * nobody holds more than the requester.
 */
static int
make_room(struct relay *r, const char *from, const char *src)
{
	struct rsession *v = NULL;
	const char *top;
	long n;

	top = rshare_top(r->share, RSHARE_SOURCE, &n);
	if (top != NULL && n > rshare_count(r->share, RSHARE_SOURCE, src) + 1)
		v = session_victim(r, RSHARE_SOURCE, top);
	else {
		top = rshare_top(r->share, RSHARE_ACCOUNT, &n);
		if (top != NULL &&
		    n > rshare_count(r->share, RSHARE_ACCOUNT, from) + 1)
			v = session_victim(r, RSHARE_ACCOUNT, top);
	}
	if (v == NULL)
		return -1;
	log_info("relay: full, and %s holds %ld sessions: closing %s -> %s "
	    "(from %s) for a session of %s (from %s)", top, n, v->from, v->to,
	    v->src, from, src);
	r->st.evicted++;
	relay_session_free(v, "evicted: the relay is full and its requester holds "
	    "the most");
	return 0;
}

/*
 * Sessions (waiting or paired) user asked for, and of those the ones
 * still waiting for a connection to target.
 */
static long
user_sessions(const struct relay *r, const char *user, const char *target,
    long *waiting_to)
{
	const struct rsession *s;
	long n = 0;

	*waiting_to = 0;
	TAILQ_FOREACH(s, &r->sessions, entry) {
		if (strcmp(s->from, user) != 0)
			continue;
		n++;
		if (!s->paired && strcmp(s->to, target) == 0)
			(*waiting_to)++;
	}
	return n;
}

/* The token bucket follows relay.session_rate (reload included). */
void
relay_bucket_update(struct relay *r)
{
	long rate = relay_cfg(r)->relay_session_rate;
	struct timeval tick = { 0, 100000 };

	if (r->bucket != NULL && r->bucket_rate == rate)
		return;
	if (r->bucket != NULL)
		ev_token_bucket_cfg_free(r->bucket);
	/* Per tick of 0.1 s; a burst of a quarter second. */
	r->bucket = ev_token_bucket_cfg_new((size_t)rate / 10, (size_t)rate / 4,
	    (size_t)rate / 10, (size_t)rate / 4, &tick);
	if (r->bucket == NULL)
		fatalx("%s: out of memory", __func__);
	r->bucket_rate = rate;
}


int
relay_session_new(struct relay *r, const char *from, const char *from_addr,
    const char *to, char *key_from, char *key_to, const char **code,
    const char **why)
{
	const struct config *cfg = relay_cfg(r);
	struct timeval tv = daemon_tv(cfg->relay_pairing_timeout);
	struct rsession *s;
	char src[64];
	long waiting;

	r->st.requests++;
	ratelimit_addr_key(from_addr, src, sizeof(src));
	/*
	 * A cap per requester, and two unpaired invitations per pair: a
	 * flood from one user cannot fill the relay, nor make its target
	 * connect out more than twice per pairing timeout, nor take the
	 * places that other users' sessions with that target need.
	 */
	if (user_sessions(r, from, to, &waiting) >=
	    cfg->relay_max_user_sessions || waiting >= RELAY_PAIR_WAITING) {
		*code = ERR_RATE_LIMITED;
		*why = "too many relay sessions for this user "
		    "(relay.max_user_sessions)";
		return -1;
	}
	if (rshare_count(r->share, RSHARE_SOURCE, src) >=
	    cfg->relay_max_source_sessions) {
		*code = ERR_RATE_LIMITED;
		*why = "too many relay sessions from this address "
		    "(relay.max_source_sessions)";
		return -1;
	}
	while (r->st.active + r->st.waiting >= cfg->relay_max_sessions)
		if (make_room(r, from, src) == -1) {
			*code = ERR_BUSY;
			*why = "the relay is full (relay.max_sessions)";
			return -1;
		}
	relay_bucket_update(r);
	s = xcalloc(1, sizeof(*s));
	s->r = r;
	if (gnutls_rnd(GNUTLS_RND_KEY, s->key, sizeof(s->key)) != 0 ||
	    (s->timer = evtimer_new(r->d->base, on_session_timer, s)) == NULL) {
		free(s);
		*code = ERR_INTERNAL;
		*why = "cannot make a session key";
		return -1;
	}
	snprintf(s->from, sizeof(s->from), "%s", from);
	snprintf(s->src, sizeof(s->src), "%s", src);
	snprintf(s->to, sizeof(s->to), "%s", to);
	s->made = util_mono();
	rshare_add(r->share, RSHARE_ACCOUNT, s->from);
	rshare_add(r->share, RSHARE_SOURCE, s->src);
	util_hex(s->key[RS_REQUESTER], RELAY_KEY_BYTES, key_from);
	util_hex(s->key[RS_TARGET], RELAY_KEY_BYTES, key_to);
	TAILQ_INSERT_TAIL(&r->sessions, s, entry);
	r->st.waiting++;
	evtimer_add(s->timer, &tv);
	log_info("relay: session %s -> %s made", from, to);
	return 0;
}
