/*
 * File transfers over the links (issue 29): the sender's side (one file
 * at a time per recipient, on the link it opened) and the recipient's
 * (on the connection the sender opened, peer_in.c).
 *
 *   sender                                   recipient
 *   file {id,from,to,name,size,sha256,ts} ->  row in files, partial file
 *                                         <-  file-pos {id,receiving,off}
 *   chunk {id,off,data} ... (binary with   ->  written at off; every
 *   "file-bin", wire_bin.c)                   FRX_COMMIT bytes synced on a
 *                                             thread, and what was synced
 *                                             committed in the store
 *                                         <-  file-pos {id,receiving,off}
 *                                             (written: every FRX_ACK)
 *                                             at the end: SHA-256 checked
 *                                             off the loop, then shown
 *                                         <-  file-pos {id,received}
 *
 * The sender keeps at most FTX_WINDOW bytes beyond what the recipient
 * acknowledged writing (every FRX_ACK bytes), and puts a chunk on the
 * connection's bulk output only while it holds less than CONN_DRAIN_LOW
 * (conn's on_drain calls back for more); messages queued on the same
 * connection go out before every chunk not yet started. After a disconnect or either side's kill -9 the next offer is
 * answered with the committed offset, and the transfer goes on from
 * there. Memory is bounded whatever the size: one chunk at a time.
 *
 * Called by peer_link.c and peer_in.c; calls the store, filecopy.c,
 * conn and the events below them. It never sees struct plink or pin.
 * This file is the sender's side, the life of both and the cancels; the
 * recipient's side is peer_frx.c, below it.
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

static void	ftx_next(struct peer_msgs *, const char *user, struct conn *);
static void	on_expiry(evutil_socket_t, short, void *);
static void	on_gc(evutil_socket_t, short, void *);

int
pm_ftx_start(struct peer_msgs *pm, char **cause)
{
	struct pm_ftx *x = xcalloc(1, sizeof(*x));

	(void)cause;
	TAILQ_INIT(&x->txs);
	TAILQ_INIT(&x->rxs);
	snprintf(x->dir, sizeof(x->dir), "%s/files", pm->p->d->cfg->data_dir);
	x->verifier = filecopy_pool_new(pm->p->d->base, x->dir);
	x->sweep = filesweep_new(x->dir);
	x->any_pending = true;
	if ((x->recheck = evtimer_new(pm->p->d->base, pm_frx_recheck, pm)) == NULL ||
	    (x->expiry = evtimer_new(pm->p->d->base, on_expiry, pm)) == NULL ||
	    (x->gc = evtimer_new(pm->p->d->base, on_gc, pm)) == NULL)
		fatalx("%s: out of memory", __func__);
	pm->ftx = x;
	on_expiry(-1, 0, pm);	/* those due while we were down, and the timer */
	x->gc_parts = true;	/* what a crash left, before any copy starts */
	pm_ftx_gc(pm);
	return 0;
}

static void
ftx_free(struct pm_ftx *x, struct ftx *ft)
{
	TAILQ_REMOVE(&x->txs, ft, entry);
	if (ft->fd != -1)
		close(ft->fd);
	free(ft);
}

void
pm_ftx_free(struct peer_msgs *pm)
{
	struct pm_ftx *x = pm->ftx;

	if (x == NULL)
		return;
	while (!TAILQ_EMPTY(&x->txs))
		ftx_free(x, TAILQ_FIRST(&x->txs));
	while (!TAILQ_EMPTY(&x->rxs))
		pm_frx_free(x, TAILQ_FIRST(&x->rxs));
	filecopy_pool_free(x->verifier);
	filesweep_free(x->sweep);
	event_free(x->recheck);
	event_free(x->expiry);
	event_free(x->gc);
	free(x);
	pm->ftx = NULL;
}

/* ------------------------------------------------------------ sender */

