/*
 * Groups in the peer's store (schema 9): each group's newest signed
 * membership list and its members, and the queue rows of group delivery:
 * a member's row for one group message (ref = the body's seq) and a
 * member's row for the group's newest list (ref -1). The list's meaning
 * and its signature are peer_group.c's; this file only stores them.
 */
#ifndef P2P_PSTORE_GROUP_H
#define P2P_PSTORE_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"
#include "pstore.h"

#define PGROUP_TITLE_MAX	200	/* bytes of UTF-8 */
#define PGROUP_REF_LIST		(-1)	/* messages.ref of a list delivery */
#define PGROUP_REF_LEAVE	(-2)	/* of our leaving, to the admin */

struct pgroup_store;

struct pgroup {
	char	 id[P2P_MSGID_HEX + 1];
	char	 title[PGROUP_TITLE_MAX + 1];
	char	 admin[P2P_USERNAME_MAX + 1];
	int64_t	 version;
	bool	 member;		/* this account is in the newest list */
	int64_t	 updated;		/* unix ms the list was applied */
	int	 nmembers;
};

struct pgroup_store *pgroup_open(struct pstore *, char **cause);
void	pgroup_close(struct pgroup_store *);

/* By id; list and sig malloc'd into *list, *sig when not NULL. */
enum pstore_rc pgroup_get(struct pgroup_store *, const char *id,
	    struct pgroup *, char **list, char **sig);
/*
 * GROUP as the user names it: an id, a unique prefix of one, or a title
 * only one group has. PSTORE_NOTFOUND (*n 0) or PSTORE_EXISTS (*n > 1:
 * ambiguous) otherwise.
 */
enum pstore_rc pgroup_find(struct pgroup_store *, const char *what,
	    struct pgroup *, int *n);
/* Another group we are in with this title: 1, 0, -1 on error. */
int	pgroup_title_taken(struct pgroup_store *, const char *title,
	    const char *except_id);
/* Every group, by title. */
enum pstore_rc pgroup_foreach(struct pgroup_store *,
	    int (*)(const struct pgroup *, void *), void *);
/* The members of a group, by name. */
enum pstore_rc pgroup_members(struct pgroup_store *, const char *id,
	    int (*)(const char *user, void *), void *);
/* 1 if user is in the group's newest list, 0 if not (or no group), -1. */
int	pgroup_is_member(struct pgroup_store *, const char *id, const char *user);

/*
 * Inside a transaction: store a group's list (insert or replace) and its
 * members (an array of names), member = self is in it.
 */
enum pstore_rc pgroup_put(struct pgroup_store *, const struct pgroup *,
	    const char *list, const char *sig, const char *const *members,
	    int nmembers, bool member);
/*
 * Inside a transaction: queue the group's newest list for user (row id
 * lid '/' user); *seq gets the row's seq.
 */
enum pstore_rc pgroup_queue_list(struct pgroup_store *, const char *id,
	    const char *user, const char *lid, int64_t ts, int64_t *seq);
/*
 * Inside a transaction: we leave the group (member 0, so nothing of it is
 * taken or sent any more) and queue a gleave (row lid '/' admin) for its
 * admin, who takes us off the list.
 */
enum pstore_rc pgroup_leave(struct pgroup_store *, const char *id,
	    const char *admin, const char *lid, int64_t ts);
/*
 * Inside a transaction: queue one group message (stored already as the
 * body row bseq, sent by us) for member user; *seq gets the row's seq.
 */
enum pstore_rc pgroup_queue_msg(struct pgroup_store *, const char *id,
	    const char *msgid, const char *user, int64_t bseq, int64_t ts,
	    int64_t expires, int64_t *seq);
/*
 * Inside a transaction: the group's message deliveries queued for anyone
 * not in its newest list (or for everyone when we are not in it) fail:
 * nothing sent after a removal reaches the removed. *n gets how many.
 */
enum pstore_rc pgroup_drop_removed(struct pgroup_store *, const char *id,
	    int *n);
/*
 * Delivery of a group message we sent: for each member's row, by member,
 * fn(member, the row's seq, state, reason).
 */
enum pstore_rc pgroup_deliveries(struct pgroup_store *, const char *msgid,
	    int (*)(const char *user, int64_t seq, const char *state,
	    const char *reason, void *), void *);
/* Count of group messages not yet delivered to user (pending, held). */
long	pgroup_undelivered(struct pgroup_store *, const char *id,
	    const char *user);

#endif
