/*
 * Unit tests for pstore_msg.c on a real store in a temporary directory:
 * the outgoing queue and its idempotent ids, received messages with dedup
 * inside the caller's transaction, delivery and failure, retry
 * bookkeeping, holding, history and chats with unread counts, the event
 * log that `watch --since` replays, and bodies kept byte for byte.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "log.h"
#include "pstore.h"
#include "pstore_archive.h"
#include "pstore_mail.h"
#include "pstore_msg.h"
#include "testutil.h"
#include "util.h"

static char dir[TU_DIR_MAX];
static char path[128];
static struct pstore *ps;
static struct pmsg_store *ms;

static void
setup(void)
{
	char *cause = NULL;

	log_init(LOG_LVL_ERROR);
	tu_mkdtemp(dir, "test_pstore_msg");
	snprintf(path, sizeof(path), "%s/peer.db", dir);
	ps = pstore_open(path, false, &cause);
	ck_assert_msg(ps != NULL, "pstore_open: %s", cause);
	ms = pmsg_open(ps, &cause);
	ck_assert_msg(ms != NULL, "pmsg_open: %s", cause);
}

static void
teardown(void)
{
	pmsg_close(ms);
	pstore_close(ps);
	ms = NULL;
	ps = NULL;
	tu_rmdir(dir);
}

/* The n-th test id: 32 lowercase hex digits. */
static const char *
id(int n)
{
	static char buf[8][P2P_MSGID_HEX + 1];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, P2P_MSGID_HEX + 1, "%032x", n);
	return b;
}

static struct pmsg
mk(const char *mid, const char *peer, const char *body, int64_t ts,
    const char *state)
{
	struct pmsg m;

	memset(&m, 0, sizeof(m));
	snprintf(m.id, sizeof(m.id), "%s", mid);
	snprintf(m.peer, sizeof(m.peer), "%s", peer);
	m.body = body;
	m.body_len = strlen(body);
	m.ts_sent = ts;
	snprintf(m.state, sizeof(m.state), "%s", state);
	return m;
}

static void
queue_ok(int n, const char *peer, const char *body, int64_t ts)
{
	struct pmsg m = mk(id(n), peer, body, ts, "pending"), old;
	char *oldbody = NULL;

	ck_assert_int_eq(pmsg_queue(ms, &m, &old, &oldbody), PSTORE_OK);
	ck_assert_ptr_null(oldbody);
}

/* Queue one message inside the caller's transaction. */
static void
queue_ok_in(int n, const char *peer, const char *body, int64_t ts)
{
	struct pmsg m = mk(id(n), peer, body, ts, "pending"), old;
	char *oldbody = NULL;

	ck_assert_int_eq(pmsg_queue_in(ms, &m, &old, &oldbody), PSTORE_OK);
}

/* Receive one message in its own transaction; returns the pstore_rc. */
static enum pstore_rc
receive1(int n, const char *peer, const char *body, int64_t ts_sent,
    int64_t ts_received, int64_t *seq)
{
	struct pmsg m = mk(id(n), peer, body, ts_sent, "received");
	enum pstore_rc rc;

	m.outgoing = false;
	m.ts_received = ts_received;
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	rc = pmsg_receive(ms, &m, seq);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	return rc;
}

/* Messages seen by a pmsg_fn, copied. */
struct seen {
	int		 n;
	int		 stop_after;	/* 0: never */
	struct {
		struct pmsg	 m;
		char		 body[512];
	} m[64];
};

static int
collect(const struct pmsg *m, void *arg)
{
	struct seen *s = arg;

	ck_assert_int_lt(s->n, 64);
	s->m[s->n].m = *m;
	ck_assert_uint_lt(m->body_len, sizeof(s->m[s->n].body));
	memcpy(s->m[s->n].body, m->body, m->body_len);
	s->m[s->n].body[m->body_len] = '\0';
	s->m[s->n].m.body = s->m[s->n].body;
	s->n++;
	return s->stop_after != 0 && s->n >= s->stop_after ? -1 : 0;
}

/* Events seen by pmsg_events_since, copied. */
struct events {
	int		 n;
	int64_t		 seq[64];
	char		 type[64][32];
	json_t		*data[64];
};

static int
collect_event(int64_t seq, const char *type, const char *data, void *arg)
{
	struct events *e = arg;

	ck_assert_int_lt(e->n, 64);
	e->seq[e->n] = seq;
	snprintf(e->type[e->n], sizeof(e->type[0]), "%s", type);
	e->data[e->n] = json_loads(data, 0, NULL);
	ck_assert_msg(e->data[e->n] != NULL, "event data not JSON: %s", data);
	e->n++;
	return 0;
}

static void
events_free(struct events *e)
{
	int i;

	for (i = 0; i < e->n; i++)
		json_decref(e->data[i]);
	e->n = 0;
}

/* Chats seen by pmsg_chats, copied. */
struct chats {
	int		 n;
	struct {
		char	 peer[P2P_USERNAME_MAX + 1];
		long	 unread;
		int64_t	 last;
		char	 preview[128];
		bool	 request;
	} c[16];
};

static int
collect_chat(const char *peer, long unread, int64_t last, const char *body,
    bool request, void *arg)
{
	struct chats *c = arg;

	ck_assert_int_lt(c->n, 16);
	snprintf(c->c[c->n].peer, sizeof(c->c[0].peer), "%s", peer);
	c->c[c->n].unread = unread;
	c->c[c->n].last = last;
	c->c[c->n].request = request;
	snprintf(c->c[c->n].preview, sizeof(c->c[0].preview), "%s",
	    body != NULL ? body : "(null)");
	c->n++;
	return 0;
}

/* Pending rows seen by pmsg_pending_all, copied. */
struct pend {
	int		 n;
	struct {
		char	 id[P2P_MSGID_HEX + 1];
		char	 peer[P2P_USERNAME_MAX + 1];
		char	 state[12];
		int	 attempts;
		int64_t	 next_try;
		char	 reason[64];
	} p[16];
};

static int
collect_pending(const struct ppending *p, void *arg)
{
	struct pend *s = arg;

	ck_assert_int_lt(s->n, 16);
	snprintf(s->p[s->n].id, sizeof(s->p[0].id), "%s", p->msg->id);
	snprintf(s->p[s->n].peer, sizeof(s->p[0].peer), "%s", p->msg->peer);
	snprintf(s->p[s->n].state, sizeof(s->p[0].state), "%s", p->msg->state);
	s->p[s->n].attempts = p->attempts;
	s->p[s->n].next_try = p->next_try;
	snprintf(s->p[s->n].reason, sizeof(s->p[0].reason), "%s",
	    p->reason != NULL ? p->reason : "(null)");
	s->n++;
	return 0;
}

static int
collect_peer(const char *peer, void *arg)
{
	struct chats *c = arg;

	ck_assert_int_lt(c->n, 16);
	snprintf(c->c[c->n++].peer, sizeof(c->c[0].peer), "%s", peer);
	return 0;
}

static struct seen *
pending_for(const char *peer, int64_t after, int limit)
{
	static struct seen s;

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(pmsg_pending_for(ms, peer, after, limit, collect, &s),
	    PSTORE_OK);
	return &s;
}

