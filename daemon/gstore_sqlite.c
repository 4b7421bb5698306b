/*
 * The gestor's store on SQLite: data_dir/gestor.db, one table of users
 * with their password hashes, key fingerprints and last addresses. The
 * file is created 0600 and refused if group or others may read it; it
 * runs in WAL mode. The schema is a list of numbered migrations under
 * PRAGMA user_version, and every statement is prepared once at open.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sqlite3.h>

#include "gstore.h"
#include "log.h"
#include "util.h"

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
};
#define GSTORE_VERSION \
	((int)(sizeof(gstore_migrations) / sizeof(gstore_migrations[0])))

enum gstore_stmt {
	GS_USER_ADD,
	GS_USER_GET,
	GS_USER_SET_KEY,
	GS_USER_SEEN,
	GS_USER_LIST,
	GS_USER_COUNT,
	GS_SYNC_SOFT,
	GS_SYNC_DURABLE,
	GS_MAX
};

#define GSTORE_USER_COLS \
	"name, hash, fingerprint, created, last_seen, addr, port"

static const char *const gstore_sql[GS_MAX] = {
	[GS_USER_ADD] = "INSERT INTO users (" GSTORE_USER_COLS ")"
	    " VALUES (?, ?, ?, ?, ?, ?, ?)",
	[GS_USER_GET] = "SELECT " GSTORE_USER_COLS " FROM users"
	    " WHERE name = ?",
	[GS_USER_SET_KEY] = "UPDATE users SET fingerprint = ? WHERE name = ?",
	[GS_USER_SEEN] = "UPDATE users SET last_seen = ?, addr = ?, port = ?"
	    " WHERE name = ?",
	[GS_USER_LIST] = "SELECT " GSTORE_USER_COLS " FROM users"
	    " ORDER BY name",
	[GS_USER_COUNT] = "SELECT count(*) FROM users",
	[GS_SYNC_SOFT] = "PRAGMA synchronous = NORMAL",
	[GS_SYNC_DURABLE] = "PRAGMA synchronous = FULL",
};

#define GSTORE_ADDR_SIZE	sizeof(((struct guser *)NULL)->addr)

struct gstore {
	sqlite3		*db;
	sqlite3_stmt	*stmt[GS_MAX];
	bool		 sync_full;
};

static void gstore_cause(char **, const char *, ...) LOG_PRINTF(2, 3);

static void
gstore_cause(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = xstrdup("out of memory");
	va_end(ap);
}

/* Create path 0600 if it is missing; refuse a file others may read. */
static int
gstore_check_file(const char *path, char **cause)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd == -1) {
		gstore_cause(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		gstore_cause(cause, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		gstore_cause(cause, "%s: not a regular file", path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		gstore_cause(cause, "%s: mode %04o gives group or others "
		    "access; chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

static int
gstore_user_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Apply migration v (v -> v + 1) inside an open transaction. */
static int
gstore_apply(sqlite3 *db, int v)
{
	char sql[64];

	if (sqlite3_exec(db, gstore_migrations[v], NULL, NULL,
	    NULL) != SQLITE_OK)
		return -1;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/*
 * Bring the schema to GSTORE_VERSION, one migration per transaction.
 * The version is read inside the write transaction, so two processes
 * opening the same file never apply a migration twice.
 */
static int
gstore_migrate(sqlite3 *db, const char *path, char **cause)
{
	int v;

	for (;;) {
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL,
		    NULL) != SQLITE_OK)
			goto fail;
		if (gstore_user_version(db, &v) == -1)
			goto fail;
		if (v > GSTORE_VERSION) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			gstore_cause(cause, "%s: schema version %d is newer "
			    "than this p2pchatd knows (%d)", path, v,
			    GSTORE_VERSION);
			return -1;
		}
		if (v == GSTORE_VERSION)
			break;
		if (gstore_apply(db, v) == -1 ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
		log_info("%s: %s: migrated to schema version %d", __func__,
		    path, v + 1);
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	gstore_cause(cause, "%s: migration: %s", path, sqlite3_errmsg(db));
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* WAL, the chosen durability, foreign keys; WAL must really be on. */
static int
gstore_pragmas(sqlite3 *db, bool sync_full, const char *path, char **cause)
{
	sqlite3_stmt *st;
	const char *mode;
	int ok;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL) != SQLITE_OK)
		goto fail;
	ok = sqlite3_step(st) == SQLITE_ROW &&
	    (mode = (const char *)sqlite3_column_text(st, 0)) != NULL &&
	    strcasecmp(mode, "wal") == 0;
	sqlite3_finalize(st);
	if (!ok) {
		gstore_cause(cause, "%s: cannot use WAL mode: %s", path,
		    sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_exec(db, sync_full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL,
	    NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	gstore_cause(cause, "%s: %s", path, sqlite3_errmsg(db));
	return -1;
}

static int
gstore_prepare(struct gstore *gs, const char *path, char **cause)
{
	int i;

	for (i = 0; i < GS_MAX; i++) {
		if (sqlite3_prepare_v3(gs->db, gstore_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &gs->stmt[i], NULL) !=
		    SQLITE_OK) {
			gstore_cause(cause, "%s: prepare: %s", path,
			    sqlite3_errmsg(gs->db));
			return -1;
		}
	}
	return 0;
}

struct gstore *
gstore_open(const char *path, bool sync_full, char **cause)
{
	struct gstore *gs;
	int flags;

	if (gstore_check_file(path, cause) == -1)
		return NULL;
	gs = xcalloc(1, sizeof(*gs));
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &gs->db, flags, NULL) != SQLITE_OK) {
		gstore_cause(cause, "%s: %s", path, gs->db != NULL ?
		    sqlite3_errmsg(gs->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(gs->db, 1);
	sqlite3_busy_timeout(gs->db, 5000);
	gs->sync_full = sync_full;
	if (gstore_pragmas(gs->db, sync_full, path, cause) == -1 ||
	    gstore_migrate(gs->db, path, cause) == -1 ||
	    gstore_prepare(gs, path, cause) == -1)
		goto fail;
	return gs;
fail:
	gstore_close(gs);
	return NULL;
}

void
gstore_close(struct gstore *gs)
{
	int i;

	if (gs == NULL)
		return;
	for (i = 0; i < GS_MAX; i++)
		sqlite3_finalize(gs->stmt[i]);
	if (sqlite3_close(gs->db) != SQLITE_OK)
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
	free(gs);
}

/* The statement, reset and unbound, ready for this call. */
static sqlite3_stmt *
gstore_stmt(struct gstore *gs, enum gstore_stmt which)
{
	sqlite3_stmt *st = gs->stmt[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Bind a struct field; -1 if it is not NUL-terminated within size. */
static int
gstore_bind_field(sqlite3_stmt *st, int col, const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		return -1;
	return sqlite3_bind_text(st, col, s, (int)n, SQLITE_STATIC) ==
	    SQLITE_OK ? 0 : -1;
}

/* Copy a text column into dst[size]; -1 if it is NULL or too long. */
static int
gstore_column_copy(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (s == NULL || n < 0 || (size_t)n >= size)
		return -1;
	memcpy(dst, s, (size_t)n + 1);
	return 0;
}

/* The current row of a users SELECT into u; -1 if a value cannot fit. */
static int
gstore_row(sqlite3_stmt *st, struct guser *u)
{
	sqlite3_int64 port;

	memset(u, 0, sizeof(*u));
	if (gstore_column_copy(st, 0, u->name, sizeof(u->name)) == -1) {
		log_warnx("%s: a user name is missing or too long", __func__);
		return -1;
	}
	if (gstore_column_copy(st, 1, u->hash, sizeof(u->hash)) == -1 ||
	    gstore_column_copy(st, 2, u->fingerprint,
	    sizeof(u->fingerprint)) == -1 ||
	    gstore_column_copy(st, 5, u->addr, sizeof(u->addr)) == -1) {
		log_warnx("%s: user %s: a value is missing or too long",
		    __func__, u->name);
		return -1;
	}
	u->created = sqlite3_column_int64(st, 3);
	u->last_seen = sqlite3_column_int64(st, 4);
	port = sqlite3_column_int64(st, 6);
	if (port < 0 || port > 65535) {
		log_warnx("%s: user %s: bad port %lld", __func__, u->name,
		    (long long)port);
		return -1;
	}
	u->port = (int)port;
	return 0;
}

enum gstore_rc
gstore_user_add(struct gstore *gs, const struct guser *u)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_USER_ADD);
	int rc;

	if (gstore_bind_field(st, 1, u->name, sizeof(u->name)) == -1 ||
	    gstore_bind_field(st, 2, u->hash, sizeof(u->hash)) == -1 ||
	    gstore_bind_field(st, 3, u->fingerprint,
	    sizeof(u->fingerprint)) == -1 ||
	    sqlite3_bind_int64(st, 4, u->created) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, u->last_seen) != SQLITE_OK ||
	    gstore_bind_field(st, 6, u->addr, sizeof(u->addr)) == -1 ||
	    sqlite3_bind_int(st, 7, u->port) != SQLITE_OK) {
		log_warnx("%s: bad user record", __func__);
		return GSTORE_ERR;
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return GSTORE_OK;
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		return GSTORE_EXISTS;
	log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
	return GSTORE_ERR;
}

enum gstore_rc
gstore_user_get(struct gstore *gs, const char *name, struct guser *u)
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
static enum gstore_rc
gstore_update(struct gstore *gs, sqlite3_stmt *st, const char *func)
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
gstore_user_set_key(struct gstore *gs, const char *name,
    const char *fingerprint)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_USER_SET_KEY);

	if (strlen(fingerprint) > P2P_FP_LEN ||
	    sqlite3_bind_text(st, 1, fingerprint, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK) {
		log_warnx("%s: bad fingerprint for %.64s", __func__, name);
		return GSTORE_ERR;
	}
	return gstore_update(gs, st, __func__);
}

enum gstore_rc
gstore_user_seen(struct gstore *gs, const char *name, const char *addr,
    int port, int64_t when)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_USER_SEEN);
	enum gstore_rc rc;

	if (strlen(addr) >= GSTORE_ADDR_SIZE || port < 0 || port > 65535 ||
	    sqlite3_bind_int64(st, 1, when) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 3, port) != SQLITE_OK ||
	    sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC) != SQLITE_OK) {
		log_warnx("%s: bad address for %.64s", __func__, name);
		return GSTORE_ERR;
	}
	/*
	 * Soft state that every peer refreshes while it heartbeats: one
	 * fsync each cost the gestor most of its time with thousands of
	 * peers. WAL with synchronous=NORMAL still keeps the file
	 * consistent; the next durable commit or checkpoint syncs it.
	 */
	if (!gs->sync_full)
		return gstore_update(gs, st, __func__);
	sqlite3_step(gstore_stmt(gs, GS_SYNC_SOFT));
	rc = gstore_update(gs, st, __func__);
	sqlite3_step(gstore_stmt(gs, GS_SYNC_DURABLE));
	sqlite3_reset(gs->stmt[GS_SYNC_SOFT]);
	sqlite3_reset(gs->stmt[GS_SYNC_DURABLE]);
	return rc;
}

enum gstore_rc
gstore_user_foreach(struct gstore *gs, int (*fn)(const struct guser *,
    void *), void *arg)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_USER_LIST);
	struct guser u;
	enum gstore_rc ret = GSTORE_OK;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (gstore_row(st, &u) == -1) {
			ret = GSTORE_ERR;
			break;
		}
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
gstore_user_count(struct gstore *gs)
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
