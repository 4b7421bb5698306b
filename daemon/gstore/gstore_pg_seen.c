/*
 * Heartbeat refreshes on PostgreSQL: every connected peer's last_seen once
 * a minute (1 667 a second at 100 000 peers). They are gathered for up to
 * GPG_SEEN_DELAY and written by one statement with many rows (two arrays,
 * names and times, through unnest) on a worker connection. The statement
 * only moves last_seen forward, so it needs no order against the user's
 * other statements (an offline written meanwhile on another worker wins).
 * A refresh is acknowledged when it is gathered; a clean stop writes what
 * is gathered before the goodbye (gpg_bye); a crash, or the server gone
 * when the batch is due, loses at most those seconds of refreshes: soft
 * state that the next heartbeat rewrites.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gstore_pg.h"
#include "log.h"
#include "util.h"

#define GPG_SEEN_DELAY		1.0	/* seconds a refresh may wait */
#define GPG_SEEN_MAX		4096	/* refreshes per statement */

static void
buf_add(struct gpg_buf *b, const char *s, size_t n)
{
	char *p;

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((p = realloc(b->p, b->cap)) == NULL)
			abort();
		b->p = p;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* name as an element of a text[] literal: quoted, " and \ escaped. */
static void
buf_add_quoted(struct gpg_buf *b, const char *name)
{
	buf_add(b, "\"", 1);
	for (; *name != '\0'; name++) {
		if (*name == '"' || *name == '\\')
			buf_add(b, "\\", 1);
		buf_add(b, name, 1);
	}
	buf_add(b, "\"", 1);
}

void
gpg_seen_add(struct gpg *pg, const struct guser *u)
{
	char num[32];
	int n;

	buf_add(&pg->seen_names, pg->nseen == 0 ? "{" : ",", 1);
	buf_add_quoted(&pg->seen_names, u->name);
	n = snprintf(num, sizeof(num), "%s%lld", pg->nseen == 0 ? "{" : ",",
	    (long long)u->last_seen);
	buf_add(&pg->seen_times, num, (size_t)n);
	if (pg->nseen++ == 0)
		pg->seen_since = util_mono();
}

/*
 * The gathered refreshes as one payload, "{names}\0{times}\0" (NULL if
 * none), and start gathering again.
 */
char *
gpg_seen_take(struct gpg *pg)
{
	struct gpg_buf out = { NULL, 0, 0 };

	if (pg->nseen == 0)
		return NULL;
	buf_add(&pg->seen_names, "}", 1);
	buf_add(&pg->seen_times, "}", 1);
	/* The names with their terminator, then the times. */
	buf_add(&out, pg->seen_names.p, pg->seen_names.len + 1);
	buf_add(&out, pg->seen_times.p, pg->seen_times.len);
	pg->seen_names.len = pg->seen_times.len = 0;
	pg->nseen = 0;
	return out.p;
}

/* On every timer tick (and when a batch fills): send it when due. */
void
gpg_seen_tick(struct gpg *pg, double now)
{
	struct gstore_op *op;

	if (pg->nseen == 0 || (pg->nseen < GPG_SEEN_MAX &&
	    now < pg->seen_since + GPG_SEEN_DELAY))
		return;
	op = xcalloc(1, sizeof(*op));
	op->front = pg->front;
	op->gs = pg->gs;
	op->kind = GOP_SEEN_MANY;
	op->priv = gpg_seen_take(pg);
	gpc_enqueue(pg, op);	/* fire-and-forget: freed when done */
}

void
gpg_seen_free(struct gpg *pg)
{
	free(pg->seen_names.p);
	free(pg->seen_times.p);
	memset(&pg->seen_names, 0, sizeof(pg->seen_names));
	memset(&pg->seen_times, 0, sizeof(pg->seen_times));
	pg->nseen = 0;
}
