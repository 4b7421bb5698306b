/*
 * Password hashing off the event loop. A yescrypt hash costs about 14 ms
 * and a legacy bcrypt one far more; one worker thread does them so the
 * loop keeps serving everyone else. Callbacks run on the loop's thread.
 *
 * The queue is shared fairly: jobs wait per source (an address, or an
 * IPv6 /64, as the caller names it) and the worker takes the next one
 * from the source that has had the fewest hashed in the last minute,
 * sources with as many taking turns: someone logging in once goes before
 * addresses that have been guessing, and a login waits for at most one
 * job per other source with work queued, however many the others queued. A source may have
 * HASHPOOL_MAX_PER_SOURCE jobs waiting and all of them together
 * HASHPOOL_MAX_QUEUED; past that a job is refused (NULL). A cancelled job
 * that has not started is dropped unhashed.
 */
#ifndef P2P_HASHPOOL_H
#define P2P_HASHPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

struct hashpool;
struct hashjob;

#define HASHPOOL_MAX_PER_SOURCE	8
#define HASHPOOL_MAX_QUEUED	4096

struct hashpool_stats {
	unsigned long	 ran;		/* hashes computed */
	unsigned long	 dropped;	/* cancelled before they ran */
	unsigned long	 refused;	/* over a bound */
	size_t		 queued;	/* waiting now */
};

/* ok: hash made / password matches; hash: the new hash (hash jobs). */
typedef void (*hashjob_cb)(bool ok, const char *hash, void *arg);

struct hashpool	*hashpool_new(struct event_base *, char **cause);
/* Waits for the job in progress; queued jobs are dropped uncalled. */
void		 hashpool_free(struct hashpool *);
/*
 * Hash pw[0..len) (copied, zeroed after use) for source. NULL when the
 * source or the whole queue is full (the caller answers "busy").
 */
struct hashjob	*hashpool_hash(struct hashpool *, const char *source,
		    const char *pw, size_t len, hashjob_cb, void *arg);
/* Check pw against hash (NULL: check against a dummy, always false). */
struct hashjob	*hashpool_verify(struct hashpool *, const char *source,
		    const char *pw, size_t len, const char *hash, hashjob_cb,
		    void *arg);
/*
 * The callback will not be called (its argument is going away); a job
 * still waiting is dropped at once, unhashed. j is invalid afterwards.
 */
void		 hashjob_cancel(struct hashjob *);
void		 hashpool_get_stats(struct hashpool *, struct hashpool_stats *);

#endif
