/*
 * The gestor's store on SQLite: data_dir/gestor.db, one table of users
 * with their password hashes, key fingerprints and last addresses. The
 * file is created 0600 and refused if group or others may read it; it
 * runs in WAL mode. The schema is a list of numbered migrations under
 * PRAGMA user_version, and every statement is prepared once at open.
 * Each operation runs at once, when it is asked for (so requests keep
 * their order), and gstore.c delivers its result on the next loop turn;
 * a listing steps its statement at delivery. This file is the database
 * and its users; the mailbox is gstore_sqlite_mail.c, the backend entry
 * that runs each operation gstore_sqlite_be.c.
 *
 * Presence writes are the exception: they wait and are written together,
 * in one transaction (one WAL commit instead of one each). Heartbeat
 * refreshes (GSTORE_SEEN: every connected peer's last_seen once a minute,
 * 1 667 a second at 100 000 peers) wait up to GSTORE_SEEN_DELAY; a
 * session's online and offline (a burst of logins, every session of a
 * stopping gestor) wait for the end of the loop turn. Any other write,
 * and a listing, writes the waiting ones first, so the file sees every
 * change in the order it was asked for; so does a read of a user whose
 * online or offline waits. A read does not wait for a refresh: it may
 * show a last_seen up to a second older (such a user is online here,
 * where the gestor answers from the session). A clean close writes them
 * all; a crash loses at most the presence of the last GSTORE_SEEN_DELAY,
 * soft state (last address, last_seen) that the next heartbeat rewrites.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "gstore_int.h"
#include "gstore_sqlite.h"
#include "log.h"
#include "sqlutil.h"
#include "util.h"

#define GSTORE_WAL_PAGES	1000	/* the checkpointer's turn */

/*
 * Migration i takes user_version from i to i + 1, in its own
 * transaction. Append new migrations; never edit one that has shipped.
 */
static const char *const gstore_migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE users ("
	"  name TEXT PRIMARY KEY,"
	"  hash TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL DEFAULT 0,"
	"  addr TEXT NOT NULL DEFAULT '',"
	"  port INTEGER NOT NULL DEFAULT 0"
	");",
	/* 1 -> 2: one key, one account (user_add and user_set_key look). */
	"CREATE INDEX users_fingerprint ON users (fingerprint);",
	/*
	 * 2 -> 3: the mailbox (DESIGN.md "Mailbox"): sealed blobs held for
	 * recipients who accept mail. AUTOINCREMENT: an id is never reused,
	 * so a late ack or withdraw cannot hit a newer deposit.
	 */
	"ALTER TABLE users ADD COLUMN mail TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE mailbox ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  rcpt TEXT NOT NULL,"
	"  sender TEXT NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  blob TEXT NOT NULL"
	");"
	"CREATE INDEX mailbox_rcpt ON mailbox (rcpt, id);"
	"CREATE INDEX mailbox_sender ON mailbox (sender, id);"
	"CREATE INDEX mailbox_expires ON mailbox (expires);",
	/*
	 * 3 -> 4: a deposit's dedup key (mbox-put's blobs): a put again
	 * after a lost answer finds the first. Withdraw goes by id.
	 */
	"ALTER TABLE mailbox ADD COLUMN dkey INTEGER;"
	"DROP INDEX mailbox_sender;"
	"CREATE UNIQUE INDEX mailbox_dkey ON mailbox (sender, dkey);",
};
#define GSTORE_VERSION \
	((int)(sizeof(gstore_migrations) / sizeof(gstore_migrations[0])))

#define GSTORE_USER_COLS \
	"name, hash, fingerprint, created, last_seen, addr, port, mail"

