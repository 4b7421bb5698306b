/*
 * SQLite reference for `make bench`: how many message rows per second
 * the machine commits with the daemon's settings (WAL, the configured
 * synchronous mode) and batching (rows per transaction).
 *
 *   bench_sqlite [-n ROWS] [-b BATCH] [-y full|normal] [-s BODY_BYTES] MODE FILE
 *
 * MODE rows:  the limit. Plain INSERTs of message rows (the columns, key
 *             and index of the messages table, nothing else), BATCH per
 *             transaction; also the p50/p99 time of one COMMIT.
 * MODE store: the recipient's real path: pstore_open + pmsg_receive
 *             (message, chat, unread count, event, full-text index),
 *             BATCH per transaction, as the group commit does it.
 * MODE queue: the sender's real `send` path: pmsg_queue, one message per
 *             transaction (BATCH is ignored).
 * MODE ack:   the sender's ack path: pmsg_delivered, BATCH per transaction
 *             (the queued rows are set up first, untimed).
 *
 * FILE must not exist. Prints one JSON object.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench.h"
#include "log.h"
#include "pstore.h"
#include "pstore_msg.h"

struct opts {
	long		 n;
	long		 batch;
	bool		 full;
	size_t		 body_len;
	char		*body;
	const char	*file;
};

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: bench_sqlite [-n ROWS] [-b BATCH] "
	    "[-y full|normal] [-s BODY_BYTES] rows|store|queue|ack FILE\n");
	exit(2);
}

static void die(const char *, sqlite3 *) __attribute__((noreturn));

static void
die(const char *what, sqlite3 *db)
{
	fprintf(stderr, "bench_sqlite: %s: %s\n", what,
	    db != NULL ? sqlite3_errmsg(db) : "failed");
	exit(1);
}

static void
exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(sql, db);
}

static int64_t	*commits;	/* COMMIT durations in ns (rows mode) */
static size_t	 ncommits, commitcap;

static void
add_commit(int64_t ns)
{
	if (ncommits == commitcap) {
		commitcap = commitcap ? commitcap * 2 : 1024;
		if ((commits = realloc(commits, commitcap * sizeof(*commits))) ==
		    NULL)
			abort();
	}
	commits[ncommits++] = ns;
}

static void
msg_id(long i, char *out)
{
	snprintf(out, P2P_MSGID_HEX + 1, "%016lx%016lx",
	    (unsigned long)i * 0x9e3779b97f4a7c15UL, (unsigned long)i);
}

/* The limit: plain message rows, nothing the daemon adds. */
static double
run_rows(const struct opts *o)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char id[P2P_MSGID_HEX + 1];
	int64_t t0, tc;
	long i;

	if (sqlite3_open(o->file, &db) != SQLITE_OK)
		die("open", db);
	exec(db, "PRAGMA journal_mode = WAL");
	exec(db, o->full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL");
	exec(db, "CREATE TABLE messages (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " id TEXT NOT NULL UNIQUE, peer TEXT NOT NULL, direction TEXT NOT NULL,"
	    " body TEXT NOT NULL, ts_sent INTEGER NOT NULL, ts_received INTEGER"
	    " NOT NULL DEFAULT 0, state TEXT NOT NULL);"
	    "CREATE INDEX messages_peer ON messages (peer, seq);");
	if (sqlite3_prepare_v2(db, "INSERT INTO messages (id, peer, direction,"
	    " body, ts_sent, ts_received, state) VALUES (?1, 'alice', 'in', ?2,"
	    " ?3, ?4, 'received')", -1, &st, NULL) != SQLITE_OK)
		die("prepare", db);
	t0 = bench_now_ns();
	for (i = 0; i < o->n; i++) {
		if (i % o->batch == 0)
			exec(db, "BEGIN IMMEDIATE");
		msg_id(i, id);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, o->body, (int)o->body_len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, 1700000000000 + i);
		sqlite3_bind_int64(st, 4, 1700000000001 + i);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("insert", db);
		sqlite3_reset(st);
		if (i % o->batch == o->batch - 1 || i == o->n - 1) {
			tc = bench_now_ns();
			exec(db, "COMMIT");
			add_commit(bench_now_ns() - tc);
		}
	}
	t0 = bench_now_ns() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return (double)t0 / 1e9;
}

static void
fill_msg(const struct opts *o, long i, bool out, struct pmsg *m)
{
	memset(m, 0, sizeof(*m));
	msg_id(i, m->id);
	snprintf(m->peer, sizeof(m->peer), "alice");
	m->outgoing = out;
	m->body = o->body;
	m->body_len = o->body_len;
	m->ts_sent = 1700000000000 + i;
	m->ts_received = out ? 0 : 1700000000001 + i;
	snprintf(m->state, sizeof(m->state), out ? "pending" : "received");
}

