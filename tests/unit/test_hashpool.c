/*
 * Unit tests for hashpool.c: hashing and verifying on the worker thread,
 * callbacks on the loop, cancellation.
 */
#include <stdbool.h>
#include <string.h>

#include <check.h>
#include <event2/event.h>

#include "hashpool.h"
#include "testutil.h"

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
	hashpool_hash(hp, "127.0.0.1", "correct horse", 13, on_result, &h);
	run_until_called(base, &h);
	ck_assert_int_eq(h.calls, 1);
	ck_assert(h.ok);
	ck_assert_int_eq(strncmp(h.hash, "$y$", 3), 0);
	hashpool_verify(hp, "127.0.0.1", "correct horse", 13,
	    h.hash, on_result, &good);
	run_until_called(base, &good);
	ck_assert(good.ok);
	hashpool_verify(hp, "127.0.0.1", "correct horsf", 13,
	    h.hash, on_result, &bad);
	run_until_called(base, &bad);
	ck_assert_int_eq(bad.calls, 1);
	ck_assert(!bad.ok);
	hashpool_verify(hp, "127.0.0.1", "correct horse", 13,
	    NULL, on_result, &dummy);
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
	j = hashpool_hash(hp, "127.0.0.1", "password one", 12,
	    on_result, &gone);
	hashjob_cancel(j);
	/* Jobs run in order: once the second is back, the first is done. */
	hashpool_hash(hp, "127.0.0.1", "password two", 12, on_result, &after);
	run_until_called(base, &after);
	ck_assert_int_eq(after.calls, 1);
	ck_assert_int_eq(gone.calls, 0);
	hashpool_free(hp);
	event_base_free(base);
}
END_TEST

/* Completion order across jobs, for the fairness test. */
static int finished;

struct ordered {
	int	 order;		/* 1 = finished first; 0 = not yet */
	struct event_base *base;
	int	*left;
};

static void
on_ordered(bool ok, const char *hash, void *arg)
{
	struct ordered *o = arg;

	(void)ok;
	(void)hash;
	o->order = ++finished;
	if (--*o->left == 0)
		event_base_loopbreak(o->base);
}

static void
run_until_none_left(struct event_base *base, const int *left)
{
	struct timeval tv = { 30, 0 };

	event_base_loopexit(base, &tv);
	while (*left > 0 && !event_base_got_exit(base))
		event_base_loop(base, EVLOOP_ONCE);
}

/*
 * One source queues as many jobs as it may, then another source one: the
 * second waits for at most the job running and one more, not for the
 * whole queue (FIFO made it the ninth).
 */
START_TEST(sources_take_turns)
{
	struct event_base *base = event_base_new();
	struct ordered a[HASHPOOL_MAX_PER_SOURCE], b = { 0 };
	struct hashpool *hp;
	char *cause = NULL;
	int i, left = HASHPOOL_MAX_PER_SOURCE + 1;

	finished = 0;
	hp = hashpool_new(base, &cause);
	ck_assert_ptr_nonnull(hp);
	for (i = 0; i < HASHPOOL_MAX_PER_SOURCE; i++) {
		a[i].order = 0;
		a[i].base = base;
		a[i].left = &left;
		ck_assert_ptr_nonnull(hashpool_verify(hp, "10.0.0.1",
		    "guess-password", 14, NULL, on_ordered, &a[i]));
	}
	b.base = base;
	b.left = &left;
	ck_assert_ptr_nonnull(hashpool_verify(hp, "10.0.0.2", "mine-password",
	    13, NULL, on_ordered, &b));
	run_until_none_left(base, &left);
	ck_assert_int_eq(left, 0);
	ck_assert_int_le(b.order, 3);
	hashpool_free(hp);
	event_base_free(base);
}
END_TEST

/*
 * Four sources have each had a password hashed and queue as many as they
 * may; then a fifth, which has had none, queues one: it goes next (taking
 * turns, it would wait for one of each of the four).
 */
