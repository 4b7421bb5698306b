/*
 * Groups in the peer's store (see pstore_group.h): the groups and
 * group_members tables and the group rows of the messages table (schema
 * 9). Statements are prepared once in pgroup_open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "pstore_group.h"
#include "sqlutil.h"
#include "util.h"

enum gstmt {
	G_GET,
	G_FIND_ID,
	G_FIND_TITLE,
	G_TITLE_TAKEN,
	G_LIST,
	G_MEMBERS,
	G_IS_MEMBER,
	G_PUT,
	G_DEL_MEMBERS,
	G_ADD_MEMBER,
	G_QUEUE,
	G_DROP,
	G_DELIVERIES,
	G_UNDELIVERED,
	G_LEAVE,
	G__MAX
};

#define GCOLS "g.id, g.title, g.admin, g.version, g.member, g.updated," \
	" (SELECT count(*) FROM group_members m WHERE m.grp = g.id)"

static const char *const gsql[G__MAX] = {
	[G_GET] = "SELECT " GCOLS ", g.list, g.sig FROM groups g WHERE g.id = ?1",
	/* Ids are hex: ?1 || 'g' sorts after every id that starts with ?1. */
	[G_FIND_ID] = "SELECT " GCOLS " FROM groups g WHERE g.id >= ?1 AND"
	    " g.id < ?1 || 'g' ORDER BY g.id LIMIT 2",
	[G_FIND_TITLE] = "SELECT " GCOLS " FROM groups g WHERE g.title = ?1"
	    " ORDER BY g.member DESC, g.id LIMIT 2",
	[G_TITLE_TAKEN] = "SELECT count(*) FROM groups WHERE title = ?1 AND"
	    " id <> ?2 AND member <> 0",
	[G_LIST] = "SELECT " GCOLS " FROM groups g ORDER BY g.title, g.id",
	[G_MEMBERS] = "SELECT user FROM group_members WHERE grp = ?1"
	    " ORDER BY user",
	[G_IS_MEMBER] = "SELECT count(*) FROM group_members WHERE grp = ?1 AND"
	    " user = ?2",
	[G_PUT] = "INSERT INTO groups (id, title, admin, version, list, sig,"
	    " member, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
	    " ON CONFLICT (id) DO UPDATE SET title = excluded.title, admin ="
	    " excluded.admin, version = excluded.version, list = excluded.list,"
	    " sig = excluded.sig, member = excluded.member, updated ="
	    " excluded.updated",
	[G_DEL_MEMBERS] = "DELETE FROM group_members WHERE grp = ?1",
	[G_ADD_MEMBER] = "INSERT OR IGNORE INTO group_members (grp, user)"
	    " VALUES (?1, ?2)",
	[G_QUEUE] = "INSERT INTO messages (id, peer, direction, body, ts_sent,"
	    " state, expires, grp, ref) VALUES (?1, ?2, 'out', '', ?3,"
	    " 'pending', ?4, ?5, ?6)",
	/* Through the queue's index (PSTORE_QUEUED word for word). */
	[G_DROP] = "UPDATE messages SET state = 'failed', reason = 'no longer"
	    " a member of the group' WHERE " PSTORE_QUEUED " AND grp = ?1 AND"
	    " ref > 0 AND direction = 'out'"
	    " AND (NOT EXISTS (SELECT 1 FROM groups g WHERE g.id = ?1 AND"
	    " g.member <> 0) OR peer NOT IN (SELECT user FROM group_members"
	    " WHERE grp = ?1))",
	/* The rows msgid/member: ids between msgid '/' and msgid '0'. */
	[G_DELIVERIES] = "SELECT peer, seq, state, reason FROM messages WHERE"
	    " id > ?1 || '/' AND id < ?1 || '0' AND ref > 0 ORDER BY id",
	[G_LEAVE] = "UPDATE groups SET member = 0, updated = ?2 WHERE id = ?1",
	[G_UNDELIVERED] = "SELECT count(*) FROM messages WHERE " PSTORE_QUEUED
	    " AND peer = ?2 AND grp = ?1 AND ref > 0",
};

struct pgroup_store {
	struct pstore	*ps;
	sqlite3		*db;
	sqlite3_stmt	*st[G__MAX];
};

struct pgroup_store *
pgroup_open(struct pstore *ps, char **cause)
{
	struct pgroup_store *gs = xcalloc(1, sizeof(*gs));

	gs->ps = ps;
	gs->db = pstore_db(ps);
	if (sqlutil_prepare(gs->db, "peer store", gsql, gs->st, G__MAX,
	    cause) == -1) {
		pgroup_close(gs);
		return NULL;
	}
	return gs;
}

void
pgroup_close(struct pgroup_store *gs)
{
	if (gs == NULL)
		return;
	sqlutil_finalize(gs->st, G__MAX);
	free(gs);
}

