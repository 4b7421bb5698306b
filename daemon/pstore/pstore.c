/*
 * The peer's store: data_dir/peer.db on SQLite in WAL mode, created 0600
 * and refused if group or others may read it. This file opens and
 * migrates the database (the numbered migrations of pstore_schema.c,
 * under PRAGMA user_version; schema 7), runs its transactions and holds
 * the account settings and contacts; pstore_msg.c holds chats and
 * messages, pstore_archive.c search, export and import, pstore_route.c
 * routes, all on the same handle. Every statement is prepared once per
 * store.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "pstore.h"
#include "sqlckpt.h"
#include "sqlutil.h"
#include "util.h"

enum pstore_stmt {
	PS_BEGIN,
	PS_COMMIT,
	PS_ROLLBACK,
	PS_SETTING_GET,
	PS_SETTING_SET,
	PS_SETTING_DEL,
	PS_CONTACT_GET,
	PS_CONTACT_PUT,
	PS_CONTACT_LIST,
	PS_FTS_ANY,
	PS_FTS_INDEX,
	PS_FTS_CLEAR,
	PS_FTS_INDEX_SOME,
	PS_FTS_CLEAR_SOME,
	PS_MAX
};

#define PSTORE_CONTACT_COLS \
	"name, fingerprint, verified, addr, port, last_seen, prev_fingerprint"

static const char *const pstore_sql[PS_MAX] = {
	[PS_BEGIN] = "BEGIN IMMEDIATE",
	[PS_FTS_ANY] = "SELECT 1 FROM fts_pending LIMIT 1",
	[PS_FTS_INDEX] = "INSERT INTO messages_fts (rowid, body) SELECT m.seq,"
	    " m.body FROM fts_pending p JOIN messages m ON m.seq = p.seq",
	[PS_FTS_CLEAR] = "DELETE FROM fts_pending",
	/* pstore_fts_flush: the oldest ?1 noted rows (the same in both). */
	[PS_FTS_INDEX_SOME] = "INSERT INTO messages_fts (rowid, body) SELECT"
	    " m.seq, m.body FROM fts_pending p JOIN messages m ON m.seq = p.seq"
	    " ORDER BY p.seq LIMIT ?1",
	/* Up to the ?1th oldest, or all: scalar subqueries, no temporary
	 * table (an IN (SELECT ... LIMIT) collects the rows in one). */
	[PS_FTS_CLEAR_SOME] = "DELETE FROM fts_pending WHERE seq <= coalesce("
	    "(SELECT seq FROM fts_pending ORDER BY seq LIMIT 1 OFFSET ?1 - 1),"
	    " (SELECT max(seq) FROM fts_pending))",
	[PS_COMMIT] = "COMMIT",
	[PS_ROLLBACK] = "ROLLBACK",
	[PS_SETTING_GET] = "SELECT value FROM settings WHERE key = ?",
	[PS_SETTING_SET] = "INSERT INTO settings (key, value) VALUES (?, ?)"
	    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[PS_SETTING_DEL] = "DELETE FROM settings WHERE key = ?",
	[PS_CONTACT_GET] = "SELECT " PSTORE_CONTACT_COLS " FROM contacts"
	    " WHERE name = ?",
	/* An upsert, not REPLACE: the row is never deleted, so rows that
	 * refer to the contact are left alone. */
	[PS_CONTACT_PUT] = "INSERT INTO contacts (" PSTORE_CONTACT_COLS ")"
	    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
	    " fingerprint = excluded.fingerprint,"
	    " verified = excluded.verified, addr = excluded.addr,"
	    " port = excluded.port, last_seen = excluded.last_seen,"
	    " prev_fingerprint = excluded.prev_fingerprint",
	[PS_CONTACT_LIST] = "SELECT " PSTORE_CONTACT_COLS " FROM contacts"
	    " ORDER BY name",
};

/*
 * Contacts read for every `send` (send_admit) were 7% of the sender's
 * CPU: a small direct-mapped cache of contact rows, and of names with
 * none, by name. pstore_contact_put is the only writer of contacts (and
 * one p2pchatd per data_dir holds the store): it drops the name's entry,
 * and a rollback drops them all, since a row read inside a transaction
 * may be undone.
 */
