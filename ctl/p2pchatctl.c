/*
 * p2pchatctl: the command-line client of p2pchatd's control socket.
 *
 * Global options come first (or anywhere), then a command from the shared
 * command table (common/ctlcmd.c), whose entry drives everything here: its
 * positional arguments and --options are parsed generically into the
 * request's "args" object (args.c) and checked with the daemon's own
 * rules; its help text is printed from it (help.c); its output shape tells
 * output.c how to print the result. A request is one JSON line over the Unix socket and the reply is
 * one JSON line back; stream commands then keep reading lines. The
 * connection itself is conn.c; the password, secret.c.
 * PACKAGE_VERSION comes from configure's DEFS.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "ctlcmd.h"
#include "help.h"
#include "output.h"
#include "proto.h"
#include "secret.h"
#include "report.h"
#include "util.h"
#include "valid.h"

typedef int (*local_fn)(struct ctlconn *, json_t *);
typedef int (*stream_fn)(struct ctlconn *);

static int	stream_events(struct ctlconn *);
static int	stream_records(struct ctlconn *);
static int	send_main(struct ctlconn *, json_t *);
static int	send_file_main(struct ctlconn *, json_t *);
static int	save_main(struct ctlconn *, json_t *);

/* Commands p2pchatctl implements itself over other commands. */
static const local_fn local_cmds[CMD__MAX] = {
	[CMD_CHAT] = chat_main,
	[CMD_SEND] = send_main,
	[CMD_SEND_FILE] = send_file_main,
	[CMD_SAVE] = save_main,
};

/* How a stream command's lines are read; events by default. */
static const stream_fn stream_cmds[CMD__MAX] = {
	[CMD_WATCH] = stream_events,
	[CMD_EXPORT] = stream_records,
};

/* ---------------------------------------------------------------- help */

/* "unknown command", and the command it is probably a typo of. */
static void __attribute__((__noreturn__))
unknown_command(const char *name)
{
	const char *names[CMD__MAX + 1], *near;
	int i;

	for (i = 0; i < CMD__MAX; i++)
		names[i] = ctl_cmds[i].name;
	names[CMD__MAX] = "help";
	if ((near = util_closest(name, names, CMD__MAX + 1)) != NULL)
		ctl_usage_error(NULL, "unknown command '%s' (did you mean '%s'?)", name,
		    near);
	ctl_usage_error(NULL, "unknown command '%s'", name);
}

/*
 * The command at argv[*i]: "group VERB" is one command of two words
 * (*i then moves to VERB). -1 if unknown; "group" without a known verb
 * is a usage error naming the verbs.
 */
static int
lookup_cmd(int argc, char **argv, int *i)
{
	char name[64], verbs[128] = "";
	int c;

	if (strcmp(argv[*i], "group") != 0)
		return ctlcmd_lookup(argv[*i]);
	if (*i + 1 < argc) {
		snprintf(name, sizeof(name), "group %s", argv[*i + 1]);
		if ((c = ctlcmd_lookup(name)) != -1) {
			(*i)++;
			return c;
		}
	}
	for (c = 0; c < CMD__MAX; c++)
		if (strncmp(ctl_cmds[c].name, "group ", 6) == 0)
			snprintf(verbs + strlen(verbs), sizeof(verbs) - strlen(verbs),
			    "%s%s", *verbs ? ", " : "", ctl_cmds[c].name + 6);
	if (*i + 1 < argc)
		ctl_usage_error(NULL, "unknown group command '%s' (one of: %s)",
		    argv[*i + 1], verbs);
	ctl_usage_error(NULL, "group needs a command: one of %s", verbs);
}

/* `p2pchatctl help [COMMAND]` */
static int
help_main(int argc, char **argv)
{
	int c, i = 0;

	if (argc == 0) {
		help_all();
		return CTL_EXIT_OK;
	}
	if ((c = lookup_cmd(argc, argv, &i)) == -1)
		unknown_command(argv[0]);
	if (argc > i + 1)
		ctl_usage_error(NULL, "help takes at most one command");
	help_cmd(&ctl_cmds[c]);
	return CTL_EXIT_OK;
}

/* ------------------------------------------------------------- commands */

