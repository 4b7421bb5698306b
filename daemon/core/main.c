/*
 * p2pchatd: start-up, the one event loop, signals, reload and shutdown.
 * main builds everything in order (config, log, data directory, identity,
 * TLS, mode, control socket), runs the loop, and frees in reverse.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <gnutls/gnutls.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "config.h"
#include "daemon.h"
#include "datadir.h"
#include "gestor.h"
#include "log.h"
#include "metrics.h"
#include "peer.h"
#include "relay.h"
#include "util.h"

#define STOP_GRACE	1.5	/* seconds for connections to close cleanly */
/*
 * A peer's stop deposits every pending message for an offline recipient
 * (the mailbox): it is waited for while its requests are in flight (a
 * gestor that stops answering fails them within PG_REQUEST_TIMEOUT),
 * for at most STOP_LONGEST seconds in all (some 50 000 messages at this
 * machine's pace), within systemd's TimeoutStopSec. What is left stays
 * pending.
 */
#define STOP_LONGEST	60.0

#ifdef HAVE_POSTGRESQL
#define GESTOR_BACKENDS	" postgresql"
#else
#define GESTOR_BACKENDS	""
#endif

struct options {
	const char	*file;
	int		 mode;
	int		 verbose;
	int		 check;
};

static struct event	*ev_sigterm, *ev_sigint, *ev_sighup, *ev_stop, *ev_drain;
static struct event	*ev_logsum;	/* summaries of suppressed log lines */
static double		 stop_began, stop_deadline;
static struct options	 opts = { NULL, CONFIG_MODE_DEFAULT, 0, 0 };
static struct config	*cur_cfg;
/* The mode's control handlers and the ones every mode shares. */
static ctl_handler	 ctl_handlers[CMD__MAX];
static struct metrics	*metrics;	/* metrics.listen, NULL when "" */

static void	on_signal(evutil_socket_t, short, void *);
static void	on_stop(evutil_socket_t, short, void *);
static void	on_drain(evutil_socket_t, short, void *);

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: p2pchatd [-v] [-c file] [-m peer|gestor] [--check-config] "
	    "[--version]\n");
	exit(status);
}

static void
parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check-config", no_argument, NULL, 'n' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:m:vhn", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts.file = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "peer") == 0)
				opts.mode = MODE_PEER;
			else if (strcmp(optarg, "gestor") == 0)
				opts.mode = MODE_GESTOR;
			else {
				fprintf(stderr, "p2pchatd: -m must be peer or gestor\n");
				usage(2);
			}
			break;
		case 'v':
			opts.verbose = 1;
			break;
		case 'n':
			opts.check = 1;
			break;
		case 'V':
			printf("p2pchatd %s\ngestor storage: sqlite%s\n",
			    PACKAGE_VERSION, GESTOR_BACKENDS);
			exit(0);
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
}

/*
 * jansson's free: control requests and gestor frames carry passwords in
 * JSON strings (and jansson's parser copies them while it reads), so
 * every block jansson gives back is overwritten first.
 */
static void
json_free_zeroed(void *p)
{
	if (p != NULL)
		explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/* No core dumps: the process holds passwords and private keys. */
static void
harden(void)
{
	struct rlimit rl = { 0, 0 };

	json_set_alloc_funcs(malloc, json_free_zeroed);
	umask(077);
	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * The descriptor budget: everything the daemon may hold open at once.
 * limits.max_connections (the gestor's sessions, a peer's incoming
 * connections), the relay's connections, the control socket's clients,
 * the metrics endpoint's scrapers (and one more: metrics.c), and a reserve for the rest (stdio, listeners, stores and their
 * journals, PostgreSQL connections, the hashing pipe, libevent's own).
 */
#define FD_RESERVE	64

static long
metrics_fds(const struct config *c)
{
	return *c->metrics_listen != '\0' ? METRICS_MAX_CLIENTS + 2 : 0;
}

static long
fd_budget(const struct config *c)
{
	return c->max_connections + relay_max_fds(c) + CTLSOCK_MAX_CLIENTS +
	    metrics_fds(c) + FD_RESERVE;
}

/*
 * Make room for the budget: raise the soft limit as far as the hard one
 * allows (a service manager's default soft limit is often 1024). A
 * configuration that cannot fit is refused: past the limit accept()
 * fails, and every connection over it would be refused anyway. 0 or -1
 * with err.
 */
static int
fit_nofile(const struct config *c, bool apply, char *err, size_t errlen)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)fd_budget(c);

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		snprintf(err, errlen, "the configuration needs up to %lu open "
		    "descriptors (limits.max_connections %ld + relay %ld + "
		    "control clients %d + metrics %ld + %d) but the descriptor "
		    "limit (RLIMIT_NOFILE, hard) is %lu: lower "
		    "limits.max_connections or relay.max_sessions, or raise the "
		    "limit (ulimit -n, LimitNOFILE=)", (unsigned long)need,
		    c->max_connections, relay_max_fds(c), CTLSOCK_MAX_CLIENTS,
		    metrics_fds(c), FD_RESERVE,
		    (unsigned long)rl.rlim_max);
		return -1;
	}
	if (!apply || rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("main: setrlimit RLIMIT_NOFILE");
	return 0;
}

