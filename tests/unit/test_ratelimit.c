/*
 * Unit tests for ratelimit.c: a key is blocked once it has `limit`
 * failures within its one-minute window and not before, the window ends
 * on time, keys do not affect each other, retry_after counts down; a
 * blocked key stays blocked for its whole window whatever other keys do
 * (the eviction attack of issue 14: keys chosen to collide with the
 * victim's slots, and a flood that fills the whole table), a full table
 * refuses new keys instead of forgetting old ones; token buckets allow
 * their burst and then their rate; IPv6 addresses count per /64. Times
 * are passed explicitly.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "testutil.h"

#define T0	1000.0		/* any monotonic time */
#define SLOTS	4096		/* the size of the old, fixed table */

static struct ratelimit *rl;

static void
setup(void)
{
	rl = ratelimit_new(SLOTS, 60);
	ck_assert_ptr_nonnull(rl);
}

static void
teardown(void)
{
	ratelimit_free(rl);
	rl = NULL;
}

static void
fail_n(const char *key, int n, double now)
{
	int i;

	for (i = 0; i < n; i++)
		ratelimit_fail(rl, key, now);
}

START_TEST(test_new_key_not_blocked)
{
	ck_assert(!ratelimit_blocked(rl, "alice", 5, T0));
	ck_assert(!ratelimit_blocked(rl, "alice", 1, T0));
	ck_assert(!ratelimit_blocked(rl, "", 1, T0));
	ck_assert(ratelimit_retry_after(rl, "alice", T0) == 0);
}
END_TEST

START_TEST(test_blocked_at_limit)
{
	int i;

	for (i = 1; i <= 5; i++) {
		ratelimit_fail(rl, "alice", T0 + i);
		ck_assert_msg(ratelimit_blocked(rl, "alice", 5, T0 + i) == (i >= 5),
		    "after %d failures", i);
	}
	/* More failures keep it blocked. */
	fail_n("alice", 10, T0 + 6);
	ck_assert(ratelimit_blocked(rl, "alice", 5, T0 + 6));
	/* The limit is the caller's: 16 failures are under 100. */
	ck_assert(!ratelimit_blocked(rl, "alice", 100, T0 + 6));
	ck_assert(ratelimit_blocked(rl, "alice", 15, T0 + 6));
	/* A limit of one blocks at the first failure. */
	ratelimit_fail(rl, "bob", T0);
	ck_assert(ratelimit_blocked(rl, "bob", 1, T0));
	ck_assert(!ratelimit_blocked(rl, "bob", 2, T0));
}
END_TEST

START_TEST(test_window_expiry)
{
	fail_n("alice", 5, T0);
	ck_assert(ratelimit_blocked(rl, "alice", 5, T0));
	ck_assert(ratelimit_blocked(rl, "alice", 5, T0 + 30));
	ck_assert(ratelimit_blocked(rl, "alice", 5, T0 + 59.9));
	ck_assert(!ratelimit_blocked(rl, "alice", 5, T0 + 60.1));
	ck_assert(ratelimit_retry_after(rl, "alice", T0 + 60.1) == 0);
	/* A failure after the window starts a new count at one. */
	ratelimit_fail(rl, "alice", T0 + 60.1);
	ck_assert(!ratelimit_blocked(rl, "alice", 5, T0 + 60.1));
	ck_assert(ratelimit_blocked(rl, "alice", 1, T0 + 60.1));
	fail_n("alice", 4, T0 + 70);
	ck_assert(ratelimit_blocked(rl, "alice", 5, T0 + 70));
	ck_assert(ratelimit_blocked(rl, "alice", 5, T0 + 120.0));
	ck_assert(!ratelimit_blocked(rl, "alice", 5, T0 + 120.2));
}
END_TEST

