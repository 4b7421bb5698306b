/*
 * Files in the peer's store (see pstore_file.h), table files of peer
 * store migration 10. Every row read is checked as it is copied out: a
 * value that does not fit its field is an error, not a truncation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "pstore_file.h"
#include "sqlutil.h"
#include "util.h"

enum stmt { F_ADD, F_GET, F_ALL, F_PEER, F_NEXT, F_STATE, F_COMMIT,
    F_PEERS, F_ANY, F_DUE, F_NEXTEXP, F_NEEDED, F_LIVE_IN, F_DEL_PEER,
    F_CANCEL_ADD, F_CANCEL_DEL, F_CANCELS, F_HAS_CANCEL, F_TOMB,
    F_TOMB_GET, F__MAX };

#define F_COLS	"seq, id, peer, direction, name, size, sha256, state," \
	" committed, ts, reason, expires"

static const char *const sql[F__MAX] = {
	[F_ADD] = "INSERT INTO files (id, peer, direction, name, size, sha256,"
	    " state, committed, ts, reason, expires) VALUES (?1, ?2, ?3, ?4,"
	    " ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[F_GET] = "SELECT " F_COLS " FROM files WHERE id = ?1",
	[F_ALL] = "SELECT " F_COLS " FROM files ORDER BY seq",
	[F_PEER] = "SELECT " F_COLS " FROM files WHERE peer = ?1 ORDER BY seq",
	[F_NEXT] = "SELECT " F_COLS " FROM files WHERE peer = ?1 AND"
	    " direction = 'out' AND (state = 'pending' OR state = 'waiting')"
	    " ORDER BY seq LIMIT 1",
	[F_STATE] = "UPDATE files SET state = ?2, reason = ?3 WHERE id = ?1",
	[F_COMMIT] = "UPDATE files SET committed = ?2 WHERE id = ?1",
	[F_PEERS] = "SELECT peer FROM files WHERE direction = 'out'"
	    " AND (state = 'pending' OR state = 'waiting') UNION"
	    " SELECT peer FROM file_cancels",
	[F_DUE] = "SELECT " F_COLS " FROM files WHERE direction = 'out' AND"
	    " (state = 'pending' OR state = 'waiting') AND expires > 0 AND"
	    " expires <= ?1",
	[F_NEXTEXP] = "SELECT min(expires) FROM files WHERE direction = 'out'"
	    " AND (state = 'pending' OR state = 'waiting') AND expires > 0",
	[F_ANY] = "SELECT EXISTS (SELECT 1 FROM files WHERE direction = 'out'"
	    " AND (state = 'pending' OR state = 'waiting')) OR EXISTS (SELECT 1"
	    " FROM file_cancels)",
	/* A stored copy is needed while a file with its content is to be
	 * sent or is (being) received and not deleted (schema 14). */
	[F_NEEDED] = "SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = ?1 AND"
	    " ((direction = 'out' AND state IN ('pending', 'waiting')) OR"
	    " (direction = 'in' AND state IN ('received', 'receiving',"
	    " 'waiting', 'paused'))))",
	[F_LIVE_IN] = "SELECT EXISTS (SELECT 1 FROM files WHERE id = ?1 AND"
	    " direction = 'in' AND state IN ('receiving', 'waiting', 'paused'))",
	[F_DEL_PEER] = "DELETE FROM files WHERE peer = ?1",
	[F_TOMB] = "INSERT OR REPLACE INTO files_deleted (id, peer, state)"
	    " SELECT id, peer, state FROM files WHERE peer = ?1 AND"
	    " direction = 'in'",
	[F_TOMB_GET] = "SELECT state FROM files_deleted WHERE id = ?1 AND"
	    " peer = ?2",
	[F_CANCEL_ADD] = "INSERT OR REPLACE INTO file_cancels (id, peer) VALUES"
	    " (?1, ?2)",
	[F_CANCEL_DEL] = "DELETE FROM file_cancels WHERE id = ?1 AND peer = ?2",
	[F_CANCELS] = "SELECT id FROM file_cancels WHERE peer = ?1 LIMIT 256",
	[F_HAS_CANCEL] = "SELECT EXISTS (SELECT 1 FROM file_cancels WHERE"
	    " peer = ?1)",
};

struct pfile_store {
	struct pstore	*ps;
	sqlite3		*db;
	sqlite3_stmt	*st[F__MAX];
};

struct pfile_store *
pfile_open(struct pstore *ps, char **cause)
{
	struct pfile_store *fs = xcalloc(1, sizeof(*fs));

	fs->ps = ps;
	fs->db = pstore_db(ps);
	if (sqlutil_prepare(fs->db, "peer store", sql, fs->st, F__MAX,
	    cause) == -1) {
		pfile_close(fs);
		return NULL;
	}
	return fs;
}

void
pfile_close(struct pfile_store *fs)
{
	if (fs == NULL)
		return;
	sqlutil_finalize(fs->st, F__MAX);
	free(fs);
}

