/*
 * p2pchatctl chat USER: an interactive chat over one control connection.
 * The connection first subscribes with `watch`; then every line read from
 * stdin becomes a `send`, so replies to those sends and events interleave
 * on the socket (lines with "event" are events, the others replies, which
 * come in request order). poll(2) waits on stdin and the socket together.
 * Incoming messages from USER and what becomes of the lines we sent
 * (delivered, failed, held) are printed; our own lines are not echoed.
 * On a terminal it opens with the last CHAT_BACKLOG messages and shows
 * notices (chat_show.c). At EOF the replies still owed are awaited and,
 * when stdin is not a terminal, the delivery of what was sent, for at
 * most CHAT_DRAIN_SECS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chat.h"
#include "ctl.h"
#include "output.h"
#include "proto.h"
#include "report.h"
#include "util.h"

#define CHAT_DRAIN_SECS	30
#define CHAT_BACKLOG	10
/*
 * Sends in flight: past this, stdin waits for replies. The daemon stops
 * reading a client whose replies it cannot hand over (limits.send_timeout
 * closes it), and write_all() blocks: a chat that wrote a whole piped
 * file before reading would wait on the daemon as the daemon waits on it.
 */
#define CHAT_WINDOW	256

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
	bool		 people;	/* stdout a terminal, not --json */
	bool		 editing;	/* the typed line kept by chat_line.c */
	bool		 to_mark;	/* messages shown since the last mark */
	json_int_t	*marks;		/* ids of mark-read requests unanswered */
	size_t		 nmarks;
	bool		 wait_delivery;	/* stdin not a terminal */
	int		 online;	/* the contact: 1, 0, -1 unknown */
};

static json_int_t
outstanding(const struct chat *ch)
{
	return ch->conn->next_id - 1 - ch->last_reply;
}

static void
chat_print_message(struct chat *ch, const json_t *ev)
{
	const json_t *text = json_object_get(ev, "text");
	char *t, *u, *s;

	if (ch->people) {
		chat_show_message(json_object_get(ev, "ts"), ch->user, text);
		return;
	}
	t = json_is_string(text) ? output_escape(json_string_value(text),
	    json_string_length(text)) : xstrdup("-");
	u = output_escape(ch->user, strlen(ch->user));
	s = output_value(json_object_get(ev, "ts"));
	printf("%s\t%s\t%s\n", s, u, t);
	free(s);
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

/* One of our messages ended without delivery: failed, cancelled, expired. */
static void
chat_ended(struct chat *ch, const json_t *ev, const char *name,
    const char *id)
{
	const char *why = json_string_value(json_object_get(ev, "reason"));
	char *r;

	ch->failed = true;
	if (output_json())
		output_line(ch->conn->line, ch->conn->linelen);
	else if (ch->people)
		chat_show_notice("\u2717 %s: %s", name, why != NULL ? why : "-");
	else {
		r = output_value(json_object_get(ev, "reason"));
		printf("%s\t%s\t%s\n", name, id, r);
		free(r);
	}
}

/* Presence and key changes of the contact: notices for people only. */
static void
chat_contact_event(struct chat *ch, const json_t *ev, const char *name)
{
	const char *fp = json_string_value(json_object_get(ev, "fingerprint"));
	int online = json_is_true(json_object_get(ev, "online"));

	/*
	 * A presence event also says that an address or key changed (a key
	 * change comes with one while the contact is still offline): only a
	 * change of online is news to a person.
	 */
	if (strcmp(name, "presence") == 0) {
		if (ch->people && online != ch->online)
			chat_show_notice("%s is %s", ch->user, online ?
			    "online" : "offline");
		ch->online = online;
	} else if (ch->people)
		chat_show_notice("! %s's key changed (now %s): compare "
		    "fingerprints (p2pchatctl fingerprint %s), then run: "
		    "p2pchatctl trust %s", ch->user, fp != NULL ? fp : "?",
		    ch->user, ch->user);
	else if (output_json())
		output_line(ch->conn->line, ch->conn->linelen);
}

static bool
is_ours(struct chat *ch, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < ch->nsent; i++)
		if (strcmp(ch->sent[i], id) == 0)
			return true;
	return false;
}

