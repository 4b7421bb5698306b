/*
 * The gestor's SQLite store: its WAL checkpointer thread (see
 * gstore_sqlite.h). The loop's connection wakes it from its WAL hook
 * after a commit that left GSTORE_WAL_PAGES or more in the WAL; it runs a
 * passive checkpoint on its own connection, so the loop never waits for
 * the checkpoint's writes and fsyncs. Signals stay on the loop's thread.
 */
#include <pthread.h>
#include <signal.h>

#include "gstore_sqlite.h"
#include "log.h"

#define GSTORE_WAL_PAGES	1000

static void *
gstore_ckpt_main(void *arg)
{
	struct gckpt *ck = arg;

	pthread_mutex_lock(&ck->lock);
	for (;;) {
		while (!ck->due && !ck->stop)
			pthread_cond_wait(&ck->cond, &ck->lock);
		if (ck->stop)
			break;
		ck->due = false;
		pthread_mutex_unlock(&ck->lock);
		sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
		pthread_mutex_lock(&ck->lock);
	}
	pthread_mutex_unlock(&ck->lock);
	return NULL;
}

/* After every commit on the loop's connection: wake the checkpointer. */
static int
gstore_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct gckpt *ck = arg;

	if (pages >= GSTORE_WAL_PAGES) {
		pthread_mutex_lock(&ck->lock);
		ck->due = true;
		pthread_cond_signal(&ck->cond);
		pthread_mutex_unlock(&ck->lock);
	}
	return SQLITE_OK;
}

void
gstore_ckpt_start(struct gckpt *ck, sqlite3 *db, const char *path,
    bool sync_full)
{
	sigset_t all, old;

	pthread_mutex_init(&ck->lock, NULL);
	pthread_cond_init(&ck->cond, NULL);
	if (sqlite3_open_v2(path, &ck->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("%s: %s: checkpoints stay inline", __func__, path);
		sqlite3_close(ck->db);
		ck->db = NULL;
		return;
	}
	sqlite3_busy_timeout(ck->db, 5000);
	sqlite3_exec(ck->db, sync_full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);	/* signals stay on the loop */
	ck->running = pthread_create(&ck->thread, NULL, gstore_ckpt_main,
	    ck) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ck->running) {
		log_warnx("%s: no thread: checkpoints stay inline", __func__);
		sqlite3_close(ck->db);
		ck->db = NULL;
		return;
	}
	sqlite3_wal_hook(db, gstore_wal_hook, ck);	/* replaces the automatic one */
}

void
gstore_ckpt_stop(struct gckpt *ck)
{
	if (ck->running) {
		pthread_mutex_lock(&ck->lock);
		ck->stop = true;
		pthread_cond_signal(&ck->cond);
		pthread_mutex_unlock(&ck->lock);
		pthread_join(ck->thread, NULL);
		ck->running = false;
	}
	if (ck->db != NULL)
		sqlite3_close(ck->db);
	ck->db = NULL;
}
