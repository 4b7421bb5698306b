/*
 * File transfers, the recipient's side (peer_ftx.c has the protocol and
 * the sender's): an offer makes a row and a partial file, or waits for
 * the user's accept (files.accept_size); chunks are written at their
 * offset, hashed as they come and acknowledged every FRX_ACK; every
 * FRX_COMMIT bytes the file is synced on a thread and what the sync
 * covered is committed (at most every FRX_COMMIT_GAP s); a full disk
 * pauses the file until there is room; at the end the SHA-256 is checked
 * before the file is shown (read again on a thread only after a resume).
 */
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>
#undef W_OK		/* access(2)'s; wire.h has a frame type of that name */

#include <sodium.h>

#include "filecopy.h"
#include "log.h"
#include "peer_ftx_int.h"
#include "pstore_file.h"
#include "util.h"

static void	frx_pause(struct peer_msgs *, struct frx *, int);
static void	frx_sync(struct peer_msgs *, struct frx *);
static void	frx_rewind(struct frx *);

void
pm_frx_free(struct pm_ftx *x, struct frx *fr)
{
	TAILQ_REMOVE(&x->rxs, fr, entry);
	filecopy_cancel(fr->verify);
	filecopy_cancel(fr->sync);
	filecopy_hash_free(fr->hash);
	if (fr->fd != -1)
		close(fr->fd);
	free(fr);
}

void
pm_frx_pos(struct conn *c, const char *id, const char *state, int64_t off,
    const char *reason)
{
	json_t *o;

	if (c == NULL)
		return;
	o = json_pack("{s:s,s:s,s:s,s:I}", "t", "file-pos", "id", id, "state",
	    state, "off", (json_int_t)off);
	if (reason != NULL)
		json_object_set_new(o, "reason", json_string(reason));
	conn_send(c, o);
	json_decref(o);
}

void
pm_frx_partial(const struct pm_ftx *x, const char *id, char *path, size_t len)
{
	/* id is 32 hex digits (wire.c): never a path of the sender's. */
	snprintf(path, len, "%s/.in-%s", x->dir, id);
}

/* End a receipt that failed: state, reason, partial file removed. */
static void
frx_fail(struct peer_msgs *pm, struct frx *fr, const char *why)
{
	char path[4200];

	log_warnx("file %s from %s: %s", fr->f.id, fr->f.peer, why);
	pfile_set_state(pm->files, fr->f.id, "failed", why);
	pm_frx_partial(pm->ftx, fr->f.id, path, sizeof(path));
	unlink(path);
	pm_frx_pos(fr->c, fr->f.id, "failed", 0, why);
	pm_frx_free(pm->ftx, fr);
}

static void
on_verified(const char *code, const char *why, const char *sha256,
    int64_t size, void *arg)
{
	struct frx *fr = arg;
	struct peer_msgs *pm = fr->pm;
	json_t *data;

	fr->verify = NULL;
	(void)sha256;
	(void)size;
	if (code != NULL) {
		if (strcmp(code, ERR_BAD_FRAME) == 0)
			frx_fail(pm, fr, why);	/* not what was offered */
		else {
			log_warnx("file %s from %s: %s", fr->f.id, fr->f.peer, why);
			pm_frx_free(pm->ftx, fr);	/* checked again at the next offer */
		}
		return;
	}
	if (pfile_set_state(pm->files, fr->f.id, "received", NULL) != PSTORE_OK) {
		pm_frx_free(pm->ftx, fr);
		return;
	}
	log_info("file %s from %s: received, %lld bytes, sha256 checked",
	    fr->f.id, fr->f.peer, (long long)fr->f.size);
	data = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:I}", "from", fr->f.peer,
	    "id", fr->f.id, "name", fr->f.name, "size", (json_int_t)fr->f.size,
	    "sha256", fr->f.sha256, "state", "received", "ts",
	    (json_int_t)fr->f.ts);
	peer_msgs_event(pm->p, "file", data);
	json_decref(data);
	pm_frx_pos(fr->c, fr->f.id, "received", fr->f.size, NULL);
	pm_frx_free(pm->ftx, fr);
}

