/*
 * Between gstore_sqlite.c and gstore_sqlite_ckpt.c: WAL checkpoints off
 * the event loop. SQLite's automatic one ran inside the commit that
 * crossed 1000 pages and held every request behind its writes and fsyncs
 * (most of the p99 of lookups with 10 000 peers). A thread with its own
 * connection checkpoints when the WAL has grown; the loop's commits go on
 * meanwhile. Nothing else includes this.
 */
#ifndef P2P_GSTORE_SQLITE_H
#define P2P_GSTORE_SQLITE_H

#include <pthread.h>
#include <stdbool.h>

#include <sqlite3.h>

struct gckpt {
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	bool		 due, stop, running;
	sqlite3		*db;		/* the thread's own connection */
};

/*
 * Start the checkpointer of db (the loop's connection to path); without
 * it (logged) SQLite keeps checkpointing inline.
 */
void	gstore_ckpt_start(struct gckpt *, sqlite3 *db, const char *path,
	    bool sync_full);
/* Stop and join it; close its connection. */
void	gstore_ckpt_stop(struct gckpt *);

#endif
