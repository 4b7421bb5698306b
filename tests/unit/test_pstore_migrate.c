/*
 * Unit tests for the peer store's migrations (pstore_schema.c): a store
 * filled the way schema 3 stored things (messages in and out, the queue
 * in pending_messages with its retry bookkeeping, delivered and received
 * messages with their events as JSON, chats, the full-text index) is
 * migrated to the latest schema and read back through pstore_msg and
 * pstore_archive: every message, seq, event, chat, queue entry and search
 * result survives, events print the same bytes, and the statements the
 * store prepares open no ephemeral b-tree.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "pstore.h"
#include "pstore_archive.h"
#include "pstore_msg.h"
#include "testutil.h"

static char dir[TU_DIR_MAX];
static char path[128];

static void
setup(void)
{
	log_init(LOG_LVL_ERROR);
	tu_mkdtemp(dir, "test_pstore_migrate");
	snprintf(path, sizeof(path), "%s/peer.db", dir);
}

static void
teardown(void)
{
	tu_rmdir(dir);
}

static int
exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* How many times EXPLAIN of sql shows opcode op; -1 if it fails. */
static int
explain_count(sqlite3 *db, const char *sql, const char *op)
{
	sqlite3_stmt *st;
	char *q;
	int n = 0;

	if (asprintf(&q, "EXPLAIN %s", sql) == -1)
		return -1;
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
		free(q);
		return -1;
	}
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strcmp((const char *)sqlite3_column_text(st, 1), op) == 0)
			n++;
	sqlite3_finalize(st);
	free(q);
	return n;
}

#define ID(c)	"0000000000000000000000000000000" #c

/*
 * Schema 3's rows, as its code wrote them: pmsg_queue put a message and
 * a pending_messages row; pmsg_pending_note updated every queued row of
 * the peer (a6 was queued after the last note, so its row has none);
 * pmsg_receive and pmsg_delivered stored their events' JSON; the commit
 * indexed the new rows for search.
 */
static const char schema3_rows[] =
    "PRAGMA user_version = 3;"
    "INSERT INTO messages (id, peer, direction, body, ts_sent, ts_received,"
    "  state) VALUES"
    "  ('" ID(1) "', 'bob', 'out', 'hello world', 1000, 1100, 'delivered'),"
    "  ('" ID(2) "', 'bob', 'out', 'still queued', 2000, 0, 'pending'),"
    "  ('" ID(3) "', 'bob', 'in', 'a reply \"quoted\"', 3000, 3100,"
    "    'received'),"
    "  ('" ID(4) "', 'carol', 'out', 'gone wrong', 4000, 0, 'failed'),"
    "  ('" ID(5) "', 'dave', 'out', 'doomed', 5000, 0, 'pending'),"
    "  ('" ID(6) "', 'bob', 'out', 'queued later', 6000, 0, 'pending'),"
    "  ('" ID(7) "', 'erin', 'out', 'to erin', 7000, 0, 'pending');"
    "INSERT INTO pending_messages (id, peer, seq, attempts, next_try, reason)"
    "  VALUES ('" ID(2) "', 'bob', 2, 3, 9000, 'recipient offline'),"
    "  ('" ID(6) "', 'bob', 6, 0, 0, ''),"
    "  ('" ID(7) "', 'erin', 7, 1, 8000, 'unreachable: refused');"
    "DELETE FROM messages WHERE id = '" ID(5) "';"
    "INSERT INTO chats (peer, last_activity, unread) VALUES ('bob', 6000, 1),"
    "  ('carol', 4000, 0), ('erin', 7000, 0);"
    "INSERT INTO events (type, data) VALUES"
    "  ('delivered', '{\"user\":\"bob\",\"id\":\"" ID(1) "\",\"ts\":1100}'),"
    "  ('message', '{\"from\":\"bob\",\"id\":\"" ID(3) "\",\"ts\":3000,"
    "\"text\":\"a reply \\\"quoted\\\"\"}'),"
    "  ('key-changed', '{\"user\":\"bob\",\"fingerprint\":\"x\"}');"
    "INSERT INTO messages_fts (rowid, body) SELECT m.seq, m.body"
    "  FROM fts_pending p JOIN messages m ON m.seq = p.seq;"
    "DELETE FROM fts_pending;";