static void
chat_event(struct chat *ch, const json_t *ev)
{
	const char *name = json_string_value(json_object_get(ev, "event"));
	const char *from = json_string_value(json_object_get(ev, "from"));
	const char *user = json_string_value(json_object_get(ev, "user"));
	const char *id = json_string_value(json_object_get(ev, "id"));
	const char *why = json_string_value(json_object_get(ev, "reason"));

	if (name == NULL)
		report_bad_reply();
	if (strcmp(name, "message") == 0 && from != NULL &&
	    strcmp(from, ch->user) == 0) {
		ch->to_mark = true;
		if (output_json())
			output_line(ch->conn->line, ch->conn->linelen);
		else
			chat_print_message(ch, ev);
	} else if (strcmp(name, "delivered") == 0 && id != NULL &&
	    chat_forget(ch, id)) {
		if (output_json())
			output_line(ch->conn->line, ch->conn->linelen);
		else if (ch->people)
			chat_show_notice("\u2713 delivered");
		else
			printf("delivered\t%s\n", id);
	} else if ((strcmp(name, "failed") == 0 ||
	    strcmp(name, "cancelled") == 0 || strcmp(name, "expired") == 0) &&
	    is_ours(ch, id)) {
		chat_ended(ch, ev, name, id);
		chat_forget(ch, id);
	} else if (strcmp(name, "held") == 0 && is_ours(ch, id) && ch->people)
		chat_show_notice("! held: %s", why != NULL ? why : "key changed");
	else if (strcmp(name, "deposited") == 0 && is_ours(ch, id) &&
	    ch->people)
		chat_show_notice("in %s's mailbox at the gestor: delivered when "
		    "%s is back", ch->user, ch->user);
	else if ((strcmp(name, "presence") == 0 ||
	    strcmp(name, "key-changed") == 0) && user != NULL &&
	    strcmp(user, ch->user) == 0)
		chat_contact_event(ch, ev, name);
	output_flush();
}

/* What a person should know about a line just stored: queued or held. */
static void
chat_sent_notice(struct chat *ch, const json_t *result)
{
	const char *state = json_string_value(json_object_get(result, "state"));
	const char *why = json_string_value(json_object_get(result, "reason"));

	if (!ch->people || state == NULL)
		return;
	if (strcmp(state, "held") == 0)
		chat_show_notice("! held: %s", why != NULL ? why : "key changed");
	else if (strcmp(state, "pending") == 0 && ch->online == 0)
		chat_show_notice("\u2026 queued: %s is offline; it goes out when "
		    "they are back", ch->user);
	output_flush();
}

/*
 * Messages shown here are read: clear the chat's unread count as
 * `history` does (with limit 0), once per batch of messages shown.
 */
static void
chat_mark_read(struct chat *ch)
{
	json_t *args = json_pack("{s:s,s:i}", "user", ch->user, "limit", 0);
	json_int_t id;

	ch->to_mark = false;
	if ((id = ctlconn_request(ch->conn, "history", args)) != -1) {
		ch->marks = reallocarray(ch->marks, ch->nmarks + 1,
		    sizeof(*ch->marks));
		if (ch->marks == NULL)
			abort();
		ch->marks[ch->nmarks++] = id;
	}
	json_decref(args);
}

/* The reply to a mark-read request: only an error is worth saying. */
static bool
chat_mark_reply(struct chat *ch, json_t *r)
{
	json_t *error;

	if (ch->nmarks == 0 || ch->marks[0] != ch->last_reply + 1)
		return false;
	memmove(ch->marks, ch->marks + 1, --ch->nmarks * sizeof(*ch->marks));
	if (ctlconn_reply(r, ++ch->last_reply, &error) == NULL)
		output_error(error);
	return true;
}

/* A send's reply: remember the id, or report the error and go on. */
static void
chat_reply(struct chat *ch, json_t *r)
{
	json_t *result, *error, *id;

	if (outstanding(ch) <= 0)
		report_bad_reply();
	if (chat_mark_reply(ch, r))
		return;
	result = ctlconn_reply(r, ch->last_reply + 1, &error);
	ch->last_reply++;
	if (result == NULL) {
		output_error(error);
		ch->failed = true;
		return;
	}
	if (!json_is_string(id = json_object_get(result, "id")))
		report_bad_reply();
	ch->sent = reallocarray(ch->sent, ch->nsent + 1, sizeof(*ch->sent));
	if (ch->sent == NULL)
		abort();
	ch->sent[ch->nsent++] = xstrdup(json_string_value(id));
	chat_sent_notice(ch, result);
}

