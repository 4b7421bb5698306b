/*
 * The gestor's store interface: users, their password hashes, keys, last
 * known addresses and presence. Gestor code reaches its data only through
 * these calls and never sees SQL; gstore_sqlite.c is the embedded
 * backend, gstore_pg.c (several gestors on one PostgreSQL) the other.
 *
 * Every call is asynchronous. It returns at once and later calls its
 * completion callback exactly once, from the event loop, never from
 * inside the call itself (both backends: SQLite runs the statement at
 * once and delivers the result on the next loop turn; PostgreSQL when the
 * server answers or the request's bounded wait runs out, GSTORE_UNAVAILABLE).
 * A call with a callback returns a handle; gstore_op_cancel() before the
 * callback has run means it never runs (use it when the thing the
 * argument points at goes away, e.g. a connection that closed). After the
 * callback has run the handle is gone: clear it in the callback. A call
 * with a NULL callback is fire-and-forget and returns NULL.
 * Results (struct guser) are only valid during the callback.
 */
#ifndef P2P_GSTORE_H
#define P2P_GSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "passwd.h"
#include "proto.h"

struct gstore;
struct metrics_hist;
struct gstore_op;

struct guser {
	char	 name[P2P_USERNAME_MAX + 1];
	char	 hash[PASSWD_HASH_MAX];
	char	 fingerprint[P2P_FP_LEN + 1];
	int64_t	 created;	/* unix seconds */
	int64_t	 last_seen;	/* unix seconds, 0 = never */
	char	 addr[64];	/* last address, "" if none */
	int	 port;
	/*
	 * Online through another gestor of the cluster (addr/port are then
	 * its current address). Always false on SQLite: a gestor knows its
	 * own sessions itself.
	 */
	bool	 online;
	/*
	 * The Ed25519 key mail is sealed for (64 hex digits, its peer says
	 * so at login), or "": accepts no mail.
	 */
	char	 mail[2 * 32 + 1];
};

/*
 * One deposit in the mailbox (DESIGN.md "Mailbox"): a blob sealed for the
 * recipient, which the gestor cannot read, and the header it needs.
 */
struct gmail {
	int64_t		 id;		/* the store's, > 0, never reused */
	char		 from[P2P_USERNAME_MAX + 1];
	char		 to[P2P_USERNAME_MAX + 1];
	int64_t		 ts;		/* unix ms of the deposit */
	int64_t		 expires;	/* unix ms */
	long		 size;		/* bytes of the blob (decoded) */
	const char	*blob;		/* base64; valid during the callback */
};

/* A recipient's mailbox holds at most this much (0: no limit). */
struct gmail_limits {
	long		 messages;
	long long	 bytes;
	long		 per_sender;	/* messages from one sender */
};

/*
 * GSTORE_KEY_TAKEN: user_add or user_set_key with a fingerprint another
 * account already has (one key, one account: nothing was written).
 */
enum gstore_rc { GSTORE_OK = 0, GSTORE_NOTFOUND = 1, GSTORE_EXISTS = 2,
    GSTORE_KEY_TAKEN = 3,
    /* mail_put refused (nothing written): */
    GSTORE_NO_MAIL = 4,			/* the recipient accepts none */
    GSTORE_QUOTA_MESSAGES = 5,		/* its mailbox is full */
    GSTORE_QUOTA_BYTES = 6,
    GSTORE_QUOTA_SENDER = 7,		/* full of this sender's */
    GSTORE_ERR = -1, GSTORE_UNAVAILABLE = -2 };

/* What a session of this gestor did, for presence (gstore_presence). */
enum gstore_presence {
	GSTORE_ONLINE,		/* came online, or moved to addr:port */
	/*
	 * A heartbeat's last_seen refresh: both backends gather these for
	 * up to a second and write them together (SQLite: one transaction,
	 * delivered after it; PostgreSQL: one statement, acknowledged when
	 * gathered). A clean close writes them; a crash loses at most that
	 * second of refreshes.
	 */
	GSTORE_SEEN,
	GSTORE_OFFLINE,		/* went offline (if this gestor still owns it) */
};

