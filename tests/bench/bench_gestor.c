/*
 * Load generator for `make bench`: many simulated peers in one process,
 * each a real TLS 1.3 connection (conn.c) with its own Ed25519 identity.
 *
 *   bench_gestor load --addr HOST:PORT --db GESTOR_DB --keys DIR --n N
 *	[--interval SECS] [--lookups PER_INTERVAL] [--duration SECS]
 *	[--pid GESTOR_PID] [--rate CONNECTS_PER_SEC] [--sources K]
 *	[--first F] [--lookup-range R]
 *	N logged-in peers against a gestor: each heartbeats every interval
 *	(the first at once, the next at a random phase) and looks a random
 *	user up `lookups` times per interval. After every peer is online,
 *	a window of `duration` seconds is measured: the gestor's CPU share
 *	(from /proc/PID/stat), its RSS at the end (/proc/PID/status) and the
 *	latency of lookups and heartbeats, request written to reply read;
 *	also the gestor's CPU-seconds from the first connect to the window
 *	(TLS handshakes, auth, first heartbeats: setup_cpu_secs).
 *	Connections are opened at most --rate per second (2000) with at
 *	most 256 handshakes in flight, from K loopback source addresses
 *	127.0.0.2, 127.0.0.3, ... (default: one per 20 000 peers), so that
 *	no (source, destination) pair needs more than the ephemeral port
 *	range. The descriptor limit is raised to what N needs (as root,
 *	the hard limit too). A watchdog ends the process if it has not
 *	finished SETUP_LIMIT + duration + 60 seconds after the start.
 *	--first F makes the peers F..F+N-1 (keys and names), so that two
 *	load generators can share one user base (several gestors on one
 *	PostgreSQL, make bench part "cluster"); --lookup-range R looks up
 *	users 0..R-1 instead of the generator's own.
 *   bench_gestor peers --addr HOST:PORT --db GESTOR_DB --keys DIR --n N
 *	[--hold SECS]
 *	N peers that connect to a peer daemon's listener and say hello
 *	(the daemon checks each key with the gestor), then stay connected;
 *	prints "ready" once all are accepted, and exits after --hold
 *	seconds or on SIGTERM.
 *
 * Accounts: registering N accounts would cost N password hashes, so the
 * accounts are written straight into the gestor's users table (name and
 * key fingerprint; a password hash no password matches) and each peer
 * resumes with `auth`, which checks its TLS key against the account's.
 * Keys are DIR/kNNNNN.key, generated on first use and kept, so later
 * runs only load them. Prints one JSON object.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <gnutls/crypto.h>
#include <jansson.h>
#include <sqlite3.h>

#include "bench.h"
#include "conn.h"
#include "identity.h"
#include "log.h"

#define MAX_FRAME	(1024 * 1024)
#define MAX_HANDSHAKES	256	/* connections being set up at once */
#define RING		16	/* requests in flight per connection */
#define SETUP_LIMIT	300	/* seconds to connect everyone */
#define MAX_PEERS	200000
#define PER_SOURCE	20000	/* peers per loopback source address */
#define MAX_SOURCES	200
#define RATE_TICK	0.01	/* seconds between connect-rate refills */

enum pstate { P_IDLE, P_CONNECTING, P_AUTHING, P_READY, P_GONE };

struct lpeer {
	struct gen		*g;
	int			 idx;
	enum pstate		 st;
	struct conn		*c;
	struct event		*hb_ev, *lk_ev;
	json_int_t		 n;		/* next request number */
	bool			 hb_answered;	/* the first heartbeat */
	int64_t			 sent[RING];
	char			 kind[RING];	/* 'h' hb, 'l' lookup */
};

struct samples {
	int64_t	*v;
	size_t	 n, cap;
};

struct gen {
	struct event_base	*base;
	bool			 peers_mode;
	struct sockaddr_in	 addr;
	struct sockaddr_in	 src[MAX_SOURCES];
	int			 nsrc;
	double			 rate, tokens;	/* connects per second */
	struct event		*rate_ev;
	const char		*db, *keys;
	int			 n, pid, first, lookup_range;
	double			 interval, lookups, duration, hold;
	struct tlsctx		**ctx;
	char			**fp;
	struct lpeer		*p;
	int			 next, connecting, ready, gone, errors;
	int			 hb_answered;
	bool			 measuring;
	struct samples		 lk, hb;
	long long		 ticks0;
	long long		 ticks_setup;	/* at the start, then its CPU */
	int64_t			 t_setup, t_window;
	long			 rss_idle;
	struct event		*setup_ev, *end_ev, *sig_ev;
	int			 rc;
};

