/*
 * Control socket: its clients and their requests. Each client is a
 * bufferevent on a Unix stream socket. Requests queue in arrival order;
 * a reply (and any lines streamed with it) is held until every earlier
 * request has been answered, so pipelined requests are answered in order
 * even when a handler waits on the network. A client whose replies and
 * events go unread stops being read, and is closed when it reads none
 * for limits.send_timeout. Opening the socket and taking a new client
 * (who may connect, the first read) is ctlsock_open.c.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "ctlsock_int.h"
#include "jsonw.h"
#include "listener.h"
#include "proto.h"
#include "util.h"


static void	client_flush(struct ctlclient *);

static void
put_line(struct evbuffer *buf, const json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);

	if (s == NULL)
		return;
	evbuffer_add(buf, s, strlen(s));
	evbuffer_add(buf, "\n", 1);
	free(s);
}

void
ctlsock_set_send_timeout(struct ctlsock *cs, double seconds)
{
	cs->send_timeout = seconds;
}

void
ctlsock_set_max_body(struct ctlsock *cs, size_t max_body)
{
	cs->max_body = max_body;
}

int
ctlsock_nclients(const struct ctlsock *cs)
{
	return cs->nclients;
}

void
ctlsock_broadcast_text(struct ctlsock *cs, const char *line, size_t len)
{
	struct ctlclient *c;
	struct ctlreq *last;
	struct evbuffer *buf;

	TAILQ_FOREACH(c, &cs->clients, entry) {
		if (!c->subscribed || c->closing || c->bev == NULL)
			continue;
		/* Behind any answer still queued, so nothing overtakes it. */
		if ((last = TAILQ_LAST(&c->reqs, ctlreq_q)) != NULL)
			buf = last->tail;
		else
			buf = bufferevent_get_output(c->bev);
		evbuffer_add(buf, line, len);
		evbuffer_add(buf, "\n", 1);
	}
}

/* Printed once, whatever the number of subscribers. */
void
ctlsock_broadcast(struct ctlsock *cs, const json_t *event)
{
	char *s;

	if (!ctlsock_watched(cs) ||
	    (s = json_dumps(event, JSON_COMPACT)) == NULL)
		return;
	ctlsock_broadcast_text(cs, s, strlen(s));
	free(s);
}

int
ctlsock_watched(const struct ctlsock *cs)
{
	const struct ctlclient *c;

	TAILQ_FOREACH(c, &cs->clients, entry)
		if (c->subscribed && !c->closing)
			return 1;
	return 0;
}

static void
req_free(struct ctlreq *r)
{
	json_decref(r->id);
	if (r->fd != -1)
		close(r->fd);
	evbuffer_free(r->reply);
	evbuffer_free(r->tail);
	free(r);
}

void
ctlclient_free(struct ctlclient *c)
{
	struct ctlreq *r;

	while ((r = TAILQ_FIRST(&c->reqs)) != NULL) {
		TAILQ_REMOVE(&c->reqs, r, entry);
		if (r->done)
			req_free(r);
		else
			r->client = NULL;	/* the handler still holds it */
	}
	TAILQ_REMOVE(&c->cs->clients, c, entry);
	c->cs->nclients--;
	if (c->out_cb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_output(c->bev),
		    c->out_cb);
	if (c->passed_fd != -1)
		close(c->passed_fd);
	if (c->first != NULL) {
		evutil_closesocket(event_get_fd(c->first));
		event_free(c->first);
	}
	event_free(c->stall);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	free(c);
}

/* Move every answered request at the head of the queue to the socket. */
static void
client_flush(struct ctlclient *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct ctlreq *r;

	while ((r = TAILQ_FIRST(&c->reqs)) != NULL && r->done) {
		TAILQ_REMOVE(&c->reqs, r, entry);
		c->nreqs--;
		evbuffer_add_buffer(out, r->reply);
		evbuffer_add_buffer(out, r->tail);
		if (r->subscribe)
			c->subscribed = 1;
		req_free(r);
	}
}

