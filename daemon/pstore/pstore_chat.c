/*
 * Chat rows of the peer store (see pstore_chat.h). A transaction's
 * deltas live in a small open-addressing table keyed by peer name; the
 * store's commit hook writes them with one upsert per chat before the
 * COMMIT, and its rollback hook forgets them. Reads of chats flush first,
 * so they see what the transaction did so far.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "sqlutil.h"
#include "pstore_chat.h"
#include "util.h"

enum { C_NOTE, C_MARK_READ, C_LIST, C__MAX };

static const char *const csql[C__MAX] = {
	[C_NOTE] = "INSERT INTO chats (peer, last_activity, unread)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT (peer) DO UPDATE SET"
	    " last_activity = max(last_activity, excluded.last_activity),"
	    " unread = unread + excluded.unread",
	[C_MARK_READ] = "UPDATE chats SET unread = 0 WHERE peer = ?1",
	/* A request: from someone neither written to nor trusted (schema 8). */
	/* A group's chat (schema 9) previews its last message, is no request. */
	[C_LIST] = "SELECT c.peer, c.unread, c.last_activity, CASE WHEN"
	    " substr(c.peer, 1, 1) = '#' THEN (SELECT body FROM messages m WHERE"
	    " m.grp = substr(c.peer, 2) AND m.grp <> '' AND m.ref = 0 ORDER BY"
	    " seq DESC LIMIT 1) ELSE (SELECT body FROM messages m WHERE m.peer ="
	    " c.peer AND m.grp = '' ORDER BY seq DESC LIMIT 1) END,"
	    " substr(c.peer, 1, 1) <> '#' AND"
	    " NOT EXISTS (SELECT 1 FROM accepted a WHERE a.peer = c.peer) AND"
	    " NOT EXISTS (SELECT 1 FROM contacts k WHERE k.name = c.peer AND"
	    " k.verified <> 0)"
	    " FROM chats c ORDER BY c.last_activity DESC, c.peer",
};

struct pchat_delta {
	char	 peer[PCHAT_KEY_MAX + 1];	/* "" = free slot */
	int64_t	 last;
	long	 unread;
};

struct pchat {
	struct pstore		*ps;
	sqlite3			*db;
	sqlite3_stmt		*st[C__MAX];
	struct pchat_delta	*slot;		/* nslots, a power of 2 */
	size_t			 nslots, used;
};

#define PCHAT_SLOTS	16

static enum pstore_rc	pchat_flush_hook(void *);
static void		pchat_drop_hook(void *);

void
pchat_group_key(const char *group, char *out, size_t outlen)
{
	snprintf(out, outlen, "#%s", group);
}

struct pchat *
pchat_open(struct pstore *ps, char **cause)
{
	struct pchat *c = xcalloc(1, sizeof(*c));

	c->ps = ps;
	c->db = pstore_db(ps);
	if (sqlutil_prepare(c->db, "peer store", csql, c->st, C__MAX,
	    cause) == -1) {
		pchat_close(c);
		return NULL;
	}
	pstore_set_hooks(ps, pchat_flush_hook, pchat_drop_hook, c);
	return c;
}

void
pchat_close(struct pchat *c)
{
	if (c == NULL)
		return;
	if (c->used > 0)
		log_warnx("%s: %zu chat changes never committed", __func__,
		    c->used);
	pstore_set_hooks(c->ps, NULL, NULL, NULL);
	sqlutil_finalize(c->st, C__MAX);
	free(c->slot);
	free(c);
}

static uint32_t
pchat_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of peer, a free one if it has none (pchat_grow made room). */
static struct pchat_delta *
pchat_find(struct pchat *c, const char *peer)
{
	size_t i;

	for (i = pchat_hash(peer) & (c->nslots - 1);; i = (i + 1) &
	    (c->nslots - 1))
		if (c->slot[i].peer[0] == '\0' ||
		    strcmp(c->slot[i].peer, peer) == 0)
			return &c->slot[i];
}

