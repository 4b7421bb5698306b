/*
 * The delivery queue's group commit: everything read in one loop turn
 * (messages received, acks, `send` requests) is written in one
 * transaction (one fsync) by a deferred event; only after that commit
 * do the acks, the send replies, the events and the waiters' answers go
 * out, so kill -9 at any point loses nothing acknowledged, and ids make
 * redelivery harmless.
 *
 * Calls go one way: the connections (peer_link.c, peer_in.c) and the
 * send command call pm_receive, pm_ack and pm_send here; the queue
 * knows nothing of links or connections and reports back only through
 * pm->hooks (struct pm_hooks in peer_msg.h): which received messages to
 * acknowledge, which sends were stored, and that a commit happened.
 * What goes out after a commit is peer_queue_out.c's.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "log.h"
#include "peer_group.h"
#include "peer_queue_int.h"
#include "util.h"

#define FTS_DELAY_US	100000	/* the full-text index after the last commit */
#define FTS_DEFER_MAX	1.0	/* ... or this long after the first (s) */
#define FTS_BATCH	512	/* rows indexed per loop turn */

static const struct timeval fts_delay = { 0, FTS_DELAY_US };

static void
schedule_flush(struct peer_msgs *pm)
{
	/* Runs after every other callback of this loop turn. */
	event_active(pm->flush_ev, EV_TIMEOUT, 0);
}

void
pm_receive(struct peer_msgs *pm, void *from, const struct wire_msg *w)
{
	struct rx *rx;

	if (pm->nrx == pm->rxcap) {
		pm->rxcap = pm->rxcap ? pm->rxcap * 2 : 64;
		pm->rx = realloc(pm->rx, pm->rxcap * sizeof(*pm->rx));
		if (pm->rx == NULL)
			fatalx("%s: out of memory", __func__);
	}
	rx = &pm->rx[pm->nrx++];
	memset(rx, 0, sizeof(*rx));
	rx->from = from;
	rx->frame = json_incref(w->frame);
	rx->type = w->type;
	rx->sig = w->u.msg.sig;
	if (w->u.msg.group != NULL)
		snprintf(rx->m.group, sizeof(rx->m.group), "%s", w->u.msg.group);
	snprintf(rx->m.id, sizeof(rx->m.id), "%s", w->u.msg.id);
	snprintf(rx->m.peer, sizeof(rx->m.peer), "%s", w->u.msg.from);
	rx->m.body = w->u.msg.body;
	rx->m.body_len = w->u.msg.body_len;
	if (w->frame == NULL) {		/* read hot: its buffer goes */
		rx->body = xmalloc(w->u.msg.body_len + 1);
		memcpy(rx->body, w->u.msg.body, w->u.msg.body_len + 1);
		rx->m.body = rx->body;
	}
	rx->m.ts_sent = w->u.msg.ts;
	rx->m.ts_received = util_now_ms();
	schedule_flush(pm);
}

void
pm_receive_mail(struct peer_msgs *pm, void *from, const struct wire_msg *w)
{
	pm_receive(pm, from, w);
	pm->rx[pm->nrx - 1].mail = true;
}

void
pm_ack(struct peer_msgs *pm, const char *user, const char *id)
{
	struct ackq *a;

	if (pm->nacks == pm->ackcap) {
		pm->ackcap = pm->ackcap ? pm->ackcap * 2 : 64;
		pm->acks = realloc(pm->acks, pm->ackcap * sizeof(*pm->acks));
		if (pm->acks == NULL)
			fatalx("%s: out of memory", __func__);
	}
	a = &pm->acks[pm->nacks++];
	snprintf(a->user, sizeof(a->user), "%s", user);
	snprintf(a->id, sizeof(a->id), "%s", id);
	schedule_flush(pm);
}

