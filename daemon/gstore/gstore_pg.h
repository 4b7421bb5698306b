/*
 * Between the files of the gestor's store on PostgreSQL. Nothing else
 * includes it. They are in layers, each calling only the ones below:
 *
 *   gstore_pg.c           the backend (struct gstore_be): open, close,
 *                         start, the timer; on_io routes what a
 *                         connection reads
 *   gstore_pg_cluster.c   the listener's work: lease, reap, reconcile,
 *                         notifications received and sent, goodbye
 *   gstore_pg_seen.c      heartbeat refreshes gathered into one statement
 *   gstore_pg_pipe.c      the workers' queues and pipelines
 *   gstore_pg_conn.c      the connections: connect, set-up, send, errors,
 *                         reconnect with backoff, timers
 *   gstore_pg_seal.c      the notifications' seal (HMAC, replays)
 *   gstore_pg_sql.c       the statements with their parameters and
 *                         results: users, presence, the cluster
 *   gstore_pg_mail.c      the same for the mailbox
 *   gstore_pg_stmt.c      a statement's parameters and prepared name,
 *                         a result's columns read
 *   gstore_pg_schema.c    the schema and its migrations
 */
#ifndef P2P_GSTORE_PG_H
#define P2P_GSTORE_PG_H

#include "pqdl.h"

#include "gstore_int.h"

/* The LISTEN/NOTIFY channel every gestor of a cluster shares. */
#define GPG_CHANNEL	"p2pchat"
/* Notification payloads are at most this long (PostgreSQL: < 8000). */
#define GPG_PAYLOAD_MAX	7900

/*
 * Notifications are authenticated: "MAC JSON", the MAC an HMAC-SHA256 of
 * the JSON text under the cluster's key (hex), the JSON carrying its
 * sender ("origin"), a per-sender counter ("n": the sender's start time
 * in microseconds plus one per notification) and its wall-clock time
 * ("ts"). A receiver drops a notification whose MAC is wrong, whose ts is
 * more than GPG_SKEW s away, or whose n it saw or that is more than
 * GPG_WINDOW behind the highest it saw from that sender.
 */
#define GPG_KEY_LEN		32
#define GPG_MAC_HEX		64
#define GPG_SKEW		60
#define GPG_WINDOW		1024
#define GPG_ORIGINS		64	/* senders remembered */

/* What a receiver remembers of a sender: its highest n, those seen. */
struct gpg_origin {
	char			 name[64];
	uint64_t		 top;
	uint64_t		 seen[GPG_WINDOW / 64];	/* bit n % GPG_WINDOW */
	double			 used;
};

#define GPG_WORKERS		4
#define GPG_PIPELINE		64	/* statements in flight per worker */

enum gpc_state { GPC_DOWN, GPC_CONNECTING, GPC_IDLE, GPC_BUSY };
enum gpc_job { GJ_NONE, GJ_OP, GJ_SETUP, GJ_RENEW, GJ_REAP, GJ_RECONCILE };

struct gpconn {
	struct gpg		*pg;
	const char		*name;		/* for the log */
	PGconn			*conn;
	enum gpc_state		 state;
	int			 fd;
	short			 what;		/* events ev waits for */
	struct event		*ev;
	double			 at;		/* connect start, retry time */
	double			 backoff;
	bool			 ever_up;
	bool			 warned;	/* failure logged once */
	bool			 reset;		/* drop after this statement */
	enum gpc_job		 job;
	double			 job_deadline;
	struct gstore_op	*op;		/* GJ_OP */
	enum gstore_rc		 rc;
	int			 version;	/* GJ_SETUP: the server's */
	TAILQ_HEAD(, gstore_op)	 queue;
	/* Workers: statements sent in pipeline mode, awaiting results. */
	bool			 pipeline;
	TAILQ_HEAD(, gstore_op)	 inflight;
	int			 ninflight, syncs;
};

/* A growing text (gstore_pg_seen.c). */
struct gpg_buf {
	char			*p;
	size_t			 len, cap;
};

