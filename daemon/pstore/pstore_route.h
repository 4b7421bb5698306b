/*
 * The route each contact was last reached by (direct or through the
 * gestor's relay), why, and when the direct route last failed: the
 * peer's memory for relay.use = "auto" (peer_route.c).
 */
#ifndef P2P_PSTORE_ROUTE_H
#define P2P_PSTORE_ROUTE_H

#include <stdint.h>

#include "proto.h"
#include "pstore.h"

struct proute_store;

struct proute {
	char	 user[P2P_USERNAME_MAX + 1];
	char	 route[8];		/* "direct", "relay" or "" */
	char	 why[200];		/* e.g. "direct failed: timeout" */
	int64_t	 updated;		/* unix seconds the route last worked */
	int64_t	 direct_failed;		/* unix seconds, 0 = never */
};

struct proute_store *proute_open(struct pstore *, char **cause);
void		 proute_close(struct proute_store *);
/* PSTORE_OK, PSTORE_NOTFOUND (r zeroed) or PSTORE_ERR. */
enum pstore_rc	 proute_get(struct proute_store *, const char *user,
		    struct proute *r);
enum pstore_rc	 proute_put(struct proute_store *, const struct proute *r);

#endif
