/*
 * The peer's relay client and relay invitations: see peer_relay.c.
 */
#ifndef P2P_PEER_RELAY_H
#define P2P_PEER_RELAY_H

#include <sys/socket.h>

#include "wire.h"

struct peer;
struct peer_msgs;
struct prelay;

/* fd (ours to keep) once the relay paired us, or -1 and err. */
typedef void (*prelay_cb)(int fd, const struct sockaddr *, socklen_t,
    const char *err, void *arg);

/* Connect to the relay of offer and present its key. */
struct prelay	*prelay_connect(struct peer_msgs *, const struct w_relay *offer,
		    prelay_cb, void *arg);
void		 prelay_cancel(struct prelay *);

/* The gestor pushed relay-invite: connect and be the TLS server. */
void		 peer_relay_invite(struct peer *, const struct w_relay *);
/* Shutdown: cancel relay invitations in progress. */
void		 peer_relay_stop(struct peer_msgs *);

#endif
