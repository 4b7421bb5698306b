/*
 * Control-socket client for `make bench`: speaks the daemon's JSON-lines
 * protocol directly, so that the client is never the bottleneck.
 *
 *   bench_ctl feed SOCK USER N BODY_BYTES WAIT_SECS
 *	Pipeline N `send` requests on one connection as fast as the socket
 *	takes them (reading replies meanwhile), then `wait` for the last id
 *	(0 WAIT_SECS: do not wait). Times: all sends accepted, last delivered.
 *	USER group:NAME sends to the group NAME (the wait: every member).
 *   bench_ctl latency SENDER_SOCK RECIPIENT_SOCK USER COUNT INTERVAL_MS
 *	`watch` on the recipient, then single sends at a low rate: time from
 *	the send reply (and from the request) to the recipient's message
 *	event, p50/p99/max. With BENCH_LAT_SAMPLES set to a path, one line
 *	per message there too: its number, the wall-clock time of its
 *	request (seconds, to compare with strace -tt or a log), the two
 *	latencies (ms), and the CLOCK_MONOTONIC time of its request
 *	(seconds, to compare with perf record -k CLOCK_MONOTONIC).
 *   bench_ctl wait SOCK ID TIMEOUT_SECS
 *	`wait` for one id; prints the wall-clock time of the reply (ns).
 *   bench_ctl startup SOCK LOGFILE PROGRAM [ARGS...]
 *	Start PROGRAM (stdout and stderr to LOGFILE), time until SOCK
 *	answers a `version` request, then shut it down and reap it.
 *
 * Every wait is bounded. Prints one JSON object on stdout.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"

#define LINE_MAX_BYTES	(1024 * 1024)

/* One control connection: non-blocking fd, output queue, line reader. */
struct cc {
	int	 fd;
	char	*out;
	size_t	 outlen, outoff, outcap;
	char	*in;
	size_t	 inlen, incap;
};

