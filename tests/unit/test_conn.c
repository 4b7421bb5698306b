/*
 * Unit tests for the TLS connection glue (daemon/net/conn.c) on 127.0.0.1:
 * mutual authentication, frames both ways, limits, timeouts, refusal of
 * TLS 1.2, a foreign ALPN and a client without a certificate, and closing
 * from inside callbacks. Raw GnuTLS clients run in a thread so that the
 * event loop keeps serving the conn under test.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "conn.h"
#include "identity.h"
#include "log.h"
#include "testutil.h"
#include "util.h"

#define MIB		(1024 * 1024)

struct side {
	struct conn	*c;
	bool		 ready;
	bool		 closed;
	char		 group[32];	/* conn_tls_group at on_ready */
	char		 reason[256];
	int		 nframes;
	int		 next;		/* expected "n" */
	bool		 out_of_order;
	size_t		 bodylen;	/* of the last "body" */
	size_t		 bodymax;	/* longest "body" */
	bool		 body_bad;
	char		 last_t[32];
	char		 last_code[32];
	/* behaviour */
	size_t		 max_frame;
	double		 timeout;
	int		 send_on_ready;	/* numbered frames sent at ready */
	bool		 close_on_ready;
	int		 close_at;	/* conn_close after this many frames */
	int		 abort_at;	/* conn_abort after this many frames */
	struct side	*other;		/* ... and close this side's conn */
	int		 pause_at;	/* pause after this many frames */
	bool		 paused;
	bool		 frame_while_paused;
	/* bulk frames (conn_send_bulk): "k" or a binary frame's byte 1 */
	int		 seq;		/* frames of any kind so far */
	int		 chat_seq;	/* seq of the "chat" frame, or -1 */
	int		 bulk_next;	/* expected k */
	bool		 bulk_bad;	/* out of order or not intact */
	int		 nbin;
};

struct rawcli {
	const char	*prio;
	const char	*alpn;		/* NULL: offer none */
	bool		 cert;
	const void	*payload;	/* written after the handshake */
	size_t		 paylen;
	int		 hs;		/* handshake result */
	int		 rc;		/* last record_recv result */
	char		 buf[4096];
	size_t		 got;
	int		 done;
	int		 wake[2];	/* pipe: tells the loop it is done */
};

static struct event_base *base;
static struct identity	*id_srv, *id_cli;
static struct tlsctx	*ctx_srv, *ctx_cli;
static struct event	*lev, *safety, *resume_ev;
static int		 lfd = -1, port;
static size_t		 cli_pending_at_resume;
static bool		 timed_out;
static char		 dir_srv[TU_DIR_MAX], dir_cli[TU_DIR_MAX];
static struct side	 srv, cli;

static void	on_ready(struct conn *, void *);
static void	on_frame(struct conn *, json_t *, void *);
static void	on_close(struct conn *, const char *, void *);

static void	on_binary(struct conn *, const unsigned char *, size_t,
		    void *);

static const struct conn_cbs cbs = { on_ready, on_frame, on_close, NULL,
	NULL, NULL, on_binary };

/* Run the loop until cond holds, failing the test after secs. */
#define RUN_UNTIL(cond, secs) do {					\
	struct timeval tv_ = { (secs), 0 };				\
	timed_out = false;						\
	evtimer_add(safety, &tv_);					\
	while (!(cond) && !timed_out)					\
		event_base_loop(base, EVLOOP_ONCE);			\
	evtimer_del(safety);						\
	ck_assert_msg((cond), "timed out waiting for: %s", #cond);	\
} while (0)

/* ------------------------------------------------------------- helpers */

static void
send_numbered(struct conn *c, int count)
{
	json_t *f;
	int i;

	for (i = 0; i < count; i++) {
		f = json_pack("{s:s, s:i}", "t", "n", "n", i);
		ck_assert_int_eq(conn_send(c, f), 0);
		json_decref(f);
	}
}

/* A frame {"t":"big","n":n,"body":"abc..."} with a len-byte body. */
static void
send_body(struct conn *c, size_t len, int n)
{
	json_t *f;
	char *s = malloc(len + 1);
	size_t i;

	for (i = 0; i < len; i++)
		s[i] = 'a' + i % 26;
	s[len] = '\0';
	f = json_pack("{s:s, s:i, s:s}", "t", "big", "n", n, "body", s);
	ck_assert_int_eq(conn_send(c, f), 0);
	json_decref(f);
	free(s);
}

