/*
 * Route memory in the peer's store: one row per contact in the routes
 * table (peer store migration 4), written only when something changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "pstore_route.h"
#include "sqlutil.h"
#include "util.h"

enum stmt { S_GET, S_PUT, S__MAX };

static const char *const sql[S__MAX] = {
	[S_GET] = "SELECT route, why, updated, direct_failed FROM routes"
	    " WHERE user = ?1",
	[S_PUT] = "INSERT OR REPLACE INTO routes (user, route, why, updated,"
	    " direct_failed) VALUES (?1, ?2, ?3, ?4, ?5)",
};

struct proute_store {
	sqlite3		*db;
	sqlite3_stmt	*st[S__MAX];
};

struct proute_store *
proute_open(struct pstore *ps, char **cause)
{
	struct proute_store *rs = xcalloc(1, sizeof(*rs));

	rs->db = pstore_db(ps);
	if (sqlutil_prepare(rs->db, "peer store", sql, rs->st, S__MAX,
	    cause) == -1) {
		proute_close(rs);
		return NULL;
	}
	return rs;
}

void
proute_close(struct proute_store *rs)
{
	if (rs == NULL)
		return;
	sqlutil_finalize(rs->st, S__MAX);
	free(rs);
}

enum pstore_rc
proute_get(struct proute_store *rs, const char *user, struct proute *r)
{
	sqlite3_stmt *s = sqlutil_reset(rs->st[S_GET]);
	int rc;

	memset(r, 0, sizeof(*r));
	snprintf(r->user, sizeof(r->user), "%s", user);
	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_DONE)
		return PSTORE_NOTFOUND;
	if (rc != SQLITE_ROW ||
	    sqlutil_column_copy(s, 0, r->route, sizeof(r->route)) == -1 ||
	    sqlutil_column_copy(s, 1, r->why, sizeof(r->why)) == -1) {
		log_warnx("%s: %s: %s", __func__, user, sqlite3_errmsg(rs->db));
		memset(r, 0, sizeof(*r));
		return PSTORE_ERR;
	}
	r->updated = sqlite3_column_int64(s, 2);
	r->direct_failed = sqlite3_column_int64(s, 3);
	sqlite3_reset(s);
	return PSTORE_OK;
}

enum pstore_rc
proute_put(struct proute_store *rs, const struct proute *r)
{
	sqlite3_stmt *s = sqlutil_reset(rs->st[S_PUT]);
	int rc;

	sqlite3_bind_text(s, 1, r->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, r->route, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, r->why, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, r->updated);
	sqlite3_bind_int64(s, 5, r->direct_failed);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: %s: %s", __func__, r->user, sqlite3_errmsg(rs->db));
		return PSTORE_ERR;
	}
	return PSTORE_OK;
}