struct gpg {
	struct gstore		*gs;
	const struct gstore_front *front;
	struct event_base	*base;
	/* What a connection's socket event calls (gstore_pg.c's on_io). */
	event_callback_fn	 on_io;
	char			*conninfo;
	char			 self[64];
	double			 ttl, interval, timeout;
	struct gpconn		 listener;
	struct gpconn		 workers[GPG_WORKERS];
	struct event		*tick;
	double			 next_renew;
	bool			 up, reconcile_due, ever_up;
	/* Unreachable at start: the first connection up migrates. */
	bool			 need_migrate;
	enum gstore_state	 state;
	int64_t			 since;
	unsigned long		 errors, reconnects, timeouts;
	char			 detail[256];
	/* The cluster's key (p2pchat_cluster_key), once the listener read it. */
	unsigned char		 key[GPG_KEY_LEN];
	bool			 have_key;
	bool			 key_fixed;	/* from cluster.key_file */
	uint64_t		 seq;		/* n of the last notification sent */
	struct gpg_origin	 origins[GPG_ORIGINS];
	unsigned long		 refused;	/* notifications dropped */
	double			 refused_logged;	/* util_mono() of the last line */
	void			(*on_notify)(const json_t *, void *);
	void			(*on_state)(enum gstore_state, void *);
	json_t			*(*sessions)(void *);
	void			*arg;
	/* Heartbeat refreshes gathered: text[] and bigint[] literals. */
	struct gpg_buf		 seen_names, seen_times;
	int			 nseen;
	double			 seen_since;	/* util_mono() of the first */
};

/* One statement with its text parameters (values[i] may be NULL). */
struct gpg_stmt {
	const char	*sql;
	const char	*name;		/* prepared on the workers, or NULL */
	int		 n;
	const char	*values[10];
	char		 buf[10][32];	/* numbers formatted for values[] */
};

/* A statement the workers prepare at set-up, and its name there. */
struct gpg_prep {
	const char	*name;
	const char	*sql;
};

/*
 * Open-time work on a blocking connection, before the loop runs: check
 * the server's schema version, migrate it (under an advisory lock, so
 * gestors starting together migrate once), refuse a newer one. 0 or -1
 * with *cause.
 */
int	gpg_migrate(PGconn *, char **cause);		/* gstore_pg_schema.c */
/* The listener's set-up: LISTEN, the schema version, the cluster's key. */
#define GPG_LISTENER_SETUP \
	"LISTEN " GPG_CHANNEL "; SELECT coalesce(max(version), 0) FROM " \
	"p2pchat_schema; SELECT key FROM p2pchat_cluster_key WHERE id = 1"
/* The schema version this gestor knows. */
int	gpg_schema_version(void);

/*
 * A worker's set-up: the schema version (one row), then PREPARE of every
 * statement the workers run, so that PostgreSQL parses and plans each once
 * per connection (parse, analysis and planning were half of its CPU under
 * the cluster benchmark). One simple-protocol string, built once.
 */
const char *gpg_worker_setup_sql(void);
/* The statement that runs op (self: this gestor's cluster name). */
void	gpg_op_stmt(const struct gstore_op *, const char *self, double ttl,
	    struct gpg_stmt *);
/* Fold one result of op's statement into op: the rc it completes with. */
enum gstore_rc gpg_op_result(struct gstore_op *, PGresult *);
/* Deliver the rows a listing kept in op->priv; free them. */
void	gpg_rows(struct gstore_op *);
void	gpg_rows_free(struct gstore_op *);

/* gstore_pg_mail.c: the mailbox's operations (gpg_op_stmt and the rest
 * hand them over) and the statements to prepare for them. */
extern const struct gpg_prep gpg_mail_prepared[];
extern const size_t gpg_mail_nprepared;
void	gpg_mail_stmt(const struct gstore_op *, struct gpg_stmt *);
enum gstore_rc gpg_mail_result(struct gstore_op *, PGresult *);
void	gpg_mail_rows(struct gstore_op *);

/* gstore_pg_stmt.c: building a statement, reading a result. */
void	gpg_stmt_init(struct gpg_stmt *, const char *sql);
/* sql, prepared under the name tab[0..n) gives it (else unprepared). */
void	gpg_stmt_prepared(struct gpg_stmt *, const struct gpg_prep *tab,
	    size_t n, const char *sql);
void	gpg_stmt_str(struct gpg_stmt *, const char *);
void	gpg_stmt_num(struct gpg_stmt *, int64_t);
void	gpg_stmt_dbl(struct gpg_stmt *, double);
/* Column c of row r into dst[size]; -1 if NULL or too long. */
int	gpg_col_copy(PGresult *, int r, int c, char *dst, size_t size);
/* One row of one column, as a number; -1 if the result is not that. */
long long gpg_one_num(PGresult *, int col);

