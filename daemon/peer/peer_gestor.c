/*
 * The peer's link to the gestor. A small state machine:
 *
 *   DISCONNECTED -> RESOLVING -> CONNECTING -> CONNECTED [-> AUTHING] -> ONLINE
 *
 * Every failure moves on to the next configured address; when all have
 * failed the link waits (exponential backoff with jitter) and starts over
 * from the first. Names are re-resolved on every attempt with evdns, after
 * reloading /etc/hosts, so a moved gestor is found again. Requests carry
 * a number "n" that the gestor echoes; replies come back in order.
 *
 * The account session ends only for a permanent answer; every other
 * failure keeps it and retries (next address, then backoff with jitter).
 * Each error path of the link, classified (docs/SESSIONS.md has the same
 * table, tests/integration/session_errors.sh and tests/pg/resume_db_down.sh
 * test each class):
 *
 *   where			what				class
 *   resolve, connect	any failure			transient: next address
 *   TLS handshake		any failure, timeout		transient: next address
 *   gestor key		not the pinned one		transient: backoff (key_refused)
 *   connection		closed, reset, EOF		transient: reconnect
 *   request		no answer in PG_REQUEST_TIMEOUT	transient: reconnect
 *   heartbeat		silent past heartbeat.timeout	transient: reconnect
 *   heartbeat		not_authenticated		transient: reconnect, auth
 *   reply			out of order			transient: reconnect
 *   auth reply		unavailable (database down),	transient: next address,
 *			rate_limited, internal, busy,	then backoff
 *			timeout, bad_request, bad_frame,
 *			unknown_type, not_authenticated,
 *			any code not listed below
 *   auth reply		key_mismatch (the key is not	permanent: session ends
 *			the account's, or the account
 *			is gone), no_such_user,
 *			bad_credentials
 *   pushed error		session_replaced		re-auth with backoff: a
 *			(another login took the		newer login elsewhere bound
 *			account, or a stale cluster	another key, so the auth
 *			notification)			gets key_mismatch (ends);
 *							our own key resumes
 *   user			logout				permanent: session ends
 */
#include <sys/queue.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/dns.h>
#include <gnutls/crypto.h>

#include "log.h"
#include "peer_gestor_int.h"
#include "util.h"

#define PG_BACKOFF_CAP	30.0	/* seconds, at most, between rounds */
#define PG_TICK		0.5

static void	on_resolved(int, struct evutil_addrinfo *, void *);
static void	on_ready(struct conn *, void *);
static void	on_frame(struct conn *, json_t *, void *);
static void	on_close(struct conn *, const char *, void *);
static void	on_retry(evutil_socket_t, short, void *);
static void	on_hb(evutil_socket_t, short, void *);
static void	on_tick(evutil_socket_t, short, void *);
static void	attempt(struct pgestor *);
static void	link_down(struct pgestor *, const char *why, enum pg_next);

static const struct conn_cbs pg_conn_cbs = { on_ready, on_frame, on_close };


static double
jitter(void)
{
	uint32_t r;

	gnutls_rnd(GNUTLS_RND_NONCE, &r, sizeof(r));
	return 0.5 + 0.5 * (r / 4294967296.0);
}

