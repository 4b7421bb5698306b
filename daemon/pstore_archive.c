/*
 * Archive queries over the peer store: search, export, import.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "sqlutil.h"
#include "pstore_archive.h"
#include "util.h"

enum { A_SEARCH, A_EXPORT, A_IMPORT, A_CHAT, A__MAX };

static const char *const asql[A__MAX] = {
	[A_SEARCH] = "SELECT m.seq, m.id, m.peer, m.direction, m.body, m.ts_sent,"
	    " m.ts_received, m.state FROM messages_fts f JOIN messages m"
	    " ON m.seq = f.rowid WHERE messages_fts MATCH ?1"
	    " AND (?2 IS NULL OR m.peer = ?2) ORDER BY m.seq DESC LIMIT ?3",
	[A_EXPORT] = "SELECT seq, id, peer, direction, body, ts_sent, ts_received,"
	    " state, reason, expires FROM messages WHERE (?1 IS NULL OR peer = ?1)"
	    " ORDER BY seq",
	[A_IMPORT] = "INSERT OR IGNORE INTO messages (id, peer, direction, body,"
	    " ts_sent, ts_received, state, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
	    " ?7, ?8)",
	[A_CHAT] = "INSERT INTO chats (peer, last_activity) VALUES (?1, ?2)"
	    " ON CONFLICT (peer) DO UPDATE SET last_activity ="
	    " max(last_activity, excluded.last_activity)",
};

struct parch {
	sqlite3		*db;
	sqlite3_stmt	*st[A__MAX];
};

struct parch *
parch_open(struct pstore *ps, char **cause)
{
	struct parch *a = xcalloc(1, sizeof(*a));

	a->db = pstore_db(ps);
	if (sqlutil_prepare(a->db, "peer store", asql, a->st, A__MAX,
	    cause) == -1) {
		parch_close(a);
		return NULL;
	}
	return a;
}

void
parch_close(struct parch *a)
{
	if (a == NULL)
		return;
	sqlutil_finalize(a->st, A__MAX);
	free(a);
}

static sqlite3_stmt *
st(struct parch *a, int i)
{
	return sqlutil_reset(a->st[i]);
}

static enum pstore_rc
each(struct parch *a, sqlite3_stmt *s, pmsg_fn fn, void *arg, char *err,
    size_t errlen)
{
	struct pmsg m;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		pmsg_row(s, &m);
		if (fn(&m, arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE && err != NULL)
		snprintf(err, errlen, "%s", sqlite3_errmsg(a->db));
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PSTORE_OK : PSTORE_ERR;
}

/* Each word of text as an FTS5 string ("it's" -> "it's", a"b -> "a""b"). */
char *
parch_fts_literal(const char *text)
{
	char *q = xmalloc(4 * strlen(text) + 1), *o = q;
	bool inword = false;

	for (; *text != '\0'; text++) {
		if (strchr(" \t\n\r\f\v", *text) != NULL) {
			if (inword)
				*o++ = '"';
			inword = false;
			continue;
		}
		if (!inword && o > q)
			*o++ = ' ';
		if (!inword)
			*o++ = '"';
		inword = true;
		if (*text == '"')
			*o++ = '"';
		*o++ = *text;
	}
	if (inword)
		*o++ = '"';
	*o = '\0';
	return q;
}

enum pstore_rc
parch_search(struct parch *a, const char *query, const char *peer, int limit,
    pmsg_fn fn, void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *s = st(a, A_SEARCH);

	sqlite3_bind_text(s, 1, query, -1, SQLITE_STATIC);
	if (peer != NULL)
		sqlite3_bind_text(s, 2, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, limit);
	return each(a, s, fn, arg, err, errlen);
}

enum pstore_rc
parch_export(struct parch *a, const char *peer, pmsg_fn fn, void *arg)
{
	sqlite3_stmt *s = st(a, A_EXPORT);

	if (peer != NULL)
		sqlite3_bind_text(s, 1, peer, -1, SQLITE_STATIC);
	return each(a, s, fn, arg, NULL, 0);
}

static enum pstore_rc
step_done(struct parch *a, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return PSTORE_OK;
	log_warnx("pstore_archive: %s", sqlite3_errmsg(a->db));
	return PSTORE_ERR;
}

enum pstore_rc
parch_import(struct parch *a, const struct pmsg *m)
{
	sqlite3_stmt *s = st(a, A_IMPORT);

	sqlite3_bind_text(s, 1, m->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, m->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, m->outgoing ? "out" : "in", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, m->body, (int)m->body_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, m->ts_sent);
	sqlite3_bind_int64(s, 6, m->ts_received);
	sqlite3_bind_text(s, 7, m->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, m->reason, -1, SQLITE_STATIC);
	if (step_done(a, s) != PSTORE_OK)
		return PSTORE_ERR;
	if (sqlite3_changes(a->db) == 0)
		return PSTORE_EXISTS;
	s = st(a, A_CHAT);
	sqlite3_bind_text(s, 1, m->peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, m->ts_received > m->ts_sent ? m->ts_received :
	    m->ts_sent);
	/* A message stored pending or held is in the queue (schema 7). */
	return step_done(a, s);
}
