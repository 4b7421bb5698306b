/*
 * How a connection's bytes move: the libevent callbacks (one persistent
 * EV_READ event and a one-shot EV_WRITE, added only while GnuTLS wants
 * to write, a timer and a deferred "work" event), records written and
 * read, frames handed to the user, the clean close. The only file in
 * p2pchatd that talks to GnuTLS's record layer; GnuTLS owns the
 * non-blocking socket.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "conn_int.h"
#include "frame.h"
#include "log.h"
#include "proto.h"
#include "util.h"

/*
 * Where the next record comes from, and its length: the one GnuTLS is
 * waiting to send again, else the rest of the bulk frame going out,
 * else the frames queued with conn_send* (all of them: a chat line never
 * waits behind more than the rest of one bulk frame), else the next
 * bulk frame. NULL when nothing is queued.
 */
static struct conn_buf *
conn_next_record(struct conn *c, size_t *n)
{
	const unsigned char *p;

	if (c->retry_len > 0) {
		*n = c->retry_len;	/* same data and length again */
		return c->retry_bulk ? &c->bulk : &c->out;
	}
	if (c->bulk_left == 0 && conn_buf_used(&c->out) > 0) {
		*n = conn_buf_used(&c->out);
		if (*n > CONN_RECORD_MAX)
			*n = CONN_RECORD_MAX;
		return &c->out;
	}
	if (c->bulk_left == 0) {
		if (conn_buf_used(&c->bulk) == 0)
			return NULL;
		p = c->bulk.data + c->bulk.off;	/* whole frames: a header */
		c->bulk_left = FRAME_HDR + ((size_t)p[0] << 24 |
		    (size_t)p[1] << 16 | (size_t)p[2] << 8 | (size_t)p[3]);
	}
	*n = c->bulk_left < CONN_RECORD_MAX ? c->bulk_left : CONN_RECORD_MAX;
	return &c->bulk;
}

/* Send what is queued; 0 all sent, 1 waiting for the socket, -1 gone. */
static int
conn_flush(struct conn *c)
{
	struct conn_buf *b;
	size_t n;
	ssize_t r;

	while ((b = conn_next_record(c, &n)) != NULL) {
		r = gnutls_record_send(c->tls, b->data + b->off, n);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			c->retry_len = n;	/* same data and length again */
			c->retry_bulk = b == &c->bulk;
			if (r == GNUTLS_E_INTERRUPTED)
				continue;
			event_add(c->wev, NULL);
			return 1;
		}
		if (r <= 0) {
			conn_failf(c, false, "send: %s",
			    conn_strerror((int)r));
			return -1;
		}
		c->retry_len = 0;
		conn_buf_consume(b, (size_t)r);
		if (b == &c->bulk) {
			c->bulk_left -= (size_t)r;
			continue;
		}
		if (c->out_full && c->state == CONN_READY) {
			conn_arm_send_deadline(c);	/* it reads: progress */
			conn_out_update(c);
		}
	}
	conn_buf_free(&c->out);		/* all sent: hold nothing while idle */
	conn_buf_free(&c->bulk);
	return 0;
}

void
conn_push(struct conn *c)
{
	if (c->state != CONN_READY || conn_buf_used(&c->out) == 0)
		return;
	conn_enter(c);
	conn_flush(c);
	conn_leave(c);
}

/* Room in the output: tell whoever sends large things (conn_cbs). */
static void
conn_drained(struct conn *c)
{
	if (c->state == CONN_READY && c->cbs.on_drain != NULL &&
	    conn_buf_used(&c->bulk) <= CONN_DRAIN_LOW)
		c->cbs.on_drain(c, c->arg);
}

/* The CLOSING state: flush, close_notify, then wait for the peer's EOF. */
static void
conn_close_step(struct conn *c)
{
	int r;

	if (conn_flush(c) != 0)
		return;
	if (!c->bye_sent) {
		r = gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			event_add(c->wev, NULL);
			return;
		}
		c->bye_sent = true;
		if (r < 0) {
			conn_destroy(c);
			return;
		}
		shutdown(c->fd, SHUT_WR);
	}
	if (c->eof)
		conn_destroy(c);
}

/*
 * A whole frame at the head of the input read by the user's hot_parse
 * (no JSON tree), or NULL: not whole, not hot, or declined.
 */
