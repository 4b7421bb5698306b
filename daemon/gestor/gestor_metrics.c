/*
 * The gestor's samples for GET /metrics (metrics.c calls gestor_metrics
 * through the pointer main hands it). The counters are the ones `stats`
 * shows, read here, never counted twice; see docs/OPERATIONS.md for
 * the names and what to alert on.
 */
#include <stdio.h>
#include <string.h>

#include "gestor.h"
#include "gestor_int.h"
#include "gstore.h"
#include "metrics.h"
#include "relay.h"
#include "util.h"

static void
refusals(struct metrics_out *o, const struct gestor_stats *s)
{
	static const char name[] = "p2pchat_gestor_refusals_total";

	metrics_family(o, name, "counter", "Requests refused, by reason: "
	    "a wrong password or unknown user (bad_credentials), a key not "
	    "the account's (key_mismatch), over a rate limit (login_rate, "
	    "register_rate, lookup_rate, watch_rate), too many password "
	    "checks waiting from one address (hash_busy), a published "
	    "address refused (advertised_address).");
	metrics_sample(o, name, "reason=\"bad_credentials\"",
	    (double)s->bad_credentials);
	metrics_sample(o, name, "reason=\"key_mismatch\"",
	    (double)s->key_mismatch);
	metrics_sample(o, name, "reason=\"login_rate\"",
	    (double)s->login_limited);
	metrics_sample(o, name, "reason=\"register_rate\"",
	    (double)s->register_limited);
	metrics_sample(o, name, "reason=\"hash_busy\"",
	    (double)s->hash_busy);
	metrics_sample(o, name, "reason=\"lookup_rate\"",
	    (double)s->lookups_refused);
	metrics_sample(o, name, "reason=\"watch_rate\"",
	    (double)s->watches_refused);
	metrics_sample(o, name, "reason=\"advertised_address\"",
	    (double)s->adv_refused);
}

static void
database(struct metrics_out *o, struct gestor *g)
{
	static const char *const states[] = {
		[GSTORE_UP] = "connected",
		[GSTORE_CONNECTING] = "connecting",
		[GSTORE_DOWN] = "reconnecting",
	};
	static const char st[] = "p2pchat_gestor_database_state";
	struct gstore_info i;
	char lbl[64];
	size_t k;

	gstore_info(g->store, &i);
	metrics_gauge(o, "p2pchat_gestor_database_up", "1 while the database "
	    "answers, 0 while the gestor reconnects to it.",
	    i.state == GSTORE_UP ? 1 : 0);
	metrics_family(o, st, "gauge", "The database link's state: 1 for the "
	    "current one.");
	for (k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
		snprintf(lbl, sizeof(lbl), "state=\"%s\"", states[k]);
		metrics_sample(o, st, lbl, i.state == (enum gstore_state)k);
	}
	metrics_counter(o, "p2pchat_gestor_database_errors_total",
	    "Database operations that failed.", (double)i.errors);
	metrics_counter(o, "p2pchat_gestor_database_reconnects_total",
	    "Reconnections to the database (PostgreSQL).",
	    (double)i.reconnects);
	metrics_counter(o, "p2pchat_gestor_database_timeouts_total",
	    "Database operations that timed out (PostgreSQL).",
	    (double)i.timeouts);
	metrics_counter(o, "p2pchat_gestor_cluster_refused_total",
	    "Notifications from other gestors dropped (bad seal or shape).",
	    (double)i.refused);
	if (i.latency != NULL)
		metrics_histogram(o, "p2pchat_gestor_database_seconds",
		    "Time from asking the store to its answer, every operation.",
		    i.latency);
}

static void
relay(struct metrics_out *o, struct gestor *g)
{
	static const char cl[] = "p2pchat_relay_closed_total";
	struct relay_stats st;

	memset(&st, 0, sizeof(st));
	if (g->relay != NULL)
		relay_get_stats(g->relay, &st);
	metrics_gauge(o, "p2pchat_relay_enabled", "1 when this gestor runs a "
	    "relay (relay.listen).", g->relay != NULL);
	metrics_gauge(o, "p2pchat_relay_sessions_active",
	    "Relay sessions paired now.", (double)st.active);
	metrics_gauge(o, "p2pchat_relay_sessions_waiting",
	    "Relay sessions made, not yet paired.", (double)st.waiting);
	metrics_counter(o, "p2pchat_relay_sessions_total",
	    "Relay sessions paired.", (double)st.total);
	metrics_counter(o, "p2pchat_relay_requests_total",
	    "Relay sessions asked for.", (double)st.requests);
	metrics_counter(o, "p2pchat_relay_refused_total", "Relay requests and "
	    "connections refused (caps, no session).",
	    (double)(g->stats.relay_refused + st.refused));
	metrics_counter(o, "p2pchat_relay_bytes_total",
	    "Bytes relayed, both directions.", (double)st.bytes);
	metrics_gauge(o, "p2pchat_relay_buffered_bytes",
	    "Bytes held in the relay sessions' buffers now.",
	    (double)st.buffered);
	metrics_family(o, cl, "counter", "Relay connections closed by the "
	    "relay, by reason.");
	metrics_sample(o, cl, "reason=\"bad_key\"", (double)st.bad_keys);
	metrics_sample(o, cl, "reason=\"expired\"", (double)st.expired);
	metrics_sample(o, cl, "reason=\"idle\"", (double)st.idle_closed);
	metrics_sample(o, cl, "reason=\"one_way\"", (double)st.one_way_closed);
	metrics_sample(o, cl, "reason=\"stalled\"", (double)st.stalled);
	metrics_sample(o, cl, "reason=\"evicted\"", (double)st.evicted);
	metrics_sample(o, cl, "reason=\"not_tls\"", (double)st.not_tls);
	metrics_counter(o, "p2pchat_relay_invites_total", "Relay invitations "
	    "sent to another gestor of the cluster.",
	    (double)g->stats.relay_invites_out);
}

