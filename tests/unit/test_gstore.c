/*
 * Unit tests for gstore_sqlite.c: users added, read, updated and listed;
 * data and schema version kept across reopen; the file's permissions,
 * WAL mode, and refusal of loose modes and newer schemas; heartbeat
 * refreshes batched into one transaction, in order, flushed at close.
 */
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "gstore.h"
#include "gstore_wait.h"
#include "gstore_mail.h"
#include "testutil.h"

static char dir[TU_DIR_MAX];
static char path[128];
struct event_base *gw_base;

/* Open the SQLite store at path (sync_full as given). */
static struct gstore *
store_open(bool sync_full, char **cause)
{
	struct gstore_opts o;
	char *dummy = NULL;
	struct gstore *gs;

	memset(&o, 0, sizeof(o));
	o.base = gw_base;
	o.backend = "sqlite";
	o.path = path;
	o.sync_full = sync_full;
	gs = gstore_open(&o, cause != NULL ? cause : &dummy);
	free(dummy);
	return gs;
}

static void
setup(void)
{
	gw_base = event_base_new();
	ck_assert_ptr_nonnull(gw_base);
	tu_mkdtemp(dir, "test_gstore");
	snprintf(path, sizeof(path), "%s/gestor.db", dir);
}

static void
teardown(void)
{
	event_base_free(gw_base);
	tu_rmdir(dir);
}

static struct gstore *
open_ok(void)
{
	struct gstore *gs;
	char *cause = NULL;

	gs = store_open(true, &cause);
	ck_assert_msg(gs != NULL, "gstore_open: %s", cause);
	ck_assert_ptr_null(cause);
	return gs;
}

/* gstore_open must fail; returns its cause for the caller to check. */
static char *
open_fails(void)
{
	char *cause = NULL;

	ck_assert_ptr_null(store_open(true, &cause));
	ck_assert_ptr_nonnull(cause);
	return cause;
}

START_TEST(test_add_get)
{
	struct gstore *gs = open_ok();
	struct guser u, got;

	tu_make_user(&u, "alice", TU_FP_A, 1700000000);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_OK);
	ck_assert_str_eq(got.name, "alice");
	ck_assert_str_eq(got.hash, TU_HASH);
	ck_assert_str_eq(got.fingerprint, TU_FP_A);
	ck_assert_int_eq(got.created, 1700000000);
	ck_assert_int_eq(got.last_seen, 0);
	ck_assert_str_eq(got.addr, "");
	ck_assert_int_eq(got.port, 0);

	ck_assert_int_eq(gw_get(gs, "bob", &got), GSTORE_NOTFOUND);
	ck_assert_int_eq(gw_get(gs, "Alice", &got), GSTORE_NOTFOUND);
	gstore_close(gs);
}
END_TEST

/* The mailbox (gstore_mail.h), then the same file reopened. */
START_TEST(test_mailbox)
{
	struct gstore *gs = open_ok();
	struct gm_wait g;

	gm_check_mailbox(gs, gs);
	gm_check_put_many(gs, gs);
	gstore_close(gs);
	/* A blob is kept as its bytes (3, not 4 of base64); a row an older
	 * gestor wrote as base64 text reads the same. */
	ck_assert_int_eq(tu_file_int(path, "SELECT count(*) FROM mailbox "
	    "WHERE rcpt = 'bob' AND typeof(blob) = 'blob' AND length(blob) = 3"),
	    1);
	tu_file_exec(path, "INSERT INTO mailbox (rcpt, sender, ts, expires, "
	    "size, blob) VALUES ('bob', 'carol', 1, 9000000000000, 3, 'b2xk')");
	gs = open_ok();
	ck_assert_int_eq(gm_fetch(gs, "bob", 0, 10, &g), GSTORE_OK);
	ck_assert_int_eq(g.rows, 2);
	ck_assert_str_eq(g.blob[0], "bmV3");
	ck_assert_str_eq(g.blob[1], "b2xk");
	gstore_close(gs);
	ck_assert_int_eq(tu_file_int(path, "PRAGMA user_version"), 4);
}
END_TEST