/* Queue n outgoing messages quickly, in one transaction (untimed set-up). */
static void
setup_queued(const struct opts *o, struct pstore *ps)
{
	sqlite3 *db = pstore_db(ps);
	sqlite3_stmt *ins;
	char id[P2P_MSGID_HEX + 1];
	long i;

	exec(db, "BEGIN");
	if (sqlite3_prepare_v2(db, "INSERT INTO messages (id, peer, direction,"
	    " body, ts_sent, state) VALUES (?1, 'alice', 'out', ?2, ?3,"
	    " 'pending')", -1, &ins, NULL) != SQLITE_OK)
		die("prepare", db);
	for (i = 0; i < o->n; i++) {
		msg_id(i, id);
		sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, o->body, (int)o->body_len,
		    SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, 1700000000000 + i);
		if (sqlite3_step(ins) != SQLITE_DONE)
			die("setup", db);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	exec(db, "COMMIT");
}

/* One of the daemon's own paths through pstore/pstore_msg. */
static double
run_store(const struct opts *o, const char *mode)
{
	struct pstore *ps;
	struct pmsg_store *ms;
	struct pmsg m;
	char *cause = NULL;
	int64_t t0, seq;
	enum pstore_rc rc = PSTORE_OK;
	long i;

	if ((ps = pstore_open(o->file, o->full, &cause)) == NULL ||
	    (ms = pmsg_open(ps, &cause)) == NULL) {
		fprintf(stderr, "bench_sqlite: %s\n", cause != NULL ? cause : "?");
		exit(1);
	}
	if (strcmp(mode, "ack") == 0)
		setup_queued(o, ps);
	t0 = bench_now_ns();
	for (i = 0; i < o->n && rc != PSTORE_ERR; i++) {
		if (strcmp(mode, "queue") == 0) {
			fill_msg(o, i, true, &m);
			rc = pmsg_queue(ms, &m, NULL, NULL);
			continue;
		}
		if (i % o->batch == 0 && pstore_begin(ps) != PSTORE_OK)
			die("begin", NULL);
		if (strcmp(mode, "store") == 0) {
			fill_msg(o, i, false, &m);
			rc = pmsg_receive(ms, &m, &seq);
		} else {
			msg_id(i, m.id);
			rc = pmsg_delivered(ms, m.id, "alice", 1700000000002 + i,
			    &seq);
		}
		if ((i % o->batch == o->batch - 1 || i == o->n - 1) &&
		    pstore_commit(ps) != PSTORE_OK)
			die("commit", NULL);
	}
	t0 = bench_now_ns() - t0;
	if (rc != PSTORE_OK)
		die(mode, NULL);
	pmsg_close(ms);
	pstore_close(ps);
	return (double)t0 / 1e9;
}

int
main(int argc, char **argv)
{
	struct opts o = { .n = 50000, .batch = 256, .full = true,
	    .body_len = 200 };
	const char *mode;
	double secs;
	int ch;

	while ((ch = getopt(argc, argv, "n:b:y:s:")) != -1) {
		switch (ch) {
		case 'n':
			o.n = strtol(optarg, NULL, 10);
			break;
		case 'b':
			o.batch = strtol(optarg, NULL, 10);
			break;
		case 'y':
			o.full = strcmp(optarg, "full") == 0;
			if (!o.full && strcmp(optarg, "normal") != 0)
				usage();
			break;
		case 's':
			o.body_len = (size_t)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind + 2 != argc || o.n <= 0 || o.batch <= 0 ||
	    o.body_len == 0 || o.body_len > 65536)
		usage();
	mode = argv[optind];
	o.file = argv[optind + 1];
	if (access(o.file, F_OK) == 0) {
		fprintf(stderr, "bench_sqlite: %s exists\n", o.file);
		return 1;
	}
	log_init(LOG_LVL_WARN);
	o.body = malloc(o.body_len + 1);
	memset(o.body, 'x', o.body_len);
	o.body[o.body_len] = '\0';
	if (strcmp(mode, "rows") == 0)
		secs = run_rows(&o);
	else if (strcmp(mode, "store") == 0 || strcmp(mode, "queue") == 0 ||
	    strcmp(mode, "ack") == 0)
		secs = run_store(&o, mode);
	else
		usage();
	printf("{\"mode\":\"%s\",\"rows\":%ld,\"batch\":%ld,\"synchronous\":"
	    "\"%s\",\"secs\":%.6f,\"rate\":%.1f,\"commit_p50_ms\":%.3f,"
	    "\"commit_p99_ms\":%.3f}\n", mode, o.n,
	    strcmp(mode, "queue") == 0 ? 1 : o.batch, o.full ? "full" : "normal",
	    secs, (double)o.n / secs,
	    (double)bench_percentile(commits, ncommits, 50) / 1e6,
	    (double)bench_percentile(commits, ncommits, 99) / 1e6);
	return 0;
}