static void
make_schema3(void)
{
	const char *const *mig;
	sqlite3 *db;
	int n, i;

	mig = pstore_migrations_for_test(&n);
	ck_assert_int_ge(n, 7);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	chmod(path, 0600);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(exec(db, mig[i]), SQLITE_OK);
	ck_assert_msg(exec(db, schema3_rows) == SQLITE_OK, "%s",
	    sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* Events seen by pmsg_events_since: seq, type and the data text. */
struct ev {
	int	 n;
	int64_t	 seq[16];
	char	 type[16][16];
	char	 data[16][256];
};

static int
collect_event(int64_t seq, const char *type, const char *data, void *arg)
{
	struct ev *e = arg;

	ck_assert_int_lt(e->n, 16);
	e->seq[e->n] = seq;
	snprintf(e->type[e->n], sizeof(e->type[0]), "%s", type);
	ck_assert_uint_lt(strlen(data), sizeof(e->data[0]));
	snprintf(e->data[e->n], sizeof(e->data[0]), "%s", data);
	e->n++;
	return 0;
}

struct pend {
	int	 n;
	char	 id[16][P2P_MSGID_HEX + 1];
	int	 attempts[16];
	int64_t	 next_try[16];
	char	 reason[16][64];
};

static int
collect_pending(const struct ppending *p, void *arg)
{
	struct pend *s = arg;

	ck_assert_int_lt(s->n, 16);
	snprintf(s->id[s->n], sizeof(s->id[0]), "%s", p->msg->id);
	s->attempts[s->n] = p->attempts;
	s->next_try[s->n] = p->next_try;
	snprintf(s->reason[s->n], sizeof(s->reason[0]), "%s", p->reason);
	s->n++;
	return 0;
}

static int
collect_id(const struct pmsg *m, void *arg)
{
	char *ids = arg;

	strcat(ids, m->id + P2P_MSGID_HEX - 1);	/* the last digit */
	return 0;
}

struct chat_rows {
	char	 text[512];
};

static int
collect_chat(const char *peer, long unread, int64_t last, const char *body,
    bool request, void *arg)
{
	struct chat_rows *c = arg;
	size_t len = strlen(c->text);

	/* Everyone written to before migration 8 is accepted: no request. */
	snprintf(c->text + len, sizeof(c->text) - len, "%s %ld %lld %s%s;", peer,
	    unread, (long long)last, body != NULL ? body : "-",
	    request ? " (request)" : "");
	return 0;
}

/* The events of the schema-3 rows, as they read before the migration. */
static void
check_old_events(struct pmsg_store *ms)
{
	struct ev e = { 0 };

	ck_assert_int_eq(pmsg_events_since(ms, 0, collect_event, &e),
	    PSTORE_OK);
	ck_assert_int_ge(e.n, 3);
	ck_assert_int_eq(e.seq[0], 1);
	ck_assert_str_eq(e.type[0], "delivered");
	ck_assert_str_eq(e.data[0], "{\"user\":\"bob\",\"id\":\"" ID(1)
	    "\",\"ts\":1100}");
	ck_assert_int_eq(e.seq[1], 2);
	ck_assert_str_eq(e.type[1], "message");
	ck_assert_str_eq(e.data[1], "{\"from\":\"bob\",\"id\":\"" ID(3)
	    "\",\"ts\":3000,\"text\":\"a reply \\\"quoted\\\"\"}");
	ck_assert_int_eq(e.seq[2], 3);
	ck_assert_str_eq(e.type[2], "key-changed");
	ck_assert_str_eq(e.data[2], "{\"user\":\"bob\",\"fingerprint\":\"x\"}");
}

/* The queue: the same messages, order and retry bookkeeping as before. */
static void
check_queue(struct pmsg_store *ms)
{
	struct pend p = { 0 };
	struct pmsg m;
	char ids[16] = "";

	ck_assert_int_eq(pmsg_pending_all(ms, collect_pending, &p), PSTORE_OK);
	ck_assert_int_eq(p.n, 3);
	ck_assert_str_eq(p.id[0], ID(2));
	ck_assert_int_eq(p.attempts[0], 3);
	ck_assert_int_eq(p.next_try[0], 9000);
	ck_assert_str_eq(p.reason[0], "recipient offline");
	ck_assert_str_eq(p.id[1], ID(6));	/* queued after the note */
	ck_assert_int_eq(p.attempts[1], 0);
	ck_assert_int_eq(p.next_try[1], 0);
	ck_assert_str_eq(p.reason[1], "");
	ck_assert_str_eq(p.id[2], ID(7));
	ck_assert_int_eq(p.attempts[2], 1);
	ck_assert_str_eq(p.reason[2], "unreachable: refused");
	ck_assert_int_eq(pmsg_pending_for(ms, "bob", 0, 10, collect_id, ids),
	    PSTORE_OK);
	ck_assert_str_eq(ids, "26");
	ck_assert_int_eq(pmsg_get(ms, ID(2), &m, NULL), PSTORE_OK);
	ck_assert_str_eq(m.reason, "recipient offline");
	ck_assert_int_eq(pmsg_get(ms, ID(6), &m, NULL), PSTORE_OK);
	ck_assert_str_eq(m.reason, "");
	ck_assert_int_eq(pmsg_count(ms, "pending"), 3);
	ck_assert_int_eq(pmsg_count(ms, "failed"), 1);
	ck_assert_int_eq(pmsg_count(ms, "delivered"), 1);
	ck_assert_int_eq(pmsg_count(ms, "received"), 1);
}

static int
collect_found(const struct pmsg *m, void *arg)
{
	return collect_id(m, arg);
}

static void
check_search_and_chats(struct pstore *ps, struct pmsg_store *ms)
{
	struct chat_rows c = { "" };
	struct parch *a;
	char *cause = NULL, ids[16] = "", err[128];

	a = parch_open(ps, &cause);
	ck_assert_msg(a != NULL, "parch_open: %s", cause);
	ck_assert_int_eq(parch_search(a, "queued", NULL, 10, collect_found, ids,
	    err, sizeof(err)), PSTORE_OK);
	ck_assert_str_eq(ids, "62");		/* newest first */
	ids[0] = '\0';
	ck_assert_int_eq(parch_search(a, "reply", "bob", 10, collect_found, ids,
	    err, sizeof(err)), PSTORE_OK);
	ck_assert_str_eq(ids, "3");
	parch_close(a);
	ck_assert_int_eq(pmsg_chats(ms, collect_chat, &c), PSTORE_OK);
	ck_assert_str_eq(c.text, "erin 0 7000 to erin;bob 1 6000 queued later;"
	    "carol 0 4000 gone wrong;");
}

/*
 * No statement prepared on the handle (pstore's, pstore_msg's and
 * pstore_archive's) opens an ephemeral b-tree, except those named here:
 * SQLite builds one for an IN list or a CHECK/partial index with one,
 * and in every execution (migration 6); the hot paths must not.
 */
static void
check_no_ephemeral(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int n = 0;

	while ((st = sqlite3_next_stmt(db, st)) != NULL) {
		const char *sql = sqlite3_sql(st);

		/*
		 * Not per message: pmsg_pending_peers, pmsg_pending_all
		 * (the `pending` request), search, and pmsg_hold
		 * (it changes the state of the rows it finds through the
		 * index on state, so SQLite collects their rowids first),
		 * a group's history (sorted by its senders' times), and
		 * the end (cancel, ttl) of a group message's deliveries.
		 */
		if (strncmp(sql, "SELECT DISTINCT", 15) == 0 ||
		    strstr(sql, "LEFT JOIN queue_retry") != NULL ||
		    strstr(sql, "messages_fts MATCH") != NULL ||
		    strstr(sql, "ORDER BY ts_sent DESC, id DESC") != NULL ||
		    strstr(sql, "AND ref > 0 AND (state = 'pending' OR") != NULL ||
		    strstr(sql, "WHERE state = 'pending' AND peer = ?1") != NULL ||
		    strstr(sql, "WHERE state = 'held' AND peer = ?1") != NULL)
			continue;
		ck_assert_msg(explain_count(db, sql, "OpenEphemeral") == 0,
		    "OpenEphemeral in: %s", sql);
		n++;
	}
	ck_assert_int_ge(n, 20);
}

/* After the migration, new events refer to their message and print the same. */
static void
check_new_events(struct pstore *ps, struct pmsg_store *ms)
{
	sqlite3 *db = pstore_db(ps);
	struct pmsg m;
	struct ev e = { 0 };
	int64_t s1, s2;

	memset(&m, 0, sizeof(m));
	snprintf(m.id, sizeof(m.id), "%s", ID(8));
	snprintf(m.peer, sizeof(m.peer), "bob");
	m.body = "new\nline";
	m.body_len = strlen(m.body);
	m.ts_sent = 8000;
	m.ts_received = 8100;
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_receive(ms, &m, &s1), PSTORE_OK);
	ck_assert_int_eq(pmsg_delivered(ms, ID(2), "bob", 8200, &s2),
	    PSTORE_OK);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	ck_assert_int_eq(s1, 4);	/* the event counter goes on */
	ck_assert_int_eq(s2, 5);
	ck_assert_int_eq(tu_db_int(db, "SELECT seq FROM messages WHERE id = '"
	    ID(8) "'"), 8);		/* so does the message counter */
	/* Referring rows: no JSON, no body copied. */
	ck_assert_int_eq(tu_db_int(db, "SELECT count(*) FROM events WHERE seq >= 4"
	    " AND data = '' AND msg IS NOT NULL"), 2);
	ck_assert_int_eq(pmsg_events_since(ms, 3, collect_event, &e),
	    PSTORE_OK);
	ck_assert_int_eq(e.n, 2);
	ck_assert_str_eq(e.data[0], "{\"from\":\"bob\",\"id\":\"" ID(8)
	    "\",\"ts\":8000,\"text\":\"new\\nline\"}");
	ck_assert_str_eq(e.data[1], "{\"user\":\"bob\",\"id\":\"" ID(2)
	    "\",\"ts\":8200}");
	/* A message deleted by hand: its events keep their JSON. */
	ck_assert_int_eq(exec(db, "DELETE FROM messages WHERE id = '" ID(8)
	    "'"), SQLITE_OK);
	ck_assert_int_eq(tu_db_int(db, "SELECT count(*) FROM events WHERE"
	    " msg IS NOT NULL"), 1);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(pmsg_events_since(ms, 3, collect_event, &e),
	    PSTORE_OK);
	ck_assert_int_eq(e.n, 2);
	ck_assert_str_eq(e.data[0], "{\"from\":\"bob\",\"id\":\"" ID(8)
	    "\",\"ts\":8000,\"text\":\"new\\nline\"}");
}

/* The schema itself: no leftovers, the queue index, the old name as a view. */
static void
check_schema(sqlite3 *db, int n)
{
	ck_assert_int_eq(tu_db_int(db, "PRAGMA user_version"), n);
	ck_assert_int_eq(tu_db_int(db, "SELECT count(*) FROM sqlite_master WHERE"
	    " name IN ('messages_v4', 'pending_v4', 'messages_v6', 'pending_v6',"
	    " 'messages_open', 'pending_peer')"), 0);
	ck_assert_int_eq(tu_db_int(db, "SELECT count(*) FROM sqlite_master WHERE"
	    " type = 'view' AND name = 'pending_messages'"), 1);
	ck_assert_int_eq(tu_db_int(db, "SELECT attempts FROM pending_messages"
	    " WHERE id = '" ID(2) "'"), 3);
	ck_assert_int_eq(tu_db_int(db, "SELECT count(*) FROM pending_messages"), 3);
	ck_assert_int_eq(tu_db_int(db, "SELECT count(*) FROM sqlite_master WHERE"
	    " sql LIKE '%state IN%' OR sql LIKE '%direction IN%'"), 0);
	ck_assert_int_eq(tu_db_int(db, "SELECT count(*) FROM messages INDEXED BY"
	    " messages_queue WHERE state = 'pending' AND " PSTORE_QUEUED), 3);
	ck_assert_int_eq(tu_db_int(db, "SELECT count(*) FROM messages INDEXED BY"
	    " messages_ended WHERE state = 'failed' AND " PSTORE_ENDED), 1);
	ck_assert_int_eq(tu_db_int(db, "SELECT count(*) FROM pragma_foreign_key_check"),
	    0);
	ck_assert_int_ne(exec(db, "UPDATE messages SET state = 'bogus'"
	    " WHERE id = '" ID(4) "'"), SQLITE_OK);
}

/*
 * A store as schema 3 wrote it, migrated to the latest: migration 5 and
 * 6 rebuild messages, 7 drops pending_messages and lets events refer to
 * messages. Every message, seq, queue entry (with its retry note),
 * event (byte for byte), chat and search result is kept.
 */
START_TEST(test_migrate_from_3)
{
	struct pmsg_store *ms;
	struct pstore *ps;
	char *cause = NULL;
	sqlite3 *db;
	int n;

	pstore_migrations_for_test(&n);
	make_schema3();
	ps = pstore_open(path, true, &cause);
	ck_assert_msg(ps != NULL, "pstore_open: %s", cause);
	ms = pmsg_open(ps, &cause);
	ck_assert_msg(ms != NULL, "pmsg_open: %s", cause);
	db = pstore_db(ps);
	check_schema(db, n);
	ck_assert_int_eq(tu_db_int(db, "SELECT count(*) FROM messages"), 6);
	ck_assert_int_eq(tu_db_int(db, "SELECT seq FROM messages WHERE id = '"
	    ID(7) "'"), 7);
	check_old_events(ms);
	check_queue(ms);
	check_search_and_chats(ps, ms);
	{
		struct parch *a = parch_open(ps, &cause);

		check_no_ephemeral(db);
		parch_close(a);
	}
	check_new_events(ps, ms);
	pmsg_close(ms);
	pstore_close(ps);
}
END_TEST

/* The same store opened again: nothing migrates twice, nothing moves. */
START_TEST(test_migrate_reopen)
{
	struct pmsg_store *ms;
	struct pstore *ps;
	char *cause = NULL;
	int i;

	make_schema3();
	for (i = 0; i < 2; i++) {
		ps = pstore_open(path, true, &cause);
		ck_assert_msg(ps != NULL, "pstore_open: %s", cause);
		ms = pmsg_open(ps, &cause);
		ck_assert_ptr_nonnull(ms);
		check_old_events(ms);
		check_queue(ms);
		pmsg_close(ms);
		pstore_close(ps);
	}
}
END_TEST

static Suite *
migrate_suite(void)
{
	Suite *s = suite_create("pstore_migrate");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_migrate_from_3);
	tcase_add_test(tc, test_migrate_reopen);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(migrate_suite(), LOG_LVL_INFO);
}