static struct ftx *
ftx_find(struct pm_ftx *x, const char *user)
{
	struct ftx *ft;

	TAILQ_FOREACH(ft, &x->txs, entry)
		if (strcmp(ft->f.peer, user) == 0)
			return ft;
	return NULL;
}

bool
pm_ftx_pending(struct peer_msgs *pm, const char *user)
{
	struct pfile f;

	return ftx_find(pm->ftx, user) != NULL || (pm->ftx->any_pending &&
	    (pfile_next_out(pm->files, user, &f) == PSTORE_OK ||
	    pfile_has_cancels(pm->files, user)));
}

void
pm_ftx_stored(struct peer_msgs *pm)
{
	pm->ftx->any_pending = true;
}

bool
pm_ftx_busy(struct peer_msgs *pm, const char *user)
{
	struct ftx *ft = ftx_find(pm->ftx, user);

	return ft != NULL && ft->c != NULL && ft->state != FT_WAITING;
}

static void
ftx_event(struct peer_msgs *pm, const struct pfile *f, const char *state,
    const char *reason)
{
	json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "event", "file-state",
	    "user", f->peer, "id", f->id, "state", state, "size",
	    (json_int_t)f->size, "name", f->name);

	if (reason != NULL && *reason != '\0')
		json_object_set_new(ev, "reason", json_string(reason));
	peer_event(pm->p, ev);
	json_decref(ev);
	pm_waiters_update(pm, f->id);	/* wait ID: the row says the rest */
}

/*
 * One chunk of n bytes from ft->sent, read into buf: a binary chunk to a
 * recipient that offers "file-bin", else base64 in a JSON chunk (an
 * older daemon's). On the connection's bulk output: every other frame
 * goes first. 0, or -1 (the connection is gone).
 */
static int
ftx_send_chunk(struct ftx *ft, const unsigned char *buf, size_t n)
{
	static char text[WIRE_CHUNK_B64 + 256];
	unsigned char hdr[WIRE_BIN_HDR];
	size_t len;

	if (conn_has_cap(ft->c, WCAP_FILE_BIN)) {
		wire_bin_chunk_hdr(hdr, ft->f.id, ft->sent, n);
		return conn_send_bulk(ft->c, hdr, sizeof(hdr), buf, n);
	}
	len = (size_t)snprintf(text, sizeof(text), "{\"t\":\"chunk\","
	    "\"id\":\"%s\",\"off\":%lld,\"data\":\"", ft->f.id,
	    (long long)ft->sent);
	sodium_bin2base64(text + len, sizeof(text) - len - 2, buf, n,
	    sodium_base64_VARIANT_ORIGINAL);
	len += strlen(text + len);
	memcpy(text + len, "\"}", 2);
	return conn_send_bulk(ft->c, text, len + 2, NULL, 0);
}

/* Put chunks on the connection while the window and its output allow. */
static void
ftx_pump(struct peer_msgs *pm, struct ftx *ft)
{
	static unsigned char buf[WIRE_CHUNK];
	size_t n, max;
	ssize_t r;

	while (ft->state == FT_SENDING && ft->c != NULL &&
	    ft->sent < ft->f.size && ft->sent - ft->acked < FTX_WINDOW &&
	    conn_bulk_bytes(ft->c) < CONN_DRAIN_LOW) {
		max = conn_has_cap(ft->c, WCAP_FILE_BIN) ? WIRE_BCHUNK :
		    WIRE_CHUNK;
		n = ft->f.size - ft->sent > (int64_t)max ? max :
		    (size_t)(ft->f.size - ft->sent);	/* 32-bit size_t */
		if ((r = pread(ft->fd, buf, n, (off_t)ft->sent)) != (ssize_t)n) {
			log_warnx("file %s to %s: cannot read the stored copy: %s",
			    ft->f.id, ft->f.peer, r == -1 ? strerror(errno) :
			    "it is shorter than stored");
			pfile_set_state(pm->files, ft->f.id, "failed",
			    "the stored copy cannot be read");
			ftx_event(pm, &ft->f, "failed", "the stored copy cannot be "
			    "read");
			ft->state = FT_DONE;
			return;
		}
		if (ftx_send_chunk(ft, buf, n) == -1)
			return;
		ft->sent += (int64_t)n;
	}
}

