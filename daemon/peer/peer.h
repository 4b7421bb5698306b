/*
 * Peer mode: one user's daemon. Holds the account session with the
 * gestor, the message store, the direct-message listener and delivery.
 */
#ifndef P2P_PEER_H
#define P2P_PEER_H

#include "ctlsock.h"
#include "daemon.h"

int	peer_start(struct daemon *, char **cause);
void	peer_reload(struct daemon *);
void	peer_stop(struct daemon *);
/*
 * After peer_stop: the stop still has work in flight (every pending
 * message for an offline recipient deposited into its mailbox; each
 * request is answered or fails within PG_REQUEST_TIMEOUT), which the
 * daemon waits for.
 */
bool	peer_stop_busy(struct daemon *);
void	peer_free(struct daemon *);

struct metrics_out;
/* The samples of GET /metrics (metrics.c's fill callback; arg: the daemon). */
void	peer_metrics(struct metrics_out *, void *arg);

extern const ctl_handler peer_ctl_handlers[CMD__MAX];
/* send read without a JSON tree (ctlsock_set_hot_send). */
void	peer_ctl_send_hot(struct ctlreq *, const struct ctl_hot_send *, void *);

#endif
