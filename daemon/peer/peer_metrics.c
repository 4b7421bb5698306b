/*
 * The peer's samples for GET /metrics (metrics.c calls peer_metrics
 * through the pointer main hands it). The counters are the ones `stats`
 * and `status` show, read here, never counted twice; see
 * docs/OPERATIONS.md for the names and what to alert on.
 */
#include <string.h>

#include <jansson.h>

#include "metrics.h"
#include "peer.h"
#include "peer_gestor.h"
#include "peer_msg.h"
#include "util.h"

static void
queue(struct metrics_out *o, struct peer_msgs *pm)
{
	static const char q[] = "p2pchat_peer_queue_messages";

	metrics_family(o, q, "gauge", "Messages to send now, by state: "
	    "pending (being delivered) or held (waiting for a key check or a "
	    "contact's answer).");
	metrics_sample(o, q, "state=\"pending\"",
	    (double)pmsg_count(pm->ms, "pending"));
	metrics_sample(o, q, "state=\"held\"", (double)pmsg_count(pm->ms, "held"));
}

static void
routes(struct metrics_out *o, struct peer_msgs *pm)
{
	static const char l[] = "p2pchat_peer_links";
	json_t *r = peer_route_status(pm);

	metrics_family(o, l, "gauge", "Outgoing links ready now, by route.");
	metrics_sample(o, l, "route=\"direct\"",
	    (double)json_integer_value(json_object_get(r, "links_direct")));
	metrics_sample(o, l, "route=\"relay\"",
	    (double)json_integer_value(json_object_get(r, "links_relay")));
	metrics_gauge(o, "p2pchat_peer_relay_invites", "Relay invitations in "
	    "progress.", (double)json_integer_value(json_object_get(r,
	    "relay_invites")));
	json_decref(r);
}

void
peer_metrics(struct metrics_out *o, void *arg)
{
	struct daemon *d = arg;
	struct peer_msgs *pm = d->peer->msgs;
	const struct pm_stats *s = &pm->stats;
	static const char c[] = "p2pchat_peer_connections";
	static const char e[] = "p2pchat_peer_messages_ended_total";

	metrics_gauge(o, "p2pchat_uptime_seconds", "Seconds since this "
	    "daemon started.", util_mono() - d->started);
	metrics_gauge(o, "p2pchat_peer_gestor_online", "1 while the account's "
	    "session with the gestor is live.",
	    pgestor_state(d->peer->pg) == PG_ONLINE);
	metrics_gauge(o, "p2pchat_peer_logged_in", "1 while an account is "
	    "logged in on this daemon.", *d->peer->user != '\0');
	queue(o, pm);
	metrics_counter(o, "p2pchat_peer_messages_sent_total",
	    "Messages accepted by send.", (double)s->sent);
	metrics_counter(o, "p2pchat_peer_messages_received_total",
	    "Messages received and stored.", (double)s->received);
	metrics_counter(o, "p2pchat_peer_messages_delivered_total",
	    "Messages the recipient acknowledged.", (double)s->delivered);
	metrics_family(o, e, "counter", "Messages that ended undelivered, "
	    "by how: failed (retry.ttl ran out), cancelled, expired.");
	metrics_sample(o, e, "how=\"failed\"", (double)s->failed);
	metrics_sample(o, e, "how=\"cancelled\"", (double)s->cancelled);
	metrics_sample(o, e, "how=\"expired\"", (double)s->expired);
	metrics_counter(o, "p2pchat_peer_retries_total",
	    "Delivery attempts after the first.", (double)s->retries);
	metrics_counter(o, "p2pchat_peer_duplicates_total",
	    "Messages received again (already stored).", (double)s->duplicates);
	metrics_counter(o, "p2pchat_peer_requests_refused_total",
	    "Messages from strangers refused (quota or rate).",
	    (double)s->requests_refused);
	metrics_family(o, c, "gauge", "Peer connections open now, by "
	    "direction.");
	metrics_sample(o, c, "direction=\"out\"", (double)pm_links_ready(pm));
	metrics_sample(o, c, "direction=\"in\"", (double)pm->nins);
	routes(o, pm);
	metrics_counter(o, "p2pchat_peer_store_commit_failures_total",
	    "Group commits of the message store that failed (rolled back).",
	    (double)s->commit_failures);
	metrics_histogram(o, "p2pchat_peer_store_commit_seconds",
	    "Time of one group commit of the message store (one fsync).",
	    &s->commit);
}
