/*
 * GET /metrics over libevent's evhttp, on the daemon's one loop.
 *
 * Bounded like every other listener: requests of at most 8 KiB of
 * headers and no body, only GET (evhttp answers 405 to the rest), only
 * /metrics (404), 5 s to send a request or read the answer, and at most
 * METRICS_MAX_CLIENTS connections at once. evhttp (libevent 2.1) has no
 * connection cap of its own: it asks us for each accepted connection's
 * bufferevent (evhttp_set_bevcb), so we make it, keep a reference, and
 * turn the listener off while METRICS_MAX_CLIENTS are held. When evhttp
 * frees a connection, bufferevent_free clears the callbacks of the
 * bufferevent, which our reference keeps alive; a sweep (on each new
 * connection and once a second while any are held) drops our reference
 * then, which closes the socket, and turns the listener on again.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define METRICS_TIMEOUT		5	/* seconds: request in, answer out */
#define METRICS_MAX_HEADERS	8192

struct metrics_out {
	struct evbuffer		*b;
};

struct metrics {
	struct event_base	*base;
	struct evhttp		*http;
	struct evconnlistener	*l;
	struct event		*sweep_ev;
	metrics_fill_cb		 fill;
	void			*arg;
	struct bufferevent	*held[METRICS_MAX_CLIENTS];
	int			 nheld;
	bool			 paused;
	char			 bound[80];
};

/* Upper bounds of the histogram buckets, seconds (+Inf is count). */
static const double bucket_le[METRICS_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5
};

static void
put_value(struct evbuffer *b, double v)
{
	if (isnan(v))
		evbuffer_add_printf(b, "NaN\n");
	else if (v == floor(v) && fabs(v) < 1e15)
		evbuffer_add_printf(b, "%.0f\n", v);
	else
		evbuffer_add_printf(b, "%.9g\n", v);
}