static void
check_body(struct side *sd, json_t *f)
{
	const char *s = json_string_value(json_object_get(f, "body"));
	size_t i;

	if (s == NULL)
		return;
	sd->bodylen = json_string_length(json_object_get(f, "body"));
	if (sd->bodylen > sd->bodymax)
		sd->bodymax = sd->bodylen;
	for (i = 0; i < sd->bodylen; i++)
		if (s[i] != (char)('a' + i % 26))
			sd->body_bad = true;
}

static void
on_ready(struct conn *c, void *arg)
{
	struct side *sd = arg;

	sd->ready = true;
	snprintf(sd->group, sizeof(sd->group), "%s",
	    conn_tls_group(c) != NULL ? conn_tls_group(c) : "(none)");
	if (sd->send_on_ready > 0)
		send_numbered(c, sd->send_on_ready);
	if (sd->close_on_ready) {
		conn_close(c);
		sd->c = NULL;
	}
}

static void
on_frame(struct conn *c, json_t *f, void *arg)
{
	struct side *sd = arg;
	json_t *n = json_object_get(f, "n");
	const char *code;

	if (sd->paused)
		sd->frame_while_paused = true;
	sd->nframes++;
	snprintf(sd->last_t, sizeof(sd->last_t), "%s",
	    json_string_value(json_object_get(f, "t")));
	if ((code = json_string_value(json_object_get(f, "code"))) != NULL)
		snprintf(sd->last_code, sizeof(sd->last_code), "%s", code);
	if (json_is_integer(n) && json_integer_value(n) != sd->next++)
		sd->out_of_order = true;
	check_body(sd, f);
	if (strcmp(sd->last_t, "chat") == 0)
		sd->chat_seq = sd->seq;
	if (json_is_integer(json_object_get(f, "k")) &&
	    json_integer_value(json_object_get(f, "k")) != sd->bulk_next++)
		sd->bulk_bad = true;
	sd->seq++;

	if (sd->close_at > 0 && sd->nframes == sd->close_at) {
		conn_close(c);
		conn_close(c);		/* twice is harmless */
		ck_assert_int_eq(conn_send(c, f), -1);
		sd->c = NULL;
	}
	if (sd->abort_at > 0 && sd->nframes == sd->abort_at) {
		if (sd->other != NULL) {
			conn_close(sd->other->c);
			sd->other->c = NULL;
		}
		conn_abort(c);
		sd->c = NULL;
	}
	if (sd->pause_at > 0 && sd->nframes == sd->pause_at) {
		struct timeval tv = { 0, 200000 };

		conn_pause(c, true);
		sd->paused = true;
		evtimer_add(resume_ev, &tv);
	}
}

/* A binary frame: 0x00, k, then 'a', 'b', ... */
static void
on_binary(struct conn *c, const unsigned char *p, size_t n, void *arg)
{
	struct side *sd = arg;
	size_t i;

	(void)c;
	sd->nbin++;
	if (n < 2 || p[0] != 0 || p[1] != (unsigned char)sd->bulk_next++)
		sd->bulk_bad = true;
	for (i = 2; i < n; i++)
		if (p[i] != (unsigned char)('a' + (i - 2) % 26))
			sd->bulk_bad = true;
	sd->seq++;
}

static void
on_close(struct conn *c, const char *reason, void *arg)
{
	struct side *sd = arg;

	(void)c;
	ck_assert_msg(!sd->closed, "on_close twice");
	sd->closed = true;
	sd->c = NULL;
	snprintf(sd->reason, sizeof(sd->reason), "%s", reason);
}

static void
resume_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	srv.paused = false;
	if (cli.c != NULL)
		cli_pending_at_resume = conn_pending_bytes(cli.c);
	if (srv.c != NULL)
		conn_pause(srv.c, false);
}

static void
safety_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	timed_out = true;
}

static void
accept_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int s;

	(void)ev;
	(void)arg;
	if ((s = accept(fd, (struct sockaddr *)&ss, &len)) == -1)
		return;
	ck_assert_ptr_null(srv.c);
	srv.c = conn_accept(base, ctx_srv, s, (struct sockaddr *)&ss, len,
	    srv.max_frame, srv.timeout, &cbs, &srv);
	ck_assert_ptr_nonnull(srv.c);
}

