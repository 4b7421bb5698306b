/*
 * The relay: pairs two TCP connections that present the same single-use
 * session key, then copies bytes between them with libevent
 * bufferevents. What it copies is the peers' own TLS 1.3 session; the
 * relay holds no key to it.
 *
 * Life of a session: relay_session_new() makes two random 256-bit keys,
 * one for each side (the requester's goes only in the gestor's reply to
 * it, the target's only in the invitation, so that nobody holds both
 * and can splice two connections of their own), with a deadline
 * (relay.pairing_timeout). A connection has that long from
 * its accept to send the preamble (exactly P2P_RELAY_REQ_LEN bytes, read
 * with the input watermark so nothing after it is consumed; a deadline,
 * not a read timeout, so a byte now and then does not extend it), and
 * one source (an IPv4 address, an IPv6 /64) holds at most
 * RELAY_PREAMBLES_PER_ADDR of them; a key that matches no
 * waiting session (wrong, used or expired) closes the connection without
 * a byte in answer, and so does a side's key presented a second time.
 * The second side to arrive pairs the session, and both keys are
 * forgotten at once, so they cannot be used again. The first bytes each
 * side sends must start a TLS handshake record, or the session is
 * closed: the relay carries the peers' TLS and nothing else. Then:
 * backpressure (a side stops reading while the other side's output holds
 * RELAY_HIGH bytes, and reads at most RELAY_READ at once, so a session
 * buffers at most 2 * (RELAY_HIGH + RELAY_READ) bytes, however its ends
 * behave), a token bucket per session (relay.session_rate bytes/s, both
 * directions together); relay.idle_timeout with no byte in either
 * direction (idle) or in one of them (one-way) closes both. A side that
 * does not read stops the other side's direction (backpressure), so a
 * session whose buffers stay full is closed as one-way or idle.
 *
 * Sharing: sessions are capped per requester (relay.max_user_sessions)
 * and per requester's source address (relay.max_source_sessions), and
 * a full relay makes room for a requester by closing the least recently
 * active session of the source, else the account, that holds the most,
 * if that holds at least two more than the requester's: whoever holds
 * the least can always get a place (relay_share.c counts the holders).
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
#include "relay.h"
#include "relay_share.h"
#include "util.h"

#define RELAY_KEY_BYTES	(P2P_RELAY_KEY_HEX / 2)
#define RELAY_HIGH	(64 * 1024)	/* output held before the source stops */
#define RELAY_READ	(16 * 1024)	/* read at most at once */
#define RELAY_DRAIN	5		/* seconds to flush after one side ends */
#define RELAY_PAIR_WAITING 2		/* unpaired sessions per requester and target */
#define RELAY_PREAMBLES_PER_ADDR 64	/* connections without a key yet, per source */

struct rsession;

enum rside { RS_REQUESTER, RS_TARGET };

enum rconn_state { RC_PREAMBLE, RC_WAITING, RC_SPLICE, RC_DRAIN };

struct rconn {
	TAILQ_ENTRY(rconn)	 entry;		/* relay->preambles */
	struct relay		*r;
	struct bufferevent	*bev;
	struct rsession		*s;
	enum rside		 side;
	enum rconn_state	 state;
	bool			 tls_seen;	/* its first bytes were a TLS record */
	struct event		*deadline;	/* preamble: pairing_timeout from accept */
	char			 addr[64];
	char			 src[64];	/* addr's source key: IPv6 as its /64 */
};

struct rsession {
	TAILQ_ENTRY(rsession)	 entry;
	struct relay		*r;
	unsigned char		 key[2][RELAY_KEY_BYTES];	/* by enum rside */
	bool			 paired;
	char			 from[P2P_USERNAME_MAX + 1];
	char			 src[64];	/* from's source: IPv6 as its /64 */
	char			 to[P2P_USERNAME_MAX + 1];
	struct rconn		*side[2];	/* by enum rside */
	int			 nsides;
	struct event		*timer;		/* pairing deadline, then idle */
	double			 made;
	double			 last[2];	/* a byte from that side, by rside */
	struct bufferevent_rate_limit_group *rl;
	uint64_t		 bytes;
};

