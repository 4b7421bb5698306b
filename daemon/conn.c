/*
 * TLS 1.3 connections on the libevent loop: the only file in p2pchatd that
 * talks to GnuTLS's record layer. GnuTLS owns the non-blocking socket; one
 * persistent EV_READ event and a one-shot EV_WRITE (added only while GnuTLS
 * wants to write) drive it. Both sides present a certificate; the verify
 * callback only records the SHA-256 of the peer's key, and the caller
 * decides whether that key is the one it expects.
 *
 * Frames queued with conn_send() go to an output buffer that a deferred
 * "work" event flushes once per loop turn, in records of up to 16 KiB.
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

#include "conn.h"
#include "frame.h"
#include "log.h"
#include "proto.h"
#include "util.h"

/*
 * The one TLS priority string of p2pchat: TLS 1.3 and nothing else.
 * X25519 first: NORMAL puts SECP256R1 first, and its big-number
 * arithmetic was 44% of the gestor's handshake profile (gnutls-cli
 * --benchmark-tls-kx here: 1 188 handshakes/s with X25519, 935 with
 * SECP256R1). SECP256R1 stays as the fallback, for a peer that offers
 * only it. The server's order decides (%SERVER_PRECEDENCE): an earlier
 * p2pchat prefers SECP256R1 but sends an X25519 key share too, and gets
 * X25519 from an upgraded gestor without another round trip.
 */
#define CONN_PRIORITY		"NORMAL:-VERS-ALL:+VERS-TLS1.3:" \
				"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:" \
				"%SERVER_PRECEDENCE"
#define CONN_RECORD_MAX		16384		/* bytes per record sent */
#define CONN_READ_BUDGET	(256 * 1024)	/* per callback, for fairness */
#define CONN_PAUSE_MAX		(256 * 1024)	/* buffered while paused */
#define CONN_BUF_KEEP		(64 * 1024)	/* keep buffers this big */
#define CONN_CLOSE_WAIT		2		/* seconds for a clean close */
/*
 * Backpressure: a connection whose unsent output is over its high mark
 * stops reading and delivering frames (each frame may queue a reply)
 * until the other side has read it down to half; with no byte read by
 * the other side for conn_send_timeout seconds meanwhile, it is closed.
 * Before the other side is authenticated (conn_set_untrusted) the
 * marks are smaller, and so are frames.
 */
#define CONN_OUT_HIGH		(1024 * 1024)
#define CONN_ANON_OUT_HIGH	(64 * 1024)
#define CONN_ANON_FRAME		(16 * 1024)	/* frames before login/hello */
#define CONN_ANON_PAUSE_MAX	(64 * 1024)

enum conn_state {
	CONN_CONNECTING,	/* TCP connect in progress */
	CONN_HANDSHAKE,
	CONN_READY,
	CONN_CLOSING,		/* flush, close_notify, wait for EOF */
	CONN_DEAD,		/* freed when the outermost callback returns */
};

struct conn_buf {
	unsigned char	*data;
	size_t		 off;		/* first unread byte */
	size_t		 len;		/* end of data */
	size_t		 cap;
};

struct tlsctx {
	gnutls_certificate_credentials_t cred;	/* borrowed from identity */
	gnutls_priority_t		 prio;
};

struct conn {
	LIST_ENTRY(conn)	 entry;		/* conn_all */
	struct event_base	*base;
	gnutls_session_t	 tls;
	int			 fd;
	enum conn_state		 state;
	int			 depth;		/* nested callbacks running */
	int			 connect_errno;
	bool			 paused;
	bool			 reading;	/* rev is added */
	bool			 recv_wants_write;
	bool			 bye_sent;
	bool			 eof;		/* peer sent close_notify */
	bool			 untrusted;	/* small bounds until login */
	bool			 out_full;	/* over the high mark: not reading */

	struct event		*rev;		/* persistent EV_READ */
	struct event		*wev;		/* one-shot EV_WRITE */
	struct event		*timer;		/* handshake or close deadline */
	struct event		*work;		/* deferred flush/deliver */

	size_t			 max_frame;	/* once trusted */
	struct conn_cbs		 cbs;
	void			*arg;

	struct conn_buf		 in;
	struct conn_buf		 out;
	size_t			 retry_len;	/* record_send got E_AGAIN */

