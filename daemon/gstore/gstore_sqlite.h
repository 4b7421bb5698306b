/*
 * Between the files of the gestor's SQLite store: gstore_sqlite.c (the
 * database: open, close, statements, users, presence batching),
 * gstore_sqlite_mail.c (the mailbox), gstore_sqlite_be.c (the backend
 * that runs each operation on them); its WAL is checkpointed off the
 * event loop (core/sqlckpt.c). Nothing else includes this.
 */
#ifndef P2P_GSTORE_SQLITE_H
#define P2P_GSTORE_SQLITE_H

#include <stdbool.h>

#include <sqlite3.h>

#include "gstore_int.h"
#include "sqlckpt.h"

enum gstore_stmt {
	GS_USER_ADD,
	GS_USER_GET,
	GS_USER_SET_KEY,
	GS_KEY_TAKEN,
	GS_USER_SEEN,
	GS_USER_LIST,
	GS_USER_COUNT,
	GS_USER_SET_MAIL,
	GS_MAIL_QUOTA,
	GS_MAIL_PUT,
	GS_MAIL_DKEY,
	GS_MAIL_FETCH,
	GS_MAIL_ACK,
	GS_MAIL_WITHDRAW,
	GS_MAIL_EXPIRE,
	GS_MAIL_COUNT,
	GS_SYNC_SOFT,
	GS_SYNC_DURABLE,
	GS_BEGIN,
	GS_COMMIT,
	GS_ROLLBACK,
	GS_MAX
};

struct gsqlite {
	sqlite3		*db;
	sqlite3_stmt	*stmt[GS_MAX];
	bool		 sync_full;
	struct sqlckpt	*ck;		/* the WAL's checkpointer thread */
	/* Presence writes waiting for their transaction, in order. */
	TAILQ_HEAD(, gstore_op)	 seen;
	int		 nseen;
	int		 nhard;		/* of them online/offline, not refreshes */
	struct event	*seen_ev;
};

/* gstore_sqlite.c */
struct gsqlite *sq_open(struct event_base *, const char *path, bool sync_full,
	    char **cause);
void	sq_close(struct gsqlite *);
sqlite3_stmt *gstore_stmt(struct gsqlite *, enum gstore_stmt);
/* The columns of GSTORE_USER_COLS in st into u. */
int	gstore_row(sqlite3_stmt *, struct guser *);
/* Step an update of one user: its rc (NOTFOUND when no row changed). */
enum gstore_rc gstore_update(struct gsqlite *, sqlite3_stmt *, const char *func);
/* Write the presence writes that wait, in one transaction. */
void	sq_seen_flush(struct gsqlite *);
/* A presence write: batched. */
void	sq_seen_queue(struct gsqlite *, struct gstore_op *);
/* Does an online or offline of name wait? */
bool	sq_seen_hard(struct gsqlite *, const char *name);
enum gstore_rc sq_user_add(struct gsqlite *, const struct guser *);
enum gstore_rc sq_user_get(struct gsqlite *, const char *name, struct guser *);
enum gstore_rc sq_user_set_key(struct gsqlite *, const char *name,
	    const char *fingerprint);
enum gstore_rc sq_user_foreach(struct gsqlite *, gstore_row_cb, void *);
long	sq_user_count(struct gsqlite *);

/* gstore_sqlite_mail.c */
enum gstore_rc sq_user_set_mail(struct gsqlite *, const char *name,
	    const char *mail);
enum gstore_rc sq_mail_put(struct gsqlite *, struct gmail *,
	    const struct gmail_limits *);
enum gstore_rc sq_mail_put_many(struct gsqlite *, struct gstore_op *);
/* Run one of the prepared control statements; false if it failed. */
bool	sq_exec(struct gsqlite *, enum gstore_stmt);
enum gstore_rc sq_mail_withdraw(struct gsqlite *, const char *from,
	    int64_t id);
/* ids: a JSON array of ids */
enum gstore_rc sq_mail_ack(struct gsqlite *, const char *to, const char *ids);
enum gstore_rc sq_mail_expire(struct gsqlite *, int64_t now, long *n);
enum gstore_rc sq_mail_count(struct gsqlite *, struct gstore_op *);
/* A fetch's rows, stepped at delivery. */
enum gstore_rc sq_mail_rows(struct gsqlite *, struct gstore_op *);

#endif
