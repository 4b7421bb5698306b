/*
 * Group membership lists (peer_group.c): what a list says, how the admin
 * signs one, and how a member checks and applies one it receives. Below
 * the queue (peer_queue.c applies lists inside its group commit) and the
 * group commands (peer_ctl_group.c); calls only the store and identity.
 *
 * A list is the JSON text the admin signed, whose members are, in this
 * order: group (id), title, admin, key (the admin's public key, hex of
 * its DER SubjectPublicKeyInfo), version (1, 2, ...), members (sorted
 * names, the admin's among them). Its signature is the admin's Ed25519
 * signature of exactly those bytes, as hex. A member applies a list only
 * if the key's fingerprint is the admin's key as its store holds it
 * (pinned, or as the gestor published it), the signature verifies, the
 * admin is the group's admin so far, and the version is newer.
 */
#ifndef P2P_PEER_GROUP_H
#define P2P_PEER_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "identity.h"
#include "peer_msg.h"

/*
 * Members of a group, the admin included, that a list may name; the
 * groups we admin are held to limits.group_members (256).
 */
#define PG_MEMBERS_MAX	1024

struct glist {
	char	 id[P2P_MSGID_HEX + 1];
	char	 title[PGROUP_TITLE_MAX + 1];
	char	 admin[P2P_USERNAME_MAX + 1];
	char	 key[IDENTITY_KEY_HEX_MAX + 1];
	int64_t	 version;
	int	 n;
	char	 members[PG_MEMBERS_MAX][P2P_USERNAME_MAX + 1];	/* sorted */
};

/*
 * GROUP as the user named it (an id, a unique prefix, a title): 0 with g
 * filled, or -1 after replying to r with no_such_group, ambiguous_group
 * or internal.
 */
int	 pg_find_group(struct peer_msgs *, struct ctlreq *r, const char *what,
	    struct pgroup *g);
/*
 * Inside the caller's transaction: from asks to leave group id, of which
 * we are the admin: a new list without from is committed (1); -1 (why)
 * if it is not our group or from is not in it; -2 on a store error.
 */
int	 pg_leave_receive(struct peer_msgs *, const char *from, const char *id,
	    char *why, size_t whylen);
/*
 * After the transaction that stored lists: stream their "group" events to
 * watch if it committed (else forget them).
 */
void	 pg_events_flush(struct peer_msgs *, bool committed);
/*
 * A fresh random id (32 hex digits): a message's, a file's, a group's
 * or a list delivery's.
 */
void	 pg_new_id(char *out);
/* A title: 1 to PGROUP_TITLE_MAX bytes of UTF-8, no control characters. */
bool	 pg_valid_title(const char *);
/* Add user to l (sorted, once): 0, or -1 past PG_MEMBERS_MAX. */
int	 pg_list_add(struct glist *, const char *user);
/* Remove user from l: 1 if it was there, else 0. */
int	 pg_list_remove(struct glist *, const char *user);
bool	 pg_list_has(const struct glist *, const char *user);
/* A stored group's list back into l (from its signed text). */
int	 pg_list_load(struct peer_msgs *, const char *id, struct glist *);
/*
 * Inside the caller's transaction: sign l with our key (l->key is set to
 * it) and store it as
 * the group's newest list, queueing it for every name in l and in
 * notify (members that were removed), and failing the group's messages
 * queued for anyone no longer in it. -1 on error.
 */
int	 pg_list_commit(struct peer_msgs *, struct glist *,
	    const struct glist *notify);
/*
 * Inside the caller's transaction: a gmembers frame from user from. 1:
 * applied (*changed the group's id), 0: not newer (nothing to do), -1:
 * refused (why says why; logged by the caller), -2: a store error, -3:
 * held (the admin is a verified contact whose key changed: not applied
 * nor acknowledged until `trust`, so the admin sends it again).
 */
int	 pg_list_receive(struct peer_msgs *, const char *from,
	    const char *list, size_t len, const char *sig, char *changed,
	    char *why, size_t whylen);

#endif
