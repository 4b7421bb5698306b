/*
 * The peer store's archive queries: full-text search (SQLite FTS5 over
 * message bodies, kept in step by triggers), export of messages as
 * records, and import of records with their ids kept.
 */
#ifndef P2P_PSTORE_ARCHIVE_H
#define P2P_PSTORE_ARCHIVE_H

#include <stddef.h>

#include "pstore_msg.h"

struct parch;

struct parch	*parch_open(struct pstore *, char **cause);
void		 parch_close(struct parch *);

/*
 * Messages matching an FTS5 query, newest first, optionally with one
 * peer (groups' messages too). PSTORE_ERR with err filled for a query
 * syntax error.
 */
enum pstore_rc	 parch_search(struct parch *, const char *query,
		    const char *peer, int limit, pmsg_fn, void *,
		    char *err, size_t errlen);
/* The same among one group's messages only, when group is not NULL. */
enum pstore_rc	 parch_search_group(struct parch *, const char *query,
		    const char *peer, const char *group, int limit, pmsg_fn,
		    void *, char *err, size_t errlen);
/*
 * Plain text as an FTS5 query that matches its words literally: each
 * whitespace-separated word becomes one quoted string (so ?, :, ', *,
 * AND, NOT... are never syntax), all of them required. Free the result.
 */
char		*parch_fts_literal(const char *text);
/* Every message (with peer, or all when NULL) in store order. */
enum pstore_rc	 parch_export(struct parch *, const char *peer, pmsg_fn, void *);
/*
 * Inside a transaction: store one record unless its id exists
 * (PSTORE_EXISTS). Outgoing messages in state pending or held are
 * queued for delivery: the caller decides which may keep that state.
 */
enum pstore_rc	 parch_import(struct parch *, const struct pmsg *);
/* The pending and held messages to peer, in order. */
enum pstore_rc	 parch_queued(struct parch *, const char *peer, pmsg_fn, void *);
/*
 * Inside a transaction: delete every message with peer, in and out, the
 * events about them, its chat and its retry state (contacts, keys and
 * acceptance stay), overwriting the deleted rows (secure_delete).
 * *deleted gets the number of messages.
 */
enum pstore_rc	 parch_delete_chat(struct parch *, const char *peer,
		    int *deleted);

#endif
