/*
 * Message storage for the peer. Every statement is prepared once in
 * pmsg_open; writes that belong together run in one transaction, and
 * the receive and delivered paths run inside the caller's transaction so
 * that a whole loop turn of frames is one commit (group commit). Per
 * message (schema 7) the sender writes its row (the queue is a partial
 * index on it) and on the ack updates it and adds an event that refers
 * to it; the recipient writes its row and such an event. Chat rows are
 * pstore_chat.c's (once per chat per commit), the event log
 * pstore_event.c's. The queue's queries are pstore_queue.c's, history
 * and the reads of chats and events pstore_history.c's.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "jsonw.h"
#include "log.h"
#include "sqlutil.h"
#include "pstore_chat.h"
#include "pstore_event.h"
#include "pstore_msg_int.h"
#include "util.h"

/* The columns pmsg_row reads, in its order. */
#define MCOLS "seq, id, peer, direction, body, ts_sent, ts_received, state," \
	" reason, expires"
/*
 * The same with a group delivery row's body: its message's (ref > 0) or
 * the group's newest list and signature (ref -1).
 */
#define MCOLS_M "m.seq, m.id, m.peer, m.direction, CASE WHEN m.ref = 0 THEN" \
	" m.body WHEN m.ref > 0 THEN (SELECT b.body FROM messages b WHERE" \
	" b.seq = m.ref) WHEN m.ref = -1 THEN (SELECT g.list || char(10) ||" \
	" g.sig FROM groups g WHERE g.id = m.grp) ELSE '' END, m.ts_sent," \
	" m.ts_received, m.state, m.reason," \
	" m.expires, m.grp, m.ref"
/*
 * An outgoing message that is not finished. ORs, not IN: SQLite builds
 * an ephemeral b-tree for an IN list in every execution (migration 6).
 */
#define OPEN_OUT "(state = 'pending' OR state = 'sent' OR state = 'held')"
#define QUEUED_M "(m.state = 'pending' OR m.state = 'held')"
#define QUEUED_PLUS "(+state = 'pending' OR +state = 'held')"
/* queue_retry's column c for message m if the note covers it, else dflt. */
#define RETRY_OF(c, dflt) "CASE WHEN m.seq <= r.upto THEN r." c " ELSE " \
	dflt " END"