struct relay {
	struct daemon		*d;
	struct evconnlistener	*listener;
	char			 bound[80];
	int			 port;
	TAILQ_HEAD(, rconn)	 preambles;
	int			 npreambles;
	TAILQ_HEAD(, rsession)	 sessions;
	struct rshare		*share;		/* sessions per account, source */
	struct ev_token_bucket_cfg *bucket;
	long			 bucket_rate;
	struct relay_stats	 st;
};

static void	on_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	on_preamble(struct bufferevent *, void *);
static void	on_preamble_event(struct bufferevent *, short, void *);
static void	on_preamble_deadline(evutil_socket_t, short, void *);
static void	on_splice_read(struct bufferevent *, void *);
static void	on_splice_write(struct bufferevent *, void *);
static void	on_splice_event(struct bufferevent *, short, void *);
static void	on_session_timer(evutil_socket_t, short, void *);
static void	session_free(struct rsession *, const char *why);


static const struct config *
cfg_of(const struct relay *r)
{
	return r->d->cfg;
}

/* Constant-time comparison: how many bytes match must not show. */
static bool
key_equal(const unsigned char *a, const unsigned char *b)
{
	volatile unsigned char diff = 0;
	size_t i;

	for (i = 0; i < RELAY_KEY_BYTES; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parse a preamble into key; -1 if it is not one. */
static int
parse_preamble(const char *p, unsigned char *key)
{
	size_t hl = sizeof(P2P_RELAY_HELLO) - 1, i;
	int hi, lo;

	if (memcmp(p, P2P_RELAY_HELLO, hl) != 0 ||
	    p[P2P_RELAY_REQ_LEN - 1] != '\n')
		return -1;
	for (i = 0; i < RELAY_KEY_BYTES; i++) {
		hi = hexval((unsigned char)p[hl + 2 * i]);
		lo = hexval((unsigned char)p[hl + 2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* ----------------------------------------------------------- connections */

static void
rconn_free(struct rconn *rc)
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

static int
preambles_from(const struct relay *r, const char *src)
{
	const struct rconn *rc;
	int n = 0;

	TAILQ_FOREACH(rc, &r->preambles, entry)
		if (strcmp(rc->src, src) == 0)
			n++;
	return n;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	relay_accept(arg, fd, sa, (socklen_t)salen);
}

void
relay_accept(struct relay *r, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	const struct config *cfg = cfg_of(r);
	struct timeval tv = daemon_tv(cfg->relay_pairing_timeout);
	struct rconn *rc;
	char serv[16];

	/* Unpaired connections: at most two per possible session. */
	if (r->npreambles >= 2 * cfg->relay_max_sessions) {
		r->st.refused++;
		evutil_closesocket(fd);
		return;
	}
	rc = xcalloc(1, sizeof(*rc));
	rc->r = r;
	if (getnameinfo(sa, salen, rc->addr, sizeof(rc->addr), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(rc->addr, sizeof(rc->addr), "?");
	ratelimit_addr_key(rc->addr, rc->src, sizeof(rc->src));
	/*
	 * One source may not take every place (a NAT hides many peers); an
	 * IPv6 host holds a whole /64, so that is one source.
	 */
	if (preambles_from(r, rc->src) >= RELAY_PREAMBLES_PER_ADDR) {
		log_warnx("relay: %s: too many connections without a key from "
		    "%s; refusing", rc->addr, rc->src);
		r->st.refused++;
		evutil_closesocket(fd);
		free(rc);
		return;
	}
	/*
	 * The relay forwards the peers' TLS records as they come: a small
	 * one (an ack) held back by Nagle's algorithm until the previous
	 * segment is acknowledged stalled each window for a delayed ACK.
	 */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int))
	    != 0)
		log_warn("relay: %s: TCP_NODELAY", rc->addr);
	rc->bev = bufferevent_socket_new(r->d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	rc->deadline = evtimer_new(r->d->base, on_preamble_deadline, rc);
	if (rc->bev == NULL || rc->deadline == NULL) {
		if (rc->bev != NULL)
			bufferevent_free(rc->bev);
		else
			evutil_closesocket(fd);
		if (rc->deadline != NULL)
			event_free(rc->deadline);
		free(rc);
		return;
	}
	evutil_make_socket_closeonexec(fd);
	TAILQ_INSERT_TAIL(&r->preambles, rc, entry);
	r->npreambles++;
	/* Read exactly the preamble and not a byte of what follows. */
	bufferevent_setwatermark(rc->bev, EV_READ, P2P_RELAY_REQ_LEN,
	    P2P_RELAY_REQ_LEN);
	/*
	 * A deadline from now: a read timeout would start again with every
	 * byte, and a byte every few seconds would hold the place for ever.
	 */
	evtimer_add(rc->deadline, &tv);
	bufferevent_setcb(rc->bev, on_preamble, NULL, on_preamble_event, rc);
	bufferevent_enable(rc->bev, EV_READ);
}

static void
on_preamble_event(struct bufferevent *bev, short what, void *arg)
{
	struct rconn *rc = arg;

	log_debug("relay: %s: closed before its key", rc->addr);
	rc->r->st.bad_keys++;
	rconn_free(rc);
}

static void
on_preamble_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct rconn *rc = arg;

	log_debug("relay: %s: no key within relay.pairing_timeout", rc->addr);
	rc->r->st.bad_keys++;
	rconn_free(rc);
}

/*
 * The waiting session one of whose keys is key, and which side's, or
 * NULL; compares every key, so that the time taken shows nothing.
 */
static struct rsession *
session_by_key(struct relay *r, const unsigned char *key, enum rside *side)
{
	struct rsession *s, *found = NULL;
	int i;

	TAILQ_FOREACH(s, &r->sessions, entry)
		for (i = 0; i < 2; i++)
			if (!s->paired && key_equal(s->key[i], key) &&
			    found == NULL) {
				found = s;
				*side = (enum rside)i;
			}
	return found;
}

static void session_pair(struct rsession *);

static void
on_preamble(struct bufferevent *bev, void *arg)
{
	struct rconn *rc = arg;
	struct relay *r = rc->r;
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned char key[RELAY_KEY_BYTES];
	char buf[P2P_RELAY_REQ_LEN];
	struct rsession *s = NULL;
	enum rside side = RS_REQUESTER;

	if (evbuffer_get_length(in) < P2P_RELAY_REQ_LEN)
		return;
	evbuffer_remove(in, buf, sizeof(buf));
	if (parse_preamble(buf, key) == 0)
		s = session_by_key(r, key, &side);
	util_zero(buf, sizeof(buf));
	util_zero(key, sizeof(key));
	if (s == NULL || s->side[side] != NULL) {
		log_info("relay: %s: no session for that key; closing", rc->addr);
		r->st.bad_keys++;
		rconn_free(rc);
		return;
	}
	TAILQ_REMOVE(&r->preambles, rc, entry);
	r->npreambles--;
	event_free(rc->deadline);	/* the session's deadline now */
	rc->deadline = NULL;
	rc->state = RC_WAITING;
	rc->s = s;
	rc->side = side;
	s->side[side] = rc;
	s->nsides++;
	bufferevent_disable(bev, EV_READ);
	log_info("relay: %s: the %s of %s -> %s is here", rc->addr,
	    side == RS_REQUESTER ? "requester" : "target", s->from, s->to);
	if (s->nsides == 2)
		session_pair(s);
}

/* ------------------------------------------------------------- splicing */

static struct rconn *
other(struct rconn *rc)
{
	return rc->s->side[rc->side == RS_REQUESTER ? RS_TARGET : RS_REQUESTER];
}

/*
 * Whether h (5 bytes) starts a TLS handshake record: content type 22,
 * version 3.1 to 3.3 (TLS 1.3 says 3.1 or 3.3 there), a length a
 * plaintext record may have. The requester's ClientHello and the
 * target's ServerHello both start so.
 */
static bool
tls_handshake_record(const unsigned char *h)
{
	unsigned len = (unsigned)h[3] << 8 | h[4];

	return h[0] == 22 && h[1] == 3 && h[2] >= 1 && h[2] <= 3 && len > 0 &&
	    len <= 16384;
}

/* Both sides are here: forget the key, say OK to each, copy bytes. */
static void
session_pair(struct rsession *s)
{
	struct relay *r = s->r;
	struct timeval tv = daemon_tv(cfg_of(r)->relay_idle_timeout);
	struct rconn *rc;
	int i;

	util_zero(s->key, sizeof(s->key));
	s->paired = true;
	s->last[0] = s->last[1] = util_mono();
	r->st.waiting--;
	r->st.active++;
	r->st.total++;
	s->rl = bufferevent_rate_limit_group_new(r->d->base, r->bucket);
	for (i = 0; i < 2; i++) {
		rc = s->side[i];
		rc->state = RC_SPLICE;
		if (s->rl != NULL)
			bufferevent_add_to_rate_limit_group(rc->bev, s->rl);
		bufferevent_setwatermark(rc->bev, EV_READ, 0, 0);
		bufferevent_setwatermark(rc->bev, EV_WRITE, RELAY_HIGH / 2, 0);
		bufferevent_set_max_single_read(rc->bev, RELAY_READ);
		bufferevent_setcb(rc->bev, on_splice_read, NULL, on_splice_event,
		    rc);
		bufferevent_write(rc->bev, P2P_RELAY_OK, P2P_RELAY_OK_LEN);
		bufferevent_enable(rc->bev, EV_READ | EV_WRITE);
	}
	evtimer_add(s->timer, &tv);
	log_info("relay: session %s -> %s paired (%s, %s)", s->from, s->to,
	    s->side[0]->addr, s->side[1]->addr);
}

static void
on_splice_read(struct bufferevent *bev, void *arg)
{
	struct rconn *rc = arg, *o;
	struct evbuffer *in = bufferevent_get_input(bev), *out;
	size_t n = evbuffer_get_length(in);
	unsigned char h[5];

	if (rc->state != RC_SPLICE || (o = other(rc))->state != RC_SPLICE) {
		evbuffer_drain(in, n);
		return;
	}
	if (!rc->tls_seen) {
		/* A generic pipe no more: TLS first, or nothing. */
		if (n < sizeof(h))
			return;
		evbuffer_copyout(in, h, sizeof(h));
		if (!tls_handshake_record(h)) {
			log_warnx("relay: %s: the %s's first bytes are not a TLS "
			    "handshake record; closing", rc->addr,
			    rc->side == RS_REQUESTER ? "requester" : "target");
			rc->s->r->st.not_tls++;
			session_free(rc->s, "not TLS");
			return;
		}
		rc->tls_seen = true;
	}
	out = bufferevent_get_output(o->bev);
	evbuffer_add_buffer(out, in);
	rc->s->bytes += n;
	rc->s->r->st.bytes += n;
	rc->s->last[rc->side] = util_mono();
	if (evbuffer_get_length(out) >= RELAY_HIGH) {
		/* Backpressure: resume when the other side has drained. */
		bufferevent_disable(bev, EV_READ);
		bufferevent_setcb(o->bev, on_splice_read, on_splice_write,
		    on_splice_event, o);
	}
}

/* o's output fell below the low watermark: its source may read again. */
static void
on_splice_write(struct bufferevent *bev, void *arg)
{
	struct rconn *o = arg, *src = other(o);

	if (o->state == RC_DRAIN) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			session_free(o->s, "closed");
		return;
	}
	bufferevent_setcb(bev, on_splice_read, NULL, on_splice_event, o);
	if (src->state == RC_SPLICE)
		bufferevent_enable(src->bev, EV_READ);
}

/* One side ended: flush what the other side still has to receive, then close. */
static void
on_splice_event(struct bufferevent *bev, short what, void *arg)
{
	struct rconn *rc = arg, *o = other(rc);
	struct rsession *s = rc->s;
	struct timeval tv = { RELAY_DRAIN, 0 };

	if (rc->state == RC_DRAIN || o->state != RC_SPLICE ||
	    (what & BEV_EVENT_EOF) == 0 ||
	    evbuffer_get_length(bufferevent_get_output(o->bev)) == 0) {
		session_free(s, (what & BEV_EVENT_EOF) ? "closed" : "error");
		return;
	}
	/* rc is gone; o keeps its output until it is written or RELAY_DRAIN. */
	if (s->rl != NULL)
		bufferevent_remove_from_rate_limit_group(rc->bev);
	bufferevent_free(rc->bev);
	rc->bev = NULL;
	rc->state = RC_DRAIN;
	o->state = RC_DRAIN;
	bufferevent_disable(o->bev, EV_READ);
	bufferevent_setwatermark(o->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(o->bev, NULL, &tv);
	bufferevent_setcb(o->bev, NULL, on_splice_write, on_splice_event, o);
}

/* ------------------------------------------------------------- sessions */

static void
session_free(struct rsession *s, const char *why)
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
			rconn_free(s->side[i]);
	if (s->rl != NULL)
		bufferevent_rate_limit_group_free(s->rl);
	event_free(s->timer);
	rshare_del(r->share, RSHARE_ACCOUNT, s->from);
	rshare_del(r->share, RSHARE_SOURCE, s->src);
	TAILQ_REMOVE(&r->sessions, s, entry);
	util_zero(s, sizeof(*s));
	free(s);
}

/*
 * Paired: each direction must carry a byte every relay.idle_timeout. A
 * session in use has both (the peers acknowledge what they receive);
 * one that carries nothing either way is idle, one that streams one way
 * only is not a chat.
 */
static void
on_session_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rsession *s = arg;
	double idle = cfg_of(s->r)->relay_idle_timeout, now = util_mono();
	double q0 = now - s->last[0], q1 = now - s->last[1];
	double quiet = q0 > q1 ? q0 : q1;
	struct timeval tv;

	if (!s->paired) {
		s->r->st.expired++;
		session_free(s, "the key expired");
		return;
	}
	if (quiet < idle) {
		tv = daemon_tv(idle - quiet);
		evtimer_add(s->timer, &tv);
		return;
	}
	if (q0 >= idle && q1 >= idle) {
		s->r->st.idle_closed++;
		session_free(s, "idle");
	} else {
		s->r->st.one_way_closed++;
		session_free(s, q0 >= idle ? "one-way (the requester sent "
		    "nothing)" : "one-way (the target sent nothing)");
	}
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
	session_free(v, "evicted: the relay is full and its requester holds "
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
static void
bucket_update(struct relay *r)
{
	long rate = cfg_of(r)->relay_session_rate;
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

/* The hex digits of a key, and a NUL. */
static void
key_hex(const unsigned char *key, char *hex)
{
	size_t i;

	for (i = 0; i < RELAY_KEY_BYTES; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
}

int
relay_session_new(struct relay *r, const char *from, const char *from_addr,
    const char *to, char *key_from, char *key_to, const char **code,
    const char **why)
{
	const struct config *cfg = cfg_of(r);
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
	bucket_update(r);
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
	key_hex(s->key[RS_REQUESTER], key_from);
	key_hex(s->key[RS_TARGET], key_to);
	TAILQ_INSERT_TAIL(&r->sessions, s, entry);
	r->st.waiting++;
	evtimer_add(s->timer, &tv);
	log_info("relay: session %s -> %s made", from, to);
	return 0;
}

/* ------------------------------------------------------------ lifecycle */

struct relay *
relay_open(struct daemon *d, char **cause)
{
	struct relay *r = xcalloc(1, sizeof(*r));

	r->d = d;
	TAILQ_INIT(&r->preambles);
	TAILQ_INIT(&r->sessions);
	r->share = rshare_new();
	r->listener = listener_open(d->base, d->cfg->relay_listen,
	    P2P_DEFAULT_RELAY_PORT, on_accept, r, r->bound, sizeof(r->bound),
	    cause);
	if (r->listener == NULL) {
		rshare_free(r->share);
		free(r);
		return NULL;
	}
	r->port = listener_port(r->listener);
	bucket_update(r);
	log_info("relay: listening on %s", r->bound);
	return r;
}

void
relay_close(struct relay *r)
{
	struct rconn *rc;
	struct rsession *s;

	if (r == NULL)
		return;
	evconnlistener_free(r->listener);
	while ((rc = TAILQ_FIRST(&r->preambles)) != NULL)
		rconn_free(rc);
	while ((s = TAILQ_FIRST(&r->sessions)) != NULL)
		session_free(s, "shutting down");
	rshare_free(r->share);
	if (r->bucket != NULL)
		ev_token_bucket_cfg_free(r->bucket);
	free(r);
}

const char *
relay_address(const struct relay *r)
{
	return r->bound;
}

int
relay_port(const struct relay *r)
{
	return r->port;
}

/* Bytes a connection holds in its buffers. */
static size_t
rconn_buffered(const struct rconn *rc)
{
	if (rc == NULL || rc->bev == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_input(rc->bev)) +
	    evbuffer_get_length(bufferevent_get_output(rc->bev));
}

void
relay_get_stats(const struct relay *r, struct relay_stats *st)
{
	const struct rsession *s;

	*st = r->st;
	st->buffered = 0;
	TAILQ_FOREACH(s, &r->sessions, entry)
		st->buffered += rconn_buffered(s->side[0]) +
		    rconn_buffered(s->side[1]);
}