/* An attempt counted when it starts and refunded when it succeeds. */
START_TEST(test_forgive)
{
	fail_n("alice", 5, T0);
	ck_assert(ratelimit_blocked(rl, "alice", 5, T0 + 1));
	ratelimit_forgive(rl, "alice", T0 + 1);
	ck_assert(!ratelimit_blocked(rl, "alice", 5, T0 + 1));
	ck_assert(ratelimit_blocked(rl, "alice", 4, T0 + 1));
	/* Not below zero, and nothing for an unknown or expired key. */
	fail_n("bob", 1, T0);
	ratelimit_forgive(rl, "bob", T0);
	ratelimit_forgive(rl, "bob", T0);
	ratelimit_fail(rl, "bob", T0);
	ck_assert(ratelimit_blocked(rl, "bob", 1, T0));
	ratelimit_forgive(rl, "carol", T0);
	ck_assert(!ratelimit_blocked(rl, "carol", 1, T0));
	ratelimit_forgive(rl, "alice", T0 + 61);
	ck_assert(!ratelimit_blocked(rl, "alice", 1, T0 + 61));
}
END_TEST

/* Attempts that all succeed hold no slot: far more than the table holds. */
START_TEST(test_forgiven_frees_slot)
{
	char key[32];
	int i;

	for (i = 0; i < 8 * SLOTS; i++) {
		snprintf(key, sizeof(key), "user%d", i);
		ck_assert(!ratelimit_blocked(rl, key, 5, T0));
		ck_assert(ratelimit_fail(rl, key, T0));
		ratelimit_forgive(rl, key, T0);
	}
	ck_assert(!ratelimit_blocked(rl, "late", 1, T0));
	ck_assert(ratelimit_fail(rl, "late", T0));
	ck_assert(ratelimit_blocked(rl, "late", 1, T0));
	/* A key with a failure left keeps it. */
	fail_n("two", 2, T0);
	ratelimit_forgive(rl, "two", T0);
	ck_assert(ratelimit_blocked(rl, "two", 1, T0 + 30));
}
END_TEST

START_TEST(test_failures_spread_in_window)
{
	/* Failures anywhere inside one window add up. */
	ratelimit_fail(rl, "alice", T0);
	ratelimit_fail(rl, "alice", T0 + 20);
	ratelimit_fail(rl, "alice", T0 + 40);
	ratelimit_fail(rl, "alice", T0 + 59);
	ck_assert(!ratelimit_blocked(rl, "alice", 5, T0 + 59));
	ratelimit_fail(rl, "alice", T0 + 59.5);
	ck_assert(ratelimit_blocked(rl, "alice", 5, T0 + 59.5));
	/* Failures spread over more than a window do not. */
	ratelimit_fail(rl, "bob", T0);
	ratelimit_fail(rl, "bob", T0 + 61);
	ratelimit_fail(rl, "bob", T0 + 122);
	ck_assert(!ratelimit_blocked(rl, "bob", 2, T0 + 122));
}
END_TEST

START_TEST(test_keys_independent)
{
	fail_n("alice", 5, T0);
	ck_assert(ratelimit_blocked(rl, "alice", 5, T0));
	ck_assert(!ratelimit_blocked(rl, "bob", 5, T0));
	ck_assert(!ratelimit_blocked(rl, "alice2", 5, T0));
	ck_assert(!ratelimit_blocked(rl, "alic", 5, T0));
	ck_assert(!ratelimit_blocked(rl, "Alice", 5, T0));
	ck_assert(!ratelimit_blocked(rl, "198.18.0.5", 5, T0));
	ck_assert(ratelimit_retry_after(rl, "bob", T0) == 0);
	fail_n("bob", 4, T0 + 1);
	ck_assert(!ratelimit_blocked(rl, "bob", 5, T0 + 1));
	ck_assert(ratelimit_blocked(rl, "alice", 5, T0 + 1));
	/* Addresses as keys, v4 and v6. */
	fail_n("198.18.0.5", 5, T0);
	fail_n("2001:db8::1", 2, T0);
	ck_assert(ratelimit_blocked(rl, "198.18.0.5", 5, T0));
	ck_assert(!ratelimit_blocked(rl, "198.18.0.50", 5, T0));
	ck_assert(!ratelimit_blocked(rl, "2001:db8::1", 5, T0));
	/* The two tables of a gestor are independent. */
	{
		struct ratelimit *other = ratelimit_new(SLOTS, 60);

		ck_assert(!ratelimit_blocked(other, "alice", 5, T0));
		ratelimit_free(other);
	}
}
END_TEST