/* Room for one more delta: at most half the slots in use. */
static void
pchat_grow(struct pchat *c)
{
	struct pchat_delta *old = c->slot, *d;
	size_t i, n = c->nslots;

	if (c->nslots != 0 && (c->used + 1) * 2 <= c->nslots)
		return;
	c->nslots = n == 0 ? PCHAT_SLOTS : n * 2;
	c->slot = xcalloc(c->nslots, sizeof(*c->slot));
	for (i = 0; i < n; i++) {
		if (old[i].peer[0] == '\0')
			continue;
		d = pchat_find(c, old[i].peer);
		*d = old[i];
	}
	free(old);
}

/* Write one chat's delta. */
static enum pstore_rc
pchat_write(struct pchat *c, const char *peer, int64_t when, long unread)
{
	sqlite3_stmt *s = sqlutil_reset(c->st[C_NOTE]);
	int rc;

	sqlite3_bind_text(s, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, when);
	sqlite3_bind_int64(s, 3, unread);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return PSTORE_OK;
	log_warnx("%s: %s", __func__, sqlite3_errmsg(c->db));
	pstore_note_error(c->ps);
	return PSTORE_ERR;
}

enum pstore_rc
pchat_note(struct pchat *c, const char *peer, int64_t when, int unread)
{
	struct pchat_delta *d;

	/* Outside a transaction, or a name the table cannot key: now. */
	if (sqlite3_get_autocommit(c->db) || *peer == '\0' ||
	    strlen(peer) >= sizeof(d->peer))
		return pchat_write(c, peer, when, unread);
	pchat_grow(c);
	d = pchat_find(c, peer);
	if (d->peer[0] == '\0') {
		snprintf(d->peer, sizeof(d->peer), "%s", peer);
		d->last = when;
		d->unread = 0;
		c->used++;
	} else if (when > d->last)
		d->last = when;
	d->unread += unread;
	return PSTORE_OK;
}

static void
pchat_drop_hook(void *arg)
{
	struct pchat *c = arg;

	if (c->used == 0)
		return;
	memset(c->slot, 0, c->nslots * sizeof(*c->slot));
	c->used = 0;
}

enum pstore_rc
pchat_flush(struct pchat *c)
{
	size_t i;

	for (i = 0; i < c->nslots && c->used > 0; i++) {
		if (c->slot[i].peer[0] == '\0')
			continue;
		if (pchat_write(c, c->slot[i].peer, c->slot[i].last,
		    c->slot[i].unread) != PSTORE_OK)
			return PSTORE_ERR;	/* the caller rolls back */
		memset(&c->slot[i], 0, sizeof(c->slot[i]));
		c->used--;
	}
	return PSTORE_OK;
}

static enum pstore_rc
pchat_flush_hook(void *arg)
{
	return pchat_flush(arg);
}

enum pstore_rc
pchat_mark_read(struct pchat *c, const char *peer)
{
	sqlite3_stmt *s;
	int rc;

	if (pchat_flush(c) != PSTORE_OK)
		return PSTORE_ERR;
	s = sqlutil_reset(c->st[C_MARK_READ]);
	sqlite3_bind_text(s, 1, peer, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return PSTORE_OK;
	log_warnx("%s: %s", __func__, sqlite3_errmsg(c->db));
	pstore_note_error(c->ps);
	return PSTORE_ERR;
}

enum pstore_rc
pchat_list(struct pchat *c,
    int (*fn)(const char *, long, int64_t, const char *, bool, void *),
    void *arg)
{
	sqlite3_stmt *s;
	int rc;

	if (pchat_flush(c) != PSTORE_OK)
		return PSTORE_ERR;
	s = sqlutil_reset(c->st[C_LIST]);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (fn((const char *)sqlite3_column_text(s, 0),
		    (long)sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
		    (const char *)sqlite3_column_text(s, 3),
		    sqlite3_column_int(s, 4) != 0, arg) == -1)
			break;
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return PSTORE_OK;
	log_warnx("%s: %s", __func__, sqlite3_errmsg(c->db));
	return PSTORE_ERR;
}