/* Reply to a request the client sent badly, then keep reading. */
static void
reply_bad(struct ctlclient *c, json_t *id, const char *code, const char *msg)
{
	json_t *o = json_pack("{s:O?,s:b,s:{s:s,s:s}}", "id", id, "ok", 0,
	    "error", "code", code, "message", msg);

	if (o == NULL)
		return;
	if (TAILQ_EMPTY(&c->reqs))
		put_line(bufferevent_get_output(c->bev), o);
	else
		put_line(TAILQ_LAST(&c->reqs, ctlreq_q)->tail, o);
	json_decref(o);
}

int
ctlsock_parse_request(const char *line, size_t len, unsigned mode_bit,
    size_t max_body, json_t **msg, json_t **id, int *cmd, const char **code,
    char *err, size_t errlen)
{
	json_error_t jerr;
	const char *name;
	json_t *v;

	*id = NULL;
	*cmd = -1;
	*code = ERR_BAD_REQUEST;
	*msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(*msg)) {
		snprintf(err, errlen, "each line must be one JSON object");
		return -1;
	}
	v = json_object_get(*msg, "id");
	if (v != NULL && !json_is_integer(v) && !json_is_string(v)) {
		snprintf(err, errlen, "'id' must be an integer or string");
		return -1;
	}
	*id = v;
	if ((name = json_string_value(json_object_get(*msg, "cmd"))) == NULL) {
		snprintf(err, errlen, "missing string member 'cmd'");
		return -1;
	}
	if ((*cmd = ctlcmd_lookup(name)) == -1 ||
	    !(ctl_cmds[*cmd].modes & mode_bit) ||
	    (ctl_cmds[*cmd].flags & CTLF_LOCAL)) {
		*code = ERR_UNKNOWN_COMMAND;
		snprintf(err, errlen, "no command '%.64s' in this daemon's mode",
		    name);
		return -1;
	}
	if (ctlcmd_check_args(&ctl_cmds[*cmd], json_object_get(*msg, "args"),
	    (unsigned)max_body, err, errlen) == -1) {
		*code = ERR_INVALID_ARGUMENT;
		return -1;
	}
	return 0;
}

void
ctlsock_set_hot_send(struct ctlsock *cs, ctl_hot_send_fn fn)
{
	cs->hot_send = fn;
}

static struct ctlreq *
req_new(struct ctlclient *c, json_t *id, int cmd)
{
	struct ctlreq *r = xcalloc(1, sizeof(*r));

	r->client = c;
	r->fd = c->passed_fd;		/* only ever the first request's */
	c->passed_fd = -1;
	r->id = json_incref(id);
	r->cmd = (enum ctl_cmd)cmd;
	r->reply = evbuffer_new();
	r->tail = evbuffer_new();
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	c->nreqs++;
	log_debug("ctlsock: %s", ctl_cmds[cmd].name);
	return r;
}

/* A send read hot: as dispatch() would run it, without a JSON tree. */
static void
dispatch_hot(struct ctlclient *c, const struct ctl_hot_send *h)
{
	json_t *id = json_integer(h->reqid);

	c->cs->hot_send(req_new(c, id, CMD_SEND), h, c->cs->ctx);
	json_decref(id);
}

/* Run the handler of a request ctlsock_parse_request() accepted. */
static void
dispatch(struct ctlclient *c, json_t *msg, json_t *id, int cmd)
{
	struct ctlsock *cs = c->cs;
	json_t *args = json_object_get(msg, "args");
	struct ctlreq *r;

	if (cs->handlers[cmd] == NULL) {
		reply_bad(c, id, ERR_UNSUPPORTED, "command not supported yet");
		return;
	}
	r = req_new(c, id, cmd);
	if (args == NULL) {
		args = json_object();
		cs->handlers[cmd](r, args, cs->ctx);
		json_decref(args);
	} else
		cs->handlers[cmd](r, args, cs->ctx);
}


/* Overwrite a password in a request before it is freed. */
static void
scrub(json_t *msg)
{
	json_t *pw = json_object_get(json_object_get(msg, "args"), "password");

	if (json_is_string(pw))
		util_zero((char *)json_string_value(pw), json_string_length(pw));
}

/*
 * evbuffer_readln(), except that the line's bytes are overwritten inside
 * the input buffer before they are drained: a request may hold a
 * password, and libevent frees drained memory as it is.
 */
