/*
 * Between peer_mail.c (the fetch of our mail, the module's
 * life), peer_mail_end.c (receipts, deposits no longer needed withdrawn),
 * peer_mail_out.c (our deposits, their notes) and peer_mail_group.c (what
 * a deposit seals, what a fetched one is), each calling only those after
 * it; nothing else includes this.
 */
#ifndef P2P_PEER_MAIL_INT_H
#define P2P_PEER_MAIL_INT_H

#include "peer_msg.h"
#include "seal.h"

#define MAIL_PAGE	WIRE_MAX_MBOX	/* deposits fetched at once */
#define MAIL_PEERS	32	/* recipients looked up in one round */
#define MAIL_ROUND	512	/* deposits in one round */
#define MAIL_TICK	1.0	/* seconds between rounds */
#define MAIL_EXPIRE_EVERY 5000	/* ms between looks for expired deposits */
#define MAIL_PUT_BYTES	(256 * 1024)	/* of base64 in one mbox-put */
#define MAIL_SWEEP	64	/* deposits no longer needed withdrawn at once */

/* A deposit of the page being fetched. */
struct mitem {
	int64_t	 id;
	char	 from[P2P_USERNAME_MAX + 1];
	char	 msgid[P2P_MSGID_HEX + 1];
	int	 outcome;	/* -2 in the queue, 1 ack it, 0 keep it */
	bool	 msg;		/* a message: a receipt is owed */
	bool	 group;		/* a group's message or list */
};

/* A recipient of a deposit round and its messages' ids, in order. */
struct mpeer {
	struct pmail	*ml;
	char		 user[P2P_USERNAME_MAX + 1];
	json_t		*ids;
	size_t		 next;		/* the one being put (or after them) */
	json_t		*batch;		/* the ids being put at once */
	size_t		 first;		/* where the batch starts in ids */
	int64_t		 put_at;	/* when the put was asked (unix ms) */
	unsigned char	 pk[SEAL_PK_LEN];
};

struct pmail {
	struct peer_msgs	*pm;
	struct event		*tick;
	/* fetch */
	bool			 fetching, again;
	int64_t			 after;
	bool			 more;
	json_t			*page;
	json_t			*ahead;		/* the next page, fetched early */
	json_t			*owed;		/* receipts: sender -> [ids] */
	struct event		*done_ev;	/* the page committed: page_done */
	bool			 prefetching;	/* its mbox-get is in flight */
	bool			 want;		/* page_done waits for it */
	bool			 stale;		/* fetch_done waits for it */
	struct mitem		*items;
	size_t			 n, next, waiting;
	bool			 submitted;
	struct seal_msg		 cur;		/* waiting for its sender's lookup */
	char			 curfp[P2P_FP_LEN + 1];
	/* deposits */
	int			 busy;		/* requests in flight (a stop waits) */
	int			 dep;		/* of them, a deposit round's */
	bool			 full;		/* the round took MAIL_ROUND */
	unsigned long		 round_mark;	/* deposited when it began */
	int			 withdrawing;	/* of them, mbox-withdraw */
	bool			 stopping;
	bool			 closed;	/* the gestor link is stopped */
	void			(*stopped)(void *);
	void			*stopped_arg;
	/* counters (stats) */
	unsigned long		 deposited, fetched, dropped;
	long			 held;		/* left by the last whole fetch for `trust` */
	long			 held_now;	/* the same, in the fetch under way */
	long			 left_group;	/* group mail left: not (yet) a member */
	long			 at_gestor;	/* mail waiting for us (-1 unknown) */
	long			 rows;		/* in mail_out: 0, deliveries skip it */
	int64_t			 expire_at;	/* next look for expired deposits (ms) */
	int64_t			 sweep_at;	/* next look for deposits to withdraw */
	unsigned long		 swept_gen;	/* pm->pending_gen then */
};

/* peer_mail_out.c */
/*
 * A request on the gestor link; once the link is stopped (the daemon
 * stops) none is queued, and cb hears at once that none will be answered.
 */
void	pm_mail_req(struct pmail *, json_t *frame, pg_reply_cb cb, void *arg);
const char *pm_mail_me(struct pmail *);
struct pgestor *pm_mail_pg(struct pmail *);
int	pm_mail_out_note(struct pmail *, const char *id, const char *peer,
	    int64_t deposit, const char *reason);
int64_t	pm_mail_out_get(struct pmail *, const char *id, int64_t *ts);
/* A request of a round (dep: a deposit's) is answered. */
void	pm_mail_round_end(struct pmail *, bool dep);
/* Seal and put one message (or a receipt) for user. */
int	pm_mail_deposit(struct pmail *, const char *user, const char *id,
	    const unsigned char *rcpt, enum seal_type, struct mpeer *);
/* Receipts for ids (messages from user, key rcpt) into user's mailbox. */
void	pm_mail_receipts(struct pmail *, const char *user, json_t *ids,
	    const unsigned char *rcpt);
/* user's mail key from a lookup reply, if it is the key we pinned. */
bool	pm_mail_key(struct pmail *, const char *user, json_t *reply,
	    unsigned char pk[SEAL_PK_LEN], char *why, size_t len);
/* A deposit round: every pending message old enough (all: every one). */
void	pm_mail_round_start(struct pmail *, bool all);

/* peer_mail_end.c */
/* Withdraw the deposits of messages that no longer wait (each round). */
void	pm_mail_sweep(struct pmail *);
/* The page's messages taken owe their senders receipts (ml->owed). */
void	pm_mail_receipts_owed(struct pmail *);
/* The fetch is over: one lookup per sender owed, a sealed receipt per
 * message into the mailbox of each that is offline. */
void	pm_mail_receipts_send(struct pmail *);

/* peer_mail_group.c */
/*
 * What a deposit of id seals into sm (from, to set): a direct message,
 * or a group's message or list to one member (id MSGID/MEMBER); 0, or -1
 * if id is no longer pending. pm_mail_fill_free frees what it set.
 */
int	pm_mail_fill(struct pmail *, const char *id, struct seal_msg *sm);
void	pm_mail_fill_free(struct seal_msg *);
/*
 * A fetched message, group message or list as the frame a link would
 * have read (w->frame holds its strings: the caller decrefs it); -1 for
 * a receipt.
 */
int	pm_mail_wire(const struct seal_msg *, struct wire_msg *w);
/*
 * The "deposited" event of deposit id for user: {user, id} and, for a
 * group's row MSGID/MEMBER, id MSGID and its group.
 */
json_t	*pm_mail_event(struct pmail *, const char *user, const char *id);

#endif
