/*
 * Unit tests for passwd.c: yescrypt round trip, bcrypt hashes from the
 * old project, malformed hashes and refused passwords. Each yescrypt
 * hash costs ~15 ms, so the tests make only a few.
 */
#include <check.h>
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "passwd.h"
#include "testutil.h"

#define PW	"correct horse battery staple"

/* The crypt_blowfish test vector; bcrypt reads only the first 72 bytes. */
#define BCRYPT_PW	"0123456789abcdefghijklmnopqrstuvwxyz" \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored"
#define BCRYPT_HASH	"$2b$05$abcdefghijklmnopqrstuu" \
	"5s2v8.iXieOjg/.AySBTTZIIVFJeBui"

START_TEST(test_roundtrip)
{
	char h1[PASSWD_HASH_MAX], h2[PASSWD_HASH_MAX];

	ck_assert_int_eq(passwd_hash(PW, strlen(PW), h1, sizeof(h1)), 0);
	ck_assert_msg(strncmp(h1, "$y$", 3) == 0, "not yescrypt: %s", h1);
	ck_assert(passwd_verify(PW, strlen(PW), h1));
	/* Wrong password, a prefix of it, one byte changed. */
	ck_assert(!passwd_verify("wrong password", 14, h1));
	ck_assert(!passwd_verify(PW, strlen(PW) - 1, h1));
	ck_assert(!passwd_verify("Correct horse battery staple",
	    strlen(PW), h1));
	/* A fresh salt each time. */
	ck_assert_int_eq(passwd_hash(PW, strlen(PW), h2, sizeof(h2)), 0);
	ck_assert_str_ne(h1, h2);
}
END_TEST

/* The password buffer need not be NUL-terminated. */
START_TEST(test_unterminated)
{
	char h[PASSWD_HASH_MAX];
	char buf[16];

	memcpy(buf, "abcdefghXXXXXXXX", sizeof(buf));
	ck_assert_int_eq(passwd_hash(buf, 8, h, sizeof(h)), 0);
	ck_assert(passwd_verify("abcdefgh", 8, h));
	ck_assert(!passwd_verify(buf, 9, h));
}
END_TEST

START_TEST(test_bcrypt_made_here)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE], hash[CRYPT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *r;

	ck_assert_ptr_nonnull(crypt_gensalt_rn("$2b$", 4, NULL, 0, setting,
	    sizeof(setting)));
	cd = calloc(1, sizeof(*cd));
	ck_assert_ptr_nonnull(cd);
	r = crypt_r(PW, setting, cd);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(strncmp(r, "$2b$04$", 7) == 0, "bcrypt: %s", r);
	strcpy(hash, r);
	free(cd);

	ck_assert(passwd_verify(PW, strlen(PW), hash));
	ck_assert(!passwd_verify("not the password", 16, hash));
}
END_TEST

START_TEST(test_bcrypt_vector)
{
	ck_assert(passwd_verify(BCRYPT_PW, strlen(BCRYPT_PW), BCRYPT_HASH));
	ck_assert(!passwd_verify("0123456789abcdefghij", 20, BCRYPT_HASH));
	/* The same hash with one checksum character changed. */
	ck_assert(!passwd_verify(BCRYPT_PW, strlen(BCRYPT_PW),
	    "$2b$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBuj"));
}
END_TEST

START_TEST(test_malformed_hash)
{
	static const char *const bad[] = {
		"", "*0", "*1", "$y$garbage", "$2b$", "$2b$05$short",
		"$1$salt$hash", "abJnggxhB/yWI",	/* md5crypt, DES */
		"$y$j9T$", "$x$whatever",
	};
	size_t i;

	ck_assert(!passwd_verify(PW, strlen(PW), NULL));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!passwd_verify(PW, strlen(PW), bad[i]),
		    "accepted %s", bad[i]);
}
END_TEST

START_TEST(test_refused_passwords)
{
	char h[PASSWD_HASH_MAX], *big;

	ck_assert_int_eq(passwd_hash("short", 5, h, sizeof(h)), -1);
	ck_assert_int_eq(passwd_hash("1234567", 7, h, sizeof(h)), -1);
	ck_assert_int_eq(passwd_hash("abcd\0efghij", 11, h, sizeof(h)), -1);
	ck_assert_int_eq(passwd_hash(NULL, 10, h, sizeof(h)), -1);
	ck_assert_int_eq(passwd_hash(PW, strlen(PW), h, 10), -1);

	big = malloc(1025);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 1025);
	ck_assert_int_eq(passwd_hash(big, 1025, h, sizeof(h)), -1);
	free(big);
	/* An embedded NUL never verifies, even against its prefix's hash. */
	ck_assert_int_eq(passwd_hash("abcdefgh", 8, h, sizeof(h)), 0);
	ck_assert(!passwd_verify("abcdefgh\0ijk", 12, h));
}
END_TEST

/*
 * Up to 1024 bytes, beyond libxcrypt's 511-byte phrase limit: every byte
 * counts for yescrypt; bcrypt, as ever, reads the first 72.
 */
START_TEST(test_long_passwords)
{
	char h[PASSWD_HASH_MAX], setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	char *big;

	big = malloc(1024);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 1024);
	ck_assert_int_eq(passwd_hash(big, 1024, h, sizeof(h)), 0);
	ck_assert(passwd_verify(big, 1024, h));
	ck_assert(!passwd_verify(big, 1023, h));
	big[1000] = 'b';
	ck_assert(!passwd_verify(big, 1024, h));
	big[1000] = 'a';
	ck_assert(!passwd_verify(big, 511, h));

	ck_assert_int_eq(passwd_hash(big, 511, h, sizeof(h)), 0);
	ck_assert(passwd_verify(big, 511, h));
	ck_assert(!passwd_verify(big, 512, h));

	ck_assert_ptr_nonnull(crypt_gensalt_rn("$2b$", 4, NULL, 0, setting,
	    sizeof(setting)));
	cd = calloc(1, sizeof(*cd));
	ck_assert_ptr_nonnull(cd);
	big[72] = '\0';
	ck_assert_ptr_nonnull(crypt_rn(big, setting, cd, sizeof(*cd)));
	big[72] = 'a';
	ck_assert(passwd_verify(big, 1024, cd->output));
	ck_assert(passwd_verify(big, 72, cd->output));
	ck_assert(!passwd_verify(big, 71, cd->output));
	free(cd);
	free(big);
}
END_TEST

static Suite *
passwd_suite(void)
{
	Suite *s = suite_create("passwd");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_unterminated);
	tcase_add_test(tc, test_bcrypt_made_here);
	tcase_add_test(tc, test_bcrypt_vector);
	tcase_add_test(tc, test_malformed_hash);
	tcase_add_test(tc, test_refused_passwords);
	tcase_add_test(tc, test_long_passwords);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(passwd_suite(), LOG_LVL_INFO);
}
