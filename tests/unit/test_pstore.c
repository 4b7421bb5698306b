/*
 * Unit tests for pstore.c: settings, contacts and their cache, explicit
 * transactions, data kept across reopen, the pragmas the store sets, the
 * file's mode and refusal of loose modes and newer schemas.
 */
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pstore.h"
#include "testutil.h"

static char dir[TU_DIR_MAX];
static char path[128];

static void
setup(void)
{
	tu_mkdtemp(dir, "test_pstore");
	snprintf(path, sizeof(path), "%s/peer.db", dir);
}

static void
teardown(void)
{
	tu_rmdir(dir);
}

static struct pstore *
open_ok(bool sync_full)
{
	struct pstore *ps;
	char *cause = NULL;

	ps = pstore_open(path, sync_full, &cause);
	ck_assert_msg(ps != NULL, "pstore_open: %s", cause);
	ck_assert_ptr_null(cause);
	return ps;
}

static char *
open_fails(void)
{
	char *cause = NULL;

	ck_assert_ptr_null(pstore_open(path, true, &cause));
	ck_assert_ptr_nonnull(cause);
	return cause;
}

static void
make_contact(struct pcontact *c, const char *name, const char *fp)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->fingerprint, sizeof(c->fingerprint), "%s", fp);
}

START_TEST(test_settings)
{
	struct pstore *ps = open_ok(true);
	char out[128], small[4];

	ck_assert_int_eq(pstore_setting_get(ps, "account.user", out,
	    sizeof(out)), PSTORE_NOTFOUND);
	ck_assert_int_eq(pstore_setting_set(ps, "account.user", "alice"),
	    PSTORE_OK);
	ck_assert_int_eq(pstore_setting_get(ps, "account.user", out,
	    sizeof(out)), PSTORE_OK);
	ck_assert_str_eq(out, "alice");

	/* Overwrite. */
	ck_assert_int_eq(pstore_setting_set(ps, "account.user", "bob"),
	    PSTORE_OK);
	ck_assert_int_eq(pstore_setting_get(ps, "account.user", out,
	    sizeof(out)), PSTORE_OK);
	ck_assert_str_eq(out, "bob");

	/* An empty value is a value, not a deletion. */
	ck_assert_int_eq(pstore_setting_set(ps, "gestor.fingerprint", ""),
	    PSTORE_OK);
	ck_assert_int_eq(pstore_setting_get(ps, "gestor.fingerprint", out,
	    sizeof(out)), PSTORE_OK);
	ck_assert_str_eq(out, "");

	/* A buffer too small is an error, and nothing is overrun. */
	memset(small, 'z', sizeof(small));
	ck_assert_int_eq(pstore_setting_get(ps, "account.user", small,
	    3), PSTORE_ERR);
	ck_assert_int_eq(small[3], 'z');
	ck_assert_int_eq(pstore_setting_get(ps, "account.user", small,
	    4), PSTORE_OK);
	ck_assert_str_eq(small, "bob");

	/* Delete; deleting again is fine. */
	ck_assert_int_eq(pstore_setting_set(ps, "account.user", NULL),
	    PSTORE_OK);
	ck_assert_int_eq(pstore_setting_get(ps, "account.user", out,
	    sizeof(out)), PSTORE_NOTFOUND);
	ck_assert_int_eq(pstore_setting_set(ps, "account.user", NULL),
	    PSTORE_OK);
	ck_assert_int_eq(pstore_setting_get(ps, "gestor.fingerprint", out,
	    sizeof(out)), PSTORE_OK);
	pstore_close(ps);
}
END_TEST

START_TEST(test_contacts)
{
	struct pstore *ps = open_ok(true);
	struct pcontact c, got;

	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got), PSTORE_NOTFOUND);
	make_contact(&c, "bob", "");
	ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_OK);
	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got), PSTORE_OK);
	ck_assert_str_eq(got.name, "bob");
	ck_assert_str_eq(got.fingerprint, "");
	ck_assert(!got.verified);
	ck_assert_str_eq(got.addr, "");
	ck_assert_int_eq(got.port, 0);
	ck_assert_int_eq(got.last_seen, 0);
	ck_assert_str_eq(got.prev_fingerprint, "");

	/* Put replaces the whole row. */
	make_contact(&c, "bob", TU_FP_B);
	c.verified = true;
	snprintf(c.addr, sizeof(c.addr), "198.18.0.7");
	c.port = 7001;
	c.last_seen = 1700000000;
	snprintf(c.prev_fingerprint, sizeof(c.prev_fingerprint), "%s", TU_FP_A);
	ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_OK);
	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got), PSTORE_OK);
	ck_assert_str_eq(got.fingerprint, TU_FP_B);
	ck_assert(got.verified);
	ck_assert_str_eq(got.addr, "198.18.0.7");
	ck_assert_int_eq(got.port, 7001);
	ck_assert_int_eq(got.last_seen, 1700000000);
	ck_assert_str_eq(got.prev_fingerprint, TU_FP_A);

	make_contact(&c, "bob", TU_FP_A);
	ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_OK);
	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got), PSTORE_OK);
	ck_assert_str_eq(got.fingerprint, TU_FP_A);
	ck_assert(!got.verified);
	ck_assert_str_eq(got.addr, "");
	ck_assert_str_eq(got.prev_fingerprint, "");
	pstore_close(ps);
}
END_TEST

