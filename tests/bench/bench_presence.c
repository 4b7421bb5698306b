/*
 * Presence across gestors, for `make bench` (part "cluster"): how long a
 * presence change made on one gestor takes to reach a watcher connected
 * to another gestor of the same PostgreSQL database.
 *
 *   bench_presence --at HOST:PORT --watch HOST:PORT --conninfo CONNINFO
 *	--keys DIR [--n N] [--first K]
 *	A watcher (key K, user pNNNNN) on the --watch gestor watches N
 *	subjects (keys K+1..K+N); one subject at a time connects to the --at
 *	gestor, resumes with auth and sends its first heartbeat: the time
 *	from that heartbeat written to the watcher's presence frame read is
 *	one "online" sample; the subject then closes its connection, and the
 *	time to the watcher's "offline" frame is one "offline" sample.
 *	Accounts are written straight into the users table (as bench_gestor
 *	does with SQLite). Prints one JSON object.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "bench.h"
#include "conn.h"
#include "identity.h"
#include "log.h"

#define MAX_FRAME	(1024 * 1024)
#define MAX_N		5000
#define TIME_LIMIT	300	/* seconds for the whole run */

struct pb {
	struct event_base	*base;
	struct sockaddr_in	 at, watch;
	const char		*conninfo, *keys;
	int			 n, first;
	struct tlsctx		**ctx;
	char			**fp;
	struct conn		*w, *s;		/* watcher, current subject */
	int			 cur;		/* subject index, 1..n */
	int64_t			 t0;
	bool			 want_online;
	int64_t			*on, *off;
	int			 non, noff, errors;
};

static void	w_ready(struct conn *, void *);
static void	w_frame(struct conn *, json_t *, void *);
static void	w_close(struct conn *, const char *, void *);
static void	s_ready(struct conn *, void *);
static void	s_frame(struct conn *, json_t *, void *);
static void	s_close(struct conn *, const char *, void *);
static void	next_subject(struct pb *);

static const struct conn_cbs wcbs = { w_ready, w_frame, w_close };
static const struct conn_cbs scbs = { s_ready, s_frame, s_close };

static void
die(const char *what)
{
	fprintf(stderr, "bench_presence: %s\n", what);
	exit(1);
}

static void
name_of(int i, char *out, size_t len)
{
	snprintf(out, len, "p%05d", i);
}

static void
parse_addr(const char *s, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		die("bad address");
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		die("bad address");
}

static void
load_keys(struct pb *b)
{
	struct identity *id;
	char name[32], *cause = NULL;
	int i;

	b->ctx = calloc((size_t)b->n + 1, sizeof(*b->ctx));
	b->fp = calloc((size_t)b->n + 1, sizeof(*b->fp));
	for (i = 0; i <= b->n; i++) {
		snprintf(name, sizeof(name), "k%05d.key", b->first + i);
		if ((id = identity_load(b->keys, name, &cause)) == NULL ||
		    (b->ctx[i] = tlsctx_new(id, &cause)) == NULL)
			die(cause != NULL ? cause : "key");
		b->fp[i] = strdup(identity_fingerprint(id));
	}
}

