/*
 * Unit tests for the frame codec (daemon/net/frame.c): round trips, partial
 * input, size limits and every kind of malformed payload.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "frame.h"
#include "testutil.h"

#define MAXF	1024

/* A raw frame: header for len bytes of payload p. */
static unsigned char *
raw_frame(const char *p, size_t len, size_t *outlen)
{
	unsigned char *b = malloc(FRAME_HDR + len + 1);

	ck_assert_ptr_nonnull(b);
	b[0] = (len >> 24) & 0xff;
	b[1] = (len >> 16) & 0xff;
	b[2] = (len >> 8) & 0xff;
	b[3] = len & 0xff;
	memcpy(b + FRAME_HDR, p, len);
	*outlen = FRAME_HDR + len;
	return b;
}

/* Decode a raw payload and expect FRAME_BAD with *used covering it. */
static void
expect_bad(const char *p, size_t len)
{
	unsigned char *b;
	json_t *obj;
	size_t blen, used;
	char err[128] = "";

	b = raw_frame(p, len, &blen);
	ck_assert_int_eq(frame_decode(b, blen, MAXF, &obj, &used, err,
	    sizeof(err)), FRAME_BAD);
	ck_assert_ptr_null(obj);
	ck_assert_uint_eq(used, blen);
	ck_assert_str_ne(err, "");
	free(b);
}

START_TEST(test_round_trip)
{
	json_t *in, *out;
	unsigned char *b;
	size_t len, used;

	in = json_pack("{s:s, s:i, s:s}", "t", "msg", "n", 42, "body",
	    "h\xc3\xa9llo \"quoted\"\n");
	b = frame_encode(in, MAXF, &len);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(len, FRAME_HDR + ((size_t)b[2] << 8 | b[3]));
	ck_assert_int_eq(b[0], 0);
	ck_assert_int_eq(frame_decode(b, len, MAXF, &out, &used, NULL, 0),
	    FRAME_OK);
	ck_assert_uint_eq(used, len);
	ck_assert(json_equal(in, out));
	json_decref(in);
	json_decref(out);
	free(b);
}
END_TEST

START_TEST(test_compact)
{
	json_t *in = json_pack("{s:s, s:[i,i]}", "t", "x", "a", 1, 2);
	unsigned char *b;
	size_t len;

	b = frame_encode(in, MAXF, &len);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(len - FRAME_HDR, strlen("{\"t\":\"x\",\"a\":[1,2]}"));
	ck_assert(memcmp(b + FRAME_HDR, "{\"t\":\"x\",\"a\":[1,2]}",
	    len - FRAME_HDR) == 0);
	json_decref(in);
	free(b);
}
END_TEST

START_TEST(test_partial)
{
	json_t *in, *out;
	unsigned char *b;
	size_t len, used, i;

	in = json_pack("{s:s, s:s}", "t", "ack", "id", "0123456789abcdef");
	b = frame_encode(in, MAXF, &len);
	ck_assert_ptr_nonnull(b);
	for (i = 0; i < len; i++) {
		ck_assert_int_eq(frame_decode(b, i, MAXF, &out, &used, NULL,
		    0), FRAME_NEED_MORE);
		ck_assert_ptr_null(out);
		ck_assert_uint_eq(used, 0);
	}
	ck_assert_int_eq(frame_decode(b, len, MAXF, &out, &used, NULL, 0),
	    FRAME_OK);
	ck_assert(json_equal(in, out));
	json_decref(out);
	json_decref(in);
	free(b);
}
END_TEST

START_TEST(test_back_to_back)
{
	json_t *a, *b, *out;
	unsigned char *ea, *eb, *both;
	size_t la, lb, used;

	a = json_pack("{s:s, s:i}", "t", "one", "n", 1);
	b = json_pack("{s:s, s:i}", "t", "two", "n", 2);
	ea = frame_encode(a, MAXF, &la);
	eb = frame_encode(b, MAXF, &lb);
	both = malloc(la + lb);
	memcpy(both, ea, la);
	memcpy(both + la, eb, lb);

	ck_assert_int_eq(frame_decode(both, la + lb, MAXF, &out, &used, NULL,
	    0), FRAME_OK);
	ck_assert_uint_eq(used, la);
	ck_assert(json_equal(out, a));
	json_decref(out);
	ck_assert_int_eq(frame_decode(both + la, lb, MAXF, &out, &used, NULL,
	    0), FRAME_OK);
	ck_assert_uint_eq(used, lb);
	ck_assert(json_equal(out, b));
	json_decref(out);

	json_decref(a);
	json_decref(b);
	free(ea);
	free(eb);
	free(both);
}
END_TEST