/* watch: events until the daemon closes the connection or a signal. */
static int
stream_events(struct ctlconn *c)
{
	json_t *ev;

	while ((ev = ctlconn_recv(c)) != NULL) {
		if (json_object_get(ev, "event") != NULL)
			output_event(ev, c->line, c->linelen);
		json_decref(ev);
	}
	if (!ctlconn_stop)
		ctlconn_stream_ended();
	return CTL_EXIT_OK;
}

/* export: JSON records, verbatim, until {"end":true}. */
static int
stream_records(struct ctlconn *c)
{
	json_t *rec;
	bool end = false;

	while (!end && (rec = ctlconn_recv(c)) != NULL) {
		if (!(end = json_is_true(json_object_get(rec, "end"))))
			output_line(c->line, c->linelen);
		json_decref(rec);
	}
	if (!end && !ctlconn_stop)
		ctlconn_stream_ended();
	return CTL_EXIT_OK;
}

static int
run(struct ctlconn *c, int idx, json_t *args)
{
	const struct ctl_cmd_desc *cd = &ctl_cmds[idx];
	json_t *reply, *result, *error;
	json_int_t id;
	int rc = CTL_EXIT_OK;

	if (cd->shape == SHAPE_STREAM)
		ctlconn_catch_signals();
	if ((id = ctlconn_request(c, cd->name, args)) == -1)
		return CTL_EXIT_FAIL;
	reply = ctlconn_recv_reply(c);
	if ((result = ctlconn_reply(reply, id, &error)) == NULL) {
		output_error_result(cd, error);
		rc = output_error(error);
	}
	else if (cd->shape != SHAPE_STREAM)
		output_result(cd, result);
	else if (stream_cmds[idx] != NULL)
		rc = stream_cmds[idx](c);
	else
		rc = stream_events(c);
	json_decref(reply);
	return rc;
}

/* The reply to request id, or NULL when the daemon closed the connection. */
static json_t *
recv_reply_or_gone(struct ctlconn *c)
{
	json_t *r;

	while ((r = ctlconn_recv(c)) != NULL &&
	    json_object_get(r, "event") != NULL)
		json_decref(r);
	return r;
}

/* wait's answer about one message in send --wait's shape (id, state, ...). */
static json_t *
send_shape(json_t *error, json_t *id)
{
	json_t *item = json_array_get(json_object_get(error, "items"), 0);
	json_t *e = json_pack("{s:O,s:O}", "code", json_object_get(error, "code"),
	    "message", json_object_get(error, "message"));

	if (json_is_object(item))
		json_object_update_missing(e, item);
	json_object_set(e, "id", id);
	return e;
}

/*
 * send --wait as two requests, send then wait: the id is printed as soon
 * as the daemon has stored the message, so a script whose daemon dies
 * during the wait still has it (to wait again, or to retry with --id
 * without sending twice). --json prints one line, as before: the result,
 * or the error with the id among its fields.
 */
static int
send_main(struct ctlconn *c, json_t *args)
{
	const struct ctl_cmd_desc *cd = &ctl_cmds[CMD_SEND];
	json_t *timeout = json_object_get(args, "wait"), *reply, *res, *err;
	json_t *id, *e;
	json_int_t rid;
	int rc;

	if (json_object_get(args, "batch") != NULL)
		return send_batch(c, args);
	if (timeout == NULL)
		return run(c, CMD_SEND, args);
	json_incref(timeout);
	json_object_del(args, "wait");
	if ((rid = ctlconn_request(c, "send", args)) == -1)
		return CTL_EXIT_FAIL;
	reply = ctlconn_recv_reply(c);
	if ((res = ctlconn_reply(reply, rid, &err)) == NULL) {
		output_error_result(cd, err);
		rc = output_error(err);
		goto out;
	}
	if (!json_is_string(id = json_object_get(res, "id")))
		report_bad_reply();
	json_incref(id);
	json_decref(reply);
	if (!output_json())
		output_result(cd, res = json_pack("{s:O}", "id", id));
	else
		res = NULL;
	json_decref(res);
	e = json_pack("{s:[O],s:O}", "ids", id, "timeout", timeout);
	rid = ctlconn_request(c, "wait", e);
	json_decref(e);
	if (rid == -1 || (reply = recv_reply_or_gone(c)) == NULL) {
		e = json_pack("{s:s,s:s++,s:O}", "code", "daemon_gone", "message",
		    "the daemon closed the connection (it stopped or was killed); "
		    "the message is stored: wait for it again, or send with --id ",
		    json_string_value(id), " to retry without sending twice", "id",
		    id);
		output_error(e);
		json_decref(e);
		json_decref(id);
		json_decref(timeout);
		return CTL_EXIT_NODAEMON;
	}
	if ((res = ctlconn_reply(reply, rid, &err)) != NULL) {
		if (output_json())
			output_result(cd, json_array_get(json_object_get(res,
			    "items"), 0));
		rc = CTL_EXIT_OK;
	} else {
		e = send_shape(err, id);
		rc = output_error(e);
		json_decref(e);
	}
	json_decref(id);
out:
	json_decref(reply);
	json_decref(timeout);
	return rc;
}

