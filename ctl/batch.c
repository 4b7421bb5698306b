/*
 * send --batch USER: one message per line of standard input (or, with
 * --jsonl, one JSON object {"text":..., "id":...} per line), sent on one
 * connection with at most BATCH_WINDOW requests unanswered, so that a
 * script pays one process and the daemon one group commit per loop turn
 * instead of one process and one commit per message. Output line N
 * answers input line N: the id (--json: the result), or an empty line
 * where that line failed (--json: the error with "line"), its error on
 * stderr as "line N: ...". Exit 0 if every line was stored, 1 if any
 * failed, 4 if the daemon went away (the lines not answered are named).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "output.h"
#include "proto.h"
#include "report.h"
#include "util.h"

/* As chat's window: the daemon answers well before its queue (1024) fills. */
#define BATCH_WINDOW	256

struct bslot {
	long		 line;
	json_int_t	 rid;		/* -1: refused here, err says why */
	json_t		*err;
};

struct batch {
	struct ctlconn	*conn;
	const struct ctl_cmd_desc *cd;
	struct bslot	 ring[BATCH_WINDOW];
	size_t		 head;
	size_t		 n;
	bool		 failed;
};

static json_t *
line_error(long line, const char *code, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));

static json_t *
line_error(long line, const char *code, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s,s:s,s:I}", "code", code, "message", msg,
	    "line", (json_int_t)line);
}

/* The request's args for one input line, or NULL with *err set. */
static json_t *
line_args(const json_t *base, bool jsonl, long line, const char *s, size_t len,
    json_t **err)
{
	json_t *args = json_deep_copy(base), *obj, *v;
	json_error_t je;
	const char *key;
	char msg[512];

	if (!jsonl) {
		if ((v = json_stringn(s, len)) == NULL) {
			*err = line_error(line, "invalid_argument", "line %ld: "
			    "not UTF-8 text without NUL", line);
			goto fail;
		}
		json_object_set_new(args, "text", v);
	} else {
		obj = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je);
		if (!json_is_object(obj)) {
			*err = line_error(line, "invalid_argument", "line %ld: not "
			    "a JSON object%s%s", line, obj == NULL ? ": " : "",
			    obj == NULL ? je.text : "");
			json_decref(obj);
			goto fail;
		}
		json_object_foreach(obj, key, v) {
			if (strcmp(key, "text") != 0 && strcmp(key, "id") != 0) {
				*err = line_error(line, "invalid_argument", "line "
				    "%ld: unknown member '%s' (a line has \"text\" "
				    "and optionally \"id\")", line, key);
				json_decref(obj);
				goto fail;
			}
			json_object_set(args, key, v);
		}
		json_decref(obj);
		if (json_object_get(args, "text") == NULL) {
			*err = line_error(line, "invalid_argument", "line %ld: no "
			    "\"text\"", line);
			goto fail;
		}
	}
	if (ctlcmd_check_args(&ctl_cmds[CMD_SEND], args, CTL_MAXBODY, msg,
	    sizeof(msg)) == -1) {
		*err = line_error(line, "invalid_argument", "line %ld: %s", line,
		    msg);
		goto fail;
	}
	return args;
fail:
	json_decref(args);
	return NULL;
}

static void
print_failure(struct batch *b, json_t *err)
{
	b->failed = true;
	output_error(err);
	if (!output_json())
		output_line("", 0);
}

/* Answer the oldest line: its id, or its error. */
static void
take_oldest(struct batch *b)
{
	struct bslot *s = &b->ring[b->head];
	json_t *reply, *res, *err, *e;
	const char *msg;

	if (s->rid == -1)
		print_failure(b, s->err);
	else {
		while ((reply = ctlconn_recv(b->conn)) != NULL &&
		    json_object_get(reply, "event") != NULL)
			json_decref(reply);
		if (reply == NULL) {
			output_flush();
			report_die(CTL_EXIT_NODAEMON, "daemon_gone", "the daemon "
			    "closed the connection (it stopped or was killed) "
			    "before answering line %ld: lines %ld-%ld may or may "
			    "not be stored (send them again with the same ids, "
			    "--jsonl with \"id\", to not send twice)", s->line,
			    s->line, b->ring[(b->head + b->n - 1) %
			    BATCH_WINDOW].line);
		}
		if ((res = ctlconn_reply(reply, s->rid, &err)) != NULL)
			output_result(b->cd, res);
		else {
			e = json_deep_copy(err);
			msg = json_string_value(json_object_get(err, "message"));
			json_object_set_new(e, "message", json_sprintf("line %ld: "
			    "%s", s->line, msg != NULL ? msg : ""));
			json_object_set_new(e, "line", json_integer(s->line));
			print_failure(b, e);
			json_decref(e);
		}
		json_decref(reply);
	}
	json_decref(s->err);
	s->err = NULL;
	b->head = (b->head + 1) % BATCH_WINDOW;
	b->n--;
}

int
send_batch(struct ctlconn *c, json_t *args)
{
	struct batch b = { c, &ctl_cmds[CMD_SEND], { { 0, 0, NULL } }, 0, 0,
	    false };
	bool jsonl = json_is_true(json_object_get(args, "jsonl"));
	json_t *base = json_deep_copy(args), *req, *err = NULL;
	struct bslot *s;
	char *line = NULL;
	size_t cap = 0, len;
	ssize_t got;
	long lineno = 0;

	json_object_del(base, "batch");
	json_object_del(base, "jsonl");
	for (;;) {
		errno = 0;
		if ((got = getline(&line, &cap, stdin)) == -1) {
			if (errno != 0)
				report_die(CTL_EXIT_FAIL, "io_error", "standard "
				    "input, after line %ld: %s", lineno,
				    strerror(errno));
			break;
		}
		lineno++;
		len = (size_t)got;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (b.n == BATCH_WINDOW)
			take_oldest(&b);
		s = &b.ring[(b.head + b.n++) % BATCH_WINDOW];
		s->line = lineno;
		s->rid = -1;
		if ((req = line_args(base, jsonl, lineno, line, len, &err)) ==
		    NULL)
			s->err = err;
		else {
			if ((s->rid = ctlconn_request(c, "send", req)) == -1)
				s->err = line_error(lineno, "invalid_argument",
				    "line %ld: the request is too long", lineno);
			json_decref(req);
		}
	}
	while (b.n > 0)
		take_oldest(&b);
	free(line);
	json_decref(base);
	return b.failed ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}
