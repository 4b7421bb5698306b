/*
 * Internals of peer messaging, shared by its files. Calls go down only,
 * layer by layer (tests/layout/circles.sh checks it):
 *
 *   peer.c, peer_ctl*.c, peer_archive.c  account, control commands
 *   peer_msg.c                           lifecycle: wires the hooks
 *   peer_file.c                          files: send-file, save, accept
 *   peer_state.c                         send admission, cancel, expiry
 *   peer_links.c                         all links, presence pushes
 *   peer_link.c (+ peer_window.c)        one outgoing link
 *   peer_route.c                         direct or relayed
 *   peer_relay.c                         the relay client, invitations
 *   peer_in.c                            incoming connections
 *   peer_ftx.c, peer_frx.c               file transfers: send, receive
 *   peer_mail.c, peer_mail_out.c         the mailbox: fetch, deposits
 *   peer_queue.c, peer_queue_out.c       the group commit: sends,
 *                                        received messages, acks; what
 *                                        goes out after it
 *   peer_group.c                         groups' membership lists
 *   peer_end.c, peer_wait.c              how messages end, who waits
 *   peer_contact.c, peer_event.c,        contacts, events, the gestor
 *   peer_gestor.c, peer_gestor_req.c     link; below them the store
 *
 * The connections hand the queue what they read (pm_receive, pm_ack) and
 * what the control socket asks to send arrives there too (pm_send); the
 * queue calls no function of theirs and never sees struct plink or
 * struct pin: after each commit it reports through struct pm_hooks. A
 * route tells its link what came of it through struct proute_hooks
 * (peer_route.h). peer_msg.c fills both with the functions of the layers
 * above. peer_state.c, peer_wait.c and peer_ctl.c reach the links only
 * through pm_kick, pm_kick_all, pm_link_in_flight and pm_links_ready, and
 * bump pm->pending_gen when they change what is pending (the links'
 * windows in memory, see peer_window.c, are then refilled from the
 * store). struct plink is in peer_link.h.
 */
#ifndef P2P_PEER_MSG_H
#define P2P_PEER_MSG_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"
#include "peer_int.h"
#include "pstore_archive.h"
#include "pstore_group.h"
#include "pstore_msg.h"
#include "pstore_request.h"
#include "pstore_route.h"
#include "peer_relay.h"
#include "peer_route.h"

#define PM_WINDOW	256	/* unacknowledged messages per connection */
/* Messages stored and not yet sent, kept in memory for all links. */
#define PM_WQ_BYTES	(16 * 1024 * 1024)

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

/* Counts since this start (stats: the names without _total). */
struct pm_stats {
	unsigned long	 sent, received, delivered, retries, duplicates;
	unsigned long	 failed, cancelled, expired;
	unsigned long	 requests_refused;	/* strangers over quota or rate */
	unsigned long	 commit_failures;	/* group commits rolled back */
	struct metrics_hist commit;		/* group commit seconds */
};

struct invite;
struct fsend;
struct pm_ftx;
struct conn;
struct pfile_store;
struct filecopy_pool;

/*
 * How the queue reports back to the connections after a group commit
 * (set by peer_msgs_start).
 */