static const char *const sql[S__MAX] = {
	[S_INSERT] = "INSERT INTO messages (id, peer, direction, body, ts_sent,"
	    " ts_received, state, reason, expires) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7, ?8, ?9)",
	/* A pending message's reason is why its queue waits (RETRY_OF). */
	[S_GET] = "SELECT m.seq, m.id, m.peer, m.direction, m.body, m.ts_sent,"
	    " m.ts_received, m.state, CASE WHEN m.state = 'pending' THEN"
	    " coalesce((SELECT r.reason FROM queue_retry r WHERE r.peer ="
	    " m.peer AND m.seq <= r.upto), '') ELSE m.reason END, m.expires,"
	    " m.grp, m.ref FROM messages m WHERE m.id = ?1",
	[S_RECEIVE] = "INSERT OR IGNORE INTO messages (id, peer, direction, body,"
	    " ts_sent, ts_received, state, grp) VALUES (?1, ?2, 'in', ?3, ?4, ?5,"
	    " 'received', ?6)",
	[S_DELIVERED] = "UPDATE messages SET state = 'delivered', ts_received = ?2,"
	    " reason = '' WHERE id = ?1 AND peer = ?3 AND direction = 'out' AND"
	    " " OPEN_OUT,
	/* Not RETURNING: SQLite keeps returned rows in an ephemeral table. */
	[S_SEQ_OF] = "SELECT seq, ref, grp FROM messages WHERE id = ?1",
	/* The message id holds is one received from peer (in group grp). */
	[S_SAME_IN] = "SELECT EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND"
	    " peer = ?2 AND direction = 'in' AND grp = ?3)",
	/* A group message's delivery row to peer is ID/peer (schema 9). */
	[S_GDELIVERED] = "UPDATE messages SET state = 'delivered', ts_received ="
	    " ?2, reason = '' WHERE id = ?1 || '/' || ?3 AND peer = ?3 AND"
	    " direction = 'out' AND " OPEN_OUT,
	[S_GSEQ_OF] = "SELECT seq, ref, grp FROM messages WHERE"
	    " id = ?1 || '/' || ?2",
	[S_FAILED] = "UPDATE messages SET state = ?2, reason = ?3 WHERE id = ?1"
	    " AND direction = 'out' AND " OPEN_OUT,
	/*
	 * The queue is the partial index messages_queue (schema 7). An
	 * expired message is never sent, even before on_expiry runs.
	 */
	[S_PENDING_FOR] = "SELECT " MCOLS_M " FROM messages m WHERE"
	    " m.state = 'pending' AND m.peer = ?1 AND m.seq > ?2 AND"
	    " (m.expires = 0 OR m.expires > ?4) ORDER BY m.seq LIMIT ?3",
	[S_PENDING_ALL] = "SELECT " MCOLS_M ", " RETRY_OF("attempts", "0") ","
	    " " RETRY_OF("next_try", "0") ", " RETRY_OF("reason", "''")
	    " FROM messages m LEFT JOIN queue_retry r ON r.peer = m.peer"
	    " WHERE " QUEUED_M " ORDER BY m.seq",
	[S_PENDING_PEERS] = "SELECT DISTINCT peer FROM messages"
	    " WHERE state = 'pending'",
	/* The note applies to the messages queued now (seq <= upto). */
	[S_PENDING_NOTE] = "INSERT INTO queue_retry (peer, attempts, next_try,"
	    " reason, upto) VALUES (?1, ?2, ?3, ?4, (SELECT coalesce(max(seq), 0)"
	    " FROM messages)) ON CONFLICT (peer) DO UPDATE SET attempts ="
	    " excluded.attempts, next_try = excluded.next_try, reason ="
	    " excluded.reason, upto = excluded.upto",
	[S_COUNT] = "SELECT count(*) FROM messages WHERE state = ?1",
	/* The same through the partial indexes messages_queue, _ended. */
	[S_COUNT_QUEUED] = "SELECT count(*) FROM messages WHERE state = ?1 AND "
	    PSTORE_QUEUED,
	[S_COUNT_ENDED] = "SELECT count(*) FROM messages WHERE state = ?1 AND "
	    PSTORE_ENDED,
	/* One statement per direction: a literal state uses messages_queue. */
	[S_HOLD] = "UPDATE messages SET state = 'held', reason = ?2 WHERE"
	    " state = 'pending' AND peer = ?1 AND direction = 'out'",
	[S_RELEASE] = "UPDATE messages SET state = 'pending', reason = '' WHERE"
	    " state = 'held' AND peer = ?1 AND direction = 'out'",
	[S_FINISH] = "SELECT " MCOLS ", grp, ref FROM messages WHERE id = ?1 AND"
	    " direction = 'out' AND " OPEN_OUT,
	/* Through messages_expires: "+state" keeps messages_queue out. */
	[S_NEXT_EXPIRY] = "SELECT min(expires) FROM messages WHERE expires > 0"
	    " AND " QUEUED_PLUS,
	[S_EXPIRED] = "SELECT " MCOLS ", grp, ref FROM messages WHERE expires > 0 AND"
	    " expires <= ?1 AND " QUEUED_PLUS " ORDER BY seq",
	/* Sent to a group: the one body row, delivered by its members' rows. */
	[S_GROUP_PUT] = "INSERT INTO messages (id, peer, direction, body, ts_sent,"
	    " state, expires, grp) VALUES (?1, ?2, 'out', ?3, ?4, 'sent', ?5, ?6)",
	/* By the sender's time, then id (no order across senders). */
	[S_GROUP_HISTORY] = "SELECT * FROM (SELECT " MCOLS ", grp, ref FROM"
	    " messages WHERE grp = ?1 AND grp <> '' AND ref = 0 ORDER BY"
	    " ts_sent DESC, id DESC LIMIT ?2) ORDER BY ts_sent, id",
	/* A group message's deliveries: its rows ID/member (schema 9). */
	[S_GROUP_STATE] = "SELECT count(*), coalesce(sum(state = 'delivered'),"
	    " 0), coalesce(sum(state = 'pending'), 0), coalesce(sum(state ="
	    " 'held'), 0) FROM messages WHERE id > ?1 || '/' AND id < ?1 || '0'"
	    " AND ref > 0",
	[S_GROUP_BAD] = "SELECT peer, state, reason FROM messages WHERE"
	    " id > ?1 || '/' AND id < ?1 || '0' AND ref > 0 AND (+state ="
	    " 'failed' OR +state = 'cancelled' OR +state = 'expired')"
	    " ORDER BY id LIMIT 1",	/* ID/member: by member, on id's index */
	[S_GROUP_FINISH] = "UPDATE messages SET state = ?2, reason = ?3 WHERE"
	    " id > ?1 || '/' AND id < ?1 || '0' AND ref > 0 AND"
	    " (state = 'pending' OR state = 'held')",
	[S_HISTORY] = "SELECT * FROM (SELECT " MCOLS " FROM messages"
	    " WHERE peer = ?1 AND grp = '' ORDER BY seq DESC LIMIT ?2)"
	    " ORDER BY seq",
	/* What a deposit seals (pstore_queue.c pmsg_sealable). */
	[S_SEALABLE] = "SELECT m.grp, m.ref, m.ts_sent, CASE WHEN m.ref = 0"
	    " THEN m.body WHEN m.ref > 0 THEN (SELECT b.body FROM messages b"
	    " WHERE b.seq = m.ref) WHEN m.ref = -1 THEN (SELECT g.list FROM"
	    " groups g WHERE g.id = m.grp) ELSE '' END, (SELECT g.sig FROM"
	    " groups g WHERE g.id = m.grp) FROM messages m WHERE m.id = ?1 AND"
	    " m.direction = 'out' AND m.state = 'pending'",
};