/* A store of schema 2 (before the mailbox) keeps its users, mail off. */
START_TEST(test_mailbox_migrate)
{
	struct gstore *gs;
	struct guser got;

	tu_file_exec(path, "CREATE TABLE users (name TEXT PRIMARY KEY, "
	    "hash TEXT NOT NULL, fingerprint TEXT NOT NULL, created INTEGER "
	    "NOT NULL, last_seen INTEGER NOT NULL DEFAULT 0, addr TEXT NOT NULL "
	    "DEFAULT '', port INTEGER NOT NULL DEFAULT 0); CREATE INDEX "
	    "users_fingerprint ON users (fingerprint); INSERT INTO users VALUES "
	    "('alice', '" TU_HASH "', '" TU_FP_A "', 42, 43, '', 0); "
	    "PRAGMA user_version = 2");
	chmod(path, 0600);
	gs = open_ok();
	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_OK);
	ck_assert_int_eq(got.created, 42);
	ck_assert_str_eq(got.mail, "");
	ck_assert_int_eq(gm_set_mail(gs, "alice", true), GSTORE_OK);
	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_OK);
	ck_assert_str_eq(got.mail, GM_KEY);
	/* A mail key that is not one reads as none. */
	gstore_close(gs);
	tu_file_exec(path, "UPDATE users SET mail = 'zz' WHERE name = 'alice'");
	gs = open_ok();
	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_OK);
	ck_assert_str_eq(got.mail, "");
	gstore_close(gs);
	ck_assert_int_eq(tu_file_int(path, "PRAGMA user_version"), 4);
}
END_TEST

START_TEST(test_duplicate)
{
	struct gstore *gs = open_ok();
	struct guser u, got;

	tu_make_user(&u, "alice", TU_FP_A, 1);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	tu_make_user(&u, "alice", TU_FP_B, 2);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_EXISTS);
	/* The first record is untouched and the store still works. */
	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_OK);
	ck_assert_str_eq(got.fingerprint, TU_FP_A);
	ck_assert_int_eq(got.created, 1);
	ck_assert_int_eq(gw_count(gs), 1);
	tu_make_user(&u, "bob", TU_FP_B, 3);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	ck_assert_int_eq(gw_count(gs), 2);
	gstore_close(gs);
}
END_TEST

/* One key, one account: a key already bound is refused, by add and set_key. */
START_TEST(test_key_taken)
{
	struct gstore *gs = open_ok();
	struct guser u, got;

	tu_make_user(&u, "alice", TU_FP_A, 1);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	tu_make_user(&u, "bob", TU_FP_B, 2);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	tu_make_user(&u, "frank", TU_FP_A, 3);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_KEY_TAKEN);
	ck_assert_int_eq(gw_get(gs, "frank", &got), GSTORE_NOTFOUND);
	/* A taken name is still EXISTS, whatever the key. */
	tu_make_user(&u, "bob", TU_FP_A, 4);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_EXISTS);
	ck_assert_int_eq(gw_set_key(gs, "bob", TU_FP_A), GSTORE_KEY_TAKEN);
	ck_assert_int_eq(gw_get(gs, "bob", &got), GSTORE_OK);
	ck_assert_str_eq(got.fingerprint, TU_FP_B);
	/* Its own key again, and a free one, are fine. */
	ck_assert_int_eq(gw_set_key(gs, "alice", TU_FP_A), GSTORE_OK);
	ck_assert_int_eq(gw_set_key(gs, "nobody", TU_FP_A), GSTORE_NOTFOUND);
	ck_assert_int_eq(gw_count(gs), 2);
	gstore_close(gs);
}
END_TEST

START_TEST(test_unterminated_field)
{
	struct gstore *gs = open_ok();
	struct guser u;

	tu_make_user(&u, "alice", TU_FP_A, 1);
	memset(u.fingerprint, 'f', sizeof(u.fingerprint));
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_ERR);
	ck_assert_int_eq(gw_count(gs), 0);
	gstore_close(gs);
}
END_TEST