static struct wire_hot *
conn_hot(struct conn *c, size_t *used)
{
	const unsigned char *p = c->in.data + c->in.off;
	size_t len = conn_buf_used(&c->in), n;

	if (c->cbs.hot_parse == NULL || len < FRAME_HDR)
		return NULL;
	n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	    (size_t)p[3];
	if (n == 0 || n > conn_frame_max(c) || len - FRAME_HDR < n)
		return NULL;
	*used = FRAME_HDR + n;
	return c->cbs.hot_parse(p + FRAME_HDR, n, c->arg);
}

/*
 * A whole binary frame at the head of the input, handed to on_binary
 * from the buffer itself (no copy) and consumed: true. Without
 * on_binary, a bad frame: refused and closed, as jansson would have.
 */
static bool
conn_binary(struct conn *c)
{
	const unsigned char *p = c->in.data + c->in.off;
	size_t n;

	if (!frame_binary(p, conn_buf_used(&c->in), conn_frame_max(c), &n))
		return false;
	if (c->cbs.on_binary == NULL) {
		conn_buf_consume(&c->in, FRAME_HDR + n);
		conn_send_error(c, "bad_frame", "binary frame not expected");
		conn_failf(c, true, "bad frame: binary");
		return true;
	}
	c->cbs.on_binary(c, p + FRAME_HDR, n, c->arg);
	/* Closing frees the input: nothing left to consume then. */
	if (c->state == CONN_READY)
		conn_buf_consume(&c->in, FRAME_HDR + n);
	return true;
}

/* Hand complete frames to the user until paused, closed or short. */
static void
conn_deliver(struct conn *c)
{
	enum frame_status st;
	struct wire_hot *h;
	json_t *obj;
	size_t used;
	char err[160];

	while (c->state == CONN_READY && !c->paused && !c->out_full) {
		if (conn_buf_used(&c->in) == 0)
			break;
		if (conn_binary(c))
			continue;
		if ((h = conn_hot(c, &used)) != NULL) {
			conn_buf_consume(&c->in, used);
			c->cbs.on_hot(c, h, c->arg);
			continue;
		}
		st = frame_decode(c->in.data + c->in.off, conn_buf_used(&c->in),
		    conn_frame_max(c), &obj, &used, err, sizeof(err));
		switch (st) {
		case FRAME_NEED_MORE:
			conn_read_ctl(c);
			return;
		case FRAME_TOO_BIG:
			conn_send_error(c, "frame_too_big", err);
			conn_failf(c, true, "frame too big");
			return;
		case FRAME_BAD:
			conn_buf_consume(&c->in, used);
			conn_send_error(c, "bad_frame", err);
			conn_failf(c, true, "bad frame: %s", err);
			return;
		case FRAME_OK:
			conn_buf_consume(&c->in, used);
			if (c->cbs.on_frame != NULL)
				c->cbs.on_frame(c, obj, c->arg);
			json_decref(obj);
			break;
		}
	}
	if (c->state == CONN_READY)
		conn_read_ctl(c);
}

/* recv() returned 0 or an error. */
static void
conn_read_end(struct conn *c, ssize_t n)
{
	if (n == 0) {
		c->eof = true;
		conn_read_ctl(c);
	}
	if (c->state == CONN_CLOSING) {
		if (n != 0 || c->bye_sent)
			conn_destroy(c);
		return;
	}
	if (n == 0)
		conn_failf(c, true, "closed by peer");
	else
		conn_failf(c, false, "recv: %s", conn_strerror((int)n));
}

/* Read records until the socket is drained (or the budget is spent). */
static void
conn_read(struct conn *c)
{
	size_t budget = CONN_READ_BUDGET;
	ssize_t n;

	while (c->state == CONN_READY || c->state == CONN_CLOSING) {
		if (c->state == CONN_READY && !c->reading)
			return;		/* paused and full */
		if (budget == 0) {
			if (gnutls_record_check_pending(c->tls) > 0)
				conn_schedule(c);
			return;
		}
		conn_buf_reserve(&c->in, CONN_RECORD_MAX);
		n = gnutls_record_recv(c->tls, c->in.data + c->in.len,
		    c->in.cap - c->in.len);
		if (n == GNUTLS_E_AGAIN) {
			c->recv_wants_write =
			    gnutls_record_get_direction(c->tls) == 1;
			if (c->recv_wants_write)
				event_add(c->wev, NULL);
			/* Idle connections hold no buffer (a gestor has
			 * thousands; 16 KiB each added up). */
			if (conn_buf_used(&c->in) == 0)
				conn_buf_free(&c->in);
			return;
		}
		if (n < 0 && !gnutls_error_is_fatal((int)n)) {
			budget = budget > 1024 ? budget - 1024 : 0;
			continue;
		}
		if (n <= 0) {
			conn_read_end(c, n);
			return;
		}
		budget = (size_t)n < budget ? budget - (size_t)n : 0;
		if (c->state == CONN_CLOSING)
			continue;	/* discard */
		c->in.len += (size_t)n;
		conn_deliver(c);
		/*
		 * A short record and nothing left inside GnuTLS: the sender
		 * had no more queued, so stop here rather than spend a recv()
		 * on EAGAIN (one per request on a gestor's connections).
		 * EV_READ is level-triggered: bytes still in the socket bring
		 * us back. Full records (a bulk sender) keep the loop going.
		 */
		if ((size_t)n < CONN_RECORD_MAX && c->state == CONN_READY &&
		    c->reading && gnutls_record_check_pending(c->tls) == 0) {
			if (conn_buf_used(&c->in) == 0)
				conn_buf_free(&c->in);
			return;
		}
	}
}

