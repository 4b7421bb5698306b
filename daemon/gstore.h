/*
 * The gestor's store interface: users, their password hashes, keys and
 * last known addresses. Gestor code reaches its data only through these
 * calls; gstore_sqlite.c is the one backend today (a PostgreSQL backend
 * would be one more file implementing the same functions).
 */
#ifndef P2P_GSTORE_H
#define P2P_GSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "passwd.h"
#include "proto.h"

struct gstore;

struct guser {
	char	 name[P2P_USERNAME_MAX + 1];
	char	 hash[PASSWD_HASH_MAX];
	char	 fingerprint[P2P_FP_LEN + 1];
	int64_t	 created;	/* unix seconds */
	int64_t	 last_seen;	/* unix seconds, 0 = never */
	char	 addr[64];	/* last address, "" if none */
	int	 port;
};

enum gstore_rc { GSTORE_OK = 0, GSTORE_NOTFOUND = 1, GSTORE_EXISTS = 2,
    GSTORE_ERR = -1 };

/* Open (creating, migrating) data_dir/gestor.db; NULL with *cause. */
struct gstore	*gstore_open(const char *path, bool sync_full, char **cause);
void		 gstore_close(struct gstore *);

enum gstore_rc	 gstore_user_add(struct gstore *, const struct guser *);
enum gstore_rc	 gstore_user_get(struct gstore *, const char *name, struct guser *);
enum gstore_rc	 gstore_user_set_key(struct gstore *, const char *name,
		    const char *fingerprint);
enum gstore_rc	 gstore_user_seen(struct gstore *, const char *name,
		    const char *addr, int port, int64_t when);
/* Calls fn for every user in name order; stops early if fn returns -1. */
enum gstore_rc	 gstore_user_foreach(struct gstore *,
		    int (*fn)(const struct guser *, void *), void *arg);
long		 gstore_user_count(struct gstore *);

#endif