START_TEST(test_queue_pending)
{
	struct seen *s;
	struct pmsg m;
	char *body = NULL;

	queue_ok(1, "bob", "one", 1000);
	queue_ok(2, "bob", "two", 1001);
	queue_ok(3, "carol", "three", 1002);
	queue_ok(4, "bob", "four", 1003);
	ck_assert_int_eq(pmsg_count(ms, "pending"), 4);
	/* In order, only bob's. */
	s = pending_for("bob", 0, 100);
	ck_assert_int_eq(s->n, 3);
	ck_assert_str_eq(s->m[0].m.id, id(1));
	ck_assert_str_eq(s->m[1].m.id, id(2));
	ck_assert_str_eq(s->m[2].m.id, id(4));
	ck_assert_str_eq(s->m[0].body, "one");
	ck_assert_str_eq(s->m[2].body, "four");
	ck_assert(s->m[0].m.outgoing);
	ck_assert_str_eq(s->m[0].m.peer, "bob");
	ck_assert_str_eq(s->m[0].m.state, "pending");
	ck_assert_int_eq(s->m[0].m.ts_sent, 1000);
	ck_assert_int_eq(s->m[0].m.ts_received, 0);
	ck_assert(s->m[0].m.seq < s->m[1].m.seq && s->m[1].m.seq < s->m[2].m.seq);
	/* after and limit page through the queue. */
	s = pending_for("bob", s->m[0].m.seq, 1);
	ck_assert_int_eq(s->n, 1);
	ck_assert_str_eq(s->m[0].m.id, id(2));
	s = pending_for("bob", s->m[0].m.seq, 100);
	ck_assert_int_eq(s->n, 1);
	ck_assert_str_eq(s->m[0].m.id, id(4));
	s = pending_for("bob", s->m[0].m.seq, 100);
	ck_assert_int_eq(s->n, 0);
	s = pending_for("nobody", 0, 100);
	ck_assert_int_eq(s->n, 0);
	/* The callback can stop the walk. */
	{
		static struct seen st;

		memset(&st, 0, sizeof(st));
		st.stop_after = 2;
		ck_assert_int_eq(pmsg_pending_for(ms, "bob", 0, 100, collect,
		    &st), PSTORE_OK);
		ck_assert_int_eq(st.n, 2);
	}
	/* pmsg_get sees the stored row. */
	ck_assert_int_eq(pmsg_get(ms, id(3), &m, &body), PSTORE_OK);
	ck_assert_str_eq(m.peer, "carol");
	ck_assert_str_eq(m.state, "pending");
	ck_assert(m.outgoing);
	ck_assert_str_eq(body, "three");
	free(body);
	ck_assert_int_eq(pmsg_get(ms, id(99), &m, NULL), PSTORE_NOTFOUND);
}
END_TEST

/* The ids pmail_due finds, their last two digits each, in order. */
static int
due_cb(const char *mid, const char *peer, void *arg)
{
	char *out = arg;

	snprintf(out + strlen(out), 4, "%s ", mid + P2P_MSGID_HEX - 2);
	return 0;
}

static const char *
due(int64_t retry)
{
	static char out[256];

	out[0] = '\0';
	ck_assert_int_eq(pmail_due(ps, INT64_MAX, retry, 100, due_cb, out), 0);
	return out;
}

/*
 * A recipient's messages go to the mailbox in order: one held back (the
 * recipient was online, or a refusal) holds the later ones back too, or
 * a later message would reach the recipient before the earlier.
 */
START_TEST(test_mail_due_in_order)
{
	int64_t now = util_now_ms();

	queue_ok(1, "bob", "one", 1000);
	queue_ok(2, "bob", "two", 1001);
	queue_ok(3, "carol", "three", 1002);
	queue_ok(4, "bob", "four", 1003);
	ck_assert_str_eq(due(now), "01 02 03 04 ");
	/* bob was online when 1 and 2 were due: asked again later. */
	ck_assert_int_eq(pmail_note(ps, id(1), "bob", 0, ""), 0);
	ck_assert_int_eq(pmail_note(ps, id(2), "bob", 0, ""), 0);
	ck_assert_str_eq(due(now - 30000), "03 ");
	/* 1 deposited: 2 still holds 4 back. */
	ck_assert_int_eq(pmail_note(ps, id(1), "bob", 7, ""), 0);
	ck_assert_str_eq(due(now - 30000), "03 ");
	ck_assert_int_eq(pmail_note(ps, id(2), "bob", 8, ""), 0);
	ck_assert_str_eq(due(now - 30000), "03 04 ");
	/* At a stop (retry: any time) everything not deposited is due. */
	ck_assert_int_eq(pmail_note(ps, id(2), "bob", 0, "quota"), 0);
	ck_assert_str_eq(due(INT64_MAX), "02 03 04 ");
}
END_TEST

/*
 * A deposit taken for expired takes the later deposits for the same
 * recipient with it, as the gestor's expiry does (it deletes them with
 * it): noted as still deposited, the later ones stayed out of the round
 * while newer messages were deposited, and were fetched after those.
 */
START_TEST(test_mail_expire_takes_later)
{
	int64_t now = util_now_ms();

	queue_ok(1, "bob", "one", 1000);
	queue_ok(2, "bob", "two", 1001);
	queue_ok(3, "carol", "three", 1002);
	queue_ok(4, "bob", "four", 1003);
	/* 4 deposited first, then 1 (due first), then 2, and carol's 3. */
	ck_assert_int_eq(pmail_note_until(ps, id(4), "bob", 5, "", now + 99000),
	    0);
	ck_assert_int_eq(pmail_note_until(ps, id(1), "bob", 7, "", now - 1), 0);
	ck_assert_int_eq(pmail_note_until(ps, id(2), "bob", 8, "", now + 99000),
	    0);
	ck_assert_int_eq(pmail_note_until(ps, id(3), "carol", 9, "", now + 99000),
	    0);
	ck_assert_int_eq(pmail_expire(ps, now, "expired"), 2);
	ck_assert_int_eq(pmail_get(ps, id(1), NULL, NULL, 0), 0);
	ck_assert_int_eq(pmail_get(ps, id(2), NULL, NULL, 0), 0);
	ck_assert_int_eq(pmail_get(ps, id(4), NULL, NULL, 0), 5);
	ck_assert_int_eq(pmail_get(ps, id(3), NULL, NULL, 0), 9);
	ck_assert_int_eq(pmail_expire(ps, now, "expired"), 0);
}
END_TEST

/* Every id pmail_due finds, whole, space-separated. */
static int
due_all_cb(const char *mid, const char *peer, void *arg)
{
	char *out = arg;

	snprintf(out + strlen(out), 1024 - strlen(out), "%s ", mid);
	return 0;
}

static int
done_cb(const char *mid, int64_t dep, void *arg)
{
	char *out = arg;

	snprintf(out + strlen(out), 1024 - strlen(out), "%s=%lld ", mid,
	    (long long)dep);
	return 0;
}

static void
sql(const char *q)
{
	char *err = NULL;

	ck_assert_msg(sqlite3_exec(pstore_db(ps), q, NULL, NULL, &err) ==
	    SQLITE_OK, "%s: %s", q, err);
}

/*
 * A group's delivery rows go to the mailbox too, one per member (id
 * MSGID/MEMBER): its message's body or the group's list and signature
 * are sealed, the member's deposit shows on its row and is counted per
 * member, its receipt (MSGID from MEMBER) forgets it, and a row that
 * stops waiting is withdrawn.
 */