static const char *const gstore_sql[GS_MAX] = {
	/*
	 * Nothing inserted: the key is another account's (KEY_TAKEN); a
	 * taken name is still tried, to fail as EXISTS.
	 */
	[GS_USER_ADD] = "INSERT INTO users (" GSTORE_USER_COLS ")"
	    " SELECT ?, ?, ?, ?, ?, ?, ?, '' WHERE NOT EXISTS"
	    " (SELECT 1 FROM users WHERE fingerprint = ?3)"
	    " OR EXISTS (SELECT 1 FROM users WHERE name = ?1)",
	[GS_USER_GET] = "SELECT " GSTORE_USER_COLS " FROM users"
	    " WHERE name = ?",
	[GS_USER_SET_KEY] = "UPDATE users SET fingerprint = ?1 WHERE name = ?2"
	    " AND NOT EXISTS (SELECT 1 FROM users WHERE fingerprint = ?1"
	    " AND name <> ?2)",
	[GS_KEY_TAKEN] = "SELECT 1 FROM users WHERE fingerprint = ?1"
	    " AND name <> ?2 AND EXISTS (SELECT 1 FROM users WHERE name = ?2)",
	[GS_USER_SEEN] = "UPDATE users SET last_seen = ?, addr = ?, port = ?"
	    " WHERE name = ?",
	[GS_USER_LIST] = "SELECT " GSTORE_USER_COLS " FROM users"
	    " ORDER BY name",
	[GS_USER_COUNT] = "SELECT count(*) FROM users",
	[GS_USER_SET_MAIL] = "UPDATE users SET mail = ? WHERE name = ?",
	/* No row's mail is NULL: no such user. */
	[GS_MAIL_QUOTA] = "SELECT (SELECT mail <> '' FROM users WHERE name = ?1),"
	    " count(*), coalesce(sum(size), 0),"
	    " coalesce(sum(sender = ?2), 0) FROM mailbox WHERE rcpt = ?1",
	[GS_MAIL_PUT] = "INSERT INTO mailbox (rcpt, sender, ts, expires, size,"
	    " blob, dkey) VALUES (?, ?, ?, ?, ?, ?, ?)",
	/* A deposit put again is kept as long as the new put says. */
	[GS_MAIL_DKEY] = "UPDATE mailbox SET expires = max(expires, ?3)"
	    " WHERE sender = ?1 AND dkey = ?2 RETURNING id",
	[GS_MAIL_FETCH] = "SELECT id, sender, rcpt, ts, expires, size, blob"
	    " FROM mailbox WHERE rcpt = ? AND id > ? ORDER BY id LIMIT ?",
	[GS_MAIL_ACK] = "DELETE FROM mailbox WHERE rcpt = ? AND id IN"
	    " (SELECT value FROM json_each(?))",
	[GS_MAIL_WITHDRAW] = "DELETE FROM mailbox WHERE sender = ? AND id = ?",
	/*
	 * An expired deposit takes the later ones of its sender for its
	 * recipient with it: the recipient would fetch them without it, out
	 * of order (the sender deposits them all again, in order).
	 */
	[GS_MAIL_EXPIRE] = "WITH x AS (SELECT sender, rcpt, min(id) AS first"
	    " FROM mailbox WHERE expires <= ?1 GROUP BY sender, rcpt)"
	    " DELETE FROM mailbox WHERE id >= (SELECT min(first) FROM x) AND"
	    " EXISTS (SELECT 1 FROM x WHERE x.sender = mailbox.sender AND"
	    " x.rcpt = mailbox.rcpt AND x.first <= mailbox.id)",
	[GS_MAIL_COUNT] = "SELECT count(*), coalesce(sum(size), 0)"
	    " FROM mailbox WHERE ?1 OR rcpt = ?2",
	[GS_SYNC_SOFT] = "PRAGMA synchronous = NORMAL",
	[GS_SYNC_DURABLE] = "PRAGMA synchronous = FULL",
	[GS_BEGIN] = "BEGIN",
	[GS_COMMIT] = "COMMIT",
	[GS_ROLLBACK] = "ROLLBACK",
};

#define GSTORE_SEEN_DELAY	1.0	/* seconds a refresh may wait */
#define GSTORE_SEEN_MAX		4096	/* refreshes per transaction */

#define GSTORE_ADDR_SIZE	sizeof(((struct guser *)NULL)->addr)


static void	on_seen_timer(evutil_socket_t, short, void *);

struct gsqlite *
sq_open(struct event_base *base, const char *path, bool sync_full,
    char **cause)
{
	struct gsqlite *gs = xcalloc(1, sizeof(*gs));

	TAILQ_INIT(&gs->seen);
	gs->db = sqlutil_open(path, sync_full, gstore_migrations, GSTORE_VERSION,
	    cause);
	if (gs->db == NULL ||
	    sqlutil_prepare(gs->db, path, gstore_sql, gs->stmt, GS_MAX,
	    cause) == -1) {
		sq_close(gs);
		return NULL;
	}
	if ((gs->seen_ev = evtimer_new(base, on_seen_timer, gs)) == NULL) {
		if (asprintf(cause, "%s: cannot make a timer", path) < 0)
			*cause = NULL;
		sq_close(gs);
		return NULL;
	}
	gs->sync_full = sync_full;
	gs->ck = sqlckpt_start(gs->db, path, sync_full, GSTORE_WAL_PAGES);
	return gs;
}

void
sq_close(struct gsqlite *gs)
{
	if (gs == NULL)
		return;
	if (gs->db != NULL)
		sq_seen_flush(gs);	/* a clean stop loses no refresh */
	if (gs->seen_ev != NULL)
		event_free(gs->seen_ev);
	sqlckpt_stop(gs->ck);
	sqlutil_finalize(gs->stmt, GS_MAX);
	if (sqlite3_close(gs->db) != SQLITE_OK)
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
	free(gs);
}

