/*
 * Unit tests for ratelimit.c: a key is blocked once it has `limit`
 * failures within its one-minute window and not before, the window ends
 * on time, keys do not affect each other, retry_after counts down, and a
 * flood of distinct keys neither crashes nor unblocks the keys that
 * failed most recently. Times are passed explicitly.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

#define T0	1000.0		/* any monotonic time */

static struct ratelimit *rl;

static void
setup(void)
{
	rl = ratelimit_new();
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
		struct ratelimit *other = ratelimit_new();

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

	/*
	 * Far more distinct keys than the table holds, all inside one
	 * window (the oldest must be evicted, not the newest), then check
	 * that the keys that failed last are still blocked.
	 */
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ratelimit_fail(rl, key, T0 + i * 1e-4);
	}
	for (i = n - 200; i < n; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_msg(ratelimit_blocked(rl, key, 1, T0 + 11),
		    "%s (failed recently) not blocked after the flood", key);
	}
	/* A key that fails after the flood is counted and blocked. */
	fail_n("alice", 5, T0 + 11);
	ck_assert(ratelimit_blocked(rl, "alice", 5, T0 + 11));
	ck_assert(!ratelimit_blocked(rl, "never", 1, T0 + 11));
	/* Once every window has passed the table is reused. */
	fail_n("bob", 3, T0 + 100);
	ck_assert(ratelimit_blocked(rl, "bob", 3, T0 + 100));
	ck_assert(!ratelimit_blocked(rl, "alice", 5, T0 + 100));
	snprintf(key, sizeof(key), "k%d", n - 1);
	ck_assert(!ratelimit_blocked(rl, key, 1, T0 + 100));
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
	tcase_add_test(tc, test_failures_spread_in_window);
	tcase_add_test(tc, test_keys_independent);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_flood_bounded);
	tcase_add_test(tc, test_no_eviction_with_room);
	tcase_add_test(tc, test_long_and_odd_keys);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
