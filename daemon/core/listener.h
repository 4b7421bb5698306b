/*
 * TCP listeners for the gestor and the peer: parse "address:port", bind,
 * and report the address actually bound (port 0 picks one).
 */
#ifndef P2P_LISTENER_H
#define P2P_LISTENER_H

#include <stddef.h>

#include <event2/listener.h>

/*
 * Listen on hostport (numeric address, "*" or "localhost"). NULL with
 * *cause (caller frees) on failure. bound gets "address:port".
 */
struct evconnlistener *listener_open(struct event_base *, const char *hostport,
		    int default_port, evconnlistener_cb, void *arg,
		    char *bound, size_t boundlen, char **cause);
/* The port a listener is bound to, or -1. */
int	listener_port(struct evconnlistener *);
/*
 * Pause l with backoff on accept errors (EMFILE, ENFILE...), logged once
 * with name; listener_open does it for its listeners. 0 or -1.
 */
int	listener_guard(struct event_base *, struct evconnlistener *,
	    const char *name);
/* Free l's guard only (whoever owns l frees it: evhttp_free). */
void	listener_unguard(struct evconnlistener *);
/* Free a listener and its guard. */
void	listener_close(struct evconnlistener *);

#endif