struct pm_hooks {
	/*
	 * A message read on from (pm_receive) is stored, or was a duplicate:
	 * acknowledge it. stored is false when the commit failed (nothing to
	 * acknowledge). Either way the queue's reference to from ends.
	 */
	void	(*received)(void *from, const char *id, bool stored);
	/*
	 * Every message of the commit was reported (received, refused):
	 * send the acks batched for senders that take acks frames.
	 */
	void	(*received_end)(struct peer_msgs *);
	/*
	 * A message read on from was refused and not stored (a stranger
	 * over its quota or rate): tell the sender why (code, why) and
	 * close, so that it keeps the message and its order. The queue's
	 * reference to from ends.
	 */
	void	(*refused)(void *from, const char *id, const char *code,
		    const char *why);
	/* A send was stored (m->seq its place in the queue): deliver it. */
	void	(*queued)(struct peer_msgs *, const struct pmsg *m);
	/*
	 * Acks are about to be committed: the windows they opened are
	 * filled and written out before the commit's fsync, so that the
	 * recipients store the next messages while we wait for ours (what
	 * is sent is stored already; an ack only ever marks it delivered).
	 */
	void	(*acked)(struct peer_msgs *);
	/* After every commit: acks may have opened the windows. */
	void	(*committed)(struct peer_msgs *);
	/* A send with an expiry was stored: the expiry timer may move. */
	void	(*expires)(struct peer_msgs *);
	/* The commit queued rows outside the sends (a group's new list). */
	void	(*kick_all)(struct peer_msgs *);
	/* user's hello came in on a connection to us (peer_in.c). */
	void	(*heard)(struct peer_msgs *, const char *user);
	/*
	 * A message fetched from the mailbox (pm_receive_mail, from its
	 * item) is stored or a duplicate (1), not stored (0: the commit
	 * failed) or refused (-1: message-request limits).
	 */
	void	(*mailed)(struct peer_msgs *, void *from, const char *id,
		    int outcome);
	/* A direct message of ours was delivered (ack or receipt). */
	void	(*delivered)(struct peer_msgs *, const char *id);
	/* The commit applied a group's newer list (gmembers). */
	void	(*list_applied)(struct peer_msgs *);
};

