/*
 * Unit tests for the identity key (daemon/net/identity.c): generation, file
 * mode, reload, refusal of a readable key file, fingerprint formats.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "identity.h"
#include "testutil.h"

#define KEYNAME	"identity.key"
#define HEX40	"fffff00000186a00000100010001000100010000"

static char	dir1[64], dir2[64];

static void
rm_dir(const char *dir)
{
	struct dirent *de;
	char path[512];
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void
setup(void)
{
	strcpy(dir1, "/tmp/p2p-identity-XXXXXX");
	strcpy(dir2, "/tmp/p2p-identity-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir1));
	ck_assert_ptr_nonnull(mkdtemp(dir2));
}

static void
teardown(void)
{
	rm_dir(dir1);
	rm_dir(dir2);
}

static struct identity *
load_ok(const char *dir)
{
	struct identity *id;
	char *cause = NULL;

	id = identity_load(dir, KEYNAME, &cause);
	if (id == NULL)
		ck_abort_msg("identity_load %s: %s", dir, cause);
	ck_assert_ptr_null(cause);
	return id;
}

static int
count_files(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

START_TEST(test_generate)
{
	struct identity *id;
	struct stat st;
	char path[256], buf[64];
	FILE *f;

	umask(022);
	id = load_ok(dir1);
	snprintf(path, sizeof(path), "%s/%s", dir1, KEYNAME);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(count_files(dir1), 1);	/* no temporary left */

	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "-----BEGIN PRIVATE KEY-----\n");
	ck_assert_ptr_nonnull(identity_credentials(id));
	identity_free(id);
}
END_TEST

START_TEST(test_reload)
{
	struct identity *a, *b, *c;

	a = load_ok(dir1);
	b = load_ok(dir1);
	c = load_ok(dir2);
	ck_assert_str_eq(identity_fingerprint(a), identity_fingerprint(b));
	ck_assert_str_ne(identity_fingerprint(a), identity_fingerprint(c));
	identity_free(a);
	identity_free(b);
	identity_free(c);
}
END_TEST

/* Group lists: signed by one key, verified only with that key and text. */
START_TEST(test_sign_verify)
{
	struct identity *a = load_ok(dir1), *b = load_ok(dir2);
	static const char text[] = "{\"group\":\"x\",\"version\":1}";
	char sig[IDENTITY_SIG_HEX_MAX + 1], sig2[IDENTITY_SIG_HEX_MAX + 1];
	char fp[P2P_FP_LEN + 1], bad[IDENTITY_SIG_HEX_MAX + 1];

	ck_assert_int_eq(identity_sign(a, text, strlen(text), sig, sizeof(sig)),
	    0);
	ck_assert_uint_eq(strlen(sig), 128);		/* Ed25519: 64 bytes */
	ck_assert_uint_eq(strlen(identity_key_hex(a)), 88);	/* its SPKI */
	ck_assert_int_eq(identity_verify(identity_key_hex(a), text,
	    strlen(text), sig), 0);
	/* Another text, another key, a changed signature: refused. */
	ck_assert_int_eq(identity_verify(identity_key_hex(a), text,
	    strlen(text) - 1, sig), -1);
	ck_assert_int_eq(identity_verify(identity_key_hex(b), text,
	    strlen(text), sig), -1);
	snprintf(bad, sizeof(bad), "%s", sig);
	bad[10] = bad[10] == '0' ? '1' : '0';
	ck_assert_int_eq(identity_verify(identity_key_hex(a), text,
	    strlen(text), bad), -1);
	ck_assert_int_eq(identity_sign(b, text, strlen(text), sig2,
	    sizeof(sig2)), 0);
	ck_assert_str_ne(sig, sig2);
	/* Not hex, odd length, empty: refused, not read past. */
	ck_assert_int_eq(identity_verify("zz", text, strlen(text), sig), -1);
	ck_assert_int_eq(identity_verify(identity_key_hex(a), text,
	    strlen(text), "abc"), -1);
	ck_assert_int_eq(identity_verify("", text, strlen(text), sig), -1);
	/* The key's fingerprint is the one peers pin. */
	ck_assert_int_eq(identity_key_fingerprint(identity_key_hex(a), fp,
	    sizeof(fp)), 0);
	ck_assert_str_eq(fp, identity_fingerprint(a));
	identity_free(a);
	identity_free(b);
}
END_TEST

START_TEST(test_fp_format)
{
	struct identity *id = load_ok(dir1);
	const char *fp = identity_fingerprint(id);
	size_t i;

	ck_assert_uint_eq(strlen(fp), P2P_FP_LEN);
	ck_assert(strncmp(fp, "sha256:", 7) == 0);
	for (i = 7; i < P2P_FP_LEN; i++)
		ck_assert_msg(isdigit((unsigned char)fp[i]) ||
		    (fp[i] >= 'a' && fp[i] <= 'f'), "bad hex in %s", fp);
	identity_free(id);
}
END_TEST