START_TEST(test_retry_after)
{
	double prev, r;
	int i;

	fail_n("alice", 5, T0);
	r = ratelimit_retry_after(rl, "alice", T0);
	ck_assert_msg(r > 59.9 && r <= 60.0, "retry_after %g", r);
	prev = r;
	for (i = 1; i < 60; i++) {
		r = ratelimit_retry_after(rl, "alice", T0 + i);
		ck_assert_msg(r < prev && r > 0, "at +%d: %g after %g", i, r, prev);
		ck_assert_msg(r > 60.0 - i - 0.01 && r < 60.0 - i + 0.01,
		    "at +%d: %g", i, r);
		prev = r;
	}
	r = ratelimit_retry_after(rl, "alice", T0 + 59.9);
	ck_assert_msg(r > 0 && r < 0.2, "at +59.9: %g", r);
	ck_assert(ratelimit_retry_after(rl, "alice", T0 + 60.1) == 0);
	ck_assert(ratelimit_retry_after(rl, "alice", T0 + 1e6) == 0);
	/* Counted from the first failure of the window, not the last. */
	ratelimit_fail(rl, "bob", T0);
	ratelimit_fail(rl, "bob", T0 + 50);
	r = ratelimit_retry_after(rl, "bob", T0 + 50);
	ck_assert_msg(r > 9.9 && r < 10.1, "bob: %g", r);
}
END_TEST

START_TEST(test_flood_bounded)
{
	char key[32];
	int i, n = 100000;
	double r;

	/*
	 * Far more distinct keys than the table holds, all inside one
	 * window: memory stays bounded, every key the table took stays
	 * counted, and a key it had no room for is refused, not let in.
	 */
	fail_n("alice", 5, T0);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ratelimit_fail(rl, key, T0 + 1 + i * 1e-4);
	}
	ck_assert_uint_eq(ratelimit_used(rl, T0 + 11), SLOTS);
	ck_assert(ratelimit_blocked(rl, "alice", 5, T0 + 11));
	for (i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_msg(ratelimit_blocked(rl, key, 1, T0 + 11),
		    "%s (failed early) not blocked after the flood", key);
	}
	ck_assert(ratelimit_blocked(rl, "never", 1, T0 + 11));
	ck_assert(!ratelimit_fail(rl, "never", T0 + 11));
	r = ratelimit_retry_after(rl, "never", T0 + 11);
	ck_assert_msg(r > 0 && r <= 60, "retry_after for a refused key: %g", r);
	/* Once every window has passed the table is reused. */
	fail_n("bob", 3, T0 + 100);
	ck_assert(ratelimit_blocked(rl, "bob", 3, T0 + 100));
	ck_assert(!ratelimit_blocked(rl, "alice", 5, T0 + 100));
	ck_assert(!ratelimit_blocked(rl, "never", 1, T0 + 100));
	snprintf(key, sizeof(key), "k%d", n - 1);
	ck_assert(!ratelimit_blocked(rl, key, 1, T0 + 100));
	ck_assert_uint_eq(ratelimit_used(rl, T0 + 100), 1);
}
END_TEST

/* FNV-1a, the old table's public hash, and its slot in a 4096 table. */
static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

START_TEST(test_eviction_attack_colliding_keys)
{
	char names[16][32], key[32];
	uint32_t victim = fnv1a("victim") % SLOTS;
	int found = 0, i, j;

	/*
	 * Issue 14's attack: the victim is blocked; the attacker finds 16
	 * names whose probe run was the victim's (the old table probed 16
	 * slots from FNV-1a(key) mod 4096), fails each up to the
	 * limit, and so made the victim the oldest entry of a full run,
	 * which the old table evicted. The victim must stay blocked.
	 */
	for (i = 0; found < 16; i++) {
		snprintf(key, sizeof(key), "u%d", i);
		if (fnv1a(key) % SLOTS == victim)
			snprintf(names[found++], sizeof(names[0]), "%s", key);
	}
	fail_n("victim", 5, T0);
	ck_assert(ratelimit_blocked(rl, "victim", 5, T0));
	for (i = 0; i < 16; i++)
		for (j = 0; j < 5; j++)
			ratelimit_fail(rl, names[i], T0 + 1 + i * 0.1);
	ck_assert_msg(ratelimit_blocked(rl, "victim", 5, T0 + 6),
	    "the victim was unblocked by 16 colliding keys");
	ck_assert(ratelimit_blocked(rl, "victim", 5, T0 + 59.9));
	ck_assert(!ratelimit_blocked(rl, "victim", 5, T0 + 60.1));
}
END_TEST