static void	on_ready(struct conn *, void *);
static void	on_frame(struct conn *, json_t *, void *);
static void	on_close(struct conn *, const char *, void *);
static void	connect_more(struct gen *);

static const struct conn_cbs cbs = { on_ready, on_frame, on_close };

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: bench_gestor load|peers --addr HOST:PORT "
	    "--db GESTOR_DB --keys DIR --n N [--interval S] [--lookups K] "
	    "[--duration S] [--pid PID] [--hold S]\n");
	exit(2);
}

static struct timeval
tv_of(double s)
{
	struct timeval tv = { (time_t)s, (suseconds_t)((s - (double)(time_t)s) *
	    1e6) };

	return tv;
}

static double
rnd01(void)
{
	uint32_t r;

	gnutls_rnd(GNUTLS_RND_NONCE, &r, sizeof(r));
	return r / 4294967296.0;
}

static void
name_of(const struct gen *g, int i, char *out, size_t len)
{
	snprintf(out, len, "%c%05d", g->peers_mode ? 'c' : 'b', g->first + i);
}

static void
add_sample(struct samples *s, int64_t v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		if ((s->v = realloc(s->v, s->cap * sizeof(*s->v))) == NULL)
			abort();
	}
	s->v[s->n++] = v;
}

/* ---------------------------------------------------------------- set-up */

static void
load_keys(struct gen *g)
{
	struct identity *id;
	char name[32], *cause = NULL;
	int i;

	g->ctx = calloc((size_t)g->n, sizeof(*g->ctx));
	g->fp = calloc((size_t)g->n, sizeof(*g->fp));
	for (i = 0; i < g->n; i++) {
		snprintf(name, sizeof(name), "k%05d.key", g->first + i);
		if ((id = identity_load(g->keys, name, &cause)) == NULL ||
		    (g->ctx[i] = tlsctx_new(id, &cause)) == NULL) {
			fprintf(stderr, "bench_gestor: %s\n", cause ? cause : "?");
			exit(1);
		}
		g->fp[i] = strdup(identity_fingerprint(id));
	}
}

