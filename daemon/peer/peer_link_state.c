/*
 * An outgoing link's state between its connection and its frames: whether
 * it has work (messages or files for its recipient) or awaits an answer,
 * the stall and idle timers that follow from that, a ready link sending
 * what its window allows, and dropping its connection. peer_link.c
 * (connecting, the frames, the timers' ends) and peer_links.c call these;
 * they call only what is below the links (window, files, route).
 */
#include <sys/queue.h>

#include <math.h>

#include "peer_link.h"
#include "util.h"

bool
pm_link_has_cap(const struct plink *l, enum wire_cap cap)
{
	return l->state == L_READY && conn_has_cap(l->c, cap);
}

/*
 * Messages or files to deliver to l's recipient (files wait, the link
 * idle, while the recipient's daemon takes none: maybe a newer one later).
 */
bool
pm_link_has_work(struct plink *l)
{
	return pm_window_has_pending(l) || (pm_ftx_pending(l->pm, l->user) &&
	    (l->state != L_READY || pm_link_has_cap(l, WCAP_FILE)));
}

/* Waiting for an answer: messages unacknowledged, or a file going out. */
bool
pm_link_awaits(struct plink *l)
{
	return l->inflight > 0 || pm_ftx_busy(l->pm, l->user);
}

/*
 * A connection can die without a word: the recipient's host vanished or
 * changed address, or the network is cut. TCP would retransmit into the
 * void for many minutes. So a link that waits for an answer (the hello,
 * or acks for messages in flight) and hears nothing for
 * heartbeat.timeout (at least the handshake timeout) is given up, and
 * its messages are retried, maybe at a new address.
 */
double
pm_link_stall_limit(const struct plink *l)
{
	const struct config *cfg = l->pm->p->d->cfg;

	return fmax(cfg->hb_timeout, cfg->handshake_timeout);
}

void
pm_link_watch(struct plink *l)
{
	double idle = l->pm->p->d->cfg->idle_timeout;
	struct timeval tv;

	if (l->state == L_READY && !pm_link_awaits(l) && idle > 0) {
		tv = daemon_tv(idle);
		evtimer_add(l->idle, &tv);	/* idle from now */
	} else
		evtimer_del(l->idle);
	if (l->state != L_HELLO && (l->state != L_READY || !pm_link_awaits(l))) {
		evtimer_del(l->stall);
		return;
	}
	if (evtimer_pending(l->stall, NULL))
		return;
	l->heard = util_mono();
	tv = daemon_tv(pm_link_stall_limit(l));
	evtimer_add(l->stall, &tv);
}

/* The connection is gone: forget what it carried. */
void
pm_link_forget(struct plink *l)
{
	l->c = NULL;
	l->state = L_IDLE;
	l->inflight = 0;
	l->sent_upto = 0;
	pm_window_reset(l);
	pm_ftx_link_down(l->pm, l->user);
	evtimer_del(l->stall);
}

/* Drop the connection at once (no callbacks) and forget what it carried. */
void
pm_link_drop(struct plink *l)
{
	if (l->c != NULL)
		conn_close(l->c);
	peer_route_cancel(l);
	pm_link_forget(l);
	evtimer_del(l->idle);
}

void
pm_link_pump(struct plink *l)
{
	if (l->state != L_READY)
		return;
	if (l->inflight < PM_WINDOW)
		pm_window_fill(l);
	/* An older recipient closes the link on a file frame: none to it. */
	if (pm_link_has_cap(l, WCAP_FILE))
		pm_ftx_link_up(l->pm, l->user, l->c);
	pm_link_watch(l);
}
