/*
 * Chats in the peer's store: one row per peer with the time of the last
 * activity and the count of unread received messages. Inside a
 * transaction the changes are summed in memory per peer and written
 * once per chat when the transaction commits (pstore_commit calls
 * pchat_flush), and forgotten if it rolls back: a group commit of a
 * thousand messages from one peer writes its chat row once, not two
 * thousand times.
 */
#ifndef P2P_PSTORE_CHAT_H
#define P2P_PSTORE_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pstore.h"

struct pchat;

/*
 * A group's chat is keyed "#" + the group's id (no username starts with
 * '#'); PCHAT_KEY_MAX bounds a key.
 */
#define PCHAT_KEY_MAX	40
void		 pchat_group_key(const char *group, char *out, size_t outlen);

struct pchat	*pchat_open(struct pstore *, char **cause);
void		 pchat_close(struct pchat *);

/*
 * Activity in peer's chat at when (unix ms; the chat's last activity is
 * the latest) with unread more unread messages. Kept until the commit
 * inside a transaction, written at once outside one.
 */
enum pstore_rc	 pchat_note(struct pchat *, const char *peer, int64_t when,
		    int unread);
/* Write what this transaction noted so far (before a read of chats). */
enum pstore_rc	 pchat_flush(struct pchat *);
/* The chat was read: unread 0 (after the deltas noted so far). */
enum pstore_rc	 pchat_mark_read(struct pchat *, const char *peer);
/*
 * Chats, most recent first: fn(peer, unread, last_activity ms, last body,
 * request: from someone this account neither wrote to nor trusted).
 */
enum pstore_rc	 pchat_list(struct pchat *,
		    int (*)(const char *, long, int64_t, const char *, bool,
		    void *), void *);

#endif
