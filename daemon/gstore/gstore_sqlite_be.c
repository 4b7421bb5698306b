/*
 * The gestor's SQLite store as a backend of gstore.c (struct gstore_be):
 * each operation runs at once, in the order asked, on the users
 * (gstore_sqlite.c) or the mailbox (gstore_sqlite_mail.c); presence
 * writes wait for their batch; a listing is stepped at delivery.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "gstore_int.h"
#include "gstore_sqlite.h"
#include "log.h"
#include "util.h"

static void *
sq_be_open(struct gstore *front, const struct gstore_front *hooks,
    const struct gstore_opts *o, char **cause)
{
	return sq_open(o->base, o->path, o->sync_full, cause);
}

static void
sq_be_close(void *impl)
{
	sq_close(impl);
}

static void
sq_be_start(void *impl, struct gstore_op *op)
{
	struct gsqlite *gs = impl;
	struct guser *u = &op->u;
	enum gstore_rc rc = GSTORE_OK;

	if (op->kind == GOP_PRESENCE) {
		sq_seen_queue(gs, op);
		return;
	}
	/* Every write in the order asked; a read sees every online/offline. */
	if ((op->kind != GOP_GET && op->kind != GOP_COUNT &&
	    op->kind != GOP_MAIL_FETCH && op->kind != GOP_MAIL_COUNT) ||
	    (op->kind == GOP_GET && sq_seen_hard(gs, u->name)))
		sq_seen_flush(gs);
	switch (op->kind) {
	case GOP_ADD:
		rc = sq_user_add(gs, u);
		break;
	case GOP_GET:
		rc = sq_user_get(gs, u->name, u);
		break;
	case GOP_SET_KEY:
		rc = sq_user_set_key(gs, u->name, u->fingerprint);
		break;
	case GOP_PRESENCE:		/* batched: sq_seen_queue */
	case GOP_FOREACH:
		break;			/* stepped at delivery, in sq_be_rows */
	case GOP_COUNT:
		op->n = sq_user_count(gs);
		rc = op->n < 0 ? GSTORE_ERR : GSTORE_OK;
		break;
	case GOP_NOTIFY:
	case GOP_SEEN_MANY:		/* not made here */
		break;			/* one gestor: nobody to tell */
	case GOP_SET_MAIL:
		rc = sq_user_set_mail(gs, u->name, u->mail);
		break;
	case GOP_MAIL_PUT:
		rc = sq_mail_put(gs, &op->m, &op->lim);
		break;
	case GOP_MAIL_PUT_MANY:
		rc = sq_mail_put_many(gs, op);
		break;
	case GOP_MAIL_FETCH:
		break;			/* stepped at delivery */
	case GOP_MAIL_ACK:
		rc = sq_mail_ack(gs, op->m.to, op->m.blob);
		break;
	case GOP_MAIL_WITHDRAW:
		rc = sq_mail_withdraw(gs, op->m.from, op->m.id);
		break;
	case GOP_MAIL_EXPIRE:
		rc = sq_mail_expire(gs, op->m.expires, &op->n);
		break;
	case GOP_MAIL_COUNT:
		rc = sq_mail_count(gs, op);
		break;
	}
	gstore_op_done(op, rc);
}

static void
sq_be_rows(void *impl, struct gstore_op *op)
{
	if (op->kind == GOP_MAIL_FETCH)
		op->rc = sq_mail_rows(impl, op);
	else
		op->rc = sq_user_foreach(impl, op->row, op->arg);
}

static void
sq_be_info(void *impl, struct gstore_info *info)
{
	info->state = GSTORE_UP;
}

const struct gstore_be gstore_sqlite_be = {
	.name = "sqlite",
	.open = sq_be_open,
	.close = sq_be_close,
	.start = sq_be_start,
	.rows = sq_be_rows,
	.info = sq_be_info,
};