static struct sockaddr_in
loopback(int p)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(p);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static void
client_connect(void)
{
	struct sockaddr_in sin = loopback(port);

	cli.c = conn_connect(base, ctx_cli, (struct sockaddr *)&sin,
	    sizeof(sin), cli.max_frame, cli.timeout, &cbs, &cli);
	ck_assert_ptr_nonnull(cli.c);
}

static struct identity *
make_identity(char *dir)
{
	struct identity *id;
	char *cause = NULL;

	tu_mkdtemp(dir, "p2p-conn");
	id = identity_load(dir, "identity.key", &cause);
	ck_assert_msg(id != NULL, "identity: %s", cause);
	return id;
}

static void
setup(void)
{
	struct sockaddr_in sin = loopback(0);
	socklen_t len = sizeof(sin);
	char *cause = NULL;
	int one = 1;

	base = event_base_new();
	id_srv = make_identity(dir_srv);
	id_cli = make_identity(dir_cli);
	ctx_srv = tlsctx_new(id_srv, &cause);
	ck_assert_ptr_nonnull(ctx_srv);
	ctx_cli = tlsctx_new(id_cli, &cause);
	ck_assert_ptr_nonnull(ctx_cli);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(lfd, -1);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	lev = event_new(base, lfd, EV_READ | EV_PERSIST, accept_cb, NULL);
	event_add(lev, NULL);
	safety = evtimer_new(base, safety_cb, NULL);
	resume_ev = evtimer_new(base, resume_cb, NULL);

	memset(&srv, 0, sizeof(srv));
	memset(&cli, 0, sizeof(cli));
	srv.max_frame = cli.max_frame = MIB;
	srv.timeout = cli.timeout = 5.0;
	srv.chat_seq = cli.chat_seq = -1;
}

static void
teardown(void)
{
	struct timeval tv = { 3, 0 };

	/* Abort what is open, then let closing conns finish. */
	if (srv.c != NULL)
		conn_abort(srv.c);
	if (cli.c != NULL)
		conn_abort(cli.c);
	event_free(lev);
	event_free(resume_ev);
	timed_out = false;
	evtimer_add(safety, &tv);
	while (event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED |
	    EVENT_BASE_COUNT_ACTIVE) > 1 && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(safety);
	if (lfd != -1)
		close(lfd);
	tlsctx_free(ctx_srv);
	tlsctx_free(ctx_cli);
	identity_free(id_srv);
	identity_free(id_cli);
	event_base_free(base);
	tu_rmdir(dir_srv);
	tu_rmdir(dir_cli);
}

/* A blocking GnuTLS client, run in a thread. */
static void *
rawcli_main(void *arg)
{
	struct rawcli *rc = arg;
	struct sockaddr_in sin = loopback(port);
	struct timeval tv = { 5, 0 };
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s;
	gnutls_datum_t alpn;
	ssize_t n;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		rc->hs = -1;
		goto out;
	}
	gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL);
	gnutls_priority_set_direct(s, rc->prio, NULL);
	if (rc->cert)
		gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
		    identity_credentials(id_cli));
	else {
		gnutls_certificate_allocate_credentials(&cred);
		gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	}
	if (rc->alpn != NULL) {
		alpn.data = (unsigned char *)rc->alpn;
		alpn.size = strlen(rc->alpn);
		gnutls_alpn_set_protocols(s, &alpn, 1, 0);
	}
	gnutls_transport_set_int(s, fd);
	do {
		rc->hs = gnutls_handshake(s);
	} while (rc->hs == GNUTLS_E_INTERRUPTED);
	if (rc->hs == 0 && rc->payload != NULL)
		gnutls_record_send(s, rc->payload, rc->paylen);
	while (rc->hs == 0 && rc->got < sizeof(rc->buf)) {
		n = gnutls_record_recv(s, rc->buf + rc->got,
		    sizeof(rc->buf) - rc->got);
		rc->rc = (int)n;
		if (n <= 0)
			break;
		rc->got += (size_t)n;
	}
	gnutls_deinit(s);
	if (cred != NULL)
		gnutls_certificate_free_credentials(cred);
