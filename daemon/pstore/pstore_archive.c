/*
 * Archive queries over the peer store: search, export, import, and the
 * deletion of a whole chat.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "sqlutil.h"
#include "pstore_archive.h"
#include "pstore_chat.h"
#include "util.h"

enum { A_SEARCH, A_EXPORT, A_IMPORT, A_CHAT, A__MAX };

static const char *const asql[A__MAX] = {
	/*
	 * Messages, groups' too (schema 9: ref 0), never the rows that
	 * deliver a group message, list or leave to one member (ref <> 0).
	 */
	[A_SEARCH] = "SELECT m.seq, m.id, m.peer, m.direction, m.body, m.ts_sent,"
	    " m.ts_received, m.state, m.reason, m.expires, m.grp, m.ref FROM"
	    " messages_fts f JOIN messages m ON m.seq = f.rowid WHERE"
	    " messages_fts MATCH ?1 AND (?2 IS NULL OR m.peer = ?2) AND"
	    " m.ref = 0 AND (?4 IS NULL OR m.grp = ?4) ORDER BY m.seq DESC"
	    " LIMIT ?3",
	[A_EXPORT] = "SELECT seq, id, peer, direction, body, ts_sent, ts_received,"
	    " state, reason, expires, grp, ref FROM messages WHERE (?1 IS NULL OR"
	    " peer = ?1) AND ref = 0 ORDER BY seq",
	[A_IMPORT] = "INSERT OR IGNORE INTO messages (id, peer, direction, body,"
	    " ts_sent, ts_received, state, reason, grp) VALUES (?1, ?2, ?3, ?4,"
	    " ?5, ?6, ?7, ?8, ?9)",
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
	char *q = xmalloc(4 * strlen(text) + 3), *o = q;
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
	if (o == q)	/* no word at all: an empty phrase, matching nothing */
		*o++ = '"', *o++ = '"';
	*o = '\0';
	return q;
}

enum pstore_rc
parch_search(struct parch *a, const char *query, const char *peer, int limit,
    pmsg_fn fn, void *arg, char *err, size_t errlen)
{
	return parch_search_group(a, query, peer, NULL, limit, fn, arg, err,
	    errlen);
}

enum pstore_rc
parch_search_group(struct parch *a, const char *query, const char *peer,
    const char *group, int limit, pmsg_fn fn, void *arg, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = st(a, A_SEARCH);

	sqlite3_bind_text(s, 1, query, -1, SQLITE_STATIC);
	if (peer != NULL)
		sqlite3_bind_text(s, 2, peer, -1, SQLITE_STATIC);
	if (group != NULL)
		sqlite3_bind_text(s, 4, group, -1, SQLITE_STATIC);
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
	char key[PCHAT_KEY_MAX + 1];

	sqlite3_bind_text(s, 1, m->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, m->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, m->outgoing ? "out" : "in", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, m->body, (int)m->body_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, m->ts_sent);
	sqlite3_bind_int64(s, 6, m->ts_received);
	sqlite3_bind_text(s, 7, m->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, m->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, m->group, -1, SQLITE_STATIC);
	if (step_done(a, s) != PSTORE_OK)
		return PSTORE_ERR;
	if (sqlite3_changes(a->db) == 0)
		return PSTORE_EXISTS;
	s = st(a, A_CHAT);
	if (*m->group != '\0') {
		pchat_group_key(m->group, key, sizeof(key));
		sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	} else
		sqlite3_bind_text(s, 1, m->peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, m->ts_received > m->ts_sent ? m->ts_received :
	    m->ts_sent);
	/* A message stored pending or held is in the queue (schema 7). */
	return step_done(a, s);
}

/* ------------------------------------------------------------ chat-delete */

/*
 * chat-delete is rare and changes the schema for a moment (below), so
 * its statements are prepared for each use, not kept with the others.
 * Runs sql with ?1 = peer; fn, if given, gets each row as a pmsg.
 */
