/*
 * File transfers over the links (issue 29): the sender's side (one file
 * at a time per recipient, on the link it opened) and the recipient's
 * (on the connection the sender opened, peer_in.c).
 *
 *   sender                                   recipient
 *   file {id,from,to,name,size,sha256,ts} ->  row in files, partial file
 *                                         <-  file-pos {id,receiving,off}
 *   chunk {id,off,data} ...               ->  written at off; every
 *                                             FRX_COMMIT bytes synced and
 *                                             off committed in the store
 *                                         <-  file-pos {id,receiving,off}
 *                                             at the end: SHA-256 checked
 *                                             off the loop, then shown
 *                                         <-  file-pos {id,received}
 *
 * The sender keeps at most FTX_WINDOW bytes beyond what the recipient
 * acknowledged writing (every FRX_ACK bytes), and puts a chunk on the
 * connection only while its output holds less than CONN_DRAIN_LOW (conn's
 * on_drain calls back for more), so messages queued on the same
 * connection never wait behind more than that. After a disconnect or either side's kill -9 the next offer is
 * answered with the committed offset, and the transfer goes on from
 * there. Memory is bounded whatever the size: one chunk at a time.
 *
 * Called by peer_link.c and peer_in.c; calls the store, filecopy.c,
 * conn and the events below them. It never sees struct plink or pin.
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
#include "peer_msg.h"
#include "pstore_file.h"
#include "util.h"

/*
 * Sent and not yet acknowledged: what the kernel's socket buffers may
 * hold ahead of a message, so small (a message waits behind it); the
 * recipient acknowledges what it wrote every FRX_ACK bytes.
 */
#define FTX_WINDOW	(1024 * 1024)
#define FRX_ACK		(128 * 1024)		/* written, acknowledged every */
#define FRX_COMMIT	(4 * 1024 * 1024)	/* synced and committed every */
#define FRX_PROGRESS	1.0			/* s between file-progress */
#define FRX_RECHECK	1			/* s between free-space checks */
#define FRX_MARGIN	(1024 * 1024)		/* left free when resuming */

enum ftx_state { FT_OFFERED, FT_SENDING, FT_WAITING, FT_DONE };

/* The file being sent to one recipient. */
struct ftx {
	TAILQ_ENTRY(ftx)	 entry;
	struct conn		*c;
	struct pfile		 f;
	int			 fd;
	enum ftx_state		 state;
	int64_t			 sent, acked;
};

/* A file being received on one connection. */
struct frx {
	TAILQ_ENTRY(frx)	 entry;
	struct peer_msgs	*pm;
	struct conn		*c;		/* NULL once it closed */
	struct pfile		 f;
	int			 fd;		/* the partial file, or -1 */
	int64_t			 next;		/* written up to */
	int64_t			 acked;		/* next, as last told */
	struct filecopy		*verify;
	double			 progress_at;
	bool			 waiting;	/* for accept (files.accept_size) */
	bool			 paused;	/* a write failed (disk full) */
};

TAILQ_HEAD(ftx_head, ftx);
TAILQ_HEAD(frx_head, frx);

struct pm_ftx {
	struct ftx_head		 txs;
	struct frx_head		 rxs;
	struct filecopy_pool	*verifier;
	char			 dir[4096];
	/*
	 * Some outgoing file may wait: without one, a link's pump (after
	 * every commit) asks the store nothing.
	 */
	bool			 any_pending;
	struct event		*recheck;	/* free space for paused files */
	struct event		*expiry;	/* the next send-file --ttl */
};

static void	ftx_next(struct peer_msgs *, const char *user, struct conn *);
static void	frx_open(struct peer_msgs *, struct frx *);
static void	on_recheck(evutil_socket_t, short, void *);
static void	on_expiry(evutil_socket_t, short, void *);

