/*
 * Rate limiting of failed logins. A small open hash table of counters;
 * entries whose window has passed are reused, and when the table is full
 * the entry with the fewest failures is evicted, so memory stays bounded
 * and a flood of single failures cannot push a blocked key out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "util.h"

#define RL_SLOTS	4096
#define RL_PROBE	16
#define RL_WINDOW	60.0
#define RL_KEYLEN	64

struct rl_entry {
	char	 key[RL_KEYLEN];
	double	 start;		/* 0 = free */
	long	 count;
};

struct ratelimit {
	struct rl_entry	 slots[RL_SLOTS];
};

struct ratelimit *
ratelimit_new(void)
{
	return xcalloc(1, sizeof(struct ratelimit));
}

void
ratelimit_free(struct ratelimit *rl)
{
	free(rl);
}

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* The live entry for key, or NULL. */
static struct rl_entry *
find(struct ratelimit *rl, const char *key, double now)
{
	uint32_t h = hash(key);
	struct rl_entry *e;
	int i;

	for (i = 0; i < RL_PROBE; i++) {
		e = &rl->slots[(h + (uint32_t)i) % RL_SLOTS];
		if (e->start != 0 && now - e->start < RL_WINDOW &&
		    strncmp(e->key, key, RL_KEYLEN - 1) == 0)
			return e;
	}
	return NULL;
}

bool
ratelimit_blocked(struct ratelimit *rl, const char *key, long limit, double now)
{
	struct rl_entry *e = find(rl, key, now);

	return e != NULL && e->count >= limit;
}

void
ratelimit_fail(struct ratelimit *rl, const char *key, double now)
{
	struct rl_entry *e = find(rl, key, now), *victim = NULL;
	uint32_t h = hash(key);
	int i;

	if (e != NULL) {
		e->count++;
		return;
	}
	for (i = 0; i < RL_PROBE; i++) {
		e = &rl->slots[(h + (uint32_t)i) % RL_SLOTS];
		if (e->start == 0 || now - e->start >= RL_WINDOW) {
			victim = e;
			break;
		}
		/* Evict the least suspicious: fewest failures, then oldest. */
		if (victim == NULL || e->count < victim->count ||
		    (e->count == victim->count && e->start < victim->start))
			victim = e;
	}
	memset(victim, 0, sizeof(*victim));
	strncpy(victim->key, key, RL_KEYLEN - 1);
	victim->start = now;
	victim->count = 1;
}

double
ratelimit_retry_after(struct ratelimit *rl, const char *key, double now)
{
	struct rl_entry *e = find(rl, key, now);

	return e != NULL ? RL_WINDOW - (now - e->start) : 0;
}
