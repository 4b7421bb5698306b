/*
 * TCP listeners. Addresses are numeric (no name lookups at start-up);
 * "*" means every IPv4 address and "localhost" means 127.0.0.1.
 *
 * Every listener has a guard for accept errors other than the transient
 * ones libevent retries itself (EMFILE, ENFILE, ENOBUFS, ENOMEM): without
 * one, libevent tried accept() again at once, in a busy loop that logged
 * the same line millions of times and starved the loop. The guard turns
 * the listener off, logs once, and turns it on again after a delay that
 * doubles while the errors go on (0.1 s to 5 s); one quiet second after
 * that ends the episode with one more line.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "util.h"

#define LISTENER_BACKOFF_MIN	0.1	/* seconds off after the first error */
#define LISTENER_BACKOFF_MAX	5.0
#define LISTENER_QUIET		1.0	/* without errors: the episode ends */

struct lguard {
	LIST_ENTRY(lguard)	 entry;
	struct evconnlistener	*l;
	struct event		*retry;
	char			 name[128];
	double			 delay;
	bool			 paused;	/* off until retry fires */
	bool			 probing;	/* on again, not yet quiet */
	unsigned long		 errors;	/* in this episode */
};

static LIST_HEAD(, lguard) lguards = LIST_HEAD_INITIALIZER(lguards);

static struct lguard *
lguard_find(struct evconnlistener *l)
{
	struct lguard *g;

	LIST_FOREACH(g, &lguards, entry)
		if (g->l == l)
			return g;
	return NULL;
}

static void
lguard_arm(struct lguard *g, double seconds)
{
	struct timeval tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	evtimer_add(g->retry, &tv);
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	struct lguard *g = lguard_find(l);

	(void)arg;
	if (g == NULL)
		return;
	evconnlistener_disable(l);
	g->errors++;
	if (!g->paused && !g->probing) {
		g->delay = LISTENER_BACKOFF_MIN;
		log_warnx("listener: %s: accept: %s; not accepting for now, "
		    "retrying with backoff (logged once)", g->name,
		    evutil_socket_error_to_string(err));
	} else
		g->delay = fmin(g->delay * 2, LISTENER_BACKOFF_MAX);
	g->paused = true;
	g->probing = false;
	lguard_arm(g, g->delay);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct lguard *g = arg;

	(void)fd;
	(void)what;
	if (g->paused) {
		g->paused = false;
		g->probing = true;
		evconnlistener_enable(g->l);
		lguard_arm(g, LISTENER_QUIET);
		return;
	}
	if (g->probing) {
		g->probing = false;
		log_info("listener: %s: accepting again (%lu failed accepts)",
		    g->name, g->errors);
		g->errors = 0;
	}
}

int
listener_guard(struct event_base *base, struct evconnlistener *l,
    const char *name)
{
	struct lguard *g = xcalloc(1, sizeof(*g));

	if ((g->retry = evtimer_new(base, on_retry, g)) == NULL) {
		free(g);
		return -1;
	}
	g->l = l;
	snprintf(g->name, sizeof(g->name), "%s", name);
	LIST_INSERT_HEAD(&lguards, g, entry);
	evconnlistener_set_error_cb(l, on_accept_error);
	return 0;
}

void
listener_unguard(struct evconnlistener *l)
{
	struct lguard *g;

	if (l != NULL && (g = lguard_find(l)) != NULL) {
		LIST_REMOVE(g, entry);
		event_free(g->retry);
		free(g);
	}
}

void
listener_close(struct evconnlistener *l)
{
	if (l == NULL)
		return;
	listener_unguard(l);
	evconnlistener_free(l);
}

/* Numeric IPv4 or IPv6 address and port (0 allowed) to a sockaddr. */
static int
to_sockaddr(const char *host, int port, struct sockaddr_storage *ss, int *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

struct evconnlistener *
listener_open(struct event_base *base, const char *hostport, int default_port,
    evconnlistener_cb cb, void *arg, char *bound, size_t boundlen, char **cause)
{
	struct sockaddr_storage ss;
	struct evconnlistener *l;
	char host[256];
	int port, sslen = sizeof(ss);

	*cause = NULL;
	if (config_split_hostport(hostport, host, sizeof(host), &port,
	    default_port) == -1)
		goto bad;
	if (strcmp(host, "*") == 0)
		strcpy(host, "0.0.0.0");
	else if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	memset(&ss, 0, sizeof(ss));
	if (to_sockaddr(host, port, &ss, &sslen) == -1)
		goto bad;
	l = evconnlistener_new_bind(base, cb, arg, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 128,
	    (struct sockaddr *)&ss, sslen);
	if (l == NULL) {
		int errnum = errno;

		if (asprintf(cause, "cannot listen on %s: %s", hostport,
		    strerror(errnum)) < 0)
			*cause = NULL;
		errno = errnum;
		return NULL;
	}
	snprintf(bound, boundlen, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
	    listener_port(l));
	if (listener_guard(base, l, bound) == -1) {
		evconnlistener_free(l);
		if (asprintf(cause, "cannot listen on %s: out of memory",
		    hostport) < 0)
			*cause = NULL;
		return NULL;
	}
	return l;
bad:
	if (asprintf(cause, "listen address '%s' must be a numeric "
	    "address:port", hostport) < 0)
		*cause = NULL;
	return NULL;
}

int
listener_port(struct evconnlistener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss,
	    &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}
