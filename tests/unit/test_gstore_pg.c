/*
 * Unit tests for gstore_pg.c against a real, throwaway PostgreSQL server
 * (tests/pg/pgtmp.sh: initdb in a temporary directory, Unix socket only):
 * users added, read, updated, listed; presence rows shared by two stores
 * (two gestors) and their notifications; a lapsed gestor reaped;
 * heartbeat refreshes gathered into one statement and flushed at close; the
 * server stopped (bounded "unavailable") and back (reconnect); a newer
 * schema, a bad conninfo and an unreachable server refused clearly.
 * Exit 77 when PostgreSQL cannot be run here.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "gstore.h"
#include "gstore_wait.h"
#include "gstore_mail.h"
#include "testutil.h"
#include "util.h"

struct event_base *gw_base;
static char pgdir[64];
static char conninfo[256];
static char script[4096];

/* Notifications and state changes one store reported. */
struct seen {
	json_t	*notes;
	int	 ups, downs;
	/* With a sessions callback: what it answers first, then later. */
	json_t	*sessions, *later;
	int	 sessions_asked;
};

static void
on_note(const json_t *n, void *arg)
{
	struct seen *s = arg;

	json_array_append_new(s->notes, json_deep_copy(n));
}

static void
on_state(enum gstore_state st, void *arg)
{
	struct seen *s = arg;

	if (st == GSTORE_UP)
		s->ups++;
	else
		s->downs++;
}

/* The gestor's sessions: s->sessions, then s->later from the second call. */
static json_t *
on_sessions(void *arg)
{
	struct seen *s = arg;
	json_t *a = json_deep_copy(s->sessions);

	if (s->sessions_asked++ == 0 && s->later != NULL) {
		json_decref(s->sessions);
		s->sessions = json_incref(s->later);
	}
	return a;
}