struct pgestor *
pgestor_new(struct daemon *d, struct pstore *ps, const struct pgestor_cbs *cbs,
    void *arg)
{
	struct pgestor *pg = xcalloc(1, sizeof(*pg));
	struct timeval tick = daemon_tv(PG_TICK);

	pg->d = d;
	pg->ps = ps;
	pg->cbs = *cbs;
	pg->arg = arg;
	pg->watch = json_array();
	pg->next_n = 1;
	TAILQ_INIT(&pg->queue);
	TAILQ_INIT(&pg->inflight);
	pg->dns = evdns_base_new(d->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (pg->dns == NULL)
		pg->dns = evdns_base_new(d->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	pg->retry_ev = evtimer_new(d->base, on_retry, pg);
	pg->hb_ev = evtimer_new(d->base, on_hb, pg);
	pg->tick_ev = event_new(d->base, -1, EV_PERSIST, on_tick, pg);
	if (pg->dns == NULL || pg->retry_ev == NULL || pg->hb_ev == NULL ||
	    pg->tick_ev == NULL)
		fatalx("%s: out of memory", __func__);
	event_add(pg->tick_ev, &tick);
	return pg;
}

void
pgestor_stop(struct pgestor *pg)
{
	pg->stopped = true;
	if (pg->dnsreq != NULL) {
		evdns_getaddrinfo_cancel(pg->dnsreq);
		pg->dnsreq = NULL;
	}
	if (pg->c != NULL) {
		conn_close(pg->c);
		pg->c = NULL;
	}
	event_del(pg->retry_ev);
	event_del(pg->hb_ev);
	event_del(pg->tick_ev);
	pg_reqs_fail(pg, &pg->inflight, ERR_GESTOR_UNAVAILABLE, "shutting down");
	pg_reqs_fail(pg, &pg->queue, ERR_GESTOR_UNAVAILABLE, "shutting down");
	pg->state = PG_DISCONNECTED;
}

void
pgestor_free(struct pgestor *pg)
{
	if (pg == NULL)
		return;
	pgestor_stop(pg);
	event_free(pg->retry_ev);
	event_free(pg->hb_ev);
	event_free(pg->tick_ev);
	evdns_base_free(pg->dns, 1);
	json_decref(pg->watch);
	free(pg);
}

/* ------------------------------------------------------------- connecting */

void
pgestor_start(struct pgestor *pg)
{
	pg->stopped = false;
	if (pg->state != PG_DISCONNECTED && pg->state != PG_KEY_REFUSED)
		return;
	event_del(pg->retry_ev);
	pg->idx = 0;
	attempt(pg);
}

static void
schedule_round(struct pgestor *pg)
{
	const struct config *cfg = pg->d->cfg;
	double cap = fmin(cfg->retry_max, PG_BACKOFF_CAP);
	double delay = fmin(cap, cfg->retry_initial * pow(2, pg->rounds));
	struct timeval tv;

	delay = fmax(0.05, delay * jitter());
	pg->rounds = pg->rounds < 30 ? pg->rounds + 1 : 30;
	pg->idx = 0;
	tv = daemon_tv(delay);
	evtimer_add(pg->retry_ev, &tv);
	pg->retry_at = util_mono() + delay;
	log_info("peer_gestor: no gestor reachable, retrying in %.1f s", delay);
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	attempt(arg);
}

/* A link is needed for a session, or for a request waiting to go. */
static bool
wanted(const struct pgestor *pg)
{
	return *pg->account != '\0' || !TAILQ_EMPTY(&pg->queue);
}

/* Try the address at idx, or wait for the next round after the last. */
static void
attempt(struct pgestor *pg)
{
	const struct config *cfg = pg->d->cfg;
	struct evutil_addrinfo hints;
	char host[256], port[16];
	int p;

	if (pg->stopped)
		return;
	/*
	 * One link at a time. link_down fails the requests in flight, and a
	 * failed request's callback may ask again (the mailbox's fetch),
	 * which connects an idle link at once; link_down then went on to
	 * connect too, and pg->c was overwritten: the first connection,
	 * still pg's, called on_ready later with pg->c NULL (a SIGSEGV seen
	 * under valgrind, where handshakes are slow).
	 */
	if (pg->c != NULL || pg->dnsreq != NULL)
		return;
	if (!wanted(pg)) {
		/* Logged out, nothing to ask: connect when a request comes. */
		pg->state = PG_DISCONNECTED;
		return;
	}
	if (pg->idx >= cfg->n_gestor_addresses) {
		pg->state = PG_DISCONNECTED;
		schedule_round(pg);
		return;
	}
	snprintf(pg->addr, sizeof(pg->addr), "%s", cfg->gestor_addresses[pg->idx]);
	if (config_split_hostport(pg->addr, host, sizeof(host), &p,
	    P2P_DEFAULT_GESTOR_PORT) == -1) {
		pg->idx++;
		attempt(pg);
		return;
	}
	snprintf(port, sizeof(port), "%d", p);
	pg->state = PG_RESOLVING;
	/* A moved gestor may be named in a rewritten hosts file. */
	evdns_base_clear_host_addresses(pg->dns);
	evdns_base_load_hosts(pg->dns, "/etc/hosts");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
	log_debug("peer_gestor: resolving %s", pg->addr);
	pg->dnsreq = evdns_getaddrinfo(pg->dns, host, port, &hints, on_resolved, pg);
}

static void
on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct pgestor *pg = arg;
	const struct config *cfg = pg->d->cfg;
	char why[700];

	if (result == EVUTIL_EAI_CANCEL)
		return;		/* its owner may be freed: touch nothing */
	pg->dnsreq = NULL;
	if (result != 0 || res == NULL) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s", pg->addr,
		    evutil_gai_strerror(result));
		link_down(pg, why, PG_NEXT_ADDRESS);
		return;
	}
	pg->state = PG_CONNECTING;
	pg->c = conn_connect(pg->d->base, pg->d->tls, res->ai_addr,
	    (socklen_t)res->ai_addrlen, (size_t)cfg->max_frame_bytes,
	    cfg->handshake_timeout, &pg_conn_cbs, pg);
	evutil_freeaddrinfo(res);
	if (pg->c == NULL) {
		snprintf(why, sizeof(why), "cannot connect to %s", pg->addr);
		link_down(pg, why, PG_NEXT_ADDRESS);
	}
}