/* Many users' last_seen: payload from gpg_seen_take. */
void	gpg_seen_stmt(const char *payload, struct gpg_stmt *);
/* Lease + presence renewal; the reap of lapsed gestors; reconcile. */
void	gpg_renew_stmt(const char *self, double ttl, struct gpg_stmt *);
void	gpg_reap_stmt(const char *self, struct gpg_stmt *);
/* sessions: a JSON array text of {name,addr,port,last_seen}. */
void	gpg_reconcile_stmt(const char *self, double ttl, const char *sessions,
	    struct gpg_stmt *);
/* payloads: a JSON array of sealed notifications (text). */
void	gpg_notify_stmt(const char *payloads, struct gpg_stmt *);
void	gpg_bye_stmt(const char *self, struct gpg_stmt *);

/* gstore_pg.c */
void	gpg_start(void *, struct gstore_op *);

/* gstore_pg_cluster.c: the listener's work. */
void	gpg_lease_tick(struct gpg *, double now);
void	gpg_reconcile_result(struct gpconn *, PGresult *);
void	gpg_reap_result(struct gpconn *, PGresult *);
void	gpc_notifies(struct gpconn *);
void	gpg_bye(struct gpg *);
void	gpg_notify(void *, const json_t *);
/* Send the hints in a (a JSON array of objects, stolen) to the others. */
void	gpg_hints_send(struct gpg *, json_t *a);

/* gstore_pg_seen.c: heartbeat refreshes gathered into one statement. */
void	gpg_seen_add(struct gpg *, const struct guser *);
char	*gpg_seen_take(struct gpg *);
void	gpg_seen_tick(struct gpg *, double now);
void	gpg_seen_free(struct gpg *);

/* gstore_pg_pipe.c: the workers' queues and pipelines. */
/* Queue op on its user's worker and send it when the worker can. */
void	gpc_enqueue(struct gpg *, struct gstore_op *);
/* Send what waits on c (after a statement or a set-up ends). */
void	gpc_dispatch(struct gpconn *);
void	gpc_pipe_dispatch(struct gpconn *);
void	gpc_pipe_results(struct gpconn *);

/* gstore_pg_conn.c: the connections. */
void	gpc_init(struct gpg *, struct gpconn *, const char *name);
void	gpc_free(struct gpconn *);
void	gpc_connect(struct gpconn *);
/* PQconnectPoll's next step (the socket is ready). */
void	gpc_connect_step(struct gpconn *);
void	gpc_down(struct gpconn *, const char *why);
void	gpc_watch(struct gpconn *, short what);
void	gpc_log_error(struct gpconn *, PGresult *);
void	gpc_send(struct gpconn *, enum gpc_job, const struct gpg_stmt *);
/* One result of the set-up statement; the set-up has all of them. */
void	gpc_setup_result(struct gpconn *, PGresult *);
void	gpc_setup_done(struct gpconn *);
/* Deadlines, connects and retries of c (every GPG_TICK). */
void	gpc_tick(struct gpconn *, double now);
/* libpq's notices, for the debug log (PQsetNoticeProcessor). */
void	gpc_on_notice(void *, const char *);
/* A libpq message without its trailing newline, into buf. */
const char *gpg_pq_msg(const char *m, char *buf, size_t len);

/* gstore_pg_seal.c: the notifications' seal. */
/*
 * Seal a notification (an object with "t"): origin, n and ts are set in
 * it; "MAC JSON" (caller frees), or NULL without a key, if too long or
 * if the MAC cannot be computed.
 */
char	*gpg_seal(struct gpg *, json_t *);
/* A JSON array of sealed payloads for the notify statement (a: objects). */
char	*gpg_seal_all(struct gpg *, json_t *a);
/* The notification in payload if it is sealed, fresh and new; else NULL. */
json_t	*gpg_unseal(struct gpg *, const char *payload);
/* Before a worker sends op: its notifications sealed now (op->priv). */
void	gpg_seal_op(struct gpg *, struct gstore_op *);
/*
 * cluster.key_file: a secret every gestor of the cluster has the same
 * copy of; the key is its SHA-256. 0: path NULL or ""; 1: key set; -1
 * with *cause (unreadable, too short, or open to group or others).
 */
int	gpg_key_file(const char *path, unsigned char key[GPG_KEY_LEN],
	    char **cause);
/* The listener's set-up read the cluster's key (64 hex digits). */
void	gpg_key_result(struct gpg *, PGresult *);

#endif