struct pmsg_store *
pmsg_open(struct pstore *ps, char **cause)
{
	struct pmsg_store *ms = xcalloc(1, sizeof(*ms));

	ms->ps = ps;
	ms->db = pstore_db(ps);
	if (sqlutil_prepare(ms->db, "peer store", sql, ms->st, S__MAX,
	    cause) == -1 || (ms->chat = pchat_open(ps, cause)) == NULL ||
	    (ms->ev = pevent_open(ps, cause)) == NULL) {
		pmsg_close(ms);
		return NULL;
	}
	return ms;
}

void
pmsg_close(struct pmsg_store *ms)
{
	if (ms == NULL)
		return;
	pchat_close(ms->chat);
	pevent_close(ms->ev);
	sqlutil_finalize(ms->st, S__MAX);
	free(ms);
}

/* The statement, reset and unbound, ready for new parameters. */
sqlite3_stmt *
pmsg_st(struct pmsg_store *ms, enum stmt s)
{
	return sqlutil_reset(ms->st[s]);
}

enum pstore_rc
pmsg_fail(struct pmsg_store *ms, const char *what)
{
	log_warnx("pstore_msg: %s: %s", what, sqlite3_errmsg(ms->db));
	pstore_note_error(ms->ps);
	return PSTORE_ERR;
}

/* Run a statement that returns no rows. */
enum pstore_rc
pmsg_run(struct pmsg_store *ms, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? PSTORE_OK : pmsg_fail(ms, what);
}

