/*
 * What the unit tests share (see testutil.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

void
tu_mkdtemp(char *dir, const char *name)
{
	ck_assert_int_lt(snprintf(dir, TU_DIR_MAX, "/tmp/%s.XXXXXX", name),
	    TU_DIR_MAX);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

void
tu_rmdir(const char *dir)
{
	char p[512];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

int
tu_db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int v = -1;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
tu_file_int(const char *path, const char *sql)
{
	sqlite3 *db;
	int v;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	v = tu_db_int(db, sql);
	sqlite3_close(db);
	return v;
}

void
tu_file_exec(const char *path, const char *sql)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

const char *
tu_fp_of(const char *name)
{
	static char fp[P2P_FP_LEN + 1];
	unsigned long long h = 5381;

	while (*name != '\0')
		h = h * 33 + (unsigned char)*name++;
	snprintf(fp, sizeof(fp), "sha256:%016llx%016llx%016llx%016llx", h, h,
	    h, h);
	return fp;
}

void
tu_make_user(struct guser *u, const char *name, const char *fp,
    int64_t created)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", name);
	snprintf(u->hash, sizeof(u->hash), "%s", TU_HASH);
	snprintf(u->fingerprint, sizeof(u->fingerprint), "%s", fp);
	u->created = created;
}

int
tu_run(Suite *s, enum log_level level)
{
	SRunner *sr = srunner_create(s);
	int failed;

	log_init(getenv("P2P_TEST_DEBUG") != NULL ? LOG_LVL_DEBUG : level);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
