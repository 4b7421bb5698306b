/*
 * In-process group members for `make bench` (the fan-out figure of issue
 * 27): 100 peer daemons are too many for the machine, so N members live
 * in this one process, each with its own Ed25519 identity, its own
 * account at the gestor and its own listener, and answer a real daemon
 * as peers do: hello, then an ack for every msg, gmsg and gmembers.
 *
 *   bench_group members --addr GESTOR_HOST:PORT --db GESTOR_DB --keys DIR
 *	--n N [--hold SECS]
 *	Accounts gNNNNN are written into the gestor's users table (as
 *	bench_gestor does), each member resumes its session with `auth`
 *	and heartbeats the port of its listener on 127.0.0.1; prints
 *	{"ready":N} once every heartbeat is answered, then acks what
 *	comes until SIGTERM or --hold seconds, and prints
 *	{"gmsg":K,"gmembers":L,"msg":M} (frames acknowledged).
 *
 * Keys are DIR/gNNNNN.key, generated on first use and kept.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>
#include <sqlite3.h>

#include "bench.h"
#include "conn.h"
#include "identity.h"
#include "log.h"

#define MAX_FRAME	(1024 * 1024)
#define MAX_MEMBERS	1000

struct member {
	struct run		*g;
	int			 idx;
	char			 name[16];
	struct tlsctx		*ctx;
	char			*fp;
	struct conn		*gc;		/* to the gestor */
	struct evconnlistener	*ls;
	int			 port;
	bool			 ready;
};

struct run {
	struct event_base	*base;
	struct sockaddr_in	 gestor;
	const char		*db, *keys;
	int			 n, ready;
	double			 hold;
	struct member		*m;
	long			 gmsg, gmembers, msg;
};

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: bench_group members --addr HOST:PORT --db "
	    "GESTOR_DB --keys DIR --n N [--hold S]\n");
	exit(2);
}

/* ------------------------------------------------- incoming connections */

static void
in_ready(struct conn *c, void *arg)
{
}

static void
ack(struct conn *c, json_t *f)
{
	json_t *a = json_pack("{s:s,s:O}", "t", "ack", "id",
	    json_object_get(f, "id"));

	conn_send(c, a);
	json_decref(a);
}

static void
in_frame(struct conn *c, json_t *f, void *arg)
{
	struct member *m = arg;
	const char *t = json_string_value(json_object_get(f, "t"));
	json_t *hello;

	if (strcmp(t, "hello") == 0) {
		hello = json_pack("{s:s,s:i,s:s}", "t", "hello", "v", 1, "user",
		    m->name);
		conn_send(c, hello);
		json_decref(hello);
	} else if (strcmp(t, "gmsg") == 0) {
		m->g->gmsg++;
		ack(c, f);
	} else if (strcmp(t, "gmembers") == 0) {
		m->g->gmembers++;
		ack(c, f);
	} else if (strcmp(t, "msg") == 0) {
		m->g->msg++;
		ack(c, f);
	}
}

static void
in_close(struct conn *c, const char *reason, void *arg)
{
}

static const struct conn_cbs in_cbs = { in_ready, in_frame, in_close };

static void
on_accept(struct evconnlistener *ls, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct member *m = arg;

	if (conn_accept(m->g->base, m->ctx, fd, sa, (socklen_t)salen,
	    MAX_FRAME, 30, &in_cbs, m) == NULL)
		fprintf(stderr, "bench_group: %s: cannot accept\n", m->name);
}

/* ------------------------------------------------------- to the gestor */

static void
gc_ready(struct conn *c, void *arg)
{
	struct member *m = arg;
	json_t *f = json_pack("{s:s,s:s}", "t", "auth", "user", m->name);

	conn_send(c, f);
	json_decref(f);
}

static void
gc_frame(struct conn *c, json_t *f, void *arg)
{
	struct member *m = arg;
	const char *t = json_string_value(json_object_get(f, "t"));
	json_t *hb;

	if (strcmp(t, "error") == 0) {
		fprintf(stderr, "bench_group: %s: %s: %s\n", m->name,
		    json_string_value(json_object_get(f, "code")),
		    json_string_value(json_object_get(f, "message")));
		exit(1);
	}
	if (strcmp(t, "ok") != 0)
		return;
	if (!m->ready && json_object_get(f, "n") == NULL) {
		/* auth answered: heartbeat our listener's port */
		hb = json_pack("{s:s,s:i,s:i}", "t", "hb", "port", m->port, "n", 1);
		conn_send(c, hb);
		json_decref(hb);
		return;
	}
	if (!m->ready) {
		m->ready = true;
		if (++m->g->ready == m->g->n) {
			printf("{\"ready\":%d}\n", m->g->n);
			fflush(stdout);
		}
	}
}

static void
gc_close(struct conn *c, const char *reason, void *arg)
{
	struct member *m = arg;

	fprintf(stderr, "bench_group: %s: gestor connection closed: %s\n",
	    m->name, reason);
	exit(1);
}

static const struct conn_cbs gc_cbs = { gc_ready, gc_frame, gc_close };

/* --------------------------------------------------------------- set-up */

