/*
 * Small shared helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

int64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
util_hex(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int
util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
lowhexval(int c)
{
	return c >= 'A' && c <= 'F' ? -1 : util_hexval(c);
}

int
util_unhex(const char *s, unsigned char *out, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = lowhexval((unsigned char)s[2 * i])) < 0 ||
		    (lo = lowhexval((unsigned char)s[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

double
util_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
util_iso8601(int64_t secs, char *out, size_t outlen)
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "-");
}

char *
util_escape(const char *s, size_t len)
{
	char *out = xmalloc(len * 4 + 1), *p = out;
	unsigned char c;
	size_t i;

	for (i = 0; i < len; i++) {
		switch (c = (unsigned char)s[i]) {
		case '\t': *p++ = '\\'; *p++ = 't'; break;
		case '\n': *p++ = '\\'; *p++ = 'n'; break;
		case '\r': *p++ = '\\'; *p++ = 'r'; break;
		case '\\': *p++ = '\\'; *p++ = '\\'; break;
		default:
			if (c < 0x20 || c == 0x7f)
				p += snprintf(p, 5, "\\x%02x", c);
			else
				*p++ = (char)c;
			break;
		}
	}
	*p = '\0';
	return out;
}

char *
util_utf8_trim(char *s)
{
	size_t len = strlen(s), i = len, need;
	unsigned char c;

	while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || (c = (unsigned char)s[i - 1]) < 0xc0)
		return s;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (len - (i - 1) < need)
		s[i - 1] = '\0';
	return s;
}

void
util_zero(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n != 0 ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

void *
xcalloc(size_t n, size_t m)
{
	void *p = calloc(n != 0 ? n : 1, m != 0 ? m : 1);

	if (p == NULL)
		abort();
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		abort();
	return p;
}

static size_t
min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

/*
 * Edit distance with adjacent transpositions ("sned" is one from
 * "send"), between strings of at most 64 bytes.
 */
static size_t
util_distance(const char *a, const char *b)
{
	size_t la = strnlen(a, 64), lb = strnlen(b, 64), i, j, cost;
	unsigned char d[65][65];

	for (i = 0; i <= la; i++)
		d[i][0] = (unsigned char)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (unsigned char)j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			cost = a[i - 1] != b[j - 1];
			d[i][j] = (unsigned char)min3(d[i - 1][j] + 1u,
			    d[i][j - 1] + 1u, d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1u < d[i][j])
				d[i][j] = (unsigned char)(d[i - 2][j - 2] + 1u);
		}
	}
	return d[la][lb];
}

const char *
util_closest(const char *word, const char *const *names, size_t n)
{
	size_t i, d, best = SIZE_MAX, limit = strlen(word) < 5 ? 1 : 2;
	const char *found = NULL;

	for (i = 0; i < n; i++) {
		if (names[i] == NULL)
			continue;
		d = util_distance(word, names[i]);
		if (d < best) {
			best = d;
			found = names[i];
		}
	}
	return best <= limit ? found : NULL;
}