/* Handle every whole line already read from the socket. */
static void
chat_drain(struct chat *ch)
{
	bool hidden = false;
	json_t *obj;

	while ((obj = ctlconn_take(ch->conn)) != NULL) {
		if (!hidden)
			chat_line_hide();
		hidden = true;
		if (json_object_get(obj, "event") != NULL)
			chat_event(ch, obj);
		else
			chat_reply(ch, obj);
		json_decref(obj);
	}
	if (hidden) {
		output_flush();
		chat_line_show();
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

/*
 * Send whole lines buffered while the window has room; a line over the
 * limit is dropped.
 */
static void
chat_lines(struct chat *ch)
{
	size_t start = 0, n;
	char *nl;

	if (ch->inlen == 0)
		return;		/* ch->in may be NULL */
	while (outstanding(ch) < CHAT_WINDOW &&
	    (nl = memchr(ch->in + start, '\n', ch->inlen - start)) != NULL) {
		n = (size_t)(nl - (ch->in + start));
		if (!ch->skipping)
			chat_send(ch, ch->in + start, n);
		ch->skipping = false;
		start += n + 1;
	}
	memmove(ch->in, ch->in + start, ch->inlen - start);
	ch->inlen -= start;
	if (ch->inlen > P2P_CTL_LINE_MAX &&
	    memchr(ch->in, '\n', ch->inlen) == NULL) {
		if (!ch->skipping)
			report_warn("invalid_argument", "line longer than %d "
			    "bytes, not sent",
			    P2P_CTL_LINE_MAX);
		ch->skipping = true;
		ch->failed = true;
		ch->inlen = 0;
	}
}

/* A line typed on the terminal: shown as sent (it was not echoed), sent. */
static void
chat_typed(const char *line, size_t len, void *arg)
{
	struct chat *ch = arg;
	json_t *text;

	if (len == 0)
		return;
	text = json_stringn_nocheck(line, len);
	chat_show_message(NULL, "me", text);
	json_decref(text);
	output_flush();
	chat_send(ch, line, len);
}

/* Whatever the line editor has read ends in EOF or a line. */
static void
chat_keys(struct chat *ch)
{
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0 && chat_line_feed(buf, (size_t)n, chat_typed, ch) == 0)
		return;
	if (n == -1)
		report_warn("io_error", "standard input: %s", strerror(errno));
	ch->eof = true;
	ch->deadline = util_mono() + CHAT_DRAIN_SECS;
}

static void
chat_stdin(struct chat *ch)
{
	ssize_t n;

	if (ch->editing) {
		chat_keys(ch);
		return;
	}

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

/*
 * One request before any send (lookup, history): its result, events that
 * come meanwhile handled; NULL if the daemon refused it.
 */
static json_t *
chat_call(struct chat *ch, const char *cmd, json_t *args)
{
	json_t *r, *result, *error;
	json_int_t id;

	id = ctlconn_request(ch->conn, cmd, args);
	json_decref(args);
	while ((r = ctlconn_recv(ch->conn)) != NULL &&
	    json_object_get(r, "event") != NULL) {
		chat_event(ch, r);
		json_decref(r);
	}
	if (r == NULL && ctlconn_stop)
		exit(CTL_EXIT_OK);
	if (r == NULL)
		ctlconn_stream_ended();
	ch->last_reply = id;
	result = ctlconn_reply(r, id, &error);
	result = result != NULL ? json_incref(result) : NULL;
	json_decref(r);
	return result;
}

/* On a terminal: who it is with, online or not, the last messages. */
static void
chat_open(struct chat *ch)
{
	json_t *look, *hist, *online;

	if (!ch->people)
		return;
	look = chat_call(ch, "lookup", json_pack("{s:s}", "user", ch->user));
	online = json_object_get(look, "online");
	ch->online = json_is_boolean(online) ? json_is_true(online) : -1;
	json_decref(look);
	hist = chat_call(ch, "history", json_pack("{s:s,s:i}", "user",
	    ch->user, "limit", CHAT_BACKLOG));
	if (hist != NULL)
		chat_show_history(ch->user, json_object_get(hist, "items"));
	json_decref(hist);
	printf("-- chat with %s (%s); lines you type are sent; end of input "
	    "(Ctrl-D) ends --\n", ch->user, ch->online == 1 ? "online" :
	    ch->online == 0 ? "offline: lines are queued" : "presence unknown");
	output_flush();
}

/* One turn of the loop: -1 to go on, else the exit code. */
static int
chat_turn(struct chat *ch)
{
	struct pollfd pfd[2];
	double left = ch->deadline - util_mono();

	if (ctlconn_stop)
		return CTL_EXIT_OK;
	if (ch->to_mark)
		chat_mark_read(ch);
	if (ch->eof && outstanding(ch) == 0 &&
	    (!ch->wait_delivery || ch->nsent == 0))
		return ch->failed ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	if (ch->eof && left <= 0) {
		if (outstanding(ch) > 0)
			report_warn("timeout", "no reply to %lld sends",
			    (long long)outstanding(ch));
		else
			report_warn("timeout", "%zu message%s not delivered yet "
			    "(%s stays queued; see p2pchatctl pending)", ch->nsent,
			    ch->nsent == 1 ? "" : "s", ch->nsent == 1 ? "it" :
			    "they");
		return ch->failed ? CTL_EXIT_FAIL : CTL_EXIT_TIMEOUT;
	}
	chat_lines(ch);		/* what waited for the window */
	pfd[0].fd = ch->conn->fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = ch->eof || outstanding(ch) >= CHAT_WINDOW ||
	    (ch->inlen > 0 && memchr(ch->in, '\n', ch->inlen) != NULL) ? -1 :
	    STDIN_FILENO;
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
	ch.people = output_tty() && !output_json();
	ch.wait_delivery = isatty(STDIN_FILENO) != 1;
	ch.online = -1;
	ctlconn_catch_signals();
	if ((rc = chat_watch(&ch)) != 0 || ctlconn_stop)
		return rc;
	chat_drain(&ch);	/* lines that came with the watch reply */
	chat_open(&ch);
	ch.editing = ch.people && chat_line_begin();
	while ((rc = chat_turn(&ch)) == -1)
		;
	if (ch.editing)
		chat_line_end();
	for (i = 0; i < ch.nsent; i++)
		free(ch.sent[i]);
	free(ch.sent);
	free(ch.marks);
	free(ch.in);
	return rc;
}
