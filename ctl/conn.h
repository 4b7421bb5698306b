/*
 * p2pchatctl's connection to the control socket: connect, send one
 * request per JSON line, read the replies and events that come back as
 * lines, and the signal handling that ends a stream cleanly.
 */
#ifndef P2P_CTL_CONN_H
#define P2P_CTL_CONN_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>

#include <jansson.h>

/*
 * Longest line accepted from the daemon. Requests are bounded by
 * P2P_CTL_LINE_MAX, but a reply such as a long history is not; this only
 * stops a runaway daemon from exhausting memory.
 */
#define CTL_REPLY_MAX	((size_t)256 * 1024 * 1024)

/* A connection to the control socket, read as one JSON object per line. */
struct ctlconn {
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

/* Set by SIGINT/SIGTERM once ctlconn_catch_signals() was called. */
extern volatile sig_atomic_t ctlconn_stop;

/* Connect to the socket at path; exits if there is no daemon. */
void		 ctlconn_connect(struct ctlconn *, const char *);
void		 ctlconn_close(struct ctlconn *);
/* Send one request; returns its id, or -1 (reported) if it is too long. */
json_int_t	 ctlconn_request(struct ctlconn *, const char *, json_t *);
/*
 * The same, passing the open file fd along (SCM_RIGHTS). The daemon
 * takes a descriptor only with a connection's first request.
 */
json_int_t	 ctlconn_request_fd(struct ctlconn *, const char *, json_t *,
		    int fd);
/* poll(2) that a caught SIGINT/SIGTERM interrupts without a race. */
int		 ctlconn_poll(struct pollfd *, nfds_t, int);
/* One read from the socket: 1 if bytes came, 0 if the daemon closed. */
int		 ctlconn_fill(struct ctlconn *);
/* The next buffered line as a JSON object, or NULL if none is complete. */
json_t		*ctlconn_take(struct ctlconn *);
/* The next line, blocking; NULL when the daemon closed or ctlconn_stop. */
json_t		*ctlconn_recv(struct ctlconn *);
/*
 * The reply to the one request in flight, events before it skipped;
 * exits 0 on a signal and with an error if the daemon closed.
 */
json_t		*ctlconn_recv_reply(struct ctlconn *);
/*
 * Check a reply to request id: returns its result object, or NULL with
 * *error set to the error object. A malformed reply exits.
 */
json_t		*ctlconn_reply(json_t *, json_int_t, json_t **);
void		 ctlconn_catch_signals(void);
void		 ctlconn_closed(void) __attribute__((__noreturn__));
/* A stream (watch, chat, export) lost its daemon: exit 1 with a message. */
void		 ctlconn_stream_ended(void) __attribute__((__noreturn__));

#endif
