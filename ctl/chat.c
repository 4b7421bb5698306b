/*
 * p2pchatctl chat USER: an interactive chat over one control connection.
 * The connection first subscribes with `watch`; then every line read from
 * stdin becomes a `send`, so replies to those sends and events interleave
 * on the socket (lines with "event" are events, the others replies, which
 * come in request order). poll(2) waits on stdin and the socket together.
 * Incoming messages from USER and deliveries of what we sent are printed;
 * our own lines are not echoed. At EOF on stdin the replies still owed are
 * awaited for at most CHAT_DRAIN_SECS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "output.h"
#include "proto.h"
#include "report.h"
#include "util.h"

#define CHAT_DRAIN_SECS	10

struct chat {
	struct ctlconn	*conn;
	const char	*user;
	json_int_t	 last_reply;	/* id of the last reply received */
	char		**sent;		/* ids of our messages not yet delivered */
	size_t		 nsent;
	char		*in;		/* stdin bytes not yet a whole line */
	size_t		 inlen;
	size_t		 incap;
	bool		 skipping;	/* discarding the rest of a long line */
	bool		 eof;
	double		 deadline;
	bool		 failed;
};

static json_int_t
outstanding(const struct chat *ch)
{
	return ch->conn->next_id - 1 - ch->last_reply;
}

/* Unix seconds (or milliseconds) or an ISO 8601 UTC string, as local HH:MM. */
static void
chat_hhmm(const json_t *ts, char *out, size_t outlen)
{
	time_t t = time(NULL);
	struct tm tm;
	double d;

	memset(&tm, 0, sizeof(tm));
	if (json_is_number(ts)) {
		d = json_number_value(ts);
		t = (time_t)(d > 1e11 ? d / 1000 : d);
	} else if (json_is_string(ts) &&
	    strptime(json_string_value(ts), "%Y-%m-%dT%H:%M:%S", &tm) != NULL)
		t = timegm(&tm);
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%H:%M", &tm) == 0)
		snprintf(out, outlen, "--:--");
}

static void
chat_print_message(struct chat *ch, const json_t *ev)
{
	const json_t *text = json_object_get(ev, "text");
	char *t, *u, *s, hhmm[16];

	t = json_is_string(text) ? output_escape(json_string_value(text),
	    json_string_length(text)) : xstrdup("-");
	u = output_escape(ch->user, strlen(ch->user));
	if (output_tty()) {
		chat_hhmm(json_object_get(ev, "ts"), hhmm, sizeof(hhmm));
		printf("[%s] %s: %s\n", hhmm, u, t);
	} else {
		s = output_value(json_object_get(ev, "ts"));
		printf("%s\t%s\t%s\n", s, u, t);
		free(s);
	}
	free(u);
	free(t);
}

/* Forget a delivered id; false if it was not one of ours. */
static bool
chat_forget(struct chat *ch, const char *id)
{
	size_t i;

	for (i = 0; i < ch->nsent; i++) {
		if (strcmp(ch->sent[i], id) != 0)
			continue;
		free(ch->sent[i]);
		ch->sent[i] = ch->sent[--ch->nsent];
		return true;
	}
	return false;
}

static void
chat_event(struct chat *ch, const json_t *ev)
{
	const char *name = json_string_value(json_object_get(ev, "event"));
	const char *from = json_string_value(json_object_get(ev, "from"));
	const char *id = json_string_value(json_object_get(ev, "id"));

	if (name == NULL)
		ctlconn_bad_reply();
	if (strcmp(name, "message") == 0 && from != NULL &&
	    strcmp(from, ch->user) == 0) {
		if (output_json())
			output_line(ch->conn->line, ch->conn->linelen);
		else
			chat_print_message(ch, ev);
	} else if (strcmp(name, "delivered") == 0 && id != NULL &&
	    chat_forget(ch, id)) {
		if (output_json())
			output_line(ch->conn->line, ch->conn->linelen);
		else if (output_tty())
			printf("  \u2713 delivered\n");
		else
			printf("delivered\t%s\n", id);
	}
	output_flush();
}

/* A send's reply: remember the id, or report the error and go on. */
static void
chat_reply(struct chat *ch, json_t *r)
{
	json_t *result, *error, *id;

	if (outstanding(ch) <= 0)
		ctlconn_bad_reply();
	result = ctlconn_reply(r, ch->last_reply + 1, &error);
	ch->last_reply++;
	if (result == NULL) {
		output_error(error);
		ch->failed = true;
		return;
	}
	if (!json_is_string(id = json_object_get(result, "id")))
		ctlconn_bad_reply();
	ch->sent = reallocarray(ch->sent, ch->nsent + 1, sizeof(*ch->sent));
	if (ch->sent == NULL)
		abort();
	ch->sent[ch->nsent++] = xstrdup(json_string_value(id));
}

/* Handle every whole line already read from the socket. */
static void
chat_drain(struct chat *ch)
{
	json_t *obj;

	while ((obj = ctlconn_take(ch->conn)) != NULL) {
		if (json_object_get(obj, "event") != NULL)
			chat_event(ch, obj);
		else
			chat_reply(ch, obj);
		json_decref(obj);
	}
}

