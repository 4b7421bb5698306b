/*
 * What the peer's store shows of the past: a chat's history (one peer's,
 * or a group's), the chats list (pstore_chat.c) and the event log that
 * `watch --since` replays (pstore_event.c).
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
pmsg_history(struct pmsg_store *ms, const char *peer, int limit, pmsg_fn fn,
    void *arg)
{
	sqlite3_stmt *s = pmsg_st(ms, S_HISTORY);
	enum pstore_rc rc;

	pmsg_bind(s, 1, peer);
	sqlite3_bind_int(s, 2, limit);
	if ((rc = pmsg_each(ms, s, fn, arg)) != PSTORE_OK)
		return rc;
	return pchat_mark_read(ms->chat, peer);
}

enum pstore_rc
pmsg_group_history(struct pmsg_store *ms, const char *group, int limit,
    pmsg_fn fn, void *arg)
{
	sqlite3_stmt *s = pmsg_st(ms, S_GROUP_HISTORY);
	char key[PCHAT_KEY_MAX + 1];
	enum pstore_rc rc;

	pmsg_bind(s, 1, group);
	sqlite3_bind_int(s, 2, limit);
	if ((rc = pmsg_each(ms, s, fn, arg)) != PSTORE_OK)
		return rc;
	pchat_group_key(group, key, sizeof(key));
	return pchat_mark_read(ms->chat, key);
}

enum pstore_rc
pmsg_chats(struct pmsg_store *ms,
    int (*fn)(const char *, long, int64_t, const char *, bool, void *),
    void *arg)
{
	return pchat_list(ms->chat, fn, arg);
}

enum pstore_rc
pmsg_event(struct pmsg_store *ms, const char *type, const char *json,
    int64_t *seq)
{
	return pevent_add(ms->ev, type, json, seq);
}

int64_t
pmsg_last_seq(struct pmsg_store *ms)
{
	return pevent_last_seq(ms->ev);
}

enum pstore_rc
pmsg_events_since(struct pmsg_store *ms, int64_t after,
    int (*fn)(int64_t, const char *, const char *, void *), void *arg)
{
	return pevent_since(ms->ev, after, fn, arg);
}