static sqlite3_stmt *
st(struct pgroup_store *gs, enum gstmt s)
{
	return sqlutil_reset(gs->st[s]);
}

static enum pstore_rc
fail(struct pgroup_store *gs, const char *what)
{
	log_warnx("pstore_group: %s: %s", what, sqlite3_errmsg(gs->db));
	pstore_note_error(gs->ps);
	return PSTORE_ERR;
}

static enum pstore_rc
run(struct pgroup_store *gs, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? PSTORE_OK : fail(gs, what);
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static void
group_row(sqlite3_stmt *s, struct pgroup *g)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->id, sizeof(g->id), "%s", sqlite3_column_text(s, 0));
	snprintf(g->title, sizeof(g->title), "%s", sqlite3_column_text(s, 1));
	util_utf8_trim(g->title);
	snprintf(g->admin, sizeof(g->admin), "%s", sqlite3_column_text(s, 2));
	g->version = sqlite3_column_int64(s, 3);
	g->member = sqlite3_column_int(s, 4) != 0;
	g->updated = sqlite3_column_int64(s, 5);
	g->nmembers = sqlite3_column_int(s, 6);
}

enum pstore_rc
pgroup_get(struct pgroup_store *gs, const char *id, struct pgroup *g,
    char **list, char **sig)
{
	sqlite3_stmt *s = st(gs, G_GET);
	int rc;

	bind_text(s, 1, id);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		group_row(s, g);
		if (list != NULL)
			*list = xstrdup((const char *)sqlite3_column_text(s, 7));
		if (sig != NULL)
			*sig = xstrdup((const char *)sqlite3_column_text(s, 8));
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return PSTORE_NOTFOUND;
	return rc == SQLITE_ROW ? PSTORE_OK : fail(gs, "get");
}

/* Up to two rows of s: *n of them, the first in g. */
static enum pstore_rc
find_rows(struct pgroup_store *gs, sqlite3_stmt *s, struct pgroup *g, int *n)
{
	int rc;

	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((*n)++ == 0)
			group_row(s, g);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return fail(gs, "find");
	return *n == 0 ? PSTORE_NOTFOUND : *n == 1 ? PSTORE_OK : PSTORE_EXISTS;
}

static bool
all_hex(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

enum pstore_rc
pgroup_find(struct pgroup_store *gs, const char *what, struct pgroup *g,
    int *n)
{
	sqlite3_stmt *s;
	enum pstore_rc rc;

	*n = 0;
	if (all_hex(what) && strlen(what) <= P2P_MSGID_HEX) {
		s = st(gs, G_FIND_ID);
		bind_text(s, 1, what);
		rc = find_rows(gs, s, g, n);
		if (rc != PSTORE_NOTFOUND)
			return rc;
	}
	s = st(gs, G_FIND_TITLE);
	bind_text(s, 1, what);
	return find_rows(gs, s, g, n);
}

int
pgroup_title_taken(struct pgroup_store *gs, const char *title,
    const char *except_id)
{
	sqlite3_stmt *s = st(gs, G_TITLE_TAKEN);
	int n = -1;

	bind_text(s, 1, title);
	bind_text(s, 2, except_id != NULL ? except_id : "");
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0) > 0;
	sqlite3_reset(s);
	if (n == -1)
		fail(gs, "title");
	return n;
}

enum pstore_rc
pgroup_foreach(struct pgroup_store *gs, int (*fn)(const struct pgroup *,
    void *), void *arg)
{
	sqlite3_stmt *s = st(gs, G_LIST);
	struct pgroup g;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		group_row(s, &g);
		if (fn(&g, arg) == -1)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PSTORE_OK :
	    fail(gs, "list");
}

