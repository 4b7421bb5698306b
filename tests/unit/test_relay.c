/*
 * Unit tests for the relay (daemon/gestor/relay.c) on 127.0.0.1: two sockets
 * presenting a session's two keys (the requester's, the target's) are
 * paired and get P2P_RELAY_OK, then bytes flow both ways if they start
 * with a TLS handshake record, else both are closed; one side's key
 * twice does not pair; a wrong, reused or expired key, or a preamble that is
 * not one, gets the connection closed without a byte; the caps per user
 * (requester, and unpaired ones per pair) and in all refuse new sessions
 * without touching others' sessions; a connection has pairing_timeout
 * from its accept to present a key, and at most 64 are counted per IPv6
 * /64; a side that
 * ends closes the other once its bytes are delivered. The relay runs on
 * the event loop, pumped by the test between blocking client calls.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "relay.h"
#include "testutil.h"
#include "util.h"

static struct event_base *base;
static struct config	*cfg;
static struct daemon	 d;
static struct relay	*relay;

static void
setup(void)
{
	char err[256], *cause = NULL;

	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	cfg = config_load(NULL, MODE_GESTOR, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	free(cfg->relay_listen);
	cfg->relay_listen = xstrdup("127.0.0.1:0");
	cfg->relay_max_user_sessions = 3;
	cfg->relay_max_sessions = 5;
	cfg->relay_pairing_timeout = 0.4;
	d.base = base;
	d.cfg = cfg;
	relay = relay_open(&d, &cause);
	ck_assert_msg(relay != NULL, "%s", cause != NULL ? cause : "?");
}

static void
teardown(void)
{
	relay_close(relay);
	config_free(cfg);
	event_base_free(base);
}

/* Run the loop for about ms milliseconds. */
static void
pump(int ms)
{
	double end = util_mono() + ms / 1000.0;

	while (util_mono() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static int
dial(void)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)relay_port(relay));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	pump(20);
	return fd;
}

static void
send_all(int fd, const void *p, size_t n)
{
	ck_assert_int_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void
present(int fd, const char *key)
{
	char req[P2P_RELAY_REQ_LEN + 1];

	memset(req, 'x', sizeof(req));
	snprintf(req, sizeof(req), "%s%s\n", P2P_RELAY_HELLO, key);
	send_all(fd, req, P2P_RELAY_REQ_LEN);
	pump(20);
}

/*
 * Read up to want bytes within ms, pumping the loop: the count read, and
 * *eof set when the relay closed the connection.
 */
static size_t
recv_some(int fd, char *buf, size_t want, int ms, bool *eof)
{
	double end = util_mono() + ms / 1000.0;
	size_t got = 0;
	ssize_t n;

	*eof = false;
	while (got < want && util_mono() < end) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		n = recv(fd, buf + got, want - got, MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno == ECONNRESET)) {
			*eof = true;
			break;
		}
		if (n > 0)
			got += (size_t)n;
		else
			usleep(1000);
	}
	return got;
}

/* The relay closes fd without having sent a single byte. */
static void
expect_nothing(int fd)
{
	char buf[64];
	bool eof;

	ck_assert_uint_eq(recv_some(fd, buf, sizeof(buf), 2000, &eof), 0);
	ck_assert_msg(eof, "connection not closed");
	close(fd);
}

static void
expect_ok(int fd)
{
	char buf[P2P_RELAY_OK_LEN];
	bool eof;

	ck_assert_uint_eq(recv_some(fd, buf, sizeof(buf), 2000, &eof),
	    P2P_RELAY_OK_LEN);
	ck_assert(memcmp(buf, P2P_RELAY_OK, P2P_RELAY_OK_LEN) == 0);
}

/* A session's two keys: the requester's and the target's. */
struct keys {
	char	 from[P2P_RELAY_KEY_HEX + 1];
	char	 to[P2P_RELAY_KEY_HEX + 1];
};