START_TEST(test_mail_group_rows)
{
	char out[1024], grp[P2P_MSGID_HEX + 1], *body, *sig, q[1024];
	const char *g = "feedfeedfeedfeedfeedfeedfeedfeed";
	enum pmsg_kind kind;
	struct pmsg m;
	int64_t ts;
	size_t len;

	sql("INSERT INTO groups (id, title, admin, version, list, sig) VALUES"
	    " ('feedfeedfeedfeedfeedfeedfeedfeed', 'team', 'alice', 2,"
	    " '{\"the\":\"list\"}', 'abcd')");
	snprintf(q, sizeof(q), "INSERT INTO messages (seq, id, peer, direction,"
	    " body, ts_sent, state, grp, ref) VALUES (100, '%s', 'alice', 'out',"
	    " 'to the team', 5000, 'sent', '%s', 0), (101, '%s/bob', 'bob',"
	    " 'out', '', 5000, 'pending', '%s', 100), (102, '%s/carol', 'carol',"
	    " 'out', '', 5000, 'pending', '%s', 100), (99, '%s/bob', 'bob',"
	    " 'out', '', 4000, 'pending', '%s', -1), (98, '%s/alice', 'alice',"
	    " 'out', '', 4000, 'pending', '%s', -2)", id(10), g, id(10), g,
	    id(10), g, id(11), g, id(12), g);
	sql(q);
	out[0] = '\0';
	ck_assert_int_eq(pmail_due(ps, INT64_MAX, INT64_MAX, 100, due_all_cb,
	    out), 0);
	/* In their order: our leave, the list, the message per member. */
	snprintf(q, sizeof(q), "%s/alice %s/bob %s/bob %s/carol ", id(12), id(11),
	    id(10), id(10));
	ck_assert_str_eq(out, q);

	snprintf(q, sizeof(q), "%s/bob", id(10));
	ck_assert_int_eq(pmsg_sealable(ms, q, &kind, grp, &ts, &body, &len,
	    &sig), PSTORE_OK);
	ck_assert_int_eq(kind, PMSG_GMSG);
	ck_assert_str_eq(grp, g);
	ck_assert_str_eq(body, "to the team");
	ck_assert_uint_eq(len, 11);
	ck_assert_int_eq(ts, 5000);
	ck_assert_ptr_null(sig);
	free(body);
	snprintf(q, sizeof(q), "%s/bob", id(11));
	ck_assert_int_eq(pmsg_sealable(ms, q, &kind, grp, &ts, &body, &len,
	    &sig), PSTORE_OK);
	ck_assert_int_eq(kind, PMSG_GLIST);
	ck_assert_str_eq(body, "{\"the\":\"list\"}");
	ck_assert_str_eq(sig, "abcd");
	free(body);
	free(sig);
	snprintf(q, sizeof(q), "%s/alice", id(12));
	ck_assert_int_eq(pmsg_sealable(ms, q, &kind, grp, &ts, &body, &len,
	    &sig), PSTORE_OK);
	ck_assert_int_eq(kind, PMSG_GLEAVE);
	ck_assert_str_eq(grp, g);
	ck_assert_str_eq(body, "");
	free(body);
	free(sig);
	/* Not the body row (sent). */
	ck_assert_int_eq(pmsg_sealable(ms, id(10), &kind, grp, &ts, &body,
	    &len, &sig), PSTORE_NOTFOUND);

	/* Deposited for bob: his row shows it, group show counts it. */
	snprintf(q, sizeof(q), "%s/bob", id(10));
	ck_assert_int_eq(pmail_note(ps, q, "bob", 7, ""), 0);
	snprintf(q, sizeof(q), "%s/carol", id(10));
	ck_assert_int_eq(pmail_note(ps, q, "carol", 8, ""), 0);
	memset(&m, 0, sizeof(m));
	snprintf(m.id, sizeof(m.id), "%s", id(10));
	snprintf(m.peer, sizeof(m.peer), "bob");
	snprintf(m.state, sizeof(m.state), "pending");
	snprintf(m.group, sizeof(m.group), "%s", g);
	m.outgoing = true;
	m.ref = 100;
	ck_assert_str_eq(pmail_state(ps, &m, NULL, 0), "deposited");
	m.ref = 0;	/* the body row itself: pending, and why */
	snprintf(m.reason, sizeof(m.reason), "0 of 2 members have it");
	ck_assert_str_eq(pmail_state(ps, &m, out, sizeof(out)), "pending");
	ck_assert_str_eq(out, "0 of 2 members have it; 2 in members' mailboxes "
	    "at the gestor");
	ck_assert_int_eq(pmail_group_deposited(ps, g, "bob"), 1);
	ck_assert_int_eq(pmail_group_deposited(ps, g, "dave"), 0);
	/* bob's receipt names the message: his deposit only is forgotten. */
	ck_assert_int_eq(pmail_forget_receipt(ps, id(10), "bob"), 0);
	ck_assert_int_eq(pmail_group_deposited(ps, g, "bob"), 0);
	ck_assert_int_eq(pmail_group_deposited(ps, g, "carol"), 1);
	/* carol removed: her row fails, its deposit is to withdraw. */
	out[0] = '\0';
	ck_assert_int_eq(pmail_done(ps, 10, done_cb, out), 0);
	ck_assert_str_eq(out, "");
	sql("UPDATE messages SET state = 'failed' WHERE seq = 102");
	ck_assert_int_eq(pmail_done(ps, 10, done_cb, out), 0);
	snprintf(q, sizeof(q), "%s/carol=8 ", id(10));
	ck_assert_str_eq(out, q);
}
END_TEST

START_TEST(test_queue_existing_id)
{
	struct pmsg m = mk(id(7), "bob", "again", 2000, "pending"), old;
	char *oldbody = NULL;

	queue_ok(7, "bob", "original", 1000);
	memset(&old, 0, sizeof(old));
	ck_assert_int_eq(pmsg_queue(ms, &m, &old, &oldbody), PSTORE_EXISTS);
	ck_assert_str_eq(old.id, id(7));
	ck_assert_str_eq(old.peer, "bob");
	ck_assert_str_eq(old.state, "pending");
	ck_assert_int_eq(old.ts_sent, 1000);
	ck_assert(old.outgoing);
	ck_assert_ptr_nonnull(oldbody);
	ck_assert_str_eq(oldbody, "original");
	free(oldbody);
	/* Nothing changed, nothing added; the store still takes writes. */
	ck_assert_int_eq(pmsg_count(ms, "pending"), 1);
	ck_assert_int_eq(pending_for("bob", 0, 100)->n, 1);
	queue_ok(8, "bob", "next", 1001);
	ck_assert_int_eq(pmsg_count(ms, "pending"), 2);
	/* Even to another peer the id is taken, and reports the original. */
	m = mk(id(7), "carol", "x", 3000, "pending");
	oldbody = NULL;
	ck_assert_int_eq(pmsg_queue(ms, &m, &old, &oldbody), PSTORE_EXISTS);
	ck_assert_str_eq(old.peer, "bob");
	free(oldbody);
	/* A received message's id is taken too. */
	ck_assert_int_eq(receive1(20, "dave", "hi", 5, 6, &(int64_t){ 0 }),
	    PSTORE_OK);
	m = mk(id(20), "dave", "x", 3000, "pending");
	oldbody = NULL;
	ck_assert_int_eq(pmsg_queue(ms, &m, &old, &oldbody), PSTORE_EXISTS);
	ck_assert(!old.outgoing);
	ck_assert_str_eq(old.state, "received");
	ck_assert_str_eq(oldbody, "hi");
	free(oldbody);
}
END_TEST

START_TEST(test_queue_held)
{
	struct pmsg m = mk(id(1), "bob", "held one", 1000, "held"), old;
	char *oldbody = NULL;

	ck_assert_int_eq(pmsg_queue(ms, &m, &old, &oldbody), PSTORE_OK);
	ck_assert_int_eq(pmsg_count(ms, "held"), 1);
	ck_assert_int_eq(pmsg_count(ms, "pending"), 0);
	ck_assert_int_eq(pending_for("bob", 0, 100)->n, 0);
}
END_TEST