START_TEST(test_too_big)
{
	unsigned char hdr[4] = { 0xff, 0xff, 0xff, 0xff };
	unsigned char small[4] = { 0, 0, 0x04, 0x01 };	/* MAXF + 1 */
	json_t *in, *out;
	size_t used, len;
	char *s;

	/* Only the header is needed to refuse it. */
	ck_assert_int_eq(frame_decode(hdr, 4, MAXF, &out, &used, NULL, 0),
	    FRAME_TOO_BIG);
	ck_assert_int_eq(frame_decode(small, 4, MAXF, &out, &used, NULL, 0),
	    FRAME_TOO_BIG);
	ck_assert_ptr_null(out);

	s = malloc(MAXF + 1);
	memset(s, 'a', MAXF);
	s[MAXF] = '\0';
	in = json_pack("{s:s, s:s}", "t", "msg", "body", s);
	ck_assert_ptr_null(frame_encode(in, MAXF, &len));
	json_decref(in);
	free(s);
}
END_TEST

START_TEST(test_boundary)
{
	json_t *in, *out;
	unsigned char *b;
	size_t len, used, fixed;
	char *s;

	/* {"t":"m","b":"aaa..."} with the payload exactly MAXF bytes. */
	fixed = strlen("{\"t\":\"m\",\"b\":\"\"}");
	s = malloc(MAXF);
	memset(s, 'a', MAXF - fixed);
	s[MAXF - fixed] = '\0';
	in = json_pack("{s:s, s:s}", "t", "m", "b", s);
	b = frame_encode(in, MAXF, &len);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(len, FRAME_HDR + MAXF);
	ck_assert_int_eq(frame_decode(b, len, MAXF, &out, &used, NULL, 0),
	    FRAME_OK);
	ck_assert_uint_eq(used, len);
	json_decref(out);
	/* One byte less of limit: both sides refuse. */
	ck_assert_int_eq(frame_decode(b, len, MAXF - 1, &out, &used, NULL, 0),
	    FRAME_TOO_BIG);
	free(b);
	ck_assert_ptr_null(frame_encode(in, MAXF - 1, &len));
	json_decref(in);
	free(s);
}
END_TEST

START_TEST(test_bad_json)
{
	expect_bad("{\"t\":", 5);
	expect_bad("not json", 8);
	expect_bad("{\"t\":\"a\"} trailing", 18);
	expect_bad("{\"t\":\"a\",\"t\":\"b\"}", 17);	/* duplicate key */
	expect_bad("{\"t\":\"\xff\xfe\"}", 10);		/* bad UTF-8 */
}
END_TEST

START_TEST(test_not_object)
{
	expect_bad("[1,2,3]", 7);
	expect_bad("\"t\"", 3);
	expect_bad("42", 2);
	expect_bad("null", 4);
}
END_TEST

START_TEST(test_missing_t)
{
	json_t *in = json_pack("{s:s}", "type", "msg");
	size_t len;

	expect_bad("{}", 2);
	expect_bad("{\"type\":\"msg\"}", 14);
	ck_assert_ptr_null(frame_encode(in, MAXF, &len));
	json_decref(in);
}
END_TEST

START_TEST(test_t_not_string)
{
	expect_bad("{\"t\":1}", 7);
	expect_bad("{\"t\":null}", 10);
	expect_bad("{\"t\":[\"msg\"]}", 13);
	expect_bad("{\"t\":{}}", 8);
}
END_TEST

START_TEST(test_zero_length)
{
	unsigned char b[8] = { 0, 0, 0, 0, 0, 0, 0, 2 };
	json_t *out;
	size_t used;
	char err[64];

	ck_assert_int_eq(frame_decode(b, sizeof(b), MAXF, &out, &used, err,
	    sizeof(err)), FRAME_BAD);
	ck_assert_uint_eq(used, FRAME_HDR);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
}
END_TEST

START_TEST(test_nul)
{
	/* Escaped NUL in a value and in a key, and a raw NUL byte. */
	expect_bad("{\"t\":\"a\\u0000b\"}", 16);
	expect_bad("{\"t\":\"m\",\"x\\u0000\":1}", 21);
	expect_bad("{\"t\":\"a\0b\"}", 10);
	expect_bad("{\"t\":\"a\"}\0", 10);
}
END_TEST

START_TEST(test_err_optional)
{
	unsigned char b[6] = { 0, 0, 0, 2, '[', ']' };
	json_t *out;
	size_t used;

	/* err may be NULL; a tiny err buffer is truncated, not overrun. */
	ck_assert_int_eq(frame_decode(b, 6, MAXF, &out, &used, NULL, 0),
	    FRAME_BAD);
	{
		char err[4] = "xyz";

		ck_assert_int_eq(frame_decode(b, 6, MAXF, &out, &used, err,
		    1), FRAME_BAD);
		ck_assert_int_eq(err[0], '\0');
		ck_assert_int_eq(err[1], 'y');
	}
}
END_TEST

static Suite *
frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_compact);
	tcase_add_test(tc, test_partial);
	tcase_add_test(tc, test_back_to_back);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_boundary);
	tcase_add_test(tc, test_bad_json);
	tcase_add_test(tc, test_not_object);
	tcase_add_test(tc, test_missing_t);
	tcase_add_test(tc, test_t_not_string);
	tcase_add_test(tc, test_zero_length);
	tcase_add_test(tc, test_nul);
	tcase_add_test(tc, test_err_optional);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(frame_suite(), LOG_LVL_INFO);
}
