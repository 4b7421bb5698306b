/*
 * TLS 1.3 connections on the libevent loop (conn.h): the connection
 * object, its buffers and its life cycle, and what its users call (send,
 * close, pause, what it knows of its peer). How bytes move is
 * conn_io.c, the TLS session conn_tls.c, opening one conn_open.c; the
 * four share conn_int.h and nothing else includes it.
 *
 * Frames queued with conn_send() go to an output buffer that a deferred
 * "work" event flushes once per loop turn, in records of up to 16 KiB;
 * conn_send_bulk()'s go to a second one, which is sent from only when
 * the first is empty, a whole frame at a time (conn_io.c).
 * Every libevent callback raises conn->depth while it runs, so a user
 * callback may close or abort the connection it was given: the memory is
 * released only when the outermost callback returns.
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

/* ---------------------------------------------------------------- buffers */

/*
 * Frames may carry a password (register, login): buffer bytes are zeroed
 * once consumed, and a buffer is never left behind unzeroed by a move,
 * a growth (no realloc) or a free. Bytes past len were never written or
 * are zero already (consume and move zero what they leave behind), so a
 * free zeroes the first len bytes, not the whole capacity: a gestor frees
 * a 16 KiB input and a 4 KiB output buffer after every short request, and
 * zeroing them whole was 2% of its CPU at 10 000 peers.
 */

/* Room for n more bytes at the end, moving unread data to the front. */
void
conn_buf_reserve(struct conn_buf *b, size_t n)
{
	unsigned char *p;
	size_t cap, used;

	if (b->cap - b->len >= n)
		return;
	if (b->off > 0) {
		used = b->len - b->off;
		memmove(b->data, b->data + b->off, used);
		explicit_bzero(b->data + used, b->len - used);
		b->len = used;
		b->off = 0;
		if (b->cap - b->len >= n)
			return;
	}
	cap = b->cap != 0 ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	if ((p = malloc(cap)) == NULL)
		abort();
	if (b->data != NULL) {
		memcpy(p, b->data, b->len);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
}

void
conn_buf_free(struct conn_buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->len);
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

void
conn_buf_consume(struct conn_buf *b, size_t n)
{
	if (n > 0)
		explicit_bzero(b->data + b->off, n);
	b->off += n;
	if (b->off < b->len)
		return;
	b->off = b->len = 0;
	if (b->cap > CONN_BUF_KEEP)
		conn_buf_free(b);
}

size_t
conn_buf_used(const struct conn_buf *b)
{
	return b->len - b->off;
}

/* ------------------------------------------------------------ life cycle */

/* Connections allocated and not yet freed, for a clean shutdown. */
static int conn_nlive;
double conn_send_timeout = 30.0;	/* limits.send_timeout */
static LIST_HEAD(, conn) conn_all = LIST_HEAD_INITIALIZER(conn_all);

/* A new connection, counted and listed until conn_free. */
void
conn_track(struct conn *c)
{
	conn_nlive++;
	LIST_INSERT_HEAD(&conn_all, c, entry);
}

int
conn_live(void)
{
	return conn_nlive;
}

void
conn_free(struct conn *c)
{
	conn_nlive--;
	LIST_REMOVE(c, entry);
	log_debug("%s: %s port %d", __func__, c->peer_addr, c->peer_port);
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->work != NULL)
		event_free(c->work);
	if (c->tls != NULL)
		gnutls_deinit(c->tls);
	if (c->fd != -1)
		close(c->fd);
	conn_buf_free(&c->in);
	conn_buf_free(&c->out);
	conn_buf_free(&c->bulk);
	free(c);
}

/* Stop everything; free now unless a callback of ours is on the stack. */
void
conn_destroy(struct conn *c)
{
	if (c->state == CONN_DEAD)
		return;
	c->state = CONN_DEAD;
	event_del(c->rev);
	event_del(c->wev);
	event_del(c->timer);
	event_del(c->work);
	if (c->depth == 0)
		conn_free(c);
}

void
conn_enter(struct conn *c)
{
	c->depth++;
}

void
conn_leave(struct conn *c)
{
	if (--c->depth == 0 && c->state == CONN_DEAD)
		conn_free(c);
}

/* Run the work event in this loop turn (flush output, deliver input). */
void
conn_schedule(struct conn *c)
{
	if (c->state != CONN_DEAD)
		event_active(c->work, EV_TIMEOUT, 0);
}

size_t
conn_frame_max(const struct conn *c)
{
	return c->untrusted && c->max_frame > CONN_ANON_FRAME ?
	    CONN_ANON_FRAME : c->max_frame;
}

size_t
conn_out_high(const struct conn *c)
{
	return c->untrusted ? CONN_ANON_OUT_HIGH : CONN_OUT_HIGH;
}

