/*
 * One request of p2pchatctl: sent, its reply printed by the command's
 * output shape (output.c), and a stream command's lines read to their
 * end: events (watch) or records (export).
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

typedef int (*stream_fn)(struct ctlconn *);

static int	stream_events(struct ctlconn *);
static int	stream_records(struct ctlconn *);

/* How a stream command's lines are read; events by default. */
static const stream_fn stream_cmds[CMD__MAX] = {
	[CMD_WATCH] = stream_events,
	[CMD_EXPORT] = stream_records,
};

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

int
ctl_run(struct ctlconn *c, int idx, json_t *args)
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
