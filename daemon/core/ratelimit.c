/*
 * Rate limiting for the gestor. An open-addressing table of fixed size;
 * a key's slot comes from HMAC-SHA256 under a random key drawn for the
 * table, so slots cannot be predicted and colliding keys cannot be
 * found offline. An entry is live while its window runs (failure
 * counters) or while its bucket is not full again (token buckets); only
 * dead entries are reused. A key whose probe run holds only live entries
 * is refused: forgetting another key would let an attacker unblock it
 * by filling its neighbourhood.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "log.h"
#include "ratelimit.h"
#include "util.h"

#define RL_IDLEN	16

struct rl_entry {
	uint8_t		 id[RL_IDLEN];	/* first bytes of the key's MAC */
	double		 start;		/* window start, or bucket update */
	double		 until;		/* live while now < until */
	double		 level;		/* failures, or tokens spent */
};

struct ratelimit {
	uint8_t		 mackey[32];
	size_t		 mask;
	double		 window;
	struct rl_entry	*slots;
};

struct ratelimit *
ratelimit_new(size_t slots, double window)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));
	size_t n = RATELIMIT_PROBE;

	while (n < slots)
		n <<= 1;
	rl->mask = n - 1;
	rl->window = window;
	rl->slots = xcalloc(n, sizeof(*rl->slots));
	if (gnutls_rnd(GNUTLS_RND_KEY, rl->mackey, sizeof(rl->mackey)) != 0)
		fatalx("%s: no randomness for the hash key", __func__);
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	util_zero(rl->mackey, sizeof(rl->mackey));
	free(rl->slots);
	free(rl);
}

/* The key's identity and its first slot. */
static size_t
key_id(struct ratelimit *rl, const char *key, uint8_t id[RL_IDLEN])
{
	uint8_t mac[32];
	uint64_t h;

	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, rl->mackey, sizeof(rl->mackey),
	    key, strlen(key), mac) != 0)
		fatalx("%s: HMAC failed", __func__);
	memcpy(id, mac, RL_IDLEN);
	memcpy(&h, mac + RL_IDLEN, sizeof(h));
	return (size_t)h & rl->mask;
}

/*
 * Key's live entry, else a dead slot for it (*fresh set), else NULL:
 * the run is full.
 */
static struct rl_entry *
lookup(struct ratelimit *rl, const char *key, double now, bool *fresh)
{
	uint8_t id[RL_IDLEN];
	size_t h = key_id(rl, key, id);
	struct rl_entry *e, *dead = NULL;
	int i;

	*fresh = false;
	for (i = 0; i < RATELIMIT_PROBE; i++) {
		e = &rl->slots[(h + (size_t)i) & rl->mask];
		if (now >= e->until) {
			if (dead == NULL)
				dead = e;
		} else if (memcmp(e->id, id, RL_IDLEN) == 0)
			return e;
	}
	if (dead != NULL) {
		memset(dead, 0, sizeof(*dead));
		memcpy(dead->id, id, RL_IDLEN);
		*fresh = true;
	}
	return dead;
}

/* When the first live entry of key's full run dies. */
static double
run_frees_at(struct ratelimit *rl, const char *key)
{
	uint8_t id[RL_IDLEN];
	size_t h = key_id(rl, key, id);
	double t = INFINITY;
	int i;

	for (i = 0; i < RATELIMIT_PROBE; i++)
		t = fmin(t, rl->slots[(h + (size_t)i) & rl->mask].until);
	return t;
}

bool
ratelimit_blocked(struct ratelimit *rl, const char *key, long limit, double now)
{
	bool fresh;
	struct rl_entry *e = lookup(rl, key, now, &fresh);

	if (e == NULL)
		return true;
	return !fresh && e->level >= (double)limit;
}

bool
ratelimit_fail(struct ratelimit *rl, const char *key, double now)
{
	bool fresh;
	struct rl_entry *e = lookup(rl, key, now, &fresh);

	if (e == NULL)
		return false;
	if (fresh) {
		e->start = now;
		e->until = now + rl->window;
	}
	e->level++;
	return true;
}

void
ratelimit_forgive(struct ratelimit *rl, const char *key, double now)
{
	bool fresh;
	struct rl_entry *e = lookup(rl, key, now, &fresh);

	if (e == NULL || fresh || e->level < 1)
		return;
	/*
	 * Nothing left to count: the slot is free again. Otherwise every
	 * successful login held a slot for the window, and more logins in a
	 * minute than the table has slots (100 000 peers reconnecting to a
	 * restarted gestor) were refused as a full table.
	 */
	if (--e->level < 1)
		e->until = 0;
}

double
ratelimit_retry_after(struct ratelimit *rl, const char *key, double now)
{
	bool fresh;
	struct rl_entry *e = lookup(rl, key, now, &fresh);

	if (e == NULL)
		return run_frees_at(rl, key) - now;
	return fresh ? 0 : e->until - now;
}

bool
rl_bucket_take(struct rl_bucket *b, double cost, double burst, double rate,
    double now)
{
	double level = fmax(0, b->level - (now - b->t) * rate);

	b->t = now;
	b->level = level;
	if (level + cost > burst)
		return false;
	b->level = level + cost;
	return true;
}

bool
ratelimit_take(struct ratelimit *rl, const char *key, double cost,
    double burst, double rate, double now)
{
	bool fresh;
	struct rl_entry *e = lookup(rl, key, now, &fresh);
	struct rl_bucket b;

	if (e == NULL)
		return false;
	b.level = e->level;
	b.t = fresh ? now : e->start;
	if (!rl_bucket_take(&b, cost, burst, rate, now)) {
		if (fresh)
			e->until = 0;	/* nothing spent: leave the slot free */
		else {
			e->level = b.level;
			e->start = b.t;
		}
		return false;
	}
	e->level = b.level;
	e->start = b.t;
	e->until = now + b.level / rate;
	return true;
}

size_t
ratelimit_used(struct ratelimit *rl, double now)
{
	size_t i, n = 0;

	for (i = 0; i <= rl->mask; i++)
		if (now < rl->slots[i].until)
			n++;
	return n;
}

void
ratelimit_addr_key(const char *addr, char *out, size_t outlen)
{
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN + 8];

	/* Without a zone ("fe80::1%eth0"): the /64 is the same. */
	snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(addr, "%"), addr);
	if (strchr(buf, ':') == NULL || inet_pton(AF_INET6, buf, &a6) != 1) {
		snprintf(out, outlen, "%s", addr);
		return;
	}
	/* An IPv4 client of a dual-stack socket is its IPv4 address, not
	 * the /64 that every IPv4 address shares (::ffff:0:0/96). */
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		inet_ntop(AF_INET, a6.s6_addr + 12, buf, sizeof(buf));
		snprintf(out, outlen, "%s", buf);
		return;
	}
	memset(a6.s6_addr + 8, 0, 8);
	inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
	snprintf(out, outlen, "%s/64", buf);
}