/* A file's state that does not change any more (sender's side). */
static bool
file_ended(const char *state)
{
	return strcmp(state, "delivered") == 0 || strcmp(state, "failed") == 0 ||
	    strcmp(state, "rejected") == 0 || strcmp(state, "cancelled") == 0 ||
	    strcmp(state, "expired") == 0;
}

/* The string member key of o, or "". */
static const char *
str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/*
 * send-file --wait: subscribe to events, then read the files' states (so
 * that no change falls between the two), then follow their file-state
 * events until each has ended or the time is up. ids: the file's id, or
 * a group's one id per member. Exit 0 all delivered; 1 one failed, was
 * rejected, cancelled or expired (the code is that state); 3 at the
 * timeout.
 */
static int
file_wait(struct ctlconn *c, json_t *ids, double secs)
{
	double deadline = secs > 0 ? util_mono() + secs : 0, left;
	json_t *st = json_object(), *why = json_object();
	json_t *e, *reply, *res, *err, *it, *ev, *v;
	const char *id, *bad = NULL;
	struct pollfd pfd;
	json_int_t rid;
	size_t i, open_n;
	int n, rc;

	json_array_foreach(ids, i, v)
		json_object_set_new(st, json_string_value(v), json_string("pending"));
	ctlconn_catch_signals();
	e = json_object();
	rid = ctlconn_request(c, "watch", e);
	json_decref(e);
	reply = ctlconn_recv_reply(c);
	if (ctlconn_reply(reply, rid, &err) == NULL)
		exit(output_error(err));
	json_decref(reply);
	e = json_object();
	rid = ctlconn_request(c, "files", e);
	json_decref(e);
	reply = ctlconn_recv_reply(c);
	if ((res = ctlconn_reply(reply, rid, &err)) == NULL)
		exit(output_error(err));
	json_array_foreach(json_object_get(res, "items"), i, it)
		if (json_object_get(st, str_of(it, "id")) != NULL)
			json_object_set_new(st, str_of(it, "id"),
			    json_string(str_of(it, "state")));
	json_decref(reply);
	for (;;) {
		open_n = 0;
		json_object_foreach(st, id, v)
			open_n += !file_ended(json_string_value(v));
		if (open_n == 0 || ctlconn_stop)
			break;
		if ((ev = ctlconn_take(c)) != NULL) {
			if (strcmp(str_of(ev, "event"), "file-state") == 0 &&
			    json_object_get(st, str_of(ev, "id")) != NULL) {
				json_object_set_new(st, str_of(ev, "id"),
				    json_string(str_of(ev, "state")));
				json_object_set_new(why, str_of(ev, "id"),
				    json_string(str_of(ev, "reason")));
			}
			json_decref(ev);
			continue;
		}
		left = deadline > 0 ? deadline - util_mono() : -1;
		if (deadline > 0 && left <= 0)
			break;
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		if ((n = ctlconn_poll(&pfd, 1, left < 0 ? -1 :
		    (int)(left * 1000) + 1)) == -1 && errno != EINTR)
			report_die_errno(CTL_EXIT_FAIL, "io_error", "poll");
		if (n > 0 && ctlconn_fill(c) == 0) {
			e = json_pack("{s:s,s:s}", "code", "daemon_gone",
			    "message", "the daemon closed the connection; the file "
			    "is stored: follow it with files, or send-file --id to "
			    "retry without sending twice");
			output_error(e);
			exit(CTL_EXIT_NODAEMON);
		}
	}
	json_object_foreach(st, id, v)
		if (bad == NULL && strcmp(json_string_value(v), "delivered") != 0)
			bad = id;
	if (bad == NULL) {
		rc = CTL_EXIT_OK;
		if (output_json()) {
			e = json_pack("{s:O,s:s}", "ids", ids, "state", "delivered");
			output_result(&ctl_cmds[CMD_SEND_FILE], e);
			json_decref(e);
		}
	} else if (ctlconn_stop)
		rc = CTL_EXIT_OK;
	else {
		const char *state = json_string_value(json_object_get(st, bad));
		const char *reason = str_of(why, bad);

		e = json_pack("{s:s,s:s++,s:s,s:s}", "code", file_ended(state) ?
		    state : "timeout", "message", bad, ": ", *reason != '\0' ?
		    reason : file_ended(state) ? "the file ended undelivered" :
		    "not delivered yet", "id", bad, "state", state);
		rc = output_error(e);
		if (!file_ended(state))
			rc = CTL_EXIT_TIMEOUT;
		json_decref(e);
	}
	json_decref(st);
	json_decref(why);
	return rc;
}

