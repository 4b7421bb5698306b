/*
 * Gestor mode: the directory server. Accounts, password checks, keys,
 * presence and heartbeats, over TLS connections from peers.
 */
#ifndef P2P_GESTOR_H
#define P2P_GESTOR_H

#include "ctlsock.h"
#include "daemon.h"

/* Open the store and start listening; -1 with *cause (caller frees). */
int	gestor_start(struct daemon *, char **cause);
/* Apply a new configuration (limits, timers); d->cfg is already swapped. */
void	gestor_reload(struct daemon *);
/* Stop listening and close every connection cleanly. */
void	gestor_stop(struct daemon *);
/* Free what is left after the loop has ended. */
void	gestor_free(struct daemon *);

struct metrics_out;
/* The samples of GET /metrics (metrics.c's fill callback; arg: the daemon). */
void	gestor_metrics(struct metrics_out *, void *arg);

extern const ctl_handler gestor_ctl_handlers[CMD__MAX];

#endif