struct peer_msgs {
	struct peer		*p;
	const struct pm_hooks	*hooks;
	const struct proute_hooks *route_hooks;
	struct pmsg_store	*ms;
	struct parch		*arch;
	struct evdns_base	*dns;
	TAILQ_HEAD(, plink)	 links;
	TAILQ_HEAD(, pin)	 ins;
	int			 nins;
	TAILQ_HEAD(, waiter)	 waiters;
	struct event		*flush_ev;
	struct event		*ckpt_ev;	/* WAL checkpoint after replies */
	struct event		*fts_ev;	/* full-text index, off the commit */
	double			 fts_since;	/* its first deferral (util_mono), 0 */
	struct rx		*rx;
	size_t			 nrx, rxcap;
	struct ackq		*acks;
	size_t			 nacks, ackcap;
	struct txq		*txs;
	size_t			 ntxs, txcap;
	struct pm_stats		 stats;
	struct proute_store	*routes;
	struct preq_store	*requests;	/* message requests (strangers) */
	struct pgroup_store	*groups;	/* groups (peer_group.c) */
	int			 ninvites;	/* relay invitations in progress */
	TAILQ_HEAD(, presend)	 presends;	/* sends in arrival order */
	struct event		*expiry_ev;
	bool			 stopping;
	TAILQ_HEAD(, invite)	 invites;
	struct ratelimit	*verify;	/* hello lookups per address */
	/*
	 * Bumped whenever messages become pending or stop being pending
	 * other than by the group commit's sends and acks (cancel, expiry,
	 * failure, hold, trust, import): every link's window in memory
	 * (peer_window.c) is then dropped and refilled from the store.
	 */
	unsigned long		 pending_gen;
	size_t			 wq_bytes;	/* all links' windows in memory */
	bool			 lists_changed;	/* a commit queued a group's list */
	bool			 lists_applied;	/* a commit applied a group's list */
	json_t			*group_events;	/* lines to stream after the commit */
	/* files (peer_file.c) */
	struct pfile_store	*files;
	struct filecopy_pool	*fcopy;
	TAILQ_HEAD(, fsend)	 fsends;	/* send-file: copies running */
	struct pm_ftx		*ftx;		/* transfers (peer_ftx.c) */
	struct pmail		*mail;		/* the mailbox (peer_mail.c) */
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

/* peer_event.c: a stored event as the line `watch` streams */
json_t	*pm_event_line(int64_t seq, const char *type, const char *data);
/* peer_contact.c: subscribe to the presence of every contact. */
void	 pm_watch_contacts(struct peer_msgs *);

/* peer_link.c: start delivering to user now, unless a link is busy. */
void	 pm_kick(struct peer_msgs *, const char *user, bool now);
/* user said hello on a connection it opened (peer_in.c). */
void	 pm_link_heard(struct peer_msgs *, const char *user);
/* peer_links.c: the outgoing links together */
/* Every recipient with messages waiting. */
void	 pm_kick_all(struct peer_msgs *);
/* seq was sent to user on a ready link and awaits its ack: too late to stop. */
bool	 pm_link_in_flight(struct peer_msgs *, const char *user, int64_t seq);
/* Links ready to send (connections_out). */
int	 pm_links_ready(struct peer_msgs *);
/* After a commit: fill the window of every ready link. */
void	 pm_links_pump(struct peer_msgs *);
/* Before a commit of acks: fill the windows and write them out now. */
void	 pm_links_refill(struct peer_msgs *);
/* A send was stored: deliver it. */
void	 pm_links_queued(struct peer_msgs *, const struct pmsg *);
/* Shutdown: close every link (peer_msgs_stop); free them (peer_msgs_free). */
void	 pm_links_stop(struct peer_msgs *);
void	 pm_links_free(struct peer_msgs *);

/* peer_in.c: incoming connections */
/* Acknowledge a stored message on the connection it came on (pm_hooks). */
void	 pm_in_received(void *in, const char *id, bool stored);
/* The commit's acks batched per connection go out (pm_hooks). */
void	 pm_ins_flush_acks(struct peer_msgs *);
void	 pm_in_refused(void *in, const char *id, const char *code,
	    const char *why);
void	 pm_ins_close(struct peer_msgs *);

/* peer_queue.c: the group commit */
/* A message read on from (a reference the queue holds until pm_hooks.received). */
void	 pm_receive(struct peer_msgs *, void *from, const struct wire_msg *);
/* A message fetched from the mailbox (pm_hooks.mailed reports on it). */
void	 pm_receive_mail(struct peer_msgs *, void *from, const struct wire_msg *);
/* user acknowledged id. */
void	 pm_ack(struct peer_msgs *, const char *user, const char *id);
void	 pm_send(struct peer_msgs *, struct ctlreq *, const struct pmsg *,
	    bool wait, double timeout);
/* Something is waiting for the group commit (shutdown finishes it). */
bool	 pm_queue_busy(struct peer_msgs *);
void	 pm_queue_free(struct peer_msgs *);
void	 on_flush(evutil_socket_t, short, void *);
void	 on_checkpoint(evutil_socket_t, short, void *);
void	 on_fts(evutil_socket_t, short, void *);

/* peer_state.c: sends, cancels, expiry */
void	 pm_state_init(struct peer_msgs *);
void	 pm_state_free(struct peer_msgs *);
/* (Re)start the timer for the earliest expiry. */
void	 pm_expiry_arm(struct peer_msgs *);

/* peer_end.c */
/* failed, cancelled, expired: stored, streamed, waiters told. */
enum pstore_rc pm_finish(struct peer_msgs *, const char *id, const char *state,
	    const char *reason);
/* The same for one queued row (a group member's delivery: that one only). */
enum pstore_rc pm_finish_row(struct peer_msgs *, const struct pmsg *,
	    const char *state, const char *reason);
/* A pmsg_fn failing each message with pending_fail.why. */
int	 pm_fail_one(const struct pmsg *, void *);
/* user refused our direct message id for good (id_taken): it fails. */
void	 pm_fail_refused(struct peer_msgs *, const char *user, const char *id,
	    const char *why);
void	 pm_hold(struct peer_msgs *, const char *user);

/* peer_ftx.c: file transfers on the links (called by peer_link.c, peer_in.c) */
int	 pm_ftx_start(struct peer_msgs *, char **cause);
void	 pm_ftx_free(struct peer_msgs *);
/* Sender: a file to deliver to user (in the store or in progress). */
bool	 pm_ftx_pending(struct peer_msgs *, const char *user);
/* Sender: a file to deliver was stored. */
void	 pm_ftx_stored(struct peer_msgs *);
/* Sender: a file with a ttl was stored: the expiry timer may move. */
void	 pm_ftx_expiry_arm(struct peer_msgs *);
/* Sender: chunks out, an answer awaited (the link's stall watch). */
bool	 pm_ftx_busy(struct peer_msgs *, const char *user);
/* Sender: the link to user is ready on c: offer, or go on. */
void	 pm_ftx_link_up(struct peer_msgs *, const char *user, struct conn *);
/* Sender: c's output has room (conn on_drain). */
void	 pm_ftx_drain(struct peer_msgs *, const char *user, struct conn *);
/* Sender: the link to user came up on c: cancels not yet answered. */
void	 pm_ftx_link_ready(struct peer_msgs *, const char *user, struct conn *);
/* Either side: remove (soon) the stored copies no file needs any more. */
void	 pm_ftx_gc(struct peer_msgs *);
/* Sender: the link to user is gone; the next offer resumes. */
void	 pm_ftx_link_down(struct peer_msgs *, const char *user);
/* Sender: the recipient's file-pos on c. */
void	 pm_ftx_pos(struct peer_msgs *, const char *user, struct conn *,
	    const struct w_fpos *);
/* Recipient: an offer, a chunk, from the sender of connection c. */
void	 pm_frx_offer(struct peer_msgs *, struct conn *, const char *from,
	    const struct w_file *);
void	 pm_frx_chunk(struct peer_msgs *, struct conn *, const char *from,
	    const struct w_chunk *);
/*
 * Recipient: accept (or reject) a file waiting for an answer; its state
 * after in state[len]. 0, or -1 with why.
 */
int	 pm_frx_decide(struct peer_msgs *, const char *id, bool accept,
	    char *state, size_t len, const char **why);
/* Recipient: the sender gave the file id up (answered on c). */
void	 pm_frx_cancelled(struct peer_msgs *, struct conn *c, const char *from,
	    const char *id);
/*
 * Either side: cancel the file id; its item {id,state,reason} (why set
 * when it is too late), or NULL if no file has this id.
 */
json_t	*pm_ftx_cancel_one(struct peer_msgs *, const char *id,
	    const char **why);
bool	 pm_ftx_is_file(struct peer_msgs *, const char *id);
/* Recipient: c closed. */
void	 pm_frx_gone(struct peer_msgs *, struct conn *);

/* peer_file.c: files */
int	 pm_files_start(struct peer_msgs *, char **cause);
/* Stop the copies in progress (their requests get an error). */
void	 pm_files_stop(struct peer_msgs *);
void	 pm_files_free(struct peer_msgs *);

/* peer_mail.c: the mailbox (deposits for offline recipients, fetch) */
struct pmail;
int	 pm_mail_start(struct peer_msgs *);
/*
 * A clean stop: deposit every pending message for an offline recipient.
 * true: deposits are in flight, done(arg) is called when they are over.
 */
bool	 pm_mail_stop(struct peer_msgs *, void (*done)(void *), void *arg);
/* A stop's deposits (or other mailbox requests) are still in flight. */
bool	 pm_mail_stopping(struct peer_msgs *);
void	 pm_mail_free(struct peer_msgs *);
/* Fetch the mail waiting at the gestor (login, resume, pushed mbox). */
void	 pm_mail_fetch(struct peer_msgs *);
/* pm_hooks.delivered: a deposit a direct ack made redundant is withdrawn. */
void	 pm_mail_delivered(struct peer_msgs *, const char *id);
/* pm_hooks.mailed */
void	 pm_mail_rx(struct peer_msgs *, void *from, const char *id, int outcome);
/* pm_hooks.list_applied: group mail left for want of a list is fetched again. */
void	 pm_mail_list_applied(struct peer_msgs *);
json_t	*pm_mail_stats(struct peer_msgs *);
/* status's mail_held (and what else status says of the mailbox). */
json_t	*pm_mail_status(struct peer_msgs *);
/* Message id was cancelled: withdraw its deposit, if any (a deposit
 * already fetched may still reach the recipient). */
void	 pm_mail_withdraw(struct peer_msgs *, const char *id);

/* peer_wait.c */
/* A state no message leaves: delivered, failed, cancelled, expired, unknown. */
bool	 pm_state_is_end(const char *state);
void	 pm_waiter_add(struct peer_msgs *, struct ctlreq *, json_t *ids,
	    double timeout, bool send);
/* id may have ended (delivered, failed, ...): answer whom it concerns. */
void	 pm_waiters_update(struct peer_msgs *, const char *id);
void	 pm_waiters_fail(struct peer_msgs *);

/* The message engine of a peer daemon, from a control handler's ctx. */
static inline struct peer_msgs *
pm_of_ctx(void *ctx)
{
	return ((struct daemon *)ctx)->peer->msgs;
}

#endif
