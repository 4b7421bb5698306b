/*
 * Message requests in the peer's store (see pstore_request.h): table
 * accepted (the peers this account wrote to or trusted) and table
 * requests, one row per stranger with what its stored messages take and
 * its current one-minute window, so that every check and update is one
 * lookup by primary key, whatever the limits (peer store migration 8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "pstore_request.h"
#include "sqlutil.h"
#include "util.h"

enum stmt { R_ACCEPT, R_FORGET, R_ACCEPTED, R_HAS, R_USE, R_NOTE, R__MAX };

static const char *const sql[R__MAX] = {
	[R_ACCEPT] = "INSERT OR IGNORE INTO accepted (peer) VALUES (?1)",
	[R_FORGET] = "DELETE FROM requests WHERE peer = ?1",
	[R_ACCEPTED] = "SELECT EXISTS (SELECT 1 FROM accepted WHERE peer = ?1)"
	    " OR EXISTS (SELECT 1 FROM contacts WHERE name = ?1 AND"
	    " verified <> 0)",
	[R_HAS] = "SELECT 1 FROM messages WHERE id = ?1",
	[R_USE] = "SELECT messages, bytes, window_start, window_count FROM"
	    " requests WHERE peer = ?1",
	/* ?3 now, ?4 the window's length: a new window once it is over. */
	[R_NOTE] = "INSERT INTO requests (peer, messages, bytes, window_start,"
	    " window_count) VALUES (?1, 1, ?2, ?3, 1) ON CONFLICT (peer) DO"
	    " UPDATE SET messages = messages + 1, bytes = bytes + ?2,"
	    " window_count = CASE WHEN ?3 - window_start >= ?4 THEN 1 ELSE"
	    " window_count + 1 END, window_start = CASE WHEN ?3 - window_start"
	    " >= ?4 THEN ?3 ELSE window_start END",
};

struct preq_store {
	struct pstore	*ps;
	sqlite3		*db;
	sqlite3_stmt	*st[R__MAX];
};

struct preq_store *
preq_open(struct pstore *ps, char **cause)
{
	struct preq_store *rs = xcalloc(1, sizeof(*rs));

	rs->ps = ps;
	rs->db = pstore_db(ps);
	if (sqlutil_prepare(rs->db, "peer store", sql, rs->st, R__MAX,
	    cause) == -1) {
		preq_close(rs);
		return NULL;
	}
	return rs;
}

void
preq_close(struct preq_store *rs)
{
	if (rs == NULL)
		return;
	sqlutil_finalize(rs->st, R__MAX);
	free(rs);
}

static enum pstore_rc
preq_fail(struct preq_store *rs, const char *func, sqlite3_stmt *s)
{
	log_warnx("%s: %s", func, sqlite3_errmsg(rs->db));
	sqlite3_reset(s);
	pstore_note_error(rs->ps);
	return PSTORE_ERR;
}

/* Step a statement that returns nothing. */
static enum pstore_rc
preq_run(struct preq_store *rs, sqlite3_stmt *s, const char *func)
{
	if (sqlite3_step(s) != SQLITE_DONE)
		return preq_fail(rs, func, s);
	sqlite3_reset(s);
	return PSTORE_OK;
}

enum pstore_rc
preq_accept(struct preq_store *rs, const char *peer)
{
	sqlite3_stmt *s = sqlutil_reset(rs->st[R_ACCEPT]);

	sqlite3_bind_text(s, 1, peer, -1, SQLITE_STATIC);
	if (preq_run(rs, s, __func__) != PSTORE_OK)
		return PSTORE_ERR;
	s = sqlutil_reset(rs->st[R_FORGET]);
	sqlite3_bind_text(s, 1, peer, -1, SQLITE_STATIC);
	return preq_run(rs, s, __func__);
}

/* The one integer a query answers (0 without a row), or -1. */
static int
preq_int(struct preq_store *rs, enum stmt which, const char *arg,
    const char *func)
{
	sqlite3_stmt *s = sqlutil_reset(rs->st[which]);
	int rc, v;

	sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_DONE) {
		sqlite3_reset(s);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		preq_fail(rs, func, s);
		return -1;
	}
	v = sqlite3_column_int(s, 0) != 0;
	sqlite3_reset(s);
	return v;
}

int
preq_accepted(struct preq_store *rs, const char *peer)
{
	return preq_int(rs, R_ACCEPTED, peer, __func__);
}

int
preq_has(struct preq_store *rs, const char *id)
{
	return preq_int(rs, R_HAS, id, __func__);
}

enum pstore_rc
preq_use(struct preq_store *rs, const char *peer, int64_t now,
    int64_t window, struct preq_use *u)
{
	sqlite3_stmt *s = sqlutil_reset(rs->st[R_USE]);
	int rc;

	memset(u, 0, sizeof(*u));
	sqlite3_bind_text(s, 1, peer, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_DONE) {
		sqlite3_reset(s);
		return PSTORE_OK;
	}
	if (rc != SQLITE_ROW)
		return preq_fail(rs, __func__, s);
	u->messages = (long)sqlite3_column_int64(s, 0);
	u->bytes = sqlite3_column_int64(s, 1);
	if (now - sqlite3_column_int64(s, 2) < window)
		u->recent = (long)sqlite3_column_int64(s, 3);
	sqlite3_reset(s);
	return PSTORE_OK;
}

enum pstore_rc
preq_note(struct preq_store *rs, const char *peer, int64_t bytes,
    int64_t now, int64_t window)
{
	sqlite3_stmt *s = sqlutil_reset(rs->st[R_NOTE]);

	sqlite3_bind_text(s, 1, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, bytes);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, window);
	return preq_run(rs, s, __func__);
}