static enum pstore_rc
pfile_fail(struct pfile_store *fs, const char *func, sqlite3_stmt *s)
{
	log_warnx("%s: %s", func, sqlite3_errmsg(fs->db));
	sqlite3_reset(s);
	pstore_note_error(fs->ps);
	return PSTORE_ERR;
}

enum pstore_rc
pfile_add(struct pfile_store *fs, const struct pfile *f)
{
	sqlite3_stmt *s = sqlutil_reset(fs->st[F_ADD]);
	int rc;

	sqlite3_bind_text(s, 1, f->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, f->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, f->outgoing ? "out" : "in", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, f->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, f->size);
	sqlite3_bind_text(s, 6, f->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, f->state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, f->committed);
	sqlite3_bind_int64(s, 9, f->ts);
	sqlite3_bind_text(s, 10, f->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 11, f->expires);
	if ((rc = sqlite3_step(s)) == SQLITE_CONSTRAINT) {
		sqlite3_reset(s);
		return PSTORE_EXISTS;
	}
	if (rc != SQLITE_DONE)
		return pfile_fail(fs, __func__, s);
	sqlite3_reset(s);
	return PSTORE_OK;
}

/* The current row into f; -1 if a value does not fit. */
static int
read_row(sqlite3_stmt *s, struct pfile *f)
{
	memset(f, 0, sizeof(*f));
	f->seq = sqlite3_column_int64(s, 0);
	f->outgoing = strcmp((const char *)sqlite3_column_text(s, 3) != NULL ?
	    (const char *)sqlite3_column_text(s, 3) : "", "out") == 0;
	f->size = sqlite3_column_int64(s, 5);
	f->committed = sqlite3_column_int64(s, 8);
	f->ts = sqlite3_column_int64(s, 9);
	f->expires = sqlite3_column_int64(s, 11);
	if (sqlutil_column_copy(s, 1, f->id, sizeof(f->id)) == -1 ||
	    sqlutil_column_copy(s, 2, f->peer, sizeof(f->peer)) == -1 ||
	    sqlutil_column_copy(s, 4, f->name, sizeof(f->name)) == -1 ||
	    sqlutil_column_copy(s, 6, f->sha256, sizeof(f->sha256)) == -1 ||
	    sqlutil_column_copy(s, 7, f->state, sizeof(f->state)) == -1 ||
	    sqlutil_column_copy(s, 10, f->reason, sizeof(f->reason)) == -1)
		return -1;
	return 0;
}

/* The one row statement st gives for key (failures logged as fn's). */
static enum pstore_rc
get_one(struct pfile_store *fs, int st, const char *key, struct pfile *f,
    const char *fn)
{
	sqlite3_stmt *s = sqlutil_reset(fs->st[st]);
	int rc;

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_DONE) {
		sqlite3_reset(s);
		return PSTORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW || read_row(s, f) == -1)
		return pfile_fail(fs, fn, s);
	sqlite3_reset(s);
	return PSTORE_OK;
}

enum pstore_rc
pfile_get(struct pfile_store *fs, const char *id, struct pfile *f)
{
	return get_one(fs, F_GET, id, f, __func__);
}

