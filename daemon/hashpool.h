/*
 * Password hashing off the event loop. A yescrypt hash costs about 14 ms
 * and a legacy bcrypt one far more; one worker thread does them so the
 * loop keeps serving everyone else. Callbacks run on the loop's thread.
 */
#ifndef P2P_HASHPOOL_H
#define P2P_HASHPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

struct hashpool;
struct hashjob;

/* ok: hash made / password matches; hash: the new hash (hash jobs). */
typedef void (*hashjob_cb)(bool ok, const char *hash, void *arg);

struct hashpool	*hashpool_new(struct event_base *, char **cause);
/* Waits for the job in progress; queued jobs are dropped uncalled. */
void		 hashpool_free(struct hashpool *);
/* Hash pw[0..len) (copied, zeroed after use). */
struct hashjob	*hashpool_hash(struct hashpool *, const char *pw, size_t len,
		    hashjob_cb, void *arg);
/* Check pw against hash (NULL: check against a dummy, always false). */
struct hashjob	*hashpool_verify(struct hashpool *, const char *pw, size_t len,
		    const char *hash, hashjob_cb, void *arg);
/* The callback will not be called (its argument is going away). */
void		 hashjob_cancel(struct hashjob *);

#endif