void
daemon_stop(struct daemon *d)
{
	event_active(ev_stop, EV_TIMEOUT, 0);
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tick = { 0, 10000 };

	log_info("main: shutting down");
	if (d->cfg->mode == MODE_GESTOR)
		gestor_stop(d);
	else
		peer_stop(d);
	ctlsock_close(d->ctl);
	d->ctl = NULL;
	event_del(ev_sigterm);
	event_del(ev_sigint);
	event_del(ev_sighup);
	/* Let TLS sessions finish closing, for at most STOP_GRACE seconds. */
	stop_began = util_mono();
	stop_deadline = stop_began + STOP_GRACE;
	ev_drain = event_new(d->base, -1, EV_PERSIST, on_drain, d);
	event_add(ev_drain, &tick);
}

static void
on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	double now = util_mono();
	bool busy = d->cfg->mode != MODE_GESTOR && peer_stop_busy(d);

	/* The connections' grace starts once the deposits are over. */
	if (busy && now < stop_began + STOP_LONGEST)
		stop_deadline = now + STOP_GRACE;
	if (conn_live() > 0 && now < stop_deadline)
		return;
	if (busy)
		log_warnx("main: the stop's deposits into the mailbox ended "
		    "after %.1f s; what is left stays pending (deposited after "
		    "mailbox.after, or at the next stop)", now - stop_began);
	else if (conn_live() > 0)
		log_warnx("main: %d connections still closing; exiting anyway",
		    conn_live());
	event_del(ev_drain);
	event_base_loopbreak(d->base);
}

/* The settings that cannot change live: they keep their running values. */
static const char *const restart_keys[] = {
	"mode", "data_dir", "control_socket", "listen", "storage.synchronous",
	"storage.backend", "storage.conninfo", "cluster.name",
	"cluster.key_file", "relay.listen", "metrics.listen",
};

static bool
needs_restart(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(restart_keys) / sizeof(restart_keys[0]); i++)
		if (strcmp(restart_keys[i], key) == 0)
			return true;
	return false;
}

/*
 * What a reload changes, one {setting, status} per changed key, status
 * "applied" or "restart_needed"; each logged.
 */
static json_t *
reload_changes(const struct config *o, const struct config *n)
{
	const char *keys[128];
	size_t i, nk = config_changed(o, n, keys, 128);
	json_t *items = json_array();
	bool later;

	for (i = 0; i < nk; i++) {
		/* A peer has no relay to listen on (its default follows listen). */
		if (n->mode == MODE_PEER && strcmp(keys[i], "relay.listen") == 0)
			continue;
		later = needs_restart(keys[i]);
		if (later)
			log_warnx("main: reload: %s changes need a restart", keys[i]);
		else
			log_info("main: reload: %s applied", keys[i]);
		json_array_append_new(items, json_pack("{s:s,s:s}", "setting",
		    keys[i], "status", later ? "restart_needed" : "applied"));
	}
	return items;
}

/* Move a string setting that cannot change live from o to n. */
static void
keep_str(char **n, char **o)
{
	free(*n);
	*n = *o;
	*o = NULL;
}