static void	send_hb(struct pgestor *);

static void
went_online(struct pgestor *pg)
{
	struct timeval tv = daemon_tv(pg->d->cfg->hb_interval);

	pg->state = PG_ONLINE;
	pg->rounds = 0;
	pg->online_since = util_mono();
	*pg->last_error = '\0';
	log_info("peer_gestor: online as %s via %s", pg->account, pg->addr);
	send_hb(pg);
	evtimer_add(pg->hb_ev, &tv);
	if (json_array_size(pg->watch) > 0)
		pg_req_internal(pg, json_pack("{s:s,s:O}", "t", "watch", "users",
		    pg->watch), NULL);
	pg_reqs_flush(pg);
	if (pg->cbs.online != NULL)
		pg->cbs.online(pg->arg);
	if (pg->cbs.mail != NULL)
		pg->cbs.mail(pg->arg);
}

static void
on_auth_reply(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct pgestor *pg = arg;
	char why[900];

	if (reply != NULL) {
		pg_session_caps(pg, reply);
		went_online(pg);
		return;
	}
	if (pg->c == NULL)
		return;		/* link lost; it will retry */
	if (!pgestor_permanent(code)) {
		/* The gestor cannot say yes now: keep the session, try the
		 * next gestor, then again after the round's backoff. */
		log_warnx("peer_gestor: cannot resume %s at %s yet: %s: %s; the "
		    "session is kept and retried", pg->account, pg->addr, code,
		    msg);
		snprintf(why, sizeof(why), "cannot resume %s at %s: %s: %s",
		    pg->account, pg->addr, code, msg);
		link_down(pg, why, PG_NEXT_ADDRESS);
		return;
	}
	log_warnx("peer_gestor: cannot resume %s: %s: %s", pg->account, code, msg);
	snprintf(pg->last_error, sizeof(pg->last_error), "%s: %s", code, msg);
	*pg->account = '\0';
	pg->state = PG_CONNECTED;
	if (pg->cbs.session_lost != NULL)
		pg->cbs.session_lost(code, msg, pg->arg);
	pg_reqs_flush(pg);
}

static void
on_ready(struct conn *c, void *arg)
{
	struct pgestor *pg = arg;

	if (!pg_gestor_key_ok(pg, conn_peer_fingerprint(c))) {
		conn_close(c);
		pg->c = NULL;
		pg->state = PG_KEY_REFUSED;
		schedule_round(pg);
		return;
	}
	pg->last_rx = util_mono();
	pg->state = PG_CONNECTED;
	pg->mbox_put = 0;	/* until this gestor's session answer says */
	log_info("peer_gestor: connected to %s", pg->addr);
	if (*pg->account != '\0') {
		pg->state = PG_AUTHING;
		pg_req_internal(pg, json_pack("{s:s,s:s,s:s}", "t", "auth",
		    "user", pg->account, "mail", pgestor_mail_key(pg)),
		    on_auth_reply);
	} else
		pg->rounds = 0;
	pg_reqs_flush(pg);
}