/* How many times the contact lookup statement has run on ps. */
static int
contact_reads(struct pstore *ps)
{
	sqlite3_stmt *st = NULL;

	while ((st = sqlite3_next_stmt(pstore_db(ps), st)) != NULL)
		if (strstr(sqlite3_sql(st), "FROM contacts WHERE name = ?") !=
		    NULL)
			return sqlite3_stmt_status(st, SQLITE_STMTSTATUS_RUN, 0);
	ck_abort_msg("no contact lookup statement");
	return -1;
}

/*
 * Contacts are cached (send looks one up per request): a second lookup
 * reads no row, every put is seen by the next get, names that share a
 * slot do not mix, and an unknown name is cached too until it is put.
 */
START_TEST(test_contact_cache)
{
	struct pstore *ps = open_ok(true);
	struct pcontact c, got;
	char name[32], big[P2P_USERNAME_MAX + 8];
	int n, i;

	n = contact_reads(ps);
	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got), PSTORE_NOTFOUND);
	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got), PSTORE_NOTFOUND);
	ck_assert_int_eq(contact_reads(ps), n + 1);
	make_contact(&c, "bob", TU_FP_A);
	ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_OK);
	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got), PSTORE_OK);
	ck_assert_str_eq(got.fingerprint, TU_FP_A);
	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got), PSTORE_OK);
	ck_assert_int_eq(contact_reads(ps), n + 2);
	/* trust and key changes are puts. */
	c.verified = true;
	ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_OK);
	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got), PSTORE_OK);
	ck_assert(got.verified);
	make_contact(&c, "bob", TU_FP_B);
	snprintf(c.prev_fingerprint, sizeof(c.prev_fingerprint), "%s", TU_FP_A);
	ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_OK);
	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got), PSTORE_OK);
	ck_assert_str_eq(got.fingerprint, TU_FP_B);
	ck_assert_str_eq(got.prev_fingerprint, TU_FP_A);
	ck_assert(!got.verified);
	/* Many more names than slots: each reads back as its own. */
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		make_contact(&c, name, i % 2 ? TU_FP_A : TU_FP_B);
		c.port = i + 1;
		ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_OK);
		ck_assert_int_eq(pstore_contact_get(ps, name, &got), PSTORE_OK);
	}
	for (i = 299; i >= 0; i--) {
		snprintf(name, sizeof(name), "user%d", i);
		ck_assert_int_eq(pstore_contact_get(ps, name, &got), PSTORE_OK);
		ck_assert_str_eq(got.name, name);
		ck_assert_int_eq(got.port, i + 1);
		ck_assert_str_eq(got.fingerprint, i % 2 ? TU_FP_A : TU_FP_B);
	}
	/* A name too long to be a user's is looked up, never cached. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(pstore_contact_get(ps, big, &got), PSTORE_NOTFOUND);
	ck_assert_int_eq(pstore_contact_get(ps, big, &got), PSTORE_NOTFOUND);
	pstore_close(ps);
}
END_TEST

START_TEST(test_contact_bad_record)
{
	struct pstore *ps = open_ok(true);
	struct pcontact c, got;

	make_contact(&c, "bob", TU_FP_A);
	c.port = 65536;
	ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_ERR);
	make_contact(&c, "", TU_FP_A);
	ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_ERR);
	make_contact(&c, "bob", TU_FP_A);
	memset(c.addr, 'x', sizeof(c.addr));
	ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_ERR);
	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got), PSTORE_NOTFOUND);
	pstore_close(ps);
}
END_TEST

struct collect {
	char	names[8][P2P_USERNAME_MAX + 1];
	int	n;
	int	stop_after;
};

static int
collect_cb(const struct pcontact *c, void *arg)
{
	struct collect *cl = arg;

	ck_assert_int_lt(cl->n, 8);
	strcpy(cl->names[cl->n++], c->name);
	return cl->n == cl->stop_after ? -1 : 0;
}

START_TEST(test_contact_foreach)
{
	static const char *const names[] = { "zed", "bob", "carol", "amy" };
	struct pstore *ps = open_ok(true);
	struct collect cl;
	struct pcontact c;
	size_t i;

	memset(&cl, 0, sizeof(cl));
	ck_assert_int_eq(pstore_contact_foreach(ps, collect_cb, &cl),
	    PSTORE_OK);
	ck_assert_int_eq(cl.n, 0);
	for (i = 0; i < 4; i++) {
		make_contact(&c, names[i], TU_FP_A);
		ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_OK);
	}
	/* Replacing one does not add a row. */
	make_contact(&c, "bob", TU_FP_B);
	ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_OK);

	ck_assert_int_eq(pstore_contact_foreach(ps, collect_cb, &cl),
	    PSTORE_OK);
	ck_assert_int_eq(cl.n, 4);
	ck_assert_str_eq(cl.names[0], "amy");
	ck_assert_str_eq(cl.names[1], "bob");
	ck_assert_str_eq(cl.names[2], "carol");
	ck_assert_str_eq(cl.names[3], "zed");

	memset(&cl, 0, sizeof(cl));
	cl.stop_after = 1;
	ck_assert_int_eq(pstore_contact_foreach(ps, collect_cb, &cl),
	    PSTORE_OK);
	ck_assert_int_eq(cl.n, 1);
	ck_assert_str_eq(cl.names[0], "amy");
	pstore_close(ps);
}
END_TEST