START_TEST(test_full_table_never_forgets)
{
	char key[32];
	int i, j;

	/*
	 * The same attack without knowing the hash: make every slot of the
	 * table hold a key at the limit, each newer than the victim. The
	 * victim stays blocked for its whole window, and so does every key
	 * counted; keys that found no room are refused.
	 */
	fail_n("victim", 5, T0);
	for (i = 0; i < 4 * SLOTS; i++) {
		snprintf(key, sizeof(key), "a%d", i);
		for (j = 0; j < 5; j++)
			ratelimit_fail(rl, key, T0 + 1 + i * 1e-4);
	}
	ck_assert_msg(ratelimit_blocked(rl, "victim", 5, T0 + 10),
	    "the victim was unblocked by a full table");
	ck_assert_uint_eq(ratelimit_used(rl, T0 + 10), SLOTS);
	for (i = 0; i < 4 * SLOTS; i++) {
		snprintf(key, sizeof(key), "a%d", i);
		ck_assert(ratelimit_blocked(rl, key, 5, T0 + 10));
	}
	ck_assert(ratelimit_blocked(rl, "victim", 5, T0 + 59.9));
	ck_assert(ratelimit_retry_after(rl, "victim", T0 + 10) > 49.9);
}
END_TEST

START_TEST(test_buckets)
{
	struct rl_bucket b = { 0, 0 };
	int i;

	/* A burst of 10, then 2 a second. */
	for (i = 0; i < 10; i++)
		ck_assert(ratelimit_take(rl, "alice", 1, 10, 2, T0));
	ck_assert(!ratelimit_take(rl, "alice", 1, 10, 2, T0));
	ck_assert(!ratelimit_take(rl, "alice", 1, 10, 2, T0 + 0.4));
	ck_assert(ratelimit_take(rl, "alice", 1, 10, 2, T0 + 0.6));
	ck_assert(!ratelimit_take(rl, "alice", 1, 10, 2, T0 + 0.6));
	/* Sustained: 2 a second get through, no more. */
	for (i = 0; i < 100; i++) {
		ck_assert(ratelimit_take(rl, "alice", 1, 10, 2, T0 + 1 + i * 0.5));
		ck_assert(!ratelimit_take(rl, "alice", 1, 10, 2,
		    T0 + 1 + i * 0.5));
	}
	/* Others have their own; a cost above the burst never passes. */
	ck_assert(ratelimit_take(rl, "bob", 10, 10, 2, T0));
	ck_assert(!ratelimit_take(rl, "carol", 11, 10, 2, T0));
	ck_assert_uint_eq(ratelimit_used(rl, T0), 2);
	/* A full bucket frees its slot. */
	ck_assert_uint_eq(ratelimit_used(rl, T0 + 1000), 0);
	ck_assert(ratelimit_take(rl, "alice", 10, 10, 2, T0 + 1000));
	/* A connection's own bucket. */
	for (i = 0; i < 5; i++)
		ck_assert(rl_bucket_take(&b, 1, 5, 1, T0));
	ck_assert(!rl_bucket_take(&b, 1, 5, 1, T0));
	ck_assert(rl_bucket_take(&b, 1, 5, 1, T0 + 1.01));
	ck_assert(rl_bucket_take(&b, 5, 5, 1, T0 + 100));
}
END_TEST