/* ------------------------------------------------------------------ frames */

/*
 * Told that another login replaced the session: resume after a backoff
 * that grows while it keeps happening (two daemons with one identity
 * would otherwise take the session from each other every second).
 */
static void
replaced(struct pgestor *pg)
{
	if (util_mono() - pg->online_since > 60)
		pg->replaced = 0;
	pg->rounds = pg->replaced;
	if (pg->replaced < 30)
		pg->replaced++;
	link_down(pg, "the gestor says another login replaced this session; "
	    "resuming to check", PG_NEXT_BACKOFF);
}

static void
on_reply(struct pgestor *pg, struct wire_msg *m)
{
	json_t *n = json_object_get(m->frame, "n");
	struct pg_req *r = TAILQ_FIRST(&pg->inflight);

	if (n == NULL && m->type == W_ERROR) {
		log_warnx("peer_gestor: gestor says %s: %s", m->u.error.code,
		    m->u.error.message);
		/*
		 * Not the end by itself: a newer login elsewhere bound another
		 * key, and then the auth after the backoff gets key_mismatch;
		 * a stale or forged cluster notification does not end it.
		 */
		if (strcmp(m->u.error.code, "session_replaced") == 0 &&
		    *pg->account != '\0')
			replaced(pg);
		return;
	}
	if (r == NULL || !json_is_integer(n) || json_integer_value(n) != r->n) {
		link_down(pg, "reply out of order from the gestor", PG_NEXT_SOON);
		return;
	}
	TAILQ_REMOVE(&pg->inflight, r, entry);
	if (m->type == W_OK && pg_bad_lookup(r, m->frame)) {
		if (r->cb != NULL)
			r->cb(NULL, ERR_BAD_FRAME, "the gestor's answer to lookup "
			    "is malformed (refused; see the log)", r->arg);
	} else if (r->cb != NULL) {
		if (m->type == W_OK)
			r->cb(m->frame, NULL, NULL, r->arg);
		else
			r->cb(NULL, m->u.error.code, m->u.error.message, r->arg);
	}
	pg_req_free(r);
}

static void
on_frame(struct conn *c, json_t *frame, void *arg)
{
	struct pgestor *pg = arg;
	struct wire_msg m;
	const char *code;
	char err[256];

	pg->last_rx = util_mono();
	if (wire_parse(frame, &m, (size_t)pg->d->cfg->max_message_bytes, &code,
	    err, sizeof(err)) == -1) {
		log_warnx("peer_gestor: bad frame from gestor: %s: %s", code, err);
		return;
	}
	switch (m.type) {
	case W_OK:
	case W_ERROR:
		on_reply(pg, &m);
		break;
	case W_PRESENCE:
		if (pg->cbs.presence != NULL)
			pg->cbs.presence(&m.u.presence, pg->arg);
		break;
	case W_MBOX:
		if (pg->cbs.mail != NULL && pg->state == PG_ONLINE)
			pg->cbs.mail(pg->arg);
		break;
	case W_RELAY_INVITE:
		if (pg->cbs.relay_invite != NULL && pg->state == PG_ONLINE)
			pg->cbs.relay_invite(&m.u.relay, pg->arg);
		break;
	default:
		log_warnx("peer_gestor: unexpected '%s' frame from the gestor",
		    wire_type_name(m.type));
		break;
	}
}

static void
on_close(struct conn *c, const char *reason, void *arg)
{
	struct pgestor *pg = arg;
	char why[700];

	pg->c = NULL;
	snprintf(why, sizeof(why), "%s: %s", pg->addr, reason);
	link_down(pg, why, PG_NEXT_SOON);
}

