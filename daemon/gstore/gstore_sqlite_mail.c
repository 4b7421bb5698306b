/*
 * The mailbox in the gestor's SQLite store: sealed mail deposited for a
 * user, within the sender's and the recipient's quotas, fetched in
 * order, acknowledged (deleted) by its recipient or withdrawn by its
 * sender, and expired. The database itself is gstore_sqlite.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
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

/* What m's recipient's mailbox holds, of everyone's and of m's sender. */
struct sq_usage {
	long long	 n, bytes, mine;
};

/* m->to's mailbox (usage), or why it takes nothing (NOTFOUND, NO_MAIL). */
static enum gstore_rc
sq_mail_usage(struct gsqlite *gs, const struct gmail *m, struct sq_usage *q)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_MAIL_QUOTA);
	enum gstore_rc ret = GSTORE_OK;

	if (sqlite3_bind_text(st, 1, m->to, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, m->from, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
		sqlite3_reset(st);
		return GSTORE_ERR;
	}
	q->n = sqlite3_column_int64(st, 1);
	q->bytes = sqlite3_column_int64(st, 2);
	q->mine = sqlite3_column_int64(st, 3);
	if (sqlite3_column_type(st, 0) == SQLITE_NULL)
		ret = GSTORE_NOTFOUND;
	else if (sqlite3_column_int(st, 0) == 0)
		ret = GSTORE_NO_MAIL;
	sqlite3_reset(st);
	return ret;
}

/* Whether size more bytes fit in a mailbox holding q: OK or the refusal. */
static enum gstore_rc
sq_mail_fits(const struct sq_usage *q, long size,
    const struct gmail_limits *lim)
{
	if (lim->messages > 0 && q->n >= lim->messages)
		return GSTORE_QUOTA_MESSAGES;
	if (lim->bytes > 0 && q->bytes + size > lim->bytes)
		return GSTORE_QUOTA_BYTES;
	if (lim->per_sender > 0 && q->mine >= lim->per_sender)
		return GSTORE_QUOTA_SENDER;
	return GSTORE_OK;
}

/*
 * A blob is kept as its bytes, a quarter smaller than its base64 (read
 * back as base64: sq_mail_rows); one that does not decode (the wire
 * checked it, so never) as its text.
 */
static int
sq_bind_blob(sqlite3_stmt *st, int col, const char *b64, unsigned char **bin)
{
	size_t len = strlen(b64), n;

	*bin = xmalloc(len / 4 * 3 + 1);
	if (sodium_base642bin(*bin, len / 4 * 3 + 1, b64, len, NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0)
		return sqlite3_bind_blob(st, col, *bin, (int)n, SQLITE_STATIC);
	return sqlite3_bind_text(st, col, b64, -1, SQLITE_STATIC);
}

/* Insert m (dkey: its dedup key, or NULL) and set m->id. */
static enum gstore_rc
sq_mail_insert(struct gsqlite *gs, struct gmail *m, const json_t *dkey)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_MAIL_PUT);
	unsigned char *bin = NULL;
	int rc;

	if (sqlite3_bind_text(st, 1, m->to, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, m->from, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, m->ts) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, m->expires) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, m->size) != SQLITE_OK ||
	    sq_bind_blob(st, 6, m->blob, &bin) != SQLITE_OK ||
	    (json_is_integer(dkey) ? sqlite3_bind_int64(st, 7,
	    json_integer_value(dkey)) : sqlite3_bind_null(st, 7)) != SQLITE_OK) {
		sqlite3_clear_bindings(st);
		free(bin);
		return GSTORE_ERR;
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	free(bin);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
		return GSTORE_ERR;
	}
	m->id = sqlite3_last_insert_rowid(gs->db);
	return GSTORE_OK;
}

enum gstore_rc
sq_mail_put(struct gsqlite *gs, struct gmail *m,
    const struct gmail_limits *lim)
{
	struct sq_usage q;
	enum gstore_rc ret;

	if ((ret = sq_mail_usage(gs, m, &q)) != GSTORE_OK ||
	    (ret = sq_mail_fits(&q, m->size, lim)) != GSTORE_OK)
		return ret;
	return sq_mail_insert(gs, m, NULL);
}

/*
 * The id of from's deposit under dkey, now kept until expires at least
 * (a put again after it expired, before the expiry deleted it, must not
 * answer a deposit about to go): 0 none, -1 an error.
 */