void
metrics_family(struct metrics_out *o, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(o->b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

void
metrics_sample(struct metrics_out *o, const char *name, const char *labels,
    double value)
{
	if (labels != NULL && *labels != '\0')
		evbuffer_add_printf(o->b, "%s{%s} ", name, labels);
	else
		evbuffer_add_printf(o->b, "%s ", name);
	put_value(o->b, value);
}

void
metrics_counter(struct metrics_out *o, const char *name, const char *help,
    double value)
{
	metrics_family(o, name, "counter", help);
	metrics_sample(o, name, NULL, value);
}

void
metrics_gauge(struct metrics_out *o, const char *name, const char *help,
    double value)
{
	metrics_family(o, name, "gauge", help);
	metrics_sample(o, name, NULL, value);
}

void
metrics_hist_observe(struct metrics_hist *h, double seconds)
{
	int i;

	if (!(seconds >= 0))	/* NaN, or a clock that went back */
		seconds = 0;
	for (i = 0; i < METRICS_BUCKETS; i++)
		if (seconds <= bucket_le[i])
			h->le[i]++;
	h->count++;
	h->sum += seconds;
}

void
metrics_histogram(struct metrics_out *o, const char *name, const char *help,
    const struct metrics_hist *h)
{
	int i;

	metrics_family(o, name, "histogram", help);
	for (i = 0; i < METRICS_BUCKETS; i++) {
		evbuffer_add_printf(o->b, "%s_bucket{le=\"%g\"} %lu\n", name,
		    bucket_le[i], h->le[i]);
	}
	evbuffer_add_printf(o->b, "%s_bucket{le=\"+Inf\"} %lu\n", name, h->count);
	evbuffer_add_printf(o->b, "%s_sum ", name);
	put_value(o->b, h->sum);
	evbuffer_add_printf(o->b, "%s_count %lu\n", name, h->count);
}

static void
on_metrics(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	struct metrics_out o;

	if ((o.b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	m->fill(&o, m->arg);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", o.b);
	evbuffer_free(o.b);
}

static void
on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics is served here");
}

/* Drop our reference to the connections evhttp has let go of. */
static void
sweep(struct metrics *m)
{
	bufferevent_data_cb rd, wr;
	bufferevent_event_cb ev;
	void *cbarg;
	int i;

	for (i = 0; i < m->nheld; ) {
		bufferevent_getcb(m->held[i], &rd, &wr, &ev, &cbarg);
		if (rd != NULL || wr != NULL || ev != NULL || cbarg != NULL) {
			i++;
			continue;
		}
		bufferevent_decref(m->held[i]);	/* frees it, closes the socket */
		m->held[i] = m->held[--m->nheld];
	}
	if (m->paused && m->nheld < METRICS_MAX_CLIENTS) {
		m->paused = false;
		evconnlistener_enable(m->l);
	}
	if (m->nheld > 0) {
		struct timeval tv = { 1, 0 };

		evtimer_add(m->sweep_ev, &tv);
	}
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sweep(arg);
}

/* A connection was accepted: its bufferevent, counted. */
static struct bufferevent *
on_new_conn(struct event_base *base, void *arg)
{
	struct metrics *m = arg;
	struct bufferevent *bev;

	sweep(m);
	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return NULL;
	if (m->nheld < METRICS_MAX_CLIENTS) {
		bufferevent_incref(bev);
		m->held[m->nheld++] = bev;
	}
	if (m->nheld >= METRICS_MAX_CLIENTS && !m->paused) {
		m->paused = true;
		evconnlistener_disable(m->l);
	}
	if (!evtimer_pending(m->sweep_ev, NULL)) {
		struct timeval tv = { 1, 0 };

		evtimer_add(m->sweep_ev, &tv);
	}
	return bev;
}

/* Never called: evhttp_bind_listener takes the listener's callback. */
static void
on_accept_unused(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	evutil_closesocket(fd);
}

static bool
is_loopback(const char *bound)
{
	char host[256];
	struct in6_addr a6;
	struct in_addr a4;
	int port;

	if (config_split_hostport(bound, host, sizeof(host), &port, 0) == -1)
		return false;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

struct metrics *
metrics_open(struct event_base *base, const char *hostport,
    metrics_fill_cb fill, void *arg, char **cause)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	*cause = NULL;
	m->base = base;
	m->fill = fill;
	m->arg = arg;
	m->l = listener_open(base, hostport, METRICS_DEFAULT_PORT,
	    on_accept_unused, NULL, m->bound, sizeof(m->bound), cause);
	if (m->l == NULL) {
		free(m);
		return NULL;
	}
	if ((m->http = evhttp_new(base)) == NULL ||
	    (m->sweep_ev = evtimer_new(base, on_sweep, m)) == NULL ||
	    evhttp_set_cb(m->http, "/metrics", on_metrics, m) != 0) {
		if (asprintf(cause, "metrics: out of memory") < 0)
			*cause = NULL;
		goto fail;
	}
	evhttp_set_gencb(m->http, on_other, m);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET);
	evhttp_set_max_headers_size(m->http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT);
	evhttp_set_bevcb(m->http, on_new_conn, m);
	if (evhttp_bind_listener(m->http, m->l) == NULL) {
		if (asprintf(cause, "metrics: cannot serve on %s", m->bound) < 0)
			*cause = NULL;
		goto fail;
	}
	/* From here evhttp_free frees the listener. */
	if (is_loopback(m->bound))
		log_info("metrics: serving /metrics on %s", m->bound);
	else
		log_warnx("metrics: serving /metrics on %s, not a loopback "
		    "address: anyone who reaches it reads these counters "
		    "(limit it with a firewall)", m->bound);
	return m;
fail:
	if (m->http != NULL)
		evhttp_free(m->http);
	listener_close(m->l);
	if (m->sweep_ev != NULL)
		event_free(m->sweep_ev);
	free(m);
	return NULL;
}

void
metrics_close(struct metrics *m)
{
	int i;

	if (m == NULL)
		return;
	/* evhttp_free frees the listener: only its accept guard is ours. */
	listener_unguard(m->l);
	evhttp_free(m->http);
	for (i = 0; i < m->nheld; i++)
		bufferevent_decref(m->held[i]);
	event_free(m->sweep_ev);
	free(m);
}

const char *
metrics_address(const struct metrics *m)
{
	return m->bound;
}
