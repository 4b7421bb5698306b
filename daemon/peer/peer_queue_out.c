/*
 * What goes out after the delivery queue's group commit (peer_queue.c),
 * in this order: the acks of the messages stored (through pm_hooks: one
 * acks frame per connection whose sender takes them, else one ack each), the
 * events to `watch` (message, delivered), the replies to the sends stored
 * (or found stored already), the waiters answered (send --wait, wait).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "log.h"
#include "peer_group.h"
#include "peer_queue_int.h"
#include "util.h"

/*
 * The live message and delivered events: the same lines watch --since
 * replays from the store (peer_iso's format), printed straight into a
 * buffer, and only when somebody watches (a jansson tree per received
 * message for nobody was 8% of the recipient's CPU in make bench).
 */
static void
put_iso(struct jsonw *w, const char *key, int64_t secs)
{
	char ts[32];

	if (secs <= 0) {
		jsonw_null(w, key);
		return;
	}
	util_iso8601(secs, ts, sizeof(ts));
	jsonw_str(w, key, ts);
}

static void
emit_line(struct peer_msgs *pm, struct jsonw *w)
{
	jsonw_close(w);
	if (jsonw_ok(w) == 0)
		peer_event_text(pm->p, jsonw_data(w), jsonw_len(w));
	else
		log_warnx("peer_queue: cannot print an event");
	jsonw_free(w);
}

/* A group message's event names its group: {"id","title"}. */
static void
put_group(struct peer_msgs *pm, struct jsonw *w, const char *group)
{
	struct pgroup g;

	if (*group == '\0')
		return;
	jsonw_open(w, "group");
	jsonw_str(w, "id", group);
	if (pgroup_get(pm->groups, group, &g, NULL, NULL) == PSTORE_OK)
		jsonw_str(w, "title", g.title);
	else
		jsonw_null(w, "title");
	jsonw_close(w);
}

static void
emit_message(struct peer_msgs *pm, const struct rx *rx, int64_t seq)
{
	struct jsonw w;

	if (!peer_watched(pm->p))
		return;
	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_str(&w, "event", "message");
	jsonw_int(&w, "seq", seq);
	jsonw_str(&w, "from", rx->m.peer);
	jsonw_str(&w, "id", rx->m.id);
	put_iso(&w, "ts", rx->m.ts_sent / 1000);
	jsonw_strn(&w, "text", rx->m.body, rx->m.body_len);
	put_group(pm, &w, rx->m.group);
	emit_line(pm, &w);
}

static void
emit_delivered(struct peer_msgs *pm, const struct ackq *a, int64_t seq,
    int64_t now)
{
	struct jsonw w;

	if (!peer_watched(pm->p))
		return;
	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_str(&w, "event", "delivered");
	jsonw_int(&w, "seq", seq);
	jsonw_str(&w, "user", a->user);
	jsonw_str(&w, "id", a->id);
	put_iso(&w, "ts", now / 1000);
	put_group(pm, &w, a->group);
	emit_line(pm, &w);
}

/* Reply for a send whose id already exists: same message, or a conflict. */
static void
send_existing(struct txq *t)
{
	const struct pmsg *m = &t->old;

	if (!m->outgoing || strcmp(m->peer, t->m.peer) != 0 ||
	    strcmp(m->group, t->m.group) != 0 ||
	    strcmp(t->oldbody, t->m.body) != 0)
		ctlreq_error(t->r, "id_conflict", "message id %s is already used by "
		    "another message", m->id);
	else
		ctlreq_reply(t->r, json_pack("{s:s,s:s,s:b}", "id", m->id, "state",
		    m->state, "duplicate", 1));
}

/* {"id","state","reason"} (reason null if none), printed: one per send. */
static void
send_reply(struct txq *t)
{
	struct jsonw w;

	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_str(&w, "id", t->m.id);
	jsonw_str(&w, "state", t->m.state);
	jsonw_str(&w, "reason", *t->m.reason != '\0' ? t->m.reason : NULL);
	jsonw_close(&w);
	if (jsonw_ok(&w) == 0)
		ctlreq_reply_text(t->r, jsonw_data(&w), jsonw_len(&w));
	else
		ctlreq_error(t->r, ERR_INTERNAL, "cannot print the reply");
	jsonw_free(&w);
}