/* Queue a send for the group commit; the reply goes out after it. */
void
pm_send(struct peer_msgs *pm, struct ctlreq *r, const struct pmsg *m,
    bool wait, double timeout)
{
	struct txq *t;

	if (pm->ntxs == pm->txcap) {
		pm->txcap = pm->txcap ? pm->txcap * 2 : 64;
		pm->txs = realloc(pm->txs, pm->txcap * sizeof(*pm->txs));
		if (pm->txs == NULL)
			fatalx("%s: out of memory", __func__);
	}
	t = &pm->txs[pm->ntxs++];
	memset(t, 0, sizeof(*t));
	t->r = r;
	t->m = *m;
	t->body = xmalloc(m->body_len + 1);
	memcpy(t->body, m->body, m->body_len);
	t->body[m->body_len] = '\0';
	t->m.body = t->body;
	t->wait = wait;
	t->timeout = timeout;
	schedule_flush(pm);
}

#define STRANGER_WINDOW	60000	/* ms: limits.stranger_messages_per_minute */

/*
 * Messages from strangers (not written to, not trusted: message requests)
 * take at most limits.stranger_messages messages and
 * limits.stranger_bytes bytes of the store, and at most
 * limits.stranger_messages_per_minute of them in a (fixed) one-minute
 * window. Counted in the store (table requests: one row per stranger)
 * inside the batch's transaction, so messages of the same batch count
 * too. A refused message is not stored and not acknowledged: the
 * sender keeps it queued and tries again later. A message already stored
 * (a resend) is always taken, to be acknowledged.
 */
static bool
stranger_refused(struct peer_msgs *pm, struct rx *rx, int64_t now,
    const char **contact)
{
	const struct config *cf = pm->p->d->cfg;
	const char *peer = rx->m.peer;
	struct preq_use u;

	/* A batch is mostly one sender's: a contact is looked up once. */
	if (*contact != NULL && strcmp(*contact, peer) == 0)
		return false;
	if (preq_accepted(pm->requests, peer) != 0) {
		*contact = peer;
		return false;
	}
	if (preq_use(pm->requests, peer, now, STRANGER_WINDOW, &u) != PSTORE_OK)
		return false;	/* an error: pmsg_receive will meet it too */
	rx->stranger = true;
	if (u.messages < cf->stranger_messages && u.bytes +
	    (int64_t)rx->m.body_len <= cf->stranger_bytes &&
	    u.recent < cf->stranger_per_minute)
		return false;
	if (preq_has(pm->requests, rx->m.id) != 0)
		return false;	/* a resend: acknowledge it again */
	if (u.messages >= cf->stranger_messages ||
	    u.bytes + (int64_t)rx->m.body_len > cf->stranger_bytes) {
		rx->code = ERR_QUOTA_EXCEEDED;
		snprintf(rx->why, sizeof(rx->why), "message requests to %s are "
		    "full (%ld messages, %" PRId64 " bytes): kept queued until %s "
		    "writes to you or trusts you", pm->p->user,
		    cf->stranger_messages, cf->stranger_bytes, pm->p->user);
	} else if (u.recent >= cf->stranger_per_minute) {
		rx->code = ERR_RATE_LIMITED;
		snprintf(rx->why, sizeof(rx->why), "message requests to %s: at "
		    "most %ld a minute: kept queued until %s writes to you or "
		    "trusts you", pm->p->user, cf->stranger_per_minute,
		    pm->p->user);
	} else
		return false;
	return true;
}

/*
 * The message's id is another message's here (another sender's, or
 * ours): taking it for a resend acknowledged a message never shown.
 * Refused; its sender keeps it, with the reason. -1.
 */
static int
id_taken(struct peer_msgs *pm, struct rx *rx)
{
	rx->code = ERR_ID_TAKEN;
	snprintf(rx->why, sizeof(rx->why), "%s holds another message with id "
	    "%s: send it again with another id", pm->p->user, rx->m.id);
	return -1;
}

/*
 * A group's frame, inside the batch's transaction: a list is checked and
 * applied (or refused, and logged: acknowledged all the same, so that
 * nobody resends it), a message is stored only from a member to a
 * member of the newest list we have; else it is refused with
 * not_member (the sender keeps it: a list that adds it may be on its way
 * to us). 1 stored, 0 nothing stored, -1 refused, -2 a store error.
 */