static int
pgtmp(const char *args)
{
	char cmd[8192];
	int rc;

	snprintf(cmd, sizeof(cmd), "%s %s", script, args);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void
sql(const char *q)
{
	char args[2048];

	snprintf(args, sizeof(args), "sql %s \"%s\" >/dev/null", pgdir, q);
	ck_assert_int_eq(pgtmp(args), 0);
}

/* Whether statement q runs without an error (1 / 0 for false). */
static bool
sql_ok(const char *q)
{
	char args[2048];

	snprintf(args, sizeof(args), "sql %s \"%s\" >/dev/null 2>&1", pgdir, q);
	return pgtmp(args) == 0;
}

static struct gstore *
open_as(const char *name, const char *ci, struct seen *s, char **cause)
{
	struct gstore_opts o;

	memset(&o, 0, sizeof(o));
	o.base = gw_base;
	o.backend = "postgresql";
	o.conninfo = ci;
	o.cluster = name;
	o.hb_interval = 0.2;
	o.hb_timeout = 1.0;
	o.request_timeout = 1.0;
	o.on_notify = on_note;
	o.on_state = on_state;
	if (s->sessions != NULL)
		o.sessions = on_sessions;
	o.arg = s;
	return gstore_open(&o, cause);
}

/* A store for gestor name; with sessions: a gestor's sessions callback. */
static struct gstore *
open_sessions(const char *name, struct seen *s, json_t *sessions,
    json_t *later)
{
	char *cause = NULL;
	struct gstore *gs;

	memset(s, 0, sizeof(*s));
	s->notes = json_array();
	s->sessions = sessions;
	s->later = later;
	gs = open_as(name, conninfo, s, &cause);
	ck_assert_msg(gs != NULL, "gstore_open: %s", cause);
	return gs;
}

static struct gstore *
open_ok(const char *name, struct seen *s)
{
	return open_sessions(name, s, NULL, NULL);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

/* Run the loop until *count reaches want or limit seconds pass. */
static void
run_until(const int *count, int want, double limit)
{
	struct timeval tv = { 0, 20000 };
	struct event *t = event_new(gw_base, -1, EV_PERSIST, tick_cb, NULL);
	double end = util_mono() + limit;

	evtimer_add(t, &tv);
	while ((count == NULL || *count < want) && util_mono() < end)
		event_base_loop(gw_base, EVLOOP_ONCE);
	event_free(t);
}

static void
run_for(double secs)
{
	run_until(NULL, 0, secs);
}

/*
 * Run the loop until gestor name's first reconcile is done (at most 10
 * s): it writes the gestor's lease row. The reconcile comes on the first
 * timer tick after the store is up and makes the gestor's presence rows
 * exactly its sessions, which are none here (no sessions callback): one
 * that came after a test wrote presence would take it back.
 */
static void
wait_reconciled(const char *name)
{
	char q[256];
	double end = util_mono() + 10;

	snprintf(q, sizeof(q), "SELECT 1 / count(*)::int FROM gestors WHERE "
	    "name = '%s'", name);
	while (!sql_ok(q) && util_mono() < end)
		run_for(0.05);
	ck_assert_msg(sql_ok(q), "gestor %s never reconciled", name);
}

/* Run the loop until s has heard n notifications (at most 10 s). */
static int
wait_notes(struct seen *s, int n)
{
	double end = util_mono() + 10;

	while ((int)json_array_size(s->notes) < n && util_mono() < end)
		run_for(0.02);
	return (int)json_array_size(s->notes);
}

static void
setup(void)
{
	char args[256];

	gw_base = event_base_new();
	snprintf(args, sizeof(args), "reset %s >/dev/null", pgdir);
	ck_assert_int_eq(pgtmp(args), 0);
}

static void
teardown(void)
{
	event_base_free(gw_base);
}

START_TEST(test_users)
{
	struct seen s;
	struct gstore *gs = open_ok("g1", &s);
	struct guser u, got;
	struct gwait w = { 0 };

	tu_make_user(&u, "alice", TU_FP_A, 1700000000);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_EXISTS);
	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_OK);
	ck_assert_str_eq(got.hash, TU_HASH);
	ck_assert_str_eq(got.fingerprint, TU_FP_A);
	ck_assert_int_eq(got.created, 1700000000);
	ck_assert(!got.online);
	ck_assert_int_eq(gw_get(gs, "nobody", &got), GSTORE_NOTFOUND);
	ck_assert_int_eq(gw_set_key(gs, "alice", TU_FP_B), GSTORE_OK);
	ck_assert_int_eq(gw_set_key(gs, "nobody", TU_FP_B), GSTORE_NOTFOUND);
	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_OK);
	ck_assert_str_eq(got.fingerprint, TU_FP_B);
	tu_make_user(&u, "bob", TU_FP_A, 1700000000);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	ck_assert_int_eq(gw_count(gs), 2);
	/* One key, one account; a taken name is still EXISTS. */
	tu_make_user(&u, "frank", TU_FP_A, 1700000000);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_KEY_TAKEN);
	tu_make_user(&u, "bob", TU_FP_B, 1700000000);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_EXISTS);
	ck_assert_int_eq(gw_set_key(gs, "alice", TU_FP_A), GSTORE_KEY_TAKEN);
	ck_assert_int_eq(gw_set_key(gs, "alice", TU_FP_B), GSTORE_OK);
	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_OK);
	ck_assert_str_eq(got.fingerprint, TU_FP_B);
	ck_assert_int_eq(gw_count(gs), 2);
	/* A malformed record never reaches the server. */
	memset(u.fingerprint, 'f', sizeof(u.fingerprint));
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_ERR);
	/* A cancelled request's callback never runs. */
	gstore_op_cancel(gstore_user_get(gs, "alice", gw_user_cb, &w));
	ck_assert_int_eq(gw_count(gs), 2);
	run_for(0.3);
	ck_assert_int_eq(w.done, 0);
	gstore_close(gs);
	json_decref(s.notes);
}
END_TEST

struct names {
	char	 v[4][P2P_USERNAME_MAX + 1];
	int	 n;
};