START_TEST(test_set_key_seen)
{
	struct gstore *gs = open_ok();
	struct guser u, got;
	char longaddr[100];

	tu_make_user(&u, "alice", TU_FP_A, 1);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);

	ck_assert_int_eq(gw_set_key(gs, "alice", TU_FP_B), GSTORE_OK);
	ck_assert_int_eq(gw_set_key(gs, "nobody", TU_FP_B),
	    GSTORE_NOTFOUND);
	ck_assert_int_eq(gw_presence(gs, GSTORE_ONLINE, "alice", "198.18.0.2", 7001,
	    1700000100), GSTORE_OK);
	ck_assert_int_eq(gw_presence(gs, GSTORE_ONLINE, "nobody", "198.18.0.2", 7001,
	    1700000100), GSTORE_NOTFOUND);

	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_OK);
	ck_assert_str_eq(got.fingerprint, TU_FP_B);
	ck_assert_str_eq(got.addr, "198.18.0.2");
	ck_assert_int_eq(got.port, 7001);
	ck_assert_int_eq(got.last_seen, 1700000100);
	ck_assert_str_eq(got.hash, TU_HASH);
	ck_assert_int_eq(got.created, 1);

	/* Values that would not fit or make no sense are refused. */
	memset(longaddr, 'x', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	ck_assert_int_eq(gw_presence(gs, GSTORE_ONLINE, "alice", longaddr, 1, 2),
	    GSTORE_ERR);
	ck_assert_int_eq(gw_presence(gs, GSTORE_ONLINE, "alice", "::1", 70000, 2),
	    GSTORE_ERR);
	ck_assert_int_eq(gw_set_key(gs, "alice", TU_FP_A "0"),
	    GSTORE_ERR);
	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_OK);
	ck_assert_str_eq(got.fingerprint, TU_FP_B);
	ck_assert_str_eq(got.addr, "198.18.0.2");
	gstore_close(gs);
}
END_TEST

struct collect {
	char	names[8][P2P_USERNAME_MAX + 1];
	int	n;
	int	stop_after;
};

static int
collect_cb(const struct guser *u, void *arg)
{
	struct collect *c = arg;

	ck_assert_int_lt(c->n, 8);
	strcpy(c->names[c->n++], u->name);
	return c->n == c->stop_after ? -1 : 0;
}

START_TEST(test_foreach_count)
{
	static const char *const names[] = { "carol", "alice", "dave", "bob" };
	struct gstore *gs = open_ok();
	struct collect c;
	struct guser u;
	size_t i;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(gw_count(gs), 0);
	ck_assert_int_eq(gw_foreach(gs, collect_cb, &c), GSTORE_OK);
	ck_assert_int_eq(c.n, 0);

	for (i = 0; i < 4; i++) {
		tu_make_user(&u, names[i], tu_fp_of(names[i]), (int64_t)i);
		ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	}
	ck_assert_int_eq(gw_count(gs), 4);
	ck_assert_int_eq(gw_foreach(gs, collect_cb, &c), GSTORE_OK);
	ck_assert_int_eq(c.n, 4);
	ck_assert_str_eq(c.names[0], "alice");
	ck_assert_str_eq(c.names[1], "bob");
	ck_assert_str_eq(c.names[2], "carol");
	ck_assert_str_eq(c.names[3], "dave");

	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	ck_assert_int_eq(gw_foreach(gs, collect_cb, &c), GSTORE_OK);
	ck_assert_int_eq(c.n, 2);
	ck_assert_str_eq(c.names[1], "bob");
	/* An interrupted walk leaves the store usable. */
	ck_assert_int_eq(gw_count(gs), 4);
	gstore_close(gs);
}
END_TEST