START_TEST(test_refuse_mode)
{
	struct identity *id;
	char path[256], *cause = NULL;

	id = load_ok(dir1);
	identity_free(id);
	snprintf(path, sizeof(path), "%s/%s", dir1, KEYNAME);
	ck_assert_int_eq(chmod(path, 0644), 0);
	id = identity_load(dir1, KEYNAME, &cause);
	ck_assert_ptr_null(id);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, "0644") != NULL, "cause: %s", cause);
	ck_assert_msg(strstr(cause, "0600") != NULL, "cause: %s", cause);
	ck_assert_msg(strstr(cause, path) != NULL, "cause: %s", cause);
	free(cause);

	/* Group-readable only is refused as well. */
	cause = NULL;
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_ptr_null(identity_load(dir1, KEYNAME, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "0640"));
	free(cause);
}
END_TEST

START_TEST(test_refuse_garbage)
{
	char path[256], *cause = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir1, KEYNAME);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not a key\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_ptr_null(identity_load(dir1, KEYNAME, &cause));
	ck_assert_ptr_nonnull(cause);
	free(cause);

	/* A missing directory is an error, not a crash. */
	cause = NULL;
	ck_assert_ptr_null(identity_load("/nonexistent/p2pchat", KEYNAME,
	    &cause));
	ck_assert_ptr_nonnull(cause);
	free(cause);
}
END_TEST

START_TEST(test_groups)
{
	struct identity *id = load_ok(dir1);
	char out[48], expect[48];
	int i;

	identity_fp_groups(identity_fingerprint(id), out, sizeof(out));
	ck_assert_uint_eq(strlen(out), 47);
	for (i = 0; i < 47; i++) {
		if (i % 6 == 5)
			ck_assert_int_eq(out[i], ' ');
		else
			ck_assert(isdigit((unsigned char)out[i]));
	}
	identity_free(id);

	/* fffff = 1048575 -> 48575; 00000 -> 00000; 186a0 = 100000 -> 0. */
	identity_fp_groups("sha256:" HEX40 "0123456789abcdef0123456789abcdef", out,
	    sizeof(out));
	snprintf(expect, sizeof(expect), "%s",
	    "48575 00000 00000 00001 00016 00256 04096 65536");
	ck_assert_str_eq(out, expect);
	/* Without the prefix too; short or bad hex gives an empty string. */
	identity_fp_groups(HEX40, out, sizeof(out));
	ck_assert_str_eq(out, expect);
	identity_fp_groups("sha256:fffff00000186a0", out, sizeof(out));
	ck_assert_str_eq(out, "");
	identity_fp_groups("sha256:xyz", out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_cert_fp)
{
	struct identity *id = load_ok(dir1);
	gnutls_x509_crt_t *crts;
	gnutls_datum_t der;
	unsigned int n;
	char fp[P2P_FP_LEN + 1];
	unsigned char junk[16] = { 0x30, 0x82 };

	ck_assert_int_eq(gnutls_certificate_get_x509_crt(
	    identity_credentials(id), 0, &crts, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(gnutls_x509_crt_export2(crts[0], GNUTLS_X509_FMT_DER,
	    &der), 0);
	ck_assert_int_eq(identity_cert_fingerprint(&der, fp, sizeof(fp)), 0);
	ck_assert_str_eq(fp, identity_fingerprint(id));
	/* Too small an output buffer is refused. */
	ck_assert_int_eq(identity_cert_fingerprint(&der, fp, P2P_FP_LEN), -1);

	/* Self-signed X.509 v3, CN p2pchat, valid now. */
	ck_assert_int_eq(gnutls_x509_crt_get_version(crts[0]), 3);
	ck_assert(gnutls_x509_crt_get_activation_time(crts[0]) < time(NULL));
	ck_assert(gnutls_x509_crt_get_expiration_time(crts[0]) >
	    time(NULL) + 20 * 365 * 86400);
	ck_assert_int_eq(gnutls_x509_crt_check_issuer(crts[0], crts[0]), 1);

	gnutls_free(der.data);
	gnutls_x509_crt_deinit(crts[0]);
	gnutls_free(crts);

	der.data = junk;
	der.size = sizeof(junk);
	ck_assert_int_eq(identity_cert_fingerprint(&der, fp, sizeof(fp)), -1);
	identity_free(id);
}
END_TEST

static Suite *
identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("key");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_generate);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_fp_format);
	tcase_add_test(tc, test_sign_verify);
	tcase_add_test(tc, test_refuse_mode);
	tcase_add_test(tc, test_refuse_garbage);
	tcase_add_test(tc, test_groups);
	tcase_add_test(tc, test_cert_fp);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(identity_suite(), LOG_LVL_INFO);
}