static void
add_accounts(struct pb *b)
{
	PGconn *pg = PQconnectdb(b->conninfo);
	char name[32];
	const char *v[2];
	PGresult *r;
	int i;

	if (PQstatus(pg) != CONNECTION_OK)
		die(PQerrorMessage(pg));
	for (i = 0; i <= b->n; i++) {
		name_of(b->first + i, name, sizeof(name));
		v[0] = name;
		v[1] = b->fp[i];
		r = PQexecParams(pg, "INSERT INTO users (name, hash, fingerprint, "
		    "created) VALUES ($1, '!bench', $2, 0) ON CONFLICT (name) DO "
		    "UPDATE SET fingerprint = EXCLUDED.fingerprint", 2, NULL, v,
		    NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			die(PQresultErrorMessage(r));
		PQclear(r);
	}
	PQfinish(pg);
}

static void
send_frame(struct conn *c, json_t *f)
{
	conn_send(c, f);
	json_decref(f);
}

static struct conn *
dial(struct pb *b, struct sockaddr_in *sin, int key, const struct conn_cbs *cbs)
{
	struct conn *c = conn_connect(b->base, b->ctx[key],
	    (struct sockaddr *)sin, sizeof(*sin), MAX_FRAME, 10.0, cbs, b);

	if (c == NULL)
		die("connect");
	return c;
}

/* ---------------------------------------------------------------- watcher */

static void
w_ready(struct conn *c, void *arg)
{
	struct pb *b = arg;
	char name[32];

	name_of(b->first, name, sizeof(name));
	send_frame(c, json_pack("{s:s,s:s,s:i}", "t", "auth", "user", name,
	    "n", 1));
}

static void
w_frame(struct conn *c, json_t *f, void *arg)
{
	struct pb *b = arg;
	const char *t = json_string_value(json_object_get(f, "t"));
	const char *user = json_string_value(json_object_get(f, "user"));
	json_int_t n = json_integer_value(json_object_get(f, "n"));
	char name[32];
	json_t *users;
	int i;

	if (strcmp(t, "error") == 0)
		die(json_string_value(json_object_get(f, "message")));
	if (strcmp(t, "ok") == 0 && n == 1) {
		users = json_array();
		for (i = 1; i <= b->n; i++) {
			name_of(b->first + i, name, sizeof(name));
			json_array_append_new(users, json_string(name));
		}
		send_frame(c, json_pack("{s:s,s:o,s:i}", "t", "watch", "users",
		    users, "n", 2));
		return;
	}
	if (strcmp(t, "ok") == 0 && n == 2) {
		next_subject(b);
		return;
	}
	if (strcmp(t, "presence") != 0 || b->t0 == 0 || user == NULL)
		return;
	name_of(b->first + b->cur, name, sizeof(name));
	if (strcmp(user, name) != 0 ||
	    json_is_true(json_object_get(f, "online")) != b->want_online)
		return;
	if (b->want_online) {
		b->on[b->non++] = bench_now_ns() - b->t0;
		b->want_online = false;
		b->t0 = bench_now_ns();
		conn_close(b->s);
		b->s = NULL;
		return;
	}
	b->off[b->noff++] = bench_now_ns() - b->t0;
	b->t0 = 0;
	next_subject(b);
}

static void
w_close(struct conn *c, const char *why, void *arg)
{
	die(why);
}

/* --------------------------------------------------------------- subjects */

static void
s_ready(struct conn *c, void *arg)
{
	struct pb *b = arg;
	char name[32];

	name_of(b->first + b->cur, name, sizeof(name));
	send_frame(c, json_pack("{s:s,s:s,s:i}", "t", "auth", "user", name,
	    "n", 1));
}

static void
s_frame(struct conn *c, json_t *f, void *arg)
{
	struct pb *b = arg;
	const char *t = json_string_value(json_object_get(f, "t"));

	if (strcmp(t, "error") == 0) {
		b->errors++;
		fprintf(stderr, "bench_presence: subject %d: %s\n", b->cur,
		    json_string_value(json_object_get(f, "message")));
		return;
	}
	if (strcmp(t, "ok") != 0 ||
	    json_integer_value(json_object_get(f, "n")) != 1)
		return;
	b->want_online = true;
	b->t0 = bench_now_ns();
	send_frame(c, json_pack("{s:s,s:i,s:i}", "t", "hb", "port", 7001, "n",
	    2));
}

static void
s_close(struct conn *c, const char *why, void *arg)
{
	struct pb *b = arg;

	if (c == b->s)
		die(why);
}

static void
print_result(struct pb *b)
{
	printf("{\"samples\":%d,\"errors\":%d,\"online_p50_ms\":%.3f,"
	    "\"online_p99_ms\":%.3f,\"offline_p50_ms\":%.3f,"
	    "\"offline_p99_ms\":%.3f}\n", b->non, b->errors,
	    bench_percentile(b->on, (size_t)b->non, 50) / 1e6,
	    bench_percentile(b->on, (size_t)b->non, 99) / 1e6,
	    bench_percentile(b->off, (size_t)b->noff, 50) / 1e6,
	    bench_percentile(b->off, (size_t)b->noff, 99) / 1e6);
}

static void
next_subject(struct pb *b)
{
	if (b->cur == b->n) {
		print_result(b);
		event_base_loopbreak(b->base);
		return;
	}
	b->cur++;
	b->s = dial(b, &b->at, b->cur, &scbs);
}

int
main(int argc, char **argv)
{
	struct pb b = { .n = 200, .first = 90000 };
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--at") == 0)
			parse_addr(argv[i + 1], &b.at);
		else if (strcmp(argv[i], "--watch") == 0)
			parse_addr(argv[i + 1], &b.watch);
		else if (strcmp(argv[i], "--conninfo") == 0)
			b.conninfo = argv[i + 1];
		else if (strcmp(argv[i], "--keys") == 0)
			b.keys = argv[i + 1];
		else if (strcmp(argv[i], "--n") == 0)
			b.n = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--first") == 0)
			b.first = atoi(argv[i + 1]);
		else
			break;
	}
	if (i != argc || b.conninfo == NULL || b.keys == NULL || b.n < 1 ||
	    b.n > MAX_N || b.first < 0 || b.first > 99999 - b.n ||
	    b.at.sin_port == 0 || b.watch.sin_port == 0) {
		fprintf(stderr, "usage: bench_presence --at HOST:PORT --watch "
		    "HOST:PORT --conninfo CONNINFO --keys DIR [--n N] "
		    "[--first K]\n");
		return 2;
	}
	log_init(LOG_LVL_WARN);
	alarm(TIME_LIMIT);
	b.on = calloc((size_t)b.n, sizeof(*b.on));
	b.off = calloc((size_t)b.n, sizeof(*b.off));
	load_keys(&b);
	add_accounts(&b);
	b.base = event_base_new();
	b.w = dial(&b, &b.watch, 0, &wcbs);
	event_base_dispatch(b.base);
	return b.non == b.n ? 0 : 1;
}