/* The statement, reset and unbound, ready for this call. */
sqlite3_stmt *
gstore_stmt(struct gsqlite *gs, enum gstore_stmt which)
{
	return sqlutil_reset(gs->stmt[which]);
}

/*
 * The current row of a users SELECT into u, checked (gstore_row_check);
 * -1 if the row cannot be used.
 */
int
gstore_row(sqlite3_stmt *st, struct guser *u)
{
	bool addr_long;

	memset(u, 0, sizeof(*u));
	if (sqlutil_column_copy(st, 0, u->name, sizeof(u->name)) == -1 ||
	    sqlutil_column_copy(st, 1, u->hash, sizeof(u->hash)) == -1 ||
	    sqlutil_column_copy(st, 2, u->fingerprint,
	    sizeof(u->fingerprint)) == -1) {
		log_warnx("gstore: a users row with a name, hash or fingerprint "
		    "missing or too long: skipped");
		return -1;
	}
	addr_long = sqlutil_column_copy(st, 5, u->addr, sizeof(u->addr)) == -1;
	if (addr_long)
		*u->addr = '\0';
	u->created = sqlite3_column_int64(st, 3);
	u->last_seen = sqlite3_column_int64(st, 4);
	if (sqlutil_column_copy(st, 7, u->mail, sizeof(u->mail)) == -1)
		*u->mail = '\0';	/* not a key: no mail (gstore_row_check) */
	return gstore_row_check(u, addr_long, sqlite3_column_int64(st, 6));
}

enum gstore_rc
sq_user_add(struct gsqlite *gs, const struct guser *u)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_USER_ADD);
	int rc;

	if (sqlutil_bind_field(st, 1, u->name, sizeof(u->name)) == -1 ||
	    sqlutil_bind_field(st, 2, u->hash, sizeof(u->hash)) == -1 ||
	    sqlutil_bind_field(st, 3, u->fingerprint,
	    sizeof(u->fingerprint)) == -1 ||
	    sqlite3_bind_int64(st, 4, u->created) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, u->last_seen) != SQLITE_OK ||
	    sqlutil_bind_field(st, 6, u->addr, sizeof(u->addr)) == -1 ||
	    sqlite3_bind_int(st, 7, u->port) != SQLITE_OK) {
		log_warnx("%s: bad user record", __func__);
		return GSTORE_ERR;
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return sqlite3_changes(gs->db) == 0 ? GSTORE_KEY_TAKEN : GSTORE_OK;
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		return GSTORE_EXISTS;
	log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
	return GSTORE_ERR;
}

enum gstore_rc
sq_user_get(struct gsqlite *gs, const char *name, struct guser *u)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_USER_GET);
	enum gstore_rc ret;
	int rc;

	if (sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
		return GSTORE_ERR;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = gstore_row(st, u) == 0 ? GSTORE_OK : GSTORE_ERR;
	else if (rc == SQLITE_DONE)
		ret = GSTORE_NOTFOUND;
	else {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
		ret = GSTORE_ERR;
	}
	sqlite3_reset(st);
	return ret;
}

/* Step an UPDATE by name: OK, NOTFOUND when no row matched, or ERR. */
enum gstore_rc
gstore_update(struct gsqlite *gs, sqlite3_stmt *st, const char *func)
{
	int rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: %s", func, sqlite3_errmsg(gs->db));
		return GSTORE_ERR;
	}
	return sqlite3_changes(gs->db) == 0 ? GSTORE_NOTFOUND : GSTORE_OK;
}

enum gstore_rc
sq_user_set_key(struct gsqlite *gs, const char *name,
    const char *fingerprint)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_USER_SET_KEY);
	enum gstore_rc ret;
	int rc;

	if (strlen(fingerprint) > P2P_FP_LEN ||
	    sqlite3_bind_text(st, 1, fingerprint, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK) {
		log_warnx("%s: bad fingerprint for %.64s", __func__, name);
		return GSTORE_ERR;
	}
	if ((ret = gstore_update(gs, st, __func__)) != GSTORE_NOTFOUND)
		return ret;
	/* Nothing changed: no such user, or the key is another's. */
	st = gstore_stmt(gs, GS_KEY_TAKEN);
	if (sqlite3_bind_text(st, 1, fingerprint, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK)
		return GSTORE_ERR;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return GSTORE_KEY_TAKEN;
	return rc == SQLITE_DONE ? GSTORE_NOTFOUND : GSTORE_ERR;
}

/* The address update of one presence op, in whatever transaction is open. */
static enum gstore_rc
sq_seen_step(struct gsqlite *gs, const char *name, const char *addr,
    int port, int64_t when)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_USER_SEEN);

	if (strlen(addr) >= GSTORE_ADDR_SIZE || port < 0 || port > 65535 ||
	    sqlite3_bind_int64(st, 1, when) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 3, port) != SQLITE_OK ||
	    sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC) != SQLITE_OK) {
		log_warnx("%s: bad address for %.64s", __func__, name);
		return GSTORE_ERR;
	}
	return gstore_update(gs, st, __func__);
}