/* The mailbox's counters (what it holds needs a database read: stats). */
static void
mail(struct metrics_out *o, const struct gestor_stats *s)
{
	static const char rf[] = "p2pchat_gestor_mail_refused_total";

	metrics_counter(o, "p2pchat_gestor_mail_deposits_total",
	    "Sealed mail deposited (mbox-put).", (double)s->mail_deposits);
	metrics_counter(o, "p2pchat_gestor_mail_fetched_total",
	    "Deposits handed to their recipients (mbox-get).",
	    (double)s->mail_fetched);
	metrics_counter(o, "p2pchat_gestor_mail_acked_total",
	    "Deposits acknowledged by their recipients (mbox-ack).",
	    (double)s->mail_acked);
	metrics_counter(o, "p2pchat_gestor_mail_withdrawn_total",
	    "Deposits withdrawn by their senders.", (double)s->mail_withdrawn);
	metrics_counter(o, "p2pchat_gestor_mail_expired_total",
	    "Deposits deleted at mailbox.ttl.", (double)s->mail_expired);
	metrics_family(o, rf, "counter", "Deposits refused, by reason: a full "
	    "mailbox (quota), no such user (no_user), a recipient that takes "
	    "no mail (no_mail), mailbox.enable false (disabled), the database "
	    "failed (store).");
	metrics_sample(o, rf, "reason=\"quota\"", (double)s->mail_refused_quota);
	metrics_sample(o, rf, "reason=\"no_user\"",
	    (double)s->mail_refused_no_user);
	metrics_sample(o, rf, "reason=\"no_mail\"",
	    (double)s->mail_refused_no_mail);
	metrics_sample(o, rf, "reason=\"disabled\"",
	    (double)s->mail_refused_disabled);
	metrics_sample(o, rf, "reason=\"store\"", (double)s->mail_refused_store);
}

void
gestor_metrics(struct metrics_out *o, void *arg)
{
	struct daemon *d = arg;
	struct gestor *g = d->gestor;
	const struct gestor_stats *s = &g->stats;

	metrics_gauge(o, "p2pchat_uptime_seconds", "Seconds since this "
	    "daemon started.", util_mono() - d->started);
	metrics_gauge(o, "p2pchat_gestor_connections", "Peer connections open "
	    "now.", g->nconns);
	metrics_gauge(o, "p2pchat_gestor_sessions_online", "Users logged in "
	    "here now.", g->nonline);
	metrics_counter(o, "p2pchat_gestor_connections_total",
	    "Peer connections accepted.", (double)s->connections_total);
	metrics_counter(o, "p2pchat_gestor_registrations_total",
	    "Accounts registered.", (double)s->registrations);
	metrics_counter(o, "p2pchat_gestor_logins_total",
	    "Logins and key authentications that succeeded.",
	    (double)s->logins);
	refusals(o, s);
	metrics_counter(o, "p2pchat_gestor_lookups_total",
	    "Lookups answered.", (double)s->lookups);
	metrics_counter(o, "p2pchat_gestor_watched_names_total",
	    "Names newly watched for presence.", (double)s->watched_names);
	metrics_counter(o, "p2pchat_gestor_presence_pushes_total",
	    "Presence frames pushed to watchers.", (double)s->presence_pushes);
	metrics_counter(o, "p2pchat_gestor_frames_received_total",
	    "Frames read from peers.", (double)s->frames_in);
	metrics_counter(o, "p2pchat_gestor_frames_sent_total",
	    "Frames sent to peers.", (double)s->frames_out);
	metrics_counter(o, "p2pchat_gestor_cluster_events_total",
	    "Notifications from other gestors of the cluster.",
	    (double)s->cluster_events);
	database(o, g);
	relay(o, g);
	mail(o, s);
}