/* All bytes are there: check them off the loop. */
static void
frx_verify(struct peer_msgs *pm, struct frx *fr)
{
	char path[4200];
	const char *why;

	if (fr->fd != -1) {
		close(fr->fd);
		fr->fd = -1;
	}
	pm_frx_partial(pm->ftx, fr->f.id, path, sizeof(path));
	/* Hashed as written: not read again (else the thread finds out). */
	if ((fr->verify = filecopy_verify(pm->ftx->verifier, path, fr->f.sha256,
	    fr->hash != NULL && filecopy_hash_is(fr->hash, fr->f.sha256),
	    on_verified, fr, &why)) == NULL) {
		log_warnx("file %s from %s: cannot check it now: %s", fr->f.id,
		    fr->f.peer, why);
		pm_frx_free(pm->ftx, fr);	/* the next offer tries again */
	}
}

struct frx *
pm_frx_find(struct pm_ftx *x, const char *id)
{
	struct frx *fr;

	TAILQ_FOREACH(fr, &x->rxs, entry)
		if (strcmp(fr->f.id, id) == 0)
			return fr;
	return NULL;
}

void
pm_frx_offer(struct peer_msgs *pm, struct conn *c, const char *from,
    const struct w_file *wf)
{
	struct pm_ftx *x = pm->ftx;
	struct pfile f;
	struct frx *fr;
	enum pstore_rc rc;

	/*
	 * Files only from contacts (written to or trusted): a stranger's
	 * messages are limited requests (limits.stranger_*), and a file
	 * would take far more of the disk than they may.
	 */
	if (preq_accepted(pm->requests, from) != 1) {
		pm_frx_pos(c, wf->id, "rejected", 0, "files are taken only from "
		    "contacts (written to or trusted); write to the recipient "
		    "first, or ask it to write to you");
		return;
	}
	if (wf->size > pm->p->d->cfg->files_max_size) {
		pm_frx_pos(c, wf->id, "rejected", 0, "larger than the recipient's "
		    "files.max_size");
		return;
	}
	if ((fr = pm_frx_find(x, wf->id)) != NULL) {
		if (fr->verify != NULL) {
			fr->c = c;	/* answered when the check is done */
			return;
		}
		pm_frx_free(x, fr);	/* offered again on a new connection */
	}
	if ((rc = pfile_get(pm->files, wf->id, &f)) == PSTORE_ERR)
		return;
	if (rc == PSTORE_NOTFOUND && (rc = pfile_deleted(pm->files, wf->id,
	    from, f.state, sizeof(f.state))) != PSTORE_NOTFOUND) {
		/* Deleted with its chat: its end again, never the file. */
		if (rc == PSTORE_OK)
			pm_frx_pos(c, wf->id, strcmp(f.state, "received") == 0 ||
			    strcmp(f.state, "rejected") == 0 || strcmp(f.state,
			    "failed") == 0 ? f.state : "cancelled", 0, "deleted by "
			    "the recipient");
		return;
	}
	if (rc == PSTORE_NOTFOUND) {
		memset(&f, 0, sizeof(f));
		snprintf(f.id, sizeof(f.id), "%s", wf->id);
		snprintf(f.peer, sizeof(f.peer), "%s", from);
		f.outgoing = false;
		memcpy(f.name, wf->name, wf->name_len);
		f.name[wf->name_len] = '\0';
		f.size = wf->size;
		snprintf(f.sha256, sizeof(f.sha256), "%s", wf->sha256);
		snprintf(f.state, sizeof(f.state), "%s", wf->size >
		    pm->p->d->cfg->files_accept_size ? "waiting" : "receiving");
		f.ts = wf->ts;
		if (pfile_add(pm->files, &f) != PSTORE_OK) {
			pm_frx_pos(c, wf->id, "failed", 0, "cannot store it");
			return;
		}
	} else if (f.outgoing || strcmp(f.peer, from) != 0 ||
	    f.size != wf->size || strcmp(f.sha256, wf->sha256) != 0) {
		pm_frx_pos(c, wf->id, "failed", 0, "this id is another file's");
		return;
	} else if (strcmp(f.state, "receiving") != 0 &&
	    strcmp(f.state, "waiting") != 0 && strcmp(f.state, "paused") != 0) {
		pm_frx_pos(c, f.id, f.state, f.committed, *f.reason ? f.reason : NULL);
		return;
	}
	fr = xcalloc(1, sizeof(*fr));
	fr->pm = pm;
	fr->c = c;
	fr->f = f;
	fr->fd = -1;
	fr->next = fr->acked = fr->synced = f.committed;
	TAILQ_INSERT_TAIL(&x->rxs, fr, entry);
	if (strcmp(f.state, "waiting") == 0) {
		fr->waiting = true;	/* until accept ID: frx_open */
		pm_frx_pos(c, f.id, "waiting", 0, NULL);
		return;
	}
	pm_frx_open(pm, fr);
}

