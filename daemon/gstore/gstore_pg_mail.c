/*
 * The gestor's store on PostgreSQL, the mailbox's statements (mail sealed
 * for an offline recipient): each operation's statement, parameters and
 * result, and the deposits a fetch read. gstore_pg_sql.c hands them the
 * mailbox's operations and prepares these with its own on the workers.
 */
#include <stdlib.h>
#include <string.h>

#include "gstore_pg.h"
#include "log.h"

static const char gpg_set_mail_sql[] =
	"WITH upd AS (UPDATE users SET mail = $2::text WHERE name = $1::text "
	"RETURNING 1) SELECT count(*) FROM upd";
/*
 * $1 to, $2 from, $3 ts, $4 expires, $5 size, $6 blob, $7-$9 the limits
 * (0: none). One row: the refusal as a gstore_rc (0: stored), the id.
 */
static const char gpg_mail_put_sql[] =
	"WITH u AS (SELECT mail FROM users WHERE name = $1::text), "
	"q AS (SELECT count(*) AS n, coalesce(sum(size), 0) AS b, "
	"  count(*) FILTER (WHERE sender = $2::text) AS s FROM mailbox "
	"  WHERE rcpt = $1::text), "
	"ok AS (SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM u) THEN 1 "
	"  WHEN (SELECT mail FROM u) = '' THEN 4 "
	"  WHEN $7::bigint > 0 AND q.n >= $7::bigint THEN 5 "
	"  WHEN $8::bigint > 0 AND q.b + $5::bigint > $8::bigint THEN 6 "
	"  WHEN $9::bigint > 0 AND q.s >= $9::bigint THEN 7 "
	"  ELSE 0 END AS rc FROM q), "
	"ins AS (INSERT INTO mailbox (rcpt, sender, ts, expires, size, blob) "
	"  SELECT $1::text, $2::text, $3::bigint, $4::bigint, $5::integer, "
	"  decode($6::text, 'base64') FROM ok WHERE ok.rc = 0 RETURNING id) "
	"SELECT (SELECT rc FROM ok), (SELECT id FROM ins)";
/*
 * $1 to, $2 from, $3 ts, $4 expires, $5 the deposits [{blob,size,key}],
 * $6-$8 the limits. A row per deposit in order: its id (the one stored
 * before under its key, now kept until $4 at least, or now) or 0, and
 * the refusal (0: stored): the
 * first refused refuses every later new one (sq_mail_put_many).
 */
static const char gpg_mail_put_many_sql[] =
	"WITH u AS (SELECT mail FROM users WHERE name = $1::text), "
	"b AS (SELECT t.ord, t.e->>'blob' AS blob, (t.e->>'size')::integer "
	"  AS size, (t.e->>'key')::bigint AS dkey FROM "
	"  json_array_elements($5::json) WITH ORDINALITY AS t(e, ord)), "
	"old AS (UPDATE mailbox m SET expires = greatest(m.expires, "
	"  $4::bigint) FROM b WHERE m.sender = $2::text AND m.dkey = b.dkey "
	"  RETURNING b.ord, m.id), "
	"q AS (SELECT count(*) AS n, coalesce(sum(size), 0) AS b, "
	"  count(*) FILTER (WHERE sender = $2::text) AS s FROM mailbox "
	"  WHERE rcpt = $1::text), "
	"nb AS (SELECT b.*, row_number() OVER w AS k, sum(b.size) OVER w AS run "
	"  FROM b WHERE b.ord NOT IN (SELECT ord FROM old) "
	"  WINDOW w AS (ORDER BY b.ord)), "
	"rc AS (SELECT nb.ord, CASE WHEN NOT EXISTS (SELECT 1 FROM u) THEN 1 "
	"  WHEN (SELECT mail FROM u) = '' THEN 4 "
	"  WHEN $6::bigint > 0 AND q.n + nb.k > $6::bigint THEN 5 "
	"  WHEN $7::bigint > 0 AND q.b + nb.run > $7::bigint THEN 6 "
	"  WHEN $8::bigint > 0 AND q.s + nb.k > $8::bigint THEN 7 "
	"  ELSE 0 END AS rc FROM nb, q), "
	"f AS (SELECT min(ord) AS ord FROM rc WHERE rc <> 0), "
	"ins AS (INSERT INTO mailbox (rcpt, sender, ts, expires, size, blob, "
	"  dkey) SELECT $1::text, $2::text, $3::bigint, $4::bigint, nb.size, "
	"  decode(nb.blob, 'base64'), nb.dkey FROM nb WHERE nb.ord < "
	"  coalesce((SELECT ord FROM f), "
	"  nb.ord + 1) ORDER BY nb.ord RETURNING id, dkey) "
	"SELECT b.ord, coalesce(old.id, ins.id, 0), CASE WHEN old.id IS NOT "
	"  NULL OR ins.id IS NOT NULL THEN 0 ELSE (SELECT rc.rc FROM rc "
	"  WHERE rc.ord = (SELECT ord FROM f)) END "
	"FROM b LEFT JOIN old ON old.ord = b.ord "
	"LEFT JOIN ins ON ins.dkey = b.dkey ORDER BY b.ord";
