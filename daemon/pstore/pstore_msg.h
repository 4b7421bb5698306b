/*
 * Messages in the peer's store: the outgoing queue (the messages in
 * state pending or held, through the partial index messages_queue, and
 * one retry note per peer), received messages with dedup by id, chats
 * with unread counts, and the event log whose seq numbers `watch
 * --since` resumes from (message and delivered events refer to their
 * message and are printed from it). Statements are prepared once in
 * pmsg_open.
 */
#ifndef P2P_PSTORE_MSG_H
#define P2P_PSTORE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "pstore.h"

struct pmsg_store;

#define PMSG_REASON_MAX	400

struct pmsg {
	int64_t		 seq;
	char		 id[P2P_MSGID_HEX + 1];
	char		 peer[P2P_USERNAME_MAX + 1];
	bool		 outgoing;
	const char	*body;		/* borrowed */
	size_t		 body_len;
	int64_t		 ts_sent;	/* unix ms */
	int64_t		 ts_received;	/* unix ms, 0 = not yet */
	char		 state[12];	/* pending sent delivered held failed received
					   cancelled expired */
	char		 reason[PMSG_REASON_MAX];	/* why it failed, is held or waits */
	int64_t		 expires;	/* unix ms, 0 = never (send --ttl) */
	char		 group[P2P_MSGID_HEX + 1];	/* "" = direct */
	/*
	 * Group rows (schema 9): 0 the message itself; at its sender a
	 * member's delivery row refers to it by seq (> 0), and -1 is a
	 * delivery of the group's list (body "list\nsig").
	 */
	int64_t		 ref;
};

/* The reason of a message held because a verified key changed. */
#define PMSG_HELD_KEY	"key changed"

struct ppending {
	const struct pmsg	*msg;
	int			 attempts;
	int64_t			 next_try;	/* unix ms */
	const char		*reason;
};

typedef int (*pmsg_fn)(const struct pmsg *, void *);

struct sqlite3_stmt;
/*
 * Fill m from the current row of a statement selecting (seq, id, peer,
 * direction, body, ts_sent, ts_received, state[, reason, expires[, grp,
 * ref]]); body is borrowed. A delivery row's id "ID/member" gives ID.
 */
void	pmsg_row(struct sqlite3_stmt *, struct pmsg *);

struct pmsg_store *pmsg_open(struct pstore *, char **cause);
void	pmsg_close(struct pmsg_store *);

/*
 * Queue an outgoing message (state "pending" or "held") in one
 * transaction. PSTORE_EXISTS if the id is taken: *existing is filled
 * (body copied into a malloc'd string the caller frees).
 */
enum pstore_rc pmsg_queue(struct pmsg_store *, const struct pmsg *,
	    struct pmsg *existing, char **existing_body);
/* The same inside the caller's transaction (the group commit). */
enum pstore_rc pmsg_queue_in(struct pmsg_store *, const struct pmsg *,
	    struct pmsg *existing, char **existing_body);
/*
 * Look a message up by id; body malloc'd into *body if body != NULL. A
 * message we sent to a group has the state of its members' deliveries
 * (pending while one waits, delivered once all have it, else the first
 * member's failure).
 */
enum pstore_rc pmsg_get(struct pmsg_store *, const char *id, struct pmsg *,
	    char **body);

/*
 * Inside a transaction (pstore_begin/commit): store one received
 * message; PSTORE_EXISTS for a resend (the id is a message received from
 * the same sender: nothing stored), PSTORE_CONFLICT when the id is
 * another message's (another sender's, or ours). *seq gets the event's
 * seq.
 */
enum pstore_rc pmsg_receive(struct pmsg_store *, const struct pmsg *,
	    int64_t *seq);
/*
 * Inside a transaction: mark an outgoing message to peer delivered at ts
 * (ms). PSTORE_NOTFOUND if unknown, not to peer, or delivered before.
 * A group message's delivery to peer is its row id/peer; grp
 * (P2P_MSGID_HEX + 1) gets the group, "" if none. *seq is 0 when what
 * was delivered is a group's list (no event).
 */
enum pstore_rc pmsg_delivered(struct pmsg_store *, const char *id,
	    const char *peer, int64_t ts, int64_t *seq);
enum pstore_rc pmsg_delivered_group(struct pmsg_store *, const char *id,
	    const char *peer, int64_t ts, int64_t *seq, char *grp);
