/*
 * The window of an outgoing link: which queued messages a ready link
 * sends next (up to PM_WINDOW unacknowledged, in seq order, each once
 * per connection) and whether anything waits for it at all. Called by
 * peer_link.c only; it reads the store's pending queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "log.h"
#include "peer_link.h"
#include "util.h"

/* Send one message on l and count it in flight. */
static int
send_one(const struct pmsg *m, void *arg)
{
	struct plink *l = arg;
	struct jsonw w;

	/* Printed, not built as a jansson tree: once per message sent. */
	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_str(&w, "t", "msg");
	jsonw_str(&w, "id", m->id);
	jsonw_str(&w, "from", l->pm->p->user);
	jsonw_str(&w, "to", l->user);
	jsonw_int(&w, "ts", m->ts_sent);
	jsonw_strn(&w, "body", m->body, m->body_len);
	jsonw_close(&w);
	if (jsonw_ok(&w) == 0)
		conn_send_text(l->c, jsonw_data(&w), jsonw_len(&w));
	jsonw_free(&w);
	l->sent_upto = m->seq;
	l->inflight++;
	return 0;
}

/* Fill the window with queued messages not yet sent on this connection. */
void
pm_window_fill(struct plink *l)
{
	pmsg_pending_for(l->pm->ms, l->user, l->sent_upto, PM_WINDOW - l->inflight,
	    send_one, l);
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