/* The link is gone: fail what waits on it and reconnect. */
static void
link_down(struct pgestor *pg, const char *why, enum pg_next next)
{
	bool was_online = pg->state == PG_ONLINE;
	struct timeval tv;
	double delay;

	if (pg->c != NULL) {
		conn_close(pg->c);
		pg->c = NULL;
	}
	event_del(pg->hb_ev);
	snprintf(pg->last_error, sizeof(pg->last_error), "%s", why);
	log_info("peer_gestor: %s", why);
	pg->state = PG_DISCONNECTED;
	pg_reqs_fail(pg, &pg->inflight, ERR_GESTOR_UNAVAILABLE,
	    "the connection to the gestor was lost");
	if (was_online && pg->cbs.offline != NULL)
		pg->cbs.offline(pg->arg);
	if (pg->stopped)
		return;
	/* A link that never came up (or never resumed): the next address,
	 * and after the last one the round's backoff. */
	if (next == PG_NEXT_SOON && !was_online)
		next = PG_NEXT_ADDRESS;
	switch (next) {
	case PG_NEXT_ADDRESS:
		pg->idx++;
		attempt(pg);
		return;
	case PG_NEXT_BACKOFF:
		schedule_round(pg);
		return;
	case PG_NEXT_SOON:
		break;
	}
	/* It was working: start over from the first address, soon. */
	pg->idx = 0;
	delay = fmin(pg->d->cfg->retry_initial, 1.0) * jitter();
	tv = daemon_tv(delay);
	evtimer_add(pg->retry_ev, &tv);
	pg->retry_at = util_mono() + delay;
}

/* --------------------------------------------------------------- requests */

void
pgestor_request(struct pgestor *pg, json_t *frame, bool need_session,
    pg_reply_cb cb, void *arg)
{
	struct pg_req *r = xcalloc(1, sizeof(*r));

	r->frame = frame;
	r->need_session = need_session;
	r->cb = cb;
	r->arg = arg;
	r->deadline = util_mono() + PG_REQUEST_TIMEOUT;
	TAILQ_INSERT_TAIL(&pg->queue, r, entry);
	pg_reqs_flush(pg);
	/* An idle link (logged out) connects now; a failing one keeps its
	 * backoff. */
	if (pg->state == PG_DISCONNECTED && !pg->stopped && pg->dnsreq == NULL &&
	    !evtimer_pending(pg->retry_ev, NULL)) {
		pg->idx = 0;
		attempt(pg);
	}
}

/* Expire queued requests; a gestor that stops answering is dropped. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct pgestor *pg = arg;

	if (pg_reqs_expire(pg, util_mono()))
		link_down(pg, "the gestor did not answer in time", PG_NEXT_SOON);
}

static void
on_hb_reply(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct pgestor *pg = arg;

	if (reply != NULL)
		pg->last_hb = (int64_t)time(NULL);
	else if (code != NULL && strcmp(code, ERR_NOT_AUTHENTICATED) == 0 &&
	    pg->c != NULL)
		/* The gestor no longer holds the session on this link. */
		link_down(pg, "the gestor lost the session on this link; "
		    "resuming", PG_NEXT_SOON);
	else if (code != NULL && strcmp(code, ERR_GESTOR_UNAVAILABLE) != 0)
		log_warnx("peer_gestor: heartbeat refused: %s: %s", code, msg);
}

static void
send_hb(struct pgestor *pg)
{
	json_t *hb = json_pack("{s:s,s:i}", "t", "hb", "port", pg->port);

	if (*pg->adv != '\0')
		json_object_set_new(hb, "addr", json_string(pg->adv));
	pg_req_internal(pg, hb, on_hb_reply);
}

static void
on_hb(evutil_socket_t fd, short what, void *arg)
{
	struct pgestor *pg = arg;
	const struct config *cfg = pg->d->cfg;
	struct timeval tv = daemon_tv(cfg->hb_interval);

	if (pg->state != PG_ONLINE)
		return;
	if (util_mono() - pg->last_rx > cfg->hb_timeout) {
		link_down(pg, "the gestor went silent", PG_NEXT_SOON);
		return;
	}
	send_hb(pg);
	evtimer_add(pg->hb_ev, &tv);
}

/* ------------------------------------------------------------------ setters */

void
pgestor_session_started(struct pgestor *pg, const char *user, json_t *reply)
{
	pgestor_set_account(pg, user);
	pg_session_caps(pg, reply);
	if (pg->state == PG_CONNECTED)
		went_online(pg);
}

void
pgestor_reset(struct pgestor *pg)
{
	*pg->account = '\0';
	if (pg->c != NULL)
		link_down(pg, "logged out", PG_NEXT_SOON);
}