/*
 * send-file: PATH is opened here and the descriptor passed to the daemon
 * with the request (SCM_RIGHTS), so the daemon needs no access to the
 * caller's directories; "-" passes standard input as it is (a file or
 * a pipe, read to its end). The path does not travel: the name does, the
 * path's last component unless --name.
 */
static int
send_file_main(struct ctlconn *c, json_t *args)
{
	const struct ctl_cmd_desc *cd = &ctl_cmds[CMD_SEND_FILE];
	const char *path = json_string_value(json_object_get(args, "path"));
	const char *base;
	json_t *reply, *res, *err, *timeout, *ids, *v;
	json_int_t rid;
	double secs = 0;
	bool wait = false;
	size_t i;
	int fd, rc;

	if (path == NULL)
		ctl_usage_error(cd, "send-file needs a PATH (or - for standard "
		    "input)");
	if (strcmp(path, "-") == 0) {
		if (json_object_get(args, "name") == NULL)
			ctl_usage_error(cd, "send-file - needs --name NAME");
		fd = STDIN_FILENO;
	} else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		report_die_errno(CTL_EXIT_FAIL, "io_error", "%s", path);
	if (json_object_get(args, "name") == NULL) {
		base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
		if (*base == '\0')
			ctl_usage_error(cd, "%s names no file: give --name", path);
		json_object_set_new(args, "name", json_string(base));
		if (json_object_get(args, "name") == NULL)
			ctl_usage_error(cd, "%s: the name is not UTF-8: give --name",
			    path);
	}
	json_object_del(args, "path");
	if ((rc = ctl_check_args(cd, args)) != 0)
		return rc;
	if ((timeout = json_object_get(args, "wait")) != NULL) {
		wait = true;
		secs = json_number_value(timeout);
		json_object_del(args, "wait");
	}
	if ((rid = ctlconn_request_fd(c, cd->name, args, fd)) == -1)
		return CTL_EXIT_FAIL;
	if (fd != STDIN_FILENO)
		close(fd);
	reply = ctlconn_recv_reply(c);
	if ((res = ctlconn_reply(reply, rid, &err)) == NULL) {
		output_error_result(cd, err);
		rc = output_error(err);
	} else if (!wait) {
		output_result(cd, res);
		rc = CTL_EXIT_OK;
	} else {
		if (!output_json())
			output_result(cd, res);
		output_flush();
		if (json_is_array(json_object_get(res, "ids"))) {
			ids = json_array();
			json_array_foreach(json_object_get(res, "ids"), i, v)
				json_array_append(ids, json_object_get(v, "id"));
		} else
			ids = json_pack("[O]", json_object_get(res, "id"));
		rc = file_wait(c, ids, secs);
		json_decref(ids);
	}
	json_decref(reply);
	return rc;
}

/*
 * save ID PATH: PATH is created here (never over an existing file unless
 * --force; "-" is standard output) and passed to the daemon, which copies
 * the stored file into it. A file this command created is removed again
 * if the copy fails.
 */
