/*
 * Internals of peer messaging, shared by peer_msg.c (connections),
 * peer_queue.c (group commit, acks, waiters) and peer_ctl.c (control
 * commands for messages).
 */
#ifndef P2P_PEER_MSG_H
#define P2P_PEER_MSG_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

#include "peer_int.h"
#include "pstore_archive.h"
#include "pstore_msg.h"
#include "pstore_route.h"
#include "peer_relay.h"
#include "peer_route.h"

#define PM_WINDOW	256	/* unacknowledged messages per connection */

enum link_state { L_IDLE, L_RESOLVING, L_RELAYING, L_CONNECTING, L_HELLO,
    L_READY };

/* Outgoing link to one recipient. */
struct plink {
	TAILQ_ENTRY(plink)	 entry;
	struct peer_msgs	*pm;
	char			 user[P2P_USERNAME_MAX + 1];
	enum link_state		 state;
	struct conn		*c;
	struct evdns_getaddrinfo_request *dnsreq;
	char			 fp[P2P_FP_LEN + 1];	/* expected key */
	char			 addr[80];
	int64_t			 sent_upto;	/* last seq sent on c */
	int			 inflight;
	int			 attempts;
	bool			 lookup_pending, looked_up;
	bool			 said_offline;	/* the gestor's last word */
	char			 lookup_err[200]; /* why the last lookup failed */
	char			 reason[400];	/* why it waits, for `pending` */
	char			 refused[128];	/* error frame from the recipient */
	struct event		*retry;
	struct event		*stall;		/* no answer while one is due */
	double			 heard;		/* util_mono() of the last answer */
	struct event		*idle;		/* close when idle (idle_timeout) */
	/* route (peer_route.c) */
	bool			 via_relay;	/* this attempt goes through the relay */
	bool			 relay_tried, was_ready, relay_req;
	char			 route_why[200];
	struct prelay		*rl;
	struct conn		*probe;		/* direct route tried while relayed */
	struct evdns_getaddrinfo_request *probe_dns;
	struct event		*probe_ev;
};

enum in_state { IN_HELLO, IN_VERIFYING, IN_READY };

/* Incoming connection from another peer. */
struct pin {
	TAILQ_ENTRY(pin)	 entry;
	struct peer_msgs	*pm;
	struct conn		*c;		/* NULL once closed */
	int			 refs;
	enum in_state		 state;
	char			 user[P2P_USERNAME_MAX + 1];
	char			 fp[P2P_FP_LEN + 1];
	char			 addr[64];
	struct event		*hello_ev;	/* TLS + hello deadline */
};

/* A received message waiting for the group commit. */
struct rx {
	struct pin	*in;
	json_t		*frame;		/* keeps the strings in m alive */
	struct pmsg	 m;
};

/* A `send` waiting for the group commit; replied to after it. */
struct txq {
	struct ctlreq	*r;
	struct pmsg	 m;		/* m.body is body */
	char		*body;
	bool		 wait;		/* send --wait */
	double		 timeout;
	enum pstore_rc	 rc;		/* of pmsg_queue_in */
	struct pmsg	 old;		/* PSTORE_EXISTS: the stored message */
	char		*oldbody;
};

struct ackq {
	char	 user[P2P_USERNAME_MAX + 1];
	char	 id[P2P_MSGID_HEX + 1];
};

/* A control request waiting for messages to be delivered. */
struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	struct peer_msgs	*pm;
	struct ctlreq		*r;
	json_t			*ids;		/* still waiting for */
	json_t			*all;		/* every id asked for */
	struct event		*timer;
	bool			 send;		/* send --wait: reply {id,state} */
};

struct pm_stats {
	unsigned long	 sent, received, delivered, retries, duplicates;
};

struct invite;

struct peer_msgs {
	struct peer		*p;
	struct pmsg_store	*ms;
	struct parch		*arch;
	struct evdns_base	*dns;
	TAILQ_HEAD(, plink)	 links;
	TAILQ_HEAD(, pin)	 ins;
	int			 nins;
	TAILQ_HEAD(, waiter)	 waiters;
	struct event		*flush_ev;
	struct event		*ckpt_ev;	/* WAL checkpoint after replies */
	struct rx		*rx;
	size_t			 nrx, rxcap;
	struct ackq		*acks;
	size_t			 nacks, ackcap;
	struct txq		*txs;
	size_t			 ntxs, txcap;
	struct pm_stats		 stats;
	struct proute_store	*routes;
	int			 ninvites;	/* relay invitations in progress */
	TAILQ_HEAD(, presend)	 presends;	/* sends in arrival order */
	struct event		*expiry_ev;
	bool			 stopping;
	TAILQ_HEAD(, invite)	 invites;
	struct ratelimit	*verify;	/* hello lookups per address */
};

/*
 * Hellos whose key must be looked up at the gestor (an unknown user, or
 * a key that is not the one pinned), per source address (an IPv6 /64):
 * a burst of PM_VERIFY_BURST, then PM_VERIFY_BURST a minute. Each costs
 * a lookup of our account's budget at the gestor, which anybody could
 * otherwise spend for us from outside.
 */
#define PM_VERIFY_BURST	10

struct pending_fail {
	struct peer_msgs	*pm;
	const char		*why;
};

/* peer_msg.c */
void	 pm_kick(struct peer_msgs *, const char *user, bool now);
void	 pm_link_moved(struct plink *, const char *addr, int port);
void	 pm_pin_unref(struct pin *);
/* A relay paired us: run TLS as client on fd for the link. */
void	 pm_link_adopt(struct plink *, int fd, const struct sockaddr *,
	    socklen_t);
/* Close a relayed link with nothing in flight and reconnect (directly). */
void	 pm_link_redirect(struct plink *);
/* This attempt failed: back off and retry (or fall back to the relay). */
void	 pm_link_failed(struct plink *, const char *why);
json_t	*pm_event_line(int64_t seq, const char *type, const char *data);

/* peer_queue.c */
void	 pm_receive(struct peer_msgs *, struct pin *, const struct wire_msg *);
void	 pm_ack(struct peer_msgs *, struct plink *, const char *id);
void	 pm_send(struct peer_msgs *, struct ctlreq *, const struct pmsg *,
	    bool wait, double timeout);
void	 pm_kick_all(struct peer_msgs *);
void	 pm_watch_contacts(struct peer_msgs *);
void	 on_flush(evutil_socket_t, short, void *);
void	 on_checkpoint(evutil_socket_t, short, void *);

/* peer_state.c */
void	 pm_state_init(struct peer_msgs *);
void	 pm_state_free(struct peer_msgs *);
/* failed, cancelled, expired: stored, streamed, waiters told. */
enum pstore_rc pm_finish(struct peer_msgs *, const char *id, const char *state,
	    const char *reason);
/* A pmsg_fn failing each message with pending_fail.why. */
int	 pm_fail_one(const struct pmsg *, void *);
void	 pm_hold(struct peer_msgs *, const char *user);
/* (Re)start the timer for the earliest expiry. */
void	 pm_expiry_arm(struct peer_msgs *);
/* A state no message leaves: delivered, failed, cancelled, expired, unknown. */
bool	 pm_state_is_end(const char *state);

/* peer_wait.c */
void	 pm_waiter_add(struct peer_msgs *, struct ctlreq *, json_t *ids,
	    double timeout, bool send);
/* id may have ended (delivered, failed, ...): answer whom it concerns. */
void	 pm_waiters_update(struct peer_msgs *, const char *id);
void	 pm_waiters_fail(struct peer_msgs *);

#endif
