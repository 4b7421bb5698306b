/*
 * The mailbox in the gestor's SQLite store: sealed mail deposited for a
 * user, within the sender's and the recipient's quotas, fetched in
 * order, acknowledged (deleted) by its recipient or withdrawn by its
 * sender, and expired. The database itself is gstore_sqlite.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "gstore_int.h"
#include "gstore_sqlite.h"
#include "log.h"
#include "sqlutil.h"
#include "util.h"

enum gstore_rc
sq_user_set_mail(struct gsqlite *gs, const char *name, const char *mail)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_USER_SET_MAIL);

	if (sqlite3_bind_text(st, 1, mail, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK)
		return GSTORE_ERR;
	return gstore_update(gs, st, __func__);
}

/* Whether m may go into its recipient's mailbox: OK or the refusal. */
static enum gstore_rc
sq_mail_quota(struct gsqlite *gs, const struct gmail *m,
    const struct gmail_limits *lim)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_MAIL_QUOTA);
	enum gstore_rc ret = GSTORE_OK;
	long long n, bytes, mine;

	if (sqlite3_bind_text(st, 1, m->to, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, m->from, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
		sqlite3_reset(st);
		return GSTORE_ERR;
	}
	n = sqlite3_column_int64(st, 1);
	bytes = sqlite3_column_int64(st, 2);
	mine = sqlite3_column_int64(st, 3);
	if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		ret = GSTORE_NOTFOUND;
	else if (sqlite3_column_int(st, 0) == 0)
		ret = GSTORE_NO_MAIL;
	else if (lim->messages > 0 && n >= lim->messages)
		ret = GSTORE_QUOTA_MESSAGES;
	else if (lim->bytes > 0 && bytes + m->size > lim->bytes)
		ret = GSTORE_QUOTA_BYTES;
	else if (lim->per_sender > 0 && mine >= lim->per_sender)
		ret = GSTORE_QUOTA_SENDER;
	sqlite3_reset(st);
	return ret;
}

enum gstore_rc
sq_mail_put(struct gsqlite *gs, struct gmail *m,
    const struct gmail_limits *lim)
{
	sqlite3_stmt *st;
	enum gstore_rc ret;
	int rc;

	if ((ret = sq_mail_quota(gs, m, lim)) != GSTORE_OK)
		return ret;
	st = gstore_stmt(gs, GS_MAIL_PUT);
	if (sqlite3_bind_text(st, 1, m->to, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, m->from, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, m->ts) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, m->expires) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, m->size) != SQLITE_OK ||
	    sqlite3_bind_text(st, 6, m->blob, -1, SQLITE_STATIC) != SQLITE_OK)
		return GSTORE_ERR;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
		return GSTORE_ERR;
	}
	m->id = sqlite3_last_insert_rowid(gs->db);
	return GSTORE_OK;
}

/* Withdraw: delete by (sender, id). */
enum gstore_rc
sq_mail_withdraw(struct gsqlite *gs, const char *from, int64_t id)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_MAIL_WITHDRAW);

	if (sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, id) != SQLITE_OK)
		return GSTORE_ERR;
	return gstore_update(gs, st, __func__);
}

/* Ack: delete to's deposits of a JSON array of ids, in one statement. */
enum gstore_rc
sq_mail_ack(struct gsqlite *gs, const char *to, const char *ids)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_MAIL_ACK);

	if (sqlite3_bind_text(st, 1, to, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, ids, -1, SQLITE_STATIC) != SQLITE_OK)
		return GSTORE_ERR;
	return gstore_update(gs, st, __func__);
}

enum gstore_rc
sq_mail_expire(struct gsqlite *gs, int64_t now, long *n)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_MAIL_EXPIRE);
	enum gstore_rc ret;

	if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK)
		return GSTORE_ERR;
	ret = gstore_update(gs, st, __func__);
	*n = ret == GSTORE_OK ? (long)sqlite3_changes(gs->db) : 0;
	return ret == GSTORE_NOTFOUND ? GSTORE_OK : ret;
}

enum gstore_rc
sq_mail_count(struct gsqlite *gs, struct gstore_op *op)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_MAIL_COUNT);
	enum gstore_rc ret = GSTORE_ERR;

	if (sqlite3_bind_int(st, 1, op->limit == 1) == SQLITE_OK &&
	    sqlite3_bind_text(st, 2, op->m.to, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		op->n = (long)sqlite3_column_int64(st, 0);
		op->bytes = sqlite3_column_int64(st, 1);
		ret = GSTORE_OK;
	} else
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
	sqlite3_reset(st);
	return ret;
}

/* The deposits of a fetch, stepped at delivery. */
enum gstore_rc
sq_mail_rows(struct gsqlite *gs, struct gstore_op *op)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_MAIL_FETCH);
	enum gstore_rc ret = GSTORE_OK;
	struct gmail m;
	int rc;

	if (sqlite3_bind_text(st, 1, op->m.to, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, op->m.id) != SQLITE_OK ||
	    sqlite3_bind_int(st, 3, op->limit) != SQLITE_OK)
		return GSTORE_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&m, 0, sizeof(m));
		m.id = sqlite3_column_int64(st, 0);
		if (sqlutil_column_copy(st, 1, m.from, sizeof(m.from)) == -1 ||
		    sqlutil_column_copy(st, 2, m.to, sizeof(m.to)) == -1 ||
		    sqlite3_column_type(st, 6) != SQLITE_TEXT) {
			log_warnx("gstore: a mailbox row with a sender, "
			    "recipient or blob that is not one: skipped");
			continue;
		}
		m.ts = sqlite3_column_int64(st, 3);
		m.expires = sqlite3_column_int64(st, 4);
		m.size = (long)sqlite3_column_int64(st, 5);
		m.blob = (const char *)sqlite3_column_text(st, 6);
		if (op->mail_row(&m, op->arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
		ret = GSTORE_ERR;
	}
	sqlite3_reset(st);
	return ret;
}