START_TEST(test_transactions)
{
	struct pstore *ps = open_ok(true);
	struct pcontact c, got;
	char out[64];

	/* Rollback discards every write since begin. */
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pstore_setting_set(ps, "k", "v1"), PSTORE_OK);
	make_contact(&c, "bob", TU_FP_A);
	ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_OK);
	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got), PSTORE_OK);
	pstore_rollback(ps);
	ck_assert_int_eq(pstore_setting_get(ps, "k", out, sizeof(out)),
	    PSTORE_NOTFOUND);
	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got),
	    PSTORE_NOTFOUND);

	/* Commit keeps them, seen from another connection. */
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pstore_begin(ps), PSTORE_ERR);
	ck_assert_int_eq(pstore_setting_set(ps, "k", "v2"), PSTORE_OK);
	ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_OK);
	ck_assert_int_eq(tu_file_int(path, "SELECT count(*) FROM contacts"), 0);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	ck_assert_int_eq(tu_file_int(path, "SELECT count(*) FROM contacts"), 1);
	ck_assert_int_eq(pstore_setting_get(ps, "k", out, sizeof(out)),
	    PSTORE_OK);
	ck_assert_str_eq(out, "v2");

	/* Commit or rollback with no transaction open. */
	ck_assert_int_eq(pstore_commit(ps), PSTORE_ERR);
	pstore_rollback(ps);
	ck_assert_int_eq(pstore_setting_get(ps, "k", out, sizeof(out)),
	    PSTORE_OK);

	/* Closing with a transaction open rolls it back. */
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pstore_setting_set(ps, "k", "v3"), PSTORE_OK);
	pstore_close(ps);
	ps = open_ok(true);
	ck_assert_int_eq(pstore_setting_get(ps, "k", out, sizeof(out)),
	    PSTORE_OK);
	ck_assert_str_eq(out, "v2");
	pstore_close(ps);
}
END_TEST

START_TEST(test_reopen)
{
	struct pstore *ps = open_ok(true);
	struct pcontact c, got;
	char out[64];
	int version;

	ck_assert_int_eq(pstore_setting_set(ps, "account.user", "alice"),
	    PSTORE_OK);
	make_contact(&c, "bob", TU_FP_B);
	c.port = 7001;
	ck_assert_int_eq(pstore_contact_put(ps, &c), PSTORE_OK);
	pstore_close(ps);
	/* Every migration ran (2 with the FTS5 index); reopening runs none. */
	version = tu_file_int(path, "PRAGMA user_version");
	ck_assert_int_ge(version, 2);

	ps = open_ok(false);
	ck_assert_int_eq(pstore_setting_get(ps, "account.user", out,
	    sizeof(out)), PSTORE_OK);
	ck_assert_str_eq(out, "alice");
	ck_assert_int_eq(pstore_contact_get(ps, "bob", &got), PSTORE_OK);
	ck_assert_str_eq(got.fingerprint, TU_FP_B);
	ck_assert_int_eq(got.port, 7001);
	pstore_close(ps);
	ck_assert_int_eq(tu_file_int(path, "PRAGMA user_version"), version);
}
END_TEST

