/*
 * Unit tests for valid.c: usernames, passwords, UTF-8, message bodies,
 * message ids and fingerprints, at their boundaries and against every
 * class of byte they must refuse; and util_utf8_trim, which keeps text
 * cut by snprintf valid UTF-8.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "util.h"
#include "valid.h"
#include "testutil.h"

#define HEX64	"0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef"

/* A string of n copies of c, in a static buffer. */
static const char *
rep(char c, size_t n)
{
	static char buf[2048];

	ck_assert_uint_lt(n, sizeof(buf));
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* valid_utf8 over a byte string given with its length. */
#define U8(lit)		valid_utf8((lit), sizeof(lit) - 1)

START_TEST(test_username_length)
{
	ck_assert(valid_username("a"));
	ck_assert(valid_username("0"));
	ck_assert(valid_username(rep('a', 2)));
	ck_assert(valid_username(rep('a', 31)));
	ck_assert(valid_username(rep('a', P2P_USERNAME_MAX)));
	ck_assert(!valid_username(rep('a', P2P_USERNAME_MAX + 1)));
	ck_assert(!valid_username(rep('a', 100)));
	ck_assert(!valid_username(""));
	ck_assert(!valid_username(NULL));
}
END_TEST

START_TEST(test_username_first_char)
{
	ck_assert(valid_username("alice"));
	ck_assert(valid_username("9lives"));
	ck_assert(valid_username("z"));
	ck_assert(!valid_username(".alice"));
	ck_assert(!valid_username("_alice"));
	ck_assert(!valid_username("-alice"));
	ck_assert(!valid_username("."));
	ck_assert(!valid_username("-"));
	ck_assert(!valid_username("_"));
	ck_assert(!valid_username("Alice"));
	ck_assert(!valid_username(" alice"));
}
END_TEST

START_TEST(test_username_chars)
{
	char name[4];
	int c;

	/* Every byte value in the second position: only the allowed set passes. */
	for (c = 1; c < 256; c++) {
		bool want = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-';

		name[0] = 'a';
		name[1] = (char)c;
		name[2] = 'b';
		name[3] = '\0';
		ck_assert_msg(valid_username(name) == want,
		    "byte 0x%02x in a username: expected %s", c,
		    want ? "ok" : "refused");
	}
	/* ...and in the first position only [a-z0-9]. */
	for (c = 1; c < 256; c++) {
		bool want = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		name[0] = (char)c;
		name[1] = 'x';
		name[2] = '\0';
		ck_assert_msg(valid_username(name) == want,
		    "first byte 0x%02x: expected %s", c, want ? "ok" : "refused");
	}
	ck_assert(valid_username("a.b_c-d"));
	ck_assert(valid_username("a..."));
	ck_assert(valid_username("a-"));
	ck_assert(!valid_username("alicE"));
	ck_assert(!valid_username("ALICE"));
	ck_assert(!valid_username("al ice"));
	ck_assert(!valid_username("al/ice"));
	ck_assert(!valid_username("al@ice"));
	ck_assert(!valid_username("al\tice"));
	ck_assert(!valid_username("al\nice"));
	ck_assert(!valid_username("jos\xc3\xa9"));	/* é */
}
END_TEST

START_TEST(test_password)
{
	char buf[P2P_PASSWORD_MAX + 2];

	memset(buf, 'p', sizeof(buf));
	ck_assert(!valid_password(buf, 0));
	ck_assert(!valid_password(buf, 1));
	ck_assert(!valid_password(buf, P2P_PASSWORD_MIN - 1));
	ck_assert(valid_password(buf, P2P_PASSWORD_MIN));
	ck_assert(valid_password(buf, 100));
	ck_assert(valid_password(buf, P2P_PASSWORD_MAX));
	ck_assert(!valid_password(buf, P2P_PASSWORD_MAX + 1));
	ck_assert(!valid_password(NULL, 10));
	/* Any byte but NUL is fine, including non-UTF-8. */
	ck_assert(valid_password("\xff\xfe\x01 \t\n\x80\xc0", 8));
	/* An embedded NUL anywhere in the length is refused. */
	ck_assert(!valid_password("passw\0rd", 8));
	ck_assert(!valid_password("\0password", 9));
	ck_assert(!valid_password("password\0", 9));
	/* The length given is what counts, not strlen. */
	ck_assert(valid_password("password and more", 8));
	ck_assert(!valid_password("password", 7));
}
END_TEST

START_TEST(test_utf8_valid)
{
	ck_assert(valid_utf8("", 0));
	ck_assert(U8("hello, world"));
	ck_assert(U8("\x01\x7f"));
	ck_assert(U8("caf\xc3\xa9"));		/* é, 2 bytes */
	ck_assert(U8("\xc2\x80"));		/* U+0080, smallest 2-byte */
	ck_assert(U8("\xdf\xbf"));		/* U+07FF */
	ck_assert(U8("\xe0\xa0\x80"));		/* U+0800, smallest 3-byte */
	ck_assert(U8("\xe2\x82\xac"));		/* euro sign */
	ck_assert(U8("\xed\x9f\xbf"));		/* U+D7FF, below surrogates */
	ck_assert(U8("\xee\x80\x80"));		/* U+E000, above surrogates */
	ck_assert(U8("\xef\xbf\xbf"));		/* U+FFFF */
	ck_assert(U8("\xf0\x90\x80\x80"));	/* U+10000, smallest 4-byte */
	ck_assert(U8("\xf0\x9f\x98\x80"));	/* grinning face emoji */
	ck_assert(U8("\xf4\x8f\xbf\xbf"));	/* U+10FFFF, the last */
	ck_assert(U8("a\xf0\x9f\x91\x8d b\xe6\x97\xa5\xe6\x9c\xac c"));
	/* The length bounds the check: bytes after it are not read. */
	ck_assert(valid_utf8("ok\xff", 2));
	ck_assert(valid_utf8("\xc3\xa9\xc3", 2));
}
END_TEST

START_TEST(test_utf8_overlong)
{
	ck_assert(!U8("\xc0\x80"));		/* NUL, 2 bytes */
	ck_assert(!U8("\xc0\xaf"));		/* '/' */
	ck_assert(!U8("\xc1\xbf"));
	ck_assert(!U8("\xe0\x80\x80"));
	ck_assert(!U8("\xe0\x80\xaf"));
	ck_assert(!U8("\xe0\x9f\xbf"));		/* U+07FF in 3 bytes */
	ck_assert(!U8("\xf0\x80\x80\x80"));
	ck_assert(!U8("\xf0\x80\x80\xaf"));
	ck_assert(!U8("\xf0\x8f\xbf\xbf"));	/* U+FFFF in 4 bytes */
	ck_assert(!U8("\xf8\x88\x80\x80\x80"));	/* 5-byte forms */
	ck_assert(!U8("\xfc\x84\x80\x80\x80\x80"));
}
END_TEST

START_TEST(test_utf8_surrogates_and_range)
{
	ck_assert(!U8("\xed\xa0\x80"));		/* U+D800 */
	ck_assert(!U8("\xed\xad\xbf"));		/* U+DB7F */
	ck_assert(!U8("\xed\xb0\x80"));		/* U+DC00 */
	ck_assert(!U8("\xed\xbf\xbf"));		/* U+DFFF */
	ck_assert(!U8("\xed\xa0\xbd\xed\xb8\x80"));	/* CESU-8 pair */
	ck_assert(!U8("\xf4\x90\x80\x80"));	/* U+110000 */
	ck_assert(!U8("\xf4\xbf\xbf\xbf"));
	ck_assert(!U8("\xf5\x80\x80\x80"));
	ck_assert(!U8("\xf7\xbf\xbf\xbf"));
	ck_assert(!U8("\xfe"));
	ck_assert(!U8("\xff"));
	ck_assert(!U8("abc\xff" "def"));
}
END_TEST

START_TEST(test_utf8_truncated)
{
	ck_assert(!U8("\xc3"));
	ck_assert(!U8("caf\xc3"));
	ck_assert(!U8("\xe2\x82"));
	ck_assert(!U8("\xe2"));
	ck_assert(!U8("\xf0\x9f\x98"));
	ck_assert(!U8("\xf0\x9f"));
	ck_assert(!U8("\xf0"));
	/* A short sequence followed by an ASCII byte. */
	ck_assert(!U8("\xc3" "a"));
	ck_assert(!U8("\xe2\x82" "a"));
	ck_assert(!U8("\xf0\x9f\x98" "a"));
	/* A full sequence cut by the length given. */
	ck_assert(!valid_utf8("\xf0\x9f\x98\x80", 3));
	ck_assert(!valid_utf8("\xe2\x82\xac", 1));
}
END_TEST

START_TEST(test_utf8_stray_and_nul)
{
	ck_assert(!U8("\x80"));
	ck_assert(!U8("\xbf"));
	ck_assert(!U8("a\x80" "b"));
	ck_assert(!U8("\xc3\xa9\xa9"));		/* one continuation too many */
	ck_assert(!U8("\xf0\x9f\x98\x80\x80"));
	ck_assert(!U8("\0"));
	ck_assert(!U8("abc\0def"));
	ck_assert(!U8("abc\0"));
	ck_assert(!valid_utf8(NULL, 0));
	ck_assert(!valid_utf8(NULL, 5));
}
END_TEST

START_TEST(test_body)
{
	char big[70000];

	memset(big, 'x', sizeof(big));
	ck_assert(!valid_body("", 0, 100));
	ck_assert(!valid_body("x", 0, 100));
	ck_assert(valid_body("x", 1, 100));
	ck_assert(valid_body(big, 100, 100));
	ck_assert(!valid_body(big, 101, 100));
	ck_assert(valid_body(big, 65536, 65536));
	ck_assert(!valid_body(big, 65537, 65536));
	ck_assert(valid_body("tab\there\nnew line \\ back",
	    sizeof("tab\there\nnew line \\ back") - 1, 100));
	ck_assert(valid_body("\xf0\x9f\x98\x80", 4, 4));
	ck_assert(!valid_body("\xf0\x9f\x98\x80", 4, 3));
	ck_assert(!valid_body("bad\xff", 4, 100));
	ck_assert(!valid_body("nul\0x", 5, 100));
	ck_assert(!valid_body("\xed\xa0\x80", 3, 100));
	ck_assert(!valid_body(NULL, 0, 100));
	ck_assert(!valid_body(NULL, 5, 100));
	ck_assert(!valid_body("x", 1, 0));
}
END_TEST

START_TEST(test_msgid)
{
	char id[40];
	int c;

	ck_assert(valid_msgid("0123456789abcdef0123456789abcdef"));
	ck_assert(valid_msgid(rep('0', 32)));
	ck_assert(valid_msgid(rep('f', 32)));
	ck_assert(!valid_msgid(rep('a', 31)));
	ck_assert(!valid_msgid(rep('a', 33)));
	ck_assert(!valid_msgid(rep('a', 64)));
	ck_assert(!valid_msgid("0123456789ABCDEF0123456789abcdef"));
	ck_assert(!valid_msgid("0123456789abcdef0123456789abcdeF"));
	ck_assert(!valid_msgid("0123456789abcdef0123456789abcdeg"));
	ck_assert(!valid_msgid("0123456789abcdef 123456789abcdef"));
	ck_assert(!valid_msgid(""));
	ck_assert(!valid_msgid(NULL));
	/* Every non-hex byte, in the middle of an otherwise good id. */
	for (c = 1; c < 256; c++) {
		bool want = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');

		memcpy(id, rep('a', 32), 33);
		id[16] = (char)c;
		ck_assert_msg(valid_msgid(id) == want, "byte 0x%02x in an id", c);
	}
}
END_TEST

/* Bytes as lowercase hex (signatures, keys): even, 2..max digits. */
START_TEST(test_hex_bytes)
{
	ck_assert(valid_hex_bytes("00", 2));
	ck_assert(valid_hex_bytes("0123456789abcdef", 16));
	ck_assert(valid_hex_bytes("ab", 128));
	ck_assert(!valid_hex_bytes("0123456789abcdef", 15));
	ck_assert(!valid_hex_bytes("abc", 128));
	ck_assert(!valid_hex_bytes("", 128));
	ck_assert(!valid_hex_bytes(NULL, 128));
	ck_assert(!valid_hex_bytes("AB", 128));
	ck_assert(!valid_hex_bytes("a g", 128));
	ck_assert(!valid_hex_bytes("ag", 128));
	ck_assert(!valid_hex_bytes(rep('a', 130), 128));
	ck_assert(valid_hex_bytes(rep('a', 128), 128));
}
END_TEST

START_TEST(test_hex)
{
	const unsigned char b[] = { 0x00, 0x9f, 0xa0, 0xff };
	unsigned char back[4];
	char hex[9];

	util_hex(b, sizeof(b), hex);
	ck_assert_str_eq(hex, "009fa0ff");
	ck_assert_int_eq(util_unhex(hex, back, sizeof(back)), 0);
	ck_assert_mem_eq(back, b, sizeof(b));
	/* Lowercase only, stops at the first digit that is not one. */
	ck_assert_int_eq(util_unhex("009FA0ff", back, 4), -1);
	ck_assert_int_eq(util_unhex("00", back, 4), -1);
	ck_assert_int_eq(util_unhex("0g", back, 1), -1);
	/* util_hexval takes both cases. */
	ck_assert_int_eq(util_hexval('F'), 15);
	ck_assert_int_eq(util_hexval('a'), 10);
	ck_assert_int_eq(util_hexval('g'), -1);
	util_hex(b, 0, hex);
	ck_assert_str_eq(hex, "");
}
END_TEST

START_TEST(test_fingerprint)
{
	ck_assert(valid_fingerprint("sha256:" HEX64));
	ck_assert(valid_fingerprint("sha256:" HEX64) &&
	    strlen("sha256:" HEX64) == P2P_FP_LEN);
	ck_assert(!valid_fingerprint(HEX64));
	ck_assert(!valid_fingerprint("sha256:"));
	ck_assert(!valid_fingerprint("sha256"));
	ck_assert(!valid_fingerprint("sha"));
	ck_assert(!valid_fingerprint(""));
	ck_assert(!valid_fingerprint(NULL));
	ck_assert(!valid_fingerprint("SHA256:" HEX64));
	ck_assert(!valid_fingerprint("sha512:" HEX64));
	ck_assert(!valid_fingerprint("sha256 " HEX64));
	ck_assert(!valid_fingerprint("sha256:" HEX64 "0"));	/* 65 digits */
	ck_assert(!valid_fingerprint("sha256:"
	    "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcde"));		/* 63 digits */
	ck_assert(!valid_fingerprint("sha256:"
	    "0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef"));
	ck_assert(!valid_fingerprint("sha256:"
	    "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdeg"));
	ck_assert(!valid_fingerprint("sha256::"
	    "123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef"));
}
END_TEST

/* valid_utf8_lines: the bad lines by number, the first max of them. */
START_TEST(test_utf8_lines)
{
	static const char s[] = "ok\n\xff\n\nx\0y\n\xc3\xa9\n\xc3";
	size_t lines[2];

	ck_assert_uint_eq(valid_utf8_lines("", 0, lines, 2), 0);
	ck_assert_uint_eq(valid_utf8_lines("a\nb\n", 4, lines, 2), 0);
	ck_assert_uint_eq(valid_utf8_lines(s, sizeof(s) - 1, lines, 2), 3);
	ck_assert_uint_eq(lines[0], 2);
	ck_assert_uint_eq(lines[1], 4);
}
END_TEST

/* util_utf8_trim: only an incomplete last sequence goes. */
START_TEST(test_utf8_trim)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" }, { "abc", "abc" }, { "a\xc3\xa9", "a\xc3\xa9" },
		{ "a\xc3", "a" }, { "a\xe2\x80", "a" }, { "a\xe2",  "a" },
		{ "a\xe2\x80\xae", "a\xe2\x80\xae" },
		{ "a\xf0\x9f\x98", "a" }, { "a\xf0\x9f\x98\x80", "a\xf0\x9f\x98\x80" },
		{ "\xc3", "" }, { "\xc3\xa9\xc3", "\xc3\xa9" },
	};
	char buf[16];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		ck_assert_str_eq(util_utf8_trim(buf), cases[i].out);
		ck_assert(valid_utf8(buf, strlen(buf)) || *buf == '\0');
	}
	/* What a cut leaves of 9 x U+00E9 in 16 bytes: 7 whole ones. */
	memcpy(buf, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3", 15);
	buf[15] = '\0';
	ck_assert_uint_eq(strlen(util_utf8_trim(buf)), 14);
}
END_TEST

static Suite *
valid_suite(void)
{
	Suite *s = suite_create("valid");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_username_length);
	tcase_add_test(tc, test_username_first_char);
	tcase_add_test(tc, test_username_chars);
	tcase_add_test(tc, test_password);
	tcase_add_test(tc, test_utf8_valid);
	tcase_add_test(tc, test_utf8_overlong);
	tcase_add_test(tc, test_utf8_surrogates_and_range);
	tcase_add_test(tc, test_utf8_truncated);
	tcase_add_test(tc, test_utf8_stray_and_nul);
	tcase_add_test(tc, test_body);
	tcase_add_test(tc, test_utf8_trim);
	tcase_add_test(tc, test_utf8_lines);
	tcase_add_test(tc, test_msgid);
	tcase_add_test(tc, test_hex_bytes);
	tcase_add_test(tc, test_fingerprint);
	tcase_add_test(tc, test_hex);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(valid_suite(), LOG_LVL_INFO);
}
