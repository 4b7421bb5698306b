/*
 * Between peer_queue.c (the group commit) and peer_queue_out.c (what goes
 * out after it), which peer_queue.c calls; nothing else includes this.
 */
#ifndef P2P_PEER_QUEUE_INT_H
#define P2P_PEER_QUEUE_INT_H

#include "peer_msg.h"

/* A received message waiting for the group commit. */
struct rx {
	void		*from;		/* the connection's, for pm_hooks */
	json_t		*frame;		/* keeps the strings in m alive */
	char		*body;		/* or m's body, read hot (no frame) */
	enum wire_type	 type;		/* W_MSG, W_GMSG, W_GMEMBERS */
	const char	*sig;		/* gmembers: the list's signature */
	struct pmsg	 m;
	bool		 stranger;	/* counted in its requests row if stored */
	bool		 mail;		/* fetched from the mailbox */
	const char	*code;		/* refused: why (stranger_refused) */
	char		 why[300];
};

/* A member's delivery row of a group send (its place in the queue). */
struct gdl {
	char	 user[P2P_USERNAME_MAX + 1];
	int64_t	 seq;
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
	struct gdl	*dl;		/* to a group: one row per member */
	size_t		 ndl;
	bool		 left;		/* to a group we are not in (now) */
};

struct ackq {
	char	 user[P2P_USERNAME_MAX + 1];
	char	 id[P2P_MSGID_HEX + 1];
	char	 group[P2P_MSGID_HEX + 1];	/* set by the commit */
};


/*
 * After the commit: acks out, events to subscribers, waiters, windows.
 * seqs and dseqs are the stored seqs of the received messages and of the
 * delivered ones (0: not stored, a duplicate).
 */
void	pm_after_commit(struct peer_msgs *, int64_t now, const int64_t *seqs,
	    const int64_t *dseqs);

#endif