/* The pragmas, read back through the store's own handle. */
START_TEST(test_pragmas)
{
	struct pstore *ps = open_ok(true);
	sqlite3 *db = pstore_db(ps);

	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(tu_db_int(db, "SELECT journal_mode = 'wal' FROM "
	    "pragma_journal_mode"), 1);
	ck_assert_int_eq(tu_db_int(db, "PRAGMA synchronous"), 2);	/* FULL */
	ck_assert_int_eq(tu_db_int(db, "PRAGMA foreign_keys"), 1);
	ck_assert_int_eq(tu_db_int(db, "PRAGMA busy_timeout"), 5000);
	pstore_close(ps);

	ps = open_ok(false);
	ck_assert_int_eq(tu_db_int(pstore_db(ps), "PRAGMA synchronous"), 1);
	pstore_close(ps);
}
END_TEST

START_TEST(test_file_mode)
{
	struct pstore *ps;
	struct stat st;
	char wal[256], *cause;
	mode_t old;

	old = umask(0);
	ps = open_ok(true);
	umask(old);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(pstore_setting_set(ps, "k", "v"), PSTORE_OK);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	ck_assert_int_eq(stat(wal, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	pstore_close(ps);

	ck_assert_int_eq(chmod(path, 0640), 0);
	cause = open_fails();
	ck_assert_msg(strstr(cause, "0640") != NULL, "cause: %s", cause);
	free(cause);
	ck_assert_int_eq(chmod(path, 0604), 0);
	free(open_fails());

	/* Put right, the same file opens with its data. */
	ck_assert_int_eq(chmod(path, 0600), 0);
	pstore_close(open_ok(true));
	ck_assert_int_eq(tu_file_int(path, "SELECT count(*) FROM settings"), 1);
}
END_TEST

static long
wal_bytes(void)
{
	char wal[256];
	struct stat st;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	return stat(wal, &st) == 0 ? (long)st.st_size : 0;
}

/*
 * The WAL is checkpointed on a thread (core/sqlckpt.c) and still starts
 * over under a writer that never pauses: 80 MB written in synchronous
 * commits of ~33 pages (as the daemon commits) leave a WAL of ~4 000
 * pages (4 wakes of the thread; 7 500 allowed for a busy machine), where
 * the thread alone let it grow with most of what was written; nothing
 * is lost.
 */
START_TEST(test_wal_bounded)
{
	struct pstore *ps = open_ok(true);
	sqlite3 *db = pstore_db(ps);
	long max = 0;
	int i;

	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE big (b BLOB)", NULL,
	    NULL, NULL), SQLITE_OK);
	for (i = 0; i < 600; i++) {
		ck_assert_int_eq(sqlite3_exec(db, "BEGIN; WITH RECURSIVE "
		    "c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 32) "
		    "INSERT INTO big SELECT randomblob(4000) FROM c; COMMIT",
		    NULL, NULL, NULL), SQLITE_OK);
		if (wal_bytes() > max)
			max = wal_bytes();
	}
	ck_assert_msg(max < 7500L * 4120, "the WAL grew to %ld bytes", max);
	pstore_close(ps);
	ck_assert_int_eq(tu_file_int(path, "SELECT count(*) FROM big"), 600 * 32);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	sqlite3 *db;
	char *cause;

	pstore_close(open_ok(true));
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 999", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	cause = open_fails();
	ck_assert_msg(strstr(cause, "999") != NULL &&
	    strstr(cause, "newer") != NULL, "cause: %s", cause);
	free(cause);
	ck_assert_int_eq(tu_file_int(path, "PRAGMA user_version"), 999);
}
END_TEST

START_TEST(test_missing_dir)
{
	char *cause;

	snprintf(path, sizeof(path), "%s/no/such/peer.db", dir);
	cause = open_fails();
	ck_assert_msg(strstr(cause, "peer.db") != NULL, "cause: %s", cause);
	free(cause);
}
END_TEST

static Suite *
pstore_suite(void)
{
	Suite *s = suite_create("pstore");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_settings);
	tcase_add_test(tc, test_contacts);
	tcase_add_test(tc, test_contact_cache);
	tcase_add_test(tc, test_contact_bad_record);
	tcase_add_test(tc, test_contact_foreach);
	tcase_add_test(tc, test_wal_bounded);
	tcase_add_test(tc, test_transactions);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_pragmas);
	tcase_add_test(tc, test_file_mode);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_missing_dir);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(pstore_suite(), LOG_LVL_INFO);
}
