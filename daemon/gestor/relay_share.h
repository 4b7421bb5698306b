/*
 * Who holds the relay's sessions: a count per account and per source (an
 * IPv4 address, an IPv6 /64), so that relay.c can cap each and share a
 * full relay fairly, taking a place back from whoever holds the most.
 */
#ifndef P2P_RELAY_SHARE_H
#define P2P_RELAY_SHARE_H

enum rshare_kind { RSHARE_ACCOUNT, RSHARE_SOURCE };

struct rshare;

struct rshare	*rshare_new(void);
void		 rshare_free(struct rshare *);
/* One more (add) or one fewer (del) session held by key. */
void		 rshare_add(struct rshare *, enum rshare_kind, const char *key);
void		 rshare_del(struct rshare *, enum rshare_kind, const char *key);
/* Sessions key holds now. */
long		 rshare_count(const struct rshare *, enum rshare_kind,
		    const char *key);
/* The key that holds the most sessions (NULL if none), and *n of them. */
const char	*rshare_top(const struct rshare *, enum rshare_kind, long *n);

#endif