json_t *
daemon_reload(struct daemon *d, char *err, size_t errlen)
{
	struct config *n, *old = cur_cfg;
	json_t *changes;
	char *relay_listen, *metrics_listen;
	int fit;

	if ((n = config_load(opts.file != NULL ? opts.file : old->path, opts.mode,
	    err, errlen)) == NULL ||
	    config_check_perms(n->path, err, errlen) == -1) {
		config_free(n);
		log_warnx("main: reload failed, keeping the running configuration: %s",
		    err);
		return NULL;
	}
	/* The budget with the relay and metrics listeners that keep running. */
	relay_listen = n->relay_listen;
	metrics_listen = n->metrics_listen;
	n->relay_listen = old->relay_listen;
	n->metrics_listen = old->metrics_listen;
	fit = fit_nofile(n, true, err, errlen);
	n->relay_listen = relay_listen;
	n->metrics_listen = metrics_listen;
	if (fit == -1) {
		config_free(n);
		log_warnx("main: reload failed, keeping the running configuration: %s",
		    err);
		return NULL;
	}
	changes = reload_changes(old, n);
	/* Keep what cannot change live. */
	n->mode = old->mode;
	free(n->data_dir);
	n->data_dir = xstrdup(old->data_dir);
	free(n->control_socket);
	n->control_socket = xstrdup(old->control_socket);
	free(n->listen);
	n->listen = xstrdup(old->listen);
	n->sync_full = old->sync_full;
	keep_str(&n->storage_backend, &old->storage_backend);
	keep_str(&n->storage_conninfo, &old->storage_conninfo);
	keep_str(&n->cluster_name, &old->cluster_name);
	keep_str(&n->cluster_key_file, &old->cluster_key_file);
	keep_str(&n->relay_listen, &old->relay_listen);
	keep_str(&n->metrics_listen, &old->metrics_listen);
	cur_cfg = n;
	d->cfg = n;
	log_setlevel(opts.verbose ? LOG_LVL_DEBUG : (enum log_level)n->log_level);
	if (n->mode == MODE_GESTOR)
		gestor_reload(d);
	else
		peer_reload(d);
	conn_set_send_timeout(n->send_timeout);
	if (d->ctl != NULL) {
		ctlsock_set_max_body(d->ctl, (size_t)n->max_message_bytes);
		ctlsock_set_send_timeout(d->ctl, n->send_timeout);
	}
	config_free(old);
	log_info("main: configuration reloaded from %s",
	    n->path != NULL ? n->path : "(defaults)");
	return changes;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	char err[512];

	if (sig == SIGHUP) {
		log_info("main: SIGHUP, reloading");
		json_decref(daemon_reload(d, err, sizeof(err)));
		return;
	}
	log_info("main: signal %d", (int)sig);
	daemon_stop(d);
}

/* Control handlers every mode shares (ctx is the struct daemon). */
static void
ctl_reload(struct ctlreq *r, json_t *args, void *ctx)
{
	char err[512];
	json_t *changes;

	if ((changes = daemon_reload(ctx, err, sizeof(err))) == NULL)
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "%s", err);
	else
		ctlreq_reply(r, json_pack("{s:o}", "items", changes));
}

static void
ctl_shutdown(struct ctlreq *r, json_t *args, void *ctx)
{
	ctlreq_reply(r, NULL);
	daemon_stop(ctx);
}

static void
ctl_version(struct ctlreq *r, json_t *args, void *ctx)
{
	struct daemon *d = ctx;

	ctlreq_reply(r, json_pack("{s:s,s:s}", "version", PACKAGE_VERSION,
	    "mode", d->cfg->mode == MODE_GESTOR ? "gestor" : "peer"));
}

/* Everything up to the point where the daemon can serve; exits on error. */
static void
start(struct daemon *d)
{
	const struct config *c = d->cfg;
	char *cause = NULL;
	int rc;

	if (datadir_prepare(c->data_dir, &cause) == -1 ||
	    datadir_lock(c->data_dir, &cause) == -1)
		fatalx("main: %s", cause != NULL ? cause : "data_dir");
	if ((d->id = identity_load(c->data_dir, "identity.key", &cause)) == NULL)
		fatalx("main: %s", cause != NULL ? cause : "identity");
	if ((d->tls = tlsctx_new(d->id, &cause)) == NULL)
		fatalx("main: %s", cause != NULL ? cause : "tls");
	log_info("main: identity %s", identity_fingerprint(d->id));
	conn_set_send_timeout(c->send_timeout);
	rc = c->mode == MODE_GESTOR ? gestor_start(d, &cause) :
	    peer_start(d, &cause);
	if (rc == -1)
		fatalx("main: %s", cause != NULL ? cause : "start failed");
	memcpy(ctl_handlers, c->mode == MODE_GESTOR ? gestor_ctl_handlers :
	    peer_ctl_handlers, sizeof(ctl_handlers));
	ctl_handlers[CMD_RELOAD] = ctl_reload;
	ctl_handlers[CMD_SHUTDOWN] = ctl_shutdown;
	ctl_handlers[CMD_VERSION] = ctl_version;
	d->ctl = ctlsock_open(d->base, c->control_socket,
	    c->mode == MODE_GESTOR ? CTL_MODE_GESTOR : CTL_MODE_PEER,
	    ctl_handlers, d, (size_t)c->max_message_bytes, &cause);
	if (d->ctl == NULL)
		fatalx("main: %s", cause != NULL ? cause : "control socket");
	ctlsock_set_send_timeout(d->ctl, c->send_timeout);
	if (c->mode != MODE_GESTOR)
		ctlsock_set_hot_send(d->ctl, peer_ctl_send_hot);
	if (*c->metrics_listen != '\0' && (metrics = metrics_open(d->base,
	    c->metrics_listen, c->mode == MODE_GESTOR ? gestor_metrics :
	    peer_metrics, d, &cause)) == NULL)
		fatalx("main: metrics.listen: %s", cause != NULL ? cause :
		    "cannot listen");
}