/* Database state, for status and for the gestor to reconcile. */
enum gstore_state { GSTORE_UP, GSTORE_CONNECTING, GSTORE_DOWN };

struct gstore_opts {
	struct event_base	*base;
	const char		*backend;	/* "sqlite" or "postgresql" */
	const char		*path;		/* sqlite: data_dir/gestor.db */
	bool			 sync_full;
	const char		*conninfo;	/* postgresql: libpq conninfo */
	const char		*cluster;	/* this gestor's name */
	/*
	 * postgresql: a file holding the secret notifications are sealed
	 * with (cluster.key_file), or NULL or "": the key in the database.
	 */
	const char		*cluster_key_file;
	double			 hb_interval;	/* presence renewal period */
	double			 hb_timeout;	/* lease and presence expiry */
	double			 request_timeout; /* bounded wait per request */
	/*
	 * A notification from another gestor of the cluster (borrowed),
	 * verified (sealed with the cluster's key, not replayed): a JSON
	 * object with a string "t" (its type: "presence", "session",
	 * "relay-invite", or any type a later release adds) and a string
	 * "origin" (the sending gestor). A hint: check it against the rows.
	 * Never called on SQLite.
	 */
	void			(*on_notify)(const json_t *, void *);
	/* The database went up or down (up: listening again, reconcile). */
	void			(*on_state)(enum gstore_state, void *);
	/*
	 * This gestor's online sessions, for the reconcile after a
	 * reconnect: a new JSON array of {name,addr,port,last_seen}.
	 */
	json_t			*(*sessions)(void *);
	void			*arg;
};

/* Counters and state for status and stats. */
struct gstore_info {
	const char		*backend;
	enum gstore_state	 state;
	int64_t			 since;		/* unix seconds of the last change */
	unsigned long		 errors, reconnects, timeouts;
	unsigned long		 refused;	/* notifications dropped */
	const char		*detail;	/* last error, "" if none */
	const char		*cluster;	/* this gestor's name, or "" */
	/* Seconds from asking to the answer, every operation (metrics). */
	const struct metrics_hist *latency;
};

typedef void (*gstore_done_cb)(enum gstore_rc, void *arg);
typedef void (*gstore_user_cb)(enum gstore_rc, const struct guser *, void *arg);
typedef void (*gstore_count_cb)(enum gstore_rc, long n, void *arg);
/* One user of a listing; return -1 to stop early. */
typedef int (*gstore_row_cb)(const struct guser *, void *arg);
/* A deposit's id (mail_put) */
typedef void (*gstore_mail_cb)(enum gstore_rc, int64_t id, void *arg);
/*
 * Several deposits' fates (mail_put_many), in order: an id (> 0), or the
 * refusal (a GSTORE_* code, negated).
 */
typedef void (*gstore_mail_many_cb)(enum gstore_rc, const int64_t *res,
    size_t n, void *arg);
/* One deposit of a fetch; return -1 to stop early. */
typedef int (*gstore_mail_row_cb)(const struct gmail *, void *arg);
/* What mailboxes hold (mail_count). */
typedef void (*gstore_mail_count_cb)(enum gstore_rc, long n, long long bytes,
    void *arg);

/*
 * Open the backend (SQLite: create/migrate the file; PostgreSQL: check
 * the schema once, then stay connected on the loop). NULL with *cause.
 */
struct gstore	*gstore_open(const struct gstore_opts *, char **cause);
/* Pending callbacks are never called. Not from inside a callback. */
void		 gstore_close(struct gstore *);
void		 gstore_op_cancel(struct gstore_op *);
void		 gstore_info(struct gstore *, struct gstore_info *);

struct gstore_op *gstore_user_add(struct gstore *, const struct guser *,
		    gstore_done_cb, void *);