static const char gpg_mail_fetch_sql[] =
	"SELECT id, sender, rcpt, ts, expires, size, "
	"translate(encode(blob, 'base64'), E'\\n', '') FROM mailbox "
	"WHERE rcpt = $1::text AND id > $2::bigint ORDER BY id "
	"LIMIT $3::integer";
static const char gpg_mail_ack_sql[] =
	"WITH d AS (DELETE FROM mailbox WHERE rcpt = $1::text AND id IN "
	"(SELECT x::bigint FROM json_array_elements_text($2::json) AS x) "
	"RETURNING 1) SELECT count(*) FROM d";
static const char gpg_mail_withdraw_sql[] =
	"WITH d AS (DELETE FROM mailbox WHERE sender = $1::text AND "
	"id = $2::bigint RETURNING 1) SELECT count(*) FROM d";
/* With the later deposits of the same sender for the same recipient
 * (gstore_sqlite.c says why). */
static const char gpg_mail_expire_sql[] =
	"WITH x AS (SELECT sender, rcpt, min(id) AS first FROM mailbox "
	"WHERE expires <= $1::bigint GROUP BY sender, rcpt), "
	"d AS (DELETE FROM mailbox m USING x WHERE x.sender = m.sender AND "
	"x.rcpt = m.rcpt AND m.id >= x.first RETURNING 1) "
	"SELECT count(*) FROM d";
static const char gpg_mail_count_sql[] =
	"SELECT count(*), coalesce(sum(size), 0) FROM mailbox "
	"WHERE $1::boolean OR rcpt = $2::text";

/* The mailbox's statements the workers run, by their prepared names. */
const struct gpg_prep gpg_mail_prepared[] = {
	{ "p2p_set_mail", gpg_set_mail_sql },
	{ "p2p_mail_put", gpg_mail_put_sql },
	{ "p2p_mail_put_many", gpg_mail_put_many_sql },
	{ "p2p_mail_fetch", gpg_mail_fetch_sql },
	{ "p2p_mail_ack", gpg_mail_ack_sql },
	{ "p2p_mail_withdraw", gpg_mail_withdraw_sql },
	{ "p2p_mail_expire", gpg_mail_expire_sql },
	{ "p2p_mail_count", gpg_mail_count_sql },
};
const size_t gpg_mail_nprepared =
    sizeof(gpg_mail_prepared) / sizeof(gpg_mail_prepared[0]);

static void
stmt_prepared(struct gpg_stmt *st, const char *sql)
{
	gpg_stmt_prepared(st, gpg_mail_prepared, gpg_mail_nprepared, sql);
}

void
gpg_mail_stmt(const struct gstore_op *op, struct gpg_stmt *st)
{
	const struct gmail *m = &op->m;

	switch (op->kind) {
	case GOP_SET_MAIL:
		stmt_prepared(st, gpg_set_mail_sql);
		gpg_stmt_str(st, op->u.name);
		gpg_stmt_str(st, op->u.mail);
		break;
	case GOP_MAIL_PUT:
		stmt_prepared(st, gpg_mail_put_sql);
		gpg_stmt_str(st, m->to);
		gpg_stmt_str(st, m->from);
		gpg_stmt_num(st, m->ts);
		gpg_stmt_num(st, m->expires);
		gpg_stmt_num(st, m->size);
		gpg_stmt_str(st, m->blob);
		gpg_stmt_num(st, op->lim.messages);
		gpg_stmt_num(st, op->lim.bytes);
		gpg_stmt_num(st, op->lim.per_sender);
		break;
	case GOP_MAIL_PUT_MANY:
		stmt_prepared(st, gpg_mail_put_many_sql);
		gpg_stmt_str(st, m->to);
		gpg_stmt_str(st, m->from);
		gpg_stmt_num(st, m->ts);
		gpg_stmt_num(st, m->expires);
		gpg_stmt_str(st, m->blob);
		gpg_stmt_num(st, op->lim.messages);
		gpg_stmt_num(st, op->lim.bytes);
		gpg_stmt_num(st, op->lim.per_sender);
		break;
	case GOP_MAIL_FETCH:
		stmt_prepared(st, gpg_mail_fetch_sql);
		gpg_stmt_str(st, m->to);
		gpg_stmt_num(st, m->id);
		gpg_stmt_num(st, op->limit);
		break;
	case GOP_MAIL_ACK:
		stmt_prepared(st, gpg_mail_ack_sql);
		gpg_stmt_str(st, m->to);
		gpg_stmt_str(st, m->blob);
		break;
	case GOP_MAIL_WITHDRAW:
		stmt_prepared(st, gpg_mail_withdraw_sql);
		gpg_stmt_str(st, m->from);
		gpg_stmt_num(st, m->id);
		break;
	case GOP_MAIL_EXPIRE:
		stmt_prepared(st, gpg_mail_expire_sql);
		gpg_stmt_num(st, m->expires);
		break;
	case GOP_MAIL_COUNT:
		stmt_prepared(st, gpg_mail_count_sql);
		gpg_stmt_str(st, op->limit == 1 ? "true" : "false");
		gpg_stmt_str(st, m->to);
		break;
	default:
		break;
	}
}