	char			 peer_fp[P2P_FP_LEN + 1];
	char			 peer_addr[80];
	int			 peer_port;
};

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(evutil_socket_t, short, void *);
static void	conn_timer_cb(evutil_socket_t, short, void *);
static void	conn_work_cb(evutil_socket_t, short, void *);
static void	conn_failf(struct conn *, bool, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	conn_read(struct conn *);

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
static void
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

static void
conn_buf_free(struct conn_buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->len);
	free(b->data);
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

static void
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

static size_t
conn_buf_used(const struct conn_buf *b)
{
	return b->len - b->off;
}

/* ------------------------------------------------------------ life cycle */

/* Connections allocated and not yet freed, for a clean shutdown. */
static int conn_nlive;
static double conn_send_timeout = 30.0;	/* limits.send_timeout */
static LIST_HEAD(, conn) conn_all = LIST_HEAD_INITIALIZER(conn_all);

int
conn_live(void)
{
	return conn_nlive;
}

static void
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
	free(c);
}

/* Stop everything; free now unless a callback of ours is on the stack. */
static void
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

static void
conn_enter(struct conn *c)
{
	c->depth++;
}

static void
conn_leave(struct conn *c)
{
	if (--c->depth == 0 && c->state == CONN_DEAD)
		conn_free(c);
}

/* Run the work event in this loop turn (flush output, deliver input). */
static void
conn_schedule(struct conn *c)
{
	if (c->state != CONN_DEAD)
		event_active(c->work, EV_TIMEOUT, 0);
}

static size_t
conn_frame_max(const struct conn *c)
{
	return c->untrusted && c->max_frame > CONN_ANON_FRAME ?
	    CONN_ANON_FRAME : c->max_frame;
}

static size_t
conn_out_high(const struct conn *c)
{
	return c->untrusted ? CONN_ANON_OUT_HIGH : CONN_OUT_HIGH;
}

/*
 * Read while the state wants it, the other side reads what we send, and
 * a paused reader is not too far behind.
 */
static void
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
static void
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
static void
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
static void
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
static void
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

/* ------------------------------------------------------------------ TLS */

/* GnuTLS error text; for socket errors, the errno behind them. */
static const char *
conn_strerror(int r)
{
	if ((r == GNUTLS_E_PULL_ERROR || r == GNUTLS_E_PUSH_ERROR) &&
	    errno != 0)
		return strerror(errno);
	return gnutls_strerror(r);
}

/* Require a parsable peer certificate and remember its key fingerprint. */
static int
conn_verify_cb(gnutls_session_t tls)
{
	struct conn *c = gnutls_session_get_ptr(tls);
	const gnutls_datum_t *certs;
	unsigned int n = 0;

	c->peer_fp[0] = '\0';
	if (gnutls_certificate_type_get2(tls, GNUTLS_CTYPE_PEERS) !=
	    GNUTLS_CRT_X509)
		return -1;
	certs = gnutls_certificate_get_peers(tls, &n);
	if (certs == NULL || n == 0) {
		log_debug("%s: %s: no certificate", __func__, c->peer_addr);
		return -1;
	}
	if (identity_cert_fingerprint(&certs[0], c->peer_fp,
	    sizeof(c->peer_fp)) != 0) {
		log_debug("%s: %s: bad certificate", __func__, c->peer_addr);
		c->peer_fp[0] = '\0';
		return -1;
	}
	return 0;
}

static int
conn_tls_init(struct conn *c, struct tlsctx *ctx, bool server)
{
	gnutls_datum_t alpn = { (unsigned char *)P2P_ALPN, strlen(P2P_ALPN) };
	unsigned int flags = GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL |
	    GNUTLS_NO_TICKETS;
	int r;

	flags |= server ? GNUTLS_SERVER : GNUTLS_CLIENT;
	if ((r = gnutls_init(&c->tls, flags)) < 0 ||
	    (r = gnutls_priority_set(c->tls, ctx->prio)) < 0 ||
	    (r = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE,
	    ctx->cred)) < 0 ||
	    (r = gnutls_alpn_set_protocols(c->tls, &alpn, 1,
	    GNUTLS_ALPN_MANDATORY)) < 0) {
		log_warnx("%s: %s", __func__, gnutls_strerror(r));
		return -1;
	}
	if (server)
		gnutls_certificate_server_set_request(c->tls,
		    GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_function(c->tls, conn_verify_cb);
	gnutls_session_set_ptr(c->tls, c);
	gnutls_handshake_set_timeout(c->tls, GNUTLS_INDEFINITE_TIMEOUT);
	gnutls_transport_set_int(c->tls, c->fd);
	return 0;
}