static int
save_main(struct ctlconn *c, json_t *args)
{
	const struct ctl_cmd_desc *cd = &ctl_cmds[CMD_SAVE];
	const char *arg = json_string_value(json_object_get(args, "path"));
	bool force = json_is_true(json_object_get(args, "force"));
	bool made = false;
	char *path;
	json_t *reply, *res, *err;
	json_int_t rid;
	int fd, rc;

	if (arg == NULL)
		ctl_usage_error(cd, "save needs a PATH (or - for standard output)");
	path = xstrdup(arg);	/* args' copy goes with "path" */
	if (strcmp(path, "-") == 0)
		fd = STDOUT_FILENO;
	else if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOCTTY, 0666)) != -1)
		made = true;
	else if (errno == EEXIST && !force)
		report_die(CTL_EXIT_FAIL, "exists", "%s exists; nothing written "
		    "(--force writes over it)", path);
	else if (errno != EEXIST || (fd = open(path, O_WRONLY | O_TRUNC |
	    O_CLOEXEC | O_NOCTTY)) == -1)
		report_die_errno(CTL_EXIT_FAIL, "io_error", "%s", path);
	json_object_del(args, "path");
	json_object_del(args, "force");
	if ((rid = ctlconn_request_fd(c, cd->name, args, fd)) == -1)
		return CTL_EXIT_FAIL;
	reply = ctlconn_recv_reply(c);
	if ((res = ctlconn_reply(reply, rid, &err)) == NULL) {
		if (made)
			unlink(path);
		output_error_result(cd, err);
		rc = output_error(err);
	} else
		rc = CTL_EXIT_OK;
	if (fd != STDOUT_FILENO)
		close(fd);
	json_decref(reply);
	free(path);
	return rc;
}

/* A line typed at the terminal, without its end; false at end of input. */
static bool
ask(const char *question, char *line, size_t len)
{
	fputs(question, stderr);
	if (fgets(line, (int)len, stdin) == NULL)
		return false;
	line[strcspn(line, "\n")] = '\0';
	return true;
}

/*
 * A command that destroys (chat-delete): asked twice on a terminal, the
 * second time by the user's name; without a terminal only --yes does.
 * "yes" is p2pchatctl's, not sent. Returns 0 to go on, else the exit code
 * (reported), so that the caller frees what it holds before exiting.
 */
static int
confirm(const struct ctl_cmd_desc *cd, json_t *args)
{
	const char *user = json_string_value(json_object_get(args, "user"));
	bool yes = json_is_true(json_object_get(args, "yes"));
	char line[128], q[256];

	json_object_del(args, "yes");
	if (yes)
		return 0;
	if (isatty(STDIN_FILENO) != 1)
		return ctl_usage_report(cd, "%s deletes the chat with %s and its "
		    "messages for good: add --yes to confirm (standard input is "
		    "not a terminal to ask on)", cd->name, user);
	snprintf(q, sizeof(q), "Delete the chat with %s and all its messages, "
	    "for good? [y/N] ", user);
	if (!ask(q, line, sizeof(line)) || (strcmp(line, "y") != 0 &&
	    strcmp(line, "yes") != 0))
		goto refused;
	snprintf(q, sizeof(q), "Type %s to delete the chat: ", user);
	if (!ask(q, line, sizeof(line)) || strcmp(line, user) != 0)
		goto refused;
	return 0;
refused:
	report_warn("not_confirmed", "nothing deleted");
	return CTL_EXIT_FAIL;
}

/*
 * send --batch USER [--ttl S] [--jsonl]: TEXT, --group, --id and --wait
 * belong to one message (an id comes on its --jsonl line). The per-line
 * arguments are checked as each line is read; 0 or the exit code.
 */