#define PSTORE_CONTACT_CACHE	64

struct pstore_cached {
	enum pstore_rc	 rc;		/* OK or NOTFOUND; 0 = OK */
	bool		 valid;
	struct pcontact	 c;		/* c.name always set */
};

struct pstore {
	sqlite3		*db;
	sqlite3_stmt	*stmt[PS_MAX];
	int		 wal_pages;	/* after the last commit */
	int64_t		 failing_since;	/* unix ms of the first failed write */
	char		 last_error[256];
	/* pstore_chat.c's deltas: written before COMMIT, dropped on ROLLBACK */
	enum pstore_rc	(*flush)(void *);
	void		(*drop)(void *);
	void		*hook_arg;
	struct pstore_cached *contacts;	/* PSTORE_CONTACT_CACHE, lazily */
	bool		 fts_deferred;	/* pstore_fts_defer */
	bool		 sync_full;	/* storage.synchronous = "full" */
	struct sqlckpt	*ck;		/* the WAL's checkpointer thread */
};

/*
 * Checkpoints: SQLite's automatic one runs inside the COMMIT that
 * crosses 1000 WAL pages, so the acks and events of that commit waited
 * for it (the p99 of delivery latency). A thread checkpoints on its own
 * connection (core/sqlckpt.c), so that the loop never waits for the
 * checkpoint's writes and its fsync of the database (issue 31: 12% and
 * 22% of the sender's and the recipient's CPU in make bench, and as many
 * ~1000-page fsyncs). Without the thread, the daemon checkpoints after
 * its replies are out (pstore_checkpoint); the hook only steps in if
 * nobody did for much longer.
 */
#define PSTORE_WAL_SOFT		1000	/* pages: pstore_checkpoint_due() */
#define PSTORE_WAL_HARD		10000	/* pages: checkpoint in the commit */


/* After every commit: remember the WAL's size; a safety net past HARD. */
static int
pstore_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct pstore *ps = arg;

	ps->wal_pages = pages;
	if (pages >= PSTORE_WAL_HARD) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
		ps->wal_pages = 0;
	}
	return SQLITE_OK;
}

bool
pstore_checkpoint_due(const struct pstore *ps)
{
	return ps->wal_pages >= PSTORE_WAL_SOFT;
}

void
pstore_checkpoint(struct pstore *ps)
{
	if (sqlite3_wal_checkpoint_v2(ps->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL) != SQLITE_OK)
		log_warnx("%s: %s", __func__, sqlite3_errmsg(ps->db));
	ps->wal_pages = 0;
}

struct pstore *
pstore_open(const char *path, bool sync_full, char **cause)
{
	struct pstore *ps = xcalloc(1, sizeof(*ps));
	const char *const *mig;
	int nmig;

	mig = pstore_schema(&nmig);
	ps->db = sqlutil_open(path, sync_full, mig, nmig, cause);
	ps->sync_full = sync_full;
	if (ps->db == NULL ||
	    sqlutil_prepare(ps->db, path, pstore_sql, ps->stmt, PS_MAX,
	    cause) == -1) {
		pstore_close(ps);
		return NULL;
	}
	if ((ps->ck = sqlckpt_start(ps->db, path, sync_full,
	    PSTORE_WAL_SOFT)) == NULL)
		sqlite3_wal_hook(ps->db, pstore_wal_hook, ps);
	return ps;
}

/* Statements pstore_msg.c prepared on the handle must be gone by now. */
void
pstore_close(struct pstore *ps)
{
	if (ps == NULL)
		return;
	if (ps->db != NULL && !sqlite3_get_autocommit(ps->db)) {
		log_warnx("%s: transaction still open, rolled back", __func__);
		sqlite3_exec(ps->db, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlckpt_stop(ps->ck);
	sqlutil_finalize(ps->stmt, PS_MAX);
	free(ps->contacts);
	if (sqlite3_close(ps->db) != SQLITE_OK) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(ps->db));
		sqlite3_close_v2(ps->db);
	}
	free(ps);
}

struct sqlite3 *
pstore_db(struct pstore *ps)
{
	return ps->db;
}

