/*
 * The peer's link to the gestor: one long-lived TLS connection, found by
 * trying gestor.addresses in order (host names re-resolved with evdns on
 * every attempt), reconnecting with exponential backoff and jitter. On it
 * the account is resumed (auth), heartbeats flow, lookups and presence
 * subscriptions run. Requests queue while the link is down.
 */
#ifndef P2P_PEER_GESTOR_H
#define P2P_PEER_GESTOR_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon.h"
#include "pstore.h"
#include "wire.h"

struct pgestor;

enum pg_state {
	PG_DISCONNECTED,	/* waiting to retry */
	PG_RESOLVING,
	PG_CONNECTING,		/* TCP + TLS */
	PG_CONNECTED,		/* TLS up, gestor key checked, no account */
	PG_AUTHING,		/* auth frame in flight */
	PG_ONLINE,		/* account session live, heartbeating */
	PG_KEY_REFUSED,		/* the gestor's key is not the pinned one */
};

struct pgestor_cbs {
	/* The account session is live (after auth, login or register). */
	void	(*online)(void *arg);
	/* The link went down; it reconnects by itself. */
	void	(*offline)(void *arg);
	/* A permanent answer: the gestor no longer accepts this daemon's
	 * key for the account (pgestor_permanent). */
	void	(*session_lost)(const char *code, const char *message, void *arg);
	void	(*presence)(const struct w_presence *, void *arg);
	/* Another peer asks to meet us at the relay. */
	void	(*relay_invite)(const struct w_relay *, void *arg);
	/* Mail may wait at the gestor (online, or the pushed mbox): fetch. */
	void	(*mail)(void *arg);
};

/*
 * Called once with the gestor's reply (an "ok" frame, borrowed) or with
 * reply NULL and code/message saying why (error frame, timeout, link
 * lost).
 */
typedef void (*pg_reply_cb)(json_t *reply, const char *code,
    const char *message, void *arg);

struct pgestor	*pgestor_new(struct daemon *, struct pstore *,
		    const struct pgestor_cbs *, void *arg);
void		 pgestor_free(struct pgestor *);
/* Start connecting (again, after a logout or a reload). */
void		 pgestor_start(struct pgestor *);
/* Close cleanly and stop reconnecting (shutdown). */
void		 pgestor_stop(struct pgestor *);
/*
 * Queue a request frame (stolen). need_session: only once the account
 * session is live; else any connected link will do. Times out after
 * PG_REQUEST_TIMEOUT seconds.
 */
#define PG_REQUEST_TIMEOUT	10.0
void		 pgestor_request(struct pgestor *, json_t *frame, bool need_session,
		    pg_reply_cb, void *arg);
/* The account to resume on every connection, or NULL after logout. */
void		 pgestor_set_account(struct pgestor *, const char *user);
/* register/login succeeded on the live connection: it is now a session. */
/* reply: the gestor's answer to register or login. */
void		 pgestor_session_started(struct pgestor *, const char *user,
		    json_t *reply);
/*
 * How many deposits the gestor takes in one mbox-put (its session
 * answer's mbox_put): 0, an older gestor's, takes one blob at a time.
 */
int		 pgestor_mbox_put(struct pgestor *);
/* Drop the connection (logout) and reconnect without an account. */
void		 pgestor_reset(struct pgestor *);
/* Replace the presence subscription list (array of names, borrowed). */
void		 pgestor_watch(struct pgestor *, json_t *users);
/* Port (and advertised address, or NULL) sent in heartbeats. */
void		 pgestor_set_listen(struct pgestor *, int port, const char *addr);

/* The mail key sent with register, login and auth ("" with use "never"). */
const char	*pgestor_mail_key(struct pgestor *);

enum pg_state	 pgestor_state(const struct pgestor *);
const char	*pgestor_state_name(const struct pgestor *);
/* "host:port" in use or last tried, "" if none. */
const char	*pgestor_address(const struct pgestor *);
/* Unix seconds of the last heartbeat the gestor answered, 0 if none. */
int64_t		 pgestor_last_heartbeat(const struct pgestor *);
/* Why the link is down, or "" */
const char	*pgestor_last_error(const struct pgestor *);
/* Seconds until the next attempt to connect, or -1 if none is waiting. */
double		 pgestor_retry_in(const struct pgestor *);
/* A gestor's answer to auth that ends the account session (else it is
 * kept and retried): see the table in peer_gestor.c. */
bool		 pgestor_permanent(const char *code);

#endif