/*
 * Committed bytes, no partial file: killed after a check that passed (the
 * bytes are in the store) before the state was written: received; else
 * from 0 (a partial file made anew reads as zeros). True if fr is done.
 */
static bool
frx_lost(struct peer_msgs *pm, struct frx *fr, const char *path)
{
	char final[4200];
	struct stat st;

	if (fr->f.committed == 0 || access(path, F_OK) == 0 || errno != ENOENT)
		return false;
	snprintf(final, sizeof(final), "%s/%s", pm->ftx->dir, fr->f.sha256);
	if (fr->f.committed == fr->f.size && stat(final, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size == fr->f.size) {
		on_verified(NULL, "", fr->f.sha256, fr->f.size, fr);
		return true;
	}
	log_warnx("file %s from %s: its partial file is gone; from 0 again",
	    fr->f.id, fr->f.peer);
	pfile_set_committed(pm->files, fr->f.id, 0);
	fr->f.committed = fr->next = fr->acked = fr->synced = 0;
	return false;
}

/* Open the partial file and say where to go on from. */
void
pm_frx_open(struct peer_msgs *pm, struct frx *fr)
{
	struct pm_ftx *x = pm->ftx;
	struct conn *c = fr->c;
	struct pfile f;
	char path[4200];

	pm_frx_partial(x, fr->f.id, path, sizeof(path));
	if (frx_lost(pm, fr, path))
		return;
	f = fr->f;
	fr->waiting = false;
	if (strcmp(f.state, "receiving") != 0) {	/* paused before */
		pfile_set_state(pm->files, f.id, "receiving", NULL);
		snprintf(fr->f.state, sizeof(fr->f.state), "receiving");
	}
	if ((fr->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    ftruncate(fr->fd, (off_t)f.committed) == -1) {
		log_warn("file %s from %s: %s", f.id, f.peer, path);
		pm_frx_pos(c, f.id, "failed", 0, "cannot write it");
		pm_frx_free(x, fr);
		return;
	}
	if (f.committed == 0)	/* from the first byte: hashed as it comes */
		fr->hash = filecopy_hash_new();
	pm_frx_pos(c, f.id, "receiving", f.committed, NULL);
	if (f.committed == f.size)
		frx_verify(pm, fr);
}

/*
 * A write or a commit failed (the disk is full, most likely): drop what
 * was not committed (giving its space back), say so to the sender, which
 * stops, and check the free space every FRX_RECHECK s (pm_frx_recheck).
 * Nothing committed is lost; nothing is shown.
 */
static void
frx_pause(struct peer_msgs *pm, struct frx *fr, int err)
{
	struct timeval tv = { FRX_RECHECK, 0 };
	char why[200];

	snprintf(why, sizeof(why), "%s: waiting for free space in the "
	    "recipient's data_dir", strerror(err));
	log_warnx("file %s from %s: paused at %lld of %lld bytes: %s",
	    fr->f.id, fr->f.peer, (long long)fr->f.committed,
	    (long long)fr->f.size, why);
	frx_rewind(fr);
	if (ftruncate(fr->fd, (off_t)fr->f.committed) == -1)
		log_warn("file %s: ftruncate", fr->f.id);
	fr->next = fr->acked = fr->synced = fr->f.committed;
	fr->paused = true;
	pfile_set_state(pm->files, fr->f.id, "paused", why);
	pm_frx_pos(fr->c, fr->f.id, "paused", fr->f.committed, why);
	if (!evtimer_pending(pm->ftx->recheck, NULL))
		evtimer_add(pm->ftx->recheck, &tv);
}

/* Paused files: resume those that have room again. */
void
pm_frx_recheck(evutil_socket_t fd, short what, void *arg)
{
	struct peer_msgs *pm = arg;
	struct timeval tv = { FRX_RECHECK, 0 };
	struct statvfs sv;
	struct frx *fr;
	int64_t need, avail;
	bool again = false;

	(void)fd;
	(void)what;
	if (statvfs(pm->ftx->dir, &sv) == -1) {
		log_warn("statvfs %s", pm->ftx->dir);
		evtimer_add(pm->ftx->recheck, &tv);
		return;
	}
	avail = (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
	TAILQ_FOREACH(fr, &pm->ftx->rxs, entry) {
		if (!fr->paused || fr->c == NULL)
			continue;
		need = fr->f.size - fr->f.committed;
		if (need > FRX_COMMIT + WIRE_CHUNK)
			need = FRX_COMMIT + WIRE_CHUNK;
		if (avail < need + FRX_MARGIN) {
			again = true;
			continue;
		}
		avail -= need;
		fr->paused = false;
		log_info("file %s from %s: room again; resuming at %lld",
		    fr->f.id, fr->f.peer, (long long)fr->f.committed);
		pfile_set_state(pm->files, fr->f.id, "receiving", NULL);
		pm_frx_pos(fr->c, fr->f.id, "receiving", fr->f.committed, NULL);
	}
	if (again)
		evtimer_add(pm->ftx->recheck, &tv);
}

/* Commit off (synced already): a resume starts there. 0 or -1 (errno). */
static int
frx_commit(struct peer_msgs *pm, struct frx *fr, int64_t off)
{
	errno = 0;
	if (pfile_set_committed(pm->files, fr->f.id, off) != PSTORE_OK)
		return -1;
	fr->f.committed = off;
	fr->committed_at = util_mono();
	return 0;
}

/*
 * file-progress, at most every FRX_PROGRESS s, as each sync starts (every
 * FRX_COMMIT bytes received) before the last: from the bytes received,
 * not from the commits, which a fast transfer can leave all to its end.
 */
static void
frx_progress(struct peer_msgs *pm, struct frx *fr)
{
	json_t *ev;

	if (fr->next >= fr->f.size ||
	    util_mono() - fr->progress_at < FRX_PROGRESS)
		return;
	fr->progress_at = util_mono();
	ev = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "event", "file-progress",
	    "from", fr->f.peer, "id", fr->f.id, "name", fr->f.name, "size",
	    (json_int_t)fr->f.size, "received", (json_int_t)fr->next);
	peer_event(pm->p, ev);
	json_decref(ev);
}

/*
 * Back to what is committed (frx_pause, a chunk out of place): the sync
 * in flight is dropped, and the hash unless it starts again from zero.
 */
static void
frx_rewind(struct frx *fr)
{
	filecopy_cancel(fr->sync);
	fr->sync = NULL;
	filecopy_hash_free(fr->hash);
	fr->hash = fr->f.committed == 0 ? filecopy_hash_new() : NULL;
}

/*
 * A sync is done: commit what it covers (at most every FRX_COMMIT_GAP s,
 * each commit being one of the store's: the last always), then the check
 * once all is committed, or the next sync.
 */
static void
frx_synced(const char *code, const char *why, const char *sha256,
    int64_t size, void *arg)
{
	struct frx *fr = arg;
	struct peer_msgs *pm = fr->pm;

	(void)sha256;
	(void)size;
	fr->sync = NULL;
	if (code != NULL) {
		log_warnx("file %s from %s: %s", fr->f.id, fr->f.peer, why);
		frx_pause(pm, fr, strcmp(code, ERR_NO_SPACE) == 0 ? ENOSPC : EIO);
		return;
	}
	fr->synced = fr->syncing;
	if ((fr->synced == fr->f.size ||
	    util_mono() - fr->committed_at >= FRX_COMMIT_GAP) &&
	    frx_commit(pm, fr, fr->synced) == -1) {
		frx_pause(pm, fr, errno != 0 ? errno : EIO);
		return;
	}
	if (fr->f.committed == fr->f.size)
		frx_verify(pm, fr);
	else if (fr->next - fr->synced >= FRX_COMMIT || fr->next == fr->f.size)
		frx_sync(pm, fr);
}

/*
 * Where a sync reserves the file's blocks up to (filecopy_sync): ahead of
 * what came by as much again, FRX_RESERVE to 8 * FRX_RESERVE, never past
 * its size. Writeback still finds a fast transfer's blocks allocated, and
 * a file that stops coming (or is larger than the free space) holds
 * little more of the disk than its bytes: reserved whole at its first
 * sync, 4 MiB of a contact's offer held all the size offered.
 */
static int64_t
frx_reserve(const struct frx *fr)
{
	int64_t ahead = fr->next < FRX_RESERVE ? FRX_RESERVE :
	    fr->next > 8 * FRX_RESERVE ? 8 * FRX_RESERVE : fr->next;

	return fr->f.size - fr->next > ahead ? fr->next + ahead : fr->f.size;
}

/*
 * Sync what is written, up to next, on a thread (an fdatasync on the
 * loop stalled every frame behind it, chat lines too); frx_synced goes
 * on. With no thread to spare, the last bytes are synced here (nothing
 * else would): others wait for the next chunk.
 */
static void
frx_sync(struct peer_msgs *pm, struct frx *fr)
{
	const char *why;

	if (fr->sync != NULL)
		return;		/* frx_synced starts the next */
	frx_progress(pm, fr);
	fr->syncing = fr->next;
	fr->sync = filecopy_sync(pm->ftx->verifier, fr->fd, frx_reserve(fr),
	    fr->synced, fr->syncing, frx_synced, fr, &why);
	if (fr->sync != NULL || fr->next < fr->f.size)
		return;
	log_info("file %s from %s: syncing on the loop: %s", fr->f.id,
	    fr->f.peer, why);
	errno = 0;
	if (fdatasync(fr->fd) == -1)
		frx_pause(pm, fr, errno);
	else
		frx_synced(NULL, "", "", 0, fr);
}

void
pm_frx_chunk(struct peer_msgs *pm, struct conn *c, const char *from,
    const struct w_chunk *ch)
{
	static unsigned char buf[WIRE_CHUNK];
	struct frx *fr = pm_frx_find(pm->ftx, ch->id);
	const unsigned char *data = buf;
	ssize_t r;
	size_t n;
	bool last;

	if (fr != NULL && fr->c == c && fr->paused)
		return;		/* sent before our word reached the sender */
	if (fr == NULL || fr->c != c || strcmp(fr->f.peer, from) != 0 ||
	    fr->verify != NULL || fr->fd == -1) {
		conn_send_error(c, ERR_BAD_FRAME, "a chunk of no file being "
		    "received on this connection");
		return;
	}
	if (ch->off != fr->next) {
		/* Out of place: go back to what is committed, and say so. */
		frx_rewind(fr);
		if (fr->next != fr->f.committed &&
		    ftruncate(fr->fd, (off_t)fr->f.committed) == -1)
			log_warn("file %s: ftruncate", fr->f.id);
		fr->next = fr->acked = fr->synced = fr->f.committed;
		pm_frx_pos(c, fr->f.id, "receiving", fr->f.committed, NULL);
		return;
	}
	if (ch->raw) {		/* binary: 1 to WIRE_CHUNK bytes (wire_bin.c) */
		data = (const unsigned char *)ch->data;
		n = ch->data_len;
	} else if (sodium_base642bin(buf, sizeof(buf), ch->data, ch->data_len,
	    NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || n == 0) {
		frx_fail(pm, fr, "a chunk that is not base64 of at most 96 KiB");
		return;
	}
	if (fr->next + (int64_t)n > fr->f.size) {
		frx_fail(pm, fr, "more bytes than the size offered");
		return;
	}
	if ((r = pwrite(fr->fd, data, n, (off_t)fr->next)) != (ssize_t)n) {
		frx_pause(pm, fr, r == -1 ? errno : ENOSPC);
		return;
	}
	if (fr->hash != NULL)
		filecopy_hash_add(fr->hash, data, n);
	fr->next += (int64_t)n;
	last = fr->next == fr->f.size;	/* frx_sync may check and free it */
	if (last || fr->next - fr->synced >= FRX_COMMIT)
		frx_sync(pm, fr);
	if (last)
		return;		/* frx_synced checks it once committed */
	/* Flow control: written (not synced yet) is enough for the sender. */
	if (fr->next - fr->acked >= FRX_ACK) {
		fr->acked = fr->next;
		pm_frx_pos(c, fr->f.id, "receiving", fr->next, NULL);
	}
}

/* The connection c closed: what it carried stops (resumed at the next offer). */
void
pm_frx_gone(struct peer_msgs *pm, struct conn *c)
{
	struct frx *fr, *next;

	for (fr = TAILQ_FIRST(&pm->ftx->rxs); fr != NULL; fr = next) {
		next = TAILQ_NEXT(fr, entry);
		if (fr->c != c)
			continue;
		if (fr->verify != NULL)
			fr->c = NULL;
		else
			pm_frx_free(pm->ftx, fr);
	}
}