static void die(const char *, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_ctl: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static int
cc_try_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		die("socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
cc_open(struct cc *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	if ((c->fd = cc_try_connect(path)) == -1)
		die("connect %s: %s", path, strerror(errno));
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
}

/* Queue one request line: {"id":id,"cmd":cmd,"args":args} (args stolen). */
static void
cc_request(struct cc *c, json_t *id, const char *cmd, json_t *args)
{
	json_t *o = json_pack("{s:o,s:s,s:o}", "id", id, "cmd", cmd, "args", args);
	char *s = json_dumps(o, JSON_COMPACT);
	size_t n = strlen(s);

	if (c->outlen + n + 1 > c->outcap) {
		c->outcap = (c->outlen + n + 1) * 2;
		if ((c->out = realloc(c->out, c->outcap)) == NULL)
			die("out of memory");
	}
	memcpy(c->out + c->outlen, s, n);
	c->out[c->outlen + n] = '\n';
	c->outlen += n + 1;
	free(s);
	json_decref(o);
}

/* Write what the socket takes. */
static void
cc_write(struct cc *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			die("write: %s", strerror(errno));
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
}

/* Read what is there; 0 on EOF. */
static int
cc_read(struct cc *c)
{
	ssize_t n;

	for (;;) {
		if (c->incap - c->inlen < 65536) {
			c->incap = c->incap ? c->incap * 2 : 262144;
			if ((c->in = realloc(c->in, c->incap)) == NULL)
				die("out of memory");
		}
		n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 1;
		if (n <= 0)
			return 0;
		c->inlen += (size_t)n;
	}
}

/* Next complete line as JSON (caller decrefs), or NULL. */
static json_t *
cc_line(struct cc *c)
{
	char *nl;
	size_t len;
	json_t *o;
	json_error_t err;

	if (c->inlen == 0 || (nl = memchr(c->in, '\n', c->inlen)) == NULL) {
		if (c->inlen > LINE_MAX_BYTES)
			die("line too long");
		return NULL;
	}
	len = (size_t)(nl - c->in);
	if ((o = json_loadb(c->in, len, 0, &err)) == NULL)
		die("bad reply line: %s", err.text);
	memmove(c->in, nl + 1, c->inlen - len - 1);
	c->inlen -= len + 1;
	return o;
}

/*
 * Poll the connections (writing queued output, reading input) until a
 * line is ready on one of them or deadline (monotonic ns) passes.
 * Returns the index of a connection with a line, or -1 on timeout.
 */
static int
cc_poll(struct cc **cs, int n, int64_t deadline)
{
	struct pollfd pfd[4];
	int i, ms;

	for (;;) {
		for (i = 0; i < n; i++) {
			if (cs[i]->inlen > 0 && memchr(cs[i]->in, '\n',
			    cs[i]->inlen) != NULL)
				return i;
			pfd[i].fd = cs[i]->fd;
			pfd[i].events = POLLIN |
			    (cs[i]->outoff < cs[i]->outlen ? POLLOUT : 0);
		}
		ms = (int)((deadline - bench_now_ns()) / 1000000);
		if (ms <= 0)
			return -1;
		if (poll(pfd, (nfds_t)n, ms) == -1 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			if (pfd[i].revents & POLLOUT)
				cc_write(cs[i]);
			if ((pfd[i].revents & (POLLIN | POLLHUP)) &&
			    cc_read(cs[i]) == 0 && cs[i]->inlen == 0)
				die("the daemon closed the control connection");
		}
	}
}

/* Wait for the reply with this id (other lines are skipped). */
static json_t *
cc_reply(struct cc *c, json_int_t id, int64_t deadline)
{
	json_t *o;

	for (;;) {
		if (cc_poll(&c, 1, deadline) == -1)
			return NULL;
		o = cc_line(c);
		if (json_integer_value(json_object_get(o, "id")) == id &&
		    json_object_get(o, "ok") != NULL)
			return o;
		json_decref(o);
	}
}

static void
check_ok(json_t *reply, const char *what)
{
	char *s;

	if (json_is_true(json_object_get(reply, "ok")))
		return;
	s = json_dumps(reply, JSON_COMPACT);
	die("%s failed: %s", what, s != NULL ? s : "?");
}

static char *
make_body(size_t len, long i)
{
	char *b = malloc(len + 1);
	int n;

	memset(b, 'x', len);
	b[len] = '\0';
	n = snprintf(b, len + 1, "bench %ld ", i);
	if ((size_t)n < len)
		b[n] = 'x';
	return b;
}

/* ------------------------------------------------------------------ feed */

static int
cmd_feed(char **av)
{
	const char *user = av[1];
	long n = strtol(av[2], NULL, 10), got = 0, i;
	size_t blen = (size_t)strtoul(av[3], NULL, 10);
	double wait_secs = strtod(av[4], NULL);
	struct cc c;
	struct cc *cs[1] = { &c };
	char last[64] = "";
	int64_t t0, t_acc, t_done = 0, deadline;
	json_t *o, *r;
	char *body;

	if (n <= 0 || blen == 0)
		die("feed: bad N or BODY_BYTES");
	cc_open(&c, av[0]);
	/* Every request is built first, so that writing is all we time. */
	for (i = 0; i < n; i++) {
		body = make_body(blen, i);
		/* USER "group:NAME": send --group NAME */
		cc_request(&c, json_integer(i), "send", json_pack("{s:s,s:s}",
		    strncmp(user, "group:", 6) == 0 ? "group" : "user",
		    strncmp(user, "group:", 6) == 0 ? user + 6 : user, "text",
		    body));
		free(body);
	}
	t0 = bench_now_ns();
	deadline = t0 + (int64_t)600 * 1000000000;
	while (got < n) {
		if (cc_poll(cs, 1, deadline) == -1)
			die("feed: timed out with %ld of %ld replies", got, n);
		while ((o = cc_line(&c)) != NULL) {
			check_ok(o, "send");
			snprintf(last, sizeof(last), "%s", json_string_value(
			    json_object_get(json_object_get(o, "result"), "id")));
			got++;
			json_decref(o);
		}
	}
	t_acc = bench_now_ns();
	if (wait_secs > 0) {
		cc_request(&c, json_integer(n), "wait", json_pack("{s:[s],s:f}",
		    "ids", last, "timeout", wait_secs));
		r = cc_reply(&c, n, t_acc + (int64_t)((wait_secs + 5) * 1e9));
		if (r == NULL)
			die("feed: no reply to wait");
		check_ok(r, "wait");
		json_decref(r);
		t_done = bench_now_ns();
	}
	printf("{\"n\":%ld,\"body_bytes\":%zu,\"accept_secs\":%.6f,"
	    "\"accept_rate\":%.1f,\"total_secs\":%.6f,\"rate\":%.1f,"
	    "\"last_id\":\"%s\"}\n", n, blen, (double)(t_acc - t0) / 1e9,
	    (double)n * 1e9 / (double)(t_acc - t0),
	    t_done ? (double)(t_done - t0) / 1e9 : 0.0,
	    t_done ? (double)n * 1e9 / (double)(t_done - t0) : 0.0, last);
	return 0;
}

/* --------------------------------------------------------------- latency */

static int
cmd_latency(char **av)
{
	struct cc s, r;
	struct cc *cs[2] = { &s, &r };
	long count = strtol(av[3], NULL, 10), i;
	long interval_ms = strtol(av[4], NULL, 10);
	int64_t *acc, *req, t_req, t_acc, t_ev, next, deadline;
	const char *spath = getenv("BENCH_LAT_SAMPLES");
	FILE *samples = NULL;
	struct timespec wall;
	char id[64];
	json_t *o;
	char *body;
	int which;

	if (count <= 0 || interval_ms < 0)
		die("latency: bad COUNT or INTERVAL_MS");
	acc = calloc((size_t)count, sizeof(*acc));
	req = calloc((size_t)count, sizeof(*req));
	if (spath != NULL && (samples = fopen(spath, "w")) == NULL)
		die("latency: %s: %s", spath, strerror(errno));
	cc_open(&s, av[0]);
	cc_open(&r, av[1]);
	cc_request(&r, json_integer(0), "watch", json_object());
	if ((o = cc_reply(&r, 0, bench_now_ns() + 10 * (int64_t)1000000000)) ==
	    NULL)
		die("latency: no reply to watch");
	check_ok(o, "watch");
	json_decref(o);
	next = bench_now_ns();
	for (i = 0; i < count; i++) {
		while (bench_now_ns() < next)
			usleep(200);
		next += interval_ms * 1000000;
		body = make_body(200, i);
		cc_request(&s, json_integer(i + 1), "send", json_pack("{s:s,s:s}",
		    "user", av[2], "text", body));
		free(body);
		t_req = bench_now_ns();
		clock_gettime(CLOCK_REALTIME, &wall);
		t_acc = t_ev = 0;
		*id = '\0';
		deadline = t_req + 10 * (int64_t)1000000000;
		while (t_acc == 0 || t_ev == 0) {
			if ((which = cc_poll(cs, 2, deadline)) == -1)
				die("latency: message %ld: no %s within 10 s", i,
				    t_acc == 0 ? "send reply" : "event");
			o = cc_line(cs[which]);
			if (which == 0) {
				check_ok(o, "send");
				t_acc = bench_now_ns();
				snprintf(id, sizeof(id), "%s", json_string_value(
				    json_object_get(json_object_get(o, "result"),
				    "id")));
			} else if (json_is_string(json_object_get(o, "event")) &&
			    strcmp(json_string_value(json_object_get(o, "event")),
			    "message") == 0) {
				/* The only sender is us: ids arrive in order. */
				t_ev = bench_now_ns();
			}
			json_decref(o);
		}
		/* The event may come before the reply is read: clamp. */
		acc[i] = t_ev > t_acc ? t_ev - t_acc : 0;
		req[i] = t_ev - t_req;
		if (samples != NULL)
			fprintf(samples, "%ld %lld.%06ld %.3f %.3f %.6f\n", i,
			    (long long)wall.tv_sec, wall.tv_nsec / 1000,
			    (double)acc[i] / 1e6, (double)req[i] / 1e6,
			    (double)t_req / 1e9);
	}
	if (samples != NULL)
		fclose(samples);
	printf("{\"count\":%ld,\"interval_ms\":%ld,"
	    "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
	    "\"from_request_p50_ms\":%.3f,\"from_request_p99_ms\":%.3f,"
	    "\"from_request_max_ms\":%.3f}\n", count, interval_ms,
	    (double)bench_percentile(acc, (size_t)count, 50) / 1e6,
	    (double)bench_percentile(acc, (size_t)count, 99) / 1e6,
	    (double)bench_percentile(acc, (size_t)count, 100) / 1e6,
	    (double)bench_percentile(req, (size_t)count, 50) / 1e6,
	    (double)bench_percentile(req, (size_t)count, 99) / 1e6,
	    (double)bench_percentile(req, (size_t)count, 100) / 1e6);
	return 0;
}

/* ------------------------------------------------------------------ wait */

static int
cmd_wait(char **av)
{
	double secs = strtod(av[2], NULL);
	struct cc c;
	json_t *o;

	cc_open(&c, av[0]);
	cc_request(&c, json_integer(1), "wait", json_pack("{s:[s],s:f}", "ids",
	    av[1], "timeout", secs));
	if ((o = cc_reply(&c, 1, bench_now_ns() + (int64_t)((secs + 5) * 1e9))) ==
	    NULL)
		die("wait: no reply");
	check_ok(o, "wait");
	printf("{\"wall_ns\":%lld}\n", (long long)bench_wall_ns());
	json_decref(o);
	return 0;
}

/* --------------------------------------------------------------- startup */

static int
cmd_startup(char **av)
{
	int64_t t0, t1, deadline;
	struct cc c;
	json_t *o;
	pid_t pid;
	int fd, status;

	unlink(av[0]);	/* a stale socket must not answer for the new daemon */
	t0 = bench_now_ns();
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if ((fd = open(av[1], O_WRONLY | O_CREAT | O_APPEND, 0600)) == -1)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(av[2], av + 2);
		_exit(127);
	}
	deadline = t0 + 30 * (int64_t)1000000000;
	while ((fd = cc_try_connect(av[0])) == -1) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			die("startup: %s exited (status %d) before it was ready",
			    av[2], status);
		if (bench_now_ns() > deadline) {
			kill(pid, SIGKILL);
			die("startup: not ready within 30 s");
		}
		usleep(200);
	}
	memset(&c, 0, sizeof(c));
	c.fd = fd;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	cc_request(&c, json_integer(1), "version", json_object());
	if ((o = cc_reply(&c, 1, deadline)) == NULL)
		die("startup: no reply to version");
	check_ok(o, "version");
	json_decref(o);
	t1 = bench_now_ns();
	/* Done: stop it and reap it (bounded). */
	cc_request(&c, json_integer(2), "shutdown", json_object());
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	cc_write(&c);	/* the daemon may close before its reply is read */
	close(c.fd);
	deadline = bench_now_ns() + 10 * (int64_t)1000000000;
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (bench_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			die("startup: %s did not stop within 10 s", av[2]);
		}
		usleep(1000);
	}
	printf("{\"ready_secs\":%.6f}\n", (double)(t1 - t0) / 1e9);
	return 0;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 7 && strcmp(argv[1], "feed") == 0)
		return cmd_feed(argv + 2);
	if (argc == 7 && strcmp(argv[1], "latency") == 0)
		return cmd_latency(argv + 2);
	if (argc == 5 && strcmp(argv[1], "wait") == 0)
		return cmd_wait(argv + 2);
	if (argc >= 5 && strcmp(argv[1], "startup") == 0)
		return cmd_startup(argv + 2);
	fprintf(stderr, "usage: bench_ctl feed SOCK USER N BODY_BYTES WAIT_SECS\n"
	    "       bench_ctl latency SENDER_SOCK RECIPIENT_SOCK USER COUNT "
	    "INTERVAL_MS\n"
	    "       bench_ctl wait SOCK ID TIMEOUT_SECS\n"
	    "       bench_ctl startup SOCK LOGFILE PROGRAM [ARGS...]\n");
	return 2;
}