/* Handshake finished: check what GnuTLS cannot, then tell the user. */
static void
conn_established(struct conn *c)
{
	gnutls_datum_t alpn = { NULL, 0 };

	if (gnutls_protocol_get_version(c->tls) != GNUTLS_TLS1_3) {
		conn_failf(c, false, "not TLS 1.3");
		return;
	}
	if (gnutls_alpn_get_selected_protocol(c->tls, &alpn) != 0 ||
	    alpn.size != strlen(P2P_ALPN) ||
	    memcmp(alpn.data, P2P_ALPN, alpn.size) != 0) {
		conn_failf(c, false, "ALPN is not %s", P2P_ALPN);
		return;
	}
	if (c->peer_fp[0] == '\0') {
		conn_failf(c, false, "no peer certificate");
		return;
	}
	evtimer_del(c->timer);
	c->state = CONN_READY;
	log_debug("%s: %s port %d: %s", __func__, c->peer_addr, c->peer_port,
	    c->peer_fp);
	if (c->cbs.on_ready != NULL)
		c->cbs.on_ready(c, c->arg);
	if (c->state == CONN_READY) {
		conn_out_update(c);
		conn_schedule(c);	/* queued output, data inside GnuTLS */
	}
}

static void
conn_handshake(struct conn *c)
{
	int r, tries = 0;

	do {
		r = gnutls_handshake(c->tls);
	} while (r == GNUTLS_E_INTERRUPTED || (r < 0 && r != GNUTLS_E_AGAIN &&
	    !gnutls_error_is_fatal(r) && ++tries < 8));
	if (r == GNUTLS_E_AGAIN) {
		if (gnutls_record_get_direction(c->tls) == 1)
			event_add(c->wev, NULL);
		return;
	}
	if (r < 0) {
		conn_failf(c, false, "handshake: %s", conn_strerror(r));
		return;
	}
	conn_established(c);
}

/* ------------------------------------------------------------- writing */

/* Send what is queued; 0 all sent, 1 waiting for the socket, -1 gone. */
static int
conn_flush(struct conn *c)
{
	size_t n;
	ssize_t r;

	while (conn_buf_used(&c->out) > 0) {
		n = c->retry_len;
		if (n == 0) {
			n = conn_buf_used(&c->out);
			if (n > CONN_RECORD_MAX)
				n = CONN_RECORD_MAX;
		}
		r = gnutls_record_send(c->tls, c->out.data + c->out.off, n);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			c->retry_len = n;	/* same data and length again */
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
		conn_buf_consume(&c->out, (size_t)r);
		if (c->out_full && c->state == CONN_READY) {
			conn_arm_send_deadline(c);	/* it reads: progress */
			conn_out_update(c);
		}
	}
	conn_buf_free(&c->out);		/* all sent: hold nothing while idle */
	return 0;
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

/* ------------------------------------------------------------- reading */

/* Hand complete frames to the user until paused, closed or short. */
static void
conn_deliver(struct conn *c)
{
	enum frame_status st;
	json_t *obj;
	size_t used;
	char err[160];

	while (c->state == CONN_READY && !c->paused && !c->out_full) {
		if (conn_buf_used(&c->in) == 0)
			break;
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

/* ------------------------------------------------------ event callbacks */

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
		break;
	case CONN_CLOSING:
		conn_close_step(c);
		break;
	default:
		break;
	}
	conn_leave(c);
}

/* ---------------------------------------------------------------- set-up */

/* Numeric address and port; IPv4-mapped IPv6 shown as dotted IPv4. */
static void
conn_set_peer(struct conn *c, const struct sockaddr *sa, socklen_t salen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	const struct sockaddr_in6 *sin6;
	char serv[NI_MAXSERV];

	snprintf(c->peer_addr, sizeof(c->peer_addr), "?");
	if (sa == NULL || salen == 0) {
		salen = sizeof(ss);
		if (getpeername(c->fd, (struct sockaddr *)&ss, &salen) != 0)
			return;
		sa = (struct sockaddr *)&ss;
	}
	if (sa->sa_family == AF_INET6 && salen >= sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_port = sin6->sin6_port;
			memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
			sa = (struct sockaddr *)&sin;
			salen = sizeof(sin);
		}
	}
	if (getnameinfo(sa, salen, c->peer_addr, sizeof(c->peer_addr), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(c->peer_addr, sizeof(c->peer_addr), "?");
		return;
	}
	c->peer_port = (int)strtol(serv, NULL, 10);
}

static void
conn_nodelay(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		log_warn("%s: TCP_NODELAY", __func__);
}

/* A client speaks first: start its handshake once the socket is writable. */
static void
conn_schedule_handshake(struct conn *c)
{
	event_add(c->wev, NULL);
}

static struct conn *
conn_new(struct event_base *base, struct tlsctx *ctx, int fd, bool server,
    size_t max_frame, double timeout, const struct conn_cbs *cbs, void *arg)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	struct timeval tv;

	conn_nlive++;
	LIST_INSERT_HEAD(&conn_all, c, entry);
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

struct tlsctx *
tlsctx_new(const struct identity *id, char **cause)
{
	struct tlsctx *ctx = xcalloc(1, sizeof(*ctx));
	const char *errpos = NULL;
	int r;

	*cause = NULL;
	ctx->cred = identity_credentials(id);
	if ((r = gnutls_priority_init(&ctx->prio, CONN_PRIORITY,
	    &errpos)) < 0) {
		if (asprintf(cause, "TLS priority \"%s\": %s", CONN_PRIORITY,
		    gnutls_strerror(r)) == -1)
			abort();
		free(ctx);
		return NULL;
	}
	return ctx;
}

void
tlsctx_free(struct tlsctx *ctx)
{
	if (ctx == NULL)
		return;
	gnutls_priority_deinit(ctx->prio);
	free(ctx);
}

struct conn *
conn_connect(struct event_base *base, struct tlsctx *ctx,
    const struct sockaddr *sa, socklen_t salen, size_t max_frame,
    double handshake_timeout, const struct conn_cbs *cbs, void *arg)
{
	return conn_connect_from(base, ctx, NULL, 0, sa, salen, max_frame,
	    handshake_timeout, cbs, arg);
}

/*
 * Bind the source address first (port 0: chosen at connect time, so
 * the 4-tuple, not the address alone, must be unique).
 */
static int
conn_bind_src(int fd, const struct sockaddr *src, socklen_t srclen)
{
#ifdef IP_BIND_ADDRESS_NO_PORT
	int one = 1;

	if (src->sa_family == AF_INET)
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
#endif
	return bind(fd, src, srclen);
}

struct conn *
conn_connect_from(struct event_base *base, struct tlsctx *ctx,
    const struct sockaddr *src, socklen_t srclen, const struct sockaddr *sa,
    socklen_t salen, size_t max_frame, double handshake_timeout,
    const struct conn_cbs *cbs, void *arg)
{
	struct conn *c;
	int fd;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		log_warn("%s: socket", __func__);
		return NULL;
	}
	if (src != NULL && conn_bind_src(fd, src, srclen) != 0) {
		log_warn("%s: bind", __func__);
		close(fd);
		return NULL;
	}
	conn_nodelay(fd);
	c = conn_new(base, ctx, fd, false, max_frame, handshake_timeout, cbs,
	    arg);
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	conn_set_peer(c, sa, salen);
	c->state = CONN_CONNECTING;
	if (connect(fd, sa, salen) == 0 || errno == EINPROGRESS ||
	    errno == EINTR)
		event_add(c->wev, NULL);
	else {
		c->connect_errno = errno;	/* reported from the loop */
		conn_schedule(c);
	}
	log_debug("%s: %s port %d", __func__, c->peer_addr, c->peer_port);
	return c;
}

