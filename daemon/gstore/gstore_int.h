/*
 * Between gstore.c (the asynchronous front: operations, their delivery
 * on a later loop turn, cancellation) and the backends that run them
 * (gstore_sqlite.c, gstore_pg.c). Nothing else includes this.
 */
#ifndef P2P_GSTORE_INT_H
#define P2P_GSTORE_INT_H

#include <sys/queue.h>

#include "gstore.h"

enum gstore_kind { GOP_ADD, GOP_GET, GOP_SET_KEY, GOP_PRESENCE, GOP_FOREACH,
    GOP_COUNT, GOP_SET_MAIL,
    GOP_MAIL_PUT, GOP_MAIL_FETCH, GOP_MAIL_ACK, GOP_MAIL_WITHDRAW,
    GOP_MAIL_EXPIRE, GOP_MAIL_COUNT, GOP_MAIL_PUT_MANY,
    GOP_NOTIFY,		/* backend-internal: priv is the payload */
    GOP_SEEN_MANY };	/* backend-internal: heartbeat refreshes in priv */

/*
 * How a backend hands an operation back to the front, given to its open()
 * and kept in every operation: the backends never name a function of
 * gstore.c, which is above them.
 */
struct gstore_front {
	/* The backend is done with op: deliver it on the next loop turn. */
	void	(*done)(struct gstore_op *, enum gstore_rc);
	/* Free an op without delivering it (backend shutdown). */
	void	(*free)(struct gstore_op *);
};

struct gstore_op {
	TAILQ_ENTRY(gstore_op)	 entry;		/* done queue, or a backend's */
	const struct gstore_front *front;	/* an op a backend makes: its own */
	struct gstore		*gs;
	enum gstore_kind	 kind;
	enum gstore_presence	 presence;
	union {
		gstore_done_cb	 done;
		gstore_user_cb	 user;
		gstore_count_cb	 count;
		gstore_mail_cb	 mail;
		gstore_mail_count_cb mail_count;
		gstore_mail_many_cb mail_many;
	} cb;
	gstore_row_cb		 row;
	gstore_mail_row_cb	 mail_row;
	void			*arg;
	bool			 cancelled;
	bool			 delivered;	/* in the done queue */
	/* In: the user (add), its name (get, set_key: + fingerprint). */
	struct guser		 u;
	/*
	 * Mail: the deposit (put: blob is op's own copy; fetch: to, and id
	 * the one to start after; ack: to, and blob the ids as a JSON array;
	 * withdraw: id and from; put_many: to, from, ts, expires, and blob
	 * the deposits as a JSON array of {blob, size, key}, limit of
	 * them), the limits (put), how many (fetch). u.name is the
	 * recipient (the sender for withdraw), which orders one user's
	 * operations.
	 */
	struct gmail		 m;
	struct gmail_limits	 lim;
	int			 limit;
	/* Out. */
	int64_t			*res;		/* put_many: limit results */
	enum gstore_rc		 rc;
	long			 n;
	long long		 bytes;		/* mail_count */
	void			*priv;		/* the backend's (result rows) */
	double			 deadline;	/* util_mono() limit (postgresql) */
	double			 started;	/* util_mono() when asked (latency) */
};

/*
 * A users row a backend read into u, checked as untrusted input (a row
 * written by hand, another program or an attacker with the database):
 * addr_long says the address did not fit and was dropped, port is the
 * column as read. 0: u is usable, an address that is not a host or a
 * port out of range dropped ("" and 0); -1: not usable (a name, hash or
 * fingerprint that is not one). Each problem is logged.
 */
int	gstore_row_check(struct guser *u, bool addr_long, long long port);

struct gstore_be {
	const char	*name;
	void		*(*open)(struct gstore *, const struct gstore_front *,
			    const struct gstore_opts *, char **cause);
	void		 (*close)(void *);
	/* Run op; call gstore_op_done when its result is in op->rc/u/n. */
	void		 (*start)(void *, struct gstore_op *);
	/* Foreach: call op->row for every row (at delivery), then free priv. */
	void		 (*rows)(void *, struct gstore_op *);
	/* Free op->priv of an op that is dropped undelivered. */
	void		 (*drop)(void *, struct gstore_op *);
	void		 (*notify)(void *, const json_t *);
	void		 (*info)(void *, struct gstore_info *);
};

extern const struct gstore_be gstore_sqlite_be;
#ifdef HAVE_POSTGRESQL
extern const struct gstore_be gstore_pg_be;
#endif

/* The backend is done with op: deliver it on the next loop turn. */
static inline void
gstore_op_done(struct gstore_op *op, enum gstore_rc rc)
{
	op->front->done(op, rc);
}

/* Free an op without delivering it (backend shutdown). */
static inline void
gstore_op_free(struct gstore_op *op)
{
	op->front->free(op);
}

#endif