/* Outside a transaction: give up on a message (state failed). */
enum pstore_rc pmsg_failed(struct pmsg_store *, const char *id, const char *why);
/*
 * Outside a transaction: end an undelivered outgoing message (pending,
 * sent or held; for a message to a group, every member's delivery still
 * open; for "ID/member", that member's) in state "failed", "cancelled" or "expired" with a
 * reason, and store the event of that name ({user,id,reason}); *m gets
 * the message (body NULL) and *seq the event's seq, 0 if the message was
 * not undelivered (nothing changed).
 */
enum pstore_rc pmsg_finish(struct pmsg_store *, const char *id,
	    const char *state, const char *reason, struct pmsg *m, int64_t *seq);
/* The earliest expiry among pending and held messages, 0 if none. */
enum pstore_rc pmsg_next_expiry(struct pmsg_store *, int64_t *when);
/* Pending and held messages whose expiry is at or before now, in order. */
enum pstore_rc pmsg_expired(struct pmsg_store *, int64_t now, pmsg_fn, void *);

/*
 * The seq of the message the last successful pmsg_queue_in stored (its
 * place in the queue; the caller's window keeps it once committed).
 */
int64_t	pmsg_queued_seq(const struct pmsg_store *);
/* Pending unexpired messages to peer in order, seq > after, at most limit. */
enum pstore_rc pmsg_pending_for(struct pmsg_store *, const char *peer,
	    int64_t after, int limit, pmsg_fn, void *);
/* Every pending message (all peers) with its retry bookkeeping. */
enum pstore_rc pmsg_pending_all(struct pmsg_store *,
	    int (*)(const struct ppending *, void *), void *);
/* Peers with messages waiting (state pending). */
enum pstore_rc pmsg_pending_peers(struct pmsg_store *,
	    int (*)(const char *peer, void *), void *);
/* Record a failed attempt for all of peer's pending messages. */
enum pstore_rc pmsg_pending_note(struct pmsg_store *, const char *peer,
	    int attempts, int64_t next_try, const char *reason);
long	pmsg_count(struct pmsg_store *, const char *state);

/* The reason a message to peer is held: PMSG_HELD_KEY and how to release it. */
void	pmsg_held_reason(const char *peer, char *out, size_t outlen);
/* held (pmsg_held_reason) <-> pending for one peer's outgoing queue. */
enum pstore_rc pmsg_hold(struct pmsg_store *, const char *peer, bool hold);

/* The last limit messages with peer, oldest first; marks the chat read. */
enum pstore_rc pmsg_history(struct pmsg_store *, const char *peer, int limit,
	    pmsg_fn, void *);
/*
 * Inside a transaction: store a message we send to a group (m->group,
 * m->peer our name) once, in state sent: its members' delivery rows
 * (pstore_group.c) refer to it by *seq.
 */
enum pstore_rc pmsg_group_put(struct pmsg_store *, const struct pmsg *,
	    int64_t *seq, struct pmsg *existing, char **existing_body);
/* A group's last limit messages (every sender's), by sender's time then id. */
enum pstore_rc pmsg_group_history(struct pmsg_store *, const char *group,
	    int limit, pmsg_fn, void *);
/* Chats, most recent first: fn(peer, unread, last_activity ms, last body). */
enum pstore_rc pmsg_chats(struct pmsg_store *,
	    int (*)(const char *, long, int64_t, const char *, bool, void *),
	    void *);

/* Append an event (type, JSON data); *seq gets its number. */
enum pstore_rc pmsg_event(struct pmsg_store *, const char *type,
	    const char *json, int64_t *seq);

/* The seq of the last stored event, 0 if none, -1 on error. */
int64_t	pmsg_last_seq(struct pmsg_store *);

/* Stored events after seq, in order: fn(seq, type, json data). */
enum pstore_rc pmsg_events_since(struct pmsg_store *, int64_t after,
	    int (*)(int64_t, const char *, const char *, void *), void *);

/*
 * What a mailbox deposit of message id (or group row MSGID/MEMBER)
 * seals, if it is pending: its kind (a direct message, a group's
 * message, a group's list, our leaving a group to its admin: body ""),
 * group, ts, body (malloc'd: the message's, or the group's newest list)
 * and sig (malloc'd: that list's signature; else NULL). PSTORE_NOTFOUND
 * if it is not pending. (pstore_queue.c)
 */
enum pmsg_kind { PMSG_DIRECT, PMSG_GMSG, PMSG_GLIST, PMSG_GLEAVE };
enum pstore_rc pmsg_sealable(struct pmsg_store *, const char *id,
	    enum pmsg_kind *, char *group, int64_t *ts, char **body,
	    size_t *body_len, char **sig);

#endif