START_TEST(test_reopen)
{
	struct gstore *gs = open_ok();
	struct guser u, got;

	tu_make_user(&u, "alice", TU_FP_A, 42);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	ck_assert_int_eq(gw_presence(gs, GSTORE_ONLINE, "alice", "127.0.0.1", 7001, 43),
	    GSTORE_OK);
	gstore_close(gs);
	ck_assert_int_eq(tu_file_int(path, "PRAGMA user_version"), 4);

	gs = store_open(false, NULL);
	ck_assert_ptr_nonnull(gs);
	ck_assert_int_eq(gw_count(gs), 1);
	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_OK);
	ck_assert_int_eq(got.created, 42);
	ck_assert_int_eq(got.last_seen, 43);
	ck_assert_str_eq(got.addr, "127.0.0.1");
	gstore_close(gs);
	ck_assert_int_eq(tu_file_int(path, "PRAGMA user_version"), 4);
}
END_TEST

/* Frames in the WAL file (header 32 bytes, each frame 24 + page size). */
static long
wal_frames(void)
{
	char wal[160];
	struct stat sb;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &sb) == -1 || sb.st_size < 32)
		return 0;
	return (long)((sb.st_size - 32) / (24 + 4096));
}

#define NSEEN	200

/*
 * Heartbeat refreshes wait and are written together: every one lands
 * and reads back, each gets its own result, and the batch is one
 * transaction (a handful of WAL frames, not one commit per refresh).
 */
START_TEST(test_seen_batch)
{
	struct gstore *gs = open_ok();
	static struct gwait w[NSEEN + 1];
	struct guser u, got;
	char name[32];
	long before;
	int i, left;

	ck_assert_int_eq(tu_file_int(path, "PRAGMA page_size"), 4096);
	for (i = 0; i < NSEEN; i++) {
		snprintf(name, sizeof(name), "user%03d", i);
		tu_make_user(&u, name, tu_fp_of(name), 1);
		ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	}
	before = wal_frames();
	memset(w, 0, sizeof(w));
	for (i = 0; i <= NSEEN; i++) {
		memset(&u, 0, sizeof(u));
		snprintf(u.name, sizeof(u.name), i < NSEEN ? "user%03d" :
		    "nobody", i);
		snprintf(u.addr, sizeof(u.addr), "198.18.%d.%d", i / 250,
		    i % 250 + 1);
		u.port = 7000 + i;
		u.last_seen = 1700000000 + i;
		ck_assert_ptr_nonnull(gstore_presence(gs, GSTORE_SEEN, &u,
		    gw_done_cb, &w[i]));
	}
	/* Nothing is written, nor delivered, inside the calls. */
	ck_assert_int_eq(wal_frames(), before);
	ck_assert_int_eq(w[0].done, 0);
	for (left = 1; left > 0; ) {
		event_base_loop(gw_base, EVLOOP_ONCE);
		for (left = 0, i = 0; i <= NSEEN; i++)
			left += w[i].done == 0;
	}
	for (i = 0; i < NSEEN; i++) {
		ck_assert_int_eq(w[i].done, 1);
		ck_assert_int_eq(w[i].rc, GSTORE_OK);
	}
	ck_assert_int_eq(w[NSEEN].rc, GSTORE_NOTFOUND);
	ck_assert_int_lt(wal_frames() - before, NSEEN / 10);
	for (i = 0; i < NSEEN; i++) {
		snprintf(name, sizeof(name), "user%03d", i);
		ck_assert_int_eq(gw_get(gs, name, &got), GSTORE_OK);
		ck_assert_int_eq(got.last_seen, 1700000000 + i);
		ck_assert_int_eq(got.port, 7000 + i);
	}
	ck_assert_str_eq(got.addr, "198.18.0.200");
	gstore_close(gs);
}
END_TEST

/*
 * Online and offline are gathered too, until the end of the loop turn
 * (every session of a stopping gestor in one transaction), and a read of
 * such a user writes them first.
 */
