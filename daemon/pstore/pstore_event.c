/*
 * The event log of the peer store (see pstore_event.h). A received or
 * delivered message used to store its event as JSON, the body copied a
 * second time (11% of the recipient's CPU with the JSON printing); the
 * event now holds the message's seq and pevent_since prints the same
 * bytes from the message row, which does not change once its event is
 * written.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "sqlutil.h"
#include "pstore_event.h"
#include "util.h"

enum { E_ADD, E_REF, E_SINCE, E_LAST, E__MAX };

static const char *const esql[E__MAX] = {
	[E_ADD] = "INSERT INTO events (type, data) VALUES (?1, ?2)",
	[E_REF] = "INSERT INTO events (type, data, msg) VALUES (?1, '', ?2)",
	/* A group message's event names its group (schema 9). */
	[E_SINCE] = "SELECT e.seq, e.type, e.data, e.msg, m.id, m.peer,"
	    " m.body, m.ts_sent, m.ts_received, m.grp, CASE WHEN m.grp <> ''"
	    " THEN (SELECT g.title FROM groups g WHERE g.id = m.grp) END"
	    " FROM events e LEFT JOIN messages m"
	    " ON m.seq = e.msg WHERE e.seq > ?1 ORDER BY e.seq",
	[E_LAST] = "SELECT coalesce(max(seq), 0) FROM events",
};

struct pevent {
	struct pstore	*ps;
	sqlite3		*db;
	sqlite3_stmt	*st[E__MAX];
};

struct pevent *
pevent_open(struct pstore *ps, char **cause)
{
	struct pevent *e = xcalloc(1, sizeof(*e));

	e->ps = ps;
	e->db = pstore_db(ps);
	if (sqlutil_prepare(e->db, "peer store", esql, e->st, E__MAX,
	    cause) == -1) {
		pevent_close(e);
		return NULL;
	}
	return e;
}

void
pevent_close(struct pevent *e)
{
	if (e == NULL)
		return;
	sqlutil_finalize(e->st, E__MAX);
	free(e);
}

/* Step an INSERT into events; *seq gets the new row's seq. */
static enum pstore_rc
pevent_insert(struct pevent *e, sqlite3_stmt *s, int64_t *seq)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		log_warnx("pstore_event: %s", sqlite3_errmsg(e->db));
		pstore_note_error(e->ps);
		return PSTORE_ERR;
	}
	*seq = sqlite3_last_insert_rowid(e->db);
	return PSTORE_OK;
}

enum pstore_rc
pevent_add(struct pevent *e, const char *type, const char *json,
    int64_t *seq)
{
	sqlite3_stmt *s = sqlutil_reset(e->st[E_ADD]);

	sqlite3_bind_text(s, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, json, -1, SQLITE_STATIC);
	return pevent_insert(e, s, seq);
}

enum pstore_rc
pevent_put(struct pevent *e, const char *type, struct jsonw *w, int64_t *seq)
{
	sqlite3_stmt *s = sqlutil_reset(e->st[E_ADD]);
	enum pstore_rc rc = PSTORE_ERR;

	jsonw_close(w);
	if (jsonw_ok(w) == 0 && jsonw_len(w) <= INT32_MAX) {
		sqlite3_bind_text(s, 1, type, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, jsonw_data(w), (int)jsonw_len(w),
		    SQLITE_STATIC);
		rc = pevent_insert(e, s, seq);
	}
	jsonw_free(w);
	return rc;
}

enum pstore_rc
pevent_ref(struct pevent *e, const char *type, int64_t msg, int64_t *seq)
{
	sqlite3_stmt *s = sqlutil_reset(e->st[E_REF]);

	sqlite3_bind_text(s, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, msg);
	return pevent_insert(e, s, seq);
}

int64_t
pevent_last_seq(struct pevent *e)
{
	sqlite3_stmt *s = sqlutil_reset(e->st[E_LAST]);
	int64_t seq = -1;

	if (sqlite3_step(s) == SQLITE_ROW)
		seq = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return seq;
}