static int
name_cb(const struct guser *u, void *arg)
{
	struct names *n = arg;

	ck_assert_int_lt(n->n, 4);
	strcpy(n->v[n->n++], u->name);
	return 0;
}

START_TEST(test_foreach)
{
	static const char *const order[] = { "carol", "alice", "bob" };
	struct seen s;
	struct gstore *gs = open_ok("g1", &s);
	struct names n = { .n = 0 };
	struct guser u;
	int i;

	for (i = 0; i < 3; i++) {
		tu_make_user(&u, order[i], tu_fp_of(order[i]), 1700000000);
		ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	}
	ck_assert_int_eq(gw_foreach(gs, name_cb, &n), GSTORE_OK);
	ck_assert_int_eq(n.n, 3);
	ck_assert_str_eq(n.v[0], "alice");
	ck_assert_str_eq(n.v[2], "carol");
	gstore_close(gs);
	json_decref(s.notes);
}
END_TEST

/* Two gestors: presence written by one is seen, and heard, by the other. */
/* Deposits through one gestor, fetched and acked through another. */
START_TEST(test_mailbox_two_gestors)
{
	struct seen sa, sb;
	struct gstore *a = open_ok("ga", &sa), *b = open_ok("gb", &sb);

	gm_check_mailbox(a, b);
	gm_check_put_many(a, b);
	gstore_close(a);
	gstore_close(b);
	json_decref(sa.notes);
	json_decref(sb.notes);
}
END_TEST

START_TEST(test_presence_two_gestors)
{
	struct seen sa, sb;
	struct gstore *a = open_ok("ga", &sa), *b = open_ok("gb", &sb);
	struct guser u, got;
	json_t *n;

	wait_reconciled("ga");
	wait_reconciled("gb");
	ck_assert_int_eq(sa.ups, 1);
	ck_assert_int_eq(sb.ups, 1);
	tu_make_user(&u, "alice", TU_FP_A, 1700000000);
	ck_assert_int_eq(gw_add(a, &u), GSTORE_OK);
	ck_assert_int_eq(gw_presence(a, GSTORE_ONLINE, "alice", "198.18.0.5",
	    7001, 1700000100), GSTORE_OK);
	ck_assert_int_eq(gw_get(b, "alice", &got), GSTORE_OK);
	ck_assert(got.online);
	ck_assert_str_eq(got.addr, "198.18.0.5");
	ck_assert_int_eq(got.port, 7001);
	/* The owner knows its own sessions: not "online elsewhere". */
	ck_assert_int_eq(gw_get(a, "alice", &got), GSTORE_OK);
	ck_assert(!got.online);
	ck_assert_int_eq(wait_notes(&sb, 1), 1);
	n = json_array_get(sb.notes, 0);
	ck_assert_str_eq(json_string_value(json_object_get(n, "t")), "presence");
	ck_assert_str_eq(json_string_value(json_object_get(n, "origin")), "ga");
	ck_assert_str_eq(json_string_value(json_object_get(n, "user")), "alice");
	ck_assert(json_is_true(json_object_get(n, "online")));
	/* A hint: the key and address are read from the rows, never sent. */
	ck_assert_ptr_null(json_object_get(n, "key"));
	ck_assert_ptr_null(json_object_get(n, "addr"));
	ck_assert_int_eq(json_array_size(sa.notes), 0);	/* not its own */

	/* b takes the session over; a's later offline leaves b's row. */
	ck_assert_int_eq(gw_presence(b, GSTORE_ONLINE, "alice", "198.18.0.6",
	    7002, 1700000200), GSTORE_OK);
	ck_assert_int_eq(gw_presence(a, GSTORE_OFFLINE, "alice", "198.18.0.5",
	    7001, 1700000300), GSTORE_OK);
	ck_assert_int_eq(gw_get(a, "alice", &got), GSTORE_OK);
	ck_assert(got.online);
	ck_assert_str_eq(got.addr, "198.18.0.6");
	ck_assert_int_eq(gw_presence(b, GSTORE_OFFLINE, "alice", "198.18.0.6",
	    7002, 1700000400), GSTORE_OK);
	ck_assert_int_eq(gw_get(a, "alice", &got), GSTORE_OK);
	ck_assert(!got.online);
	ck_assert_int_eq(got.last_seen, 1700000400);
	/* a heard b's online, then b's offline (not its own). */
	ck_assert_int_eq(wait_notes(&sa, 2), 2);
	n = json_array_get(sa.notes, 1);
	ck_assert_ptr_nonnull(n);
	ck_assert(json_is_false(json_object_get(n, "online")));

	/* A typed notification of any kind reaches the other gestor. */
	n = json_pack("{s:s,s:s}", "t", "relay-invite", "user", "alice");
	json_array_clear(sb.notes);
	gstore_notify(a, n);
	json_decref(n);
	ck_assert_int_eq(wait_notes(&sb, 1), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    sb.notes, 0), "t")), "relay-invite");
	gstore_close(a);
	gstore_close(b);
	json_decref(sa.notes);
	json_decref(sb.notes);
}
END_TEST

