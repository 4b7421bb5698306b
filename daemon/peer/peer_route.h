/*
 * Route choice for outgoing links (direct or through the gestor's
 * relay): see peer_route.c.
 */
#ifndef P2P_PEER_ROUTE_H
#define P2P_PEER_ROUTE_H

#include <sys/socket.h>

#include <stdbool.h>

#include <jansson.h>

struct peer_msgs;
struct plink;

/*
 * What a route tells the link it works for (peer_link.c's functions,
 * wired by peer_msgs_start in peer_msg.c).
 */
struct proute_hooks {
	/* A relay paired us: run TLS as client on fd for the link. */
	void	(*adopt)(struct plink *, int fd, const struct sockaddr *,
		    socklen_t);
	/* This attempt failed: back off and retry. */
	void	(*failed)(struct plink *, const char *why);
	/* The direct route works again: leave the relay (nothing in flight). */
	void	(*redirect)(struct plink *);
};

/* A new attempt: true when it should go through the relay at once. */
bool		 peer_route_want_relay(struct plink *, bool have_addr);
/* relay.use = "always" and no relay now: l must not go direct (why). */
bool		 peer_route_no_direct(struct plink *, char *why, size_t len);
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