/* Run one of the prepared control statements; false if it failed. */
bool
sq_exec(struct gsqlite *gs, enum gstore_stmt which)
{
	int rc = sqlite3_step(gstore_stmt(gs, which));

	sqlite3_reset(gs->stmt[which]);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_warnx("gstore: %s: %s", gstore_sql[which],
		    sqlite3_errmsg(gs->db));
		return false;
	}
	return true;
}

/*
 * Presence is soft state that every peer refreshes while it heartbeats:
 * one fsync each cost the gestor most of its time with thousands of
 * peers. WAL with synchronous=NORMAL still keeps the file consistent;
 * the next durable commit or checkpoint syncs it.
 */
static void
sq_soft(struct gsqlite *gs, bool soft)
{
	if (gs->sync_full)
		sq_exec(gs, soft ? GS_SYNC_SOFT : GS_SYNC_DURABLE);
}

/*
 * Write the waiting presence in one transaction, then deliver each op
 * with its own result (all GSTORE_ERR if the commit failed).
 */
void
sq_seen_flush(struct gsqlite *gs)
{
	TAILQ_HEAD(, gstore_op) batch = TAILQ_HEAD_INITIALIZER(batch);
	struct gstore_op *op;
	bool tx, failed = false;

	if (TAILQ_EMPTY(&gs->seen))
		return;
	evtimer_del(gs->seen_ev);
	TAILQ_CONCAT(&batch, &gs->seen, entry);
	gs->nseen = gs->nhard = 0;
	sq_soft(gs, true);
	tx = sq_exec(gs, GS_BEGIN);	/* without it: one commit each */
	TAILQ_FOREACH(op, &batch, entry)
		op->rc = sq_seen_step(gs, op->u.name, op->u.addr, op->u.port,
		    op->u.last_seen);
	if (tx && !sq_exec(gs, GS_COMMIT)) {
		sq_exec(gs, GS_ROLLBACK);
		failed = true;
	}
	sq_soft(gs, false);
	while ((op = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, op, entry);
		gstore_op_done(op, failed ? GSTORE_ERR : op->rc);
	}
}

static void
on_seen_timer(evutil_socket_t fd, short what, void *arg)
{
	sq_seen_flush(arg);
}

/*
 * A presence write waits for the next batch: a refresh at most a second,
 * an online or offline until the end of this loop turn.
 */
void
sq_seen_queue(struct gsqlite *gs, struct gstore_op *op)
{
	struct timeval tv = { (time_t)GSTORE_SEEN_DELAY,
	    (suseconds_t)((GSTORE_SEEN_DELAY - (time_t)GSTORE_SEEN_DELAY) *
	    1e6) }, now = { 0, 0 };

	TAILQ_INSERT_TAIL(&gs->seen, op, entry);
	if (op->presence != GSTORE_SEEN) {
		if (gs->nhard++ == 0)
			evtimer_add(gs->seen_ev, &now);
	} else if (gs->nseen == 0)
		evtimer_add(gs->seen_ev, &tv);
	if (++gs->nseen >= GSTORE_SEEN_MAX)
		sq_seen_flush(gs);
}

/* Does an online or offline of name wait? (Then a read writes it first.) */
bool
sq_seen_hard(struct gsqlite *gs, const char *name)
{
	struct gstore_op *op;

	if (gs->nhard == 0)
		return false;
	TAILQ_FOREACH(op, &gs->seen, entry)
		if (op->presence != GSTORE_SEEN &&
		    strcmp(op->u.name, name) == 0)
			return true;
	return false;
}

enum gstore_rc
sq_user_foreach(struct gsqlite *gs, gstore_row_cb fn, void *arg)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_USER_LIST);
	struct guser u;
	enum gstore_rc ret = GSTORE_OK;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (gstore_row(st, &u) == -1)
			continue;		/* logged; the others are listed */
		if (fn(&u, arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
		ret = GSTORE_ERR;
	}
	sqlite3_reset(st);
	return ret;
}

long
sq_user_count(struct gsqlite *gs)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_USER_COUNT);
	long n = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	else
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
	sqlite3_reset(st);
	return n;
}
