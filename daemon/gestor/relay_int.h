/*
 * Inside the relay: the connections, sessions and the relay itself, shared
 * by relay.c (listener, keys, sessions, sharing) and relay_splice.c
 * (copying bytes between the two sides of a paired session), which
 * reports the end of a session through relay->end.
 */
#ifndef P2P_RELAY_INT_H
#define P2P_RELAY_INT_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "relay.h"
#include "relay_share.h"

#define RELAY_KEY_BYTES	(P2P_RELAY_KEY_HEX / 2)
#define RELAY_HIGH	(64 * 1024)	/* output held before the source stops */
/*
 * Read at most at once. libevent reads 4096 bytes at most into a buffer
 * of its own plus a header: 64 bytes less keeps that one 4 KiB
 * allocation instead of 8 KiB, half of it empty (a session held twice
 * its bytes in heap).
 */
#define RELAY_READ	(4096 - 64)
#define RELAY_DRAIN	5		/* seconds to flush after one side ends */

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
	/* relay.c's, for relay_splice.c: close s and its connections. */
	void			(*end)(struct rsession *, const char *why);
};

/* relay_session.c: the sessions, below the connections of relay.c */
const struct config *relay_cfg(const struct relay *);
void	relay_rconn_free(struct rconn *);
void	relay_session_free(struct rsession *, const char *why);
/* The per-session token buckets' refill, from the configuration. */
void	relay_bucket_update(struct relay *);

/* relay_splice.c: both sides are here; say OK to each and copy bytes. */
void	relay_splice_pair(struct rsession *);
/* relay_splice.c: the session timer of a paired session (idle, one-way). */
void	relay_splice_timer(struct rsession *);

#endif
