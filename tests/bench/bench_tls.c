/*
 * TLS reference for `make bench`: the rate of 200-byte message records
 * over one TLS 1.3 session on loopback, through the daemon's own stack
 * (conn.c: the same priority string, ALPN, coalescing and framing), with
 * the daemon's request/ack window. A forked child plays the recipient
 * and acks every msg at once; the parent keeps `window` msgs in flight.
 * What is left out compared with the daemons is exactly the storage and
 * the control socket, so this is the transport's limit. With -b the
 * records are binary frames of BODY_BYTES (conn_send_bulk, on_binary:
 * no JSON at all, as a file's chunks go), still acked one by one: TLS
 * and the framing alone, the reference for files.
 *
 *   bench_tls [-b] [-n RECORDS] [-w WINDOW] [-s BODY_BYTES] DIR
 *
 * DIR holds the two throw-away identity keys. Prints one JSON object.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "bench.h"
#include "conn.h"
#include "identity.h"
#include "log.h"

#define MAX_FRAME	(1024 * 1024)

struct sender {
	struct event_base	*base;
	struct conn		*c;
	long			 n, sent, acked;
	int			 window, inflight;
	char			*body;
	size_t			 bodylen;
	bool			 binary;	/* -b */
	int64_t			 t0, t1;
	bool			 failed;
};

static void	snd_ready(struct conn *, void *);
static void	snd_frame(struct conn *, json_t *, void *);
static void	snd_close(struct conn *, const char *, void *);
static void	rcv_frame(struct conn *, json_t *, void *);
static void	rcv_close(struct conn *, const char *, void *);

static void	rcv_binary(struct conn *, const unsigned char *, size_t,
		    void *);

static const struct conn_cbs snd_cbs = { snd_ready, snd_frame, snd_close };
static const struct conn_cbs rcv_cbs = { NULL, rcv_frame, rcv_close, NULL,
	NULL, NULL, rcv_binary };

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: bench_tls [-b] [-n RECORDS] [-w WINDOW] "
	    "[-s BODY_BYTES] DIR\n");
	exit(2);
}

static struct tlsctx *
load_ctx(const char *dir, const char *name)
{
	struct identity *id;
	struct tlsctx *ctx;
	char *cause = NULL;

	if ((id = identity_load(dir, name, &cause)) == NULL ||
	    (ctx = tlsctx_new(id, &cause)) == NULL) {
		fprintf(stderr, "bench_tls: %s\n", cause != NULL ? cause : "?");
		exit(1);
	}
	return ctx;	/* the identity lives as long as the process */
}

/* ------------------------------------------------------------- recipient */

static void
rcv_frame(struct conn *c, json_t *frame, void *arg)
{
	json_t *ack = json_pack("{s:s,s:O}", "t", "ack", "id",
	    json_object_get(frame, "id"));

	conn_send(c, ack);
	json_decref(ack);
}

/* A binary record: acked at once, like a msg. */
static void
rcv_binary(struct conn *c, const unsigned char *p, size_t n, void *arg)
{
	static const char ack[] = "{\"t\":\"ack\"}";

	conn_send_text(c, ack, sizeof(ack) - 1);
}

static void
rcv_close(struct conn *c, const char *reason, void *arg)
{
	event_base_loopbreak(arg);
}

static void
recipient(const char *dir, int lfd)
{
	struct event_base *base = event_base_new();
	struct tlsctx *ctx = load_ctx(dir, "recipient.key");
	int fd;

	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(1);
	close(lfd);
	if (conn_accept(base, ctx, fd, NULL, 0, MAX_FRAME, 10, &rcv_cbs,
	    base) == NULL)
		_exit(1);
	event_base_dispatch(base);
	_exit(0);
}

/* ---------------------------------------------------------------- sender */

static void
snd_pump(struct sender *s)
{
	char id[33];
	json_t *f;

	while (s->inflight < s->window && s->sent < s->n) {
		if (s->binary) {
			conn_send_bulk(s->c, s->body, s->bodylen, NULL, 0);
			s->sent++;
			s->inflight++;
			continue;
		}
		snprintf(id, sizeof(id), "%032lx", s->sent);
		f = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "t", "msg", "id", id,
		    "from", "alice", "to", "bob", "ts", (json_int_t)1700000000000,
		    "body", s->body);
		conn_send(s->c, f);
		json_decref(f);
		s->sent++;
		s->inflight++;
	}
}

static void
snd_ready(struct conn *c, void *arg)
{
	struct sender *s = arg;

	s->t0 = bench_now_ns();
	snd_pump(s);
}

static void
snd_frame(struct conn *c, json_t *frame, void *arg)
{
	struct sender *s = arg;

	s->acked++;
	s->inflight--;
	if (s->acked == s->n) {
		s->t1 = bench_now_ns();
		conn_close(c);
		event_base_loopbreak(s->base);
		return;
	}
	snd_pump(s);
}

static void
snd_close(struct conn *c, const char *reason, void *arg)
{
	struct sender *s = arg;

	fprintf(stderr, "bench_tls: connection closed: %s\n", reason);
	s->failed = true;
	event_base_loopbreak(s->base);
}

int
main(int argc, char **argv)
{
	struct sender s = { .n = 200000, .window = 256 };
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct timeval limit = { 120, 0 };
	size_t body = 200;
	int ch, lfd, status;
	pid_t pid;

	while ((ch = getopt(argc, argv, "bn:w:s:")) != -1) {
		switch (ch) {
		case 'b':
			s.binary = true;
			break;
		case 'n':
			s.n = strtol(optarg, NULL, 10);
			break;
		case 'w':
			s.window = (int)strtol(optarg, NULL, 10);
			break;
		case 's':
			body = (size_t)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc || s.n <= 0 || s.window <= 0 || body == 0 ||
	    body > 65536)
		usage();
	log_init(LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 1) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == -1) {
		perror("bench_tls: listen");
		return 1;
	}
	if ((pid = fork()) == -1) {
		perror("bench_tls: fork");
		return 1;
	}
	if (pid == 0)
		recipient(argv[optind], lfd);
	close(lfd);

	s.body = malloc(body + 1);
	memset(s.body, 'x', body);
	s.body[body] = '\0';
	s.body[0] = s.binary ? 0 : 'x';		/* frame.h's FRAME_BIN */
	s.bodylen = body;
	s.base = event_base_new();
	s.c = conn_connect(s.base, load_ctx(argv[optind], "sender.key"),
	    (struct sockaddr *)&sin, sizeof(sin), MAX_FRAME, 10, &snd_cbs, &s);
	if (s.c == NULL)
		return 1;
	event_base_loopexit(s.base, &limit);	/* bounded */
	event_base_dispatch(s.base);
	kill(pid, SIGKILL);	/* the recipient has nothing left to do */
	waitpid(pid, &status, 0);
	if (s.failed || s.t1 == 0) {
		fprintf(stderr, "bench_tls: incomplete: %ld of %ld acked\n",
		    s.acked, s.n);
		return 1;
	}
	printf("{\"records\":%ld,\"window\":%d,\"body_bytes\":%zu,"
	    "\"secs\":%.6f,\"rate\":%.1f}\n", s.n, s.window, body,
	    (double)(s.t1 - s.t0) / 1e9,
	    (double)s.n * 1e9 / (double)(s.t1 - s.t0));
	return 0;
}