START_TEST(test_receive_dedup)
{
	int64_t s1 = 0, s2 = 0, s3 = 0, again = -7;
	struct pmsg m;
	char *body = NULL;

	ck_assert_int_eq(receive1(1, "alice", "hello", 100, 200, &s1), PSTORE_OK);
	ck_assert_int_eq(receive1(2, "alice", "world", 101, 201, &s2), PSTORE_OK);
	ck_assert_int_gt(s1, 0);
	ck_assert_int_gt(s2, s1);
	/* The same id again: nothing stored. */
	ck_assert_int_eq(receive1(1, "alice", "changed", 100, 300, &again),
	    PSTORE_EXISTS);
	ck_assert_int_eq(pmsg_count(ms, "received"), 2);
	{
		struct chats c = { 0 };

		/* ...and not counted unread twice. */
		ck_assert_int_eq(pmsg_chats(ms, collect_chat, &c), PSTORE_OK);
		ck_assert_int_eq(c.n, 1);
		ck_assert_int_eq(c.c[0].unread, 2);
		ck_assert_int_eq(c.c[0].last, 201);
	}
	ck_assert_int_eq(pmsg_get(ms, id(1), &m, &body), PSTORE_OK);
	ck_assert_str_eq(body, "hello");
	ck_assert_int_eq(m.ts_received, 200);
	ck_assert_int_eq(m.ts_sent, 100);
	ck_assert(!m.outgoing);
	ck_assert_str_eq(m.state, "received");
	ck_assert_str_eq(m.peer, "alice");
	free(body);
	/* Several in one transaction, with a duplicate inside the batch. */
	{
		struct pmsg a = mk(id(3), "bob", "b1", 1, "received");
		struct pmsg b = mk(id(4), "bob", "b2", 2, "received");
		int64_t sa = 0, sb = 0, sd = 0;

		a.ts_received = b.ts_received = 400;
		ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
		ck_assert_int_eq(pmsg_receive(ms, &a, &sa), PSTORE_OK);
		ck_assert_int_eq(pmsg_receive(ms, &a, &sd), PSTORE_EXISTS);
		ck_assert_int_eq(pmsg_receive(ms, &b, &sb), PSTORE_OK);
		ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
		ck_assert_int_gt(sa, s2);
		ck_assert_int_gt(sb, sa);
		s3 = sb;
	}
	ck_assert_int_eq(pmsg_count(ms, "received"), 4);
	ck_assert_int_eq(receive1(4, "bob", "b2", 2, 500, &again), PSTORE_EXISTS);
	ck_assert_int_eq(receive1(5, "bob", "b3", 3, 501, &again), PSTORE_OK);
	ck_assert_int_gt(again, s3);
}
END_TEST

START_TEST(test_receive_rollback)
{
	struct pmsg a = mk(id(1), "alice", "lost", 1, "received");
	struct pmsg b = mk(id(2), "alice", "lost too", 2, "received");
	struct events ev = { 0 };
	struct chats ch = { 0 };
	int64_t sa, sb, s;

	a.ts_received = b.ts_received = 10;
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_receive(ms, &a, &sa), PSTORE_OK);
	ck_assert_int_eq(pmsg_receive(ms, &b, &sb), PSTORE_OK);
	pstore_rollback(ps);
	/* Nothing left: no message, no event, no chat, no unread. */
	ck_assert_int_eq(pmsg_count(ms, "received"), 0);
	ck_assert_int_eq(pmsg_get(ms, id(1), &a, NULL), PSTORE_NOTFOUND);
	ck_assert_int_eq(pmsg_events_since(ms, 0, collect_event, &ev), PSTORE_OK);
	ck_assert_int_eq(ev.n, 0);
	ck_assert_int_eq(pmsg_chats(ms, collect_chat, &ch), PSTORE_OK);
	ck_assert_int_eq(ch.n, 0);
	/* The sender retries (no ack was sent): the same ids are new again. */
	ck_assert_int_eq(receive1(1, "alice", "lost", 1, 20, &s), PSTORE_OK);
	ck_assert_int_eq(pmsg_count(ms, "received"), 1);
	ck_assert_int_eq(pmsg_events_since(ms, 0, collect_event, &ev), PSTORE_OK);
	ck_assert_int_eq(ev.n, 1);
	ck_assert_int_eq(ev.seq[0], s);
	events_free(&ev);
}
END_TEST

START_TEST(test_delivered)
{
	int64_t seq = 0, seq2 = 0;
	struct pmsg m;

	queue_ok(1, "bob", "one", 1000);
	queue_ok(2, "bob", "two", 1001);
	/* Not bob's to acknowledge: carol cannot mark it. */
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_delivered(ms, id(1), "carol", 5000, &seq),
	    PSTORE_NOTFOUND);
	ck_assert_int_eq(pmsg_delivered(ms, id(99), "bob", 5000, &seq),
	    PSTORE_NOTFOUND);
	ck_assert_int_eq(pmsg_delivered(ms, id(1), "bob", 5000, &seq),
	    PSTORE_OK);
	ck_assert_int_gt(seq, 0);
	/* Only once. */
	ck_assert_int_eq(pmsg_delivered(ms, id(1), "bob", 6000, &seq2),
	    PSTORE_NOTFOUND);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_get(ms, id(1), &m, NULL), PSTORE_OK);
	ck_assert_str_eq(m.state, "delivered");
	ck_assert_int_eq(m.ts_received, 5000);
	ck_assert_int_eq(pmsg_count(ms, "delivered"), 1);
	ck_assert_int_eq(pmsg_count(ms, "pending"), 1);
	{
		struct seen *s = pending_for("bob", 0, 100);

		ck_assert_int_eq(s->n, 1);
		ck_assert_str_eq(s->m[0].m.id, id(2));
	}
	/* The next delivery gets a later seq. */
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_delivered(ms, id(2), "bob", 5001, &seq2),
	    PSTORE_OK);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	ck_assert_int_gt(seq2, seq);
	ck_assert_int_eq(pmsg_count(ms, "pending"), 0);
	/* A received message cannot be "delivered" by its sender. */
	ck_assert_int_eq(receive1(3, "bob", "in", 1, 2, &seq), PSTORE_OK);
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_delivered(ms, id(3), "bob", 7000, &seq),
	    PSTORE_NOTFOUND);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
}
END_TEST

START_TEST(test_delivered_rollback)
{
	int64_t seq;
	struct pmsg m;

	queue_ok(1, "bob", "one", 1000);
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_delivered(ms, id(1), "bob", 5000, &seq), PSTORE_OK);
	pstore_rollback(ps);
	ck_assert_int_eq(pmsg_get(ms, id(1), &m, NULL), PSTORE_OK);
	ck_assert_str_eq(m.state, "pending");
	ck_assert_int_eq(pending_for("bob", 0, 100)->n, 1);
}
END_TEST

START_TEST(test_failed)
{
	int64_t seq;
	struct pmsg m;

	queue_ok(1, "bob", "one", 1000);
	queue_ok(2, "bob", "two", 1001);
	ck_assert_int_eq(pmsg_failed(ms, id(1), "no such user"), PSTORE_OK);
	ck_assert_int_eq(pmsg_get(ms, id(1), &m, NULL), PSTORE_OK);
	ck_assert_str_eq(m.state, "failed");
	ck_assert_int_eq(pmsg_count(ms, "failed"), 1);
	ck_assert_int_eq(pmsg_count(ms, "pending"), 1);
	ck_assert_int_eq(pending_for("bob", 0, 100)->n, 1);
	/* A late ack for a failed message changes nothing. */
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_delivered(ms, id(1), "bob", 9, &seq),
	    PSTORE_NOTFOUND);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	/* A delivered message does not become failed. */
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_delivered(ms, id(2), "bob", 9, &seq), PSTORE_OK);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_failed(ms, id(2), "late"), PSTORE_OK);
	ck_assert_int_eq(pmsg_get(ms, id(2), &m, NULL), PSTORE_OK);
	ck_assert_str_eq(m.state, "delivered");
	/* Nor does a received one. */
	ck_assert_int_eq(receive1(3, "bob", "in", 1, 2, &seq), PSTORE_OK);
	ck_assert_int_eq(pmsg_failed(ms, id(3), "x"), PSTORE_OK);
	ck_assert_int_eq(pmsg_get(ms, id(3), &m, NULL), PSTORE_OK);
	ck_assert_str_eq(m.state, "received");
	/* Unknown ids are no error. */
	ck_assert_int_eq(pmsg_failed(ms, id(42), "x"), PSTORE_OK);
}
END_TEST