static char *
take_line(struct evbuffer *in, size_t *len)
{
	struct evbuffer_ptr eol;
	struct evbuffer_iovec iov[8];
	size_t eol_len, left, done, k;
	char *line;
	int i, n;

	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (eol.pos == -1)
		return NULL;
	*len = (size_t)eol.pos;
	line = xmalloc(*len + 1);
	if (evbuffer_copyout(in, line, *len) != (ev_ssize_t)*len)
		fatalx("%s: evbuffer_copyout", __func__);
	line[*len] = '\0';
	for (left = *len + eol_len; left > 0; left -= done) {
		n = evbuffer_peek(in, (ev_ssize_t)left, NULL, iov, 8);
		for (i = 0, done = 0; i < n && i < 8 && done < left; i++) {
			k = iov[i].iov_len < left - done ? iov[i].iov_len :
			    left - done;
			explicit_bzero(iov[i].iov_base, k);
			done += k;
		}
		if (done == 0)
			fatalx("%s: evbuffer_peek", __func__);
		evbuffer_drain(in, done);
	}
	return line;
}

/* Counted, not walked: it is asked once per request line. */
int
ctlclient_queued(const struct ctlclient *c)
{
	return c->nreqs;
}

void
ctlclient_on_read(struct bufferevent *bev, void *arg)
{
	struct ctlclient *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ctl_hot_send *hot;
	const char *code;
	json_t *msg, *id;
	char err[256];
	size_t len;
	char *line;
	int cmd;

	/*
	 * libevent 2.1 reads at most 4 KiB per callback: take what else is
	 * waiting (the bufferevent keeps its input frozen in between), so
	 * that a loop turn's pipelined sends are one group commit.
	 */
	evbuffer_unfreeze(in, 0);
	while (!c->closing && evbuffer_get_length(in) < CTL_READ_MAX &&
	    evbuffer_read(in, bufferevent_getfd(bev), CTL_READ_MAX) > 0)
		;
	evbuffer_freeze(in, 0);
	while (!c->closing && ctlclient_queued(c) < CTL_MAX_QUEUED && !c->out_full &&
	    (line = take_line(in, &len)) != NULL) {
		if (len == 0) {
			free(line);
			continue;
		}
		msg = NULL;
		if (c->cs->hot_send != NULL && c->passed_fd == -1 &&
		    (hot = ctl_hot_send_parse(line, len, c->cs->max_body)) !=
		    NULL) {
			dispatch_hot(c, hot);
			free(hot);
		} else if (ctlsock_parse_request(line, len, c->cs->mode_bit,
		    c->cs->max_body, &msg, &id, &cmd, &code, err,
		    sizeof(err)) == -1)
			reply_bad(c, id, code, err);
		else
			dispatch(c, msg, id, cmd);
		if (c->passed_fd != -1) {	/* the first line was refused */
			close(c->passed_fd);
			c->passed_fd = -1;
		}
		util_zero(line, len);	/* may hold a password */
		free(line);
		scrub(msg);
		json_decref(msg);
	}
	/* Too long: that much input and still no end of line. */
	if (evbuffer_get_length(in) > P2P_CTL_LINE_MAX &&
	    evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF).pos == -1) {
		reply_bad(c, NULL, ERR_BAD_REQUEST, "request line too long");
		c->closing = 1;
		bufferevent_disable(bev, EV_READ);
	}
	/*
	 * A full queue stops reading until replies drain it (ctlclient_on_write):
	 * the bufferevent would otherwise read on without limit, and a
	 * client pipelining faster than the store commits (make bench's
	 * feed on a slow disk) passed P2P_CTL_LINE_MAX of complete lines
	 * and was closed as if it had sent one over-long line.
	 */
	if (!c->closing && (ctlclient_queued(c) >= CTL_MAX_QUEUED || c->out_full))
		bufferevent_disable(bev, EV_READ);
	client_flush(c);
}

/*
 * Backpressure: the output went over CTL_OUT_HIGH (stop taking requests,
 * start the deadline), the client read some of it (a new deadline), or
 * it is back under half (ctlclient_on_write resumes reading).
 */
