/*
 * Unit tests for the hot frames' reader (daemon/net/wire_hot.c): the msg and
 * ack frames this daemon writes (jsonw, as peer_window.c and peer_in.c
 * print them) are read without jansson, to the values wire_parse gives;
 * what jansson refuses, and what the reader cannot be sure of, it
 * declines (the daemon then decodes it with jansson). tests/fuzz/hot_fuzz.c
 * checks the same on arbitrary input.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "ctlsock.h"
#include "jsonw.h"
#include "wire.h"
#include "wire_hot.h"
#include "testutil.h"

#define ID	"0123456789abcdef0123456789abcdef"
#define MAXB	65536

/* Read hot, and compare with jansson + wire_parse. */
static void
expect_same(const char *p, size_t len)
{
	struct wire_hot *h = wire_hot_parse((const unsigned char *)p, len, MAXB);
	json_t *v = json_loadb(p, len, JSON_REJECT_DUPLICATES, NULL);
	struct wire_msg m;
	const char *code;
	char err[256];

	ck_assert_msg(h != NULL, "declined: %.*s", (int)(len > 200 ? 200 : len), p);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(wire_parse(v, &m, MAXB, &code, err, sizeof(err)), 0);
	ck_assert_int_eq(m.type, h->m.type);
	if (m.type == W_ACK)
		ck_assert_str_eq(m.u.ack.id, h->m.u.ack.id);
	else if (m.type == W_ACKS) {
		size_t i;

		ck_assert_uint_eq(m.u.acks.n, h->m.u.acks.n);
		for (i = 0; i < m.u.acks.n; i++)
			ck_assert_str_eq(wire_acks_id(&m.u.acks, i),
			    wire_acks_id(&h->m.u.acks, i));
	} else {
		ck_assert_str_eq(m.u.msg.id, h->m.u.msg.id);
		ck_assert_str_eq(m.u.msg.from, h->m.u.msg.from);
		ck_assert_str_eq(m.u.msg.to, h->m.u.msg.to);
		ck_assert_int_eq(m.u.msg.ts, h->m.u.msg.ts);
		ck_assert_uint_eq(m.u.msg.body_len, h->m.u.msg.body_len);
		ck_assert(memcmp(m.u.msg.body, h->m.u.msg.body,
		    m.u.msg.body_len) == 0);
	}
	free(h);
	json_decref(v);
}

static void
expect_declined(const char *p)
{
	struct wire_hot *h = wire_hot_parse((const unsigned char *)p, strlen(p),
	    MAXB);

	ck_assert_msg(h == NULL, "read hot: %s", p);
}

/* A msg frame as peer_window.c's send_msg prints it. */
static void
check_written(const char *body, size_t len, int64_t ts)
{
	struct jsonw w;

	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_str(&w, "t", "msg");
	jsonw_str(&w, "id", ID);
	jsonw_str(&w, "from", "alice");
	jsonw_str(&w, "to", "bob.b-0_9");
	jsonw_int(&w, "ts", ts);
	jsonw_strn(&w, "body", body, len);
	jsonw_close(&w);
	ck_assert_int_eq(jsonw_ok(&w), 0);
	expect_same(jsonw_data(&w), jsonw_len(&w));
	jsonw_free(&w);
}

START_TEST(test_written_frames)
{
	static const char ctl[] = "tab\there, nl\nthere \x01\x1f\x7f \"q\" \\ /";
	char *big = malloc(MAXB);
	struct jsonw w;

	check_written("hello bob", 9, 1733500000000LL);
	check_written("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x8e\x89", 15, 0);
	check_written(ctl, sizeof(ctl) - 1, 999999999999999999LL);
	memset(big, 'x', MAXB);
	check_written(big, MAXB, 1);
	free(big);
	/* The ack, as peer_in.c prints it. */
	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_str(&w, "t", "ack");
	jsonw_str(&w, "id", ID);
	jsonw_close(&w);
	expect_same(jsonw_data(&w), jsonw_len(&w));
	jsonw_free(&w);
}
END_TEST