/* The statement, reset and unbound, ready for this call. */
static sqlite3_stmt *
pstore_stmt(struct pstore *ps, enum pstore_stmt which)
{
	return sqlutil_reset(ps->stmt[which]);
}

/* Step a statement that returns no rows: OK or ERR, logged once. */
static enum pstore_rc
pstore_exec(struct pstore *ps, sqlite3_stmt *st, const char *func)
{
	int rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: %s", func, sqlite3_errmsg(ps->db));
		pstore_note_error(ps);
		return PSTORE_ERR;
	}
	return PSTORE_OK;
}

void
pstore_note_error(struct pstore *ps)
{
	if (ps->failing_since == 0)
		ps->failing_since = util_now_ms();
	snprintf(ps->last_error, sizeof(ps->last_error), "%s",
	    sqlite3_errmsg(ps->db));
}

int64_t
pstore_failing_since(const struct pstore *ps)
{
	return ps->failing_since;
}

const char *
pstore_last_error(const struct pstore *ps)
{
	return ps->last_error;
}

enum pstore_rc
pstore_begin(struct pstore *ps)
{
	return pstore_exec(ps, pstore_stmt(ps, PS_BEGIN), __func__);
}

/* Index the messages this transaction added, in one statement. */
static enum pstore_rc
pstore_fts_index(struct pstore *ps)
{
	sqlite3_stmt *st = pstore_stmt(ps, PS_FTS_ANY);
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return PSTORE_OK;	/* nothing to index */
	if (rc != SQLITE_ROW) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(ps->db));
		return PSTORE_ERR;
	}
	if (pstore_exec(ps, pstore_stmt(ps, PS_FTS_INDEX), __func__) !=
	    PSTORE_OK)
		return PSTORE_ERR;
	return pstore_exec(ps, pstore_stmt(ps, PS_FTS_CLEAR), __func__);
}

void
pstore_fts_defer(struct pstore *ps, bool on)
{
	ps->fts_deferred = on;
}

/* 1 if rows wait in fts_pending, 0 if none, -1 on error. */
static int
fts_any(struct pstore *ps)
{
	sqlite3_stmt *st = pstore_stmt(ps, PS_FTS_ANY);
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc == SQLITE_ROW;
	log_warnx("%s: %s", __func__, sqlite3_errmsg(ps->db));
	return -1;
}

/* The oldest max noted rows indexed, inside the open transaction. */
static enum pstore_rc
fts_index_some(struct pstore *ps, int max)
{
	sqlite3_stmt *a = pstore_stmt(ps, PS_FTS_INDEX_SOME);
	sqlite3_stmt *b = pstore_stmt(ps, PS_FTS_CLEAR_SOME);

	if (sqlite3_bind_int(a, 1, max) != SQLITE_OK ||
	    sqlite3_bind_int(b, 1, max) != SQLITE_OK) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(ps->db));
		return PSTORE_ERR;
	}
	if (pstore_exec(ps, a, __func__) != PSTORE_OK)
		return PSTORE_ERR;
	return pstore_exec(ps, b, __func__);
}

int
pstore_fts_flush(struct pstore *ps, int max)
{
	int more;

	if ((more = fts_any(ps)) <= 0)
		return more;
	if (!sqlite3_get_autocommit(ps->db))	/* inside a transaction: in it */
		return pstore_fts_index(ps) == PSTORE_OK ? 0 : -1;
	/*
	 * Without an fsync of its own: if this commit is lost, so is the
	 * deletion of its notes (one transaction; WAL frames are checksummed),
	 * and the rows are indexed again. The next synchronous commit makes
	 * it durable with itself.
	 */
	if (ps->sync_full)
		sqlite3_exec(ps->db, "PRAGMA synchronous = NORMAL", NULL, NULL,
		    NULL);
	if (pstore_exec(ps, pstore_stmt(ps, PS_BEGIN), __func__) != PSTORE_OK)
		more = -1;
	else if ((max > 0 ? fts_index_some(ps, max) : pstore_fts_index(ps)) !=
	    PSTORE_OK || pstore_exec(ps, pstore_stmt(ps, PS_COMMIT),
	    __func__) != PSTORE_OK) {
		pstore_rollback(ps);
		more = -1;
	} else
		more = max > 0 ? fts_any(ps) : 0;
	if (ps->sync_full && sqlite3_exec(ps->db, "PRAGMA synchronous = FULL",
	    NULL, NULL, NULL) != SQLITE_OK)
		fatalx("%s: cannot set synchronous = FULL again: %s", __func__,
		    sqlite3_errmsg(ps->db));
	return more;
}

