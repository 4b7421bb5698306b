/*
 * The peer's store, data_dir/peer.db (SQLite, WAL): the one place that
 * holds SQL for the account, settings, contacts, chats and messages.
 * Statements are prepared once per store; schema changes are numbered
 * migrations under PRAGMA user_version.
 */
#ifndef P2P_PSTORE_H
#define P2P_PSTORE_H

/*
 * The predicates of the partial indexes messages_queue (the outgoing
 * queue) and messages_ended (schema 7): a query that repeats one word
 * for word can use its index. Written as ORs, not IN: see migration 6
 * in pstore_schema.c.
 */
#define PSTORE_QUEUED "(state = 'pending' OR state = 'held')"
#define PSTORE_ENDED "(state = 'failed' OR state = 'cancelled' OR" \
	" state = 'expired')"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct pstore;

enum pstore_rc { PSTORE_OK = 0, PSTORE_NOTFOUND = 1, PSTORE_EXISTS = 2,
    PSTORE_CONFLICT = 3, PSTORE_ERR = -1 };

struct pcontact {
	char	 name[P2P_USERNAME_MAX + 1];
	char	 fingerprint[P2P_FP_LEN + 1];	/* pinned key, "" if unknown */
	bool	 verified;			/* the user ran `trust` */
	char	 addr[64];			/* last known address, "" if none */
	int	 port;
	int64_t	 last_seen;			/* unix seconds, 0 = never */
	char	 prev_fingerprint[P2P_FP_LEN + 1];	/* before a key change, "" */
};

/* Open (creating 0600, migrating) path; NULL with *cause (caller frees). */
struct pstore	*pstore_open(const char *path, bool sync_full, char **cause);
void		 pstore_close(struct pstore *);

/* Small key/value settings: account.user, gestor.fingerprint, ... */
enum pstore_rc	 pstore_setting_get(struct pstore *, const char *key,
		    char *out, size_t outlen);
/* value NULL deletes the key. */
enum pstore_rc	 pstore_setting_set(struct pstore *, const char *key,
		    const char *value);

enum pstore_rc	 pstore_contact_get(struct pstore *, const char *name,
		    struct pcontact *);
/* Insert or replace the whole row. */
enum pstore_rc	 pstore_contact_put(struct pstore *, const struct pcontact *);
/* Calls fn for every contact in name order; stops if fn returns -1. */
enum pstore_rc	 pstore_contact_foreach(struct pstore *,
		    int (*fn)(const struct pcontact *, void *), void *arg);

/*
 * Explicit transactions, for callers that batch several writes. Write
 * messages only inside one: pstore_commit indexes them for search.
 */
enum pstore_rc	 pstore_begin(struct pstore *);
enum pstore_rc	 pstore_commit(struct pstore *);
void		 pstore_rollback(struct pstore *);
/*
 * Full-text indexing off the commit (the peer): with on, pstore_commit
 * leaves the rows it stored noted in fts_pending (in the same
 * transaction, so a kill -9 loses no note) and pstore_fts_flush indexes
 * them: the oldest max (0: all) in a transaction of its own, or inside
 * the open one. Returns 1 if noted rows remain, 0 if none, -1 on error.
 * Whatever reads messages_fts flushes first.
 */
void		 pstore_fts_defer(struct pstore *, bool on);
int		 pstore_fts_flush(struct pstore *, int max);
/*
 * For pstore_chat.c: flush runs in pstore_commit before the COMMIT (an
 * error fails the commit), drop in pstore_rollback. NULLs remove them.
 */
void		 pstore_set_hooks(struct pstore *, enum pstore_rc (*flush)(void *),
		    void (*drop)(void *), void *arg);
/*
 * WAL checkpoints are the caller's, so that no commit waits for one:
 * when due (the WAL passed 1000 pages), checkpoint once the replies of
 * that commit are out.
 */
bool		 pstore_checkpoint_due(const struct pstore *);
void		 pstore_checkpoint(struct pstore *);
/* The numbered migrations, *n of them (pstore_schema.c). */
const char *const *pstore_schema(int *n);
/* The same, for the tests that build stores of older versions. */
const char *const *pstore_migrations_for_test(int *n);
/*
 * A write failed (disk full, I/O error): remember since when and why,
 * until a commit succeeds again; `status` shows it.
 */
void		 pstore_note_error(struct pstore *);
int64_t		 pstore_failing_since(const struct pstore *);	/* unix ms, 0 */
const char	*pstore_last_error(const struct pstore *);
/* The underlying database handle, for pstore_msg.c only. */
struct sqlite3	*pstore_db(struct pstore *);

#endif