/* A session from requester from, who asked from address addr. */
static void
new_session_at(const char *from, const char *addr, const char *to,
    struct keys *k)
{
	const char *code = NULL, *why = NULL;

	ck_assert_msg(relay_session_new(relay, from, addr, to, k->from, k->to,
	    &code, &why) == 0, "%s -> %s refused: %s", from, to, why);
	ck_assert_uint_eq(strlen(k->from), P2P_RELAY_KEY_HEX);
	ck_assert_uint_eq(strspn(k->from, "0123456789abcdef"), P2P_RELAY_KEY_HEX);
	ck_assert_uint_eq(strspn(k->to, "0123456789abcdef"), P2P_RELAY_KEY_HEX);
	ck_assert_str_ne(k->from, k->to);
}

static void
new_session(const char *from, const char *to, struct keys *k)
{
	new_session_at(from, "127.0.0.1", to, k);
}

static int
new_session_refused_at(const char *from, const char *addr, const char *to,
    const char **code)
{
	struct keys k;
	const char *why;

	return relay_session_new(relay, from, addr, to, k.from, k.to, code,
	    &why);
}

static int
new_session_refused(const char *from, const char *to, const char **code)
{
	return new_session_refused_at(from, "127.0.0.1", to, code);
}

/* A TLS handshake record header (type 22, version 3.1) for len bytes. */
static void
send_record(int fd, const char *body)
{
	size_t n = strlen(body);
	unsigned char h[5] = { 22, 3, 1, 0, (unsigned char)n };

	send_all(fd, h, sizeof(h));
	send_all(fd, body, n);
}

/* A paired session: *a the requester's connection, *b the target's. */
static void
paired(struct keys *k, int *a, int *b)
{
	new_session("alice", "bob", k);
	*a = dial();
	present(*a, k->from);
	*b = dial();
	present(*b, k->to);
	expect_ok(*a);
	expect_ok(*b);
}

START_TEST(test_pair_and_copy)
{
	struct keys k;
	char buf[16];
	struct relay_stats st;
	int a, b;
	bool eof;

	paired(&k, &a, &b);
	send_record(a, "hello");
	ck_assert_uint_eq(recv_some(b, buf, 10, 2000, &eof), 10);
	ck_assert(memcmp(buf, "\x16\x03\x01\x00\x05hello", 10) == 0);
	send_record(b, "world!");
	ck_assert_uint_eq(recv_some(a, buf, 11, 2000, &eof), 11);
	ck_assert(memcmp(buf + 5, "world!", 6) == 0);
	relay_get_stats(relay, &st);
	ck_assert_int_eq(st.active, 1);
	ck_assert_uint_eq(st.total, 1);
	ck_assert_uint_eq(st.bytes, 21);
	/* One side ends: the other gets what was sent, then EOF. */
	send_all(a, "bye", 3);
	close(a);
	ck_assert_uint_eq(recv_some(b, buf, sizeof(buf), 2000, &eof), 3);
	if (!eof)
		ck_assert_uint_eq(recv_some(b, buf, sizeof(buf), 2000, &eof), 0);
	ck_assert(eof);
	close(b);
	pump(20);
	relay_get_stats(relay, &st);
	ck_assert_int_eq(st.active, 0);
}
END_TEST