/*
 * A session that comes online while the reconcile is under way: the
 * reconcile read the sessions before it, and its row, written meanwhile,
 * was taken back as gone. It is written again by the next reconcile, and
 * the other gestors never hear it went offline.
 */
START_TEST(test_reconcile_meets_login)
{
	struct seen sa, sb;
	struct gstore *a, *b = open_ok("gb", &sb);
	struct guser u, got;
	json_t *n;
	double end;
	size_t i;

	wait_reconciled("gb");
	tu_make_user(&u, "alice", TU_FP_A, 1700000000);
	ck_assert_int_eq(gw_add(b, &u), GSTORE_OK);
	/* Her row as a's worker writes it before a's first reconcile runs. */
	sql("UPDATE users SET addr = '198.18.0.5', port = 7001 WHERE name = "
	    "'alice'; INSERT INTO presence VALUES ('alice', 'ga', '198.18.0.5', "
	    "7001, now() + interval '1 hour')");
	a = open_sessions("ga", &sa, json_array(), json_pack("[{s:s,s:s,s:i,"
	    "s:i}]", "name", "alice", "addr", "198.18.0.5", "port", 7001,
	    "last_seen", 1700000100));
	wait_reconciled("ga");
	end = util_mono() + 10;
	do {
		run_for(0.05);
		ck_assert_int_eq(gw_get(b, "alice", &got), GSTORE_OK);
	} while (!got.online && util_mono() < end);
	ck_assert_msg(got.online, "alice's row was taken back for good "
	    "(reconciles: %d)", sa.sessions_asked);
	ck_assert_str_eq(got.addr, "198.18.0.5");
	ck_assert_int_ge(sa.sessions_asked, 2);
	/* b heard only that she is online. */
	ck_assert_int_ge(wait_notes(&sb, 1), 1);
	json_array_foreach(sb.notes, i, n)
		ck_assert_msg(json_is_true(json_object_get(n, "online")),
		    "b heard alice offline");
	gstore_close(a);
	gstore_close(b);
	json_decref(sa.notes);
	json_decref(sa.sessions);
	json_decref(sa.later);
	json_decref(sb.notes);
}
END_TEST

/* A gestor whose lease lapsed: another one marks its users offline. */
START_TEST(test_lapsed_gestor)
{
	struct seen s;
	struct gstore *gs = open_ok("live", &s);
	struct guser u, got;
	json_t *n;

	tu_make_user(&u, "bob", TU_FP_B, 1700000000);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	sql("INSERT INTO gestors VALUES ('dead', now() - interval '1 second');"
	    "INSERT INTO presence VALUES ('bob', 'dead', '198.18.0.9', 7001, "
	    "now() + interval '1 hour')");
	ck_assert_int_eq(wait_notes(&s, 1), 1);
	n = json_array_get(s.notes, 0);
	/* Sealed by the gestor that reaped, about the one that lapsed. */
	ck_assert_str_eq(json_string_value(json_object_get(n, "origin")), "live");
	ck_assert_str_eq(json_string_value(json_object_get(n, "owner")), "dead");
	ck_assert_str_eq(json_string_value(json_object_get(n, "user")), "bob");
	ck_assert(json_is_false(json_object_get(n, "online")));
	ck_assert_int_eq(gw_get(gs, "bob", &got), GSTORE_OK);
	ck_assert(!got.online);
	gstore_close(gs);
	json_decref(s.notes);
}
END_TEST