START_TEST(test_presence_batch)
{
	struct gstore *gs = open_ok();
	struct guser u, got;
	char name[32];
	long before;
	int i;

	for (i = 0; i < NSEEN; i++) {
		snprintf(name, sizeof(name), "user%03d", i);
		tu_make_user(&u, name, tu_fp_of(name), 1);
		ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	}
	before = wal_frames();
	for (i = 0; i < NSEEN; i++) {
		memset(&u, 0, sizeof(u));
		snprintf(u.name, sizeof(u.name), "user%03d", i);
		snprintf(u.addr, sizeof(u.addr), "198.18.1.%d", i % 250 + 1);
		u.port = 8000 + i;
		u.last_seen = 1700001000 + i;
		ck_assert_ptr_null(gstore_presence(gs, i % 2 ? GSTORE_OFFLINE :
		    GSTORE_ONLINE, &u, NULL, NULL));
	}
	ck_assert_int_eq(wal_frames(), before);
	/* Read at once (the same turn): the batch is written first. */
	ck_assert_int_eq(gw_get(gs, "user007", &got), GSTORE_OK);
	ck_assert_int_eq(got.last_seen, 1700001007);
	ck_assert_int_eq(got.port, 8007);
	ck_assert_int_lt(wal_frames() - before, NSEEN / 10);
	/* Without a read, the end of the turn writes them. */
	u.port = 9000;
	u.last_seen = 1700002000;
	ck_assert_ptr_null(gstore_presence(gs, GSTORE_OFFLINE, &u, NULL, NULL));
	before = wal_frames();
	event_base_loop(gw_base, EVLOOP_NONBLOCK);
	ck_assert_int_gt(wal_frames(), before);
	ck_assert_int_eq(tu_file_int(path, "SELECT port FROM users WHERE name = 'user199'"),
	    9000);
	gstore_close(gs);
}
END_TEST

/* A refresh waiting is written before a later write of the same user. */
START_TEST(test_seen_order)
{
	struct gstore *gs = open_ok();
	struct guser u, got;

	tu_make_user(&u, "alice", TU_FP_A, 1);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	snprintf(u.addr, sizeof(u.addr), "198.18.0.9");
	u.port = 7009;
	u.last_seen = 1700000100;
	ck_assert_ptr_null(gstore_presence(gs, GSTORE_SEEN, &u, NULL, NULL));
	ck_assert_int_eq(gw_presence(gs, GSTORE_OFFLINE, "alice", "198.18.0.9",
	    7009, 1700000101), GSTORE_OK);
	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_OK);
	ck_assert_int_eq(got.last_seen, 1700000101);
	gstore_close(gs);
}
END_TEST

/* A clean close writes the refreshes still waiting. */
START_TEST(test_seen_close_flushes)
{
	struct gstore *gs = open_ok();
	struct guser u, got;

	tu_make_user(&u, "alice", TU_FP_A, 1);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	snprintf(u.addr, sizeof(u.addr), "198.18.0.7");
	u.port = 7007;
	u.last_seen = 1700000200;
	ck_assert_ptr_null(gstore_presence(gs, GSTORE_SEEN, &u, NULL, NULL));
	gstore_close(gs);
	ck_assert_int_eq(tu_file_int(path, "SELECT last_seen FROM users WHERE "
	    "name = 'alice'"), 1700000200);
	gs = open_ok();
	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_OK);
	ck_assert_str_eq(got.addr, "198.18.0.7");
	ck_assert_int_eq(got.port, 7007);
	gstore_close(gs);
}
END_TEST