/* Take a connected socket (made non-blocking here) as TLS server or client. */
static struct conn *
conn_adopt(struct event_base *base, struct tlsctx *ctx, int fd, bool server,
    const struct sockaddr *sa, socklen_t salen, size_t max_frame,
    double handshake_timeout, const struct conn_cbs *cbs, void *arg)
{
	struct conn *c;
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		log_warn("%s: fcntl", __func__);
		close(fd);
		return NULL;
	}
	conn_nodelay(fd);
	c = conn_new(base, ctx, fd, server, max_frame, handshake_timeout, cbs,
	    arg);
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	conn_set_peer(c, sa, salen);
	c->state = CONN_HANDSHAKE;
	conn_read_ctl(c);
	if (!server)
		conn_schedule_handshake(c);
	log_debug("%s: %s port %d (%s)", __func__, c->peer_addr, c->peer_port,
	    server ? "server" : "client");
	return c;
}

struct conn *
conn_accept(struct event_base *base, struct tlsctx *ctx, int fd,
    const struct sockaddr *sa, socklen_t salen, size_t max_frame,
    double handshake_timeout, const struct conn_cbs *cbs, void *arg)
{
	return conn_adopt(base, ctx, fd, true, sa, salen, max_frame,
	    handshake_timeout, cbs, arg);
}

struct conn *
conn_client_fd(struct event_base *base, struct tlsctx *ctx, int fd,
    const struct sockaddr *sa, socklen_t salen, size_t max_frame,
    double handshake_timeout, const struct conn_cbs *cbs, void *arg)
{
	return conn_adopt(base, ctx, fd, false, sa, salen, max_frame,
	    handshake_timeout, cbs, arg);
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
