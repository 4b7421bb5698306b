/*
 * Unit tests for hashpool.c: hashing and verifying on the worker thread,
 * callbacks on the loop, cancellation.
 */
#include <stdbool.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>

#include "hashpool.h"

struct result {
	int	 calls;
	bool	 ok;
	char	 hash[256];
	struct event_base *base;
};

static void
on_result(bool ok, const char *hash, void *arg)
{
	struct result *r = arg;

	r->calls++;
	r->ok = ok;
	if (hash != NULL)
		strncpy(r->hash, hash, sizeof(r->hash) - 1);
	event_base_loopbreak(r->base);
}

/* Run the loop until r has been called, with a 10 s safety bound. */
static void
run_until_called(struct event_base *base, struct result *r)
{
	struct timeval tv = { 10, 0 };

	event_base_loopexit(base, &tv);
	while (r->calls == 0 && !event_base_got_exit(base))
		event_base_loop(base, EVLOOP_ONCE);
}

START_TEST(hash_then_verify)
{
	struct event_base *base = event_base_new();
	struct hashpool *hp;
	struct result h = { 0 }, good = { 0 }, bad = { 0 }, dummy = { 0 };
	char *cause = NULL;

	h.base = good.base = bad.base = dummy.base = base;
	hp = hashpool_new(base, &cause);
	ck_assert_ptr_nonnull(hp);
	hashpool_hash(hp, "correct horse", 13, on_result, &h);
	run_until_called(base, &h);
	ck_assert_int_eq(h.calls, 1);
	ck_assert(h.ok);
	ck_assert_int_eq(strncmp(h.hash, "$y$", 3), 0);
	hashpool_verify(hp, "correct horse", 13, h.hash, on_result, &good);
	run_until_called(base, &good);
	ck_assert(good.ok);
	hashpool_verify(hp, "correct horsf", 13, h.hash, on_result, &bad);
	run_until_called(base, &bad);
	ck_assert_int_eq(bad.calls, 1);
	ck_assert(!bad.ok);
	hashpool_verify(hp, "correct horse", 13, NULL, on_result, &dummy);
	run_until_called(base, &dummy);
	ck_assert_int_eq(dummy.calls, 1);
	ck_assert(!dummy.ok);
	hashpool_free(hp);
	event_base_free(base);
}
END_TEST

START_TEST(cancelled_job_is_not_called)
{
	struct event_base *base = event_base_new();
	struct hashpool *hp;
	struct result gone = { 0 }, after = { 0 };
	struct hashjob *j;
	char *cause = NULL;

	gone.base = after.base = base;
	hp = hashpool_new(base, &cause);
	ck_assert_ptr_nonnull(hp);
	j = hashpool_hash(hp, "password one", 12, on_result, &gone);
	hashjob_cancel(j);
	/* Jobs run in order: once the second is back, the first is done. */
	hashpool_hash(hp, "password two", 12, on_result, &after);
	run_until_called(base, &after);
	ck_assert_int_eq(after.calls, 1);
	ck_assert_int_eq(gone.calls, 0);
	hashpool_free(hp);
	event_base_free(base);
}
END_TEST

START_TEST(free_with_queued_jobs)
{
	struct event_base *base = event_base_new();
	struct result r = { 0 };
	struct hashpool *hp;
	char *cause = NULL;
	int i;

	r.base = base;
	hp = hashpool_new(base, &cause);
	ck_assert_ptr_nonnull(hp);
	for (i = 0; i < 5; i++)
		hashpool_hash(hp, "queued password", 15, on_result, &r);
	hashpool_free(hp);	/* must not hang, leak or call back */
	ck_assert_int_eq(r.calls, 0);
	event_base_free(base);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("hashpool");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, hash_then_verify);
	tcase_add_test(tc, cancelled_job_is_not_called);
	tcase_add_test(tc, free_with_queued_jobs);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
