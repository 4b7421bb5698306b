/*
 * The gestor's store on PostgreSQL, its statements: each operation's
 * statement, parameters and result (the mailbox's are gstore_pg_mail.c,
 * the schema and its migrations gstore_pg_schema.c). Presence rows carry their owning gestor and an
 * expiry; a change of presence one session makes is sent to the other
 * gestors by pg_notify in the statement that makes it (the payload
 * sealed beforehand, gpg_seal_op); the set statements (reap, reconcile,
 * bye) return their rows and the hints follow in one notify statement
 * (gstore_pg_cluster.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "gstore_pg.h"
#include "log.h"
#include "util.h"

#define GPG_USER_COLS \
	"u.name, u.hash, u.fingerprint, u.created, u.last_seen, u.addr, u.port, " \
	"EXISTS (SELECT 1 FROM presence p WHERE p.name = u.name AND " \
	"p.gestor <> $1 AND p.expires > now()), u.mail"

#define GPG_TTL	"now() + make_interval(secs => $6::float8)"

#define GPG_VERSION_SQL	"SELECT coalesce(max(version), 0) FROM p2pchat_schema"

/*
 * No row inserted: the key is another account's (KEY_TAKEN); a taken name
 * is still tried, to fail as EXISTS.
 */
static const char gpg_add_sql[] =
	"INSERT INTO users (name, hash, fingerprint, created, "
	"last_seen, addr, port) SELECT $1::text, $2::text, $3::text, "
	"$4::bigint, $5::bigint, $6::text, $7::integer WHERE NOT EXISTS "
	"(SELECT 1 FROM users WHERE fingerprint = $3::text) OR EXISTS "
	"(SELECT 1 FROM users WHERE name = $1::text)";
static const char gpg_get_sql[] =
	"SELECT " GPG_USER_COLS " FROM users u WHERE u.name = $2";
/* One row: is the key another account's, how many rows changed. */
static const char gpg_set_key_sql[] =
	"WITH taken AS (SELECT EXISTS (SELECT 1 FROM users WHERE "
	"fingerprint = $2::text AND name <> $1::text) AS t), "
	"upd AS (UPDATE users SET fingerprint = $2::text WHERE name = $1::text "
	"AND NOT (SELECT t FROM taken) RETURNING 1) "
	"SELECT (SELECT t FROM taken) AND EXISTS (SELECT 1 FROM users WHERE "
	"name = $1::text), (SELECT count(*) FROM upd)";
static const char gpg_foreach_sql[] =
	"SELECT " GPG_USER_COLS " FROM users u ORDER BY u.name";
static const char gpg_count_sql[] = "SELECT count(*) FROM users";

/*
 * $1 name, $2 addr, $3 port, $4 last_seen, $5 gestor, $6 ttl, $7 the
 * sealed hint {t:"presence",user,online} (gpg_seal_op).
 */
static const char gpg_online_sql[] =
	"WITH u AS (UPDATE users SET last_seen = $4, addr = $2, port = $3 "
	"  WHERE name = $1 RETURNING name, fingerprint), "
	"p AS (INSERT INTO presence (name, gestor, addr, port, expires) "
	"  SELECT name, $5, $2, $3, " GPG_TTL " FROM u "
	"  ON CONFLICT (name) DO UPDATE SET gestor = EXCLUDED.gestor, "
	"  addr = EXCLUDED.addr, port = EXCLUDED.port, "
	"  expires = EXCLUDED.expires RETURNING name) "
	"SELECT pg_notify('" GPG_CHANNEL "', $7::text) FROM u";

/* Offline only if this gestor still owns the row: a login elsewhere wins. */
static const char gpg_offline_sql[] =
	"WITH d AS (DELETE FROM presence WHERE name = $1 AND gestor = $5 "
	"  RETURNING name), "
	"u AS (UPDATE users SET last_seen = $4, addr = $2, port = $3 "
	"  WHERE name IN (SELECT name FROM d) RETURNING name, fingerprint) "
	"SELECT pg_notify('" GPG_CHANNEL "', $7::text) FROM u, "
	"  (SELECT $6::float8) AS unused";

static const char gpg_seen_sql[] =
	"UPDATE users u SET last_seen = s.t FROM (SELECT name, max(t) AS t "
	"  FROM unnest($1::text[], $2::bigint[]) AS x(name, t) "
	"  GROUP BY name) AS s "
	"WHERE u.name = s.name AND u.last_seen < s.t";