/* Ends of an undelivered message: state, reason, event, out of the queue. */
START_TEST(test_finish_and_expiry)
{
	struct pmsg m = mk(id(3), "bob", "soon gone", 1000, "pending"), old, got;
	char *oldbody = NULL;
	int64_t seq, when;

	queue_ok(1, "bob", "one", 1000);
	queue_ok(2, "bob", "two", 1001);
	ck_assert_int_eq(pmsg_finish(ms, id(1), "cancelled", "by the user", &got,
	    &seq), PSTORE_OK);
	ck_assert_int_gt(seq, 0);
	ck_assert_str_eq(got.peer, "bob");
	ck_assert_int_eq(pmsg_get(ms, id(1), &got, NULL), PSTORE_OK);
	ck_assert_str_eq(got.state, "cancelled");
	ck_assert_str_eq(got.reason, "by the user");
	ck_assert_int_eq(pending_for("bob", 0, 100)->n, 1);
	/* Ended once: a second end changes nothing and stores no event. */
	ck_assert_int_eq(pmsg_finish(ms, id(1), "expired", "x", &got, &seq),
	    PSTORE_OK);
	ck_assert_int_eq(seq, 0);
	ck_assert_int_eq(pmsg_count(ms, "cancelled"), 1);
	ck_assert_int_eq(pmsg_count(ms, "expired"), 0);
	/* Expiry: never offered for sending once past it (now > 5000 ms). */
	ck_assert_int_eq(pmsg_next_expiry(ms, &when), PSTORE_OK);
	ck_assert_int_eq(when, 0);
	m.expires = 5000;	/* long past */
	ck_assert_int_eq(pmsg_queue(ms, &m, &old, &oldbody), PSTORE_OK);
	ck_assert_int_eq(pmsg_next_expiry(ms, &when), PSTORE_OK);
	ck_assert_int_eq(when, 5000);
	ck_assert_int_eq(pending_for("bob", 0, 100)->n, 1);
	{
		static struct seen s;

		memset(&s, 0, sizeof(s));
		ck_assert_int_eq(pmsg_expired(ms, 4999, collect, &s), PSTORE_OK);
		ck_assert_int_eq(s.n, 0);
		ck_assert_int_eq(pmsg_expired(ms, 5000, collect, &s), PSTORE_OK);
		ck_assert_int_eq(s.n, 1);
		ck_assert_str_eq(s.m[0].m.id, id(3));
	}
	ck_assert_int_eq(pmsg_finish(ms, id(3), "expired", "ttl", &got, &seq),
	    PSTORE_OK);
	ck_assert_int_gt(seq, 0);
	ck_assert_int_eq(pmsg_next_expiry(ms, &when), PSTORE_OK);
	ck_assert_int_eq(when, 0);
	/* A delivered message cannot end otherwise. */
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_delivered(ms, id(2), "bob", 9, &seq), PSTORE_OK);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_finish(ms, id(2), "cancelled", "x", &got, &seq),
	    PSTORE_OK);
	ck_assert_int_eq(seq, 0);
}
END_TEST

struct failer {
	int	 n;
};

static int
fail_each(const struct pmsg *m, void *arg)
{
	struct failer *f = arg;

	ck_assert_int_eq(pmsg_failed(ms, m->id, "no such user"), PSTORE_OK);
	f->n++;
	return 0;
}

START_TEST(test_failed_while_walking)
{
	struct failer f = { 0 };
	int i;

	/* peer_msg.c fails every queued message from a pending_for walk. */
	for (i = 1; i <= 5; i++)
		queue_ok(i, "ghost", "boo", 1000 + i);
	queue_ok(6, "bob", "keep", 2000);
	ck_assert_int_eq(pmsg_pending_for(ms, "ghost", 0, 1000000, fail_each, &f),
	    PSTORE_OK);
	ck_assert_int_eq(f.n, 5);
	ck_assert_int_eq(pmsg_count(ms, "failed"), 5);
	ck_assert_int_eq(pmsg_count(ms, "pending"), 1);
	ck_assert_int_eq(pending_for("ghost", 0, 100)->n, 0);
	ck_assert_int_eq(pending_for("bob", 0, 100)->n, 1);
}
END_TEST

START_TEST(test_pending_note_and_all)
{
	struct pend p = { 0 };
	struct chats peers = { 0 };

	queue_ok(1, "bob", "one", 1000);
	queue_ok(2, "carol", "two", 1001);
	queue_ok(3, "bob", "three", 1002);
	ck_assert_int_eq(pmsg_pending_all(ms, collect_pending, &p), PSTORE_OK);
	ck_assert_int_eq(p.n, 3);
	ck_assert_str_eq(p.p[0].id, id(1));
	ck_assert_str_eq(p.p[1].id, id(2));
	ck_assert_str_eq(p.p[2].id, id(3));
	ck_assert_int_eq(p.p[0].attempts, 0);
	ck_assert_int_eq(p.p[0].next_try, 0);
	ck_assert_str_eq(p.p[0].reason, "");
	ck_assert_int_eq(pmsg_pending_note(ms, "bob", 3, 123456789, "unreachable"),
	    PSTORE_OK);
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(pmsg_pending_all(ms, collect_pending, &p), PSTORE_OK);
	ck_assert_int_eq(p.n, 3);
	ck_assert_str_eq(p.p[0].peer, "bob");
	ck_assert_int_eq(p.p[0].attempts, 3);
	ck_assert_int_eq(p.p[0].next_try, 123456789);
	ck_assert_str_eq(p.p[0].reason, "unreachable");
	ck_assert_int_eq(p.p[2].attempts, 3);
	ck_assert_str_eq(p.p[2].reason, "unreachable");
	/* carol's is untouched. */
	ck_assert_str_eq(p.p[1].peer, "carol");
	ck_assert_int_eq(p.p[1].attempts, 0);
	ck_assert_str_eq(p.p[1].reason, "");
	/* A message queued after the note has none (it was never tried). */
	queue_ok(4, "bob", "four", 1003);
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(pmsg_pending_all(ms, collect_pending, &p), PSTORE_OK);
	ck_assert_int_eq(p.n, 4);
	ck_assert_str_eq(p.p[3].id, id(4));
	ck_assert_int_eq(p.p[3].attempts, 0);
	ck_assert_int_eq(p.p[3].next_try, 0);
	ck_assert_str_eq(p.p[3].reason, "");
	{
		struct pmsg m;

		ck_assert_int_eq(pmsg_get(ms, id(3), &m, NULL), PSTORE_OK);
		ck_assert_str_eq(m.reason, "unreachable");
		ck_assert_int_eq(pmsg_get(ms, id(4), &m, NULL), PSTORE_OK);
		ck_assert_str_eq(m.reason, "");
	}
	/* The next note covers it too. */
	ck_assert_int_eq(pmsg_pending_note(ms, "bob", 4, 5, "again"), PSTORE_OK);
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(pmsg_pending_all(ms, collect_pending, &p), PSTORE_OK);
	ck_assert_int_eq(p.p[3].attempts, 4);
	ck_assert_str_eq(p.p[3].reason, "again");
	ck_assert_int_eq(p.p[0].attempts, 4);
	/* Peers with pending messages, each once. */
	ck_assert_int_eq(pmsg_pending_peers(ms, collect_peer, &peers), PSTORE_OK);
	ck_assert_int_eq(peers.n, 2);
	ck_assert((strcmp(peers.c[0].peer, "bob") == 0 &&
	    strcmp(peers.c[1].peer, "carol") == 0) ||
	    (strcmp(peers.c[0].peer, "carol") == 0 &&
	    strcmp(peers.c[1].peer, "bob") == 0));
	/* Delivered messages leave the list. */
	{
		int64_t seq;

		ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
		ck_assert_int_eq(pmsg_delivered(ms, id(2), "carol", 1, &seq),
		    PSTORE_OK);
		ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	}
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(pmsg_pending_all(ms, collect_pending, &p), PSTORE_OK);
	ck_assert_int_eq(p.n, 3);
	memset(&peers, 0, sizeof(peers));
	ck_assert_int_eq(pmsg_pending_peers(ms, collect_peer, &peers), PSTORE_OK);
	ck_assert_int_eq(peers.n, 1);
	ck_assert_str_eq(peers.c[0].peer, "bob");
}
END_TEST