/*
 * Read while the state wants it, the other side reads what we send, and
 * a paused reader is not too far behind.
 */
void
conn_read_ctl(struct conn *c)
{
	size_t pause_max = c->untrusted ? CONN_ANON_PAUSE_MAX : CONN_PAUSE_MAX;
	bool want;

	want = c->state == CONN_HANDSHAKE ||
	    (c->state == CONN_CLOSING && !c->eof) ||
	    (c->state == CONN_READY && !c->out_full && (!c->paused ||
	    conn_buf_used(&c->in) < pause_max));
	if (want == c->reading)
		return;
	if (want)
		event_add(c->rev, NULL);
	else
		event_del(c->rev);
	c->reading = want;
}

/* The other side has conn_send_timeout seconds to read another byte. */
void
conn_arm_send_deadline(struct conn *c)
{
	struct timeval tv;

	tv.tv_sec = (time_t)conn_send_timeout;
	tv.tv_usec = (suseconds_t)((conn_send_timeout - (double)tv.tv_sec) *
	    1e6);
	evtimer_add(c->timer, &tv);
}

/*
 * Backpressure: over the high mark, stop reading and delivering frames
 * and start the send deadline; at half of it, resume.
 */
void
conn_out_update(struct conn *c)
{
	size_t used = conn_buf_used(&c->out), high = conn_out_high(c);

	if (c->state != CONN_READY)
		return;
	if (!c->out_full && used > high) {
		c->out_full = true;
		conn_arm_send_deadline(c);
		conn_read_ctl(c);
		log_debug("%s: %s port %d: %zu bytes unsent; not reading",
		    __func__, c->peer_addr, c->peer_port, used);
	} else if (c->out_full && used <= high / 2) {
		c->out_full = false;
		evtimer_del(c->timer);
		conn_read_ctl(c);
		conn_schedule(c);	/* frames left in the input buffer */
	}
}

/* Flush, send close_notify, then wait (bounded) for the peer's EOF. */
void
conn_start_close(struct conn *c)
{
	struct timeval tv = { CONN_CLOSE_WAIT, 0 };

	c->state = CONN_CLOSING;
	conn_buf_free(&c->in);
	evtimer_add(c->timer, &tv);
	conn_read_ctl(c);
	conn_schedule(c);
}

/*
 * The connection failed: tell the user (once), then close gracefully if
 * the session is up and graceful is set, else at once.
 */