/* Accounts straight into the gestor's users table (it is running: WAL). */
static void
add_accounts(struct gen *g)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char name[32];
	int i;

	if (sqlite3_open_v2(g->db, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO users (name, hash,"
	    " fingerprint, created) VALUES (?1, '!bench', ?2,"
	    " strftime('%s', 'now'))", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	for (i = 0; i < g->n; i++) {
		name_of(g, i, name, sizeof(name));
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, g->fp[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_close(db);
	return;
fail:
	fprintf(stderr, "bench_gestor: %s: %s\n", g->db, sqlite3_errmsg(db));
	exit(1);
}

/* ------------------------------------------------------------- requests */

static void
request(struct lpeer *p, json_t *f, char kind)
{
	json_object_set_new(f, "n", json_integer(p->n));
	p->sent[p->n % RING] = bench_now_ns();
	p->kind[p->n % RING] = kind;
	p->n++;
	conn_send(p->c, f);
	json_decref(f);
}

static void
send_hb(struct lpeer *p)
{
	request(p, json_pack("{s:s,s:i}", "t", "hb", "port", 7001), 'h');
}

static void
on_hb_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lpeer *p = arg;
	struct timeval tv = tv_of(p->g->interval);

	if (p->st != P_READY)
		return;
	send_hb(p);
	evtimer_add(p->hb_ev, &tv);
}

static void
on_lookup_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lpeer *p = arg;
	struct gen *g = p->g;
	struct timeval tv = tv_of(g->interval / g->lookups);
	char name[32];

	if (p->st != P_READY)
		return;
	if (g->lookup_range > 0)
		name_of(g, (int)(rnd01() * g->lookup_range) % g->lookup_range -
		    g->first, name, sizeof(name));
	else
		name_of(g, (int)(rnd01() * g->n) % g->n, name, sizeof(name));
	request(p, json_pack("{s:s,s:s}", "t", "lookup", "user", name), 'l');
	evtimer_add(p->lk_ev, &tv);
}

/* Authenticated: start the heartbeat and lookup timers at random phases. */
static void
peer_online(struct lpeer *p)
{
	struct gen *g = p->g;
	struct timeval tv;

	p->st = P_READY;
	g->connecting--;
	g->ready++;
	if (g->peers_mode)
		return;
	send_hb(p);
	p->hb_ev = evtimer_new(g->base, on_hb_timer, p);
	tv = tv_of(rnd01() * g->interval);
	evtimer_add(p->hb_ev, &tv);
	if (g->lookups > 0) {
		p->lk_ev = evtimer_new(g->base, on_lookup_timer, p);
		tv = tv_of(rnd01() * g->interval / g->lookups);
		evtimer_add(p->lk_ev, &tv);
	}
}

/* ------------------------------------------------------------- callbacks */

static void
on_ready(struct conn *c, void *arg)
{
	struct lpeer *p = arg;
	char name[32];

	name_of(p->g, p->idx, name, sizeof(name));
	p->st = P_AUTHING;
	if (p->g->peers_mode) {
		json_t *hello = json_pack("{s:s,s:i,s:s}", "t", "hello", "v", 1,
		    "user", name);

		conn_send(c, hello);
		json_decref(hello);
	} else
		request(p, json_pack("{s:s,s:s}", "t", "auth", "user", name), 'a');
}

static void
on_frame(struct conn *c, json_t *f, void *arg)
{
	struct lpeer *p = arg;
	struct gen *g = p->g;
	const char *t = json_string_value(json_object_get(f, "t"));
	json_t *nv = json_object_get(f, "n");
	int64_t lat;
	json_int_t n;

	if (strcmp(t, "presence") == 0)
		return;
	if (strcmp(t, "error") == 0) {
		g->errors++;
		if (g->errors < 10)
			fprintf(stderr, "bench_gestor: peer %d: error %s: %s\n",
			    p->idx, json_string_value(json_object_get(f, "code")),
			    json_string_value(json_object_get(f, "message")));
	}
	if (p->st == P_AUTHING) {
		if (strcmp(t, g->peers_mode ? "hello" : "ok") == 0)
			peer_online(p);
		else {
			conn_close(c);
			on_close(c, "refused", p);
		}
		connect_more(g);
		return;
	}
	if (!json_is_integer(nv) || p->st != P_READY)
		return;
	n = json_integer_value(nv);
	lat = bench_now_ns() - p->sent[n % RING];
	if (p->kind[n % RING] == 'h' && !p->hb_answered) {
		p->hb_answered = true;
		g->hb_answered++;
	}
	if (!g->measuring)
		return;
	add_sample(p->kind[n % RING] == 'l' ? &g->lk : &g->hb, lat);
}

static void
on_close(struct conn *c, const char *reason, void *arg)
{
	struct lpeer *p = arg;
	struct gen *g = p->g;

	if (p->st == P_CONNECTING || p->st == P_AUTHING)
		g->connecting--;
	if (p->st == P_READY)
		g->ready--;
	p->st = P_GONE;
	p->c = NULL;
	g->gone++;
	if (g->gone < 10)
		fprintf(stderr, "bench_gestor: peer %d closed: %s\n", p->idx,
		    reason);
	connect_more(g);
}

/* Keep at most MAX_HANDSHAKES connections being set up. */
static void
connect_more(struct gen *g)
{
	struct lpeer *p;

	while (g->next < g->n && g->connecting < MAX_HANDSHAKES &&
	    g->tokens >= 1) {
		g->tokens -= 1;
		p = &g->p[g->next];
		p->g = g;
		p->idx = g->next++;
		p->st = P_CONNECTING;
		g->connecting++;
		p->c = conn_connect_from(g->base, g->ctx[p->idx],
		    (struct sockaddr *)&g->src[p->idx % g->nsrc],
		    sizeof(g->src[0]), (struct sockaddr *)&g->addr,
		    sizeof(g->addr), MAX_FRAME, 30, &cbs, p);
		if (p->c == NULL) {
			p->st = P_GONE;
			g->connecting--;
			g->gone++;
		}
	}
}

/* Refill the connect budget (a token bucket of one tick's worth). */
static void
on_rate(evutil_socket_t fd, short what, void *arg)
{
	struct gen *g = arg;
	double burst = g->rate * RATE_TICK;

	g->tokens += burst;
	if (g->tokens > (burst > 1 ? burst : 1))
		g->tokens = burst > 1 ? burst : 1;
	connect_more(g);
	if (g->next >= g->n)
		event_del(g->rate_ev);
}

/* Source addresses 127.0.0.2 ... for the connections. */
static void
init_sources(struct gen *g)
{
	int i;

	if (g->nsrc == 0)
		g->nsrc = (g->n + PER_SOURCE - 1) / PER_SOURCE;
	for (i = 0; i < g->nsrc; i++) {
		g->src[i].sin_family = AF_INET;
		g->src[i].sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)i);
	}
}