out:
	close(fd);
	__atomic_store_n(&rc->done, 1, __ATOMIC_RELEASE);
	if (write(rc->wake[1], "", 1) != 1)
		abort();
	return NULL;
}

static void
wake_cb(evutil_socket_t fd, short ev, void *arg)
{
	char c;

	(void)ev;
	(void)arg;
	if (read(fd, &c, 1) != 1)
		abort();
}

/* Run a raw client to completion while the loop serves the server side. */
static void
rawcli_run(struct rawcli *rc)
{
	struct event *ev;
	pthread_t t;

	ck_assert_int_eq(pipe2(rc->wake, O_CLOEXEC), 0);
	ev = event_new(base, rc->wake[0], EV_READ, wake_cb, NULL);
	event_add(ev, NULL);
	ck_assert_int_eq(pthread_create(&t, NULL, rawcli_main, rc), 0);
	RUN_UNTIL(__atomic_load_n(&rc->done, __ATOMIC_ACQUIRE) && srv.closed,
	    8);
	pthread_join(t, NULL);
	event_free(ev);
	close(rc->wake[0]);
	close(rc->wake[1]);
}

/* --------------------------------------------------------------- tests */

START_TEST(test_handshake)
{
	client_connect();
	ck_assert(!conn_is_ready(cli.c));
	RUN_UNTIL(srv.ready && cli.ready, 5);
	ck_assert(conn_is_ready(srv.c) && conn_is_ready(cli.c));
	ck_assert_str_eq(conn_peer_fingerprint(srv.c),
	    identity_fingerprint(id_cli));
	ck_assert_str_eq(conn_peer_fingerprint(cli.c),
	    identity_fingerprint(id_srv));
	ck_assert_str_ne(identity_fingerprint(id_srv),
	    identity_fingerprint(id_cli));
	ck_assert_str_eq(conn_peer_addr(srv.c), "127.0.0.1");
	ck_assert_str_eq(conn_peer_addr(cli.c), "127.0.0.1");
	ck_assert_int_eq(conn_peer_port(cli.c), port);
	ck_assert_int_gt(conn_peer_port(srv.c), 0);
	ck_assert(!srv.closed && !cli.closed);
	/* X25519 is preferred over NORMAL's SECP256R1 (handshake CPU). */
	ck_assert_str_eq(srv.group, "X25519");
	ck_assert_str_eq(cli.group, "X25519");
	ck_assert_str_eq(conn_tls_group(srv.c), "X25519");
}
END_TEST

/*
 * A client that offers only SECP256R1 still connects; one with GnuTLS's
 * NORMAL order (p2pchat before X25519 came first: SECP256R1 preferred,
 * an X25519 key share sent too) gets X25519, the server's choice.
 */
