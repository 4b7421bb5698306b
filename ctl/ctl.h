/*
 * Declarations shared by the parts of p2pchatctl: the control connection
 * and request/reply handling (p2pchatctl.c) and the interactive chat
 * (chat.c). Output lives in output.h.
 */
#ifndef P2P_CTL_H
#define P2P_CTL_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "ctlcmd.h"

/* Largest message body p2pchatctl checks for; the daemon enforces its own. */
#define CTL_MAXBODY	(16u * 1024 * 1024)
/*
 * Longest line accepted from the daemon. Requests are bounded by
 * P2P_CTL_LINE_MAX, but a reply such as a long history is not; this only
 * stops a runaway daemon from exhausting memory.
 */
#define CTL_REPLY_MAX	((size_t)256 * 1024 * 1024)

/* A connection to the control socket, read as one JSON object per line. */
struct ctl_conn {
	int		 fd;
	const char	*path;
	char		*buf;		/* bytes read and not yet taken */
	size_t		 off;		/* start of the first untaken line */
	size_t		 scan;		/* bytes from off known to hold no '\n' */
	size_t		 len;
	size_t		 cap;
	const char	*line;		/* the line last taken, until the next fill */
	size_t		 linelen;
	json_int_t	 next_id;
};

/* Set by SIGINT/SIGTERM once ctl_catch_signals() was called. */
extern volatile sig_atomic_t ctl_stop;

void		 ctl_connect(struct ctl_conn *, const char *);
void		 ctl_close(struct ctl_conn *);
/* Send one request; returns its id, or -1 (reported) if it is too long. */
json_int_t	 ctl_request(struct ctl_conn *, const char *, json_t *);
/* poll(2) that a caught SIGINT/SIGTERM interrupts without a race. */
int		 ctl_poll(struct pollfd *, nfds_t, int);
/* One read from the socket: 1 if bytes came, 0 if the daemon closed. */
int		 ctl_fill(struct ctl_conn *);
/* The next buffered line as a JSON object, or NULL if none is complete. */
json_t		*ctl_take(struct ctl_conn *);
/* The next line, blocking; NULL when the daemon closed or ctl_stop. */
json_t		*ctl_recv(struct ctl_conn *);
/*
 * Check a reply to request id: returns its result object, or NULL with
 * *error set to the error object. A malformed reply exits.
 */
json_t		*ctl_reply(json_t *, json_int_t, json_t **);
/* Validate args against the table; 0, or the exit code after reporting. */
int		 ctl_check_args(const struct ctl_cmd_desc *, const json_t *);
void		 ctl_catch_signals(void);
void		 ctl_bad_reply(void) __attribute__((__noreturn__));
void		 ctl_closed(void) __attribute__((__noreturn__));

/* chat USER: returns the exit code. */
int		 chat_main(struct ctl_conn *, json_t *);

#endif
