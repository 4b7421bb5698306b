/*
 * libconfig reads an integer literal without the L suffix as an int, and
 * one over 2^31 - 1 wraps modulo 2^32 without an error: 8589934592 is
 * read as 0, 3000000000 as a negative number. Before the file is parsed
 * its text is scanned for such literals outside strings and comments, and
 * one is an error that names its line and the fix (the L suffix).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

#define SCAN_MAX	(1024 * 1024)	/* bytes of a configuration file */

static bool
ident_char(int ch)
{
	return isalnum(ch) || ch == '_' || ch == '.' || ch == '*';
}

int
config_scan_ints(const char *file, char *err, size_t errlen)
{
	char *buf;
	FILE *f;
	size_t n, i, start;
	uint64_t v;
	int line = 1, rc = 0;

	if ((f = fopen(file, "r")) == NULL)
		return 0;	/* libconfig says why */
	buf = malloc(SCAN_MAX + 1);
	if (buf == NULL)
		abort();
	n = fread(buf, 1, SCAN_MAX, f);
	fclose(f);
	buf[n] = '\0';
	for (i = 0; i < n && rc == 0; i++) {
		if (buf[i] == '\n')
			line++;
		else if (buf[i] == '"') {		/* a string, escapes and all */
			for (i++; i < n && buf[i] != '"'; i++) {
				if (buf[i] == '\\' && i + 1 < n)
					i++;
				else if (buf[i] == '\n')
					line++;
			}
		} else if (buf[i] == '#' || (buf[i] == '/' && buf[i + 1] == '/')) {
			while (i + 1 < n && buf[i + 1] != '\n')
				i++;
		} else if (buf[i] == '/' && buf[i + 1] == '*') {
			for (i += 2; i + 1 < n && !(buf[i] == '*' &&
			    buf[i + 1] == '/'); i++)
				if (buf[i] == '\n')
					line++;
			i++;
		} else if (isdigit((unsigned char)buf[i]) &&
		    (i == 0 || !ident_char((unsigned char)buf[i - 1]))) {
			if (buf[i] == '0' && (buf[i + 1] == 'x' || buf[i + 1] == 'X'))
				for (i += 2; isxdigit((unsigned char)buf[i]); i++)
					;
			for (start = i, v = 0; isdigit((unsigned char)buf[i]); i++)
				if (v <= UINT64_MAX / 16)
					v = v * 10 + (uint64_t)(buf[i] - '0');
			if (buf[i] != 'L' && buf[i] != '.' && buf[i] != 'e' &&
			    buf[i] != 'E' && v > INT32_MAX) {
				snprintf(err, errlen, "%s:%d - the integer %.*s is "
				    "2147483648 or more: write it with libconfig's L "
				    "suffix (%.*sL), which otherwise reads it modulo "
				    "2^32", file, line, (int)(i - start), buf + start,
				    (int)(i - start), buf + start);
				rc = -1;
			}
			i--;
		}
	}
	free(buf);
	return rc;
}
