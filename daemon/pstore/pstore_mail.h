/*
 * The peer store's record of our deposits in recipients' mailboxes
 * (table mail_out, schema 13, expires since 16): written by peer_mail_out.c, read by whatever
 * shows a message's state.
 */
#ifndef P2P_PSTORE_MAIL_H
#define P2P_PSTORE_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "pstore.h"
#include "pstore_msg.h"

/*
 * A deposit's id in mail_out: a direct message's id, or a group
 * delivery row's, MSGID/MEMBER (a group message's, list's or leave's,
 * ref > 0, -1, -2), so that each member's deposit of one group message
 * has its row.
 */
#define PMAIL_ID_MAX	(P2P_MSGID_HEX + 1 + P2P_USERNAME_MAX)

/* Note message id deposited (deposit > 0) or refused (0, with reason). */
int	pmail_note(struct pstore *, const char *id, const char *peer,
	    int64_t deposit, const char *reason);
/* The same, for a deposit the gestor keeps until expires (unix ms, ours). */
int	pmail_note_until(struct pstore *, const char *id, const char *peer,
	    int64_t deposit, const char *reason, int64_t expires);
/*
 * Deposits expired by now (unix ms), and the later ones for the same
 * recipient (the gestor deletes them too), become refusals noted now,
 * with reason: the message is pending again, due after mailbox.after.
 * The number of them, or -1.
 */
long	pmail_expire(struct pstore *, int64_t now, const char *reason);
/* The deposit of message id (> 0), 0 refused (*ts, reason), -1 none. */
int64_t	pmail_get(struct pstore *, const char *id, int64_t *ts, char *reason,
	    size_t len);
/* m's state as shown: "deposited" for a pending message of ours in a
 * mailbox; reason (if not NULL) the refusal of a deposit, or "" (for a
 * group's message: m's reason and how many members' copies are
 * deposited, or "" when none is). */
const char *pmail_state(struct pstore *, const struct pmsg *m, char *reason,
	    size_t len);

/*
 * The messages of ours due for a deposit, oldest first, at most limit:
 * direct ones and group delivery rows (a group message or list to one
 * member; id MSGID/MEMBER), pending, sent at or before before (unix ms), neither deposited
 * nor refused after retry (unix ms). fn(id, peer, arg); -1 stops.
 */
int	pmail_due(struct pstore *, int64_t before, int64_t retry, int limit,
	    int (*fn)(const char *id, const char *peer, void *), void *arg);
/* Rows in mail_out. */
long	pmail_rows(struct pstore *);
/* Forget message id's deposit (delivered): only if it was for peer
 * (a receipt's sender), or whoever it was for when peer is NULL. The
 * rows forgotten (0 or 1), -1 on error. */
int	pmail_forget(struct pstore *, const char *id, const char *peer);
/*
 * Forget the deposit for peer that its receipt for id answers: message
 * id's, or group row id/peer's.
 */
int	pmail_forget_receipt(struct pstore *, const char *id, const char *peer);
/*
 * Deposits whose message is no longer waiting (delivered directly,
 * failed, cancelled, expired, a member removed from its group, deleted):
 * fn(id, deposit) for at most limit of them (deposit 0: only a refusal
 * to forget). -1 from fn stops.
 */
int	pmail_done(struct pstore *, int limit,
	    int (*fn)(const char *id, int64_t deposit, void *), void *arg);
/*
 * A group's sent messages waiting in member user's mailbox (deposited,
 * still pending); -1 on error.
 */
long	pmail_group_deposited(struct pstore *, const char *group,
	    const char *user);
/* Messages of ours in recipients' mailboxes (deposited, still pending). */
long	pmail_deposited(struct pstore *);

#endif