static void
setup_member(struct run *g, int i)
{
	struct member *m = &g->m[i];
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct identity *id;
	char file[32], *cause = NULL;

	m->g = g;
	m->idx = i;
	snprintf(m->name, sizeof(m->name), "g%05d", i);
	snprintf(file, sizeof(file), "%s.key", m->name);
	if ((id = identity_load(g->keys, file, &cause)) == NULL ||
	    (m->ctx = tlsctx_new(id, &cause)) == NULL) {
		fprintf(stderr, "bench_group: %s\n", cause ? cause : "?");
		exit(1);
	}
	m->fp = strdup(identity_fingerprint(id));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	m->ls = evconnlistener_new_bind(g->base, on_accept, m,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (m->ls == NULL || getsockname(evconnlistener_get_fd(m->ls),
	    (struct sockaddr *)&sin, &len) == -1) {
		fprintf(stderr, "bench_group: cannot listen\n");
		exit(1);
	}
	m->port = ntohs(sin.sin_port);
}

/* Accounts straight into the gestor's users table (it is running: WAL). */
static void
add_accounts(struct run *g)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
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
		sqlite3_bind_text(st, 1, g->m[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, g->m[i].fp, -1, SQLITE_STATIC);
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
	fprintf(stderr, "bench_group: %s: %s\n", g->db, sqlite3_errmsg(db));
	exit(1);
}

/* Every member heartbeats every HB_EVERY seconds, as daemons do. */
#define HB_EVERY	5
static void
on_hb(evutil_socket_t fd, short what, void *arg)
{
	struct run *g = arg;
	json_t *hb;
	int i;

	for (i = 0; i < g->n; i++) {
		if (!g->m[i].ready)
			continue;
		hb = json_pack("{s:s,s:i,s:i}", "t", "hb", "port", g->m[i].port,
		    "n", 2);
		conn_send(g->m[i].gc, hb);
		json_decref(hb);
	}
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static void
on_watchdog(int sig)
{
	static const char msg[] = "bench_group: watchdog: gave up\n";

	(void)write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

static void
parse_args(struct run *g, int argc, char **argv)
{
	char host[64];
	const char *colon;
	int i;

	if (argc < 2 || strcmp(argv[1], "members") != 0)
		usage();
	for (i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--addr") == 0) {
			if ((colon = strrchr(argv[i + 1], ':')) == NULL ||
			    (size_t)(colon - argv[i + 1]) >= sizeof(host))
				usage();
			memcpy(host, argv[i + 1], (size_t)(colon - argv[i + 1]));
			host[colon - argv[i + 1]] = '\0';
			g->gestor.sin_family = AF_INET;
			g->gestor.sin_port = htons((uint16_t)strtol(colon + 1, NULL,
			    10));
			/* Loopback only: the suite never sends anything elsewhere. */
			if (inet_pton(AF_INET, host, &g->gestor.sin_addr) != 1 ||
			    (ntohl(g->gestor.sin_addr.s_addr) >> 24) != 127)
				usage();
		} else if (strcmp(argv[i], "--db") == 0)
			g->db = argv[i + 1];
		else if (strcmp(argv[i], "--keys") == 0)
			g->keys = argv[i + 1];
		else if (strcmp(argv[i], "--n") == 0)
			g->n = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--hold") == 0)
			g->hold = strtod(argv[i + 1], NULL);
		else
			usage();
	}
	if (i != argc || g->gestor.sin_port == 0 || g->db == NULL ||
	    g->keys == NULL || g->n <= 0 || g->n > MAX_MEMBERS ||
	    !(g->hold > 0 && g->hold <= 3600))
		usage();
}

int
main(int argc, char **argv)
{
	struct run g = { .hold = 600 };
	struct event *sig, *end, *hb;
	struct timeval tv, every = { HB_EVERY, 0 };
	int i;

	parse_args(&g, argc, argv);
	log_init(LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_watchdog);
	g.base = event_base_new();
	g.m = calloc((size_t)g.n, sizeof(*g.m));
	if (g.base == NULL || g.m == NULL)
		abort();
	for (i = 0; i < g.n; i++)
		setup_member(&g, i);
	add_accounts(&g);
	alarm((unsigned)g.hold + 120);
	for (i = 0; i < g.n; i++)
		if ((g.m[i].gc = conn_connect(g.base, g.m[i].ctx,
		    (struct sockaddr *)&g.gestor, sizeof(g.gestor), MAX_FRAME, 30,
		    &gc_cbs, &g.m[i])) == NULL) {
			fprintf(stderr, "bench_group: cannot connect\n");
			return 1;
		}
	sig = evsignal_new(g.base, SIGTERM, on_stop, g.base);
	end = evtimer_new(g.base, on_stop, g.base);
	tv.tv_sec = (time_t)g.hold;
	tv.tv_usec = 0;
	event_add(sig, NULL);
	evtimer_add(end, &tv);
	hb = event_new(g.base, -1, EV_PERSIST, on_hb, &g);
	event_add(hb, &every);
	event_base_dispatch(g.base);
	printf("{\"gmsg\":%ld,\"gmembers\":%ld,\"msg\":%ld}\n", g.gmsg,
	    g.gmembers, g.msg);
	return 0;
}
