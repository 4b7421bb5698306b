/*
 * Bounded tables of per-key counters for the gestor's limits: failure
 * counts over a fixed window (logins, registrations) and token buckets
 * (lookups, watched names). Keys are hashed with a random key drawn per
 * table, so nobody can choose keys that collide. A live entry is never
 * evicted: when a key's probe run is full of live entries the key is
 * refused (blocked), never another key forgotten.
 */
#ifndef P2P_RATELIMIT_H
#define P2P_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

#define RATELIMIT_PROBE	32	/* slots tried per key */

struct ratelimit;

/* A table of at least slots entries (rounded up to a power of two);
 * window is the counting window of ratelimit_fail, in seconds. */
struct ratelimit *ratelimit_new(size_t slots, double window);
void	ratelimit_free(struct ratelimit *);
/*
 * True while key has reached limit failures in its current window, and
 * also when key has no entry and none can be made (the table is full
 * where key would go): then nothing could count its failures.
 */
bool	ratelimit_blocked(struct ratelimit *, const char *key, long limit,
	    double now);
/* Count one failure for key; false if the table had no room for it. */
bool	ratelimit_fail(struct ratelimit *, const char *key, double now);
/* Take back one failure counted for key in its current window (an
 * attempt counted when it started, that then succeeded); at zero the
 * key's slot is free. */
void	ratelimit_forgive(struct ratelimit *, const char *key, double now);
/* Seconds until key's window ends, or until a slot frees for it (0 if
 * not counted and room). */
double	ratelimit_retry_after(struct ratelimit *, const char *key, double now);
/*
 * Token bucket: take cost tokens from key's bucket of burst tokens that
 * refills at rate tokens per second. False (nothing taken) when there
 * are not enough, or the table has no room for key.
 */
bool	ratelimit_take(struct ratelimit *, const char *key, double cost,
	    double burst, double rate, double now);
/* Live entries (tests, stats). */
size_t	ratelimit_used(struct ratelimit *, double now);

/* A token bucket of its own, for one connection; a zeroed one is full. */
struct rl_bucket {
	double	 level;		/* tokens spent, drained at rate */
	double	 t;		/* when level was last updated */
};
bool	rl_bucket_take(struct rl_bucket *, double cost, double burst,
	    double rate, double now);

/*
 * The key counting for a source address: an IPv4 address as it is, an
 * IPv6 address as its /64 ("2001:db8:1:2::/64"), since one host
 * usually holds a whole /64. out >= 64 bytes.
 */
void	ratelimit_addr_key(const char *addr, char *out, size_t outlen);

#endif