int
pm_ftx_start(struct peer_msgs *pm, char **cause)
{
	struct pm_ftx *x = xcalloc(1, sizeof(*x));

	(void)cause;
	TAILQ_INIT(&x->txs);
	TAILQ_INIT(&x->rxs);
	snprintf(x->dir, sizeof(x->dir), "%s/files", pm->p->d->cfg->data_dir);
	x->verifier = filecopy_pool_new(pm->p->d->base, x->dir);
	x->any_pending = true;
	if ((x->recheck = evtimer_new(pm->p->d->base, on_recheck, pm)) == NULL ||
	    (x->expiry = evtimer_new(pm->p->d->base, on_expiry, pm)) == NULL)
		fatalx("%s: out of memory", __func__);
	pm->ftx = x;
	on_expiry(-1, 0, pm);	/* those due while we were down, and the timer */
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

static void
frx_free(struct pm_ftx *x, struct frx *fr)
{
	TAILQ_REMOVE(&x->rxs, fr, entry);
	if (fr->verify != NULL)
		filecopy_cancel(fr->verify);
	if (fr->fd != -1)
		close(fr->fd);
	free(fr);
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
		frx_free(x, TAILQ_FIRST(&x->rxs));
	filecopy_pool_free(x->verifier);
	event_free(x->recheck);
	event_free(x->expiry);
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
	    pfile_next_out(pm->files, user, &f) == PSTORE_OK);
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
}

/* Put chunks on the connection while the window and its output allow. */
static void
ftx_pump(struct peer_msgs *pm, struct ftx *ft)
{
	static unsigned char buf[WIRE_CHUNK];
	static char text[WIRE_CHUNK_B64 + 256];
	size_t n, hdr;
	ssize_t r;

	while (ft->state == FT_SENDING && ft->c != NULL &&
	    ft->sent < ft->f.size && ft->sent - ft->acked < FTX_WINDOW &&
	    conn_pending_bytes(ft->c) < CONN_DRAIN_LOW) {
		n = (size_t)(ft->f.size - ft->sent);
		if (n > WIRE_CHUNK)
			n = WIRE_CHUNK;
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
		hdr = (size_t)snprintf(text, sizeof(text), "{\"t\":\"chunk\","
		    "\"id\":\"%s\",\"off\":%lld,\"data\":\"", ft->f.id,
		    (long long)ft->sent);
		sodium_bin2base64(text + hdr, sizeof(text) - hdr - 2, buf, n,
		    sodium_base64_VARIANT_ORIGINAL);
		hdr += strlen(text + hdr);
		memcpy(text + hdr, "\"}", 2);
		if (conn_send_text(ft->c, text, hdr + 2) == -1)
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
	ftx_next(pm, user, c);
}

/* ---------------------------------------------------------- recipient */

static void
frx_pos(struct conn *c, const char *id, const char *state, int64_t off,
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

static void
frx_partial(const struct pm_ftx *x, const char *id, char *path, size_t len)
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
	frx_partial(pm->ftx, fr->f.id, path, sizeof(path));
	unlink(path);
	frx_pos(fr->c, fr->f.id, "failed", 0, why);
	frx_free(pm->ftx, fr);
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
			frx_free(pm->ftx, fr);	/* checked again at the next offer */
		}
		return;
	}
	if (pfile_set_state(pm->files, fr->f.id, "received", NULL) != PSTORE_OK) {
		frx_free(pm->ftx, fr);
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
	frx_pos(fr->c, fr->f.id, "received", fr->f.size, NULL);
	frx_free(pm->ftx, fr);
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
	frx_partial(pm->ftx, fr->f.id, path, sizeof(path));
	if ((fr->verify = filecopy_verify(pm->ftx->verifier, path, fr->f.sha256,
	    on_verified, fr, &why)) == NULL) {
		log_warnx("file %s from %s: cannot check it now: %s", fr->f.id,
		    fr->f.peer, why);
		frx_free(pm->ftx, fr);	/* the next offer tries again */
	}
}

static struct frx *
frx_find(struct pm_ftx *x, const char *id)
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
		frx_pos(c, wf->id, "rejected", 0, "files are taken only from "
		    "contacts (written to or trusted); write to the recipient "
		    "first, or ask it to write to you");
		return;
	}
	if (wf->size > pm->p->d->cfg->files_max_size) {
		frx_pos(c, wf->id, "rejected", 0, "larger than the recipient's "
		    "files.max_size");
		return;
	}
	if ((fr = frx_find(x, wf->id)) != NULL) {
		if (fr->verify != NULL) {
			fr->c = c;	/* answered when the check is done */
			return;
		}
		frx_free(x, fr);	/* offered again on a new connection */
	}
	if ((rc = pfile_get(pm->files, wf->id, &f)) == PSTORE_ERR)
		return;
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
			frx_pos(c, wf->id, "failed", 0, "cannot store it");
			return;
		}
	} else if (f.outgoing || strcmp(f.peer, from) != 0 ||
	    f.size != wf->size || strcmp(f.sha256, wf->sha256) != 0) {
		frx_pos(c, wf->id, "failed", 0, "this id is another file's");
		return;
	} else if (strcmp(f.state, "receiving") != 0 &&
	    strcmp(f.state, "waiting") != 0 && strcmp(f.state, "paused") != 0) {
		frx_pos(c, f.id, f.state, f.committed, *f.reason ? f.reason : NULL);
		return;
	}
	fr = xcalloc(1, sizeof(*fr));
	fr->pm = pm;
	fr->c = c;
	fr->f = f;
	fr->fd = -1;
	fr->next = fr->acked = f.committed;
	TAILQ_INSERT_TAIL(&x->rxs, fr, entry);
	if (strcmp(f.state, "waiting") == 0) {
		fr->waiting = true;	/* until accept ID: frx_open */
		frx_pos(c, f.id, "waiting", 0, NULL);
		return;
	}
	frx_open(pm, fr);
}