/* A gestor restarted under its name clears what its last life left. */
START_TEST(test_restart_clears_own_rows)
{
	struct seen s1, s2;
	struct gstore *g2 = open_ok("g2", &s2), *g1;
	struct guser u, got;
	json_t *n;

	tu_make_user(&u, "carol", TU_FP_A, 1700000000);
	ck_assert_int_eq(gw_add(g2, &u), GSTORE_OK);
	sql("INSERT INTO gestors VALUES ('g1', now() + interval '1 hour');"
	    "INSERT INTO presence VALUES ('carol', 'g1', '198.18.0.7', 7001, "
	    "now() + interval '1 hour')");
	ck_assert_int_eq(gw_get(g2, "carol", &got), GSTORE_OK);
	ck_assert(got.online);
	g1 = open_ok("g1", &s1);
	ck_assert_int_eq(wait_notes(&s2, 1), 1);
	n = json_array_get(s2.notes, 0);
	ck_assert_str_eq(json_string_value(json_object_get(n, "origin")), "g1");
	ck_assert(json_is_false(json_object_get(n, "online")));
	ck_assert_int_eq(gw_get(g2, "carol", &got), GSTORE_OK);
	ck_assert(!got.online);
	gstore_close(g1);
	gstore_close(g2);
	json_decref(s1.notes);
	json_decref(s2.notes);
}
END_TEST

/* The server goes away: bounded "unavailable"; back: served again. */
START_TEST(test_server_restart)
{
	struct seen s;
	struct gstore *gs = open_ok("g1", &s);
	struct gstore_info info;
	struct guser u, got;
	char args[256];
	double t0;
	enum gstore_rc rc;

	run_until(&s.ups, 1, 10);
	ck_assert_int_eq(s.ups, 1);
	tu_make_user(&u, "alice", TU_FP_A, 1700000000);
	ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	snprintf(args, sizeof(args), "stop %s immediate", pgdir);
	ck_assert_int_eq(pgtmp(args), 0);
	t0 = util_mono();
	do {
		rc = gw_get(gs, "alice", &got);
	} while (rc == GSTORE_OK && util_mono() - t0 < 5);
	ck_assert_int_eq(rc, GSTORE_UNAVAILABLE);
	ck_assert_double_lt(util_mono() - t0, 3.0);
	run_until(&s.downs, 1, 5);
	ck_assert_int_eq(s.downs, 1);
	gstore_info(gs, &info);
	ck_assert_int_eq(info.state, GSTORE_DOWN);
	ck_assert_str_ne(info.detail, "");
	/* While it is down, requests fail at once or within the bound. */
	t0 = util_mono();
	ck_assert_int_eq(gw_get(gs, "alice", &got), GSTORE_UNAVAILABLE);
	ck_assert_double_lt(util_mono() - t0, 2.0);

	snprintf(args, sizeof(args), "restart %s", pgdir);
	ck_assert_int_eq(pgtmp(args), 0);
	run_until(&s.ups, 2, 15);
	ck_assert_int_eq(s.ups, 2);
	t0 = util_mono();
	while ((rc = gw_get(gs, "alice", &got)) != GSTORE_OK &&
	    util_mono() - t0 < 10)
		run_for(0.1);
	ck_assert_int_eq(rc, GSTORE_OK);
	gstore_info(gs, &info);
	ck_assert_int_eq(info.state, GSTORE_UP);
	ck_assert_uint_ge(info.reconnects, 1);
	ck_assert_uint_ge(info.errors, 1);
	gstore_close(gs);
	json_decref(s.notes);
}
END_TEST

#define NSEEN	300