void
ctlclient_on_out_change(struct evbuffer *out, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct ctlclient *c = arg;
	struct timeval tv;
	size_t len = evbuffer_get_length(out);

	if (len > CTL_OUT_HIGH) {
		if (!c->out_full || info->n_deleted > 0) {
			tv.tv_sec = (time_t)c->cs->send_timeout;
			tv.tv_usec = (suseconds_t)((c->cs->send_timeout -
			    (double)tv.tv_sec) * 1e6);
			evtimer_add(c->stall, &tv);
		}
		c->out_full = 1;
	} else if (c->out_full && len <= CTL_OUT_HIGH / 2) {
		c->out_full = 0;
		evtimer_del(c->stall);
	}
}

void
ctlclient_on_stall(evutil_socket_t fd, short what, void *arg)
{
	struct ctlclient *c = arg;

	log_warnx("ctlsock: closing a client that read none of its %zu "
	    "unsent bytes for %.0f s",
	    evbuffer_get_length(bufferevent_get_output(c->bev)),
	    c->cs->send_timeout);
	ctlclient_free(c);
}

void
ctlclient_on_write(struct bufferevent *bev, void *arg)
{
	struct ctlclient *c = arg;

	if (c->closing && TAILQ_EMPTY(&c->reqs)) {
		/* Called at half the mark too: close once all is written. */
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			ctlclient_free(c);
	} else if (ctlclient_queued(c) < CTL_MAX_QUEUED && !c->out_full) {
		if (!c->closing)
			bufferevent_enable(bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
			ctlclient_on_read(bev, c);
	}
}

void
ctlclient_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctlclient *c = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		log_debug("ctlsock: client gone");
		ctlclient_free(c);
	}
}

static void
req_finish(struct ctlreq *r, json_t *reply)
{
	struct ctlclient *c = r->client;

	r->done = 1;
	if (c == NULL) {
		json_decref(reply);
		req_free(r);
		return;
	}
	put_line(r->reply, reply);
	json_decref(reply);
	client_flush(c);
}

void
ctlreq_reply(struct ctlreq *r, json_t *result)
{
	json_t *o = json_pack("{s:O?,s:b,s:o}", "id", r->id, "ok", 1,
	    "result", result != NULL ? result : json_object());

	req_finish(r, o);
}

/* {"id":ID,"ok":true,"result":RESULT} printed, for replies sent per message. */
void
ctlreq_reply_text(struct ctlreq *r, const char *result, size_t len)
{
	struct ctlclient *c = r->client;
	struct jsonw w;

	r->done = 1;
	if (c == NULL) {
		req_free(r);
		return;
	}
	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_json(&w, "id", r->id);
	jsonw_bool(&w, "ok", true);
	jsonw_close(&w);
	if (jsonw_ok(&w) == 0) {
		/* Reopen the object to splice the result in as its last member. */
		evbuffer_add(r->reply, jsonw_data(&w), jsonw_len(&w) - 1);
		evbuffer_add(r->reply, ",\"result\":", 10);
		evbuffer_add(r->reply, result, len);
		evbuffer_add(r->reply, "}\n", 2);
	}
	jsonw_free(&w);
	client_flush(c);
}

void
ctlreq_error(struct ctlreq *r, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	req_finish(r, json_pack("{s:O?,s:b,s:{s:s,s:s}}", "id", r->id, "ok", 0,
	    "error", "code", code, "message", msg));
}

void
ctlreq_error_obj(struct ctlreq *r, const char *code, json_t *fields,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *e;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = fields != NULL ? fields : json_object();
	json_object_set_new(e, "code", json_string(code));
	json_object_set_new(e, "message", json_string(msg));
	req_finish(r, json_pack("{s:O?,s:b,s:o}", "id", r->id, "ok", 0,
	    "error", e));
}

void
ctlreq_subscribe(struct ctlreq *r)
{
	r->subscribe = 1;
}

void
ctlreq_stream(struct ctlreq *r, const json_t *line)
{
	if (r->client != NULL)
		put_line(r->tail, line);
}

int
ctlreq_take_fd(struct ctlreq *r)
{
	int fd = r->fd;

	r->fd = -1;
	return fd;
}

enum ctl_cmd
ctlreq_cmd(const struct ctlreq *r)
{
	return r->cmd;
}

int
ctlreq_alive(const struct ctlreq *r)
{
	return r->client != NULL;
}