/* A row per deposit: id, or the refusal (a gstore_rc), to op->res. */
static enum gstore_rc
gpg_mail_many_result(struct gstore_op *op, PGresult *res)
{
	long long id, rc;
	int r;

	if (PQntuples(res) != op->limit || PQnfields(res) != 3)
		return GSTORE_ERR;
	for (r = 0; r < op->limit; r++) {
		id = PQgetisnull(res, r, 1) ? 0 : strtoll(PQgetvalue(res, r, 1),
		    NULL, 10);
		rc = PQgetisnull(res, r, 2) ? -1 : strtoll(PQgetvalue(res, r, 2),
		    NULL, 10);
		if (id > 0 && rc == 0)
			op->res[r] = id;
		else if (id == 0 && rc > 0 && rc <= GSTORE_QUOTA_SENDER)
			op->res[r] = -rc;
		else
			return GSTORE_ERR;
	}
	return GSTORE_OK;
}

enum gstore_rc
gpg_mail_result(struct gstore_op *op, PGresult *res)
{
	long long v;

	switch (op->kind) {
	case GOP_SET_MAIL:
	case GOP_MAIL_ACK:
	case GOP_MAIL_WITHDRAW:
		if ((v = gpg_one_num(res, 0)) < 0)
			return GSTORE_ERR;
		return v > 0 ? GSTORE_OK : GSTORE_NOTFOUND;
	case GOP_MAIL_PUT:
		if ((v = gpg_one_num(res, 0)) < 0 || v > GSTORE_QUOTA_SENDER)
			return GSTORE_ERR;
		if (v != 0)
			return (enum gstore_rc)v;
		if ((op->m.id = gpg_one_num(res, 1)) <= 0)
			return GSTORE_ERR;
		return GSTORE_OK;
	case GOP_MAIL_PUT_MANY:
		return gpg_mail_many_result(op, res);
	case GOP_MAIL_EXPIRE:
		op->n = (long)gpg_one_num(res, 0);
		return op->n < 0 ? GSTORE_ERR : GSTORE_OK;
	case GOP_MAIL_COUNT:
		op->n = (long)gpg_one_num(res, 0);
		op->bytes = gpg_one_num(res, 1);
		return op->n < 0 || op->bytes < 0 ? GSTORE_ERR : GSTORE_OK;
	case GOP_MAIL_FETCH:
		if (PQnfields(res) != 7)
			return GSTORE_ERR;
		op->priv = res;		/* rows delivered by gpg_rows */
		return GSTORE_OK;
	default:
		return GSTORE_OK;
	}
}

/* The deposits a fetch kept in op->priv, to op->mail_row. */
void
gpg_mail_rows(struct gstore_op *op)
{
	PGresult *res = op->priv;
	struct gmail m;
	int r;

	for (r = 0; r < PQntuples(res); r++) {
		memset(&m, 0, sizeof(m));
		if (gpg_col_copy(res, r, 1, m.from, sizeof(m.from)) == -1 ||
		    gpg_col_copy(res, r, 2, m.to, sizeof(m.to)) == -1 ||
		    PQgetisnull(res, r, 6)) {
			log_warnx("gstore: a mailbox row with a sender, "
			    "recipient or blob that is not one: skipped");
			continue;
		}
		m.id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		m.ts = strtoll(PQgetvalue(res, r, 3), NULL, 10);
		m.expires = strtoll(PQgetvalue(res, r, 4), NULL, 10);
		m.size = strtol(PQgetvalue(res, r, 5), NULL, 10);
		m.blob = PQgetvalue(res, r, 6);
		if (op->mail_row(&m, op->arg) == -1)
			break;
	}
}
