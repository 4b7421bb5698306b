/*
 * Unit tests for the JSON writer (daemon/core/jsonw.c): every value kind,
 * nesting, escaping of every byte jansson would escape, growth past the
 * inline buffer, and that jansson parses the output back to the value a
 * jansson tree of the same content dumps to.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "jsonw.h"
#include "testutil.h"

/* Parse w's output and check it equals the JSON text expect. */
static void
same_as(const struct jsonw *w, const char *expect)
{
	json_t *a, *b;
	json_error_t err;

	ck_assert_int_eq(jsonw_ok(w), 0);
	a = json_loadb(jsonw_data(w), jsonw_len(w), JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(a != NULL, "output does not parse: %s: %.*s", err.text,
	    (int)jsonw_len(w), jsonw_data(w));
	b = json_loads(expect, 0, &err);
	ck_assert_ptr_nonnull(b);
	ck_assert_msg(json_equal(a, b), "%.*s != %s", (int)jsonw_len(w),
	    jsonw_data(w), expect);
	json_decref(a);
	json_decref(b);
}

START_TEST(test_values)
{
	struct jsonw w;

	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_str(&w, "t", "ok");
	jsonw_int(&w, "n", -9007199254740993LL);
	jsonw_int(&w, "z", 0);
	jsonw_bool(&w, "yes", true);
	jsonw_bool(&w, "no", false);
	jsonw_null(&w, "nothing");
	jsonw_str(&w, "s", NULL);
	jsonw_close(&w);
	ck_assert_uint_eq(jsonw_len(&w), strlen("{\"t\":\"ok\",\"n\":-9007199254740993,"
	    "\"z\":0,\"yes\":true,\"no\":false,\"nothing\":null,\"s\":null}"));
	ck_assert(memcmp(jsonw_data(&w), "{\"t\":\"ok\",\"n\":-9007199254740993,"
	    "\"z\":0,\"yes\":true,\"no\":false,\"nothing\":null,\"s\":null}",
	    jsonw_len(&w)) == 0);
	jsonw_free(&w);
}
END_TEST

START_TEST(test_nesting)
{
	struct jsonw w;

	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_open_array(&w, "a");
	jsonw_int(&w, NULL, 1);
	jsonw_open(&w, NULL);
	jsonw_str(&w, "x", "y");
	jsonw_close(&w);
	jsonw_open_array(&w, NULL);
	jsonw_close_array(&w);
	jsonw_close_array(&w);
	jsonw_open(&w, "o");
	jsonw_close(&w);
	jsonw_close(&w);
	same_as(&w, "{\"a\":[1,{\"x\":\"y\"},[]],\"o\":{}}");
	jsonw_free(&w);
}
END_TEST

/* Every byte value 1..255 in a string round-trips through jansson. */
START_TEST(test_escapes)
{
	struct jsonw w;
	char s[300];
	json_t *v, *expect;
	json_error_t err;
	size_t i, n = 0;

	for (i = 1; i < 0x80; i++)
		s[n++] = (char)i;
	memcpy(s + n, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);	/* é € 😀 */
	n += 9;
	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_strn(&w, "s", s, n);
	jsonw_close(&w);
	ck_assert_int_eq(jsonw_ok(&w), 0);
	v = json_loadb(jsonw_data(&w), jsonw_len(&w), 0, &err);
	ck_assert_msg(v != NULL, "%s", err.text);
	expect = json_stringn(s, n);
	ck_assert(json_equal(json_object_get(v, "s"), expect));
	json_decref(v);
	json_decref(expect);
	jsonw_free(&w);
}
END_TEST

/* Output identical to jansson's JSON_COMPACT for the same object. */
START_TEST(test_like_jansson)
{
	struct jsonw w;
	json_t *o = json_pack("{s:s,s:I,s:b,s:s}", "t", "message", "seq",
	    (json_int_t)42, "ok", 1, "body", "line 1\nline \"2\"\t\\ \x01");
	char *dump = json_dumps(o, JSON_COMPACT);

	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_str(&w, "t", "message");
	jsonw_int(&w, "seq", 42);
	jsonw_bool(&w, "ok", true);
	jsonw_str(&w, "body", "line 1\nline \"2\"\t\\ \x01");
	jsonw_close(&w);
	ck_assert_uint_eq(jsonw_len(&w), strlen(dump));
	ck_assert(memcmp(jsonw_data(&w), dump, strlen(dump)) == 0);
	free(dump);
	json_decref(o);
	jsonw_free(&w);
}
END_TEST

/* Past the inline buffer, and a jansson value spliced in. */
START_TEST(test_growth_and_json)
{
	struct jsonw w;
	char *big = malloc(100001);
	json_t *n = json_pack("{s:[i,s]}", "k", 1, "two"), *o;
	json_t *five = json_integer(5);
	json_error_t err;

	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 100000);
	big[100000] = '\0';
	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_str(&w, "big", big);
	jsonw_json(&w, "n", n);
	jsonw_json(&w, "i", five);
	jsonw_json(&w, "missing", NULL);
	jsonw_close(&w);
	ck_assert_int_eq(jsonw_ok(&w), 0);
	o = json_loadb(jsonw_data(&w), jsonw_len(&w), 0, &err);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "big")), big);
	ck_assert(json_equal(json_object_get(o, "n"), n));
	ck_assert(json_is_null(json_object_get(o, "missing")));
	ck_assert_int_eq(json_integer_value(json_object_get(o, "i")), 5);
	json_decref(o);
	json_decref(five);
	json_decref(n);
	free(big);
	/* reset keeps working */
	jsonw_reset(&w);
	jsonw_open(&w, NULL);
	jsonw_close(&w);
	same_as(&w, "{}");
	jsonw_free(&w);
}
END_TEST

START_TEST(test_malformed)
{
	struct jsonw w;
	int i;

	jsonw_init(&w);
	ck_assert_int_eq(jsonw_ok(&w), -1);		/* empty */
	jsonw_open(&w, NULL);
	ck_assert_int_eq(jsonw_ok(&w), -1);		/* open */
	jsonw_close(&w);
	jsonw_close(&w);
	ck_assert_int_eq(jsonw_ok(&w), -1);		/* one close too many */
	jsonw_reset(&w);
	for (i = 0; i < JSONW_DEPTH + 2; i++)
		jsonw_open_array(&w, NULL);
	ck_assert_int_eq(jsonw_ok(&w), -1);		/* too deep */
	jsonw_free(&w);
}
END_TEST

static Suite *
jsonw_suite(void)
{
	Suite *s = suite_create("jsonw");
	TCase *tc = tcase_create("writer");

	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_nesting);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_like_jansson);
	tcase_add_test(tc, test_growth_and_json);
	tcase_add_test(tc, test_malformed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(jsonw_suite(), LOG_LVL_INFO);
}
