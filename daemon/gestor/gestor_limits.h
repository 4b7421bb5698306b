/*
 * What the gestor allows a client, apart from the protocol itself:
 * failed logins (per user and source address, per source address, and a
 * ceiling per user), registrations per source address, lookups and
 * newly watched names per account and per connection, and which
 * advertised address it publishes. Each check returns false, or true
 * with the refusal's text in msg, which the caller sends as a
 * rate_limited error.
 */
#ifndef P2P_GESTOR_LIMITS_H
#define P2P_GESTOR_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

struct gconn;
struct glimits;

struct glimits	*glimits_new(long max_connections);
void		 glimits_free(struct glimits *);
/* Before a password check (login, register) for user on gc; auth, a
 * resume proven by the key, is neither refused nor counted. */
bool		 glimits_login_refused(struct gconn *, const char *user,
		    char *msg, size_t msglen);
/*
 * A password check for user on gc starts: it counts as a failure at
 * once, so that checks running together (many connections, one worker
 * thread) cannot all pass the limit before any has failed.
 * glimits_login_refund takes it back when the check succeeds (or was
 * never made).
 */
void		 glimits_login_started(struct gconn *, const char *user);
void		 glimits_login_refund(struct gconn *, const char *user);
/* A register for a name that exists (probing names). */
void		 glimits_name_taken(struct gconn *);
/* Before a registration from gc's address; when one starts hashing. */
bool		 glimits_register_refused(struct gconn *, char *msg,
		    size_t msglen);
void		 glimits_register_started(struct gconn *);
/* Before a lookup; before a watch that adds nnew names to gc's set. */
bool		 glimits_lookup_refused(struct gconn *, char *msg,
		    size_t msglen);
bool		 glimits_watch_refused(struct gconn *, size_t nnew, char *msg,
		    size_t msglen);
/*
 * The address to publish for gc when its heartbeat advertises adv (or
 * NULL): adv if accept_advertise allows it, else the observed source
 * address.
 */
const char	*glimits_hb_addr(struct gconn *, const char *adv);
/* Why adv may not be published for a peer observed at observed under
 * policy (enum config_advertise), or NULL. */
const char	*glimits_adv_refusal(const char *adv, const char *observed,
		    int policy);

#endif