START_TEST(test_group_fallback)
{
	static const unsigned char bad[] = { 0, 0, 0, 2, '[', ']' };
	static const char *const prio[] = {
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-SECP256R1",
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3" };
	static const char *const want[] = { "SECP256R1", "X25519" };
	size_t i;

	for (i = 0; i < 2; i++) {
		struct rawcli rc = { .prio = prio[i], .alpn = P2P_ALPN,
		    .cert = true, .payload = bad, .paylen = sizeof(bad) };

		srv.ready = srv.closed = false;
		srv.c = NULL;
		srv.group[0] = '\0';
		rawcli_run(&rc);
		ck_assert_int_eq(rc.hs, 0);
		ck_assert(srv.ready);
		ck_assert_str_eq(srv.group, want[i]);
	}
}
END_TEST

START_TEST(test_many_frames)
{
	const int n = 10000;

	srv.send_on_ready = n;
	client_connect();
	send_numbered(cli.c, n);	/* queued before the handshake */
	ck_assert_uint_gt(conn_pending_bytes(cli.c), 0);
	RUN_UNTIL(srv.nframes == n && cli.nframes == n, 8);
	ck_assert(!srv.out_of_order && !cli.out_of_order);
	RUN_UNTIL(conn_pending_bytes(cli.c) == 0 &&
	    conn_pending_bytes(srv.c) == 0, 5);
	/* And a second burst on the live connection. */
	srv.next = cli.next = 0;
	send_numbered(srv.c, n / 10);
	send_numbered(cli.c, n / 10);
	RUN_UNTIL(srv.nframes == n + n / 10 && cli.nframes == n + n / 10, 8);
	ck_assert(!srv.out_of_order && !cli.out_of_order);
	ck_assert(!srv.closed && !cli.closed);
}
END_TEST

START_TEST(test_big_frame)
{
	const size_t len = 200 * 1024;

	client_connect();
	RUN_UNTIL(srv.ready && cli.ready, 5);
	send_body(cli.c, len, 0);
	send_body(srv.c, len, 0);
	send_body(cli.c, 10, 1);
	RUN_UNTIL(srv.nframes == 2 && cli.nframes == 1, 5);
	ck_assert_uint_eq(srv.bodymax, len);
	ck_assert_uint_eq(srv.bodylen, 10);
	ck_assert_uint_eq(cli.bodylen, len);
	ck_assert(!srv.body_bad && !cli.body_bad);
	ck_assert(!srv.out_of_order);
}
END_TEST

/*
 * Bulk frames (a file's chunks, JSON or binary) go out whole and in order,
 * but a frame queued after them with conn_send goes first: a chat line
 * never waits behind the chunks queued before it.
 */
START_TEST(test_bulk_yields)
{
	const size_t len = 60 * 1024;
	unsigned char *b = malloc(len);
	char hdr[64];
	struct timeval tv;
	json_t *f;
	size_t i, h, rem;
	int k, started;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)('a' + i % 26);
	client_connect();
	RUN_UNTIL(srv.ready && cli.ready, 5);
	for (k = 0; k < 16; k++) {
		if (k % 2 == 0) {
			h = (size_t)snprintf(hdr, sizeof(hdr),
			    "{\"t\":\"bulk\",\"k\":%d,\"body\":\"", k);
			b[len - 2] = '"';
			b[len - 1] = '}';
		} else {
			hdr[0] = 0;
			hdr[1] = (char)k;
			h = 2;
		}
		ck_assert_int_eq(conn_send_bulk(cli.c, hdr, h, b, k % 2 == 0 ?
		    len : len - 2), 0);
	}
	ck_assert_uint_ge(conn_bulk_bytes(cli.c), 16 * (len - 2));
	f = json_pack("{s:s}", "t", "chat");
	ck_assert_int_eq(conn_send(cli.c, f), 0);
	json_decref(f);
	RUN_UNTIL(srv.seq == 17, 10);
	ck_assert_int_eq(srv.chat_seq, 0);	/* before every chunk */
	ck_assert_int_eq(srv.nbin, 8);
	ck_assert(!srv.bulk_bad);
	RUN_UNTIL(conn_bulk_bytes(cli.c) == 0, 5);
	/*
	 * Queued while chunks go out (the reader paused, the kernel's
	 * buffers full): behind the chunks already started, before all
	 * the others.
	 */
	conn_pause(srv.c, true);
	for (k = 0; k < 256; k++) {
		hdr[0] = 0;
		hdr[1] = (char)(k + 16);
		ck_assert_int_eq(conn_send_bulk(cli.c, hdr, 2, b, len - 2), 0);
	}
	do {		/* until the sender can put no more in the kernel */
		rem = conn_bulk_bytes(cli.c);
		tv.tv_sec = 0;
		tv.tv_usec = 100000;
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	} while (conn_bulk_bytes(cli.c) != rem);
	ck_assert_uint_ge(rem, 2 * (len + 4));
	started = 256 - (int)(rem / (len + 4));	/* frames of 4 + len */
	f = json_pack("{s:s}", "t", "chat");
	ck_assert_int_eq(conn_send(cli.c, f), 0);
	json_decref(f);
	conn_pause(srv.c, false);
	RUN_UNTIL(srv.seq == 17 + 257, 20);
	/* (+1: the next one, when GnuTLS holds its first record) */
	ck_assert_msg(srv.chat_seq == 17 + started ||
	    srv.chat_seq == 17 + started + 1, "chat after %d frames, %d started",
	    srv.chat_seq - 17, started);
	ck_assert(!srv.bulk_bad && !srv.closed);
	free(b);
}
END_TEST