enum pstore_rc
pfile_foreach(struct pfile_store *fs, const char *peer,
    int (*fn)(const struct pfile *, void *), void *arg)
{
	sqlite3_stmt *s = sqlutil_reset(fs->st[peer != NULL ? F_PEER : F_ALL]);
	struct pfile f;
	int rc;

	if (peer != NULL)
		sqlite3_bind_text(s, 1, peer, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (read_row(s, &f) == -1)
			return pfile_fail(fs, __func__, s);
		if (fn(&f, arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return pfile_fail(fs, __func__, s);
	sqlite3_reset(s);
	return PSTORE_OK;
}

enum pstore_rc
pfile_next_out(struct pfile_store *fs, const char *peer, struct pfile *f)
{
	return get_one(fs, F_NEXT, peer, f, __func__);
}

enum pstore_rc
pfile_set_state(struct pfile_store *fs, const char *id, const char *state,
    const char *reason)
{
	sqlite3_stmt *s = sqlutil_reset(fs->st[F_STATE]);

	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, reason != NULL ? reason : "", -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		return pfile_fail(fs, __func__, s);
	sqlite3_reset(s);
	return PSTORE_OK;
}

enum pstore_rc
pfile_set_committed(struct pfile_store *fs, const char *id, int64_t off)
{
	sqlite3_stmt *s = sqlutil_reset(fs->st[F_COMMIT]);

	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, off);
	if (sqlite3_step(s) != SQLITE_DONE)
		return pfile_fail(fs, __func__, s);
	sqlite3_reset(s);
	return PSTORE_OK;
}

enum pstore_rc
pfile_pending_peers(struct pfile_store *fs, void (*fn)(const char *, void *),
    void *arg)
{
	sqlite3_stmt *s = sqlutil_reset(fs->st[F_PEERS]);
	char peer[P2P_USERNAME_MAX + 1];
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (sqlutil_column_copy(s, 0, peer, sizeof(peer)) == 0)
			fn(peer, arg);
	if (rc != SQLITE_DONE)
		return pfile_fail(fs, __func__, s);
	sqlite3_reset(s);
	return PSTORE_OK;
}

int
pfile_any_pending(struct pfile_store *fs)
{
	sqlite3_stmt *s = sqlutil_reset(fs->st[F_ANY]);
	int v;

	if (sqlite3_step(s) != SQLITE_ROW) {
		pfile_fail(fs, __func__, s);
		return 1;	/* look again next time */
	}
	v = sqlite3_column_int(s, 0) != 0;
	sqlite3_reset(s);
	return v;
}

enum pstore_rc
pfile_expire(struct pfile_store *fs, int64_t now,
    void (*fn)(const struct pfile *, void *), void *arg, int64_t *next)
{
	sqlite3_stmt *s = sqlutil_reset(fs->st[F_DUE]);
	struct pfile due[64];
	int rc, n = 0, i;

	*next = 0;
	sqlite3_bind_int64(s, 1, now);
	while (n < 64 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		if (read_row(s, &due[n]) == 0)
			n++;
	sqlite3_reset(s);
	for (i = 0; i < n; i++) {
		if (pfile_set_state(fs, due[i].id, "expired", "not delivered "
		    "within its ttl") != PSTORE_OK ||
		    pfile_cancel_note(fs, due[i].id, due[i].peer) != PSTORE_OK)
			return PSTORE_ERR;
		fn(&due[i], arg);
	}
	s = sqlutil_reset(fs->st[F_NEXTEXP]);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW)
		return pfile_fail(fs, __func__, s);
	*next = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return PSTORE_OK;
}

/* Runs st with ?1 = a, ?2 = b (NULL: unbound): one step, no row. */
static enum pstore_rc
run2(struct pfile_store *fs, int st, const char *a, const char *b,
    const char *fn)
{
	sqlite3_stmt *s = sqlutil_reset(fs->st[st]);

	sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
	if (b != NULL)
		sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		return pfile_fail(fs, fn, s);
	sqlite3_reset(s);
	return PSTORE_OK;
}

enum pstore_rc
pfile_delete_peer(struct pfile_store *fs, const char *peer, int *deleted)
{
	enum pstore_rc rc;

	*deleted = 0;
	if ((rc = run2(fs, F_TOMB, peer, NULL, __func__)) != PSTORE_OK ||
	    (rc = run2(fs, F_DEL_PEER, peer, NULL, __func__)) != PSTORE_OK)
		return rc;
	*deleted = sqlite3_changes(fs->db);
	return PSTORE_OK;
}

enum pstore_rc
pfile_deleted(struct pfile_store *fs, const char *id, const char *peer,
    char *state, size_t len)
{
	sqlite3_stmt *s = sqlutil_reset(fs->st[F_TOMB_GET]);
	int rc;

	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, peer, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_DONE) {
		sqlite3_reset(s);
		return PSTORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW || sqlutil_column_copy(s, 0, state, len) == -1)
		return pfile_fail(fs, __func__, s);
	sqlite3_reset(s);
	return PSTORE_OK;
}

enum pstore_rc
pfile_cancel_note(struct pfile_store *fs, const char *id, const char *peer)
{
	return run2(fs, F_CANCEL_ADD, id, peer, __func__);
}

enum pstore_rc
pfile_cancel_told(struct pfile_store *fs, const char *id, const char *peer)
{
	return run2(fs, F_CANCEL_DEL, id, peer, __func__);
}

enum pstore_rc
pfile_cancels(struct pfile_store *fs, const char *peer,
    void (*fn)(const char *id, void *), void *arg)
{
	sqlite3_stmt *s = sqlutil_reset(fs->st[F_CANCELS]);
	char id[P2P_MSGID_HEX + 1];
	int rc;

	sqlite3_bind_text(s, 1, peer, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (sqlutil_column_copy(s, 0, id, sizeof(id)) == 0)
			fn(id, arg);
	if (rc != SQLITE_DONE)
		return pfile_fail(fs, __func__, s);
	sqlite3_reset(s);
	return PSTORE_OK;
}

/* Whether st (F_NEEDED, F_LIVE_IN, F_HAS_CANCEL) finds key; true on an
 * error too. */
static bool
exists(struct pfile_store *fs, int st, const char *key)
{
	sqlite3_stmt *s = sqlutil_reset(fs->st[st]);
	bool v;

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_ROW) {
		pfile_fail(fs, __func__, s);
		return true;	/* keep it: look again next time */
	}
	v = sqlite3_column_int(s, 0) != 0;
	sqlite3_reset(s);
	return v;
}

/* n hex digits, and nothing after them. */
static bool
all_hex(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return p[n] == '\0';
}

bool
pfile_unneeded(struct pfile_store *fs, const char *name)
{
	if (all_hex(name, 64))
		return !exists(fs, F_NEEDED, name);
	if (strncmp(name, ".in-", 4) == 0 && all_hex(name + 4, P2P_MSGID_HEX))
		return !exists(fs, F_LIVE_IN, name + 4);
	return false;
}

bool
pfile_has_cancels(struct pfile_store *fs, const char *peer)
{
	return exists(fs, F_HAS_CANCEL, peer);
}