static int
group_rx(struct peer_msgs *pm, struct rx *rx, int64_t *seq)
{
	char changed[P2P_MSGID_HEX + 1], why[300];
	struct pgroup g;
	enum pstore_rc rc;
	int r = 0;

	if (rx->type == W_GMEMBERS) {
		r = pg_list_receive(pm, rx->m.peer, rx->m.body, rx->m.body_len,
		    rx->sig, changed, why, sizeof(why));
		if (r == -1)
			log_warnx("peer_queue: refused a group list from %s: %s",
			    rx->m.peer, why);
		if (r == 1)
			pm->lists_applied = true;
		if (r == -3) {
			/* Not acknowledged: the admin keeps it queued. */
			rx->code = ERR_KEY_MISMATCH;
			snprintf(rx->why, sizeof(rx->why), "%s", why);
			log_warnx("peer_queue: held a group list from %s: %s",
			    rx->m.peer, why);
			return -1;
		}
		return r == -2 ? -2 : 0;
	}
	if (rx->type == W_GLEAVE) {
		r = pg_leave_receive(pm, rx->m.peer, rx->m.group, why,
		    sizeof(why));
		if (r == -1)
			log_warnx("peer_queue: ignored a leave from %s: %s",
			    rx->m.peer, why);
		if (r == 1)
			pm->lists_changed = true;
		return r == -2 ? -2 : 0;
	}
	if ((rc = pgroup_get(pm->groups, rx->m.group, &g, NULL, NULL)) ==
	    PSTORE_ERR || (rc == PSTORE_OK && (r = pgroup_is_member(pm->groups,
	    rx->m.group, rx->m.peer)) == -1))
		return -2;
	if (rc != PSTORE_OK || !g.member || r == 0) {
		rx->code = ERR_NOT_MEMBER;
		snprintf(rx->why, sizeof(rx->why), "%s is not a member of group %s "
		    "in the newest list %s has", rc != PSTORE_OK || r == 0 ?
		    rx->m.peer : pm->p->user, rx->m.group, pm->p->user);
		return -1;
	}
	rc = pmsg_receive(pm->ms, &rx->m, seq);
	if (rc == PSTORE_CONFLICT)
		return id_taken(pm, rx);
	return rc == PSTORE_ERR ? -2 : rc == PSTORE_EXISTS ? 0 : 1;
}

static int
collect_member(const char *user, void *arg)
{
	struct txq *t = arg;

	/* At most PG_MEMBERS_MAX; the store's list is the admin's. */
	if (strcmp(user, t->m.peer) == 0 || t->ndl == PG_MEMBERS_MAX)
		return 0;
	snprintf(t->dl[t->ndl++].user, sizeof(t->dl[0].user), "%s", user);
	return 0;
}

/*
 * A send to a group, inside the batch's transaction: its body stored
 * once (pmsg_group_put), then one delivery row per member of the newest
 * list as the commit sees it, so that nobody removed before this commit
 * gets it. -1 on a store error.
 */
static int
group_tx(struct peer_msgs *pm, struct txq *t)
{
	struct pgroup g;
	int64_t bseq;
	size_t i;

	if (pgroup_get(pm->groups, t->m.group, &g, NULL, NULL) != PSTORE_OK ||
	    !g.member) {
		t->left = true;
		t->rc = PSTORE_NOTFOUND;
		return 0;
	}
	t->rc = pmsg_group_put(pm->ms, &t->m, &bseq, &t->old, &t->oldbody);
	if (t->rc != PSTORE_OK)
		return t->rc == PSTORE_ERR ? -1 : 0;
	t->m.seq = bseq;
	t->dl = xcalloc(PG_MEMBERS_MAX, sizeof(*t->dl));
	if (pgroup_members(pm->groups, t->m.group, collect_member, t) !=
	    PSTORE_OK)
		return -1;
	for (i = 0; i < t->ndl; i++)
		if (pgroup_queue_msg(pm->groups, t->m.group, t->m.id,
		    t->dl[i].user, bseq, t->m.ts_sent, t->m.expires,
		    &t->dl[i].seq) != PSTORE_OK)
			return -1;
	return 0;
}

