/*
 * The relay's holders: for each kind (accounts, sources) a hash table of
 * keys with a session count, an entry freed when its count drops to 0.
 * Slots come from a hash keyed with a random seed drawn at start, so
 * nobody can choose names that pile up in one chain. rshare_top walks
 * every entry: it runs only when the relay is full.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "log.h"
#include "relay_share.h"
#include "util.h"

#define RSHARE_BUCKETS	4096	/* per kind; a power of two */
#define RSHARE_KEY_MAX	72	/* usernames (32) and source keys (< 64) */

struct rholder {
	struct rholder	*next;
	long		 n;
	char		 key[RSHARE_KEY_MAX];
};

struct rshare {
	uint64_t	 seed;
	struct rholder	*b[2][RSHARE_BUCKETS];
};

struct rshare *
rshare_new(void)
{
	struct rshare *sh = xcalloc(1, sizeof(*sh));

	if (gnutls_rnd(GNUTLS_RND_NONCE, &sh->seed, sizeof(sh->seed)) != 0)
		fatalx("%s: no random seed", __func__);
	return sh;
}

void
rshare_free(struct rshare *sh)
{
	struct rholder *h, *next;
	size_t k, i;

	if (sh == NULL)
		return;
	for (k = 0; k < 2; k++)
		for (i = 0; i < RSHARE_BUCKETS; i++)
			for (h = sh->b[k][i]; h != NULL; h = next) {
				next = h->next;
				free(h);
			}
	free(sh);
}

/* FNV-1a from a secret starting point, then a final mix. */
static size_t
slot(const struct rshare *sh, const char *key)
{
	uint64_t x = 14695981039346656037ULL ^ sh->seed;

	for (; *key != '\0'; key++)
		x = (x ^ (unsigned char)*key) * 1099511628211ULL;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)(x & (RSHARE_BUCKETS - 1));
}

static struct rholder **
find(const struct rshare *sh, enum rshare_kind kind, const char *key)
{
	struct rholder *const *pp = &sh->b[kind][slot(sh, key)];

	while (*pp != NULL && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return (struct rholder **)pp;
}

void
rshare_add(struct rshare *sh, enum rshare_kind kind, const char *key)
{
	struct rholder **pp = find(sh, kind, key);

	if (*pp == NULL) {
		*pp = xcalloc(1, sizeof(**pp));
		snprintf((*pp)->key, sizeof((*pp)->key), "%s", key);
	}
	(*pp)->n++;
}

void
rshare_del(struct rshare *sh, enum rshare_kind kind, const char *key)
{
	struct rholder **pp = find(sh, kind, key), *h = *pp;

	if (h == NULL)
		fatalx("%s: %s holds no session", __func__, key);
	if (--h->n > 0)
		return;
	*pp = h->next;
	free(h);
}

long
rshare_count(const struct rshare *sh, enum rshare_kind kind, const char *key)
{
	struct rholder **pp = find(sh, kind, key);

	return *pp != NULL ? (*pp)->n : 0;
}

const char *
rshare_top(const struct rshare *sh, enum rshare_kind kind, long *n)
{
	const struct rholder *h, *top = NULL;
	size_t i;

	for (i = 0; i < RSHARE_BUCKETS; i++)
		for (h = sh->b[kind][i]; h != NULL; h = h->next)
			if (top == NULL || h->n > top->n)
				top = h;
	*n = top != NULL ? top->n : 0;
	return top != NULL ? top->key : NULL;
}
