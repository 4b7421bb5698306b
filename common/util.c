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
