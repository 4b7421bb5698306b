/*
 * The gestor's store on PostgreSQL, its schema: numbered migrations
 * recorded in p2pchat_schema (as user_version is for SQLite), applied
 * once under an advisory lock by the first gestor that opens the
 * database, and the cluster's key made there if there is none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "gstore_pg.h"
#include "log.h"
#include "util.h"

/*
 * Migration i takes the schema from version i to i + 1. Append new ones;
 * never edit one that has shipped.
 */
static const char *const gpg_migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE users ("
	"  name text PRIMARY KEY,"
	"  hash text NOT NULL,"
	"  fingerprint text NOT NULL,"
	"  created bigint NOT NULL,"
	"  last_seen bigint NOT NULL DEFAULT 0,"
	"  addr text NOT NULL DEFAULT '',"
	"  port integer NOT NULL DEFAULT 0);"
	"CREATE TABLE gestors ("
	"  name text PRIMARY KEY,"
	"  expires timestamptz NOT NULL);"
	"CREATE TABLE presence ("
	"  name text PRIMARY KEY REFERENCES users (name) ON DELETE CASCADE,"
	"  gestor text NOT NULL,"
	"  addr text NOT NULL,"
	"  port integer NOT NULL,"
	"  expires timestamptz NOT NULL);"
	"CREATE INDEX presence_gestor ON presence (gestor);",
	/* 1 -> 2: one key, one account (add and set_key look). */
	"CREATE INDEX users_fingerprint ON users (fingerprint);",
	/*
	 * 2 -> 3: the key the gestors seal their notifications with (one
	 * row, written by the first gestor that migrates: gpg_migrate).
	 * Roles without privileges on the gestors' tables cannot read it.
	 */
	"CREATE TABLE p2pchat_cluster_key ("
	"  id integer PRIMARY KEY CHECK (id = 1),"
	"  key text NOT NULL);",
	/*
	 * 3 -> 4: the mailbox (DESIGN.md "Mailbox"): sealed blobs held for
	 * recipients who accept mail, shared by every gestor of the cluster.
	 */
	"ALTER TABLE users ADD COLUMN mail text NOT NULL DEFAULT '';"
	"CREATE TABLE mailbox ("
	"  id bigserial PRIMARY KEY,"
	"  rcpt text NOT NULL REFERENCES users (name) ON DELETE CASCADE,"
	"  sender text NOT NULL,"
	"  ts bigint NOT NULL,"
	"  expires bigint NOT NULL,"
	"  size integer NOT NULL,"
	"  blob text NOT NULL);"
	"CREATE INDEX mailbox_rcpt ON mailbox (rcpt, id);"
	"CREATE INDEX mailbox_sender ON mailbox (sender, id);"
	"CREATE INDEX mailbox_expires ON mailbox (expires);",
	/*
	 * 4 -> 5: a deposit's dedup key (mbox-put's blobs): a put again
	 * after a lost answer finds the first. Withdraw goes by id.
	 */
	"ALTER TABLE mailbox ADD COLUMN dkey bigint;"
	"DROP INDEX mailbox_sender;"
	"CREATE UNIQUE INDEX mailbox_dkey ON mailbox (sender, dkey);",
	/*
	 * 5 -> 6: a blob kept as its bytes, a quarter smaller than its
	 * base64 (fetched as base64: encode).
	 */
	("ALTER TABLE mailbox ALTER COLUMN blob TYPE bytea USING "
	"decode(blob, 'base64');"),
};
#define GPG_VERSION \
	((int)(sizeof(gpg_migrations) / sizeof(gpg_migrations[0])))

int
gpg_schema_version(void)
{
	return GPG_VERSION;
}

static int
cause_pq(char **cause, const char *what, PGconn *pg, PGresult *res)
{
	const char *msg = res != NULL ? PQresultErrorMessage(res) :
	    PQerrorMessage(pg);
	size_t n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	if (asprintf(cause, "postgresql: %s: %.*s", what, (int)n, msg) < 0)
		*cause = NULL;
	PQclear(res);
	return -1;
}

/* Run sql (no rows wanted); -1 with *cause. */
static int
exec_ok(PGconn *pg, const char *sql, const char *what, char **cause)
{
	PGresult *res = PQexec(pg, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		return cause_pq(cause, what, pg, res);
	PQclear(res);
	return 0;
}

/* The recorded version (0: none yet); -1 with *cause. */
static int
read_version(PGconn *pg, char **cause)
{
	PGresult *res = PQexec(pg, "SELECT coalesce(max(version), 0) "
	    "FROM p2pchat_schema");
	int v;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return cause_pq(cause, "reading the schema version", pg, res);
	v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

/* The cluster's key, made once: 32 random bytes in hex. */
static int
make_key(PGconn *pg, char **cause)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char k[GPG_KEY_LEN];
	char text[2 * GPG_KEY_LEN + 1];
	const char *v[1] = { text };
	PGresult *res;
	size_t i;

	if (gnutls_rnd(GNUTLS_RND_KEY, k, sizeof(k)) < 0) {
		if (asprintf(cause, "no random bytes for the cluster's key") < 0)
			*cause = NULL;
		return -1;
	}
	for (i = 0; i < sizeof(k); i++) {
		text[2 * i] = hex[k[i] >> 4];
		text[2 * i + 1] = hex[k[i] & 15];
	}
	text[2 * GPG_KEY_LEN] = '\0';
	res = PQexecParams(pg, "INSERT INTO p2pchat_cluster_key (id, key) "
	    "VALUES (1, $1) ON CONFLICT (id) DO NOTHING", 1, NULL, v, NULL,
	    NULL, 0);
	util_zero(k, sizeof(k));
	util_zero(text, sizeof(text));
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		return cause_pq(cause, "writing the cluster's key", pg, res);
	PQclear(res);
	return 0;
}

int
gpg_migrate(PGconn *pg, char **cause)
{
	char sql[128];
	int v;

	if (exec_ok(pg, "BEGIN", "begin", cause) == -1 ||
	    exec_ok(pg, "SELECT pg_advisory_xact_lock(7000017)", "schema lock",
	    cause) == -1 ||
	    exec_ok(pg, "CREATE TABLE IF NOT EXISTS p2pchat_schema "
	    "(version integer NOT NULL)", "schema table", cause) == -1 ||
	    (v = read_version(pg, cause)) == -1)
		goto fail;
	if (v > GPG_VERSION) {
		if (asprintf(cause, "postgresql: the database's schema is version "
		    "%d, newer than this p2pchatd knows (%d): upgrade p2pchatd "
		    "(the database was left untouched)", v, GPG_VERSION) < 0)
			*cause = NULL;
		goto fail;
	}
	for (; v < GPG_VERSION; v++) {
		snprintf(sql, sizeof(sql), "DELETE FROM p2pchat_schema; INSERT INTO "
		    "p2pchat_schema VALUES (%d)", v + 1);
		if (exec_ok(pg, gpg_migrations[v], "migrating", cause) == -1 ||
		    exec_ok(pg, sql, "recording the schema version", cause) == -1)
			goto fail;
		log_info("gstore_pg: migrated the database to schema version %d",
		    v + 1);
	}
	if (make_key(pg, cause) == -1)
		goto fail;
	return exec_ok(pg, "COMMIT", "commit", cause);
fail:
	PQclear(PQexec(pg, "ROLLBACK"));
	return -1;
}