static enum pstore_rc
run_peer(struct parch *a, const char *sql, const char *peer, pmsg_fn fn,
    void *arg, int *changes)
{
	sqlite3_stmt *s;
	struct pmsg m;
	int rc;

	if (sqlite3_prepare_v2(a->db, sql, -1, &s, NULL) != SQLITE_OK) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(a->db));
		return PSTORE_ERR;
	}
	sqlite3_bind_text(s, 1, peer, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		pmsg_row(s, &m);
		if (fn != NULL && fn(&m, arg) == -1)
			break;
	}
	if (changes != NULL)
		*changes = sqlite3_changes(a->db);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return PSTORE_OK;
	log_warnx("%s: %s", __func__, sqlite3_errmsg(a->db));
	return PSTORE_ERR;
}

enum pstore_rc
parch_queued(struct parch *a, const char *peer, pmsg_fn fn, void *arg)
{
	return run_peer(a, "SELECT seq, id, peer, direction, body, ts_sent,"
	    " ts_received, state FROM messages WHERE peer = ?1 AND"
	    " (state = 'pending' OR state = 'held') ORDER BY seq", peer, fn, arg,
	    NULL);
}

static enum pstore_rc
exec_sql(struct parch *a, const char *sql)
{
	if (sqlite3_exec(a->db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return PSTORE_OK;
	log_warnx("pstore_archive: %s", sqlite3_errmsg(a->db));
	return PSTORE_ERR;
}

/*
 * The trigger that writes a deleted message's events out as JSON scans
 * the whole events table for every row (events.msg has no index): for a
 * chat of thousands of messages, seconds. Its events go first, so it has
 * nothing to do: it is dropped around the DELETE and made again from its
 * own text, all inside the caller's transaction.
 */
static enum pstore_rc
delete_messages(struct parch *a, const char *peer, int *deleted)
{
	sqlite3_stmt *s;
	char *trigger = NULL;
	enum pstore_rc rc;

	if (sqlite3_prepare_v2(a->db, "SELECT sql FROM sqlite_master WHERE"
	    " type = 'trigger' AND name = 'messages_ad_events'", -1, &s,
	    NULL) != SQLITE_OK)
		return PSTORE_ERR;
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
		trigger = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if (trigger != NULL && exec_sql(a, "DROP TRIGGER messages_ad_events") !=
	    PSTORE_OK) {
		free(trigger);
		return PSTORE_ERR;
	}
	/* The chat's messages, not the groups' (schema 9). */
	rc = run_peer(a, "DELETE FROM messages WHERE peer = ?1 AND grp = ''",
	    peer, NULL, NULL, deleted);
	if (rc == PSTORE_OK && trigger != NULL)
		rc = exec_sql(a, trigger);
	free(trigger);
	return rc;
}

enum pstore_rc
parch_delete_chat(struct parch *a, const char *peer, int *deleted)
{
	static const char *const others[] = {
		/* Events about its messages, by reference or as JSON. */
		"DELETE FROM events WHERE msg IS NOT NULL AND EXISTS (SELECT 1"
		" FROM messages m WHERE m.seq = events.msg AND m.peer = ?1 AND"
		" m.grp = '')",
		"DELETE FROM events WHERE msg IS NULL AND json_valid(data) AND"
		" (json_extract(data, '$.from') = ?1 OR"
		" json_extract(data, '$.user') = ?1)",
		"DELETE FROM chats WHERE peer = ?1",
		"DELETE FROM queue_retry WHERE peer = ?1",
	};
	enum pstore_rc rc = PSTORE_OK;
	size_t i;

	*deleted = 0;
	/* What is deleted is overwritten, not left in free pages. */
	if (exec_sql(a, "PRAGMA secure_delete = ON") != PSTORE_OK)
		return PSTORE_ERR;
	for (i = 0; i < 2 && rc == PSTORE_OK; i++)
		rc = run_peer(a, others[i], peer, NULL, NULL, NULL);
	if (rc == PSTORE_OK)
		rc = delete_messages(a, peer, deleted);
	for (i = 2; i < sizeof(others) / sizeof(others[0]) && rc == PSTORE_OK;
	    i++)
		rc = run_peer(a, others[i], peer, NULL, NULL, NULL);
	if (exec_sql(a, "PRAGMA secure_delete = OFF") != PSTORE_OK)
		rc = PSTORE_ERR;
	return rc;
}
