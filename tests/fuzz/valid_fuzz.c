/*
 * Fuzz target: the validators of untrusted names and values
 * (common/valid.c), each compared with a plain reference written from
 * the rule it implements: valid_utf8() against a decoder that follows
 * the well-formed byte sequences table of the Unicode standard (3.9,
 * table 3-7), the others against the patterns in valid.h.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "proto.h"
#include "valid.h"

/* Unicode table 3-7, plus: no U+0000. */
static bool
ref_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0, need, k;
	unsigned char c, lo, hi;

	while (i < n) {
		c = s[i];
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c == 0xe0) {
			need = 2;
			lo = 0xa0;
		} else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
			need = 2;
		else if (c == 0xed) {
			need = 2;
			hi = 0x9f;
		} else if (c == 0xf0) {
			need = 3;
			lo = 0x90;
		} else if (c >= 0xf1 && c <= 0xf3)
			need = 3;
		else if (c == 0xf4) {
			need = 3;
			hi = 0x8f;
		} else
			return false;
		if (n - i - 1 < need || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (k = 2; k <= need; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += need + 1;
	}
	return true;
}

/* ^[a-z0-9][a-z0-9._-]{0,31}$ */
static bool
ref_username(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 32 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789")
	    < 1)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool
ref_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

int
fuzz_valid(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	size_t max;

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';		/* a C string up to the first NUL */

	FUZZ_CHECK(valid_utf8((const char *)data, size) == ref_utf8(data, size));
	max = size > 0 ? data[0] * 16 : 0;
	FUZZ_CHECK(valid_body((const char *)data, size, max) ==
	    (size > 0 && size <= max && ref_utf8(data, size)));
	FUZZ_CHECK(valid_password((const char *)data, size) ==
	    (size >= P2P_PASSWORD_MIN && size <= P2P_PASSWORD_MAX &&
	    memchr(data, 0, size) == NULL));
	FUZZ_CHECK(valid_username(s) == ref_username(s));
	FUZZ_CHECK(valid_msgid(s) == ref_hex(s, P2P_MSGID_HEX));
	FUZZ_CHECK(valid_fingerprint(s) ==
	    (strncmp(s, P2P_FP_PREFIX, 7) == 0 && ref_hex(s + 7, 64)));
	FUZZ_CHECK(!valid_username(NULL) && !valid_utf8(NULL, 0) &&
	    !valid_msgid(NULL) && !valid_fingerprint(NULL));
	free(s);
	return 0;
}

FUZZ_ENTRY(fuzz_valid)