/* Read what the socket has; false when the daemon closed it. */
static bool
chat_socket(struct chat *ch)
{
	bool open = ctlconn_fill(ch->conn) != 0;

	chat_drain(ch);
	return open;
}

static void
chat_send(struct chat *ch, const char *line, size_t len)
{
	json_t *args;

	if (len == 0)
		return;
	args = json_pack("{s:s, s:o}", "user", ch->user, "text",
	    json_stringn_nocheck(line, len));
	if (ctl_check_args(&ctl_cmds[CMD_SEND], args) != 0 ||
	    ctlconn_request(ch->conn, "send", args) == -1)
		ch->failed = true;
	json_decref(args);
}

/* Send every whole line buffered; a line over the limit is dropped. */
static void
chat_lines(struct chat *ch)
{
	size_t start = 0, n;
	char *nl;

	while ((nl = memchr(ch->in + start, '\n', ch->inlen - start)) != NULL) {
		n = (size_t)(nl - (ch->in + start));
		if (!ch->skipping)
			chat_send(ch, ch->in + start, n);
		ch->skipping = false;
		start += n + 1;
	}
	memmove(ch->in, ch->in + start, ch->inlen - start);
	ch->inlen -= start;
	if (ch->inlen > P2P_CTL_LINE_MAX) {
		if (!ch->skipping)
			report_warn("invalid_argument", "line longer than %d "
			    "bytes, not sent",
			    P2P_CTL_LINE_MAX);
		ch->skipping = true;
		ch->failed = true;
		ch->inlen = 0;
	}
}

static void
chat_stdin(struct chat *ch)
{
	ssize_t n;

	if (ch->incap - ch->inlen < 4096) {
		ch->incap = ch->incap * 2 + 4096;
		if ((ch->in = realloc(ch->in, ch->incap)) == NULL)
			abort();
	}
	n = read(STDIN_FILENO, ch->in + ch->inlen, ch->incap - ch->inlen);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		ch->inlen += (size_t)n;
		chat_lines(ch);
		return;
	}
	if (n == -1)
		report_warn("io_error", "standard input: %s", strerror(errno));
	if (!ch->skipping)
		chat_send(ch, ch->in, ch->inlen);
	ch->inlen = 0;
	ch->eof = true;
	ch->deadline = util_mono() + CHAT_DRAIN_SECS;
}

/* Subscribe to events before the first send; 0 or an exit code. */
static int
chat_watch(struct chat *ch)
{
	json_t *args = json_object(), *r, *error;
	json_int_t id;
	int rc = 0;

	id = ctlconn_request(ch->conn, "watch", args);
	json_decref(args);
	while ((r = ctlconn_recv(ch->conn)) != NULL &&
	    json_object_get(r, "event") != NULL)
		json_decref(r);
	if (r == NULL && ctlconn_stop)
		return CTL_EXIT_OK;
	if (r == NULL)
		ctlconn_stream_ended();
	if (ctlconn_reply(r, id, &error) == NULL)
		rc = output_error(error);
	json_decref(r);
	ch->last_reply = id;
	return rc;
}

/* One turn of the loop: -1 to go on, else the exit code. */
static int
chat_turn(struct chat *ch)
{
	struct pollfd pfd[2];
	double left = ch->deadline - util_mono();

	if (ctlconn_stop)
		return CTL_EXIT_OK;
	if (ch->eof && outstanding(ch) == 0)
		return ch->failed ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	if (ch->eof && left <= 0) {
		report_warn("timeout", "no reply to %lld sends",
		    (long long)outstanding(ch));
		return CTL_EXIT_TIMEOUT;
	}
	pfd[0].fd = ch->conn->fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = ch->eof ? -1 : STDIN_FILENO;
	pfd[1].events = POLLIN;
	if (ctlconn_poll(pfd, 2, ch->eof ? (int)(left * 1000) + 1 : -1) == -1) {
		if (errno == EINTR)
			return -1;
		report_die_errno(CTL_EXIT_FAIL, "io_error", "poll");
	}
	if (pfd[0].revents != 0 && !chat_socket(ch))
		ctlconn_stream_ended();
	if (pfd[1].revents != 0)
		chat_stdin(ch);
	return -1;
}

int
chat_main(struct ctlconn *conn, json_t *args)
{
	struct chat ch;
	size_t i;
	int rc;

	memset(&ch, 0, sizeof(ch));
	ch.conn = conn;
	ch.user = json_string_value(json_object_get(args, "user"));
	ctlconn_catch_signals();
	if ((rc = chat_watch(&ch)) != 0 || ctlconn_stop)
		return rc;
	chat_drain(&ch);	/* lines that came with the watch reply */
	while ((rc = chat_turn(&ch)) == -1)
		;
	for (i = 0; i < ch.nsent; i++)
		free(ch.sent[i]);
	free(ch.sent);
	free(ch.in);
	return rc;
}