/* Open the partial file and say where to go on from. */
static void
frx_open(struct peer_msgs *pm, struct frx *fr)
{
	struct pm_ftx *x = pm->ftx;
	const struct pfile f = fr->f;
	struct conn *c = fr->c;
	char path[4200];

	fr->waiting = false;
	if (strcmp(f.state, "receiving") != 0) {	/* paused before */
		pfile_set_state(pm->files, f.id, "receiving", NULL);
		snprintf(fr->f.state, sizeof(fr->f.state), "receiving");
	}
	frx_partial(x, f.id, path, sizeof(path));
	if ((fr->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    ftruncate(fr->fd, (off_t)f.committed) == -1) {
		log_warn("file %s from %s: %s", f.id, f.peer, path);
		frx_pos(c, f.id, "failed", 0, "cannot write it");
		frx_free(x, fr);
		return;
	}
	frx_pos(c, f.id, "receiving", f.committed, NULL);
	if (f.committed == f.size)
		frx_verify(pm, fr);
}

/*
 * A write or a commit failed (the disk is full, most likely): drop what
 * was not committed (giving its space back), say so to the sender, which
 * stops, and check the free space every FRX_RECHECK s (on_recheck).
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
	if (ftruncate(fr->fd, (off_t)fr->f.committed) == -1)
		log_warn("file %s: ftruncate", fr->f.id);
	fr->next = fr->acked = fr->f.committed;
	fr->paused = true;
	pfile_set_state(pm->files, fr->f.id, "paused", why);
	frx_pos(fr->c, fr->f.id, "paused", fr->f.committed, why);
	if (!evtimer_pending(pm->ftx->recheck, NULL))
		evtimer_add(pm->ftx->recheck, &tv);
}

/* Paused files: resume those that have room again. */
static void
on_recheck(evutil_socket_t fd, short what, void *arg)
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
		frx_pos(fr->c, fr->f.id, "receiving", fr->f.committed, NULL);
	}
	if (again)
		evtimer_add(pm->ftx->recheck, &tv);
}

/* Sync what was written and commit it: a resume starts there. */
static int
frx_commit(struct peer_msgs *pm, struct frx *fr)
{
	json_t *ev;

	errno = 0;
	if (fdatasync(fr->fd) == -1 ||
	    pfile_set_committed(pm->files, fr->f.id, fr->next) != PSTORE_OK)
		return -1;
	fr->f.committed = fr->acked = fr->next;
	frx_pos(fr->c, fr->f.id, "receiving", fr->next, NULL);
	if (util_mono() - fr->progress_at >= FRX_PROGRESS &&
	    fr->next < fr->f.size) {
		fr->progress_at = util_mono();
		ev = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "event",
		    "file-progress", "from", fr->f.peer, "id", fr->f.id, "name",
		    fr->f.name, "size", (json_int_t)fr->f.size, "received",
		    (json_int_t)fr->next);
		peer_event(pm->p, ev);
		json_decref(ev);
	}
	return 0;
}