/* Run the loop until user's last_seen reads want (at most 10 s). */
static int64_t
wait_seen(struct gstore *gs, const char *name, int64_t want)
{
	struct guser got;
	double end = util_mono() + 10;

	memset(&got, 0, sizeof(got));
	while (util_mono() < end) {
		ck_assert_int_eq(gw_get(gs, name, &got), GSTORE_OK);
		if (got.last_seen == want)
			break;
		run_for(0.05);
	}
	return got.last_seen;
}

/*
 * Heartbeat refreshes are gathered and written by one statement: every
 * one lands and reads back (names that need quoting in an array literal
 * too); last_seen only moves forward; a clean close writes what is
 * still gathered.
 */
START_TEST(test_seen_batch)
{
	static const char *const odd[] = { "q\"uote", "back\\slash",
	    "com,ma", "{brace}", "NULL" };
	struct seen s;
	struct gstore *gs = open_ok("g1", &s);
	struct guser u;
	char name[32];
	int i;

	run_until(&s.ups, 1, 10);
	for (i = 0; i < NSEEN; i++) {
		snprintf(name, sizeof(name), "u%03d", i);
		tu_make_user(&u, i < 5 ? odd[i] : name, tu_fp_of(i < 5 ? odd[i] : name), 1700000000);
		ck_assert_int_eq(gw_add(gs, &u), GSTORE_OK);
	}
	for (i = 0; i < NSEEN; i++) {
		snprintf(name, sizeof(name), "u%03d", i);
		tu_make_user(&u, i < 5 ? odd[i] : name, tu_fp_of(i < 5 ? odd[i] : name), 1700000000);
		u.last_seen = 1700000000 + i;
		ck_assert_int_eq(gw_presence(gs, GSTORE_SEEN, u.name, "", 0,
		    u.last_seen), GSTORE_OK);
	}
	ck_assert_int_eq(wait_seen(gs, "u299", 1700000299), 1700000299);
	for (i = 5; i < NSEEN; i++) {
		snprintf(name, sizeof(name), "u%03d", i);
		ck_assert_int_eq(wait_seen(gs, name, 1700000000 + i),
		    1700000000 + i);
	}
	/*
	 * The odd names are not usernames, so the store refuses to read
	 * their rows (gstore_row_check): checked in SQL (1/0 fails it).
	 */
	sql("SELECT 1 / (count(*) = 5)::int FROM users WHERE "
	    "(name, last_seen) IN (('q\\\"uote', 1700000000), "
	    "('back\\\\slash', 1700000001), ('com,ma', 1700000002), "
	    "('{brace}', 1700000003), ('NULL', 1700000004))");
	/* An older refresh (late, or given twice) never moves it back. */
	ck_assert_int_eq(gw_presence(gs, GSTORE_SEEN, "u010", "", 0,
	    1700000500), GSTORE_OK);
	ck_assert_int_eq(gw_presence(gs, GSTORE_SEEN, "u010", "", 0,
	    1600000000), GSTORE_OK);
	ck_assert_int_eq(gw_presence(gs, GSTORE_SEEN, "u011", "", 0,
	    1600000000), GSTORE_OK);
	ck_assert_int_eq(wait_seen(gs, "u010", 1700000500), 1700000500);
	run_for(1.5);
	ck_assert_int_eq(wait_seen(gs, "u011", 1700000011), 1700000011);
	ck_assert_int_eq(wait_seen(gs, "u010", 1700000500), 1700000500);

	/* Gathered, not yet due, at a clean close: written. */
	ck_assert_int_eq(gw_presence(gs, GSTORE_SEEN, "u020", "", 0,
	    1700000900), GSTORE_OK);
	gstore_close(gs);
	json_decref(s.notes);
	gs = open_ok("g1", &s);
	ck_assert_int_eq(wait_seen(gs, "u020", 1700000900), 1700000900);
	gstore_close(gs);
	json_decref(s.notes);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	struct seen s = { NULL, 0, 0 };		/* open_ok makes notes */
	char *cause = NULL;

	gstore_close(open_ok("g1", &s));
	json_decref(s.notes);
	s.notes = json_array();
	sql("UPDATE p2pchat_schema SET version = 999");
	ck_assert_ptr_null(open_as("g1", conninfo, &s, &cause));
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, "999") != NULL && strstr(cause, "newer") !=
	    NULL, "cause: %s", cause);
	free(cause);
	json_decref(s.notes);
}
END_TEST