/* The link to user is ready (or has room): offer or go on. */
void
pm_ftx_link_up(struct peer_msgs *pm, const char *user, struct conn *c)
{
	struct ftx *ft = ftx_find(pm->ftx, user);

	if (ft == NULL)
		ftx_next(pm, user, c);
	else if (ft->c == c)
		ftx_pump(pm, ft);
}

void
pm_ftx_drain(struct peer_msgs *pm, const char *user, struct conn *c)
{
	struct ftx *ft = ftx_find(pm->ftx, user);

	if (ft != NULL && ft->c == c)
		ftx_pump(pm, ft);
}

void
pm_ftx_link_down(struct peer_msgs *pm, const char *user)
{
	struct ftx *ft = ftx_find(pm->ftx, user);

	if (ft != NULL)
		ftx_free(pm->ftx, ft);
}

/* Offer user's next file on c, if there is one. */
static void
ftx_next(struct peer_msgs *pm, const char *user, struct conn *c)
{
	char path[4200];
	struct ftx *ft;
	json_t *offer;

	if (!pm->ftx->any_pending)
		return;
	ft = xcalloc(1, sizeof(*ft));
	ft->fd = -1;
	if (pfile_next_out(pm->files, user, &ft->f) != PSTORE_OK) {
		free(ft);
		if (TAILQ_EMPTY(&pm->ftx->txs))
			pm->ftx->any_pending = pfile_any_pending(pm->files);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", pm->ftx->dir, ft->f.sha256);
	if ((ft->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("file %s to %s: %s", ft->f.id, user, path);
		pfile_set_state(pm->files, ft->f.id, "failed", "the stored copy "
		    "is gone");
		ftx_event(pm, &ft->f, "failed", "the stored copy is gone");
		free(ft);
		return;
	}
	ft->c = c;
	ft->state = FT_OFFERED;
	TAILQ_INSERT_TAIL(&pm->ftx->txs, ft, entry);
	offer = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:I}", "t", "file",
	    "id", ft->f.id, "from", pm->p->user, "to", user, "name", ft->f.name,
	    "size", (json_int_t)ft->f.size, "sha256", ft->f.sha256, "ts",
	    (json_int_t)ft->f.ts);
	conn_send(c, offer);
	json_decref(offer);
	log_info("file %s to %s: offered (%lld bytes)", ft->f.id, user,
	    (long long)ft->f.size);
}

