/*
 * Gestor internals shared by gestor.c (connections and the wire protocol)
 * and gestor_ctl.c (control commands). Nothing outside gestor*.c sees it.
 */
#ifndef P2P_GESTOR_INT_H
#define P2P_GESTOR_INT_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

#include <event2/listener.h>

#include "conn.h"
#include "daemon.h"
#include "gstore.h"
#include "hashpool.h"
#include "jsonw.h"
#include "proto.h"
#include "gestor_limits.h"
#include "ratelimit.h"
#include "wire.h"

/*
 * Session and watcher hash buckets: sized for 100 000 sessions (chains
 * of one or two), 1 MiB for both tables, touched only where used.
 */
#define GESTOR_BUCKETS	65536

enum gconn_state { GC_HANDSHAKE, GC_ANON, GC_AUTHED };

struct gconn;
struct relay;

/* One user watched by one connection, in two chains. */
struct gwatch {
	char		 name[P2P_USERNAME_MAX + 1];
	struct gconn	*watcher;
	struct gwatch	*hnext;		/* chain of watchers[hash(name)] */
	struct gwatch	*cnext;		/* chain of watcher->watches */
};

struct gconn {
	TAILQ_ENTRY(gconn)	 entry;
	struct gestor		*g;
	struct conn		*c;
	enum gconn_state	 state;
	char			 fp[P2P_FP_LEN + 1];
	char			 addr[64];	/* observed source address */
	char			 user[P2P_USERNAME_MAX + 1];
	bool			 online;	/* authed and heartbeating */
	char			 pub_addr[64];	/* published address */
	int			 pub_port;
	int64_t			 last_seen;	/* unix seconds */
	int64_t			 last_stored;	/* last_seen written to the store */
	struct gconn		*hnext;		/* session table chain */
	struct gwatch		*watches;	/* what this connection watches */
	struct event		*hb_timer;
	struct hashjob		*job;		/* register/login being hashed */
	struct gstore_op	*op;		/* store request in flight */
	json_t			*req;		/* the waiting request (its "n") */
	size_t			 req_i;		/* watch: next user to read */
	struct guser		 job_user;
	bool			 replaced;	/* by a login on another gestor */
	struct rl_bucket	 lookup_bucket;	/* gestor_limits.c */
	struct rl_bucket	 watch_bucket;
	char			 mail[2 * 32 + 1];	/* the key it takes mail for */
	bool			 adv_warned;	/* refused "addr" logged */
};

struct gctlop;

/*
 * Counts since this start, for stats and the metrics. stats' sums:
 * login_failures = bad_credentials + key_mismatch; rate_limited =
 * login_limited + register_limited + hash_busy + lookups_refused +
 * watches_refused.
 */
struct gestor_stats {
	unsigned long	 registrations, logins;
	unsigned long	 bad_credentials;	/* login: no user, wrong password */
	unsigned long	 key_mismatch;		/* auth: not the account's key */
	unsigned long	 login_limited, register_limited;
	unsigned long	 hash_busy;		/* password checks queued too many */
	unsigned long	 presence_pushes;	/* presence frames to watchers */
	unsigned long	 frames_in, frames_out, connections_total;
	unsigned long	 relay_refused;	/* relay requests refused here */
	unsigned long	 relay_invites_out, relay_invites_in; /* across gestors */
	unsigned long	 lookups, lookups_refused, watched_names, watches_refused;
	unsigned long	 adv_refused;
	unsigned long	 cluster_events;	/* notifications from other gestors */
	/* the mailbox (gestor_mail.c) */
	unsigned long	 mail_deposits, mail_fetched, mail_acked, mail_withdrawn;
	unsigned long	 mail_expired;
	unsigned long	 mail_refused_quota, mail_refused_no_user;
	unsigned long	 mail_refused_no_mail, mail_refused_disabled;
	unsigned long	 mail_refused_store;
};

/*
 * A frame a peer may send: its handler and whether the connection must be
 * authenticated first. gestor.c dispatches through the table gestor_mode.c
 * gives it (indexed by enum wire_type; an empty slot: unknown_type), so
 * that it never names the handlers of the files above it.
 */
struct gframe {
	void		(*fn)(struct gconn *, struct wire_msg *);
	bool		 authed;
};

struct gestor {
	struct daemon		*d;
	struct gstore		*store;
	struct evconnlistener	*listener;
	char			 listen_addr[80];
	char			 cluster[64];	/* this gestor's name in a cluster */
	bool			 db_lost;	/* the database went away */
	TAILQ_HEAD(, gconn)	 conns;
	int			 nconns;
	int			 nonline;
	struct gconn		*sessions[GESTOR_BUCKETS];
	struct gwatch		*watchers[GESTOR_BUCKETS];
	struct glimits		*limits;
	struct hashpool		*hashpool;
	struct gestor_stats	 stats;
	TAILQ_HEAD(, gctlop)	 ctlops;	/* control requests in the store */
	struct relay		*relay;		/* NULL: relay.listen = "" */
	/* The frames a peer may send (gestor_frames, set by gestor_start). */
	const struct gframe	*frames;
	struct event		*mail_timer;	/* expiry (gestor_mail.c) */
	TAILQ_HEAD(, ghint)	 hints;		/* cluster hints being checked */
};