struct gstore_op *gstore_user_get(struct gstore *, const char *name,
		    gstore_user_cb, void *);
struct gstore_op *gstore_user_set_key(struct gstore *, const char *name,
		    const char *fingerprint, gstore_done_cb, void *);
/* Presence of a session of this gestor: u's name, addr, port, last_seen. */
struct gstore_op *gstore_presence(struct gstore *, enum gstore_presence,
		    const struct guser *, gstore_done_cb, void *);
/* Every user in name order through row, then done. */
struct gstore_op *gstore_user_foreach(struct gstore *, gstore_row_cb row,
		    gstore_done_cb done, void *);
struct gstore_op *gstore_user_count(struct gstore *, gstore_count_cb, void *);
/* The key name accepts mail for ("": none; gstore_user_get's mail). */
struct gstore_op *gstore_user_set_mail(struct gstore *, const char *name,
		    const char *key, gstore_done_cb, void *);

/*
 * The mailbox. mail_put stores m (from, to, ts, expires, size, blob) if
 * m->to exists and accepts mail and its mailbox stays within lim; the
 * callback gets the deposit's id, or a refusal (GSTORE_NOTFOUND: no such
 * user, GSTORE_NO_MAIL, GSTORE_QUOTA_*). With several gestors the limits
 * are checked by each deposit's own statement: two at once may pass both.
 */
struct gstore_op *gstore_mail_put(struct gstore *, const struct gmail *m,
		    const struct gmail_limits *lim, gstore_mail_cb, void *);
/*
 * n deposits from m->from for m->to (ts, expires from m) in one
 * transaction, in order. blobs: a JSON array of n objects {blob (base64),
 * size (its bytes), key (the sender's dedup key, an integer, or null)}.
 * A key the sender already has a deposit under answers that deposit's id
 * and stores nothing (a put again after a lost answer); else each is
 * checked as mail_put's, and the first refusal refuses every later new
 * one with it, so a mailbox never holds a later deposit without an
 * earlier one. GSTORE_OK with every result, or an error and nothing.
 */
#define GSTORE_MAIL_PUT_MAX	64
struct gstore_op *gstore_mail_put_many(struct gstore *, const struct gmail *m,
		    const char *blobs, size_t n, const struct gmail_limits *lim,
		    gstore_mail_many_cb, void *);
/* Up to limit deposits for to with ids above after, oldest first. */
struct gstore_op *gstore_mail_fetch(struct gstore *, const char *to,
		    int64_t after, int limit, gstore_mail_row_cb row,
		    gstore_done_cb done, void *);
/*
 * to received deposits ids[0..n-1] (n <= GSTORE_MAIL_ACK_MAX): deleted,
 * in one statement (GSTORE_NOTFOUND: none was to's, or all were gone).
 */
#define GSTORE_MAIL_ACK_MAX	1024
struct gstore_op *gstore_mail_ack(struct gstore *, const char *to,
		    const int64_t *ids, size_t n, gstore_done_cb, void *);
/* from takes its deposit id back (GSTORE_NOTFOUND: fetched and acked). */
struct gstore_op *gstore_mail_withdraw(struct gstore *, const char *from,
		    int64_t id, gstore_done_cb, void *);
/* Delete deposits expired at now (unix ms): how many. */
struct gstore_op *gstore_mail_expire(struct gstore *, int64_t now,
		    gstore_count_cb, void *);
/* Deposits held and their bytes: for to, or every mailbox if to is NULL. */
struct gstore_op *gstore_mail_count(struct gstore *, const char *to,
		    gstore_mail_count_cb, void *);

/*
 * Send a notification to the other gestors of the cluster: a JSON object
 * with a string "t" (borrowed; "origin" is added). Fire-and-forget; a
 * no-op on SQLite, where there is no other gestor.
 */
void		 gstore_notify(struct gstore *, const json_t *);

#endif