void
pstore_set_hooks(struct pstore *ps, enum pstore_rc (*flush)(void *),
    void (*drop)(void *), void *arg)
{
	ps->flush = flush;
	ps->drop = drop;
	ps->hook_arg = arg;
}

/* On PSTORE_ERR the transaction may still be open: call pstore_rollback. */
enum pstore_rc
pstore_commit(struct pstore *ps)
{
	if ((ps->flush != NULL && ps->flush(ps->hook_arg) != PSTORE_OK) ||
	    (!ps->fts_deferred && pstore_fts_index(ps) != PSTORE_OK) ||
	    pstore_exec(ps, pstore_stmt(ps, PS_COMMIT), __func__) != PSTORE_OK)
		return PSTORE_ERR;
	ps->failing_since = 0;
	*ps->last_error = '\0';
	return PSTORE_OK;
}

/*
 * Safe to call whether or not a transaction is still open (SQLite may
 * have rolled it back already): what was kept for it goes either way.
 */
void
pstore_rollback(struct pstore *ps)
{
	if (ps->drop != NULL)
		ps->drop(ps->hook_arg);
	if (ps->contacts != NULL)
		memset(ps->contacts, 0, PSTORE_CONTACT_CACHE *
		    sizeof(*ps->contacts));
	if (sqlite3_get_autocommit(ps->db))
		return;
	pstore_exec(ps, pstore_stmt(ps, PS_ROLLBACK), __func__);
}

enum pstore_rc
pstore_setting_get(struct pstore *ps, const char *key, char *out,
    size_t outlen)
{
	sqlite3_stmt *st = pstore_stmt(ps, PS_SETTING_GET);
	enum pstore_rc ret = PSTORE_ERR;
	int rc;

	if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(ps->db));
		return PSTORE_ERR;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlutil_column_copy(st, 0, out, outlen) == 0)
			ret = PSTORE_OK;
		else
			log_warnx("%s: %s: value too long", __func__, key);
	} else if (rc == SQLITE_DONE)
		ret = PSTORE_NOTFOUND;
	else
		log_warnx("%s: %s", __func__, sqlite3_errmsg(ps->db));
	sqlite3_reset(st);
	return ret;
}

enum pstore_rc
pstore_setting_set(struct pstore *ps, const char *key, const char *value)
{
	sqlite3_stmt *st;

	if (value == NULL) {
		st = pstore_stmt(ps, PS_SETTING_DEL);
		if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) !=
		    SQLITE_OK)
			goto fail;
		return pstore_exec(ps, st, __func__);
	}
	st = pstore_stmt(ps, PS_SETTING_SET);
	if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC) != SQLITE_OK)
		goto fail;
	return pstore_exec(ps, st, __func__);
fail:
	log_warnx("%s: %s", __func__, sqlite3_errmsg(ps->db));
	return PSTORE_ERR;
}

/* The current row of a contacts SELECT into c; -1 if it cannot fit. */
static int
pstore_contact_row(sqlite3_stmt *st, struct pcontact *c)
{
	sqlite3_int64 port;

	memset(c, 0, sizeof(*c));
	if (sqlutil_column_copy(st, 0, c->name, sizeof(c->name)) == -1) {
		log_warnx("%s: a contact name is missing or too long",
		    __func__);
		return -1;
	}
	if (sqlutil_column_copy(st, 1, c->fingerprint,
	    sizeof(c->fingerprint)) == -1 ||
	    sqlutil_column_copy(st, 3, c->addr, sizeof(c->addr)) == -1 ||
	    sqlutil_column_copy(st, 6, c->prev_fingerprint,
	    sizeof(c->prev_fingerprint)) == -1) {
		log_warnx("%s: contact %s: a value is missing or too long",
		    __func__, c->name);
		return -1;
	}
	c->verified = sqlite3_column_int64(st, 2) != 0;
	port = sqlite3_column_int64(st, 4);
	if (port < 0 || port > 65535) {
		log_warnx("%s: contact %s: bad port %lld", __func__, c->name,
		    (long long)port);
		return -1;
	}
	c->port = (int)port;
	c->last_seen = sqlite3_column_int64(st, 5);
	return 0;
}

