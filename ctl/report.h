/*
 * How p2pchatctl reports its own failures: always one line on standard
 * error, "p2pchatctl: CODE: message", as it reports the daemon's
 * errors, so that scripts and people read one format. The codes that
 * are p2pchatctl's own are listed in p2pchatctl(1).
 */
#ifndef P2P_CTL_REPORT_H
#define P2P_CTL_REPORT_H

#define REPORT_PRINTF(a, b) __attribute__((__format__(__printf__, a, b)))

/* Print "p2pchatctl: code: message" and exit with status. */
void	report_die(int status, const char *code, const char *fmt, ...)
	    REPORT_PRINTF(3, 4) __attribute__((__noreturn__));
/* The same with ": strerror(errno)" at the end. */
void	report_die_errno(int status, const char *code, const char *fmt, ...)
	    REPORT_PRINTF(3, 4) __attribute__((__noreturn__));
/* Print "p2pchatctl: code: message" and go on. */
void	report_warn(const char *code, const char *fmt, ...) REPORT_PRINTF(2, 3);
/* The daemon's reply is not what p2pchatctl expects: exit 1. */
void	report_bad_reply(void) __attribute__((__noreturn__));

#endif
