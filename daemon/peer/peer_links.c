/*
 * The outgoing links together (one link is peer_link.c): what the queue,
 * the ends of messages and the control commands ask of them (kick every
 * recipient with messages waiting, whether a message is in flight, how
 * many are ready, fill the windows after a commit, stop and free them),
 * and the gestor's presence pushes: a contact back online, maybe at a new
 * address, is retried at once.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "peer_link.h"
#include "pstore_file.h"

static int
kick_one(const char *user, void *arg)
{
	pm_kick(arg, user, false);
	return 0;
}

static void
kick_file(const char *user, void *arg)
{
	pm_kick(arg, user, false);
}

void
pm_kick_all(struct peer_msgs *pm)
{
	pmsg_pending_peers(pm->ms, kick_one, pm);
	pfile_pending_peers(pm->files, kick_file, pm);
}

bool
pm_link_in_flight(struct peer_msgs *pm, const char *user, int64_t seq)
{
	struct plink *l = pm_link_find(pm, user, false);

	return l != NULL && pm_window_in_flight(l, seq);
}

int
pm_links_ready(struct peer_msgs *pm)
{
	struct plink *l;
	int n = 0;

	TAILQ_FOREACH(l, &pm->links, entry)
		n += l->state == L_READY;
	return n;
}

void
pm_links_pump(struct peer_msgs *pm)
{
	struct plink *l;

	TAILQ_FOREACH(l, &pm->links, entry)
		if (l->state == L_READY)
			pm_link_pump(l);
}

void
pm_links_refill(struct peer_msgs *pm)
{
	struct plink *l;

	TAILQ_FOREACH(l, &pm->links, entry) {
		if (l->state != L_READY || l->inflight >= PM_WINDOW)
			continue;
		pm_window_fill(l);
		conn_push(l->c);
	}
}

void
pm_links_queued(struct peer_msgs *pm, const struct pmsg *m)
{
	pm_window_queued(pm_link_find(pm, m->peer, true), m);
	pm_kick(pm, m->peer, false);
}

void
pm_links_stop(struct peer_msgs *pm)
{
	struct plink *l;

	TAILQ_FOREACH(l, &pm->links, entry) {
		evtimer_del(l->retry);
		evtimer_del(l->stall);
		evtimer_del(l->idle);
		peer_route_cancel(l);
		pm_ftx_link_down(pm, l->user);	/* closed without on_link_close */
		if (l->c != NULL) {
			conn_close(l->c);
			l->c = NULL;
			l->state = L_IDLE;
		}
		pm_window_reset(l);
	}
}

void
pm_links_free(struct peer_msgs *pm)
{
	struct plink *l;

	while ((l = TAILQ_FIRST(&pm->links)) != NULL)
		pm_link_free(l);
}

/* ------------------------------------------------------------ presence */

/*
 * The gestor says user is online at addr:port. A connection to another
 * address is to where the user was: drop it and go to the new one now.
 */
static void
link_moved(struct plink *l, const char *addr, int port)
{
	char now_at[sizeof(l->addr)];

	snprintf(now_at, sizeof(now_at), "%s:%d", addr, port);
	if (l->c == NULL || strcmp(now_at, l->addr) == 0)
		return;
	if (l->via_relay) {
		/* The relayed link does not care; the new address may work. */
		peer_route_probe_soon(l);
		return;
	}
	log_info("peer_msg: %s moved from %s to %s; reconnecting", l->user,
	    l->addr, now_at);
	pm_link_drop(l);
}

/* Logged in again: resubscribe, and every waiting link asks afresh. */
void
peer_msgs_online(struct peer *p)
{
	struct plink *l;

	pm_watch_contacts(p->msgs);
	/* A fresh lookup for every link that waits. */
	TAILQ_FOREACH(l, &p->msgs->links, entry)
		l->looked_up = false;
	pm_kick_all(p->msgs);
}

/* A contact came online, maybe at a new address: go there now. */
void
peer_msgs_presence(struct peer *p, const struct w_presence *pr)
{
	struct plink *l;

	TAILQ_FOREACH(l, &p->msgs->links, entry)
		if (strcmp(l->user, pr->user) == 0)
			break;
	if (l == NULL || !pr->online)
		return;
	/* Back online, maybe elsewhere: retry now with the new address. */
	l->looked_up = true;
	l->said_offline = false;
	if (pr->addr != NULL && *pr->addr != '\0')
		link_moved(l, pr->addr, pr->port);
	if (l->state != L_READY)
		pm_kick(p->msgs, pr->user, true);
}
