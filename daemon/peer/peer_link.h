/*
 * Outgoing links, one per recipient (peer_link.c; all of them together:
 * peer_links.c), and the files that work on a link's route (peer_route.c,
 * peer_relay.c). The queue (peer_queue.c), the ends of messages
 * (peer_end.c, peer_state.c) and the control commands do not see struct
 * plink: they use the functions at the end of peer_msg.h.
 */
#ifndef P2P_PEER_LINK_H
#define P2P_PEER_LINK_H

#include "peer_msg.h"

struct wq_item;

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
	char			 refused[256];	/* error frame from the recipient */
	/*
	 * The recipient refused our messages as message requests (quota,
	 * rate): reconnecting does not reset the backoff, an ack does; a
	 * hello from the recipient (it accepted us, it writes) retries now.
	 */
	bool			 held_back;
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
	/* the window in memory (peer_window.c) */
	TAILQ_HEAD(wq_head, wq_item) wq;	/* stored, not yet sent on c */
	size_t			 wq_len, wq_bytes;
	bool			 wq_valid;	/* collecting: see peer_window.c */
	bool			 wq_older;	/* the store may hold older ones */
	unsigned long		 wq_gen;	/* pm->pending_gen then */
};

/* peer_link.c: one link, for peer_links.c */
/* user's link; made when create is set and there is none. */
struct plink *pm_link_find(struct peer_msgs *, const char *user, bool create);
void	 pm_link_free(struct plink *);

/* peer_link_state.c: a link's state, for peer_link.c and peer_links.c */
/* Drop the connection at once (no callbacks) and forget what it carried. */
void	 pm_link_drop(struct plink *);
/* The connection is gone (closed): forget what it carried. */
void	 pm_link_forget(struct plink *);
/*
 * Whether l's recipient offered cap in its hello (wire.h's enum
 * wire_cap): false until the link is ready, and for an older daemon.
 */
bool	 pm_link_has_cap(const struct plink *, enum wire_cap);
/* A ready link: send what its window allows. */
void	 pm_link_pump(struct plink *);
/* Messages or files to deliver to l's recipient. */
bool	 pm_link_has_work(struct plink *);
/* Waiting for an answer: messages unacknowledged, or a file going out. */
bool	 pm_link_awaits(struct plink *);
/* How long a link awaiting an answer may hear nothing. */
double	 pm_link_stall_limit(const struct plink *);
/* Arm or clear the stall and idle timers for the link's state now. */
void	 pm_link_watch(struct plink *);

/* peer_link.c: what the route tells a link (struct proute_hooks) */
/* A relay paired us: run TLS as client on fd for the link. */
void	 pm_link_adopt(struct plink *, int fd, const struct sockaddr *,
	    socklen_t);
/* Close a relayed link with nothing in flight and reconnect (directly). */
void	 pm_link_redirect(struct plink *);
/* This attempt failed: back off and retry (or fall back to the relay). */
void	 pm_link_failed(struct plink *, const char *why);

/* peer_window.c: what a ready link sends (for peer_link.c) */
/* Send queued messages not yet sent on l's connection, up to PM_WINDOW. */
void	 pm_window_fill(struct plink *);
/* A message to l's recipient was stored (after the commit). */
void	 pm_window_queued(struct plink *, const struct pmsg *);
/* l's connection is new or gone: forget what the memory held. */
void	 pm_window_reset(struct plink *);
/* Anything to deliver to l's recipient (pending, unexpired)? */
bool	 pm_window_has_pending(struct plink *);
/* seq was sent on l's connection and awaits its ack. */
bool	 pm_window_in_flight(const struct plink *, int64_t seq);

#endif
