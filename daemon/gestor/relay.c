/*
 * The relay: pairs two TCP connections that present the two keys of one
 * single-use session, then copies bytes between them with libevent
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
 * forgotten at once, so they cannot be used again; relay_splice.c then
 * copies the bytes (TLS only, bounded buffers, a rate, idle and one-way
 * timeouts) and ends the session through relay->end (relay_session_free).
 * This file is the relay's connections (accept, preamble, pairing) and
 * its life; the sessions are relay_session.c's.
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
#include "relay_int.h"
#include "util.h"

#define RELAY_PREAMBLES_PER_ADDR 64	/* connections without a key yet, per source */

static void	on_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	on_preamble(struct bufferevent *, void *);
static void	on_preamble_event(struct bufferevent *, short, void *);
static void	on_preamble_deadline(evutil_socket_t, short, void *);

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

/* Parse a preamble into key; -1 if it is not one. */
static int
parse_preamble(const char *p, unsigned char *key)
{
	size_t hl = sizeof(P2P_RELAY_HELLO) - 1;

	if (memcmp(p, P2P_RELAY_HELLO, hl) != 0 ||
	    p[P2P_RELAY_REQ_LEN - 1] != '\n')
		return -1;
	return util_unhex(p + hl, key, RELAY_KEY_BYTES);
}

/* ----------------------------------------------------------- connections */

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
	const struct config *cfg = relay_cfg(r);
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
		log_warnx_from(rc->src, "relay: %s: too many connections "
		    "without a key from %s; refusing", rc->addr, rc->src);
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
	relay_rconn_free(rc);
}

static void
on_preamble_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct rconn *rc = arg;

	log_debug("relay: %s: no key within relay.pairing_timeout", rc->addr);
	rc->r->st.bad_keys++;
	relay_rconn_free(rc);
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
		log_info_from(rc->src, "relay: %s: no session for that key; "
		    "closing", rc->addr);
		r->st.bad_keys++;
		relay_rconn_free(rc);
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
		relay_splice_pair(s);
}


/* ------------------------------------------------------------ lifecycle */

struct relay *
relay_open(struct daemon *d, char **cause)
{
	struct relay *r = xcalloc(1, sizeof(*r));

	r->d = d;
	r->end = relay_session_free;
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
	relay_bucket_update(r);
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
	listener_close(r->listener);
	while ((rc = TAILQ_FIRST(&r->preambles)) != NULL)
		relay_rconn_free(rc);
	while ((s = TAILQ_FIRST(&r->sessions)) != NULL)
		relay_session_free(s, "shutting down");
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

long
relay_max_fds(const struct config *cfg)
{
	if (cfg->mode != MODE_GESTOR || *cfg->relay_listen == '\0')
		return 0;
	/* on_accept: 2 per session without a key; then 2 per session. */
	return 2 * cfg->relay_max_sessions + 2 * cfg->relay_max_sessions;
}