/* A send is stored: reply now, or once delivered for send --wait. */
static void
send_done(struct peer_msgs *pm, struct txq *t)
{
	json_t *ids;
	struct pmsg dm;
	size_t i;

	if (t->rc == PSTORE_EXISTS) {
		send_existing(t);
		return;
	}
	if (t->left) {
		ctlreq_error_obj(t->r, ERR_NOT_MEMBER, json_pack("{s:s}", "group",
		    t->m.group), "you are not a member of group %s; nothing sent",
		    t->m.group);
		return;
	}
	pm->stats.sent++;
	if (*t->m.group == '\0')
		pm->hooks->queued(pm, &t->m);
	/* A group's: each member's row goes to that member's link. */
	for (i = 0; i < t->ndl; i++) {
		dm = t->m;
		snprintf(dm.peer, sizeof(dm.peer), "%s", t->dl[i].user);
		dm.seq = t->dl[i].seq;
		dm.ref = t->m.seq;
		pm->hooks->queued(pm, &dm);
	}
	if (t->m.expires > 0)
		pm->hooks->expires(pm);
	if (!t->wait) {
		send_reply(t);
		return;
	}
	ids = json_pack("[s]", t->m.id);
	pm_waiter_add(pm, t->r, ids, t->timeout, true);
	json_decref(ids);
}

/*
 * After the commit: acks out, events to subscribers, waiters, windows.
 * A delivered event shows the time stored with it (the commit may have
 * taken seconds), so that watch --since replays it as it was streamed.
 */
void
pm_after_commit(struct peer_msgs *pm, int64_t now, const int64_t *seqs,
    const int64_t *dseqs)
{
	size_t i;

	for (i = 0; i < pm->nrx; i++) {
		struct rx *rx = &pm->rx[i];

		if (rx->mail) {
			pm->hooks->mailed(pm, rx->from, rx->m.id, seqs[i] == -1 ?
			    -1 : 1);
			rx->from = NULL;
			if (seqs[i] <= 0)
				continue;
			pm->stats.received++;
			emit_message(pm, rx, seqs[i]);
			continue;
		}
		if (seqs[i] == -1) {
			if (rx->code != NULL && (rx->type != W_MSG ||
			    strcmp(rx->code, ERR_ID_TAKEN) == 0)) {
				if (strcmp(rx->code, ERR_NOT_MEMBER) == 0 ||
				    strcmp(rx->code, ERR_ID_TAKEN) == 0)
					log_warnx("peer_queue: refused %s from %s: %s",
					    rx->m.id, rx->m.peer, rx->why);
			} else if (rx->code != NULL) {
				pm->stats.requests_refused++;
				log_info("peer_queue: refused %s from %s: %s", rx->m.id,
				    rx->m.peer, rx->code);
			}
			pm->hooks->refused(rx->from, rx->m.id, rx->code != NULL ?
			    rx->code : ERR_RATE_LIMITED, rx->code != NULL ? rx->why :
			    "an earlier message of this connection was refused");
			rx->from = NULL;
			continue;
		}
		pm->hooks->received(rx->from, rx->m.id, true);
		rx->from = NULL;
		if (seqs[i] == 0)
			continue;
		pm->stats.received++;
		emit_message(pm, rx, seqs[i]);
	}
	pm->hooks->received_end(pm);
	/* After the mail's outcomes: what a new list lets in is fetched. */
	if (pm->lists_applied) {
		pm->lists_applied = false;
		pm->hooks->list_applied(pm);
	}
	for (i = 0; i < pm->nacks; i++) {
		if (dseqs[i] == 0)
			continue;
		pm->stats.delivered++;
		emit_delivered(pm, &pm->acks[i], dseqs[i], now);
		pm_waiters_update(pm, pm->acks[i].id);
		if (*pm->acks[i].group == '\0')
			pm->hooks->delivered(pm, pm->acks[i].id);
	}
	for (i = 0; i < pm->ntxs; i++)
		send_done(pm, &pm->txs[i]);
	/* A member left: the new list is queued for every member. */
	if (pm->lists_changed) {
		pm->lists_changed = false;
		pm->hooks->kick_all(pm);
	}
	pm->hooks->committed(pm);
}