/* $1: a JSON array of sealed payloads, one notification each. */
static const char gpg_notify_sql[] =
	"SELECT pg_notify('" GPG_CHANNEL "', x) FROM "
	"  json_array_elements_text($1::json) AS x";

/* The statements the workers run, by their prepared names. */
static const struct gpg_prep gpg_prepared[] = {
	{ "p2p_add", gpg_add_sql },
	{ "p2p_get", gpg_get_sql },
	{ "p2p_set_key", gpg_set_key_sql },
	{ "p2p_foreach", gpg_foreach_sql },
	{ "p2p_count", gpg_count_sql },
	{ "p2p_online", gpg_online_sql },
	{ "p2p_offline", gpg_offline_sql },
	{ "p2p_seen", gpg_seen_sql },
	{ "p2p_notify", gpg_notify_sql },
};
#define GPG_NPREPARED	(sizeof(gpg_prepared) / sizeof(gpg_prepared[0]))

/* A statement the workers have prepared (name as in gpg_prepared). */
static void
stmt_prepared(struct gpg_stmt *st, const char *sql)
{
	gpg_stmt_prepared(st, gpg_prepared, GPG_NPREPARED, sql);
}

const char *
gpg_worker_setup_sql(void)
{
	static char *text;
	const struct gpg_prep *q;
	size_t i, len;
	char *p;

	if (text != NULL)
		return text;
	len = strlen(GPG_VERSION_SQL) + 1;
	for (i = 0; i < GPG_NPREPARED + gpg_mail_nprepared; i++) {
		q = i < GPG_NPREPARED ? &gpg_prepared[i] :
		    &gpg_mail_prepared[i - GPG_NPREPARED];
		len += strlen("; PREPARE  AS ") + strlen(q->name) +
		    strlen(q->sql);
	}
	p = text = xmalloc(len);
	p += sprintf(p, "%s", GPG_VERSION_SQL);
	for (i = 0; i < GPG_NPREPARED + gpg_mail_nprepared; i++) {
		q = i < GPG_NPREPARED ? &gpg_prepared[i] :
		    &gpg_mail_prepared[i - GPG_NPREPARED];
		p += sprintf(p, "; PREPARE %s AS %s", q->name, q->sql);
	}
	return text;
}

void
gpg_op_stmt(const struct gstore_op *op, const char *self, double ttl,
    struct gpg_stmt *st)
{
	const struct guser *u = &op->u;

	switch (op->kind) {
	case GOP_ADD:
		stmt_prepared(st, gpg_add_sql);
		gpg_stmt_str(st, u->name);
		gpg_stmt_str(st, u->hash);
		gpg_stmt_str(st, u->fingerprint);
		gpg_stmt_num(st, u->created);
		gpg_stmt_num(st, u->last_seen);
		gpg_stmt_str(st, u->addr);
		gpg_stmt_num(st, u->port);
		break;
	case GOP_GET:
		stmt_prepared(st, gpg_get_sql);
		gpg_stmt_str(st, self);
		gpg_stmt_str(st, u->name);
		break;
	case GOP_SET_KEY:
		stmt_prepared(st, gpg_set_key_sql);
		gpg_stmt_str(st, u->name);
		gpg_stmt_str(st, u->fingerprint);
		break;
	case GOP_PRESENCE:
		stmt_prepared(st, op->presence == GSTORE_OFFLINE ? gpg_offline_sql :
		    gpg_online_sql);
		gpg_stmt_str(st, u->name);
		gpg_stmt_str(st, u->addr);
		gpg_stmt_num(st, u->port);
		gpg_stmt_num(st, u->last_seen);
		gpg_stmt_str(st, self);
		gpg_stmt_dbl(st, ttl);
		gpg_stmt_str(st, op->priv != NULL ? op->priv : "");
		break;
	case GOP_FOREACH:
		stmt_prepared(st, gpg_foreach_sql);
		gpg_stmt_str(st, self);
		break;
	case GOP_COUNT:
		stmt_prepared(st, gpg_count_sql);
		break;
	case GOP_NOTIFY:
		gpg_notify_stmt(op->priv, st);
		break;
	case GOP_SEEN_MANY:
		gpg_seen_stmt(op->priv, st);
		break;
	default:
		gpg_mail_stmt(op, st);
		break;
	}
}

/*
 * Row r of a users SELECT into u, checked (gstore_row_check); -1 if the
 * row cannot be used.
 */