START_TEST(test_too_big)
{
	json_t *f;

	srv.max_frame = 1024;
	client_connect();
	RUN_UNTIL(srv.ready && cli.ready, 5);

	send_numbered(cli.c, 3);
	RUN_UNTIL(srv.nframes == 3, 5);
	{
		char *s = calloc(1, 2001);

		memset(s, 'x', 2000);
		/* Over our own limit: refused locally, the conn stays up. */
		f = json_pack("{s:s, s:s}", "t", "big", "body", s);
		ck_assert_int_eq(conn_send(srv.c, f), -1);
		ck_assert(conn_is_ready(srv.c));
		ck_assert_int_eq(conn_send(cli.c, f), 0);
		json_decref(f);
		free(s);
	}
	RUN_UNTIL(srv.closed, 5);
	ck_assert_msg(strstr(srv.reason, "too big") != NULL, "reason: %s",
	    srv.reason);
	ck_assert_int_eq(srv.nframes, 3);
	/* The client is told why, then sees the close. */
	RUN_UNTIL(cli.closed, 5);
	ck_assert_str_eq(cli.last_t, "error");
	ck_assert_str_eq(cli.last_code, "frame_too_big");
}
END_TEST

START_TEST(test_handshake_timeout)
{
	struct sockaddr_in sin = loopback(port);
	double t0;
	int fd;

	srv.timeout = 0.3;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	t0 = util_mono();
	RUN_UNTIL(srv.closed, 5);
	ck_assert_str_eq(srv.reason, "handshake timeout");
	ck_assert(!srv.ready);
	ck_assert_msg(util_mono() - t0 >= 0.25 && util_mono() - t0 < 2.0,
	    "took %.3f s", util_mono() - t0);
	close(fd);
}
END_TEST

START_TEST(test_tls12_refused)
{
	struct rawcli rc = { .prio = "NORMAL:-VERS-ALL:+VERS-TLS1.2",
	    .alpn = P2P_ALPN, .cert = true };

	rawcli_run(&rc);
	ck_assert(!srv.ready);
	ck_assert_int_lt(rc.hs, 0);
}
END_TEST

START_TEST(test_alpn_refused)
{
	struct rawcli rc = { .prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3",
	    .alpn = "http/1.1", .cert = true };

	rawcli_run(&rc);
	ck_assert(!srv.ready);
	ck_assert_uint_eq(rc.got, 0);
}
END_TEST

START_TEST(test_no_alpn_refused)
{
	struct rawcli rc = { .prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3",
	    .alpn = NULL, .cert = true };

	rawcli_run(&rc);
	ck_assert(!srv.ready);
	ck_assert_uint_eq(rc.got, 0);
}
END_TEST

START_TEST(test_no_cert_refused)
{
	struct rawcli rc = { .prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3",
	    .alpn = P2P_ALPN, .cert = false };

	rawcli_run(&rc);
	ck_assert(!srv.ready);
	/* In TLS 1.3 the client may finish first; its next read fails. */
	ck_assert_uint_eq(rc.got, 0);
	ck_assert(rc.hs < 0 || rc.rc < 0);
}
END_TEST

START_TEST(test_bad_frame)
{
	static const unsigned char bad[] = { 0, 0, 0, 2, '[', ']' };
	struct rawcli rc = { .prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3",
	    .alpn = P2P_ALPN, .cert = true, .payload = bad,
	    .paylen = sizeof(bad) };
	json_t *f;
	json_error_t err;

	rawcli_run(&rc);
	ck_assert(srv.ready);
	ck_assert_msg(strstr(srv.reason, "bad frame") != NULL, "reason: %s",
	    srv.reason);
	/* One error frame, then a clean close_notify. */
	ck_assert_int_eq(rc.hs, 0);
	ck_assert_int_eq(rc.rc, 0);
	ck_assert_uint_gt(rc.got, 4);
	ck_assert_uint_eq(rc.got, 4 + ((size_t)(unsigned char)rc.buf[2] << 8 |
	    (unsigned char)rc.buf[3]));
	f = json_loadb(rc.buf + 4, rc.got - 4, 0, &err);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(json_string_value(json_object_get(f, "t")), "error");
	ck_assert_str_eq(json_string_value(json_object_get(f, "code")),
	    "bad_frame");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(f,
	    "message")));
	json_decref(f);
}
END_TEST

START_TEST(test_close_in_frame)
{
	srv.close_at = 1;
	client_connect();
	send_numbered(cli.c, 100);
	RUN_UNTIL(cli.closed, 5);
	ck_assert_int_eq(srv.nframes, 1);
	ck_assert(!srv.closed);		/* no on_close after conn_close */
	ck_assert_str_eq(cli.reason, "closed by peer");
}
END_TEST