START_TEST(test_buckets_full_table)
{
	char key[32];
	int i;

	/* Every slot an active bucket: a newcomer is refused. */
	for (i = 0; i < 4 * SLOTS; i++) {
		snprintf(key, sizeof(key), "s%d", i);
		ratelimit_take(rl, key, 5, 5, 0.01, T0);
	}
	ck_assert_uint_eq(ratelimit_used(rl, T0 + 1), SLOTS);
	ck_assert(!ratelimit_take(rl, "newcomer", 1, 5, 0.01, T0 + 1));
	ck_assert(ratelimit_take(rl, "newcomer", 1, 5, 0.01, T0 + 501));
}
END_TEST

START_TEST(test_addr_key)
{
	char k[80], k2[80];

	ratelimit_addr_key("198.18.0.5", k, sizeof(k));
	ck_assert_str_eq(k, "198.18.0.5");
	ratelimit_addr_key("2001:db8:1:2::1", k, sizeof(k));
	ck_assert_str_eq(k, "2001:db8:1:2::/64");
	ratelimit_addr_key("2001:db8:1:2:ffff:eeee:dddd:cccc", k2, sizeof(k2));
	ck_assert_str_eq(k, k2);
	ratelimit_addr_key("2001:db8:1:3::1", k2, sizeof(k2));
	ck_assert_str_ne(k, k2);
	ratelimit_addr_key("::1", k, sizeof(k));
	ck_assert_str_eq(k, "::/64");
	ratelimit_addr_key("?", k, sizeof(k));
	ck_assert_str_eq(k, "?");
	/* IPv4-mapped: the IPv4 address, not ::/64 shared by all of IPv4. */
	ratelimit_addr_key("::ffff:198.18.0.5", k, sizeof(k));
	ck_assert_str_eq(k, "198.18.0.5");
	ratelimit_addr_key("::ffff:198.18.0.6", k2, sizeof(k2));
	ck_assert_str_ne(k, k2);
	/* A zone does not make each link-local address a key of its own. */
	ratelimit_addr_key("fe80::1%eth0", k, sizeof(k));
	ck_assert_str_eq(k, "fe80::/64");
	ratelimit_addr_key("fe80::2:3:4:5%eth0", k2, sizeof(k2));
	ck_assert_str_eq(k, k2);
}
END_TEST

START_TEST(test_no_eviction_with_room)
{
	char key[32];
	int i;

	/*
	 * While the table has room, other keys failing later do not push a
	 * blocked key out: only a full probe window evicts.
	 */
	fail_n("attacker", 5, T0);
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "other%d", i);
		ratelimit_fail(rl, key, T0 + 1 + i * 1e-3);
	}
	ck_assert(ratelimit_blocked(rl, "attacker", 5, T0 + 2));
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "other%d", i);
		ck_assert_msg(ratelimit_blocked(rl, key, 1, T0 + 2), "%s", key);
		ck_assert(!ratelimit_blocked(rl, key, 2, T0 + 2));
	}
}
END_TEST

START_TEST(test_long_and_odd_keys)
{
	char longkey[300];

	memset(longkey, 'x', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	fail_n(longkey, 3, T0);
	ck_assert(ratelimit_blocked(rl, longkey, 3, T0));
	ck_assert(!ratelimit_blocked(rl, "x", 1, T0));
	fail_n("", 2, T0);
	ck_assert(ratelimit_blocked(rl, "", 2, T0));
	fail_n("k\xff\xfe", 1, T0);
	ck_assert(ratelimit_blocked(rl, "k\xff\xfe", 1, T0));
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_key_not_blocked);
	tcase_add_test(tc, test_blocked_at_limit);
	tcase_add_test(tc, test_window_expiry);
	tcase_add_test(tc, test_forgive);
	tcase_add_test(tc, test_forgiven_frees_slot);
	tcase_add_test(tc, test_failures_spread_in_window);
	tcase_add_test(tc, test_keys_independent);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_flood_bounded);
	tcase_add_test(tc, test_eviction_attack_colliding_keys);
	tcase_add_test(tc, test_full_table_never_forgets);
	tcase_add_test(tc, test_buckets);
	tcase_add_test(tc, test_buckets_full_table);
	tcase_add_test(tc, test_addr_key);
	tcase_add_test(tc, test_no_eviction_with_room);
	tcase_add_test(tc, test_long_and_odd_keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(ratelimit_suite(), LOG_LVL_INFO);
}