START_TEST(test_file_mode_wal)
{
	struct gstore *gs;
	struct guser u;
	struct stat st;
	char wal[256];
	mode_t old;

	/* 0600 comes from the store, not from a lucky umask. */
	old = umask(0);
	gs = open_ok();
	umask(old);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);

	tu_make_user(&u, "alice", TU_FP_A, 1);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	ck_assert_int_eq(stat(wal, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	gstore_close(gs);

	ck_assert_int_eq(tu_file_int(path, "SELECT journal_mode = 'wal' FROM "
	    "pragma_journal_mode"), 1);
}
END_TEST

START_TEST(test_loose_mode_refused)
{
	char *cause;
	int fd;

	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(chmod(path, 0644), 0);
	cause = open_fails();
	ck_assert_msg(strstr(cause, "0644") != NULL, "cause: %s", cause);
	free(cause);

	ck_assert_int_eq(chmod(path, 0660), 0);
	free(open_fails());
	ck_assert_int_eq(chmod(path, 0600), 0);
	gstore_close(open_ok());
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	char *cause;
	int fd;

	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	tu_file_exec(path, "PRAGMA user_version = 999");
	cause = open_fails();
	ck_assert_msg(strstr(cause, "999") != NULL &&
	    strstr(cause, "newer") != NULL, "cause: %s", cause);
	free(cause);
	ck_assert_int_eq(tu_file_int(path, "PRAGMA user_version"), 999);
}
END_TEST

START_TEST(test_not_a_database)
{
	char junk[4096];
	int fd;

	memset(junk, 'x', sizeof(junk));
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	free(open_fails());
}
END_TEST

/*
 * A value too long for struct guser is an error, never an overflow; a
 * listing skips that row (logged) and lists the others.
 */
START_TEST(test_too_long_in_db)
{
	struct gstore *gs = open_ok();
	struct guser u;
	struct collect c;

	gstore_close(gs);
	tu_file_exec(path, "INSERT INTO users (name, hash, fingerprint, created) "
	    "VALUES ('alice', 'h', 'sha256:" "0123456789012345678901234567890123"
	    "4567890123456789012345678901234567890123456789', 1)");
	gs = open_ok();
	ck_assert_int_eq(gw_get(gs, "alice", &u), GSTORE_ERR);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(gw_foreach(gs, collect_cb, &c), GSTORE_OK);
	ck_assert_int_eq(c.n, 0);
	gstore_close(gs);
}
END_TEST

/* Callbacks run on a later loop turn, once, and never after a cancel. */
START_TEST(test_async_cancel)
{
	struct gstore *gs = open_ok();
	struct gwait w1 = { 0 }, w2 = { 0 };
	struct gstore_op *op;
	struct guser u;

	tu_make_user(&u, "alice", TU_FP_A, 1);
	ck_assert_ptr_null(gstore_user_add(gs, &u, NULL, NULL));
	op = gstore_user_get(gs, "alice", gw_user_cb, &w1);
	ck_assert_ptr_nonnull(op);
	gstore_op_cancel(op);
	gstore_user_get(gs, "alice", gw_user_cb, &w2);
	ck_assert_int_eq(gw_wait(&w2), GSTORE_OK);
	ck_assert_str_eq(w2.u.fingerprint, TU_FP_A);
	ck_assert_int_eq(w1.done, 0);
	/* Pending results are dropped, uncalled, when the store closes. */
	memset(&w1, 0, sizeof(w1));
	gstore_user_count(gs, gw_count_cb, &w1);
	gstore_close(gs);
	event_base_loop(gw_base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(w1.done, 0);
}
END_TEST

/* An unknown backend is refused with a clear cause. */
START_TEST(test_unknown_backend)
{
	struct gstore_opts o;
	char *cause = NULL;

	memset(&o, 0, sizeof(o));
	o.base = gw_base;
	o.backend = "oracle";
	o.path = path;
	ck_assert_ptr_null(gstore_open(&o, &cause));
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, "oracle") != NULL, "cause: %s", cause);
	free(cause);
}
END_TEST

static Suite *
gstore_suite(void)
{
	Suite *s = suite_create("gstore");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_add_get);
	tcase_add_test(tc, test_mailbox);
	tcase_add_test(tc, test_mailbox_migrate);
	tcase_add_test(tc, test_async_cancel);
	tcase_add_test(tc, test_unknown_backend);
	tcase_add_test(tc, test_duplicate);
	tcase_add_test(tc, test_unterminated_field);
	tcase_add_test(tc, test_set_key_seen);
	tcase_add_test(tc, test_key_taken);
	tcase_add_test(tc, test_seen_batch);
	tcase_add_test(tc, test_seen_order);
	tcase_add_test(tc, test_presence_batch);
	tcase_add_test(tc, test_seen_close_flushes);
	tcase_add_test(tc, test_foreach_count);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_file_mode_wal);
	tcase_add_test(tc, test_loose_mode_refused);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_not_a_database);
	tcase_add_test(tc, test_too_long_in_db);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(gstore_suite(), LOG_LVL_INFO);
}