void
pm_frx_chunk(struct peer_msgs *pm, struct conn *c, const char *from,
    const struct w_chunk *ch)
{
	static unsigned char buf[WIRE_CHUNK];
	struct frx *fr = frx_find(pm->ftx, ch->id);
	ssize_t r;
	size_t n;

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
		if (fr->next != fr->f.committed &&
		    ftruncate(fr->fd, (off_t)fr->f.committed) == -1)
			log_warn("file %s: ftruncate", fr->f.id);
		fr->next = fr->acked = fr->f.committed;
		frx_pos(c, fr->f.id, "receiving", fr->f.committed, NULL);
		return;
	}
	if (sodium_base642bin(buf, sizeof(buf), ch->data, ch->data_len, NULL,
	    &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || n == 0) {
		frx_fail(pm, fr, "a chunk that is not base64 of at most 96 KiB");
		return;
	}
	if (fr->next + (int64_t)n > fr->f.size) {
		frx_fail(pm, fr, "more bytes than the size offered");
		return;
	}
	if ((r = pwrite(fr->fd, buf, n, (off_t)fr->next)) != (ssize_t)n) {
		frx_pause(pm, fr, r == -1 ? errno : ENOSPC);
		return;
	}
	fr->next += (int64_t)n;
	if ((fr->next - fr->f.committed >= FRX_COMMIT ||
	    fr->next == fr->f.size) && frx_commit(pm, fr) == -1) {
		frx_pause(pm, fr, errno != 0 ? errno : EIO);
		return;
	}
	if (fr->next == fr->f.size) {
		frx_verify(pm, fr);
		return;
	}
	/* Flow control: written (not synced yet) is enough for the sender. */
	if (fr->next - fr->acked >= FRX_ACK) {
		fr->acked = fr->next;
		frx_pos(c, fr->f.id, "receiving", fr->next, NULL);
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
			frx_free(pm->ftx, fr);
	}
}

/* ------------------------------------------------- accept, reject, cancel */

/* End an incoming file by the user's word (rejected, cancelled). */
static void
frx_end(struct peer_msgs *pm, const struct pfile *f, const char *state,
    const char *reason)
{
	struct frx *fr = frx_find(pm->ftx, f->id);
	char path[4200];

	pfile_set_state(pm->files, f->id, state, reason);
	frx_partial(pm->ftx, f->id, path, sizeof(path));
	if (fr != NULL) {
		frx_pos(fr->c, f->id, state, 0, reason);
		frx_free(pm->ftx, fr);
	}
	unlink(path);
	log_info("file %s from %s: %s", f->id, f->peer, state);
}

int
pm_frx_decide(struct peer_msgs *pm, const char *id, bool accept,
    char *state, size_t len, const char **why)
{
	struct frx *fr;
	struct pfile f;

	if (pfile_get(pm->files, id, &f) != PSTORE_OK || f.outgoing) {
		*why = "no file received with this id";
		return -1;
	}
	if (strcmp(f.state, "waiting") != 0 &&
	    (accept || strcmp(f.state, "receiving") != 0)) {
		snprintf(state, len, "%s", f.state);
		if (strcmp(f.state, "receiving") == 0 ||
		    strcmp(f.state, "received") == 0 ||
		    strcmp(f.state, "rejected") == 0)
			return accept == (strcmp(f.state, "rejected") != 0) ? 0 :
			    (*why = "already decided", -1);
		*why = "it is not waiting for an answer";
		return -1;
	}
	if (!accept) {
		frx_end(pm, &f, "rejected", "rejected by the recipient");
		snprintf(state, len, "rejected");
		return 0;
	}
	if (pfile_set_state(pm->files, id, "receiving", NULL) != PSTORE_OK) {
		*why = "cannot store the change";
		return -1;
	}
	snprintf(state, len, "receiving");
	if ((fr = frx_find(pm->ftx, id)) != NULL && fr->waiting) {
		snprintf(fr->f.state, sizeof(fr->f.state), "receiving");
		if (fr->c != NULL)
			frx_open(pm, fr);
		else
			frx_free(pm->ftx, fr);	/* the next offer goes on */
	}
	return 0;
}

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
	} else if (!f.outgoing && (strcmp(f.state, "waiting") == 0 ||
	    strcmp(f.state, "receiving") == 0)) {
		frx_end(pm, &f, "cancelled", "cancelled by the recipient");
		snprintf(f.state, sizeof(f.state), "cancelled");
	} else if (strcmp(f.state, "delivered") == 0 ||
	    strcmp(f.state, "received") == 0)
		*why = f.outgoing ? "already delivered" : "already received";
	return json_pack("{s:s,s:s,s:s?}", "id", id, "state", f.state,
	    "reason", *why);
}

/* The sender gave up the file id (file-cancel on its connection). */
void
pm_frx_cancelled(struct peer_msgs *pm, const char *from, const char *id)
{
	struct pfile f;

	if (pfile_get(pm->files, id, &f) != PSTORE_OK || f.outgoing ||
	    strcmp(f.peer, from) != 0 || (strcmp(f.state, "waiting") != 0 &&
	    strcmp(f.state, "receiving") != 0))
		return;
	frx_end(pm, &f, "cancelled", "cancelled by the sender");
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