static void
conn_connected(struct conn *c)
{
	int err = c->connect_errno;
	socklen_t len = sizeof(err);

	if (err == 0 &&
	    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		conn_failf(c, false, "connect: %s", strerror(err));
		return;
	}
	c->state = CONN_HANDSHAKE;
	conn_read_ctl(c);
	conn_handshake(c);
}

static void
conn_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)ev;
	conn_enter(c);
	if (c->state == CONN_HANDSHAKE)
		conn_handshake(c);
	else
		conn_read(c);
	conn_leave(c);
}

static void
conn_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)ev;
	conn_enter(c);
	switch (c->state) {
	case CONN_CONNECTING:
		conn_connected(c);
		break;
	case CONN_HANDSHAKE:
		conn_handshake(c);
		break;
	case CONN_READY:
		if (c->recv_wants_write) {
			c->recv_wants_write = false;
			conn_read(c);
		}
		if (c->state == CONN_READY)
			conn_flush(c);
		conn_drained(c);
		break;
	case CONN_CLOSING:
		conn_close_step(c);
		break;
	case CONN_DEAD:
		break;
	}
	conn_leave(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)ev;
	conn_enter(c);
	if (c->state == CONN_CONNECTING || c->state == CONN_HANDSHAKE)
		conn_failf(c, false, "handshake timeout");
	else if (c->state == CONN_READY && c->out_full)
		conn_failf(c, false, "not reading: %zu bytes unsent, none read "
		    "for %.0f s", conn_buf_used(&c->out), conn_send_timeout);
	else if (c->state == CONN_CLOSING)
		conn_destroy(c);
	conn_leave(c);
}

/* Deferred work: deliver buffered frames, drain GnuTLS, flush output. */
static void
conn_work_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)ev;
	conn_enter(c);
	switch (c->state) {
	case CONN_CONNECTING:
		if (c->connect_errno != 0)
			conn_connected(c);
		break;
	case CONN_READY:
		conn_deliver(c);
		if (c->state == CONN_READY && c->reading &&
		    gnutls_record_check_pending(c->tls) > 0)
			conn_read(c);
		if (c->state == CONN_READY)
			conn_flush(c);
		conn_drained(c);
		break;
	case CONN_CLOSING:
		conn_close_step(c);
		break;
	default:
		break;
	}
	conn_leave(c);
}

/* A client speaks first: start its handshake once the socket is writable. */
void
conn_schedule_handshake(struct conn *c)
{
	event_add(c->wev, NULL);
}

struct conn *
conn_new(struct event_base *base, struct tlsctx *ctx, int fd, bool server,
    size_t max_frame, double timeout, const struct conn_cbs *cbs, void *arg)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	struct timeval tv;

	conn_track(c);
	c->base = base;
	c->fd = fd;
	c->max_frame = max_frame;
	c->cbs = *cbs;
	c->arg = arg;
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->wev = event_new(base, fd, EV_WRITE, conn_write_cb, c);
	c->timer = evtimer_new(base, conn_timer_cb, c);
	c->work = event_new(base, -1, 0, conn_work_cb, c);
	if (c->rev == NULL || c->wev == NULL || c->timer == NULL ||
	    c->work == NULL || conn_tls_init(c, ctx, server) != 0) {
		c->fd = -1;	/* the caller closes it */
		conn_free(c);
		return NULL;
	}
	if (timeout > 0) {
		tv.tv_sec = (time_t)timeout;
		tv.tv_usec = (suseconds_t)((timeout - (double)tv.tv_sec) * 1e6);
		evtimer_add(c->timer, &tv);
	}
	return c;
}
