/*
 * Unit test for the peer's classification of the gestor's answers to a
 * resume (auth): which end the account session (pgestor_permanent) and
 * which keep it and retry (docs/SESSIONS.md). The behaviour is tested
 * end to end in session_errors.sh and pg/resume_db_down.sh.
 */
#include <check.h>
#include <stdlib.h>

#include "peer_gestor.h"
#include "proto.h"
#include "testutil.h"

START_TEST(test_permanent)
{
	/* About the account itself: the session ends. */
	ck_assert(pgestor_permanent(ERR_KEY_MISMATCH));
	ck_assert(pgestor_permanent(ERR_NO_SUCH_USER));
	ck_assert(pgestor_permanent(ERR_BAD_CREDENTIALS));
}
END_TEST

START_TEST(test_transient)
{
	/* About the gestor's state, or not meant for auth: kept, retried. */
	static const char *const codes[] = { ERR_UNAVAILABLE, ERR_RATE_LIMITED,
	    ERR_INTERNAL, ERR_BUSY, ERR_TIMEOUT, ERR_GESTOR_UNAVAILABLE,
	    ERR_BAD_REQUEST, ERR_BAD_FRAME, ERR_UNKNOWN_TYPE,
	    ERR_NOT_AUTHENTICATED, ERR_UNSUPPORTED, ERR_INVALID_ARGUMENT,
	    ERR_KEY_TAKEN, ERR_QUOTA_EXCEEDED, "session_replaced",
	    "a_code_from_a_newer_gestor", "" };
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		ck_assert_msg(!pgestor_permanent(codes[i]), "%s ends the session",
		    codes[i]);
	ck_assert(!pgestor_permanent(NULL));
}
END_TEST

static Suite *
peer_gestor_suite(void)
{
	Suite *s = suite_create("peer_gestor");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_permanent);
	tcase_add_test(tc, test_transient);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(peer_gestor_suite(), LOG_LVL_INFO);
}
