/*
 * The metrics endpoint (metrics.listen): GET /metrics in the Prometheus
 * text exposition format, served by libevent's evhttp on the daemon's
 * loop. metrics.c knows nothing of the modes: the mode hands it a
 * function that writes the samples (gestor_metrics, peer_metrics) with
 * the writer below.
 */
#ifndef P2P_METRICS_H
#define P2P_METRICS_H

#include <stddef.h>

#include <event2/event.h>

/* Scrapers at once; more wait in the kernel's backlog (descriptor budget). */
#define METRICS_MAX_CLIENTS	8
/* metrics.listen without a port. */
#define METRICS_DEFAULT_PORT	9478

struct metrics;
struct metrics_out;

/* Write every sample of this daemon to out (called for each scrape). */
typedef void	(*metrics_fill_cb)(struct metrics_out *out, void *arg);

/*
 * Listen on hostport and serve fill's samples. NULL with *cause (caller
 * frees). A warning is logged when hostport is not a loopback address.
 */
struct metrics	*metrics_open(struct event_base *, const char *hostport,
		    metrics_fill_cb fill, void *arg, char **cause);
void		 metrics_close(struct metrics *);
/* The bound address:port. */
const char	*metrics_address(const struct metrics *);

/*
 * The writer. A family is its # HELP and # TYPE lines (type "counter",
 * "gauge" or "histogram") and then its samples; a counter's name ends in
 * _total. labels is NULL or preformatted (name="value",...), values
 * made of [a-z0-9_.:-] only.
 */
void	metrics_family(struct metrics_out *, const char *name, const char *type,
	    const char *help);
void	metrics_sample(struct metrics_out *, const char *name,
	    const char *labels, double value);
/* One family of one unlabelled sample. */
void	metrics_counter(struct metrics_out *, const char *name,
	    const char *help, double value);
void	metrics_gauge(struct metrics_out *, const char *name, const char *help,
	    double value);

/* A latency histogram in seconds: fixed buckets, kept by its owner. */
#define METRICS_BUCKETS	10
struct metrics_hist {
	unsigned long	 le[METRICS_BUCKETS];	/* observations <= bound i */
	unsigned long	 count;
	double		 sum;
};

void	metrics_hist_observe(struct metrics_hist *, double seconds);
/* The family (type histogram) of h under name (no _bucket suffix). */
void	metrics_histogram(struct metrics_out *, const char *name,
	    const char *help, const struct metrics_hist *h);

#endif
