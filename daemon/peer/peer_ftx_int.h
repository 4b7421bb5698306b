/*
 * Between peer_ftx.c (the sender's side, the life of both, cancels),
 * peer_frx_word.c (the recipient's: a file ended or let through by a
 * word) and peer_frx.c (the recipient's transfer), each calling only the
 * ones after it; nothing else includes this.
 */
#ifndef P2P_PEER_FTX_INT_H
#define P2P_PEER_FTX_INT_H

#include <sys/queue.h>

#include "filecopy.h"
#include "filesweep.h"
#include "peer_msg.h"
#include "pstore_file.h"

/*
 * Sent and not yet acknowledged: what the kernel's socket buffers may
 * hold ahead of a message, so small (a message waits behind it); the
 * recipient acknowledges what it wrote every FRX_ACK bytes. 512 KiB:
 * chat p99 during a 1 GiB transfer 14-35 ms against 26-43 ms with 1 MiB,
 * the rate the same on loopback (docs/PERFORMANCE.md, "Files"); the cost
 * is at most 512 KiB a round trip (10 MiB/s at 50 ms).
 */
#define FTX_WINDOW	(512 * 1024)
#define FRX_ACK		(128 * 1024)		/* written, acknowledged every */
#define FRX_COMMIT	(4 * 1024 * 1024)	/* synced every (off the loop) */
#define FRX_COMMIT_GAP	0.25			/* s between store commits */
#define FRX_PROGRESS	1.0			/* s between file-progress */
#define FRX_RECHECK	1			/* s between free-space checks */
#define FRX_MARGIN	(1024 * 1024)		/* left free when resuming */
#define FRX_RESERVE	(16 * 1024 * 1024)	/* blocks reserved ahead, at least */
#define FTX_GC_WAIT	1			/* s: sweep again after copies */

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
	int64_t			 synced;	/* on disk up to (>= committed) */
	int64_t			 syncing;	/* up to where sync will be */
	struct filecopy		*sync;		/* an fdatasync on a thread */
	struct filecopy_hash	*hash;		/* of [0, next), or NULL */
	double			 committed_at;	/* when (util_mono) */
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
	struct event		*gc;		/* stored copies no file needs */
	struct filesweep	*sweep;
	bool			 gc_parts;	/* and copies' leftovers (start) */
};

/* peer_frx.c */
void	pm_frx_free(struct pm_ftx *, struct frx *);
struct frx *pm_frx_find(struct pm_ftx *, const char *id);
/* Tell c (if not NULL) where file id stands: file-pos. */
void	pm_frx_pos(struct conn *c, const char *id, const char *state,
	    int64_t off, const char *reason);
/* The partial file's path: DIR/.in-<id>. */
void	pm_frx_partial(const struct pm_ftx *, const char *id, char *path,
	    size_t len);
/* Open the partial file and say where to go on from. */
void	pm_frx_open(struct peer_msgs *, struct frx *);
/* Paused files: resume those that have room again (the recheck timer). */
void	pm_frx_recheck(evutil_socket_t, short, void *);

/* peer_frx_word.c (calls peer_frx.c) */
/* End an incoming file by the user's word (rejected, cancelled). */
void	pm_frx_end(struct peer_msgs *, const struct pfile *f, const char *state,
	    const char *reason);

#endif
