/*
 * The parts of opening an SQLite store that the gestor's and the peer's
 * stores share.
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

#include "log.h"
#include "sqlutil.h"
#include "util.h"

static void sqlutil_cause(char **, const char *, ...) LOG_PRINTF(2, 3);

static void
sqlutil_cause(char **cause, const char *fmt, ...)
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
sqlutil_check_file(const char *path, char **cause)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd == -1) {
		sqlutil_cause(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		sqlutil_cause(cause, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		sqlutil_cause(cause, "%s: not a regular file", path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		sqlutil_cause(cause, "%s: mode %04o gives group or others "
		    "access; chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

static int
sqlutil_user_version(sqlite3 *db, int *version)
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
sqlutil_apply(sqlite3 *db, const char *const *migrations, int v)
{
	char sql[64];

	if (sqlite3_exec(db, migrations[v], NULL, NULL,
	    NULL) != SQLITE_OK)
		return -1;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/*
 * Bring the schema to nmig, one migration per transaction.
 * The version is read inside the write transaction, so two processes
 * opening the same file never apply a migration twice.
 */
static int
sqlutil_migrate(sqlite3 *db, const char *path, const char *const *migrations,
    int nmig, char **cause)
{
	int v;

	for (;;) {
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL,
		    NULL) != SQLITE_OK)
			goto fail;
		if (sqlutil_user_version(db, &v) == -1)
			goto fail;
		if (v > nmig) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			sqlutil_cause(cause, "%s: schema version %d is newer "
			    "than this p2pchatd knows (%d)", path, v,
			    nmig);
			return -1;
		}
		if (v == nmig)
			break;
		if (sqlutil_apply(db, migrations, v) == -1 ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
		log_info("%s: %s: migrated to schema version %d", __func__,
		    path, v + 1);
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	sqlutil_cause(cause, "%s: migration: %s", path, sqlite3_errmsg(db));
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* WAL, the chosen durability, foreign keys; WAL must really be on. */
static int
sqlutil_pragmas(sqlite3 *db, bool sync_full, const char *path, char **cause)
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
		sqlutil_cause(cause, "%s: cannot use WAL mode: %s", path,
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
	sqlutil_cause(cause, "%s: %s", path, sqlite3_errmsg(db));
	return -1;
}

sqlite3 *
sqlutil_open(const char *path, bool sync_full, const char *const *migrations,
    int nmig, char **cause)
{
	sqlite3 *db = NULL;

	if (sqlutil_check_file(path, cause) == -1)
		return NULL;
	/*
	 * No memory statistics (nobody reads them): with them SQLite takes
	 * a global mutex at every allocation and free, some 4% of a busy
	 * sender's loop. Only before SQLite initializes; later it is
	 * refused, harmlessly.
	 */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		sqlutil_cause(cause, "%s: %s", path, db != NULL ?
		    sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 5000);
	if (sqlutil_pragmas(db, sync_full, path, cause) == -1 ||
	    sqlutil_migrate(db, path, migrations, nmig, cause) == -1) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

int
sqlutil_prepare(sqlite3 *db, const char *path, const char *const *sql,
    sqlite3_stmt **st, int n, char **cause)
{
	int i;

	for (i = 0; i < n; i++) {
		if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		    &st[i], NULL) != SQLITE_OK) {
			sqlutil_cause(cause, "%s: prepare: %s", path,
			    sqlite3_errmsg(db));
			return -1;
		}
	}
	return 0;
}

sqlite3_stmt *
sqlutil_reset(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int
sqlutil_bind_field(sqlite3_stmt *st, int col, const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		return -1;
	return sqlite3_bind_text(st, col, s, (int)n, SQLITE_STATIC) ==
	    SQLITE_OK ? 0 : -1;
}

int
sqlutil_column_copy(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (s == NULL || n < 0 || (size_t)n >= size)
		return -1;
	memcpy(dst, s, (size_t)n + 1);
	return 0;
}

void
sqlutil_finalize(sqlite3_stmt **st, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		sqlite3_finalize(st[i]);
		st[i] = NULL;
	}
}
