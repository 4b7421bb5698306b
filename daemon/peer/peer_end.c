/*
 * How an undelivered outgoing message ends: failed (the recipient does
 * not exist, or gave up on), cancelled, expired (pm_finish), or held
 * while its recipient's key is not trusted (pm_hold). Each end is stored
 * with its event, streamed to `watch`, and answers the requests waiting
 * for it (peer_wait.c). Called by the links (peer_link.c) and by the
 * commands and timers above them (peer_state.c); it calls only the
 * store, the events and the waiters.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer_msg.h"

/* End an undelivered message; the event goes to `watch`, waiters learn. */
enum pstore_rc
pm_finish(struct peer_msgs *pm, const char *id, const char *state,
    const char *reason)
{
	struct pmsg m;
	int64_t seq;
	json_t *line;

	pm->pending_gen++;	/* the windows in memory may hold it */
	if (pmsg_finish(pm->ms, id, state, reason, &m, &seq) != PSTORE_OK)
		return PSTORE_ERR;
	if (seq == 0)
		return PSTORE_NOTFOUND;
	if (strcmp(state, "failed") == 0)
		pm->stats.failed++;
	else if (strcmp(state, "cancelled") == 0)
		pm->stats.cancelled++;
	else if (strcmp(state, "expired") == 0)
		pm->stats.expired++;
	line = json_pack("{s:s,s:I,s:s,s:s,s:s}", "event", state, "seq",
	    (json_int_t)seq, "user", m.peer, "id", m.id, "reason", reason);
	if (*m.group != '\0')
		json_object_set_new(line, "group", json_string(m.group));
	peer_event(pm->p, line);
	json_decref(line);
	pm_waiters_update(pm, m.id);
	return PSTORE_OK;
}

enum pstore_rc
pm_finish_row(struct peer_msgs *pm, const struct pmsg *m, const char *state,
    const char *reason)
{
	char rowid[P2P_MSGID_HEX + P2P_USERNAME_MAX + 2];

	if (*m->group == '\0' || m->ref == 0)
		return pm_finish(pm, m->id, state, reason);
	snprintf(rowid, sizeof(rowid), "%s/%s", m->id, m->peer);
	return pm_finish(pm, rowid, state, reason);
}

int
pm_fail_one(const struct pmsg *m, void *arg)
{
	struct pending_fail *pf = arg;

	pm_finish_row(pf->pm, m, "failed", pf->why);
	return 0;
}

/*
 * The recipient refused message id for good: it holds another message
 * under that id (id_taken), and would refuse every resend. The message
 * fails with the recipient's reason, so the messages behind it go and its
 * waiters learn now; only a direct message of ours to that recipient.
 */
void
pm_fail_refused(struct peer_msgs *pm, const char *user, const char *id,
    const char *why)
{
	struct pmsg m;

	if (pmsg_get(pm->ms, id, &m, NULL) != PSTORE_OK || !m.outgoing ||
	    *m.group != '\0' || strcmp(m.peer, user) != 0 ||
	    pm_state_is_end(m.state))
		return;
	pm_finish(pm, id, "failed", why);
}

static int
collect_id(const struct pmsg *m, void *arg)
{
	json_array_append_new(arg, json_string(m->id));
	return 0;
}

/* Hold user's queue (a verified key changed); a "held" event for each. */
void
pm_hold(struct peer_msgs *pm, const char *user)
{
	json_t *ids = json_array(), *id, *line;
	char why[PMSG_REASON_MAX], *data;
	int64_t seq;
	size_t i;

	pmsg_held_reason(user, why, sizeof(why));
	/* Nothing newly held (every kick of a held queue comes here). */
	if (pmsg_pending_for(pm->ms, user, 0, 1000000, collect_id, ids) !=
	    PSTORE_OK || json_array_size(ids) == 0 ||
	    pstore_begin(pm->p->store) != PSTORE_OK)
		goto out;
	pm->pending_gen++;
	if (pmsg_hold(pm->ms, user, true) != PSTORE_OK)
		goto fail;
	json_array_foreach(ids, i, id) {
		line = json_pack("{s:s,s:O,s:s}", "user", user, "id", id, "reason",
		    why);
		data = json_dumps(line, JSON_COMPACT);
		json_decref(line);
		if (data == NULL || pmsg_event(pm->ms, "held", data, &seq) !=
		    PSTORE_OK) {
			free(data);
			goto fail;
		}
		free(data);
		json_array_set_new(ids, i, json_pack("{s:O,s:I}", "id", id, "seq",
		    (json_int_t)seq));
	}
	if (pstore_commit(pm->p->store) != PSTORE_OK)
		goto fail;
	json_array_foreach(ids, i, id) {
		line = json_pack("{s:s,s:O,s:s,s:O,s:s}", "event", "held", "seq",
		    json_object_get(id, "seq"), "user", user, "id",
		    json_object_get(id, "id"), "reason", why);
		peer_event(pm->p, line);
		json_decref(line);
	}
	goto out;
fail:
	pstore_rollback(pm->p->store);
	log_warnx("%s: cannot hold the messages to %s", __func__, user);
out:
	json_decref(ids);
}
