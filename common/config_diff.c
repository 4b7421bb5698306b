/*
 * What differs between two loaded configurations, key by key of the
 * schema: what `reload` reports as applied or needing a restart.
 */
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "config_int.h"

/* Whether key k holds the same value in a and b. */
static bool
same_value(const struct key *k, const struct config *a, const struct config *b)
{
	const void *x = (const char *)a + k->off, *y = (const char *)b + k->off;
	char *const *l, *const *m;

	switch (k->type) {
	case K_GROUP:
		return true;
	case K_LIST:
		l = *(char *const *const *)x, m = *(char *const *const *)y;
		for (; *l != NULL && *m != NULL; l++, m++)
			if (strcmp(*l, *m) != 0)
				return false;
		return *l == NULL && *m == NULL;
	case K_DOUBLE:
		return *(const double *)x == *(const double *)y;
	case K_LONG:
		return *(const long *)x == *(const long *)y;
	case K_INT64:
		return *(const int64_t *)x == *(const int64_t *)y;
	case K_SYNC:
		return a->sync_full == b->sync_full;
	case K_BOOL:
	case K_MAIL_USE:
		return *(const bool *)x == *(const bool *)y;
	case K_MODE:
		return a->mode == b->mode;
	case K_LEVEL:
	case K_RELAY_USE:
	case K_ADV:
		return *(const int *)x == *(const int *)y;
	default:
		return strcmp(*(char *const *)x, *(char *const *)y) == 0;
	}
}

size_t
config_changed(const struct config *a, const struct config *b,
    const char **keys, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < config_schema_len; i++)
		if (!same_value(&config_schema[i], a, b) && n < max)
			keys[n++] = config_schema[i].path;
	return n;
}