static int64_t
sq_mail_dkey(struct gsqlite *gs, const char *from, json_int_t dkey,
    int64_t expires)
{
	sqlite3_stmt *st = gstore_stmt(gs, GS_MAIL_DKEY);
	int64_t id = -1;
	int rc;

	if (sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, dkey) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, expires) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		id = 0;
	else
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
	sqlite3_reset(st);
	return id;
}

/* One deposit of a put_many, counted in q: its result (0: an error). */
static int64_t
sq_mail_one(struct gsqlite *gs, struct gstore_op *op, json_t *o,
    struct sq_usage *q, enum gstore_rc *refused)
{
	json_t *key = json_object_get(o, "key");
	struct gmail m = op->m;
	int64_t id;

	if (json_is_integer(key) && (id = sq_mail_dkey(gs, m.from,
	    json_integer_value(key), m.expires)) != 0)
		return id > 0 ? id : 0;		/* stored before, or an error */
	m.size = (long)json_integer_value(json_object_get(o, "size"));
	m.blob = json_string_value(json_object_get(o, "blob"));
	if (m.blob == NULL || m.size <= 0)
		return 0;
	if (*refused == GSTORE_OK)
		*refused = sq_mail_fits(q, m.size, &op->lim);
	if (*refused != GSTORE_OK)
		return -(int64_t)*refused;
	if (sq_mail_insert(gs, &m, key) != GSTORE_OK)
		return 0;
	q->n++;
	q->bytes += m.size;
	q->mine++;
	return m.id;
}

/*
 * A sender's deposits for one recipient in one transaction (one fsync),
 * each one's id or refusal in op->res.
 */
enum gstore_rc
sq_mail_put_many(struct gsqlite *gs, struct gstore_op *op)
{
	json_t *a = json_loads(op->m.blob, 0, NULL);
	enum gstore_rc refused;
	struct sq_usage q;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) != (size_t)op->limit) {
		json_decref(a);
		return GSTORE_ERR;
	}
	if (!sq_exec(gs, GS_BEGIN)) {
		json_decref(a);
		return GSTORE_ERR;
	}
	if ((refused = sq_mail_usage(gs, &op->m, &q)) == GSTORE_ERR)
		goto fail;
	for (i = 0; i < json_array_size(a); i++)
		if ((op->res[i] = sq_mail_one(gs, op, json_array_get(a, i), &q,
		    &refused)) == 0)
			goto fail;
	json_decref(a);
	if (sq_exec(gs, GS_COMMIT))
		return GSTORE_OK;
	sq_exec(gs, GS_ROLLBACK);
	return GSTORE_ERR;
fail:
	json_decref(a);
	sq_exec(gs, GS_ROLLBACK);
	return GSTORE_ERR;
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
	char *b64 = NULL;
	bool stop;
	size_t n;
	int rc, type;

	if (sqlite3_bind_text(st, 1, op->m.to, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, op->m.id) != SQLITE_OK ||
	    sqlite3_bind_int(st, 3, op->limit) != SQLITE_OK)
		return GSTORE_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&m, 0, sizeof(m));
		m.id = sqlite3_column_int64(st, 0);
		type = sqlite3_column_type(st, 6);
		if (sqlutil_column_copy(st, 1, m.from, sizeof(m.from)) == -1 ||
		    sqlutil_column_copy(st, 2, m.to, sizeof(m.to)) == -1 ||
		    (type != SQLITE_TEXT && (type != SQLITE_BLOB ||
		    sqlite3_column_bytes(st, 6) == 0))) {
			log_warnx("gstore: a mailbox row with a sender, "
			    "recipient or blob that is not one: skipped");
			continue;
		}
		m.ts = sqlite3_column_int64(st, 3);
		m.expires = sqlite3_column_int64(st, 4);
		m.size = (long)sqlite3_column_int64(st, 5);
		if (type == SQLITE_BLOB) {
			/* Its bytes, as base64 again (sq_bind_blob). */
			n = (size_t)sqlite3_column_bytes(st, 6);
			b64 = xmalloc(sodium_base64_ENCODED_LEN(n,
			    sodium_base64_VARIANT_ORIGINAL));
			m.blob = sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(n,
			    sodium_base64_VARIANT_ORIGINAL), sqlite3_column_blob(st,
			    6), n, sodium_base64_VARIANT_ORIGINAL);
		} else
			m.blob = (const char *)sqlite3_column_text(st, 6);
		stop = op->mail_row(&m, op->arg) == -1;
		free(b64);
		b64 = NULL;
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(gs->db));
		ret = GSTORE_ERR;
	}
	sqlite3_reset(st);
	return ret;
}