/* The cache slot of name; NULL if the name cannot be a contact's. */
static struct pstore_cached *
pstore_cache_slot(struct pstore *ps, const char *name)
{
	uint32_t h = 2166136261u;
	const char *p;

	if (strlen(name) >= sizeof(ps->contacts->c.name))
		return NULL;
	if (ps->contacts == NULL)
		ps->contacts = xcalloc(PSTORE_CONTACT_CACHE,
		    sizeof(*ps->contacts));
	for (p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &ps->contacts[h % PSTORE_CONTACT_CACHE];
}

enum pstore_rc
pstore_contact_get(struct pstore *ps, const char *name, struct pcontact *c)
{
	struct pstore_cached *e = pstore_cache_slot(ps, name);
	sqlite3_stmt *st;
	enum pstore_rc ret;
	int rc;

	if (e != NULL && e->valid && strcmp(e->c.name, name) == 0) {
		if (e->rc == PSTORE_OK)
			*c = e->c;
		return e->rc;
	}
	st = pstore_stmt(ps, PS_CONTACT_GET);
	if (sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(ps->db));
		return PSTORE_ERR;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = pstore_contact_row(st, c) == 0 ? PSTORE_OK : PSTORE_ERR;
	else if (rc == SQLITE_DONE)
		ret = PSTORE_NOTFOUND;
	else {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(ps->db));
		ret = PSTORE_ERR;
	}
	sqlite3_reset(st);
	if (e != NULL && (ret == PSTORE_OK || ret == PSTORE_NOTFOUND)) {
		memset(e, 0, sizeof(*e));
		e->valid = true;
		e->rc = ret;
		if (ret == PSTORE_OK)
			e->c = *c;
		snprintf(e->c.name, sizeof(e->c.name), "%s", name);
	}
	return ret;
}

enum pstore_rc
pstore_contact_put(struct pstore *ps, const struct pcontact *c)
{
	sqlite3_stmt *st = pstore_stmt(ps, PS_CONTACT_PUT);
	struct pstore_cached *e = pstore_cache_slot(ps, c->name);

	/* Read again from the table next time, whatever happens here. */
	if (e != NULL)
		e->valid = false;

	if (sqlutil_bind_field(st, 1, c->name, sizeof(c->name)) == -1 ||
	    c->name[0] == '\0' ||
	    sqlutil_bind_field(st, 2, c->fingerprint,
	    sizeof(c->fingerprint)) == -1 ||
	    sqlite3_bind_int(st, 3, c->verified ? 1 : 0) != SQLITE_OK ||
	    sqlutil_bind_field(st, 4, c->addr, sizeof(c->addr)) == -1 ||
	    c->port < 0 || c->port > 65535 ||
	    sqlite3_bind_int(st, 5, c->port) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 6, c->last_seen) != SQLITE_OK ||
	    sqlutil_bind_field(st, 7, c->prev_fingerprint,
	    sizeof(c->prev_fingerprint)) == -1) {
		log_warnx("%s: bad contact record", __func__);
		return PSTORE_ERR;
	}
	return pstore_exec(ps, st, __func__);
}

enum pstore_rc
pstore_contact_foreach(struct pstore *ps, int (*fn)(const struct pcontact *,
    void *), void *arg)
{
	sqlite3_stmt *st = pstore_stmt(ps, PS_CONTACT_LIST);
	struct pcontact c;
	enum pstore_rc ret = PSTORE_OK;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (pstore_contact_row(st, &c) == -1) {
			ret = PSTORE_ERR;
			break;
		}
		if (fn(&c, arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(ps->db));
		ret = PSTORE_ERR;
	}
	sqlite3_reset(st);
	return ret;
}
