/*
 * The window of an outgoing link: which queued messages a ready link
 * sends next (up to PM_WINDOW unacknowledged, in seq order, each once
 * per connection) and whether anything waits for it at all. Called by
 * peer_link.c only.
 *
 * The window is refilled from memory, not by a store query per refill
 * (that query was 9-11% of a busy sender's CPU). From its first refill
 * on, a ready link collects (wq_valid) every message to its recipient
 * that the group commit stores from then on, in seq order: the memory
 * holds every pending message with a seq from its head's on. What was
 * stored before, and is older than the head, the store has: a refill
 * takes those first (pending, unexpired, seq > sent_upto, in order) and
 * stops at the head; once the store has no older one (wq_older false),
 * refills are from memory only. The memory is dropped, and collecting
 * starts again behind the store's messages, when
 *   - the connection is new or gone (pm_window_reset: sent_upto is 0),
 *   - messages became pending or stopped being pending other than by
 *     sends and acks (cancel, expiry, failure, hold, trust, import bump
 *     pm->pending_gen),
 *   - it would pass PM_WQ_BYTES for all links together.
 * Nothing is sent twice on a connection: a message with seq <=
 * sent_upto is never sent again, whichever copy it comes from. One that
 * expired is skipped, as the store query skips it.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "log.h"
#include "peer_link.h"
#include "util.h"

/* A stored message not yet sent on the link's connection. */
struct wq_item {
	TAILQ_ENTRY(wq_item)	 entry;
	int64_t			 seq;
	int64_t			 ts_sent;
	int64_t			 expires;	/* unix ms, 0 = never */
	char			 id[P2P_MSGID_HEX + 1];
	char			 group[P2P_MSGID_HEX + 1];	/* "" direct */
	int64_t			 ref;		/* struct pmsg's */
	size_t			 body_len;
	char			 body[];
};

static size_t
item_size(const struct wq_item *it)
{
	return sizeof(*it) + it->body_len + 1;
}

static void
item_free(struct plink *l, struct wq_item *it)
{
	l->wq_len--;
	l->wq_bytes -= item_size(it);
	l->pm->wq_bytes -= item_size(it);
	explicit_bzero(it->body, it->body_len);
	free(it);
}

/*
 * Send one message on l and count it in flight: a msg, a group's gmsg
 * (ref > 0), a group's signed list, gmembers (ref -1: body is the list,
 * a newline, the signature), or our leaving a group, gleave (ref -2).
 */
static void
send_msg(struct plink *l, int64_t seq, const char *id, int64_t ts,
    const char *body, size_t body_len, const char *group, int64_t ref)
{
	const char *nl;
	struct jsonw w;

	/* Printed, not built as a jansson tree: once per message sent. */
	jsonw_init(&w);
	jsonw_open(&w, NULL);
	if (*group == '\0') {
		jsonw_str(&w, "t", "msg");
		jsonw_str(&w, "id", id);
		jsonw_str(&w, "from", l->pm->p->user);
		jsonw_str(&w, "to", l->user);
		jsonw_int(&w, "ts", ts);
		jsonw_strn(&w, "body", body, body_len);
	} else if (ref > 0) {
		jsonw_str(&w, "t", "gmsg");
		jsonw_str(&w, "id", id);
		jsonw_str(&w, "group", group);
		jsonw_str(&w, "from", l->pm->p->user);
		jsonw_int(&w, "ts", ts);
		jsonw_strn(&w, "body", body, body_len);
	} else if (ref == PGROUP_REF_LEAVE) {
		jsonw_str(&w, "t", "gleave");
		jsonw_str(&w, "id", id);
		jsonw_str(&w, "group", group);
	} else {
		nl = memchr(body, '\n', body_len);
		jsonw_str(&w, "t", "gmembers");
		jsonw_str(&w, "id", id);
		jsonw_strn(&w, "list", body, nl != NULL ? (size_t)(nl - body) :
		    body_len);
		jsonw_strn(&w, "sig", nl != NULL ? nl + 1 : "", nl != NULL ?
		    body_len - (size_t)(nl - body) - 1 : 0);
	}
	jsonw_close(&w);
	if (jsonw_ok(&w) == 0)
		conn_send_text(l->c, jsonw_data(&w), jsonw_len(&w));
	jsonw_free(&w);
	l->sent_upto = seq;
	l->inflight++;
}

