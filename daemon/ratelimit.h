/*
 * Failure counters per key (a username or a source address) over a
 * fixed one-minute window, with bounded memory.
 */
#ifndef P2P_RATELIMIT_H
#define P2P_RATELIMIT_H

#include <stdbool.h>

struct ratelimit;

struct ratelimit *ratelimit_new(void);
void	ratelimit_free(struct ratelimit *);
/* True while key has reached limit failures in the current window. */
bool	ratelimit_blocked(struct ratelimit *, const char *key, long limit,
	    double now);
/* Count one failure for key. */
void	ratelimit_fail(struct ratelimit *, const char *key, double now);
/* Seconds until key's window ends (0 if none). */
double	ratelimit_retry_after(struct ratelimit *, const char *key, double now);

#endif