static int
user_row(PGresult *res, int r, struct guser *u)
{
	bool addr_long;

	memset(u, 0, sizeof(*u));
	if (PQnfields(res) != 9) {
		log_warnx("%s: a users row of %d columns", __func__,
		    PQnfields(res));
		return -1;
	}
	if (gpg_col_copy(res, r, 0, u->name, sizeof(u->name)) == -1 ||
	    gpg_col_copy(res, r, 1, u->hash, sizeof(u->hash)) == -1 ||
	    gpg_col_copy(res, r, 2, u->fingerprint, sizeof(u->fingerprint)) == -1) {
		log_warnx("gstore: a users row with a name, hash or fingerprint "
		    "missing or too long: skipped");
		return -1;
	}
	addr_long = gpg_col_copy(res, r, 5, u->addr, sizeof(u->addr)) == -1;
	if (addr_long)
		*u->addr = '\0';
	u->created = strtoll(PQgetvalue(res, r, 3), NULL, 10);
	u->last_seen = strtoll(PQgetvalue(res, r, 4), NULL, 10);
	u->online = PQgetvalue(res, r, 7)[0] == 't';
	if (gpg_col_copy(res, r, 8, u->mail, sizeof(u->mail)) == -1)
		*u->mail = '\0';	/* not a key: no mail (gstore_row_check) */
	return gstore_row_check(u, addr_long,
	    strtoll(PQgetvalue(res, r, 6), NULL, 10));
}

enum gstore_rc
gpg_op_result(struct gstore_op *op, PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
		if (op->kind == GOP_ADD)
			return atoi(PQcmdTuples(res)) > 0 ? GSTORE_OK :
			    GSTORE_KEY_TAKEN;
		return GSTORE_OK;
	case PGRES_TUPLES_OK:
		break;
	default:
		if (state != NULL && strcmp(state, "23505") == 0)
			return GSTORE_EXISTS;	/* unique_violation */
		return GSTORE_ERR;
	}
	switch (op->kind) {
	case GOP_SET_KEY:
		if (PQntuples(res) != 1 || PQnfields(res) != 2)
			return GSTORE_ERR;
		if (PQgetvalue(res, 0, 0)[0] == 't')
			return GSTORE_KEY_TAKEN;
		return strcmp(PQgetvalue(res, 0, 1), "0") != 0 ? GSTORE_OK :
		    GSTORE_NOTFOUND;
	case GOP_GET:
		if (PQntuples(res) == 0)
			return GSTORE_NOTFOUND;
		return user_row(res, 0, &op->u) == 0 ? GSTORE_OK : GSTORE_ERR;
	case GOP_COUNT:
		op->n = PQntuples(res) == 1 ?
		    strtol(PQgetvalue(res, 0, 0), NULL, 10) : -1;
		return op->n < 0 ? GSTORE_ERR : GSTORE_OK;
	case GOP_PRESENCE:
		return PQntuples(res) > 0 || op->presence == GSTORE_OFFLINE ?
		    GSTORE_OK : GSTORE_NOTFOUND;
	case GOP_FOREACH:
		op->priv = res;		/* rows delivered by gpg_rows */
		return GSTORE_OK;
	default:
		return gpg_mail_result(op, res);
	}
}

void
gpg_rows(struct gstore_op *op)
{
	PGresult *res = op->priv;
	struct guser u;
	int r;

	if (op->kind == GOP_MAIL_FETCH) {
		gpg_mail_rows(op);
		gpg_rows_free(op);
		return;
	}
	for (r = 0; r < PQntuples(res); r++) {
		if (user_row(res, r, &u) == -1)
			continue;		/* logged; the others are listed */
		if (op->row(&u, op->arg) == -1)
			break;
	}
	util_zero(&u, sizeof(u));
	gpg_rows_free(op);
}

void
gpg_rows_free(struct gstore_op *op)
{
	if (op->kind == GOP_FOREACH || op->kind == GOP_MAIL_FETCH)
		PQclear(op->priv);
	else
		free(op->priv);
	op->priv = NULL;
}

/* --------------------------------------------------------- the cluster */

/*
 * $1 names (text[]), $2 unix seconds (bigint[]), from gpg_seen_take. A
 * name given twice counts once, with its latest time; last_seen only
 * moves forward (no order needed against the user's other statements).
 */
