/*
 * Validation of untrusted input. Every check here is total: any byte
 * string, of any length, gets a yes or a no.
 */
#include <string.h>

#include "proto.h"
#include "valid.h"

static bool
is_lower_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_lower_hex(unsigned char c)
{
	return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9');
}

bool
valid_username(const char *s)
{
	size_t i;

	if (s == NULL || !is_lower_alnum((unsigned char)s[0]))
		return false;
	for (i = 1; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= P2P_USERNAME_MAX)
			return false;
		if (!is_lower_alnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

bool
valid_password(const char *s, size_t len)
{
	if (s == NULL || len < P2P_PASSWORD_MIN || len > P2P_PASSWORD_MAX)
		return false;
	return memchr(s, '\0', len) == NULL;
}

/* Length of the UTF-8 sequence starting at p, or 0 if it is malformed. */
static size_t
utf8_seq(const unsigned char *p, size_t left)
{
	unsigned int cp;
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return 0;	/* overlong */
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool
valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t off = 0, n;

	if (s == NULL)
		return false;
	while (off < len) {
		if (p[off] == '\0')
			return false;
		if ((n = utf8_seq(p + off, len - off)) == 0)
			return false;
		off += n;
	}
	return true;
}

size_t
valid_utf8_lines(const char *s, size_t len, size_t *lines, size_t max)
{
	const char *nl;
	size_t off = 0, n, line = 0, bad = 0;

	while (off < len) {
		nl = memchr(s + off, '\n', len - off);
		n = nl != NULL ? (size_t)(nl - (s + off)) : len - off;
		line++;
		if (!valid_utf8(s + off, n) && bad++ < max)
			lines[bad - 1] = line;
		off += n + 1;
	}
	return bad;
}

bool
valid_body(const char *s, size_t len, size_t max)
{
	return len > 0 && len <= max && valid_utf8(s, len);
}

static bool
all_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_lower_hex((unsigned char)s[i]))
			return false;
	return s[n] == '\0';
}

bool
valid_msgid(const char *s)
{
	return s != NULL && strnlen(s, P2P_MSGID_HEX + 1) == P2P_MSGID_HEX &&
	    all_lower_hex(s, P2P_MSGID_HEX);
}

bool
valid_hex_bytes(const char *s, size_t max)
{
	size_t n = s != NULL ? strnlen(s, max + 1) : 0;

	return n > 0 && n <= max && n % 2 == 0 && all_lower_hex(s, n);
}

bool
valid_address(const char *s)
{
	size_t n = s != NULL ? strnlen(s, 64) : 0;

	return n > 0 && n < 64 && strspn(s, "0123456789abcdefghijklmnopqrstuvw"
	    "xyzABCDEFGHIJKLMNOPQRSTUVWXYZ.:-") == n;
}

bool
valid_fingerprint(const char *s)
{
	size_t plen = strlen(P2P_FP_PREFIX);

	if (s == NULL || strncmp(s, P2P_FP_PREFIX, plen) != 0)
		return false;
	return strnlen(s + plen, 65) == 64 && all_lower_hex(s + plen, 64);
}
