/*
 * Requests that wait for messages to end: `wait ID...` and `send --wait`.
 * A waiter is answered once every message it waits for is delivered, at
 * once when one fails, is cancelled or expires (the error named by that
 * state), or at its timeout while one is still pending or held; the
 * answer carries every message's state and reason, for scripts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer_msg.h"
#include "pstore_file.h"
#include "pstore_mail.h"
#include "util.h"



/* A state no message (or file sent: rejected) leaves. */
bool
pm_state_is_end(const char *state)
{
	return strcmp(state, "delivered") == 0 || strcmp(state, "failed") == 0 ||
	    strcmp(state, "cancelled") == 0 || strcmp(state, "expired") == 0 ||
	    strcmp(state, "rejected") == 0 || strcmp(state, "unknown") == 0;
}

static bool
is_bad_end(const char *state)
{
	return pm_state_is_end(state) && strcmp(state, "delivered") != 0;
}

static void
waiter_free(struct waiter *w)
{
	TAILQ_REMOVE(&w->pm->waiters, w, entry);
	event_free(w->timer);
	json_decref(w->ids);
	json_decref(w->all);
	free(w);
}

static json_t *
item_of(struct peer_msgs *pm, json_t *id)
{
	char mreason[PMSG_REASON_MAX];
	const char *state;
	struct pmsg m;
	struct pfile f;

	if (pmsg_get(pm->ms, json_string_value(id), &m, NULL) != PSTORE_OK) {
		/* A file sent (send-file): its row's state. */
		if (pfile_get(pm->files, json_string_value(id), &f) == PSTORE_OK &&
		    f.outgoing)
			return json_pack("{s:O,s:s,s:s?}", "id", id, "state",
			    f.state, "reason", *f.reason != '\0' ? f.reason :
			    NULL);
		return json_pack("{s:O,s:s}", "id", id, "state", "unknown");
	}
	/* The mailbox's word first: a refused deposit says why, as pending. */
	state = pmail_state(pm->p->store, &m, mreason, sizeof(mreason));
	return json_pack("{s:O,s:s,s:s?}", "id", id, "state", state, "reason",
	    *mreason != '\0' ? mreason : strcmp(state, "deposited") == 0 ?
	    "in the recipient's mailbox at the gestor" : *m.reason != '\0' ?
	    m.reason : NULL);
}

/* The first item that is (timeout: still open; else: ended badly). */
static json_t *
culprit(json_t *items, bool timeout)
{
	const char *state;
	json_t *it;
	size_t i;

	json_array_foreach(items, i, it) {
		state = json_string_value(json_object_get(it, "state"));
		if (timeout ? !pm_state_is_end(state) : is_bad_end(state))
			return it;
	}
	return NULL;
}

/* The ids of items not delivered. */
static json_t *
undelivered(json_t *items)
{
	json_t *ids = json_array(), *it;
	size_t i;

	json_array_foreach(items, i, it)
		if (strcmp(json_string_value(json_object_get(it, "state")),
		    "delivered") != 0)
			json_array_append(ids, json_object_get(it, "id"));
	return ids;
}

/*
 * Answer a waiter: ok if every message was delivered; else an error
 * named by the state of the first message that stops it (timeout for
 * one still pending or held), carrying id, state and reason (send), or
 * ids and items (wait).
 */
static void
waiter_done(struct waiter *w, bool timeout)
{
	json_t *items = json_array(), *v, *bad, *fields;
	const char *code, *reason;
	size_t i, n;

	json_array_foreach(w->all, i, v)
		json_array_append_new(items, item_of(w->pm, v));
	if ((bad = culprit(items, timeout)) == NULL) {
		ctlreq_reply(w->r, w->send ? json_deep_copy(json_array_get(items, 0)) :
		    json_pack("{s:O}", "items", items));
		goto out;
	}
	code = timeout ? ERR_TIMEOUT : json_string_value(json_object_get(bad,
	    "state"));
	reason = json_string_value(json_object_get(bad, "reason"));
	if (reason == NULL)
		reason = strcmp(json_string_value(json_object_get(bad, "state")),
		    "pending") == 0 ? "queued" : "no reason recorded";
	fields = w->send ? json_deep_copy(bad) : json_pack("{s:o,s:O}", "ids",
	    undelivered(items), "items", items);
	n = json_array_size(w->all);
	ctlreq_error_obj(w->r, code, fields, "%s %s: %s%s", json_string_value(
	    json_object_get(bad, "id")), json_string_value(json_object_get(bad,
	    "state")), reason, n > 1 ? " (and see the other messages' states)" :
	    "");
out:
	json_decref(items);
	waiter_free(w);
}

static void
on_waiter_timeout(evutil_socket_t fd, short what, void *arg)
{
	waiter_done(arg, true);
}

/* Forget ids that ended; answer the waiter once it has its answer. */
static void
waiter_check(struct waiter *w)
{
	json_t *it;
	const char *state;
	size_t i = 0;
	bool bad = false;

	while (i < json_array_size(w->ids)) {
		it = item_of(w->pm, json_array_get(w->ids, i));
		state = json_string_value(json_object_get(it, "state"));
		if (pm_state_is_end(state)) {
			bad |= is_bad_end(state);
			json_array_remove(w->ids, i);
		} else
			i++;
		json_decref(it);
	}
	if (bad || json_array_size(w->ids) == 0)
		waiter_done(w, false);
}

void
pm_waiters_update(struct peer_msgs *pm, const char *id)
{
	struct waiter *w, *next;
	json_t *v;
	size_t i;

	for (w = TAILQ_FIRST(&pm->waiters); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		json_array_foreach(w->ids, i, v) {
			if (strcmp(json_string_value(v), id) == 0) {
				waiter_check(w);
				break;
			}
		}
	}
}

/*
 * Reply once every id in ids (borrowed) is delivered, at once when one
 * fails, is cancelled or expires, or with a timeout error after timeout
 * seconds (0: no limit).
 */
void
pm_waiter_add(struct peer_msgs *pm, struct ctlreq *r, json_t *ids,
    double timeout, bool send)
{
	struct waiter *w = xcalloc(1, sizeof(*w));
	struct timeval tv = daemon_tv(timeout);

	w->pm = pm;
	w->r = r;
	w->send = send;
	w->all = json_deep_copy(ids);
	w->ids = json_deep_copy(ids);
	w->timer = evtimer_new(pm->p->d->base, on_waiter_timeout, w);
	TAILQ_INSERT_TAIL(&pm->waiters, w, entry);
	if (timeout > 0)
		evtimer_add(w->timer, &tv);
	waiter_check(w);
}

void
peer_ctl_wait(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	json_t *ids = json_object_get(args, "ids"), *v;
	struct pmsg m;
	struct pfile f;
	size_t i;

	json_array_foreach(ids, i, v) {
		if ((pmsg_get(pm->ms, json_string_value(v), &m, NULL) != PSTORE_OK ||
		    !m.outgoing) && (pfile_get(pm->files, json_string_value(v),
		    &f) != PSTORE_OK || !f.outgoing)) {
			ctlreq_error_obj(r, "unknown_id", json_pack("{s:O}", "id", v),
			    "no sent message or file with id %s",
			    json_string_value(v));
			return;
		}
	}
	pm_waiter_add(pm, r, ids, json_number_value(json_object_get(args,
	    "timeout")), false);
}

void
pm_waiters_fail(struct peer_msgs *pm)
{
	struct waiter *w;

	while ((w = TAILQ_FIRST(&pm->waiters)) != NULL) {
		ctlreq_error(w->r, ERR_TIMEOUT, "the daemon is shutting down");
		waiter_free(w);
	}
}