enum pstore_rc
pgroup_members(struct pgroup_store *gs, const char *id,
    int (*fn)(const char *, void *), void *arg)
{
	sqlite3_stmt *s = st(gs, G_MEMBERS);
	char user[P2P_USERNAME_MAX + 1];
	int rc;

	bind_text(s, 1, id);
	/* Copy each name first: fn may run other statements. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(user, sizeof(user), "%s", sqlite3_column_text(s, 0));
		if (fn(user, arg) == -1)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PSTORE_OK :
	    fail(gs, "members");
}

int
pgroup_is_member(struct pgroup_store *gs, const char *id, const char *user)
{
	sqlite3_stmt *s = st(gs, G_IS_MEMBER);
	int n = -1;

	bind_text(s, 1, id);
	bind_text(s, 2, user);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0) > 0;
	sqlite3_reset(s);
	if (n == -1)
		fail(gs, "is member");
	return n;
}

enum pstore_rc
pgroup_put(struct pgroup_store *gs, const struct pgroup *g, const char *list,
    const char *sig, const char *const *members, int nmembers, bool member)
{
	sqlite3_stmt *s = st(gs, G_PUT);
	int i;

	bind_text(s, 1, g->id);
	bind_text(s, 2, g->title);
	bind_text(s, 3, g->admin);
	sqlite3_bind_int64(s, 4, g->version);
	bind_text(s, 5, list);
	bind_text(s, 6, sig);
	sqlite3_bind_int(s, 7, member ? 1 : 0);
	sqlite3_bind_int64(s, 8, util_now_ms());
	if (run(gs, s, "put") != PSTORE_OK)
		return PSTORE_ERR;
	s = st(gs, G_DEL_MEMBERS);
	bind_text(s, 1, g->id);
	if (run(gs, s, "put members") != PSTORE_OK)
		return PSTORE_ERR;
	for (i = 0; i < nmembers; i++) {
		s = st(gs, G_ADD_MEMBER);
		bind_text(s, 1, g->id);
		bind_text(s, 2, members[i]);
		if (run(gs, s, "put member") != PSTORE_OK)
			return PSTORE_ERR;
	}
	return PSTORE_OK;
}

static enum pstore_rc
queue_row(struct pgroup_store *gs, const char *id, const char *key,
    const char *user, int64_t ts, int64_t expires, int64_t ref)
{
	sqlite3_stmt *s = st(gs, G_QUEUE);
	char rowid[P2P_MSGID_HEX + P2P_USERNAME_MAX + 2];

	snprintf(rowid, sizeof(rowid), "%s/%s", key, user);
	bind_text(s, 1, rowid);
	bind_text(s, 2, user);
	sqlite3_bind_int64(s, 3, ts);
	sqlite3_bind_int64(s, 4, expires);
	bind_text(s, 5, id);
	sqlite3_bind_int64(s, 6, ref);
	return run(gs, s, "queue");
}

enum pstore_rc
pgroup_queue_list(struct pgroup_store *gs, const char *id, const char *user,
    const char *lid, int64_t ts, int64_t *seq)
{
	if (queue_row(gs, id, lid, user, ts, 0, PGROUP_REF_LIST) != PSTORE_OK)
		return PSTORE_ERR;
	*seq = sqlite3_last_insert_rowid(gs->db);
	return PSTORE_OK;
}

enum pstore_rc
pgroup_leave(struct pgroup_store *gs, const char *id, const char *admin,
    const char *lid, int64_t ts)
{
	sqlite3_stmt *s = st(gs, G_LEAVE);
	int n;

	bind_text(s, 1, id);
	sqlite3_bind_int64(s, 2, ts);
	if (run(gs, s, "leave") != PSTORE_OK ||
	    pgroup_drop_removed(gs, id, &n) != PSTORE_OK)
		return PSTORE_ERR;
	return queue_row(gs, id, lid, admin, ts, 0, PGROUP_REF_LEAVE);
}

enum pstore_rc
pgroup_queue_msg(struct pgroup_store *gs, const char *id, const char *msgid,
    const char *user, int64_t bseq, int64_t ts, int64_t expires, int64_t *seq)
{
	if (queue_row(gs, id, msgid, user, ts, expires, bseq) != PSTORE_OK)
		return PSTORE_ERR;
	*seq = sqlite3_last_insert_rowid(gs->db);
	return PSTORE_OK;
}

enum pstore_rc
pgroup_drop_removed(struct pgroup_store *gs, const char *id, int *n)
{
	sqlite3_stmt *s = st(gs, G_DROP);

	bind_text(s, 1, id);
	if (run(gs, s, "drop removed") != PSTORE_OK)
		return PSTORE_ERR;
	*n = sqlite3_changes(gs->db);
	return PSTORE_OK;
}

enum pstore_rc
pgroup_deliveries(struct pgroup_store *gs, const char *msgid,
    int (*fn)(const char *, int64_t, const char *, const char *, void *),
    void *arg)
{
	sqlite3_stmt *s = st(gs, G_DELIVERIES);
	char user[P2P_USERNAME_MAX + 1], state[16], reason[400];
	int rc;

	bind_text(s, 1, msgid);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(user, sizeof(user), "%s", sqlite3_column_text(s, 0));
		snprintf(state, sizeof(state), "%s", sqlite3_column_text(s, 2));
		snprintf(reason, sizeof(reason), "%s", sqlite3_column_text(s, 3));
		util_utf8_trim(reason);
		if (fn(user, sqlite3_column_int64(s, 1), state, reason, arg) == -1)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PSTORE_OK :
	    fail(gs, "deliveries");
}

long
pgroup_undelivered(struct pgroup_store *gs, const char *id, const char *user)
{
	sqlite3_stmt *s = st(gs, G_UNDELIVERED);
	long n = -1;

	bind_text(s, 1, id);
	bind_text(s, 2, user);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return n;
}