START_TEST(test_hold)
{
	struct chats peers = { 0 };
	struct seen *s;

	queue_ok(1, "bob", "one", 1000);
	queue_ok(2, "carol", "c", 1001);
	queue_ok(3, "bob", "two", 1002);
	ck_assert_int_eq(pmsg_hold(ms, "bob", true), PSTORE_OK);
	ck_assert_int_eq(pmsg_count(ms, "held"), 2);
	ck_assert_int_eq(pmsg_count(ms, "pending"), 1);
	ck_assert_int_eq(pending_for("bob", 0, 100)->n, 0);
	ck_assert_int_eq(pending_for("carol", 0, 100)->n, 1);
	ck_assert_int_eq(pmsg_pending_peers(ms, collect_peer, &peers), PSTORE_OK);
	ck_assert_int_eq(peers.n, 1);
	ck_assert_str_eq(peers.c[0].peer, "carol");
	/* Holding twice is harmless. */
	ck_assert_int_eq(pmsg_hold(ms, "bob", true), PSTORE_OK);
	ck_assert_int_eq(pmsg_count(ms, "held"), 2);
	/* Released, in the original order. */
	ck_assert_int_eq(pmsg_hold(ms, "bob", false), PSTORE_OK);
	ck_assert_int_eq(pmsg_count(ms, "held"), 0);
	ck_assert_int_eq(pmsg_count(ms, "pending"), 3);
	s = pending_for("bob", 0, 100);
	ck_assert_int_eq(s->n, 2);
	ck_assert_str_eq(s->m[0].m.id, id(1));
	ck_assert_str_eq(s->m[1].m.id, id(3));
	/* Hold never touches delivered or failed messages. */
	{
		int64_t seq;
		struct pmsg m;

		ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
		ck_assert_int_eq(pmsg_delivered(ms, id(1), "bob", 5, &seq),
		    PSTORE_OK);
		ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
		ck_assert_int_eq(pmsg_failed(ms, id(3), "x"), PSTORE_OK);
		ck_assert_int_eq(pmsg_hold(ms, "bob", true), PSTORE_OK);
		ck_assert_int_eq(pmsg_get(ms, id(1), &m, NULL), PSTORE_OK);
		ck_assert_str_eq(m.state, "delivered");
		ck_assert_int_eq(pmsg_get(ms, id(3), &m, NULL), PSTORE_OK);
		ck_assert_str_eq(m.state, "failed");
		ck_assert_int_eq(pmsg_count(ms, "held"), 0);
	}
	/* A held message can still be acknowledged (it was sent before). */
	{
		int64_t seq;

		queue_ok(4, "dave", "d", 1003);
		ck_assert_int_eq(pmsg_hold(ms, "dave", true), PSTORE_OK);
		ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
		ck_assert_int_eq(pmsg_delivered(ms, id(4), "dave", 6, &seq),
		    PSTORE_OK);
		ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
		ck_assert_int_eq(pmsg_count(ms, "held"), 0);
	}
}
END_TEST

static struct chats *
chats(void)
{
	static struct chats c;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(pmsg_chats(ms, collect_chat, &c), PSTORE_OK);
	return &c;
}

START_TEST(test_history_and_unread)
{
	static struct seen s;
	struct chats *c;
	int64_t seq;
	int i;

	/* bob: out 1, in 2, in 3, out 4, in 5 */
	queue_ok(1, "bob", "m1", 100);
	ck_assert_int_eq(receive1(2, "bob", "m2", 90, 110, &seq), PSTORE_OK);
	ck_assert_int_eq(receive1(3, "bob", "m3", 91, 120, &seq), PSTORE_OK);
	queue_ok(4, "bob", "m4", 130);
	ck_assert_int_eq(receive1(5, "bob", "m5", 92, 140, &seq), PSTORE_OK);
	ck_assert_int_eq(receive1(6, "carol", "c1", 93, 150, &seq), PSTORE_OK);
	c = chats();
	ck_assert_int_eq(c->n, 2);
	ck_assert_str_eq(c->c[0].peer, "carol");
	ck_assert_int_eq(c->c[0].unread, 1);
	ck_assert_str_eq(c->c[1].peer, "bob");
	ck_assert_int_eq(c->c[1].unread, 3);
	ck_assert_int_eq(c->c[1].last, 140);
	ck_assert_str_eq(c->c[1].preview, "m5");
	/* The last 3, oldest first. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(pmsg_history(ms, "bob", 3, collect, &s), PSTORE_OK);
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.m[0].body, "m3");
	ck_assert_str_eq(s.m[1].body, "m4");
	ck_assert_str_eq(s.m[2].body, "m5");
	ck_assert(!s.m[0].m.outgoing);
	ck_assert(s.m[1].m.outgoing);
	ck_assert_str_eq(s.m[1].m.state, "pending");
	ck_assert_str_eq(s.m[0].m.state, "received");
	for (i = 1; i < s.n; i++)
		ck_assert_int_gt(s.m[i].m.seq, s.m[i - 1].m.seq);
	/* Read now; carol's still unread. */
	c = chats();
	ck_assert_str_eq(c->c[1].peer, "bob");
	ck_assert_int_eq(c->c[1].unread, 0);
	ck_assert_int_eq(c->c[0].unread, 1);
	/* A limit above the count gives everything. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(pmsg_history(ms, "bob", 100, collect, &s), PSTORE_OK);
	ck_assert_int_eq(s.n, 5);
	ck_assert_str_eq(s.m[0].body, "m1");
	ck_assert_str_eq(s.m[4].body, "m5");
	/* Nothing with a stranger, and no chat appears for them. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(pmsg_history(ms, "nobody", 10, collect, &s), PSTORE_OK);
	ck_assert_int_eq(s.n, 0);
	ck_assert_int_eq(chats()->n, 2);
	/* A new message after reading counts from zero again. */
	ck_assert_int_eq(receive1(7, "bob", "m7", 94, 160, &seq), PSTORE_OK);
	c = chats();
	ck_assert_str_eq(c->c[0].peer, "bob");
	ck_assert_int_eq(c->c[0].unread, 1);
	/* Outgoing messages are never unread. */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(pmsg_history(ms, "carol", 1, collect, &s), PSTORE_OK);
	queue_ok(8, "carol", "reply", 170);
	c = chats();
	ck_assert_str_eq(c->c[0].peer, "carol");
	ck_assert_int_eq(c->c[0].unread, 0);
	ck_assert_str_eq(c->c[0].preview, "reply");
}
END_TEST

START_TEST(test_chats_order)
{
	struct chats *c;
	int64_t seq;

	queue_ok(1, "alice", "a", 300);
	queue_ok(2, "bob", "b", 100);
	ck_assert_int_eq(receive1(3, "carol", "c", 1, 200, &seq), PSTORE_OK);
	c = chats();
	ck_assert_int_eq(c->n, 3);
	ck_assert_str_eq(c->c[0].peer, "alice");
	ck_assert_str_eq(c->c[1].peer, "carol");
	ck_assert_str_eq(c->c[2].peer, "bob");
	ck_assert_int_eq(c->c[0].last, 300);
	ck_assert_int_eq(c->c[1].last, 200);
	ck_assert_int_eq(c->c[2].last, 100);
	/* New activity moves bob to the top. */
	ck_assert_int_eq(receive1(4, "bob", "b2", 1, 400, &seq), PSTORE_OK);
	c = chats();
	ck_assert_str_eq(c->c[0].peer, "bob");
	ck_assert_int_eq(c->c[0].last, 400);
	ck_assert_str_eq(c->c[0].preview, "b2");
	/* An older timestamp (a late message) never moves a chat back. */
	ck_assert_int_eq(receive1(5, "bob", "late", 1, 50, &seq), PSTORE_OK);
	c = chats();
	ck_assert_str_eq(c->c[0].peer, "bob");
	ck_assert_int_eq(c->c[0].last, 400);
	/* Equal activity: by name. */
	queue_ok(6, "zed", "z", 400);
	c = chats();
	ck_assert_str_eq(c->c[0].peer, "bob");
	ck_assert_str_eq(c->c[1].peer, "zed");
}
END_TEST