static void
on_logsum(evutil_socket_t fd, short what, void *arg)
{
	log_flush_suppressed(false);
}

static void
add_signals(struct daemon *d)
{
	struct timeval tv = { (time_t)LOG_SRC_WINDOW, 0 };

	ev_sigterm = evsignal_new(d->base, SIGTERM, on_signal, d);
	ev_sigint = evsignal_new(d->base, SIGINT, on_signal, d);
	ev_sighup = evsignal_new(d->base, SIGHUP, on_signal, d);
	ev_stop = event_new(d->base, -1, 0, on_stop, d);
	if (ev_sigterm == NULL || ev_sigint == NULL || ev_sighup == NULL ||
	    ev_stop == NULL || event_add(ev_sigterm, NULL) == -1 ||
	    event_add(ev_sigint, NULL) == -1 || event_add(ev_sighup, NULL) == -1)
		fatalx("main: cannot install signal handlers");
	if ((ev_logsum = event_new(d->base, -1, EV_PERSIST, on_logsum, d)) ==
	    NULL || event_add(ev_logsum, &tv) == -1)
		fatalx("main: cannot install the log timer");
}

int
main(int argc, char **argv)
{
	struct daemon d;
	char err[1024], *cause = NULL;

	parse_options(argc, argv);
	harden();
	if ((cur_cfg = config_load(opts.file, opts.mode, err, sizeof(err))) == NULL ||
	    config_check_perms(cur_cfg->path, err, sizeof(err)) == -1) {
		fprintf(stderr, "p2pchatd: %s\n", err);
		config_free(cur_cfg);
		return 1;
	}
	if (opts.check && datadir_check(cur_cfg, &cause) == -1) {
		fprintf(stderr, "p2pchatd: %s\n", cause != NULL ? cause : "paths");
		free(cause);
		config_free(cur_cfg);
		return 1;
	}
	if (fit_nofile(cur_cfg, !opts.check, err, sizeof(err)) == -1) {
		fprintf(stderr, "p2pchatd: %s\n", err);
		config_free(cur_cfg);
		return 1;
	}
	if (opts.check) {
		printf("p2pchatd: configuration OK (%s, mode %s)\n",
		    cur_cfg->path != NULL ? cur_cfg->path : "built-in defaults",
		    cur_cfg->mode == MODE_GESTOR ? "gestor" : "peer");
		config_free(cur_cfg);
		return 0;
	}
	log_init(opts.verbose ? LOG_LVL_DEBUG : (enum log_level)cur_cfg->log_level);
	memset(&d, 0, sizeof(d));
	d.cfg = cur_cfg;
	d.started = util_mono();
	if ((d.base = event_base_new()) == NULL)
		fatalx("main: event_base_new failed");
	add_signals(&d);
	start(&d);
	log_info("main: p2pchatd %s ready (%s mode, config %s)", PACKAGE_VERSION,
	    cur_cfg->mode == MODE_GESTOR ? "gestor" : "peer",
	    cur_cfg->path != NULL ? cur_cfg->path : "built-in defaults");
#ifdef HAVE_SYSTEMD
	sd_notify(0, "READY=1");
#endif
	event_base_dispatch(d.base);
	metrics_close(metrics);
	if (cur_cfg->mode == MODE_GESTOR)
		gestor_free(&d);
	else
		peer_free(&d);
	ctlsock_close(d.ctl);
	conn_free_all();	/* those still closing when the grace ended */
	if (ev_drain != NULL)
		event_free(ev_drain);
	event_free(ev_logsum);
	event_free(ev_stop);
	event_free(ev_sighup);
	event_free(ev_sigint);
	event_free(ev_sigterm);
	tlsctx_free(d.tls);
	identity_free(d.id);
	event_base_free(d.base);
	config_free(cur_cfg);
	log_flush_suppressed(true);
	log_info("main: exiting");
	return 0;
}