/* The authenticated session of user, or NULL. */
struct gconn	*gestor_session(struct gestor *, const char *user);
/* {"user","online","addr","port","last_seen","fingerprint"} for a user. */
json_t		*gestor_user_json(struct gestor *, const struct guser *);
/* Does an authenticated session here watch user? */
bool		 gestor_watched(struct gestor *, const char *user);
/* Send presence frame p to every authenticated watcher of user. */
void		 gestor_watchers_send(struct gestor *, const char *user,
		    const json_t *p);
/* gestor.c: the listener's callback (a new connection). */
void		 gestor_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
/* Re-arm every session's heartbeat timer (reload). */
void		 gestor_conns_reload(struct gestor *);
/* Close gc from our side (log why). */
void		 gestor_drop(struct gconn *, const char *why);
/* Tell gc's peer that its session was replaced, and close it. */
void		 gestor_replace(struct gconn *, const char *why);
/* {"t":"presence",...} for user u as this gestor sees it now. */
json_t		*gestor_presence_frame(struct gestor *, const struct guser *);
/* gestor_cluster.c: the store's callbacks (struct gstore_opts). */
void		 gestor_cluster_free(struct gestor *);
void		 gestor_cluster_notify(const json_t *, void *);
void		 gestor_cluster_state(enum gstore_state, void *);
json_t		*gestor_cluster_sessions(void *);
/* cluster.name, else this host's name and the listening port. */
void		 gestor_cluster_name(const struct config *, char *, size_t);
/* Answer control requests still waiting for the store (shutdown). */
void		 gestor_ctl_abort(struct gestor *);

/* gestor_reply.c: a request waiting for the store (gc's frames wait) */
void		 gestor_req_start(struct gconn *, struct wire_msg *);
void		 gestor_req_end(struct gconn *);
/* Send o (stolen) with req's "n" (if req has one). */
void		 gestor_reply(struct gconn *, json_t *req, json_t *o);
/* {"t":"ok",...extra} echoing the request's "n"; extra is stolen. */
void		 gestor_reply_ok(struct gconn *, json_t *req, json_t *extra);
void		 gestor_reply_err(struct gconn *, json_t *req, const char *code,
		    const char *msg);
/* A store failure: "unavailable" when the database cannot be reached. */
void		 gestor_reply_store_err(struct gconn *, json_t *req,
		    enum gstore_rc, const char *what);
/* A hot reply printed with jsonw: opened with "t" and "n", then sent. */
void		 gestor_reply_open(struct jsonw *, json_t *req);
void		 gestor_reply_send(struct gconn *, struct jsonw *);

/* gestor.c: what the frame handlers share */
unsigned	 gestor_bucket(const char *);
int64_t		 gestor_now(void);
/* The fields of gestor_user_json(), printed into w. */
void		 gestor_user_write(struct jsonw *, struct gestor *,
		    const struct guser *);
/* Tell everyone watching u->name about its presence now. */
void		 gestor_notify_watchers(struct gestor *, const struct guser *);
/* The session's user as the store and the watchers see it now. */
void		 gestor_session_user(struct gconn *, struct guser *);
/* Record the session's presence (fire-and-forget), maybe tell watchers. */
void		 gestor_store_seen(struct gconn *, enum gstore_presence, bool tell);
void		 gestor_watches_clear(struct gconn *);
/* gc is now user's session; an older session of the user is closed. */
/* mail: the key the store has for user ("" none, or a new account). */
void		 gestor_bind_session(struct gconn *, const char *user,
		    const char *mail);
void		 gestor_arm_hb_timer(struct gconn *);

/* gestor_auth.c: register, login, auth */
void		 gestor_on_register(struct gconn *, struct wire_msg *);
void		 gestor_on_login(struct gconn *, struct wire_msg *);
void		 gestor_on_auth(struct gconn *, struct wire_msg *);
/* gestor_presence.c: heartbeat, lookup, watch */
void		 gestor_on_hb(struct gconn *, struct wire_msg *);
void		 gestor_on_lookup(struct gconn *, struct wire_msg *);
void		 gestor_on_watch(struct gconn *, struct wire_msg *);

/* gestor_relay.c: the `relay` frame. */
void		 gestor_relay_request(struct gconn *, struct wire_msg *);
/* A relay-invite notification from another gestor of the cluster. */
void		 gestor_relay_notified(struct gestor *, const json_t *,
		    const char *origin);
/* Add the relay_* counters to a stats result. */
void		 gestor_relay_stats(struct gestor *, json_t *);

/* gestor_mail.c: the mailbox's frames (mbox-put, -get, -ack, -withdraw,
 * -count). */
void		 gestor_mail_frame(struct gconn *, struct wire_msg *);
/* gestor_mail_put.c: mbox-put with blobs (several deposits at once). */
void		 gestor_mail_put_many(struct gconn *, struct wire_msg *);
/* Mail for to was stored: push to its session here, or tell the cluster. */
void		 gestor_mail_arrived(struct gestor *, const char *to);
/* Push an mbox to to's session here; false if it is not here. */
bool		 gestor_mail_push(struct gestor *, const char *to);
/* Another gestor of the cluster stored mail for user: push if here. */
void		 gestor_mail_notified(struct gestor *, const char *user);
/* The expiry timer. */
int		 gestor_mail_start(struct gestor *);
void		 gestor_mail_stop(struct gestor *);
/* Add the mail_* counters and what mailboxes hold (held < 0: unknown). */
void		 gestor_mail_stats(struct gestor *, json_t *, long held,
		    long long bytes);

#endif
