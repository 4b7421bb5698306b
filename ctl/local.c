/*
 * Commands p2pchatctl runs itself over the daemon's (chat is chat.c,
 * send --batch batch.c): send --wait (the id printed once stored, then
 * the wait), send-file --wait (the file's progress until it ends), save
 * (a received file written out).
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
int
local_send(struct ctlconn *c, json_t *args)
{
	const struct ctl_cmd_desc *cd = &ctl_cmds[CMD_SEND];
	json_t *timeout = json_object_get(args, "wait"), *reply, *res, *err;
	json_t *id, *e;
	json_int_t rid;
	int rc;

	if (json_object_get(args, "batch") != NULL)
		return send_batch(c, args);
	if (timeout == NULL)
		return ctl_run(c, CMD_SEND, args);
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
 * Subscribe to events, then read the states of the files in st (so that
 * no change falls between the two) into it.
 */
static void
file_watch_states(struct ctlconn *c, json_t *st)
{
	json_t *e, *reply, *res, *err, *it;
	json_int_t rid;
	size_t i;

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
}

/* The exit status (and what is printed) once the files of st are followed. */
static int
file_verdict(json_t *ids, json_t *st, json_t *why)
{
	const char *id, *bad = NULL;
	json_t *e, *v;
	int rc;

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
	return rc;
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
	json_t *e, *ev, *v;
	const char *id;
	struct pollfd pfd;
	size_t i, open_n;
	int n, rc;

	json_array_foreach(ids, i, v)
		json_object_set_new(st, json_string_value(v), json_string("pending"));
	file_watch_states(c, st);
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
	rc = file_verdict(ids, st, why);
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
int
local_send_file(struct ctlconn *c, json_t *args)
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
int
local_save(struct ctlconn *c, json_t *args)
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
