/*
 * A WAL checkpointer thread for a SQLite store on the event loop (both
 * stores, the gestor's and the peer's): SQLite's automatic checkpoint,
 * or one run on the loop, held every request behind its writes and its
 * fsync of the database file (most of the p99 of lookups with 10 000
 * peers at the gestor; 12% and 22% of the sender's and the recipient's
 * CPU in make bench's throughput, with a ~1000-page fsync each time).
 * The loop's connection wakes the thread from its WAL hook after a
 * commit that left enough pages in the WAL; the thread runs a passive
 * checkpoint on its own connection, so the loop's commits go on
 * meanwhile. Signals stay on the loop's thread.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "log.h"
#include "sqlckpt.h"
#include "util.h"

struct sqlckpt {
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	bool		 due, stop, busy;
	int		 pages;		/* wake at this many not checkpointed */
	int		 done;		/* frames the last checkpoint backfilled */
	int		 last;		/* frames in the WAL at the last commit */
	sqlite3		*db;		/* the thread's own connection */
};

static void *
sqlckpt_main(void *arg)
{
	struct sqlckpt *ck = arg;
	int done;

	pthread_mutex_lock(&ck->lock);
	for (;;) {
		while (!ck->due && !ck->stop)
			pthread_cond_wait(&ck->cond, &ck->lock);
		if (ck->stop)
			break;
		ck->due = false;
		ck->busy = true;
		pthread_mutex_unlock(&ck->lock);
		if (sqlite3_wal_checkpoint_v2(ck->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, &done) != SQLITE_OK)
			done = 0;
		pthread_mutex_lock(&ck->lock);
		ck->busy = false;
		ck->done = done;
	}
	pthread_mutex_unlock(&ck->lock);
	return NULL;
}

/*
 * After every commit on the loop's connection: wake the checkpointer
 * when ck->pages frames wait for it. SQLite starts the WAL over only at
 * a transaction that finds every frame checkpointed, which a thread
 * working behind a busy loop seldom leaves it: the WAL grew through a
 * burst (44 MB for make bench's 20 000 messages), every commit's fsync
 * then grew the file, and the thread ran after every commit. So once
 * the WAL holds 4 wakes' worth, the loop checkpoints what the idle
 * thread left behind (what was committed during its last run) itself,
 * and the next transaction starts the WAL over.
 */
static int
sqlckpt_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sqlckpt *ck = arg;
	bool inline_ckpt = false;
	int left;

	pthread_mutex_lock(&ck->lock);
	if (pages < ck->last)
		ck->done = 0;		/* the WAL started over */
	ck->last = pages;
	left = pages >= ck->done ? pages - ck->done : pages;
	if (!ck->busy && !ck->due && pages >= 4 * ck->pages)
		inline_ckpt = true;
	else if (!ck->busy && left >= ck->pages) {
		ck->due = true;
		pthread_cond_signal(&ck->cond);
	}
	pthread_mutex_unlock(&ck->lock);
	if (inline_ckpt && sqlite3_wal_checkpoint_v2(db, name,
	    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK) {
		pthread_mutex_lock(&ck->lock);
		ck->done = 0;
		pthread_mutex_unlock(&ck->lock);
	}
	return SQLITE_OK;
}

struct sqlckpt *
sqlckpt_start(sqlite3 *db, const char *path, bool sync_full, int pages)
{
	struct sqlckpt *ck = xcalloc(1, sizeof(*ck));
	sigset_t all, old;
	bool running;

	ck->pages = pages;
	if (sqlite3_open_v2(path, &ck->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("%s: %s: checkpoints stay inline", __func__, path);
		sqlite3_close(ck->db);
		free(ck);
		return NULL;
	}
	sqlite3_busy_timeout(ck->db, 5000);
	sqlite3_exec(ck->db, sync_full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	pthread_mutex_init(&ck->lock, NULL);
	pthread_cond_init(&ck->cond, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* signals stay on the loop */
	running = pthread_create(&ck->thread, NULL, sqlckpt_main, ck) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!running) {
		log_warnx("%s: no thread: checkpoints stay inline", __func__);
		pthread_mutex_destroy(&ck->lock);
		pthread_cond_destroy(&ck->cond);
		sqlite3_close(ck->db);
		free(ck);
		return NULL;
	}
	sqlite3_wal_hook(db, sqlckpt_wal_hook, ck);	/* replaces any other */
	return ck;
}

void
sqlckpt_stop(struct sqlckpt *ck)
{
	if (ck == NULL)
		return;
	pthread_mutex_lock(&ck->lock);
	ck->stop = true;
	pthread_cond_signal(&ck->cond);
	pthread_mutex_unlock(&ck->lock);
	pthread_join(ck->thread, NULL);
	pthread_mutex_destroy(&ck->lock);
	pthread_cond_destroy(&ck->cond);
	sqlite3_close(ck->db);
	free(ck);
}
