/*
 * p2pchatctl's own error lines: "p2pchatctl: CODE: message" on standard
 * error, the same shape as the daemon's errors (see report.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "report.h"

static void report_v(const char *, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
report_v(const char *code, int errnum, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "p2pchatctl: %s: ", code);
	vfprintf(stderr, fmt, ap);
	if (errnum != 0)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

void
report_die(int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_v(code, 0, fmt, ap);
	va_end(ap);
	exit(status);
}

void
report_die_errno(int status, const char *code, const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	report_v(code, errnum, fmt, ap);
	va_end(ap);
	exit(status);
}

void
report_warn(const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_v(code, 0, fmt, ap);
	va_end(ap);
}

void
report_bad_reply(void)
{
	report_die(CTL_EXIT_FAIL, "bad_reply", "the daemon's reply is not what "
	    "p2pchatctl expects (another version?)");
}