/* The recipient's word on the file being sent to user. */
void
pm_ftx_pos(struct peer_msgs *pm, const char *user, struct conn *c,
    const struct w_fpos *p)
{
	struct ftx *ft = ftx_find(pm->ftx, user);
	const char *state;

	if (ft == NULL || ft->c != c || strcmp(ft->f.id, p->id) != 0) {
		/* The answer to a file-cancel (pm_ftx_link_ready), or late. */
		if (strcmp(p->state, "receiving") != 0 &&
		    strcmp(p->state, "waiting") != 0 &&
		    strcmp(p->state, "paused") != 0)
			pfile_cancel_told(pm->files, p->id, user);
		log_debug("file %s from %s: no such transfer", p->id, user);
		return;
	}
	if (strcmp(p->state, "receiving") == 0) {
		if (p->off > ft->f.size) {
			log_warnx("file %s to %s: the recipient has %lld of %lld "
			    "bytes; starting again", ft->f.id, user,
			    (long long)p->off, (long long)ft->f.size);
			return;
		}
		if (ft->state == FT_OFFERED || ft->state == FT_WAITING) {
			if (ft->state == FT_WAITING)
				pfile_set_state(pm->files, ft->f.id, "pending", NULL);
			if (p->off > 0)
				log_info("file %s to %s: resuming at %lld",
				    ft->f.id, user, (long long)p->off);
			ft->state = FT_SENDING;
			ft->sent = p->off;
		} else if (p->off < ft->acked || p->off > ft->sent) {
			/* The recipient lost its place: go on from its word. */
			ft->sent = p->off;
		}
		ft->acked = p->off;
		ftx_pump(pm, ft);
		return;
	}
	if (strcmp(p->state, "paused") == 0) {
		char why[300];

		/* The recipient's disk is full: it says when to go on. */
		ft->state = FT_WAITING;
		snprintf(why, sizeof(why), "paused by the recipient: %s",
		    *p->reason != '\0' ? p->reason : "it cannot write");
		util_utf8_trim(why);
		pfile_set_state(pm->files, ft->f.id, "pending", why);
		ftx_event(pm, &ft->f, "paused", why);
		log_info("file %s to %s: %s", ft->f.id, user, why);
		return;
	}
	if (strcmp(p->state, "waiting") == 0) {
		if (ft->state != FT_WAITING) {
			ft->state = FT_WAITING;
			pfile_set_state(pm->files, ft->f.id, "waiting", "waiting for "
			    "the recipient to accept it (files.accept_size)");
			ftx_event(pm, &ft->f, "waiting", NULL);
			log_info("file %s to %s: waiting for accept", ft->f.id, user);
		}
		return;
	}
	state = strcmp(p->state, "received") == 0 ? "delivered" : p->state;
	pfile_set_state(pm->files, ft->f.id, state, p->reason);
	ftx_event(pm, &ft->f, state, p->reason);
	log_info("file %s to %s: %s%s%s", ft->f.id, user, state,
	    *p->reason != '\0' ? ": " : "", p->reason);
	ftx_free(pm->ftx, ft);
	pm_ftx_gc(pm);
	ftx_next(pm, user, c);
}

static void
send_cancel(const char *id, void *arg)
{
	json_t *o = json_pack("{s:s,s:s}", "t", "file-cancel", "id", id);

	conn_send(arg, o);
	json_decref(o);
}

/*
 * The link to user came up on c: the files cancelled or expired that it
 * has not answered for (it may have been offline then) are cancelled
 * again; its file-pos answer ends each (pm_ftx_pos).
 */
void
pm_ftx_link_ready(struct peer_msgs *pm, const char *user, struct conn *c)
{
	pfile_cancels(pm->files, user, send_cancel, c);
}

/* ------------------------------------------------- accept, reject, cancel */

json_t *
pm_ftx_cancel_one(struct peer_msgs *pm, const char *id, const char **why)
{
	struct pfile f;
	struct ftx *ft;
	json_t *o;

	if (pfile_get(pm->files, id, &f) != PSTORE_OK)
		return NULL;
	if (f.outgoing && (strcmp(f.state, "pending") == 0 ||
	    strcmp(f.state, "waiting") == 0)) {
		pfile_set_state(pm->files, id, "cancelled", "cancelled by the user");
		pfile_cancel_note(pm->files, id, f.peer);
		pm->ftx->any_pending = true;	/* a cancel to tell */
		pm_ftx_gc(pm);
		ft = ftx_find(pm->ftx, f.peer);
		if (ft != NULL && strcmp(ft->f.id, id) == 0) {
			struct conn *c = ft->c;

			if (c != NULL) {
				o = json_pack("{s:s,s:s}", "t", "file-cancel", "id", id);
				conn_send(c, o);
				json_decref(o);
			}
			ftx_free(pm->ftx, ft);
			if (c != NULL)
				ftx_next(pm, f.peer, c);
		}
		log_info("file %s to %s: cancelled", id, f.peer);
		snprintf(f.state, sizeof(f.state), "cancelled");
		pm_waiters_update(pm, id);
	} else if (!f.outgoing && (strcmp(f.state, "waiting") == 0 ||
	    strcmp(f.state, "receiving") == 0 ||
	    strcmp(f.state, "paused") == 0)) {
		pm_frx_end(pm, &f, "cancelled", "cancelled by the recipient");
		snprintf(f.state, sizeof(f.state), "cancelled");
	} else if (strcmp(f.state, "delivered") == 0 ||
	    strcmp(f.state, "received") == 0)
		*why = f.outgoing ? "already delivered" : "already received";
	return json_pack("{s:s,s:s,s:s?}", "id", id, "state", f.state,
	    "reason", *why);
}