START_TEST(test_abort_in_frame)
{
	srv.abort_at = 2;
	client_connect();
	send_numbered(cli.c, 100);
	RUN_UNTIL(cli.closed, 5);
	ck_assert_int_eq(srv.nframes, 2);
	ck_assert(!srv.closed);
}
END_TEST

START_TEST(test_close_both_in_frame)
{
	/* The server closes the client's conn, then aborts its own. */
	srv.abort_at = 1;
	srv.other = &cli;
	client_connect();
	send_numbered(cli.c, 100);
	RUN_UNTIL(srv.nframes == 1 && srv.c == NULL && cli.c == NULL, 5);
	ck_assert(!srv.closed && !cli.closed);
}
END_TEST

START_TEST(test_close_flushes)
{
	/* Frames queued just before conn_close all arrive. */
	srv.send_on_ready = 1000;
	srv.close_on_ready = true;
	client_connect();
	RUN_UNTIL(cli.closed, 5);
	ck_assert_int_eq(cli.nframes, 1000);
	ck_assert(!cli.out_of_order);
	ck_assert_str_eq(cli.reason, "closed by peer");
	ck_assert(!srv.closed);
}
END_TEST

START_TEST(test_pause)
{
	srv.pause_at = 10;
	client_connect();
	send_numbered(cli.c, 1000);
	RUN_UNTIL(srv.nframes == 10, 5);
	ck_assert(srv.paused);
	RUN_UNTIL(srv.nframes == 1000, 5);
	ck_assert(!srv.frame_while_paused);
	ck_assert(!srv.out_of_order);
}
END_TEST

START_TEST(test_backpressure)
{
	const int n = 96;
	const size_t len = 64 * 1024;
	int i, small = 64 * 1024;

	/* A small receive window, so the sender meets GNUTLS_E_AGAIN. */
	ck_assert_int_eq(setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small)), 0);
	srv.pause_at = 1;
	client_connect();
	for (i = 0; i < n; i++)
		send_body(cli.c, len, i);
	RUN_UNTIL(srv.nframes == n, 8);
	ck_assert(!srv.frame_while_paused && !srv.out_of_order);
	ck_assert(!srv.body_bad);
	ck_assert_uint_eq(srv.bodylen, len);
	ck_assert_uint_gt(cli_pending_at_resume, 0);
	RUN_UNTIL(conn_pending_bytes(cli.c) == 0, 5);
}
END_TEST

START_TEST(test_connect_refused)
{
	struct sockaddr_in sin = loopback(port);

	close(lfd);		/* nothing listens on port any more */
	lfd = -1;
	cli.c = conn_connect(base, ctx_cli, (struct sockaddr *)&sin,
	    sizeof(sin), MIB, 5.0, &cbs, &cli);
	ck_assert_ptr_nonnull(cli.c);
	RUN_UNTIL(cli.closed, 5);
	ck_assert(!cli.ready);
	ck_assert_msg(strstr(cli.reason, "connect") != NULL, "reason: %s",
	    cli.reason);
}
END_TEST

static Suite *
conn_suite(void)
{
	Suite *s = suite_create("conn");
	TCase *tc = tcase_create("tls");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_handshake);
	tcase_add_test(tc, test_group_fallback);
	tcase_add_test(tc, test_many_frames);
	tcase_add_test(tc, test_big_frame);
	tcase_add_test(tc, test_bulk_yields);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_handshake_timeout);
	tcase_add_test(tc, test_tls12_refused);
	tcase_add_test(tc, test_alpn_refused);
	tcase_add_test(tc, test_no_alpn_refused);
	tcase_add_test(tc, test_no_cert_refused);
	tcase_add_test(tc, test_bad_frame);
	tcase_add_test(tc, test_close_in_frame);
	tcase_add_test(tc, test_abort_in_frame);
	tcase_add_test(tc, test_close_both_in_frame);
	tcase_add_test(tc, test_close_flushes);
	tcase_add_test(tc, test_pause);
	tcase_add_test(tc, test_backpressure);
	tcase_add_test(tc, test_connect_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(conn_suite(), LOG_LVL_WARN);
}
