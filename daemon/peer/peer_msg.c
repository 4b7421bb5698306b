/*
 * Peer messaging: its lifecycle (its events are peer_event.c, its
 * contacts peer_contact.c). Direct delivery between peers is in layers
 * (see peer_msg.h): the outgoing links (peer_link.c, their window
 * peer_window.c, their route peer_route.c) and incoming connections
 * (peer_in.c) call down into the delivery queue (peer_queue.c: the
 * group commit); the queue reports back only through the pm_hooks wired
 * here, a route to its link through the proute_hooks wired here. How
 * messages end is peer_end.c (cancel and expiry: peer_state.c); requests
 * that wait for them, peer_wait.c.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>

#include "log.h"
#include "peer_link.h"
#include "peer_msg.h"
#include "ratelimit.h"
#include "util.h"

static const struct pm_hooks hooks = {
	.received = pm_in_received,
	.received_end = pm_ins_flush_acks,
	.refused = pm_in_refused,
	.queued = pm_links_queued,
	.acked = pm_links_refill,
	.committed = pm_links_pump,
	.expires = pm_expiry_arm,
	.kick_all = pm_kick_all,
	.heard = pm_link_heard,
	.mailed = pm_mail_rx,
	.delivered = pm_mail_delivered,
	.list_applied = pm_mail_list_applied,
};

static const struct proute_hooks route_hooks = {
	.adopt = pm_link_adopt,
	.failed = pm_link_failed,
	.redirect = pm_link_redirect,
};

int64_t
peer_msgs_last_seq(struct peer *p)
{
	return p->msgs != NULL ? pmsg_last_seq(p->msgs->ms) : 0;
}

json_t *
peer_msgs_mail_status(struct peer *p)
{
	return pm_mail_status(p->msgs);
}

long
peer_msgs_pending_count(struct peer *p)
{
	return pmsg_count(p->msgs->ms, "pending") + pmsg_count(p->msgs->ms, "held");
}

/* ------------------------------------------------------------- lifecycle */

int
peer_msgs_start(struct peer *p, char **cause)
{
	static const struct timeval fts_now = { 0, 0 };
	struct peer_msgs *pm = xcalloc(1, sizeof(*pm));

	pm->p = p;
	pm->hooks = &hooks;
	pm->route_hooks = &route_hooks;
	p->msgs = pm;
	pm->verify = ratelimit_new(4096, 0);
	TAILQ_INIT(&pm->links);
	TAILQ_INIT(&pm->ins);
	TAILQ_INIT(&pm->waiters);
	TAILQ_INIT(&pm->invites);
	if ((pm->ms = pmsg_open(p->store, cause)) == NULL ||
	    (pm->arch = parch_open(p->store, cause)) == NULL ||
	    (pm->routes = proute_open(p->store, cause)) == NULL ||
	    (pm->requests = preq_open(p->store, cause)) == NULL ||
	    (pm->groups = pgroup_open(p->store, cause)) == NULL ||
	    pm_files_start(pm, cause) == -1 || pm_ftx_start(pm, cause) == -1)
		return -1;
	pm->dns = evdns_base_new(p->d->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	pm->flush_ev = event_new(p->d->base, -1, 0, on_flush, pm);
	pm->ckpt_ev = evtimer_new(p->d->base, on_checkpoint, pm);
	pm->fts_ev = evtimer_new(p->d->base, on_fts, pm);
	if (pm->dns == NULL || pm->flush_ev == NULL || pm->ckpt_ev == NULL ||
	    pm->fts_ev == NULL)
		fatalx("%s: out of memory", __func__);
	/*
	 * The full-text index is written off the commits (peer_queue.c,
	 * on_fts), from the notes the commits leave in fts_pending; what a
	 * kill -9 left noted is indexed now.
	 */
	pstore_fts_defer(p->store, true);
	evtimer_add(pm->fts_ev, &fts_now);
	pm_state_init(pm);
	pm_mail_start(pm);
	evdns_base_load_hosts(pm->dns, "/etc/hosts");
	pm_kick_all(pm);
	return 0;
}

void
peer_msgs_stop(struct peer *p)
{
	struct peer_msgs *pm = p->msgs;

	if (pm == NULL)
		return;
	pm->stopping = true;
	if (pm->expiry_ev != NULL)
		evtimer_del(pm->expiry_ev);
	if (evtimer_pending(pm->flush_ev, NULL) || pm_queue_busy(pm))
		on_flush(-1, 0, pm);	/* finish the transaction in flight */
	evtimer_del(pm->fts_ev);
	if (pstore_fts_flush(p->store, 0) == -1)
		log_warnx("peer_msg: the full-text index is behind; it is "
		    "written at the next start");
	pm_links_stop(pm);
	pm_ins_close(pm);
	peer_relay_stop(pm);
	pm_waiters_fail(pm);
	pm_files_stop(pm);
}

bool
peer_msgs_mail_stop(struct peer *p, void (*done)(void *), void *arg)
{
	return p->msgs != NULL && pm_mail_stop(p->msgs, done, arg);
}

bool
peer_msgs_mail_stopping(struct peer *p)
{
	return p->msgs != NULL && pm_mail_stopping(p->msgs);
}

void
peer_msgs_mail(struct peer *p)
{
	if (p->msgs != NULL)
		pm_mail_fetch(p->msgs);
}

void
peer_msgs_logged_out(struct peer *p)
{
	struct peer_msgs *pm = p->msgs;

	if (pm == NULL)
		return;
	pm_links_stop(pm);
	pm_ins_close(pm);
	pm_kick_all(pm);	/* each queue now says it waits for a login */
}

void
peer_msgs_free(struct peer *p)
{
	struct peer_msgs *pm = p->msgs;

	if (pm == NULL)
		return;
	peer_msgs_stop(p);
	pm_mail_free(pm);
	pm_links_free(pm);
	pm_state_free(pm);
	event_free(pm->flush_ev);
	event_free(pm->ckpt_ev);
	event_free(pm->fts_ev);
	evdns_base_free(pm->dns, 1);
	parch_close(pm->arch);
	proute_close(pm->routes);
	preq_close(pm->requests);
	pgroup_close(pm->groups);
	pm_ftx_free(pm);
	pm_files_free(pm);
	pmsg_close(pm->ms);
	pm_queue_free(pm);
	ratelimit_free(pm->verify);
	free(pm);
	p->msgs = NULL;
}