START_TEST(unused_source_goes_first)
{
	static const char *const src[] = { "10.0.1.1", "10.0.1.2", "10.0.1.3",
	    "10.0.1.4" };
	struct event_base *base = event_base_new();
	struct ordered o[4 * HASHPOOL_MAX_PER_SOURCE], b = { 0 };
	struct hashpool *hp;
	char *cause = NULL;
	int i, k, left;

	hp = hashpool_new(base, &cause);
	ck_assert_ptr_nonnull(hp);
	left = 4;
	for (i = 0; i < 4; i++) {
		o[i].base = base;
		o[i].left = &left;
		hashpool_verify(hp, src[i], "guess-password", 14, NULL,
		    on_ordered, &o[i]);
	}
	run_until_none_left(base, &left);
	ck_assert_int_eq(left, 0);
	finished = 0;
	left = 4 * HASHPOOL_MAX_PER_SOURCE + 1;
	for (i = 0; i < 4; i++)
		for (k = 0; k < HASHPOOL_MAX_PER_SOURCE; k++) {
			o[i * HASHPOOL_MAX_PER_SOURCE + k].order = 0;
			o[i * HASHPOOL_MAX_PER_SOURCE + k].base = base;
			o[i * HASHPOOL_MAX_PER_SOURCE + k].left = &left;
			ck_assert_ptr_nonnull(hashpool_verify(hp, src[i],
			    "guess-password", 14, NULL, on_ordered,
			    &o[i * HASHPOOL_MAX_PER_SOURCE + k]));
		}
	b.base = base;
	b.left = &left;
	ck_assert_ptr_nonnull(hashpool_verify(hp, "10.0.0.2", "mine-password",
	    13, NULL, on_ordered, &b));
	run_until_none_left(base, &left);
	ck_assert_int_eq(left, 0);
	ck_assert_int_le(b.order, 2);
	hashpool_free(hp);
	event_base_free(base);
}
END_TEST

/* A source's queue and the whole queue are bounded; others still get in. */
START_TEST(queue_is_bounded_per_source)
{
	struct event_base *base = event_base_new();
	struct hashpool_stats st;
	struct result r = { 0 };
	struct hashpool *hp;
	struct hashjob *j[HASHPOOL_MAX_PER_SOURCE + 2];
	char *cause = NULL;
	int i, n = 0;

	r.base = base;
	hp = hashpool_new(base, &cause);
	ck_assert_ptr_nonnull(hp);
	/* The worker may take the first at once: one more then fits. */
	for (i = 0; i < HASHPOOL_MAX_PER_SOURCE + 2; i++)
		if ((j[i] = hashpool_verify(hp, "10.0.0.1", "guess-password",
		    14, NULL, on_result, &r)) != NULL)
			n++;
	ck_assert_int_ge(n, HASHPOOL_MAX_PER_SOURCE);
	ck_assert_int_le(n, HASHPOOL_MAX_PER_SOURCE + 1);
	ck_assert_ptr_null(j[HASHPOOL_MAX_PER_SOURCE + 1]);
	hashpool_get_stats(hp, &st);
	ck_assert_uint_ge(st.refused, 1);
	ck_assert_ptr_nonnull(hashpool_verify(hp, "10.0.0.2", "mine-password",
	    13, NULL, on_result, &r));
	hashpool_free(hp);
	event_base_free(base);
}
END_TEST

/*
 * Jobs cancelled while they wait (their connection is gone) are dropped
 * unhashed: the job queued after them does not wait for them.
 */
START_TEST(cancelled_jobs_are_dropped)
{
	struct event_base *base = event_base_new();
	struct hashpool_stats st;
	struct result gone = { 0 }, after = { 0 };
	struct hashjob *j[HASHPOOL_MAX_PER_SOURCE];
	struct hashpool *hp;
	char *cause = NULL;
	int i;

	gone.base = after.base = base;
	hp = hashpool_new(base, &cause);
	ck_assert_ptr_nonnull(hp);
	for (i = 0; i < HASHPOOL_MAX_PER_SOURCE; i++)
		j[i] = hashpool_verify(hp, "10.0.0.1", "guess-password", 14,
		    NULL, on_result, &gone);
	for (i = HASHPOOL_MAX_PER_SOURCE - 1; i >= 0; i--)
		if (j[i] != NULL)
			hashjob_cancel(j[i]);
	hashpool_verify(hp, "10.0.0.1", "mine-password", 13, NULL, on_result,
	    &after);
	run_until_called(base, &after);
	ck_assert_int_eq(after.calls, 1);
	ck_assert_int_eq(gone.calls, 0);
	hashpool_get_stats(hp, &st);
	/* The first one or two may have started before the cancels. */
	ck_assert_uint_ge(st.dropped, HASHPOOL_MAX_PER_SOURCE - 2);
	ck_assert_uint_le(st.ran, 3);
	ck_assert_uint_eq(st.queued, 0);
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
		hashpool_hash(hp, "127.0.0.1", "queued password", 15,
		    on_result, &r);
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

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, hash_then_verify);
	tcase_add_test(tc, cancelled_job_is_not_called);
	tcase_add_test(tc, free_with_queued_jobs);
	tcase_add_test(tc, sources_take_turns);
	tcase_add_test(tc, unused_source_goes_first);
	tcase_add_test(tc, queue_is_bounded_per_source);
	tcase_add_test(tc, cancelled_jobs_are_dropped);
	suite_add_tcase(s, tc);
	return tu_run(s, LOG_LVL_INFO);
}
