/*
 * Route choice for outgoing links (direct or through the gestor's
 * relay): see peer_route.c.
 */
#ifndef P2P_PEER_ROUTE_H
#define P2P_PEER_ROUTE_H

#include <stdbool.h>

#include <jansson.h>

struct peer_msgs;
struct plink;

/* A new attempt: true when it should go through the relay at once. */
bool		 peer_route_want_relay(struct plink *, bool have_addr);
/* Connect timeout for the direct route (short when the relay is a fallback). */
double		 peer_route_direct_timeout(struct plink *);
/* Ask the gestor for a relay session and connect through it. */
void		 peer_route_relay(struct plink *);
/* The direct attempt failed: true if the relay was started instead. */
bool		 peer_route_fallback(struct plink *, const char *why);
/* hello done: remember the route that worked. */
void		 peer_route_up(struct plink *);
/* A relayed contact published a new address: try the direct route soon. */
void		 peer_route_probe_soon(struct plink *);
/* Stop a relay connection in progress. */
void		 peer_route_cancel(struct plink *);
/* {"route","route_why"}: the live link's, else the remembered one. */
json_t		*peer_route_json(struct peer_msgs *, const char *user);
/* {"relay_use","links_direct","links_relay","relay_invites"} for status. */
json_t		*peer_route_status(struct peer_msgs *);

#endif