static int
batch_check(const struct ctl_cmd_desc *cd, json_t *args)
{
	static const char *const one[] = { "text", "group", "id", "wait" };
	json_t *probe;
	size_t i;
	int rc;

	if (json_object_get(args, "batch") == NULL) {
		if (json_object_get(args, "jsonl") != NULL)
			return ctl_usage_report(cd, "--jsonl is for send --batch");
		return ctl_check_args(cd, args);
	}
	for (i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if (json_object_get(args, one[i]) != NULL)
			return ctl_usage_report(cd, "send --batch reads its "
			    "messages from standard input, one a line: %s is "
			    "not for --batch%s",
			    strcmp(one[i], "text") == 0 ? "TEXT" : one[i],
			    strcmp(one[i], "id") == 0 ? " (give ids on --jsonl "
			    "lines: {\"text\":...,\"id\":...})" : "");
	probe = json_deep_copy(args);
	json_object_del(probe, "batch");
	json_object_del(probe, "jsonl");
	json_object_set_new(probe, "text", json_string("-"));
	rc = ctl_check_args(cd, probe);
	json_decref(probe);
	return rc;
}

/*
 * -s SOCKET, else the control_socket of the configuration. Keys p2pchatd
 * would refuse do not stop us: only the socket's path matters here.
 */
static char *
socket_path(const struct ctl_globals *g)
{
	struct config *cf;
	char msg[1024], warn[1024];
	char *path;

	if (g->socket != NULL)
		return xstrdup(g->socket);
	if ((cf = config_load_lenient(g->config, warn, sizeof(warn), msg,
	    sizeof(msg))) == NULL)
		report_die(CTL_EXIT_USAGE, "config", "%s", msg);
	if (*warn != '\0')
		report_warn("config", "%s (p2pchatd would refuse this file; "
		    "p2pchatctl only needs the control socket)", warn);
	path = xstrdup(cf->control_socket);
	config_free(cf);
	return path;
}

static int
parse_globals(int argc, char **argv, struct ctl_globals *g)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "password-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:c:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			g->config = optarg;
			break;
		case 's':
			g->socket = optarg;
			break;
		case 'j':
			g->json = true;
			break;
		case 'p':
			g->pwfile = optarg;
			break;
		case 'h':
			help_all();
			exit(CTL_EXIT_OK);
		case 'V':
			printf("p2pchatctl %s\n", PACKAGE_VERSION);
			exit(CTL_EXIT_OK);
		case ':':
			ctl_usage_error(NULL, "option %s needs a value",
			    argv[optind - 1]);
		default:
			if (optopt != 0)
				ctl_usage_error(NULL, "unknown option -%c", optopt);
			ctl_usage_error(NULL, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind == argc)
		ctl_usage_error(NULL, "no command given");
	return optind;
}

int
main(int argc, char **argv)
{
	struct ctl_globals g = { NULL, NULL, NULL, false };
	const struct ctl_cmd_desc *cd;
	struct ctlconn conn;
	json_t *args;
	char *path;
	int i, idx, rc;

	secret_init();
	signal(SIGPIPE, SIG_IGN);
	i = parse_globals(argc, argv, &g);
	if (strcmp(argv[i], "help") == 0)
		return help_main(argc - i - 1, argv + i + 1);
	if ((idx = lookup_cmd(argc, argv, &i)) == -1)
		unknown_command(argv[i]);
	cd = &ctl_cmds[idx];
	args = args_parse(cd, &g, argc - i - 1, argv + i + 1);
	if (g.config != NULL && g.socket != NULL)
		ctl_usage_error(NULL, "-c and -s cannot be used together");
	output_init(g.json);
	/* A stand-in password lets every other argument be checked first. */
	if (cd->flags & CTLF_PASSWORD)
		json_object_set_new(args, "password", json_string("********"));
	if ((rc = idx == CMD_SEND ? batch_check(cd, args) :
	    ctl_check_args(cd, args)) != 0) {
		json_decref(args);
		return rc;
	}
	path = socket_path(&g);
	ctlconn_connect(&conn, path);
	if (cd->flags & CTLF_PASSWORD) {
		secret_add_password(cd, args, g.pwfile);
		if ((rc = ctl_check_args(cd, args)) != 0)
			goto out;
	}
	if ((cd->flags & CTLF_CONFIRM) && (rc = confirm(cd, args)) != 0)
		goto out;
	if (local_cmds[idx] != NULL)
		rc = local_cmds[idx](&conn, args);
	else
		rc = run(&conn, idx, args);
out:
	json_decref(args);
	ctlconn_close(&conn);
	free(path);
	return rc;
}
