/*
 * Password hashing with libxcrypt. New hashes are yescrypt ("$y$") at
 * libxcrypt's default cost with a salt libxcrypt draws itself; bcrypt
 * hashes carried over from the project p2pchat replaces still verify.
 * The password and crypt's work area live on the heap and are zeroed
 * before they are freed.
 *
 * libxcrypt takes at most 511 bytes of passphrase, p2pchat allows 1024.
 * A longer password is hashed for yescrypt as "sha512:" and the hex
 * SHA-512 of the password; bcrypt reads only its first 72 bytes anyway,
 * so for bcrypt it is cut to 511 bytes, which changes nothing.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "log.h"
#include "passwd.h"
#include "util.h"
#include "valid.h"

/* Hash methods passwd_verify accepts; anything else is malformed. */
static const char *const passwd_prefixes[] = {
	"$y$",	/* yescrypt */
	"$2b$",	/* bcrypt */
	"$2a$",
	"$2y$",
};

#define PASSWD_PHRASE_MAX	(CRYPT_MAX_PASSPHRASE_SIZE - 1)
#define PASSWD_PREHASH		"sha512:"

/* "sha512:" and the hex SHA-512 of pw[0..len), in a heap string. */
static char *
passwd_prehash(const char *pw, size_t len)
{
	unsigned char md[64];
	char *s;
	size_t off = strlen(PASSWD_PREHASH);

	if (gnutls_hash_fast(GNUTLS_DIG_SHA512, pw, len, md) != 0) {
		log_warnx("%s: SHA-512 failed", __func__);
		return NULL;
	}
	s = xmalloc(off + 2 * sizeof(md) + 1);
	memcpy(s, PASSWD_PREHASH, off);
	util_hex(md, sizeof(md), s + off);
	explicit_bzero(md, sizeof(md));
	return s;
}

/*
 * The NUL-terminated heap phrase crypt gets for pw[0..len) under the
 * given method, or NULL if pw is not a valid password.
 */
static char *
passwd_phrase(const char *pw, size_t len, bool yescrypt)
{
	char *s;

	if (!valid_password(pw, len))
		return NULL;
	if (len > PASSWD_PHRASE_MAX) {
		if (yescrypt)
			return passwd_prehash(pw, len);
		len = PASSWD_PHRASE_MAX;
	}
	s = xmalloc(len + 1);
	memcpy(s, pw, len);
	s[len] = '\0';
	return s;
}

static void
passwd_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static bool
passwd_known_method(const char *hash)
{
	size_t i, n;

	for (i = 0; i < sizeof(passwd_prefixes) / sizeof(passwd_prefixes[0]);
	    i++) {
		n = strlen(passwd_prefixes[i]);
		if (strncmp(hash, passwd_prefixes[i], n) == 0)
			return true;
	}
	return false;
}

/*
 * crypt(phrase, setting) into out. libxcrypt's crypt_rn returns NULL on
 * failure; a result starting with '*' is a failure token all the same.
 */
static int
passwd_crypt(const char *phrase, const char *setting, char *out,
    size_t outlen)
{
	struct crypt_data *cd;
	const char *res;
	size_t n;
	int rv = -1;

	cd = xcalloc(1, sizeof(*cd));
	res = crypt_rn(phrase, setting, cd, sizeof(*cd));
	if (res != NULL && res[0] != '*') {
		n = strlen(res);
		if (n < outlen) {
			memcpy(out, res, n + 1);
			rv = 0;
		}
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rv;
}

int
passwd_hash(const char *pw, size_t len, char *out, size_t outlen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	char *phrase;
	int rv;

	if (out == NULL || outlen == 0)
		return -1;
	out[0] = '\0';
	if ((phrase = passwd_phrase(pw, len, true)) == NULL)
		return -1;
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting,
	    sizeof(setting)) == NULL) {
		log_warn("%s: crypt_gensalt_rn", __func__);
		passwd_free(phrase);
		return -1;
	}
	rv = passwd_crypt(phrase, setting, out, outlen);
	passwd_free(phrase);
	if (rv == -1) {
		log_warnx("%s: yescrypt failed or hash too long", __func__);
		explicit_bzero(out, outlen);
	}
	return rv;
}

/* Compare every byte of two equal-length strings, whatever they hold. */
static bool
passwd_equal(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

bool
passwd_verify(const char *pw, size_t len, const char *hash)
{
	char out[CRYPT_OUTPUT_SIZE];
	char *phrase;
	size_t n;
	bool ok;

	if (hash == NULL || !passwd_known_method(hash))
		return false;
	n = strlen(hash);
	if (n >= sizeof(out))
		return false;
	if ((phrase = passwd_phrase(pw, len,
	    strncmp(hash, "$y$", 3) == 0)) == NULL)
		return false;
	ok = passwd_crypt(phrase, hash, out, sizeof(out)) == 0 &&
	    strlen(out) == n && passwd_equal(out, hash, n);
	passwd_free(phrase);
	explicit_bzero(out, sizeof(out));
	return ok;
}
