/*
 * Between gstore_pg.c (connections on the event loop, queues, timers,
 * notifications) and gstore_pg_sql.c (the schema, its migrations and the
 * statements with their parameters and results). Nothing else includes it.
 */
#ifndef P2P_GSTORE_PG_H
#define P2P_GSTORE_PG_H

#include <libpq-fe.h>

#include "gstore_int.h"

/* The LISTEN/NOTIFY channel every gestor of a cluster shares. */
#define GPG_CHANNEL	"p2pchat"
/* Notification payloads are at most this long (PostgreSQL: < 8000). */
#define GPG_PAYLOAD_MAX	7900

/* One statement with its text parameters (values[i] may be NULL). */
struct gpg_stmt {
	const char	*sql;
	int		 n;
	const char	*values[8];
	char		 buf[8][32];	/* numbers formatted for values[] */
};

/*
 * Open-time work on a blocking connection, before the loop runs: check
 * the server's schema version, migrate it (under an advisory lock, so
 * gestors starting together migrate once), refuse a newer one. 0 or -1
 * with *cause.
 */
int	gpg_migrate(PGconn *, char **cause);
/* The schema version this gestor knows. */
int	gpg_schema_version(void);

/* The statement that runs op (self: this gestor's cluster name). */
void	gpg_op_stmt(const struct gstore_op *, const char *self, double ttl,
	    struct gpg_stmt *);
/* Fold one result of op's statement into op: the rc it completes with. */
enum gstore_rc gpg_op_result(struct gstore_op *, PGresult *);
/* Deliver the rows a listing kept in op->priv; free them. */
void	gpg_rows(struct gstore_op *);
void	gpg_rows_free(struct gstore_op *);

/* Lease + presence renewal; the reap of lapsed gestors; reconcile. */
void	gpg_renew_stmt(const char *self, double ttl, bool seen, int64_t now,
	    struct gpg_stmt *);
void	gpg_reap_stmt(const char *self, struct gpg_stmt *);
/* sessions: a JSON array text of {name,addr,port,last_seen}. */
void	gpg_reconcile_stmt(const char *self, double ttl, const char *sessions,
	    struct gpg_stmt *);
void	gpg_notify_stmt(const char *payload, struct gpg_stmt *);
void	gpg_bye_stmt(const char *self, struct gpg_stmt *);

#endif