void
gpg_seen_stmt(const char *payload, struct gpg_stmt *st)
{
	stmt_prepared(st, gpg_seen_sql);
	gpg_stmt_str(st, payload);
	gpg_stmt_str(st, payload + strlen(payload) + 1);
}

/* $1 gestor, $2 ttl (users' last_seen: gpg_seen_stmt) */
void
gpg_renew_stmt(const char *self, double ttl, struct gpg_stmt *st)
{
	gpg_stmt_init(st,
	    "WITH l AS (INSERT INTO gestors (name, expires) VALUES ($1, "
	    "  now() + make_interval(secs => $2::float8)) ON CONFLICT (name) DO "
	    "  UPDATE SET expires = EXCLUDED.expires), "
	    "r AS (UPDATE presence SET expires = now() + "
	    "  make_interval(secs => $2::float8) WHERE gestor = $1 "
	    "  RETURNING name) "
	    "SELECT count(*) FROM r");
	gpg_stmt_str(st, self);
	gpg_stmt_dbl(st, ttl);
}

/*
 * Another gestor's lapsed lease: its users go offline; the rows (name,
 * gestor) are returned, and the others hear of them (gpg_reap_result).
 */
void
gpg_reap_stmt(const char *self, struct gpg_stmt *st)
{
	gpg_stmt_init(st,
	    "WITH dead AS (DELETE FROM gestors WHERE expires < now() AND "
	    "  name <> $1 RETURNING name), "
	    "gone AS (DELETE FROM presence WHERE gestor <> $1 AND "
	    "  (gestor IN (SELECT name FROM dead) OR expires < now()) "
	    "  RETURNING name, gestor) "
	    "SELECT name, gestor FROM gone");
	gpg_stmt_str(st, self);
}

/*
 * After a reconnect: this gestor's lease is renewed and its rows become
 * exactly its sessions.
 * Rows it lost meanwhile go offline, sessions it holds are (re)written;
 * the other gestors hear of every change. A row another live gestor
 * holds is left alone (that login is newer); its user is returned.
 */
void
gpg_reconcile_stmt(const char *self, double ttl, const char *sessions,
    struct gpg_stmt *st)
{
	gpg_stmt_init(st,
	    "WITH l AS (INSERT INTO gestors (name, expires) VALUES ($1, "
	    "  now() + make_interval(secs => $3::float8)) ON CONFLICT (name) DO "
	    "  UPDATE SET expires = EXCLUDED.expires), "
	    "cur AS (SELECT * FROM json_to_recordset($2::json) AS "
	    "  c(name text, addr text, port int, last_seen bigint)), "
	    "gone AS (DELETE FROM presence WHERE gestor = $1 AND name NOT IN "
	    "  (SELECT name FROM cur) RETURNING name, addr, port), "
	    "taken AS (SELECT p.name FROM presence p JOIN cur c USING (name) "
	    "  JOIN gestors g ON g.name = p.gestor WHERE p.gestor <> $1 AND "
	    "  g.expires > now()), "
	    "up AS (INSERT INTO presence (name, gestor, addr, port, expires) "
	    "  SELECT c.name, $1, c.addr, c.port, now() + make_interval(secs => "
	    "  $3::float8) FROM cur c JOIN users u USING (name) WHERE c.name NOT "
	    "  IN (SELECT name FROM taken) ON CONFLICT (name) DO UPDATE SET "
	    "  gestor = EXCLUDED.gestor, addr = EXCLUDED.addr, port = "
	    "  EXCLUDED.port, expires = EXCLUDED.expires RETURNING name) "
	    "SELECT name, 'taken'::text FROM taken UNION ALL "
	    "SELECT name, 'gone' FROM gone UNION ALL "
	    "SELECT name, 'up' FROM up");
	gpg_stmt_str(st, self);
	gpg_stmt_str(st, sessions);
	gpg_stmt_dbl(st, ttl);
}

void
gpg_notify_stmt(const char *payload, struct gpg_stmt *st)
{
	stmt_prepared(st, gpg_notify_sql);
	gpg_stmt_str(st, payload);
}

/* A clean stop: this gestor's users go offline at once, its lease ends. */
void
gpg_bye_stmt(const char *self, struct gpg_stmt *st)
{
	gpg_stmt_init(st,
	    "WITH l AS (DELETE FROM gestors WHERE name = $1), "
	    "gone AS (DELETE FROM presence WHERE gestor = $1 "
	    "  RETURNING name) "
	    "SELECT name FROM gone");
	gpg_stmt_str(st, self);
}
