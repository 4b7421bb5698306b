/*
 * Peer messaging: its lifecycle and its events. Direct delivery between
 * peers is in layers (see peer_msg.h): the connections, outgoing links
 * (peer_link.c, their window peer_window.c, their route peer_route.c)
 * and incoming connections (peer_in.c), call down into the delivery
 * queue (peer_queue.c: the group commit); the queue reports back only
 * through the pm_hooks wired here. How messages end (cancel, expiry,
 * hold) is peer_state.c; requests that wait for them, peer_wait.c.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>

#include "log.h"
#include "peer_msg.h"
#include "ratelimit.h"
#include "util.h"

static const struct pm_hooks hooks = {
	.received = pm_in_received,
	.queued = pm_links_queued,
	.committed = pm_links_pump,
};

/* ------------------------------------------------------------------ events */

/*
 * An event line from a stored event: {"event":type,"seq":n,...data}, in
 * that order, as the live line was printed (a replay used to put event
 * and seq last: the same values, other bytes).
 */
json_t *
pm_event_line(int64_t seq, const char *type, const char *data)
{
	json_t *o = json_object(), *d = json_loads(data, 0, NULL), *ts;

	json_object_set_new(o, "event", json_string(type));
	json_object_set_new(o, "seq", json_integer(seq));
	if (json_is_object(d)) {
		/* Stored data cannot move event or seq: those keys are ours. */
		json_object_del(d, "event");
		json_object_del(d, "seq");
		json_object_update(o, d);
	}
	json_decref(d);
	/* Replaced in place: ts keeps its position. */
	if (json_is_integer(ts = json_object_get(o, "ts")))
		json_object_set_new(o, "ts", peer_iso((json_integer_value(ts)) / 1000));
	return o;
}

void
peer_msgs_event(struct peer *p, const char *type, json_t *data)
{
	char *text = json_dumps(data, JSON_COMPACT);
	int64_t seq = 0;
	json_t *line;

	if (text == NULL || pmsg_event(p->msgs->ms, type, text, &seq) != PSTORE_OK)
		log_warnx("peer_queue: cannot store a %s event", type);
	line = pm_event_line(seq, type, text != NULL ? text : "{}");
	peer_event(p, line);
	json_decref(line);
	free(text);
}

int64_t
peer_msgs_last_seq(struct peer *p)
{
	return p->msgs != NULL ? pmsg_last_seq(p->msgs->ms) : 0;
}

long
peer_msgs_pending_count(struct peer *p)
{
	return pmsg_count(p->msgs->ms, "pending") + pmsg_count(p->msgs->ms, "held");
}

/* --------------------------------------------------------------- contacts */

static int
add_contact(const struct pcontact *c, void *arg)
{
	json_array_append_new(arg, json_string(c->name));
	return json_array_size(arg) < WIRE_MAX_WATCH ? 0 : -1;
}

void
pm_watch_contacts(struct peer_msgs *pm)
{
	json_t *users = json_array();

	pstore_contact_foreach(pm->p->store, add_contact, users);
	pgestor_watch(pm->p->pg, users);
	json_decref(users);
}

void
peer_msgs_contacts_changed(struct peer *p)
{
	pm_watch_contacts(p->msgs);
}

/* ------------------------------------------------------------- lifecycle */

int
peer_msgs_start(struct peer *p, char **cause)
{
	struct peer_msgs *pm = xcalloc(1, sizeof(*pm));

	pm->p = p;
	pm->hooks = &hooks;
	p->msgs = pm;
	pm->verify = ratelimit_new(4096, 0);
	TAILQ_INIT(&pm->links);
	TAILQ_INIT(&pm->ins);
	TAILQ_INIT(&pm->waiters);
	TAILQ_INIT(&pm->invites);
	if ((pm->ms = pmsg_open(p->store, cause)) == NULL ||
	    (pm->arch = parch_open(p->store, cause)) == NULL ||
	    (pm->routes = proute_open(p->store, cause)) == NULL)
		return -1;
	pm->dns = evdns_base_new(p->d->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	pm->flush_ev = event_new(p->d->base, -1, 0, on_flush, pm);
	pm->ckpt_ev = evtimer_new(p->d->base, on_checkpoint, pm);
	if (pm->dns == NULL || pm->flush_ev == NULL || pm->ckpt_ev == NULL)
		fatalx("%s: out of memory", __func__);
	pm_state_init(pm);
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
	pm_links_stop(pm);
	pm_ins_close(pm);
	peer_relay_stop(pm);
	pm_waiters_fail(pm);
}

void
peer_msgs_free(struct peer *p)
{
	struct peer_msgs *pm = p->msgs;

	if (pm == NULL)
		return;
	peer_msgs_stop(p);
	pm_links_free(pm);
	pm_state_free(pm);
	event_free(pm->flush_ev);
	event_free(pm->ckpt_ev);
	evdns_base_free(pm->dns, 1);
	parch_close(pm->arch);
	proute_close(pm->routes);
	pmsg_close(pm->ms);
	pm_queue_free(pm);
	ratelimit_free(pm->verify);
	free(pm);
	p->msgs = NULL;
}