bool
pm_ftx_is_file(struct peer_msgs *pm, const char *id)
{
	struct pfile f;

	return pfile_get(pm->files, id, &f) == PSTORE_OK;
}

/* ------------------------------------------------------------- expiry */

/* A file whose ttl ran out: stop sending it, tell the recipient, say so. */
static void
expired_one(const struct pfile *f, void *arg)
{
	struct peer_msgs *pm = arg;
	struct ftx *ft = ftx_find(pm->ftx, f->peer);
	struct conn *c;
	json_t *o;

	log_info("file %s to %s: expired (not delivered within its ttl)", f->id,
	    f->peer);
	ftx_event(pm, f, "expired", "not delivered within its ttl");
	pm->ftx->any_pending = true;	/* a cancel to tell (pfile_expire) */
	pm_ftx_gc(pm);
	if (ft == NULL || strcmp(ft->f.id, f->id) != 0)
		return;
	if ((c = ft->c) != NULL) {
		o = json_pack("{s:s,s:s}", "t", "file-cancel", "id", f->id);
		conn_send(c, o);
		json_decref(o);
	}
	ftx_free(pm->ftx, ft);
	if (c != NULL)
		ftx_next(pm, f->peer, c);
}

/* Expire what is due; arm the timer for the next one. */
static void
on_expiry(evutil_socket_t fd, short what, void *arg)
{
	struct peer_msgs *pm = arg;
	int64_t now = util_now_ms(), next;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (pfile_expire(pm->files, now, expired_one, pm, &next) != PSTORE_OK)
		next = now + 1000;	/* try again */
	if (next == 0)
		return;
	next = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(next / 1000);
	tv.tv_usec = (suseconds_t)(next % 1000) * 1000 + 1000;
	evtimer_add(pm->ftx->expiry, &tv);
}

void
pm_ftx_expiry_arm(struct peer_msgs *pm)
{
	on_expiry(-1, 0, pm);
}

/* ----------------------------------------------------- the stored copies */

static bool
unneeded(const char *name, void *arg)
{
	return pfile_unneeded(arg, name);
}

/*
 * Remove the stored copies no file needs any more (filesweep.c): not
 * while a copy runs (filecopy.c renames into the store before its
 * callback adds the row that needs it), nor while the last sweep's
 * unlinks run; then a moment later.
 */
static void
on_gc(evutil_socket_t fd, short what, void *arg)
{
	struct peer_msgs *pm = arg;
	struct pm_ftx *x = pm->ftx;
	struct timeval tv = { FTX_GC_WAIT, 0 };
	int n;

	(void)fd;
	(void)what;
	if (filecopy_pool_busy(pm->fcopy) > 0 ||
	    filecopy_pool_busy(x->verifier) > 0 ||
	    (n = filesweep_run(x->sweep, x->gc_parts, unneeded,
	    pm->files)) == -1) {
		evtimer_add(x->gc, &tv);
		return;
	}
	if (n > 0)
		log_info("files: %d stored file%s no longer needed removed", n,
		    n == 1 ? "" : "s");
	x->gc_parts = false;
}

void
pm_ftx_gc(struct peer_msgs *pm)
{
	struct timeval now = { 0, 0 };

	if (pm->ftx != NULL && !evtimer_pending(pm->ftx->gc, NULL))
		evtimer_add(pm->ftx->gc, &now);
}