START_TEST(test_bad_keys)
{
	char wrong[P2P_RELAY_KEY_HEX + 1];
	struct keys k;
	struct relay_stats st;
	int a, b, c;

	new_session("alice", "bob", &k);
	/* A wrong key (one digit off) gets nothing. */
	memcpy(wrong, k.from, sizeof(wrong));
	wrong[10] = wrong[10] == '0' ? '1' : '0';
	c = dial();
	present(c, wrong);
	expect_nothing(c);
	/* Not a preamble at all: uppercase hex, then plain garbage. */
	memcpy(wrong, k.to, sizeof(wrong));
	wrong[0] = 'A';
	c = dial();
	present(c, wrong);
	expect_nothing(c);
	c = dial();
	send_all(c, "GET / HTTP/1.0\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 100);
	expect_nothing(c);
	/* The right keys still work after those. */
	a = dial();
	present(a, k.from);
	b = dial();
	present(b, k.to);
	expect_ok(a);
	expect_ok(b);
	/* Used: a third connection with either gets nothing. */
	c = dial();
	present(c, k.from);
	expect_nothing(c);
	c = dial();
	present(c, k.to);
	expect_nothing(c);
	relay_get_stats(relay, &st);
	ck_assert_uint_eq(st.bad_keys, 5);
	close(a);
	close(b);
}
END_TEST

START_TEST(test_expired_key)
{
	struct keys k;
	struct relay_stats st;
	int a, c;

	/* One side waits; the other never comes: both are gone at expiry. */
	new_session("alice", "bob", &k);
	a = dial();
	present(a, k.from);
	pump(600);
	expect_nothing(a);
	c = dial();
	present(c, k.to);
	expect_nothing(c);
	relay_get_stats(relay, &st);
	ck_assert_uint_eq(st.expired, 1);
	ck_assert_int_eq(st.waiting, 0);
}
END_TEST

START_TEST(test_caps)
{
	struct relay_stats st;
	struct keys k;
	const char *code;

	/* Two unpaired invitations per requester and target. */
	new_session("mallory", "bob", &k);
	new_session("mallory", "bob", &k);
	ck_assert_int_eq(new_session_refused("mallory", "bob", &code), -1);
	ck_assert_str_eq(code, ERR_RATE_LIMITED);
	/* relay.max_user_sessions = 3 per requester. */
	new_session("mallory", "carol", &k);
	ck_assert_int_eq(new_session_refused("mallory", "dave", &code), -1);
	ck_assert_str_eq(code, ERR_RATE_LIMITED);
	/* Others are served, bob included; relay.max_sessions = 5 caps all. */
	new_session("alice", "bob", &k);
	new_session("erin", "frank", &k);
	relay_get_stats(relay, &st);
	ck_assert_int_eq(st.waiting, 5);
	/*
	 * Full: mallory holds the most (3), so grace, then heidi, get a
	 * place of hers; then everybody holds one and ivan is refused.
	 */
	new_session("grace", "heidi", &k);
	new_session("heidi", "ivan", &k);
	relay_get_stats(relay, &st);
	ck_assert_uint_eq(st.evicted, 2);
	ck_assert_int_eq(st.waiting, 5);
	ck_assert_int_eq(new_session_refused("ivan", "judy", &code), -1);
	ck_assert_str_eq(code, ERR_BUSY);
	/* Unpaired sessions expire and free their places. */
	pump(600);
	new_session("ivan", "judy", &k);
	new_session("mallory", "bob", &k);
}
END_TEST

START_TEST(test_preamble_cap)
{
	struct relay_stats st, st2;
	int fds[10], c, i;

	/* Connections without a key: two per possible session (5) at most. */
	for (i = 0; i < 10; i++)
		fds[i] = dial();
	c = dial();
	expect_nothing(c);
	relay_get_stats(relay, &st);
	ck_assert_uint_ge(st.refused, 1);
	for (i = 0; i < 10; i++)
		close(fds[i]);
	pump(50);
	/* The places are free again: the next one is read (a bad key). */
	relay_get_stats(relay, &st);
	c = dial();
	present(c, "garbage");
	expect_nothing(c);
	relay_get_stats(relay, &st2);
	ck_assert_uint_eq(st2.refused, st.refused);
	ck_assert_uint_eq(st2.bad_keys, st.bad_keys + 1);
}
END_TEST

/*
 * Each side has a key of its own: the requester's key presented twice
 * does not pair (it would make the relay a pipe between any two hosts
 * for whoever holds one key); the target's key pairs.
 */
START_TEST(test_one_key_each)
{
	struct keys k;
	int a, b, c;

	new_session("alice", "bob", &k);
	a = dial();
	present(a, k.from);
	c = dial();
	present(c, k.from);
	expect_nothing(c);
	b = dial();
	present(b, k.to);
	expect_ok(a);
	expect_ok(b);
	close(a);
	close(b);
}
END_TEST

/*
 * After pairing each side's first bytes must start a TLS handshake
 * record; anything else closes both sides and nothing is forwarded.
 */
START_TEST(test_not_tls)
{
	struct relay_stats st;
	struct keys k;
	char buf[64];
	bool eof;
	int a, b;

	paired(&k, &a, &b);
	send_all(a, "GET / HTTP/1.0\r\n\r\n", 18);
	ck_assert_uint_eq(recv_some(b, buf, sizeof(buf), 2000, &eof), 0);
	ck_assert(eof);
	ck_assert_uint_eq(recv_some(a, buf, sizeof(buf), 2000, &eof), 0);
	ck_assert(eof);
	close(a);
	close(b);
	relay_get_stats(relay, &st);
	ck_assert_uint_eq(st.not_tls, 1);
	ck_assert_int_eq(st.active, 0);
	/* The target's first bytes too, even after a good ClientHello. */
	paired(&k, &a, &b);
	send_record(a, "hello");
	ck_assert_uint_eq(recv_some(b, buf, 10, 2000, &eof), 10);
	send_all(b, "\x17\x03\x03\x00\x01x", 6);	/* application data */
	ck_assert_uint_eq(recv_some(a, buf, sizeof(buf), 2000, &eof), 0);
	ck_assert(eof);
	close(a);
	close(b);
	relay_get_stats(relay, &st);
	ck_assert_uint_eq(st.not_tls, 2);
	/* A record header that arrives a byte at a time is fine. */
	paired(&k, &a, &b);
	send_all(a, "\x16", 1);
	pump(20);
	send_all(a, "\x03\x03\x00", 3);
	pump(20);
	send_all(a, "\x02ok", 3);
	ck_assert_uint_eq(recv_some(b, buf, 7, 2000, &eof), 7);
	ck_assert(memcmp(buf, "\x16\x03\x03\x00\x02ok", 7) == 0);
	close(a);
	close(b);
}
END_TEST

/*
 * Sources share the relay as accounts do: one address holds at most
 * relay.max_source_sessions, and a full relay takes a place back from
 * the source that holds the most, for a requester from another one,
 * even when every account there holds a single session.
 */
START_TEST(test_share_sources)
{
	struct relay_stats st;
	const char *code;
	struct keys k;

	cfg->relay_max_source_sessions = 4;
	new_session_at("a1", "2001:db8:1:1::1", "bob", &k);
	new_session_at("a2", "2001:db8:1:1::2", "bob", &k);
	new_session_at("a3", "2001:db8:1:1::3", "bob", &k);
	new_session_at("a4", "2001:db8:1:1:ffff::4", "bob", &k);
	/* The same /64: over relay.max_source_sessions. */
	ck_assert_int_eq(new_session_refused_at("a5", "2001:db8:1:1::5", "bob",
	    &code), -1);
	ck_assert_str_eq(code, ERR_RATE_LIMITED);
	new_session_at("b1", "198.18.0.1", "bob", &k);
	/* Full (5): the /64 that holds 4 makes room for another source. */
	new_session_at("c1", "198.18.0.2", "bob", &k);
	new_session_at("d1", "198.18.0.3", "bob", &k);
	relay_get_stats(relay, &st);
	ck_assert_uint_eq(st.evicted, 2);
	ck_assert_int_eq(st.waiting, 5);
	/* Now 2, 1, 1, 1: a new source gets one, from the /64 again. */
	new_session_at("e1", "198.18.0.4", "bob", &k);
	/* 1 each: nobody holds more than a newcomer would; refused. */
	ck_assert_int_eq(new_session_refused_at("f1", "198.18.0.5", "bob",
	    &code), -1);
	ck_assert_str_eq(code, ERR_BUSY);
	relay_get_stats(relay, &st);
	ck_assert_uint_eq(st.evicted, 3);
}
END_TEST

/*
 * A paired session whose ends both write and never read holds at most
 * 2 * (64 + 4) KiB in the relay's buffers (it held ~1 MiB of heap).
 */
START_TEST(test_buffer_bound)
{
	static char junk[65536];
	struct relay_stats st;
	uint64_t most = 0;
	struct keys k;
	double end;
	int a, b, i;

	cfg->relay_session_rate = 1073741824;
	paired(&k, &a, &b);
	memset(junk, 'x', sizeof(junk));
	send_record(a, "hi");
	send_record(b, "hi");
	ck_assert_int_eq(fcntl(a, F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(b, F_SETFL, O_NONBLOCK), 0);
	end = util_mono() + 1.5;
	while (util_mono() < end) {
		for (i = 0; i < 64; i++)
			if (send(a, junk, sizeof(junk), MSG_NOSIGNAL) <= 0 &&
			    send(b, junk, sizeof(junk), MSG_NOSIGNAL) <= 0)
				break;
		pump(10);
		relay_get_stats(relay, &st);
		if (st.buffered > most)
			most = st.buffered;
	}
	ck_assert_int_eq(st.active, 1);
	ck_assert_msg(most >= 128 * 1024, "only %llu bytes buffered: the test "
	    "did not fill the relay", (unsigned long long)most);
	ck_assert_msg(most <= 136 * 1024, "%llu bytes buffered",
	    (unsigned long long)most);
	close(a);
	close(b);
}
END_TEST

/*
 * A side whose output is over the mark and that reads none of it for
 * limits.send_timeout is closed, however busy its own direction is.
 */
START_TEST(test_stalled)
{
	static char junk[65536];
	struct relay_stats st;
	struct keys k;
	double start;
	int a, b, i;

	cfg->relay_session_rate = 1073741824;
	cfg->send_timeout = 0.5;
	paired(&k, &a, &b);
	memset(junk, 'x', sizeof(junk));
	send_record(a, "hi");
	send_record(b, "hi");
	ck_assert_int_eq(fcntl(a, F_SETFL, O_NONBLOCK), 0);
	start = util_mono();
	do {
		/* a streams, b never reads but keeps talking. */
		for (i = 0; i < 64; i++)
			if (send(a, junk, sizeof(junk), MSG_NOSIGNAL) <= 0)
				break;
		send_record(b, "still here");
		pump(50);
		relay_get_stats(relay, &st);
	} while (st.active == 1 && util_mono() - start < 4.0);
	ck_assert_msg(st.active == 0, "still open after 4 s");
	ck_assert_uint_eq(st.stalled, 1);
	close(a);
	close(b);
}
END_TEST

/*
 * relay.idle_timeout bounds each direction: a side that streams while
 * the other sends nothing is closed (one-way), however busy it is.
 */
START_TEST(test_one_way)
{
	struct relay_stats st;
	struct keys k;
	char buf[64];
	bool eof = false;
	double start, took;
	int a, b;

	cfg->relay_idle_timeout = 0.5;
	paired(&k, &a, &b);
	send_record(b, "server hello");
	start = util_mono();
	while (!eof && util_mono() - start < 3.0) {
		send_record(a, "more");
		recv_some(a, buf, sizeof(buf), 100, &eof);
	}
	took = util_mono() - start;
	ck_assert_msg(eof, "still open after %.1f s", took);
	ck_assert_msg(took < 1.5, "closed after %.1f s", took);
	relay_get_stats(relay, &st);
	ck_assert_uint_eq(st.one_way_closed, 1);
	ck_assert_uint_eq(st.idle_closed, 0);
	close(a);
	close(b);
	/* Both quiet: idle, as before. */
	paired(&k, &a, &b);
	ck_assert_uint_eq(recv_some(a, buf, sizeof(buf), 2000, &eof), 0);
	ck_assert(eof);
	relay_get_stats(relay, &st);
	ck_assert_uint_eq(st.idle_closed, 1);
	close(a);
	close(b);
}
END_TEST

/* A connected TCP pair on loopback: *cl the client's end, *sv the server's. */
static void
tcp_pair(int *cl, int *sv)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(l, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	*cl = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(*cl, 0);
	ck_assert_int_eq(connect(*cl, (struct sockaddr *)&sin, sizeof(sin)), 0);
	*sv = accept(l, NULL, NULL);
	ck_assert_int_ge(*sv, 0);
	close(l);
}

/* Hand the relay a connection that comes from the IPv6 address a6. */
static int
accept_from6(const char *a6)
{
	struct sockaddr_in6 sin6;
	int cl, sv;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(40000);
	ck_assert_int_eq(inet_pton(AF_INET6, a6, &sin6.sin6_addr), 1);
	tcp_pair(&cl, &sv);
	relay_accept(relay, sv, (struct sockaddr *)&sin6, sizeof(sin6));
	return cl;
}

/*
 * The preamble has relay.pairing_timeout from the accept, however its
 * bytes trickle in: one byte every 0.1 s does not keep the place.
 */
START_TEST(test_preamble_deadline)
{
	double start, end;
	char buf[8];
	bool eof = false;
	int c;

	c = dial();
	start = util_mono();
	while (!eof && util_mono() - start < 3.0) {
		if (send(c, "P", 1, MSG_NOSIGNAL) != 1)
			break;
		recv_some(c, buf, sizeof(buf), 100, &eof);
	}
	end = util_mono() - start;
	ck_assert_msg(eof, "still open after %.1f s", end);
	ck_assert_msg(end < 1.0, "closed after %.2f s, pairing_timeout 0.4", end);
	close(c);
}
END_TEST

/* Connections without a key are counted per IPv6 /64, not per address. */
START_TEST(test_preamble_cap_per_64)
{
	struct relay_stats st;
	char a6[64];
	int fds[66], i;

	cfg->relay_max_sessions = 100;	/* 200 places in all */
	for (i = 0; i < 64; i++) {
		snprintf(a6, sizeof(a6), "2001:db8:1:2::%x", i + 1);
		fds[i] = accept_from6(a6);
	}
	relay_get_stats(relay, &st);
	ck_assert_uint_eq(st.refused, 0);
	/* Another address of the same /64: refused. */
	fds[64] = accept_from6("2001:db8:1:2:ffff:1:2:3");
	relay_get_stats(relay, &st);
	ck_assert_uint_eq(st.refused, 1);
	expect_nothing(fds[64]);
	/* Another /64: served. */
	fds[65] = accept_from6("2001:db8:1:3::1");
	relay_get_stats(relay, &st);
	ck_assert_uint_eq(st.refused, 1);
	for (i = 0; i < 64; i++)
		close(fds[i]);
	close(fds[65]);
}
END_TEST

static Suite *
relay_suite(void)
{
	Suite *s = suite_create("relay");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_pair_and_copy);
	tcase_add_test(tc, test_bad_keys);
	tcase_add_test(tc, test_expired_key);
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_preamble_cap);
	tcase_add_test(tc, test_preamble_deadline);
	tcase_add_test(tc, test_one_key_each);
	tcase_add_test(tc, test_not_tls);
	tcase_add_test(tc, test_share_sources);
	tcase_add_test(tc, test_buffer_bound);
	tcase_add_test(tc, test_one_way);
	tcase_add_test(tc, test_stalled);
	tcase_add_test(tc, test_preamble_cap_per_64);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(relay_suite(), LOG_LVL_WARN);
}