/* Was a message from the same connection refused earlier in the batch? */
static bool
refused_before(struct peer_msgs *pm, size_t i, const int64_t *seqs)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (seqs[j] == -1 && pm->rx[j].from == pm->rx[i].from)
			return true;
	return false;
}

/*
 * Store every received message, ack and send in one transaction; now is
 * the delivery time stored with the acks, which after_commit prints.
 */
static int
commit_batch(struct peer_msgs *pm, int64_t now, int64_t *seqs, int64_t *dseqs)
{
	enum pstore_rc rc;
	size_t i, refused = 0;
	const char *contact = NULL;	/* the last sender found accepted */

	if (pstore_begin(pm->p->store) != PSTORE_OK)
		return -1;
	for (i = 0; i < pm->nrx; i++) {
		/* After a refusal, nothing more from that sender: its order. */
		if (refused > 0 && refused_before(pm, i, seqs)) {
			seqs[i] = -1;
			refused++;
			continue;
		}
		if (pm->rx[i].type != W_MSG) {
			switch (group_rx(pm, &pm->rx[i], &seqs[i])) {
			case -2:
				goto fail;
			case -1:
				seqs[i] = -1;
				refused++;
				break;
			case 0:
				seqs[i] = 0;
				break;
			}
			continue;
		}
		if (stranger_refused(pm, &pm->rx[i], now, &contact)) {
			seqs[i] = -1;
			refused++;
			continue;
		}
		rc = pmsg_receive(pm->ms, &pm->rx[i].m, &seqs[i]);
		if (rc == PSTORE_ERR)
			goto fail;
		if (rc == PSTORE_CONFLICT) {
			seqs[i] = id_taken(pm, &pm->rx[i]);
			refused++;
			continue;
		}
		if (rc == PSTORE_OK && pm->rx[i].stranger &&
		    preq_note(pm->requests, pm->rx[i].m.peer,
		    (int64_t)pm->rx[i].m.body_len, now, STRANGER_WINDOW) !=
		    PSTORE_OK)
			goto fail;
		if (rc == PSTORE_EXISTS) {
			seqs[i] = 0;
			pm->stats.duplicates++;
		}
	}
	for (i = 0; i < pm->nacks; i++) {
		rc = pmsg_delivered_group(pm->ms, pm->acks[i].id, pm->acks[i].user,
		    now, &dseqs[i], pm->acks[i].group);
		if (rc == PSTORE_ERR)
			goto fail;
		if (rc == PSTORE_NOTFOUND)
			dseqs[i] = 0;
	}
	for (i = 0; i < pm->ntxs; i++) {
		struct txq *t = &pm->txs[i];

		if (*t->m.group != '\0') {
			if (group_tx(pm, t) != 0)
				goto fail;
			continue;
		}
		t->rc = pmsg_queue_in(pm->ms, &t->m, &t->old, &t->oldbody);
		if (t->rc == PSTORE_ERR)
			goto fail;
		/* Writing to someone accepts their messages (requests). */
		if (t->rc == PSTORE_OK &&
		    preq_accept(pm->requests, t->m.peer) != PSTORE_OK)
			goto fail;
		if (t->rc == PSTORE_OK)
			t->m.seq = pmsg_queued_seq(pm->ms);
	}
	if (pstore_commit(pm->p->store) == PSTORE_OK)
		return 0;
fail:
	pstore_rollback(pm->p->store);
	return -1;
}

