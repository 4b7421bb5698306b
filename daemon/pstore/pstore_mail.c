/*
 * The record of our deposits (pstore_mail.h): one row per message in
 * table mail_out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "pstore_mail.h"
#include "util.h"

int
pmail_note(struct pstore *ps, const char *id, const char *peer,
    int64_t deposit, const char *reason)
{
	return pmail_note_until(ps, id, peer, deposit, reason, 0);
}

int
pmail_note_until(struct pstore *ps, const char *id, const char *peer,
    int64_t deposit, const char *reason, int64_t expires)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(pstore_db(ps), "INSERT OR REPLACE INTO mail_out"
	    " (id, peer, deposit, reason, ts, expires) VALUES (?1, ?2, ?3, ?4,"
	    " ?5, ?6)", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 6, expires);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, deposit);
	sqlite3_bind_text(s, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, util_now_ms());
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int64_t
pmail_get(struct pstore *ps, const char *id, int64_t *ts, char *reason,
    size_t len)
{
	sqlite3_stmt *s;
	int64_t dep = -1;

	if (sqlite3_prepare_v2(pstore_db(ps), "SELECT deposit, ts, reason FROM"
	    " mail_out WHERE id = ?1", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		dep = sqlite3_column_int64(s, 0);
		if (ts != NULL)
			*ts = sqlite3_column_int64(s, 1);
		if (reason != NULL)
			snprintf(reason, len, "%s", (const char *)
			    sqlite3_column_text(s, 2));
	}
	sqlite3_finalize(s);
	return dep;
}

int
pmail_due(struct pstore *ps, int64_t before, int64_t retry, int limit,
    int (*fn)(const char *, const char *, void *), void *arg)
{
	char id[PMAIL_ID_MAX + 1], peer[P2P_USERNAME_MAX + 1];
	sqlite3_stmt *s;
	int rc;

	/*
	 * messages_queue (state, peer, seq) finds the pending ones. A
	 * recipient's messages are due only before its first one refused
	 * (or found online) after retry: a later message must not reach the
	 * mailbox, and the recipient, before an earlier one held back.
	 */
	if (sqlite3_prepare_v2(pstore_db(ps), "WITH held AS (SELECT o.peer,"
	    " min(e.seq) AS seq FROM mail_out o JOIN messages e ON e.id = o.id"
	    " WHERE o.deposit = 0 AND o.ts > ?2 AND e.state = 'pending'"
	    " GROUP BY o.peer) SELECT m.id, m.peer FROM messages m"
	    " LEFT JOIN mail_out o ON o.id = m.id"
	    " LEFT JOIN held h ON h.peer = m.peer WHERE m.state = 'pending' AND"
	    " m.direction = 'out' AND ((m.grp = '' AND m.ref = 0) OR"
	    " (m.grp <> '' AND m.ref <> 0)) AND"
	    " m.ts_sent <= ?1 AND (o.id IS NULL OR (o.deposit = 0 AND"
	    " o.ts <= ?2)) AND (h.seq IS NULL OR m.seq < h.seq)"
	    " ORDER BY m.seq LIMIT ?3", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, before);
	sqlite3_bind_int64(s, 2, retry);
	sqlite3_bind_int(s, 3, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(id, sizeof(id), "%s", (const char *)sqlite3_column_text(s,
		    0));
		snprintf(peer, sizeof(peer), "%s", (const char *)
		    sqlite3_column_text(s, 1));
		if (fn(id, peer, arg) == -1)
			break;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

long
pmail_expire(struct pstore *ps, int64_t now, const char *reason)
{
	/*
	 * First the later deposits for the same recipient (larger ids) are
	 * taken for expired too: the gestor deletes them with an expired one
	 * (gstore_sqlite.c), and, noted deposited still, they stayed out of
	 * the round while newer messages were deposited, which the recipient
	 * fetched first. The earliest expired deposit of each recipient is
	 * found in one pass (materialized once), not by a subquery per row,
	 * which read the whole table for each: 4 000 deposits waiting took a
	 * second of CPU a round, and deposits fell to 30 a second. (One
	 * statement for both steps would see its own changes: the earlier
	 * deposit, no longer one, would take nothing with it.)
	 */
	static const char *const sql[2] = {
		"UPDATE mail_out SET expires = 1 FROM (SELECT peer, min(deposit)"
		" AS earliest FROM mail_out WHERE deposit > 0 AND expires > 0 AND"
		" expires <= ?1 GROUP BY peer) AS e WHERE mail_out.peer = e.peer"
		" AND mail_out.deposit > e.earliest",
		"UPDATE mail_out SET deposit = 0, reason = ?2, ts = ?1,"
		" expires = 0 WHERE deposit > 0 AND expires > 0 AND expires <= ?1",
	};
	sqlite3_stmt *s;
	int i, rc = SQLITE_DONE;

	for (i = 0; i < 2 && rc == SQLITE_DONE; i++) {
		if (sqlite3_prepare_v2(pstore_db(ps), sql[i], -1, &s, NULL) !=
		    SQLITE_OK)
			return -1;
		sqlite3_bind_int64(s, 1, now);
		if (i == 1)
			sqlite3_bind_text(s, 2, reason, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_finalize(s);
	}
	return rc == SQLITE_DONE ? (long)sqlite3_changes(pstore_db(ps)) : -1;
}

long
pmail_rows(struct pstore *ps)
{
	sqlite3_stmt *s;
	long n = 0;

	if (sqlite3_prepare_v2(pstore_db(ps), "SELECT count(*) FROM mail_out",
	    -1, &s, NULL) != SQLITE_OK)
		return 1;	/* unknown: assume some */
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

int
pmail_forget(struct pstore *ps, const char *id, const char *peer)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(pstore_db(ps), "DELETE FROM mail_out WHERE"
	    " id = ?1 AND (?2 IS NULL OR peer = ?2)", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (peer != NULL)
		sqlite3_bind_text(s, 2, peer, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? sqlite3_changes(pstore_db(ps)) : -1;
}

long
pmail_deposited(struct pstore *ps)
{
	sqlite3_stmt *s;
	long n = 0;

	if (sqlite3_prepare_v2(pstore_db(ps), "SELECT count(*) FROM mail_out o"
	    " JOIN messages m ON m.id = o.id WHERE o.deposit > 0 AND"
	    " m.state = 'pending'", -1, &s, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* Deposits of group message id's member rows (id/MEMBER), still pending. */
static long
group_deposits(struct pstore *ps, const char *id)
{
	sqlite3_stmt *s;
	long n = 0;

	if (sqlite3_prepare_v2(pstore_db(ps), "SELECT count(*) FROM mail_out o"
	    " JOIN messages m ON m.id = o.id WHERE o.id > ?1 || '/' AND"
	    " o.id < ?1 || '0' AND o.deposit > 0 AND m.state = 'pending'", -1,
	    &s, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

const char *
pmail_state(struct pstore *ps, const struct pmsg *m, char *reason,
    size_t len)
{
	char rowid[PMAIL_ID_MAX + 1];

	if (reason != NULL && len > 0)
		*reason = '\0';
	if (strcmp(m->state, "pending") == 0 && m->outgoing &&
	    *m->group != '\0' && m->ref == 0 && reason != NULL) {
		/* A group's message: how many members' copies are deposited. */
		long n = group_deposits(ps, m->id);

		if (n > 0)
			snprintf(reason, len, "%s%s%ld in members' mailboxes at the "
			    "gestor", m->reason, *m->reason ? "; " : "", n);
		return m->state;
	}
	if (strcmp(m->state, "pending") != 0 || !m->outgoing ||
	    (*m->group != '\0' && m->ref == 0))
		return m->state;
	/* A group's delivery row to one member: MSGID/MEMBER. */
	snprintf(rowid, sizeof(rowid), "%s%s%s", m->id, *m->group != '\0' ?
	    "/" : "", *m->group != '\0' ? m->peer : "");
	if (pmail_get(ps, rowid, NULL, reason, len) > 0)
		return "deposited";
	return m->state;
}

int
pmail_forget_receipt(struct pstore *ps, const char *id, const char *peer)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(pstore_db(ps), "DELETE FROM mail_out WHERE"
	    " peer = ?2 AND (id = ?1 OR id = ?1 || '/' || ?2)", -1, &s,
	    NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, peer, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
pmail_done(struct pstore *ps, int limit,
    int (*fn)(const char *, int64_t, void *), void *arg)
{
	char id[PMAIL_ID_MAX + 1];
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(pstore_db(ps), "SELECT o.id, o.deposit FROM"
	    " mail_out o LEFT JOIN messages m ON m.id = o.id WHERE m.id IS NULL"
	    " OR (m.state <> 'pending' AND m.state <> 'held') LIMIT ?1", -1, &s,
	    NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int(s, 1, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(id, sizeof(id), "%s", (const char *)sqlite3_column_text(s,
		    0));
		if (fn(id, sqlite3_column_int64(s, 1), arg) == -1)
			break;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

long
pmail_group_deposited(struct pstore *ps, const char *group, const char *user)
{
	sqlite3_stmt *s;
	long n = -1;

	if (sqlite3_prepare_v2(pstore_db(ps), "SELECT count(*) FROM mail_out o"
	    " JOIN messages m ON m.id = o.id WHERE o.peer = ?2 AND"
	    " o.deposit > 0 AND m.state = 'pending' AND m.grp = ?1 AND"
	    " m.ref > 0", -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, user, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}