/* Receive one message inside the caller's transaction. */
static void
receive_in(int n, const char *peer, const char *body, int64_t ts_received)
{
	struct pmsg m = mk(id(n), peer, body, 1, "received");
	int64_t seq;

	m.ts_received = ts_received;
	ck_assert_int_eq(pmsg_receive(ms, &m, &seq), PSTORE_OK);
}

/*
 * Chat rows are written once per chat per transaction (a group commit of
 * many messages from one peer used to write its row twice per message),
 * reads inside the transaction see what it did so far, and a rollback
 * leaves nothing.
 */
START_TEST(test_chats_per_transaction)
{
	struct chats *c;
	struct seen s;
	int i;

	ck_assert_int_eq(sqlite3_exec(pstore_db(ps), "CREATE TEMP TABLE w (n);"
	    "INSERT INTO w VALUES (0);"
	    "CREATE TEMP TRIGGER wi AFTER INSERT ON main.chats BEGIN"
	    "  UPDATE w SET n = n + 1; END;"
	    "CREATE TEMP TRIGGER wu AFTER UPDATE ON main.chats BEGIN"
	    "  UPDATE w SET n = n + 1; END;", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	for (i = 0; i < 50; i++) {
		receive_in(100 + i, "bob", "b", 1000 + i);
		receive_in(200 + i, "carol", "c", 500 - i);
	}
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	ck_assert_int_eq(tu_db_int(pstore_db(ps), "SELECT n FROM temp.w"), 2);
	c = chats();
	ck_assert_int_eq(c->n, 2);
	ck_assert_str_eq(c->c[0].peer, "bob");
	ck_assert_int_eq(c->c[0].unread, 50);
	ck_assert_int_eq(c->c[0].last, 1049);
	ck_assert_str_eq(c->c[1].peer, "carol");
	ck_assert_int_eq(c->c[1].unread, 50);
	ck_assert_int_eq(c->c[1].last, 500);
	/* Mid-transaction: chats and history see the messages so far. */
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	receive_in(300, "bob", "b", 2000);
	queue_ok_in(301, "dave", "d", 1500);
	c = chats();
	ck_assert_int_eq(c->n, 3);
	ck_assert_str_eq(c->c[0].peer, "bob");
	ck_assert_int_eq(c->c[0].unread, 51);
	ck_assert_str_eq(c->c[1].peer, "dave");
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(pmsg_history(ms, "bob", 1, collect, &s), PSTORE_OK);
	receive_in(302, "bob", "b", 2001);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	c = chats();
	ck_assert_str_eq(c->c[0].peer, "bob");
	ck_assert_int_eq(c->c[0].unread, 1);	/* read, then one more */
	ck_assert_int_eq(c->c[0].last, 2001);
	/* A rollback forgets the transaction's chat changes. */
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	receive_in(400, "erin", "e", 3000);
	receive_in(401, "bob", "b", 3001);
	pstore_rollback(ps);
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	receive_in(402, "carol", "c", 600);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	c = chats();
	ck_assert_int_eq(c->n, 3);
	ck_assert_str_eq(c->c[0].peer, "bob");
	ck_assert_int_eq(c->c[0].unread, 1);
	ck_assert_int_eq(c->c[0].last, 2001);
	ck_assert_str_eq(c->c[2].peer, "carol");
	ck_assert_int_eq(c->c[2].unread, 51);
	ck_assert_int_eq(c->c[2].last, 600);
}
END_TEST

START_TEST(test_events_since)
{
	struct events ev = { 0 };
	int64_t s1, s2, s3, s4;

	ck_assert_int_eq(pmsg_events_since(ms, 0, collect_event, &ev), PSTORE_OK);
	ck_assert_int_eq(ev.n, 0);
	ck_assert_int_eq(receive1(1, "alice", "hi", 111, 112, &s1), PSTORE_OK);
	queue_ok(2, "alice", "yo", 120);
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_delivered(ms, id(2), "alice", 130, &s2), PSTORE_OK);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(pmsg_event(ms, "key-changed", "{\"user\":\"alice\"}",
	    &s3), PSTORE_OK);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	ck_assert_int_eq(receive1(3, "bob", "there", 140, 141, &s4), PSTORE_OK);
	ck_assert(s1 < s2 && s2 < s3 && s3 < s4);
	/* All, in order. */
	ck_assert_int_eq(pmsg_events_since(ms, 0, collect_event, &ev), PSTORE_OK);
	ck_assert_int_eq(ev.n, 4);
	ck_assert_int_eq(ev.seq[0], s1);
	ck_assert_int_eq(ev.seq[3], s4);
	ck_assert_str_eq(ev.type[0], "message");
	ck_assert_str_eq(json_string_value(json_object_get(ev.data[0], "from")),
	    "alice");
	ck_assert_str_eq(json_string_value(json_object_get(ev.data[0], "id")),
	    id(1));
	ck_assert_str_eq(json_string_value(json_object_get(ev.data[0], "text")),
	    "hi");
	ck_assert_int_eq(json_integer_value(json_object_get(ev.data[0], "ts")),
	    111);
	ck_assert_str_eq(ev.type[1], "delivered");
	ck_assert_str_eq(json_string_value(json_object_get(ev.data[1], "user")),
	    "alice");
	ck_assert_str_eq(json_string_value(json_object_get(ev.data[1], "id")),
	    id(2));
	ck_assert_int_eq(json_integer_value(json_object_get(ev.data[1], "ts")),
	    130);
	ck_assert_str_eq(ev.type[2], "key-changed");
	ck_assert_str_eq(ev.type[3], "message");
	events_free(&ev);
	/* Only those after a seq. */
	ck_assert_int_eq(pmsg_events_since(ms, s2, collect_event, &ev), PSTORE_OK);
	ck_assert_int_eq(ev.n, 2);
	ck_assert_int_eq(ev.seq[0], s3);
	ck_assert_int_eq(ev.seq[1], s4);
	events_free(&ev);
	ck_assert_int_eq(pmsg_events_since(ms, s4, collect_event, &ev), PSTORE_OK);
	ck_assert_int_eq(ev.n, 0);
	/* A duplicate receive adds no event. */
	ck_assert_int_eq(receive1(1, "alice", "hi", 111, 200, &s1), PSTORE_EXISTS);
	ck_assert_int_eq(pmsg_events_since(ms, s4, collect_event, &ev), PSTORE_OK);
	ck_assert_int_eq(ev.n, 0);
}
END_TEST

START_TEST(test_count)
{
	int64_t seq;

	ck_assert_int_eq(pmsg_count(ms, "pending"), 0);
	ck_assert_int_eq(pmsg_count(ms, "nonsense"), 0);
	queue_ok(1, "bob", "a", 1);
	queue_ok(2, "bob", "b", 2);
	queue_ok(3, "carol", "c", 3);
	ck_assert_int_eq(receive1(4, "bob", "d", 1, 4, &seq), PSTORE_OK);
	ck_assert_int_eq(pmsg_hold(ms, "carol", true), PSTORE_OK);
	ck_assert_int_eq(pmsg_failed(ms, id(2), "x"), PSTORE_OK);
	ck_assert_int_eq(pmsg_count(ms, "pending"), 1);
	ck_assert_int_eq(pmsg_count(ms, "held"), 1);
	ck_assert_int_eq(pmsg_count(ms, "failed"), 1);
	ck_assert_int_eq(pmsg_count(ms, "received"), 1);
	ck_assert_int_eq(pmsg_count(ms, "delivered"), 0);
	ck_assert_int_eq(pmsg_count(ms, "sent"), 0);
}
END_TEST

START_TEST(test_body_bytes)
{
	static const char body[] = "tab\there\nnew line\r\n\\ back \"quoted\" "
	    "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac '; DROP TABLE"
	    " messages; --";
	static struct seen s;
	struct events ev = { 0 };
	struct pmsg m;
	char *got = NULL;
	int64_t seq;
	const char *text;

	queue_ok(1, "bob", body, 1);
	ck_assert_int_eq(receive1(2, "bob", body, 2, 3, &seq), PSTORE_OK);
	/* pmsg_get */
	ck_assert_int_eq(pmsg_get(ms, id(1), &m, &got), PSTORE_OK);
	ck_assert_uint_eq(strlen(got), sizeof(body) - 1);
	ck_assert(memcmp(got, body, sizeof(body)) == 0);
	free(got);
	/* history, both directions, with the right length */
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(pmsg_history(ms, "bob", 10, collect, &s), PSTORE_OK);
	ck_assert_int_eq(s.n, 2);
	ck_assert_uint_eq(s.m[0].m.body_len, sizeof(body) - 1);
	ck_assert(memcmp(s.m[0].body, body, sizeof(body) - 1) == 0);
	ck_assert_uint_eq(s.m[1].m.body_len, sizeof(body) - 1);
	ck_assert(memcmp(s.m[1].body, body, sizeof(body) - 1) == 0);
	/* pending_for */
	ck_assert(memcmp(pending_for("bob", 0, 10)->m[0].body, body,
	    sizeof(body)) == 0);
	/* the event's text */
	ck_assert_int_eq(pmsg_events_since(ms, 0, collect_event, &ev), PSTORE_OK);
	ck_assert_int_eq(ev.n, 1);
	text = json_string_value(json_object_get(ev.data[0], "text"));
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(json_string_length(json_object_get(ev.data[0], "text")),
	    sizeof(body) - 1);
	ck_assert(memcmp(text, body, sizeof(body)) == 0);
	events_free(&ev);
	/* The database is intact after that body. */
	ck_assert_int_eq(pmsg_count(ms, "received"), 1);
}
END_TEST

START_TEST(test_body_length_given)
{
	struct pmsg m = mk(id(1), "bob", "abcdef", 1, "pending"), old;
	char *body = NULL;

	/* Only body_len bytes are stored, not up to the NUL. */
	m.body_len = 3;
	ck_assert_int_eq(pmsg_queue(ms, &m, &old, &body), PSTORE_OK);
	ck_assert_int_eq(pmsg_get(ms, id(1), &m, &body), PSTORE_OK);
	ck_assert_str_eq(body, "abc");
	free(body);
}
END_TEST

/* How many messages a literal search for text finds. */
static int
found(struct parch *a, const char *text)
{
	struct seen s = { 0 };
	char err[256], *q = parch_fts_literal(text);

	ck_assert_msg(parch_search(a, q, NULL, 10, collect, &s, err,
	    sizeof(err)) == PSTORE_OK, "search %s (%s): %s", text, q, err);
	free(q);
	return s.n;
}

/*
 * search: plain text is its words, literally (punctuation is no syntax,
 * and the tokenizer drops it: lunch* is lunch); chat-delete: one peer's all.
 */
START_TEST(test_archive_literal_and_delete)
{
	static const char *const words[] = { "lunch at one?", "it's", "bob:",
	    "\"quoted\"", "NOT", "one AND", "lunch*", "(at", "-at" };
	struct parch *a;
	char *cause = NULL, *q;
	int deleted = -1;
	int64_t seq;
	size_t i;

	ck_assert_ptr_nonnull(a = parch_open(ps, &cause));
	q = parch_fts_literal("  lunch\tat one?  ");
	ck_assert_str_eq(q, "\"lunch\" \"at\" \"one?\"");
	free(q);
	q = parch_fts_literal("say \"hi\"");
	ck_assert_str_eq(q, "\"say\" \"\"\"hi\"\"\"");
	free(q);
	q = parch_fts_literal(" ");
	ck_assert_str_eq(q, "\"\"");
	free(q);
	ck_assert_int_eq(receive1(1, "bob", "lunch at one? it's bob: \"quoted\" "
	    "NOT AND", 100, 200, &seq), PSTORE_OK);
	ck_assert_int_eq(receive1(2, "carol", "lunch alone", 101, 201, &seq),
	    PSTORE_OK);
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	queue_ok_in(3, "bob", "lunch then", 102);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		ck_assert_msg(found(a, words[i]) == (i == 6 ? 3 : 1), "%s",
		    words[i]);
	ck_assert_int_eq(found(a, "lunch"), 3);
	ck_assert_int_eq(found(a, " "), 0);
	/* Everything with bob goes, carol's stays; the trigger is back. */
	ck_assert_int_eq(pstore_begin(ps), PSTORE_OK);
	ck_assert_int_eq(parch_delete_chat(a, "bob", &deleted), PSTORE_OK);
	ck_assert_int_eq(pstore_commit(ps), PSTORE_OK);
	ck_assert_int_eq(deleted, 2);
	ck_assert_int_eq(found(a, "lunch"), 1);
	ck_assert_int_eq(pmsg_count(ms, "pending"), 0);
	ck_assert_int_eq(tu_db_int(pstore_db(ps), "SELECT count(*) FROM chats"
	    " WHERE peer = 'bob'"), 0);
	ck_assert_int_eq(tu_db_int(pstore_db(ps), "SELECT count(*) FROM"
	    " sqlite_master WHERE name = 'messages_ad_events'"), 1);
	parch_close(a);
}
END_TEST

START_TEST(test_reopen_keeps_everything)
{
	char *cause = NULL;
	struct events ev = { 0 };
	int64_t seq, seq2;

	queue_ok(1, "bob", "out", 1);
	ck_assert_int_eq(receive1(2, "bob", "in", 2, 3, &seq), PSTORE_OK);
	pmsg_close(ms);
	pstore_close(ps);
	ps = pstore_open(path, false, &cause);
	ck_assert_msg(ps != NULL, "%s", cause);
	ms = pmsg_open(ps, &cause);
	ck_assert_msg(ms != NULL, "%s", cause);
	ck_assert_int_eq(pmsg_count(ms, "pending"), 1);
	ck_assert_int_eq(pmsg_count(ms, "received"), 1);
	ck_assert_int_eq(receive1(2, "bob", "in", 2, 3, &seq2), PSTORE_EXISTS);
	ck_assert_int_eq(receive1(3, "bob", "in2", 2, 3, &seq2), PSTORE_OK);
	ck_assert_int_gt(seq2, seq);
	ck_assert_int_eq(pmsg_events_since(ms, 0, collect_event, &ev), PSTORE_OK);
	ck_assert_int_eq(ev.n, 2);
	events_free(&ev);
}
END_TEST

static Suite *
pstore_msg_suite(void)
{
	Suite *s = suite_create("pstore_msg");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_queue_pending);
	tcase_add_test(tc, test_mail_due_in_order);
	tcase_add_test(tc, test_mail_expire_takes_later);
	tcase_add_test(tc, test_mail_group_rows);
	tcase_add_test(tc, test_queue_existing_id);
	tcase_add_test(tc, test_queue_held);
	tcase_add_test(tc, test_receive_dedup);
	tcase_add_test(tc, test_receive_rollback);
	tcase_add_test(tc, test_delivered);
	tcase_add_test(tc, test_delivered_rollback);
	tcase_add_test(tc, test_failed);
	tcase_add_test(tc, test_failed_while_walking);
	tcase_add_test(tc, test_finish_and_expiry);
	tcase_add_test(tc, test_pending_note_and_all);
	tcase_add_test(tc, test_hold);
	tcase_add_test(tc, test_history_and_unread);
	tcase_add_test(tc, test_chats_order);
	tcase_add_test(tc, test_chats_per_transaction);
	tcase_add_test(tc, test_events_since);
	tcase_add_test(tc, test_count);
	tcase_add_test(tc, test_body_bytes);
	tcase_add_test(tc, test_body_length_given);
	tcase_add_test(tc, test_reopen_keeps_everything);
	tcase_add_test(tc, test_archive_literal_and_delete);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(pstore_msg_suite(), LOG_LVL_INFO);
}
