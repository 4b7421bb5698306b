/*
 * The peer's delivery queue in its store: the pending and held messages
 * (a partial index on the messages table), by recipient and in seq
 * order; their retry bookkeeping; held queues; the expiry of messages
 * with a ttl; counts by state. The messages themselves are written by
 * pstore_msg.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "pstore_chat.h"
#include "pstore_event.h"
#include "pstore_msg_int.h"
#include "util.h"

enum pstore_rc
pmsg_next_expiry(struct pmsg_store *ms, int64_t *when)
{
	sqlite3_stmt *s = pmsg_st(ms, S_NEXT_EXPIRY);
	int rc = sqlite3_step(s);

	*when = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PSTORE_OK :
	    pmsg_fail(ms, "next expiry");
}

int64_t
pmsg_queued_seq(const struct pmsg_store *ms)
{
	return ms->queued_seq;
}

enum pstore_rc
pmsg_pending_for(struct pmsg_store *ms, const char *peer, int64_t after,
    int limit, pmsg_fn fn, void *arg)
{
	sqlite3_stmt *s = pmsg_st(ms, S_PENDING_FOR);

	pmsg_bind(s, 1, peer);
	sqlite3_bind_int64(s, 2, after);
	sqlite3_bind_int(s, 3, limit);
	sqlite3_bind_int64(s, 4, util_now_ms());
	return pmsg_each(ms, s, fn, arg);
}

enum pstore_rc
pmsg_expired(struct pmsg_store *ms, int64_t now, pmsg_fn fn, void *arg)
{
	sqlite3_stmt *s = pmsg_st(ms, S_EXPIRED);

	sqlite3_bind_int64(s, 1, now);
	return pmsg_each(ms, s, fn, arg);
}

enum pstore_rc
pmsg_pending_all(struct pmsg_store *ms,
    int (*fn)(const struct ppending *, void *), void *arg)
{
	sqlite3_stmt *s = pmsg_st(ms, S_PENDING_ALL);
	struct ppending p;
	struct pmsg m;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		pmsg_row(s, &m);
		p.msg = &m;
		p.attempts = sqlite3_column_int(s, 12);
		p.next_try = sqlite3_column_int64(s, 13);
		p.reason = (const char *)sqlite3_column_text(s, 14);
		if (fn(&p, arg) == -1)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PSTORE_OK :
	    pmsg_fail(ms, "pending");
}

enum pstore_rc
pmsg_pending_peers(struct pmsg_store *ms, int (*fn)(const char *, void *),
    void *arg)
{
	sqlite3_stmt *s = pmsg_st(ms, S_PENDING_PEERS);
	char peer[P2P_USERNAME_MAX + 1];
	int rc;

	/* Copy each name first: fn may run other statements. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(peer, sizeof(peer), "%s", sqlite3_column_text(s, 0));
		if (fn(peer, arg) == -1)
			break;
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PSTORE_OK :
	    pmsg_fail(ms, "pending peers");
}

enum pstore_rc
pmsg_pending_note(struct pmsg_store *ms, const char *peer, int attempts,
    int64_t next_try, const char *reason)
{
	sqlite3_stmt *s = pmsg_st(ms, S_PENDING_NOTE);

	pmsg_bind(s, 1, peer);
	sqlite3_bind_int(s, 2, attempts);
	sqlite3_bind_int64(s, 3, next_try);
	pmsg_bind(s, 4, reason);
	return pmsg_run(ms, s, "note");
}

long
pmsg_count(struct pmsg_store *ms, const char *state)
{
	enum stmt which = S_COUNT;
	sqlite3_stmt *s;

	if (strcmp(state, "pending") == 0 || strcmp(state, "held") == 0)
		which = S_COUNT_QUEUED;
	else if (strcmp(state, "failed") == 0 ||
	    strcmp(state, "cancelled") == 0 || strcmp(state, "expired") == 0)
		which = S_COUNT_ENDED;
	s = pmsg_st(ms, which);
	long n = -1;

	pmsg_bind(s, 1, state);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return n;
}

void
pmsg_held_reason(const char *peer, char *out, size_t outlen)
{
	snprintf(out, outlen, PMSG_HELD_KEY "; check it, then run: "
	    "p2pchatctl trust %s", peer);
}

enum pstore_rc
pmsg_hold(struct pmsg_store *ms, const char *peer, bool hold)
{
	sqlite3_stmt *s = pmsg_st(ms, hold ? S_HOLD : S_RELEASE);
	char why[PMSG_REASON_MAX];

	pmsg_held_reason(peer, why, sizeof(why));
	pmsg_bind(s, 1, peer);
	if (hold)
		pmsg_bind(s, 2, why);
	return pmsg_run(ms, s, "hold");
}

enum pstore_rc
pmsg_sealable(struct pmsg_store *ms, const char *id, enum pmsg_kind *kind,
    char *group, int64_t *ts, char **body, size_t *body_len, char **sig)
{
	/* A group row's body: its message's, or the group's newest list. */
	sqlite3_stmt *s = pmsg_st(ms, S_SEALABLE);
	int64_t ref;
	int rc;

	*body = *sig = NULL;
	pmsg_bind(s, 1, id);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW &&
	    sqlite3_column_type(s, 3) != SQLITE_NULL) {
		snprintf(group, P2P_MSGID_HEX + 1, "%s", (const char *)
		    sqlite3_column_text(s, 0));
		ref = sqlite3_column_int64(s, 1);
		*kind = *group == '\0' ? PMSG_DIRECT : ref > 0 ? PMSG_GMSG :
		    ref == -1 ? PMSG_GLIST : PMSG_GLEAVE;
		*ts = sqlite3_column_int64(s, 2);
		*body_len = (size_t)sqlite3_column_bytes(s, 3);
		*body = xmalloc(*body_len + 1);
		memcpy(*body, sqlite3_column_text(s, 3), *body_len);
		(*body)[*body_len] = '\0';
		if (*kind == PMSG_GLIST && sqlite3_column_type(s, 4) !=
		    SQLITE_NULL)
			*sig = xstrdup((const char *)sqlite3_column_text(s, 4));
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW && *body != NULL && (*kind != PMSG_GLIST ||
	    *sig != NULL))
		return PSTORE_OK;
	free(*body);
	*body = NULL;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? PSTORE_NOTFOUND :
	    pmsg_fail(ms, "sealable");
}