/* Descriptors for every peer, the store and some slack. */
static void
raise_nofile(int n)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)n + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		rl.rlim_max = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		fprintf(stderr, "bench_gestor: %d peers need %lu descriptors: "
		    "%s (raise the hard limit, or run as root)\n", n,
		    (unsigned long)need, strerror(errno));
		exit(1);
	}
}

static void
on_watchdog(int sig)
{
	static const char msg[] = "bench_gestor: watchdog: not done in time\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(3);
}

/* ----------------------------------------------------------- measurement */

static void
on_end(evutil_socket_t fd, short what, void *arg)
{
	struct gen *g = arg;
	double secs = (double)(bench_now_ns() - g->t_window) / 1e9;
	long long ticks = g->pid > 0 ? bench_proc_ticks(g->pid) : -1;
	long rss = g->pid > 0 ? bench_proc_rss_kib(g->pid) : -1;
	size_t nlk = g->lk.n, nhb = g->hb.n;

	g->measuring = false;
	printf("{\"peers\":%d,\"online\":%d,\"dropped\":%d,\"errors\":%d,"
	    "\"setup_secs\":%.3f,\"window_secs\":%.3f,\"interval\":%.3f,"
	    "\"lookups_per_interval\":%.3f,"
	    "\"cpu_share\":%.4f,\"rss_kib\":%ld,\"rss_idle_kib\":%ld,"
	    "\"lookups\":%zu,\"lookup_p50_ms\":%.3f,\"lookup_p99_ms\":%.3f,"
	    "\"lookup_max_ms\":%.3f,\"heartbeats\":%zu,\"hb_p50_ms\":%.3f,"
	    "\"hb_p99_ms\":%.3f,\"setup_cpu_secs\":%.3f}\n",
	    g->n, g->ready, g->gone, g->errors,
	    (double)(g->t_window - g->t_setup) / 1e9, secs, g->interval,
	    g->lookups,
	    ticks >= 0 && g->ticks0 >= 0 ? (double)(ticks - g->ticks0) /
	    (double)sysconf(_SC_CLK_TCK) / secs : -1.0, rss, g->rss_idle,
	    nlk, (double)bench_percentile(g->lk.v, nlk, 50) / 1e6,
	    (double)bench_percentile(g->lk.v, nlk, 99) / 1e6,
	    (double)bench_percentile(g->lk.v, nlk, 100) / 1e6,
	    nhb, (double)bench_percentile(g->hb.v, nhb, 50) / 1e6,
	    (double)bench_percentile(g->hb.v, nhb, 99) / 1e6,
	    g->ticks_setup >= 0 ? (double)g->ticks_setup /
	    (double)sysconf(_SC_CLK_TCK) : -1.0);
	fflush(stdout);
	g->rc = g->gone > 0 || g->ready < g->n ? 1 : 0;
	event_base_loopbreak(g->base);
}

/*
 * Poll until every peer is up (and, under load, has had its first
 * heartbeat answered: going online is a write at the gestor), then open
 * the measured window.
 */