/*
 * The JSON of an event that refers to its message, from the message
 * row of E_SINCE (id, peer, body, ts_sent, ts_received): the bytes
 * pmsg_receive and pmsg_delivered stored before schema 7. A message
 * event's ts is the (clamped) ts_sent, a delivered event's the delivery
 * time, which pmsg_delivered stored as ts_received.
 */
static void
pevent_group(sqlite3_stmt *s, const char *grp, struct jsonw *w)
{
	const char *title = (const char *)sqlite3_column_text(s, 10);

	if (grp == NULL || *grp == '\0')
		return;
	jsonw_open(w, "group");
	jsonw_str(w, "id", grp);
	if (title != NULL)
		jsonw_str(w, "title", title);
	else
		jsonw_null(w, "title");
	jsonw_close(w);
}

static void
pevent_json(sqlite3_stmt *s, const char *type, struct jsonw *w)
{
	const char *id = (const char *)sqlite3_column_text(s, 4);
	const char *peer = (const char *)sqlite3_column_text(s, 5);
	const char *body = (const char *)sqlite3_column_text(s, 6);
	const char *grp = (const char *)sqlite3_column_text(s, 9);
	/* A member's delivery row is ID/member: the message's id is ID. */
	size_t idlen = id != NULL ? strcspn(id, "/") : 0;

	if (id == NULL || peer == NULL || body == NULL)
		return;		/* no such message: jsonw_ok fails */
	if (strcmp(type, "message") == 0) {
		jsonw_open(w, NULL);
		jsonw_str(w, "from", peer);
		jsonw_strn(w, "id", id, idlen);
		jsonw_int(w, "ts", sqlite3_column_int64(s, 7));
		jsonw_strn(w, "text", body, (size_t)sqlite3_column_bytes(s, 6));
		pevent_group(s, grp, w);
		jsonw_close(w);
	} else if (strcmp(type, "delivered") == 0) {
		jsonw_open(w, NULL);
		jsonw_str(w, "user", peer);
		jsonw_strn(w, "id", id, idlen);
		jsonw_int(w, "ts", sqlite3_column_int64(s, 8));
		pevent_group(s, grp, w);
		jsonw_close(w);
	}
}

/* Call fn for the current row of E_SINCE; its return value. */
static int
pevent_row(sqlite3_stmt *s, int (*fn)(int64_t, const char *, const char *,
    void *), void *arg)
{
	const char *type = (const char *)sqlite3_column_text(s, 1);
	const char *data = (const char *)sqlite3_column_text(s, 2);
	struct jsonw w;
	int ret;

	if (type == NULL || data == NULL)
		return 0;	/* cannot happen: NOT NULL columns */
	if (sqlite3_column_type(s, 3) == SQLITE_NULL)
		return fn(sqlite3_column_int64(s, 0), type, data, arg);
	jsonw_init(&w);
	pevent_json(s, type, &w);
	if (jsonw_ok(&w) != 0)
		log_warnx("pstore_event: event %lld: no message %lld",
		    (long long)sqlite3_column_int64(s, 0),
		    (long long)sqlite3_column_int64(s, 3));
	ret = fn(sqlite3_column_int64(s, 0), type,
	    jsonw_ok(&w) == 0 ? jsonw_cstr(&w) : "{}", arg);
	jsonw_free(&w);
	return ret;
}

enum pstore_rc
pevent_since(struct pevent *e, int64_t after,
    int (*fn)(int64_t, const char *, const char *, void *), void *arg)
{
	sqlite3_stmt *s = sqlutil_reset(e->st[E_SINCE]);
	int rc;

	sqlite3_bind_int64(s, 1, after);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (pevent_row(s, fn, arg) == -1)
			break;
	sqlite3_reset(s);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return PSTORE_OK;
	log_warnx("pstore_event: %s", sqlite3_errmsg(e->db));
	pstore_note_error(e->ps);
	return PSTORE_ERR;
}
