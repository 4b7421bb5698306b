/*
 * What the gestor allows a client, apart from the protocol itself:
 * failed logins (per user and source address, per source address, and a
 * ceiling per user), registrations per source address. Each check
 * returns false, or true with the refusal's text in msg, which the
 * caller sends as a rate_limited error.
 */
#ifndef P2P_GESTOR_LIMITS_H
#define P2P_GESTOR_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

struct gconn;
struct glimits;

struct glimits	*glimits_new(void);
void		 glimits_free(struct glimits *);
/* Before a password or key check for user on gc. */
bool		 glimits_login_refused(struct gconn *, const char *user,
		    char *msg, size_t msglen);
/* A wrong password or key for user on gc. */
void		 glimits_login_failed(struct gconn *, const char *user);
/* A register for a name that exists (probing names). */
void		 glimits_name_taken(struct gconn *);
/* Before a registration from gc's address; when one starts hashing. */
bool		 glimits_register_refused(struct gconn *, char *msg,
		    size_t msglen);
void		 glimits_register_started(struct gconn *);

#endif