static void
on_setup(evutil_socket_t fd, short what, void *arg)
{
	struct gen *g = arg;
	struct timeval tv = { 0, 100000 };

	if (g->ready + g->gone < g->n ||
	    (!g->peers_mode && g->gone == 0 && g->hb_answered < g->n)) {
		if (bench_now_ns() - g->t_setup > (int64_t)SETUP_LIMIT * 1000000000) {
			fprintf(stderr, "bench_gestor: only %d of %d peers up after "
			    "%d s\n", g->ready, g->n, SETUP_LIMIT);
			g->rc = 1;
			event_base_loopbreak(g->base);
			return;
		}
		evtimer_add(g->setup_ev, &tv);
		return;
	}
	if (g->gone > 0) {
		fprintf(stderr, "bench_gestor: %d of %d peers failed to connect\n",
		    g->gone, g->n);
		g->rc = 1;
		event_base_loopbreak(g->base);
		return;
	}
	g->t_window = bench_now_ns();
	if (g->peers_mode) {
		printf("{\"ready\":%d,\"setup_secs\":%.3f}\n", g->ready,
		    (double)(g->t_window - g->t_setup) / 1e9);
		fflush(stdout);
		tv = tv_of(g->hold);
	} else {
		g->measuring = true;
		g->ticks0 = g->pid > 0 ? bench_proc_ticks(g->pid) : -1;
		/* The gestor's CPU to accept, authenticate and see everyone. */
		g->ticks_setup = g->ticks0 >= 0 && g->ticks_setup >= 0 ?
		    g->ticks0 - g->ticks_setup : -1;
		tv = tv_of(g->duration);
	}
	evtimer_add(g->end_ev, &tv);
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void
on_hold_end(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void
parse_addr(const char *s, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		usage();
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)strtol(colon + 1, NULL, 10));
	/* Loopback only: the suite never sends anything elsewhere. */
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
	    (ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "bench_gestor: %s is not a 127.0.0.0/8 address\n",
		    host);
		exit(2);
	}
}

static void
parse_args(struct gen *g, int argc, char **argv)
{
	int i;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "peers") == 0)
		g->peers_mode = true;
	else if (strcmp(argv[1], "load") != 0)
		usage();
	for (i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--addr") == 0)
			parse_addr(argv[i + 1], &g->addr);
		else if (strcmp(argv[i], "--db") == 0)
			g->db = argv[i + 1];
		else if (strcmp(argv[i], "--keys") == 0)
			g->keys = argv[i + 1];
		else if (strcmp(argv[i], "--n") == 0)
			g->n = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--interval") == 0)
			g->interval = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--lookups") == 0)
			g->lookups = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--duration") == 0)
			g->duration = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--hold") == 0)
			g->hold = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--pid") == 0)
			g->pid = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--rate") == 0)
			g->rate = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--sources") == 0)
			g->nsrc = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--first") == 0)
			g->first = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--lookup-range") == 0)
			g->lookup_range = (int)strtol(argv[i + 1], NULL, 10);
		else
			usage();
	}
	if (i != argc || g->addr.sin_port == 0 || g->db == NULL ||
	    g->keys == NULL || g->n <= 0 || g->n > MAX_PEERS ||
	    g->first < 0 || g->first + g->n > MAX_PEERS ||
	    g->lookup_range < 0 || g->lookup_range > MAX_PEERS ||
	    !(g->rate > 0 && g->rate <= 100000) || g->nsrc < 0 ||
	    g->nsrc > MAX_SOURCES || g->interval <= 0 ||
	    g->lookups < 0 || g->duration <= 0 || g->duration > 3600 ||
	    g->hold <= 0 || g->hold > 3600)
		usage();
}

int
main(int argc, char **argv)
{
	struct gen g = { .interval = 10, .lookups = 1, .duration = 30,
	    .hold = 60, .rate = 2000 };
	struct timeval tv = { 0, 0 }, tick = tv_of(RATE_TICK);

	parse_args(&g, argc, argv);
	log_init(LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_watchdog);
	raise_nofile(g.n);
	init_sources(&g);
	load_keys(&g);
	add_accounts(&g);
	g.p = calloc((size_t)g.n, sizeof(*g.p));
	g.base = event_base_new();
	g.setup_ev = evtimer_new(g.base, on_setup, &g);
	g.end_ev = evtimer_new(g.base, g.peers_mode ? on_hold_end : on_end, &g);
	g.sig_ev = evsignal_new(g.base, SIGTERM, on_signal, g.base);
	event_add(g.sig_ev, NULL);
	g.rss_idle = g.pid > 0 ? bench_proc_rss_kib(g.pid) : -1;
	/* Keys are loaded: from here the run is bounded. */
	alarm((unsigned)(SETUP_LIMIT + (g.peers_mode ? g.hold : g.duration) +
	    60));
	g.rate_ev = event_new(g.base, -1, EV_PERSIST, on_rate, &g);
	event_add(g.rate_ev, &tick);
	g.t_setup = bench_now_ns();
	g.ticks_setup = g.pid > 0 ? bench_proc_ticks(g.pid) : -1;
	evtimer_add(g.setup_ev, &tv);
	event_base_dispatch(g.base);
	return g.rc;
}
