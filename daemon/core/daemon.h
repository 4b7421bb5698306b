/*
 * What main hands to the mode it runs: the one event loop, the current
 * configuration (swapped whole on reload), the identity and TLS context,
 * and the control socket. Peer and gestor code see only this.
 */
#ifndef P2P_DAEMON_H
#define P2P_DAEMON_H

#include <sys/time.h>

#include <math.h>

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "conn.h"
#include "ctlsock.h"
#include "identity.h"

struct gestor;
struct peer;

struct daemon {
	struct event_base	*base;
	const struct config	*cfg;
	struct identity		*id;
	struct tlsctx		*tls;
	struct ctlsock		*ctl;
	double			 started;	/* util_mono() at start */
	struct gestor		*gestor;	/* set in gestor mode */
	struct peer		*peer;		/* set in peer mode */
};

/* Ask main to shut down gracefully once the current callback returns. */
void	daemon_stop(struct daemon *);
/*
 * Reload the configuration file: what changed, an array of {setting,
 * status: "applied" | "restart_needed"}, or NULL with a message in err
 * (the old configuration stays in force).
 */
json_t	*daemon_reload(struct daemon *, char *err, size_t errlen);

/* A duration in seconds (>= 0) as a struct timeval, for event_add. */
static inline struct timeval
daemon_tv(double s)
{
	struct timeval tv = { (time_t)s, (suseconds_t)((s - floor(s)) * 1e6) };

	return tv;
}

#endif