/* acks frames as peer_in.c writes them: 1, 2 and WIRE_MAX_ACKS ids. */
START_TEST(test_written_acks)
{
	char f[WIRE_MAX_ACKS * 40 + 64];
	size_t n;
	int i, k;
	static const int counts[] = { 1, 2, WIRE_MAX_ACKS };

	for (k = 0; k < 3; k++) {
		n = (size_t)snprintf(f, sizeof(f), "{\"t\":\"acks\",\"ids\":[");
		for (i = 0; i < counts[k]; i++)
			n += (size_t)snprintf(f + n, sizeof(f) - n, "\"%032x\",",
			    i * 7919);
		memcpy(f + n - 1, "]}", 3);
		expect_same(f, n + 1);
	}
}
END_TEST

START_TEST(test_other_spellings)
{
	/* Whitespace, escapes, members in another order after t, extras. */
	static const char *ok[] = {
		"{\"t\":\"msg\" , \"to\" : \"bob\",\n\"from\":\"alice\",\"id\":\""
		    ID "\",\"ts\":-0,\"body\":\"\\u00e9\\u2713\\/\\b\"} \r\n",
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":5,\"body\":\"x\",\"v\":2,\"note\":\"\"}",
		"{\"t\":\"ack\",\"id\":\"" ID "\",\"extra\":-12}",
		"{\"t\":\"acks\" ,\n\"ids\" : [ \"" ID "\" ,\"" ID "\"\t] }\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		expect_same(ok[i], strlen(ok[i]));
}
END_TEST

START_TEST(test_declined)
{
	static const char *bad[] = {
		/* jansson refuses these */
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":5,\"body\":\"x\",\"body\":\"y\"}",
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":5,\"body\":\"a\\u0000b\"}",
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":5,\"body\":\"\\ud800\"}",
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":5,\"body\":\"\xc0\xaf\"}",
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":5,\"body\":\"\xed\xa0\x80\"}",
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":5,\"body\":\"a\tb\"}",
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":012,\"body\":\"x\"}",
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":5,\"body\":\"x\"}x",
		"{\"t\":\"ack\",\"id\":\"" ID "\",}",
		"{\"t\":\"ack\",\"id\":\"" ID "\"",
		/* jansson takes these; wire_parse refuses them */
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":-5,\"body\":\"x\"}",
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":5,\"body\":\"\"}",
		"{\"t\":\"msg\",\"id\":\"0123456789ABCDEF0123456789abcdef\","
		    "\"from\":\"alice\",\"to\":\"bob\",\"ts\":5,\"body\":\"x\"}",
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"Alice\",\"to\":\"bob\","
		    "\"ts\":5,\"body\":\"x\"}",
		"{\"t\":\"ack\"}",
		/* jansson takes these; the reader is not sure, jansson decides */
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":5.0,\"body\":\"x\"}",
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":1234567890123456789,\"body\":\"x\"}",
		"{\"t\":\"msg\",\"id\":\"" ID "\",\"from\":\"alice\",\"to\":\"bob\","
		    "\"ts\":5,\"body\":\"\\ud83c\\udf89\"}",
		"{\"t\":\"ack\",\"id\":\"" ID "\",\"x\":{\"y\":1}}",
		"{\"t\":\"ack\",\"id\":\"" ID "\",\"x\":true}",
		"{\"t\":\"ack\",\"i\\u0064\":\"" ID "\"}",
		"{\"id\":\"" ID "\",\"t\":\"ack\"}",
		"{\"t\":\"hello\",\"v\":1,\"user\":\"alice\"}",
		/* acks: refused by jansson or wire_parse, or another shape */
		"{\"t\":\"acks\",\"ids\":[]}",
		"{\"t\":\"acks\",\"ids\":[\"" ID "\",]}",
		"{\"t\":\"acks\",\"ids\":[\"" ID "\"]",
		"{\"t\":\"acks\",\"ids\":[\"" ID "\"]}x",
		"{\"t\":\"acks\",\"ids\":[\"" ID "\"],\"ids\":[\"" ID "\"]}",
		"{\"t\":\"acks\",\"ids\":[\"" ID "\"],\"x\":1}",
		"{\"t\":\"acks\",\"ids\":\"" ID "\"}",
		"{\"t\":\"acks\",\"ids\":[\"0123456789ABCDEF0123456789abcdef\"]}",
		"{\"t\":\"acks\",\"ids\":[\"0123456789abcdef0123456789abcde\"]}",
		"{\"t\":\"acks\",\"ids\":[\"\\u0030123456789abcdef0123456789abcdef\"]}",
		"{\"t\":\"acks\",\"ids\":[5]}",
		"{\"ids\":[\"" ID "\"],\"t\":\"acks\"}",
		"{\"t\":\"acks\"}",
		"{\"t\":\"acksx\",\"ids\":[\"" ID "\"]}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_declined(bad[i]);
}
END_TEST

START_TEST(test_body_limit)
{
	struct wire_hot *h;
	char f[256];

	snprintf(f, sizeof(f), "{\"t\":\"msg\",\"id\":\"%s\",\"from\":\"alice\","
	    "\"to\":\"bob\",\"ts\":5,\"body\":\"0123456789\"}", ID);
	ck_assert_ptr_null(wire_hot_parse((const unsigned char *)f, strlen(f), 9));
	h = wire_hot_parse((const unsigned char *)f, strlen(f), 10);
	ck_assert_ptr_nonnull(h);
	free(h);
}
END_TEST

/* A send request as p2pchatctl writes it (ctl/conn.c: json_pack, compact). */
static char *
ctl_line(const char *text, const char *id)
{
	json_t *args = json_pack("{s:s,s:s}", "user", "bob", "text", text);
	json_t *req;
	char *line;

	if (id != NULL)
		json_object_set_new(args, "id", json_string(id));
	req = json_pack("{s:I,s:s,s:o}", "id", (json_int_t)42, "cmd", "send",
	    "args", args);
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	return line;
}

START_TEST(test_ctl_send)
{
	static const char text[] = "h\xc3\xa9llo\n\ttab \x01 \"q\" \\";
	struct ctl_hot_send *h;
	char *line = ctl_line(text, ID);
	static const char *bad[] = {
		"{\"id\":1,\"cmd\":\"send\",\"args\":{\"user\":\"bob\","
		    "\"text\":\"x\",\"ttl\":60.0}}",
		"{\"id\":1,\"cmd\":\"send\",\"args\":{\"user\":\"bob\","
		    "\"text\":\"x\",\"wait\":3}}",
		"{\"id\":1,\"cmd\":\"send\",\"args\":{\"group\":\"crew\","
		    "\"text\":\"x\"}}",
		"{\"id\":1,\"cmd\":\"send\",\"args\":{\"user\":\"bob\","
		    "\"text\":\"\"}}",
		"{\"id\":1,\"cmd\":\"send\",\"args\":{\"user\":\"bob\","
		    "\"text\":\"x\",\"text\":\"y\"}}",
		"{\"id\":1,\"cmd\":\"sendx\",\"args\":{\"user\":\"bob\","
		    "\"text\":\"x\"}}",
		"{\"id\":1,\"cmd\":\"send\",\"args\":{\"user\":\"bob\","
		    "\"text\":\"x\"},\"more\":1}",
	};
	size_t i;

	h = ctl_hot_send_parse(line, strlen(line), MAXB);
	ck_assert_msg(h != NULL, "declined: %s", line);
	ck_assert_int_eq(h->reqid, 42);
	ck_assert_str_eq(h->user, "bob");
	ck_assert_uint_eq(h->text_len, strlen(text));
	ck_assert_str_eq(h->text, text);
	ck_assert_str_eq(h->id, ID);
	ck_assert(!h->has_ttl);
	free(h);
	free(line);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ctl_hot_send_parse(bad[i], strlen(bad[i]), MAXB) ==
		    NULL, "read hot: %s", bad[i]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("wire_hot");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_written_frames);
	tcase_add_test(tc, test_written_acks);
	tcase_add_test(tc, test_other_spellings);
	tcase_add_test(tc, test_declined);
	tcase_add_test(tc, test_body_limit);
	tcase_add_test(tc, test_ctl_send);
	suite_add_tcase(s, tc);
	return tu_run(s, LOG_LVL_INFO);
}
