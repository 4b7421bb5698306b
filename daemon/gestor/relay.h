/*
 * The relay (gestor mode): splices two outgoing TCP connections from
 * peers that cannot reach each other, so that they can run their own
 * TLS 1.3 session end to end through it. The gestor makes a session for
 * a pair of users and hands each of them a single-use key of its own;
 * each peer connects to the relay listener and presents its key
 * (P2P_RELAY_HELLO in proto.h); once both are there the relay answers
 * P2P_RELAY_OK to each and copies bytes both ways, the peers' TLS
 * records only, with backpressure, a byte rate per session and idle and
 * pairing timeouts. The relay never sees a readable byte of what
 * the peers say: only who talks to whom, when, and how much.
 */
#ifndef P2P_RELAY_H
#define P2P_RELAY_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "proto.h"

struct relay;

struct relay_stats {
	unsigned long	 requests;	/* sessions asked for */
	unsigned long	 refused;	/* connections over the cap */
	unsigned long	 total;		/* sessions paired */
	unsigned long	 bad_keys;	/* connections with no valid key */
	unsigned long	 expired;	/* sessions never paired in time */
	unsigned long	 idle_closed;	/* nothing either way */
	unsigned long	 one_way_closed;	/* nothing one way */
	unsigned long	 stalled;	/* a side read none of its output */
	unsigned long	 evicted;	/* closed to make room for another */
	unsigned long	 not_tls;	/* closed: first bytes not TLS */
	long		 active;	/* paired sessions now */
	long		 waiting;	/* sessions made, not yet paired */
	uint64_t	 bytes;		/* relayed, both directions */
	uint64_t	 buffered;	/* held in the sessions' buffers now */
};

/* Listen on d->cfg->relay_listen; NULL with *cause (caller frees). */
struct relay	*relay_open(struct daemon *, char **cause);
/* Close every session and the listener. */
void		 relay_close(struct relay *);
/* The bound address:port. */
const char	*relay_address(const struct relay *);
/* The bound port. */
int		 relay_port(const struct relay *);
/*
 * Take over fd, accepted from sa: the listener's callback, and the way
 * tests hand it a socket with the source address they want counted.
 */
void		 relay_accept(struct relay *, int fd, const struct sockaddr *sa,
		    socklen_t salen);
/*
 * A single-use session between from (who asked from from_addr) and to,
 * with a key for each side: key_from (for the requester only) and key_to
 * (for the target only) each get P2P_RELAY_KEY_HEX hex digits and a NUL.
 * A full relay may close the session of someone who holds more to make
 * room. 0, or -1 with *code and *why when a cap is hit.
 */
int		 relay_session_new(struct relay *, const char *from,
		    const char *from_addr, const char *to, char *key_from,
		    char *key_to, const char **code, const char **why);
void		 relay_get_stats(const struct relay *, struct relay_stats *);
/*
 * Descriptors the relay may hold with this configuration (0 when it is
 * off): connections still presenting a key, and both ends of every
 * session. main counts them in the descriptor budget.
 */
long		 relay_max_fds(const struct config *);

#endif