void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct peer_msgs *pm = arg;
	int64_t *seqs, *dseqs, now = util_now_ms();
	double t0;
	size_t i;
	int rc;

	if (pm->nrx == 0 && pm->nacks == 0 && pm->ntxs == 0)
		return;
	if (pm->nacks > 0)
		pm->hooks->acked(pm);
	seqs = xcalloc(pm->nrx + 1, sizeof(*seqs));
	dseqs = xcalloc(pm->nacks + 1, sizeof(*dseqs));
	t0 = util_mono();
	rc = commit_batch(pm, now, seqs, dseqs);
	metrics_hist_observe(&pm->stats.commit, util_mono() - t0);
	pg_events_flush(pm, rc == 0);
	if (rc == 0)
		pm_after_commit(pm, now, seqs, dseqs);
	else {
		pm->lists_changed = false;
		pm->lists_applied = false;
		pm->stats.commit_failures++;
		log_error("peer_queue: cannot commit %zu messages, %zu acks and %zu "
		    "sends; nothing acknowledged, the senders will retry", pm->nrx,
		    pm->nacks, pm->ntxs);
		for (i = 0; i < pm->ntxs; i++)
			ctlreq_error(pm->txs[i].r, ERR_INTERNAL, "cannot store the "
			    "message (see the daemon's log)");
	}
	for (i = 0; i < pm->nrx; i++) {
		json_decref(pm->rx[i].frame);
		free(pm->rx[i].body);
		if (pm->rx[i].from != NULL && pm->rx[i].mail)
			pm->hooks->mailed(pm, pm->rx[i].from, pm->rx[i].m.id, 0);
		else if (pm->rx[i].from != NULL)	/* not committed */
			pm->hooks->received(pm->rx[i].from, pm->rx[i].m.id, false);
	}
	for (i = 0; i < pm->ntxs; i++) {
		free(pm->txs[i].body);
		free(pm->txs[i].oldbody);
		free(pm->txs[i].dl);
	}
	pm->nrx = 0;
	pm->nacks = 0;
	pm->ntxs = 0;
	free(seqs);
	free(dseqs);
	/* A timer runs in the next loop turn: after the acks, replies and
	 * events of this commit are written out. */
	if (pstore_checkpoint_due(pm->p->store) &&
	    !evtimer_pending(pm->ckpt_ev, NULL)) {
		struct timeval at_once = { 0, 0 };

		evtimer_add(pm->ckpt_ev, &at_once);
	}
	/*
	 * The index waits until the commits pause (the window drained, the
	 * sends stopped): each commit puts it off by FTS_DELAY_US again,
	 * for at most FTS_DEFER_MAX in all, so that a steady stream still
	 * has it written every second.
	 */
	if (rc == 0) {
		if (pm->fts_since == 0)
			pm->fts_since = util_mono();
		if (!evtimer_pending(pm->fts_ev, NULL) ||
		    util_mono() - pm->fts_since < FTS_DEFER_MAX)
			evtimer_add(pm->fts_ev, &fts_delay);
	}
}

/*
 * The full-text index of what the commits stored (issue 31): not in the
 * commit that stores a message (the sender's and the recipient's hot
 * path), but once the commits pause (FTS_DELAY_US after the last one, or
 * FTS_DEFER_MAX after the first), for everything the commits
 * since noted in fts_pending, at most FTS_BATCH rows a loop turn so that
 * no turn waits long for it. The notes are committed with the messages,
 * so a kill -9 loses none (peer_msgs_start indexes them), and `search`
 * indexes what is still noted before it reads (peer_archive.c).
 */
void
on_fts(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval now = { 0, 0 }, later = { 1, 0 };
	struct peer_msgs *pm = arg;
	int rc;

	pm->fts_since = 0;
	if ((rc = pstore_fts_flush(pm->p->store, FTS_BATCH)) == 1)
		evtimer_add(pm->fts_ev, &now);
	else if (rc == -1) {
		log_warnx("peer_queue: cannot write the full-text index; "
		    "trying again in 1 s");
		evtimer_add(pm->fts_ev, &later);
	}
}

void
on_checkpoint(evutil_socket_t fd, short what, void *arg)
{
	struct peer_msgs *pm = arg;

	pstore_checkpoint(pm->p->store);
}

bool
pm_queue_busy(struct peer_msgs *pm)
{
	return pm->nrx > 0 || pm->nacks > 0 || pm->ntxs > 0;
}

void
pm_queue_free(struct peer_msgs *pm)
{
	free(pm->rx);
	free(pm->acks);
	free(pm->txs);
}
