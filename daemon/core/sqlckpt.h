/*
 * WAL checkpoints off the event loop, for either SQLite store: a thread
 * with its own connection (sqlckpt.c).
 */
#ifndef P2P_SQLCKPT_H
#define P2P_SQLCKPT_H

#include <stdbool.h>

#include <sqlite3.h>

struct sqlckpt;

/*
 * Checkpoint db (the loop's connection to path) on a thread whenever a
 * commit leaves pages or more in its WAL; it takes db's WAL hook (and
 * with it SQLite's automatic checkpoint). NULL (logged) if it cannot
 * start: the caller keeps checkpointing as it did.
 */
struct sqlckpt *sqlckpt_start(sqlite3 *db, const char *path, bool sync_full,
	    int pages);
/* Stop and join the thread, close its connection; NULL is fine. */
void	 sqlckpt_stop(struct sqlckpt *);

#endif