void
conn_failf(struct conn *c, bool graceful, const char *fmt, ...)
{
	char reason[256];
	bool ready = c->state == CONN_READY;
	va_list ap;

	if (c->state == CONN_CLOSING || c->state == CONN_DEAD) {
		conn_destroy(c);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	log_debug("%s: %s port %d: %s", __func__, c->peer_addr, c->peer_port,
	    reason);

	c->state = CONN_CLOSING;	/* no more callbacks but this one */
	if (c->cbs.on_close != NULL)
		c->cbs.on_close(c, reason, c->arg);
	if (c->state == CONN_DEAD)
		return;
	if (graceful && ready)
		conn_start_close(c);
	else
		conn_destroy(c);
}

/* ------------------------------------------------------------------- API */

int
conn_send(struct conn *c, const json_t *frame)
{
	unsigned char *buf;
	size_t len;

	if (c->state == CONN_CLOSING || c->state == CONN_DEAD)
		return -1;
	if ((buf = frame_encode(frame, c->max_frame, &len)) == NULL) {
		log_warnx("%s: %s port %d: frame not sent (over %zu bytes or "
		    "not a frame)", __func__, c->peer_addr, c->peer_port,
		    c->max_frame);
		return -1;
	}
	conn_buf_reserve(&c->out, len);
	memcpy(c->out.data + c->out.len, buf, len);
	c->out.len += len;
	explicit_bzero(buf, len);
	free(buf);
	if (c->state == CONN_READY) {
		conn_out_update(c);
		conn_schedule(c);
	}
	return 0;
}

int
conn_send_text(struct conn *c, const char *json, size_t len)
{
	unsigned char *p;

	if (c->state == CONN_CLOSING || c->state == CONN_DEAD)
		return -1;
	if (len == 0 || len > c->max_frame || len > UINT32_MAX) {
		log_warnx("%s: %s port %d: frame not sent (%zu bytes)",
		    __func__, c->peer_addr, c->peer_port, len);
		return -1;
	}
	conn_buf_reserve(&c->out, FRAME_HDR + len);
	p = c->out.data + c->out.len;
	p[0] = (unsigned char)(len >> 24);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	memcpy(p + FRAME_HDR, json, len);
	c->out.len += FRAME_HDR + len;
	if (c->state == CONN_READY) {
		conn_out_update(c);
		conn_schedule(c);
	}
	return 0;
}

int
conn_send_bulk(struct conn *c, const void *a, size_t alen, const void *b,
    size_t blen)
{
	unsigned char *p;
	size_t len = alen + blen;

	if (c->state == CONN_CLOSING || c->state == CONN_DEAD)
		return -1;
	if (len == 0 || len > c->max_frame || len > UINT32_MAX) {
		log_warnx("%s: %s port %d: frame not sent (%zu bytes)",
		    __func__, c->peer_addr, c->peer_port, len);
		return -1;
	}
	conn_buf_reserve(&c->bulk, FRAME_HDR + len);
	p = c->bulk.data + c->bulk.len;
	p[0] = (unsigned char)(len >> 24);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	memcpy(p + FRAME_HDR, a, alen);
	if (blen > 0)
		memcpy(p + FRAME_HDR + alen, b, blen);
	c->bulk.len += FRAME_HDR + len;
	if (c->state == CONN_READY)
		conn_schedule(c);
	return 0;
}

int
conn_send_error(struct conn *c, const char *code, const char *message)
{
	json_t *obj;
	int r;

	obj = json_pack("{s:s, s:s}", "t", "error", "code", code);
	if (obj == NULL)
		return -1;
	if (message != NULL)
		json_object_set_new(obj, "message", json_string(message));
	r = conn_send(c, obj);
	json_decref(obj);
	return r;
}

void
conn_close(struct conn *c)
{
	if (c == NULL || c->state == CONN_CLOSING || c->state == CONN_DEAD)
		return;
	log_debug("%s: %s port %d", __func__, c->peer_addr, c->peer_port);
	if (c->state == CONN_READY)
		conn_start_close(c);
	else
		conn_destroy(c);
}

/*
 * At exit, after the owners are gone: connections still closing (a peer
 * that never answered our close_notify within the grace period) are
 * nobody's and are freed here, their sessions with them.
 */
void
conn_free_all(void)
{
	struct conn *c;

	while ((c = LIST_FIRST(&conn_all)) != NULL)
		conn_free(c);
}

void
conn_abort(struct conn *c)
{
	if (c != NULL)
		conn_destroy(c);
}

void
conn_set_arg(struct conn *c, void *arg)
{
	c->arg = arg;
}

bool
conn_is_ready(const struct conn *c)
{
	return c->state == CONN_READY;
}

void
conn_set_caps(struct conn *c, unsigned caps)
{
	c->peer_caps = caps;
}

bool
conn_has_cap(const struct conn *c, unsigned cap)
{
	return c != NULL && cap < 32 && (c->peer_caps & (1u << cap)) != 0;
}

const char *
conn_peer_fingerprint(const struct conn *c)
{
	return c->peer_fp;
}

const char *
conn_tls_group(const struct conn *c)
{
	if (c->state != CONN_READY && c->state != CONN_CLOSING)
		return NULL;
	return gnutls_group_get_name(gnutls_group_get(c->tls));
}

const char *
conn_peer_addr(const struct conn *c)
{
	return c->peer_addr;
}

int
conn_peer_port(const struct conn *c)
{
	return c->peer_port;
}

int
conn_local_addr(const struct conn *c, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	const struct sockaddr_in6 *sin6;
	const struct sockaddr *sa = (struct sockaddr *)&ss;
	socklen_t salen = sizeof(ss);

	if (c->fd == -1 || getsockname(c->fd, (struct sockaddr *)&ss,
	    &salen) != 0)
		return -1;
	if (ss.ss_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)&ss;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
			sa = (struct sockaddr *)&sin;
			salen = sizeof(sin);
		}
	}
	return getnameinfo(sa, salen, buf, (socklen_t)len, NULL, 0,
	    NI_NUMERICHOST) == 0 ? 0 : -1;
}

size_t
conn_pending_bytes(const struct conn *c)
{
	return conn_buf_used(&c->out);
}

size_t
conn_bulk_bytes(const struct conn *c)
{
	return conn_buf_used(&c->bulk);
}

void
conn_pause(struct conn *c, bool pause)
{
	if (c->state == CONN_CLOSING || c->state == CONN_DEAD ||
	    c->paused == pause)
		return;
	c->paused = pause;
	if (!pause && c->state == CONN_READY) {
		conn_read_ctl(c);
		conn_schedule(c);
	}
}

void
conn_set_untrusted(struct conn *c, bool untrusted)
{
	if (c->state == CONN_DEAD || c->untrusted == untrusted)
		return;
	c->untrusted = untrusted;
	if (c->state == CONN_READY) {
		conn_out_update(c);
		conn_read_ctl(c);
		conn_schedule(c);
	}
}

void
conn_set_send_timeout(double seconds)
{
	conn_send_timeout = seconds;
}