struct store_fill {
	struct plink	*l;
	int64_t		 head;		/* memory's first seq, 0 if empty */
	int		 n;
	bool		 reached;	/* got to the messages in memory */
};

static int
send_one(const struct pmsg *m, void *arg)
{
	struct store_fill *f = arg;

	if (f->head != 0 && m->seq >= f->head) {
		f->reached = true;
		return -1;
	}
	send_msg(f->l, m->seq, m->id, m->ts_sent, m->body, m->body_len,
	    m->group, m->ref);
	f->n++;
	return 0;
}

void
pm_window_reset(struct plink *l)
{
	struct wq_item *it;

	while ((it = TAILQ_FIRST(&l->wq)) != NULL) {
		TAILQ_REMOVE(&l->wq, it, entry);
		item_free(l, it);
	}
	l->wq_valid = false;
}

/* The memory still holds every message the link would send next. */
static bool
wq_current(struct plink *l)
{
	if (l->wq_valid && (l->state != L_READY ||
	    l->wq_gen != l->pm->pending_gen))
		pm_window_reset(l);
	return l->wq_valid;
}

void
pm_window_queued(struct plink *l, const struct pmsg *m)
{
	struct wq_item *it, *last = TAILQ_LAST(&l->wq, wq_head);

	if (!wq_current(l) || strcmp(m->state, "pending") != 0)
		return;
	/* Sent already by a refill from the store in this loop turn. */
	if (m->seq <= l->sent_upto || (last != NULL && m->seq <= last->seq))
		return;
	if (l->pm->wq_bytes + sizeof(*it) + m->body_len + 1 > PM_WQ_BYTES) {
		pm_window_reset(l);	/* the store has them */
		return;
	}
	it = xmalloc(sizeof(*it) + m->body_len + 1);
	it->seq = m->seq;
	it->ts_sent = m->ts_sent;
	it->expires = m->expires;
	snprintf(it->id, sizeof(it->id), "%s", m->id);
	snprintf(it->group, sizeof(it->group), "%s", m->group);
	it->ref = m->ref;
	it->body_len = m->body_len;
	memcpy(it->body, m->body, m->body_len);
	it->body[m->body_len] = '\0';
	TAILQ_INSERT_TAIL(&l->wq, it, entry);
	l->wq_len++;
	l->wq_bytes += item_size(it);
	l->pm->wq_bytes += item_size(it);
}

/* Send from memory: room messages at most, the expired ones skipped. */
static void
fill_from_memory(struct plink *l, int room)
{
	int64_t now = util_now_ms();
	struct wq_item *it;

	while (room > 0 && (it = TAILQ_FIRST(&l->wq)) != NULL) {
		TAILQ_REMOVE(&l->wq, it, entry);
		if (it->seq > l->sent_upto && (it->expires == 0 ||
		    it->expires > now)) {
			send_msg(l, it->seq, it->id, it->ts_sent, it->body,
			    it->body_len, it->group, it->ref);
			room--;
		}
		item_free(l, it);
	}
}

/* Fill the window with queued messages not yet sent on this connection. */
void
pm_window_fill(struct plink *l)
{
	struct store_fill f = { l, 0, 0, false };
	struct wq_item *head;
	int room = PM_WINDOW - l->inflight;

	if (room <= 0 || l->state != L_READY)
		return;
	if (!wq_current(l)) {
		/* Collect from now on; what is stored already is older. */
		l->wq_valid = true;
		l->wq_older = true;
		l->wq_gen = l->pm->pending_gen;
	}
	if (l->wq_older) {
		if ((head = TAILQ_FIRST(&l->wq)) != NULL)
			f.head = head->seq;
		if (pmsg_pending_for(l->pm->ms, l->user, l->sent_upto, room,
		    send_one, &f) != PSTORE_OK)
			return;
		if (!f.reached && f.n == room)
			return;		/* maybe more in the store */
		l->wq_older = false;
		room -= f.n;
	}
	fill_from_memory(l, room);
}

static int
count_one(const struct pmsg *m, void *arg)
{
	(*(int *)arg)++;
	return -1;
}

bool
pm_window_has_pending(struct plink *l)
{
	int n = 0;

	pmsg_pending_for(l->pm->ms, l->user, 0, 1, count_one, &n);
	return n > 0;
}

bool
pm_window_in_flight(const struct plink *l, int64_t seq)
{
	return l->state == L_READY && l->inflight > 0 && seq <= l->sent_upto;
}