START_TEST(test_bad_conninfo)
{
	struct seen s = { json_array(), 0, 0 };
	struct gstore_info info;
	struct gstore *gs;
	char ci[512], *cause = NULL;

	ck_assert_ptr_null(open_as("g1", "nosuchkey=1", &s, &cause));
	ck_assert_msg(cause != NULL && strstr(cause, "nosuchkey") != NULL,
	    "cause: %s", cause);
	free(cause);
	cause = NULL;
	/*
	 * Nobody listens there; no such role: what may mend by itself opens
	 * the store, not connected, saying why, and it keeps trying.
	 */
	snprintf(ci, sizeof(ci), "host=%s/nothing dbname=p2pchat user=p2p",
	    pgdir);
	gs = open_as("g1", ci, &s, &cause);
	ck_assert_ptr_nonnull(gs);
	ck_assert_ptr_null(cause);
	gstore_info(gs, &info);
	ck_assert_int_eq(info.state, GSTORE_CONNECTING);
	ck_assert_msg(strstr(info.detail, "nothing") != NULL, "detail: %s",
	    info.detail);
	gstore_close(gs);
	snprintf(ci, sizeof(ci), "host=%s dbname=p2pchat user=nobody", pgdir);
	gs = open_as("g1", ci, &s, &cause);
	ck_assert_ptr_nonnull(gs);
	gstore_info(gs, &info);
	ck_assert_int_eq(info.state, GSTORE_CONNECTING);
	ck_assert_msg(strstr(info.detail, "nobody") != NULL, "detail: %s",
	    info.detail);
	gstore_close(gs);
	json_decref(s.notes);
}
END_TEST

static Suite *
gstore_pg_suite(void)
{
	Suite *s = suite_create("gstore_pg");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_users);
	tcase_add_test(tc, test_foreach);
	tcase_add_test(tc, test_presence_two_gestors);
	tcase_add_test(tc, test_reconcile_meets_login);
	tcase_add_test(tc, test_mailbox_two_gestors);
	tcase_add_test(tc, test_lapsed_gestor);
	tcase_add_test(tc, test_restart_clears_own_rows);
	tcase_add_test(tc, test_server_restart);
	tcase_add_test(tc, test_seen_batch);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_bad_conninfo);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const char *srcdir = getenv("srcdir");
	char args[8192], *nl;
	FILE *f;
	int rc;

	snprintf(script, sizeof(script), "%s/tests/pg/pgtmp.sh",
	    srcdir != NULL ? srcdir : ".");
	snprintf(pgdir, sizeof(pgdir), "/tmp/test_gstore_pg.%ld", (long)getpid());
	snprintf(args, sizeof(args), "%s start %s", script, pgdir);
	if ((f = popen(args, "r")) == NULL)
		return 99;
	if (fgets(conninfo, sizeof(conninfo), f) == NULL)
		conninfo[0] = '\0';
	rc = pclose(f);
	if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
		fprintf(stderr, "test_gstore_pg: SKIP: PostgreSQL cannot run here\n");
		return 77;
	}
	if ((nl = strchr(conninfo, '\n')) != NULL)
		*nl = '\0';
	if (rc != 0 || *conninfo == '\0') {
		fprintf(stderr, "test_gstore_pg: cannot start PostgreSQL\n");
		snprintf(args, sizeof(args), "rm %s", pgdir);
		pgtmp(args);
		return 99;
	}
	rc = tu_run(gstore_pg_suite(), LOG_LVL_INFO);
	snprintf(args, sizeof(args), "rm %s", pgdir);
	pgtmp(args);
	return rc;
}