void
pmsg_bind(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Fill m from a row of MCOLS; reason and expires only if selected. */
void
pmsg_row(sqlite3_stmt *s, struct pmsg *m)
{
	const unsigned char *reason;

	memset(m, 0, sizeof(*m));
	m->seq = sqlite3_column_int64(s, 0);
	snprintf(m->id, sizeof(m->id), "%s", sqlite3_column_text(s, 1));
	snprintf(m->peer, sizeof(m->peer), "%s", sqlite3_column_text(s, 2));
	m->outgoing = strcmp((const char *)sqlite3_column_text(s, 3), "out") == 0;
	m->body = (const char *)sqlite3_column_text(s, 4);
	m->body_len = (size_t)sqlite3_column_bytes(s, 4);
	m->ts_sent = sqlite3_column_int64(s, 5);
	m->ts_received = sqlite3_column_int64(s, 6);
	snprintf(m->state, sizeof(m->state), "%s", sqlite3_column_text(s, 7));
	if (sqlite3_column_count(s) < 10)
		return;
	if ((reason = sqlite3_column_text(s, 8)) != NULL) {
		snprintf(m->reason, sizeof(m->reason), "%s", reason);
		util_utf8_trim(m->reason);
	}
	m->expires = sqlite3_column_int64(s, 9);
	if (sqlite3_column_count(s) < 12)
		return;
	snprintf(m->group, sizeof(m->group), "%s", sqlite3_column_text(s, 10));
	m->ref = sqlite3_column_int64(s, 11);
}

/*
 * The state of a message we sent to a group, from its members' rows:
 * pending (or held) while one is, delivered once all are (or when there
 * was nobody to deliver to), else the first member's end that was not a
 * delivery (failed, cancelled, expired) with "member: reason".
 */
static enum pstore_rc
group_state(struct pmsg_store *ms, struct pmsg *m)
{
	sqlite3_stmt *s = pmsg_st(ms, S_GROUP_STATE);
	int64_t n = 0, delivered = 0, pending = 0, held = 0;
	int rc;

	pmsg_bind(s, 1, m->id);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		n = sqlite3_column_int64(s, 0);
		delivered = sqlite3_column_int64(s, 1);
		pending = sqlite3_column_int64(s, 2);
		held = sqlite3_column_int64(s, 3);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return pmsg_fail(ms, "group state");
	*m->reason = '\0';
	if (pending > 0 || held > 0) {
		snprintf(m->state, sizeof(m->state), "%s", pending > 0 ?
		    "pending" : "held");
		snprintf(m->reason, sizeof(m->reason), "%lld of %lld members "
		    "have it", (long long)delivered, (long long)n);
		return PSTORE_OK;
	}
	snprintf(m->state, sizeof(m->state), "delivered");
	if (delivered == n)
		return PSTORE_OK;
	s = pmsg_st(ms, S_GROUP_BAD);
	pmsg_bind(s, 1, m->id);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(m->state, sizeof(m->state), "%s",
		    sqlite3_column_text(s, 1));
		snprintf(m->reason, sizeof(m->reason), "%s: %s",
		    sqlite3_column_text(s, 0), sqlite3_column_text(s, 2));
		util_utf8_trim(m->reason);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PSTORE_OK :
	    pmsg_fail(ms, "group state");
}

enum pstore_rc
pmsg_get(struct pmsg_store *ms, const char *id, struct pmsg *m, char **body)
{
	sqlite3_stmt *s = pmsg_st(ms, S_GET);
	int rc;

	pmsg_bind(s, 1, id);
	if ((rc = sqlite3_step(s)) == SQLITE_DONE) {
		sqlite3_reset(s);
		return PSTORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return pmsg_fail(ms, "get");
	}
	pmsg_row(s, m);
	if (body != NULL)
		*body = xstrdup(m->body);
	m->body = NULL;
	sqlite3_reset(s);
	if (*m->group != '\0' && m->outgoing && m->ref == 0)
		return group_state(ms, m);
	return PSTORE_OK;
}

enum pstore_rc
pmsg_queue_in(struct pmsg_store *ms, const struct pmsg *m, struct pmsg *existing,
    char **existing_body)
{
	sqlite3_stmt *s = pmsg_st(ms, S_INSERT);
	int rc;

	pmsg_bind(s, 1, m->id);
	pmsg_bind(s, 2, m->peer);
	pmsg_bind(s, 3, "out");
	sqlite3_bind_text(s, 4, m->body, (int)m->body_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, m->ts_sent);
	sqlite3_bind_int64(s, 6, 0);
	pmsg_bind(s, 7, m->state);
	pmsg_bind(s, 8, m->reason);
	sqlite3_bind_int64(s, 9, m->expires);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	/* Only this statement is undone; the transaction goes on. */
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return pmsg_get(ms, m->id, existing, existing_body) == PSTORE_OK ?
		    PSTORE_EXISTS : PSTORE_ERR;
	if (rc != SQLITE_DONE)
		return pmsg_fail(ms, "queue");
	ms->queued_seq = sqlite3_last_insert_rowid(ms->db);
	/* In state pending or held, the row is in the queue (schema 7). */
	return pchat_note(ms->chat, m->peer, m->ts_sent, 0);
}

enum pstore_rc
pmsg_group_put(struct pmsg_store *ms, const struct pmsg *m, int64_t *seq,
    struct pmsg *existing, char **existing_body)
{
	sqlite3_stmt *s = pmsg_st(ms, S_GROUP_PUT);
	char key[PCHAT_KEY_MAX + 1];
	int rc;

	pmsg_bind(s, 1, m->id);
	pmsg_bind(s, 2, m->peer);
	sqlite3_bind_text(s, 3, m->body, (int)m->body_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, m->ts_sent);
	sqlite3_bind_int64(s, 5, m->expires);
	pmsg_bind(s, 6, m->group);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	/* Only this statement is undone; the transaction goes on. */
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return pmsg_get(ms, m->id, existing, existing_body) == PSTORE_OK ?
		    PSTORE_EXISTS : PSTORE_ERR;
	if (rc != SQLITE_DONE)
		return pmsg_fail(ms, "group message");
	*seq = sqlite3_last_insert_rowid(ms->db);
	pchat_group_key(m->group, key, sizeof(key));
	return pchat_note(ms->chat, key, m->ts_sent, 0);
}

enum pstore_rc
pmsg_queue(struct pmsg_store *ms, const struct pmsg *m, struct pmsg *existing,
    char **existing_body)
{
	enum pstore_rc rc;

	if (pstore_begin(ms->ps) != PSTORE_OK)
		return PSTORE_ERR;
	rc = pmsg_queue_in(ms, m, existing, existing_body);
	if (rc == PSTORE_ERR || (rc == PSTORE_OK &&
	    pstore_commit(ms->ps) != PSTORE_OK)) {
		pstore_rollback(ms->ps);
		return PSTORE_ERR;
	}
	if (rc == PSTORE_EXISTS)
		pstore_rollback(ms->ps);
	return rc;
}

enum pstore_rc
pmsg_receive(struct pmsg_store *ms, const struct pmsg *m, int64_t *seq)
{
	sqlite3_stmt *s = pmsg_st(ms, S_RECEIVE);
	char key[PCHAT_KEY_MAX + 1];
	int64_t msg;

	pmsg_bind(s, 1, m->id);
	pmsg_bind(s, 2, m->peer);
	sqlite3_bind_text(s, 3, m->body, (int)m->body_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, m->ts_sent);
	sqlite3_bind_int64(s, 5, m->ts_received);
	pmsg_bind(s, 6, m->group);
	if (pmsg_run(ms, s, "receive") != PSTORE_OK)
		return PSTORE_ERR;
	if (sqlite3_changes(ms->db) == 0) {
		/* A resend, or the id is another message's (another
		 * sender's, or ours): then it is not this one. */
		s = pmsg_st(ms, S_SAME_IN);
		pmsg_bind(s, 1, m->id);
		pmsg_bind(s, 2, m->peer);
		pmsg_bind(s, 3, m->group);
		if (sqlite3_step(s) != SQLITE_ROW)
			return pmsg_fail(ms, "receive");
		return sqlite3_column_int(s, 0) ? PSTORE_EXISTS : PSTORE_CONFLICT;
	}
	msg = sqlite3_last_insert_rowid(ms->db);
	if (*m->group != '\0')
		pchat_group_key(m->group, key, sizeof(key));
	if (pchat_note(ms->chat, *m->group != '\0' ? key : m->peer,
	    m->ts_received, 1) != PSTORE_OK)
		return PSTORE_ERR;
	return pevent_ref(ms->ev, "message", msg, seq);
}

enum pstore_rc
pmsg_delivered(struct pmsg_store *ms, const char *id, const char *peer,
    int64_t ts, int64_t *seq)
{
	char grp[P2P_MSGID_HEX + 1];

	return pmsg_delivered_group(ms, id, peer, ts, seq, grp);
}

enum pstore_rc
pmsg_delivered_group(struct pmsg_store *ms, const char *id, const char *peer,
    int64_t ts, int64_t *seq, char *grp)
{
	sqlite3_stmt *s = pmsg_st(ms, S_DELIVERED);
	int64_t msg = 0, ref = 0;
	int rc;

	bool group = false;

	*grp = '\0';
	pmsg_bind(s, 1, id);
	sqlite3_bind_int64(s, 2, ts);
	pmsg_bind(s, 3, peer);
	if (pmsg_run(ms, s, "delivered") != PSTORE_OK)
		return PSTORE_ERR;
	if (sqlite3_changes(ms->db) == 0) {
		/* Else a group's delivery row, ID/peer (schema 9). */
		s = pmsg_st(ms, S_GDELIVERED);
		pmsg_bind(s, 1, id);
		sqlite3_bind_int64(s, 2, ts);
		pmsg_bind(s, 3, peer);
		if (pmsg_run(ms, s, "delivered") != PSTORE_OK)
			return PSTORE_ERR;
		if (sqlite3_changes(ms->db) == 0)
			return PSTORE_NOTFOUND;	/* unknown, not theirs, or
						   delivered before */
		group = true;
	}
	s = pmsg_st(ms, group ? S_GSEQ_OF : S_SEQ_OF);
	pmsg_bind(s, 1, id);
	if (group)
		pmsg_bind(s, 2, peer);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		msg = sqlite3_column_int64(s, 0);
		ref = sqlite3_column_int64(s, 1);
		snprintf(grp, P2P_MSGID_HEX + 1, "%s", sqlite3_column_text(s, 2));
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return pmsg_fail(ms, "delivered");
	/* A group's list reached a member: no message was delivered. */
	if (ref < 0) {
		*seq = 0;
		return PSTORE_OK;
	}
	/* Printed from the row: user = peer, id, ts = ts_received (= ts). */
	return pevent_ref(ms->ev, "delivered", msg, seq);
}

/*
 * Outside a transaction: an undelivered outgoing message ends in state
 * (failed, cancelled, expired) with a reason, leaves the queue, and a
 * stored event of that name says so. *seq is 0 if it was not open.
 */
enum pstore_rc
pmsg_finish(struct pmsg_store *ms, const char *id, const char *state,
    const char *reason, struct pmsg *m, int64_t *seq)
{
	sqlite3_stmt *s;
	struct jsonw w;
	bool group;
	int rc;

	*seq = 0;
	if (pstore_begin(ms->ps) != PSTORE_OK)
		return PSTORE_ERR;
	s = pmsg_st(ms, S_FINISH);
	pmsg_bind(s, 1, id);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		pmsg_row(s, m);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		pstore_rollback(ms->ps);
		return PSTORE_OK;
	}
	if (rc != SQLITE_ROW)
		goto err;
	m->body = NULL;
	snprintf(m->state, sizeof(m->state), "%s", state);
	snprintf(m->reason, sizeof(m->reason), "%s", reason);
	util_utf8_trim(m->reason);
	/*
	 * A message to a group (its one row, state sent) ends for every
	 * member that does not have it yet; one member's row (id ID/member)
	 * ends alone.
	 */
	group = *m->group != '\0' && m->ref == 0;
	s = pmsg_st(ms, group ? S_GROUP_FINISH : S_FAILED);
	pmsg_bind(s, 1, group ? m->id : id);
	pmsg_bind(s, 2, state);
	pmsg_bind(s, 3, reason);
	if (pmsg_run(ms, s, "finish") != PSTORE_OK)
		goto err;
	if (group && sqlite3_changes(ms->db) == 0) {
		pstore_rollback(ms->ps);
		return PSTORE_OK;
	}
	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_str(&w, "user", m->peer);
	jsonw_str(&w, "id", m->id);
	if (*m->group != '\0')
		jsonw_str(&w, "group", m->group);
	jsonw_str(&w, "reason", reason);
	rc = pevent_put(ms->ev, state, &w, seq);
	if (rc != PSTORE_OK || pstore_commit(ms->ps) != PSTORE_OK)
		goto err;
	log_info("pstore_msg: message %s to %s %s: %s", id, m->peer, state,
	    reason);
	return PSTORE_OK;
err:
	pmsg_fail(ms, "finish");
	pstore_rollback(ms->ps);
	*seq = 0;
	return PSTORE_ERR;
}

enum pstore_rc
pmsg_failed(struct pmsg_store *ms, const char *id, const char *why)
{
	struct pmsg m;
	int64_t seq;

	return pmsg_finish(ms, id, "failed", why, &m, &seq);
}

/* Step through rows of a message query, calling fn for each. */
enum pstore_rc
pmsg_each(struct pmsg_store *ms, sqlite3_stmt *s, pmsg_fn fn, void *arg)
{
	struct pmsg m;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		pmsg_row(s, &m);
		if (fn(&m, arg) == -1)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PSTORE_OK :
	    pmsg_fail(ms, "select");
}

