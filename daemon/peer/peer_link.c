/*
 * Outgoing links: one per recipient, which finds the recipient's address
 * (contact cache, else the gestor), opens a TLS connection (directly or
 * through the relay: peer_route.c), checks the recipient's key against
 * the key the gestor published, says hello, and pipelines up to
 * PM_WINDOW queued messages; the acks go to the queue (pm_ack,
 * peer_queue.c), which marks them delivered in its next commit. A link
 * that fails backs off and retries; a presence push from the gestor (a
 * contact back online, maybe at a new address) retries at once
 * (peer_msgs_presence). This file is one link; what the others ask of
 * all links together is peer_links.c; its state between connection and
 * frames (work, awaiting, the stall and idle timers, the pump, dropping
 * the connection) is peer_link_state.c.
 *
 * This file calls the route (peer_route.c), the queue (pm_ack), the ends
 * of messages (peer_end.c) and the store's pending queries; the queue
 * calls back only through pm_hooks (pm_links_queued, pm_links_pump), the
 * route through proute_hooks (pm_link_adopt, pm_link_failed,
 * pm_link_redirect), both wired in peer_msg.c.
 */
#include <sys/queue.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <gnutls/crypto.h>

#include "log.h"
#include "peer_link.h"
#include "util.h"
#include "wire_hot.h"

static void	link_connect(struct plink *);
static void	link_failed(struct plink *, const char *why);
static void	link_wait_login(struct plink *);
static void	on_link_retry(evutil_socket_t, short, void *);
static void	on_link_stall(evutil_socket_t, short, void *);
static void	on_link_idle(evutil_socket_t, short, void *);
static void	on_link_resolved(int, struct evutil_addrinfo *, void *);
static void	on_link_ready(struct conn *, void *);
static void	on_link_frame(struct conn *, json_t *, void *);
static void	on_link_close(struct conn *, const char *, void *);
static void	on_link_drain(struct conn *, void *);

static struct wire_hot *link_hot_parse(const unsigned char *, size_t, void *);
static void	on_link_hot(struct conn *, struct wire_hot *, void *);

static const struct conn_cbs link_cbs = { on_link_ready, on_link_frame,
    on_link_close, on_link_drain, link_hot_parse, on_link_hot };

static double
jitter(void)
{
	uint32_t r;

	gnutls_rnd(GNUTLS_RND_NONCE, &r, sizeof(r));
	return 0.5 + 0.5 * (r / 4294967296.0);
}


struct plink *
pm_link_find(struct peer_msgs *pm, const char *user, bool create)
{
	struct plink *l;

	TAILQ_FOREACH(l, &pm->links, entry)
		if (strcmp(l->user, user) == 0)
			return l;
	if (!create)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->pm = pm;
	snprintf(l->user, sizeof(l->user), "%s", user);
	TAILQ_INIT(&l->wq);
	l->retry = evtimer_new(pm->p->d->base, on_link_retry, l);
	l->stall = evtimer_new(pm->p->d->base, on_link_stall, l);
	l->idle = evtimer_new(pm->p->d->base, on_link_idle, l);
	if (l->retry == NULL || l->stall == NULL || l->idle == NULL)
		fatalx("%s: out of memory", __func__);
	TAILQ_INSERT_TAIL(&pm->links, l, entry);
	return l;
}

void
pm_link_free(struct plink *l)
{
	if (l->dnsreq != NULL)
		evdns_getaddrinfo_cancel(l->dnsreq);
	if (l->c != NULL)
		conn_abort(l->c);
	peer_route_cancel(l);
	if (l->probe_ev != NULL)
		event_free(l->probe_ev);
	event_free(l->retry);
	event_free(l->stall);
	event_free(l->idle);
	pm_window_reset(l);
	TAILQ_REMOVE(&l->pm->links, l, entry);
	free(l);
}

/*
 * user connected to us. If it held our messages back as message requests
 * and we wait out the backoff, try again now: it writes to us, so it has
 * probably accepted us. Only an existing link: nothing is made for every
 * peer that says hello.
 */
void
pm_link_heard(struct peer_msgs *pm, const char *user)
{
	struct plink *l = pm_link_find(pm, user, false);

	if (l != NULL && l->held_back && l->state == L_IDLE &&
	    evtimer_pending(l->retry, NULL))
		pm_kick(pm, user, true);
}

void
pm_kick(struct peer_msgs *pm, const char *user, bool now)
{
	struct plink *l = pm_link_find(pm, user, true);

	if (l->state == L_READY) {
		pm_link_pump(l);
		return;
	}
	if (l->state != L_IDLE)
		return;
	if (now) {
		evtimer_del(l->retry);
		l->attempts = 0;
	} else if (evtimer_pending(l->retry, NULL))
		return;
	link_connect(l);
}

/*
 * Nothing sent or awaited for limits.idle_timeout: close the link, so
 * that neither the relay nor the recipient holds a dead session. It
 * reconnects when there is something to send.
 */
static void
on_link_idle(evutil_socket_t fd, short what, void *arg)
{
	struct plink *l = arg;

	if (l->state != L_READY || pm_link_awaits(l) || pm_link_has_work(l))
		return;
	log_info("peer_msg: %s: closing the idle link (%s)", l->user,
	    l->via_relay ? "relay" : "direct");
	pm_link_drop(l);
}

static void
on_link_stall(evutil_socket_t fd, short what, void *arg)
{
	struct plink *l = arg;
	double quiet = util_mono() - l->heard, limit = pm_link_stall_limit(l);
	struct timeval tv;
	char why[128];

	if (l->state != L_HELLO && (l->state != L_READY || !pm_link_awaits(l)))
		return;
	if (quiet < limit) {
		tv = daemon_tv(limit - quiet);
		evtimer_add(l->stall, &tv);
		return;
	}
	snprintf(why, sizeof(why), "no answer from %s for %.1f s", l->addr, quiet);
	log_warnx("peer_msg: %s: %s; dropping the connection", l->user, why);
	pm_link_drop(l);
	if (pm_link_has_work(l))
		link_failed(l, why);
}

static void
on_link_retry(evutil_socket_t fd, short what, void *arg)
{
	struct plink *l = arg;

	if (l->state == L_IDLE)
		link_connect(l);
}

static void
on_link_lookup(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct plink *l = arg;
	struct peer *p = l->pm->p;

	l->lookup_pending = false;
	if (reply == NULL) {
		snprintf(l->lookup_err, sizeof(l->lookup_err), "%s: %s",
		    code != NULL ? code : "error", msg != NULL ? msg : "");
		util_utf8_trim(l->lookup_err);	/* the gestor's text, cut */
	} else
		*l->lookup_err = '\0';
	if (reply == NULL && code != NULL && strcmp(code, ERR_NO_SUCH_USER) == 0) {
		struct pending_fail pf = { l->pm, "no such user" };

		pmsg_pending_for(l->pm->ms, l->user, 0, 1000000, pm_fail_one, &pf);
		return;
	}
	if (reply != NULL) {
		peer_contact_update(p, l->user,
		    json_string_value(json_object_get(reply, "fingerprint")),
		    json_string_value(json_object_get(reply, "addr")),
		    (int)json_integer_value(json_object_get(reply, "port")),
		    json_integer_value(json_object_get(reply, "last_seen")));
		l->said_offline = !json_is_true(json_object_get(reply, "online"));
	}
	l->looked_up = true;
	link_connect(l);
}

/* Why there is no address or key to connect to: the real cause. */
static const char *
no_address_why(struct plink *l, bool asked, bool have_addr, char *buf,
    size_t len)
{
	struct peer *p = l->pm->p;
	const char *what = have_addr ? "key unknown" : "address unknown";

	if (asked && *l->lookup_err != '\0')
		snprintf(buf, len, "%s (the gestor's lookup failed: %s)", what,
		    l->lookup_err);
	else if (asked)
		snprintf(buf, len, "%s (the gestor has %s for them)", what,
		    have_addr ? "no key" : "no address");
	else if (*p->user == '\0')
		snprintf(buf, len, "%s (not logged in: nobody to ask)", what);
	else
		snprintf(buf, len, "%s (gestor unreachable)", what);
	return buf;
}

/* Next step towards a connection: key and address, then TCP + TLS. */
static void
link_connect(struct plink *l)
{
	struct peer_msgs *pm = l->pm;
	struct evutil_addrinfo hints;
	struct pcontact c;
	char port[16], why[300];
	bool known = pstore_contact_get(pm->p->store, l->user, &c) == PSTORE_OK;
	bool have_addr, asked;

	if (l->lookup_pending || !pm_link_has_work(l))
		return;
	if (*pm->p->user == '\0') {
		link_wait_login(l);
		return;
	}
	if (known && c.verified && *c.prev_fingerprint != '\0') {
		pm_hold(pm, l->user);
		log_warnx("peer_msg: holding messages to %s: their verified key "
		    "changed; run 'p2pchatctl trust %s' after checking it", l->user,
		    l->user);
		return;
	}
	/* Ask the gestor first, once per attempt, when it can answer. */
	if (!l->looked_up && *pm->p->user != '\0' &&
	    pgestor_state(pm->p->pg) == PG_ONLINE) {
		l->lookup_pending = true;
		pgestor_request(pm->p->pg, json_pack("{s:s,s:s}", "t", "lookup",
		    "user", l->user), true, on_link_lookup, l);
		return;
	}
	asked = l->looked_up;
	l->looked_up = false;
	have_addr = known && *c.addr != '\0' && c.port != 0;
	if (known && *c.fingerprint != '\0') {
		snprintf(l->fp, sizeof(l->fp), "%s", c.fingerprint);
		if (peer_route_want_relay(l, have_addr)) {
			peer_route_relay(l);
			return;
		}
	}
	if (peer_route_no_direct(l, why, sizeof(why))) {
		link_failed(l, why);
		return;
	}
	if (!have_addr || *c.fingerprint == '\0') {
		link_failed(l, no_address_why(l, asked, have_addr, why,
		    sizeof(why)));
		return;
	}
	snprintf(l->addr, sizeof(l->addr), "%s:%d", c.addr, c.port);
	snprintf(port, sizeof(port), "%d", c.port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	l->state = L_RESOLVING;
	l->dnsreq = evdns_getaddrinfo(pm->dns, c.addr, port, &hints,
	    on_link_resolved, l);
}

static void
on_link_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct plink *l = arg;
	const struct config *cfg = l->pm->p->d->cfg;

	if (result == EVUTIL_EAI_CANCEL)
		return;		/* its owner may be freed: touch nothing */
	l->dnsreq = NULL;
	if (result != 0 || res == NULL) {
		l->state = L_IDLE;
		link_failed(l, "cannot resolve the recipient's address");
		return;
	}
	l->state = L_CONNECTING;
	l->c = conn_connect(l->pm->p->d->base, l->pm->p->d->tls, res->ai_addr,
	    (socklen_t)res->ai_addrlen, (size_t)cfg->max_frame_bytes,
	    peer_route_direct_timeout(l), &link_cbs, l);
	evutil_freeaddrinfo(res);
	if (l->c == NULL) {
		l->state = L_IDLE;
		link_failed(l, "cannot connect");
	}
}

/*
 * Logged out, the daemon speaks for nobody: a hello needs the account's
 * name, so nothing goes out until a login (peer_msgs_online kicks every
 * link then). No retry timer: the login is the signal.
 */
static void
link_wait_login(struct plink *l)
{
	snprintf(l->reason, sizeof(l->reason), "waiting: not logged in "
	    "(queued messages go after p2pchatctl login)");
	pmsg_pending_note(l->pm->ms, l->user, l->attempts, 0, l->reason);
}

/* Note a failed attempt and try again after a backoff with jitter. */
static void
link_failed(struct plink *l, const char *why)
{
	const struct config *cfg = l->pm->p->d->cfg;
	double delay;
	struct timeval tv;

	if (peer_route_fallback(l, why))
		return;
	l->attempts++;
	delay = fmin(cfg->retry_max, cfg->retry_initial *
	    pow(2, fmin(l->attempts - 1, 30))) * jitter();
	delay = fmax(delay, 0.01);
	snprintf(l->reason, sizeof(l->reason), "%s%s%s%s%s", l->said_offline ?
	    "recipient offline (" : "unreachable: ", why,
	    l->via_relay && *l->route_why ? "; " : "",
	    l->via_relay ? l->route_why : "", l->said_offline ? ")" : "");
	util_utf8_trim(l->reason);
	log_info("peer_msg: %s: %s; retry %d in %.1f s", l->user, l->reason,
	    l->attempts, delay);
	pmsg_pending_note(l->pm->ms, l->user, l->attempts,
	    util_now_ms() + (int64_t)(delay * 1000), l->reason);
	l->pm->stats.retries++;
	tv = daemon_tv(delay);
	evtimer_add(l->retry, &tv);
}

void
pm_link_redirect(struct plink *l)
{
	log_info("peer_msg: %s: leaving the relay for the direct route", l->user);
	pm_link_drop(l);
	pm_kick(l->pm, l->user, true);
}

void
pm_link_failed(struct plink *l, const char *why)
{
	link_failed(l, why);
}

void
pm_link_adopt(struct plink *l, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	const struct config *cfg = l->pm->p->d->cfg;

	l->state = L_CONNECTING;
	l->c = conn_client_fd(l->pm->p->d->base, l->pm->p->d->tls, fd, sa, salen,
	    (size_t)cfg->max_frame_bytes, cfg->handshake_timeout, &link_cbs, l);
	if (l->c == NULL) {
		l->state = L_IDLE;
		link_failed(l, "relay: cannot start TLS");
	}
}

static void
on_link_ready(struct conn *c, void *arg)
{
	struct plink *l = arg;
	const char *fp = conn_peer_fingerprint(c);
	char why[256];
	json_t *hello;

	if (strcmp(fp, l->fp) != 0) {
		snprintf(why, sizeof(why), "the daemon at %s has key %s, not %s's "
		    "key %s; refusing it", l->addr, fp, l->user, l->fp);
		log_warnx("peer_msg: %s", why);
		conn_close(c);
		l->c = NULL;
		l->state = L_IDLE;
		link_failed(l, "key mismatch at the last known address");
		return;
	}
	if (*l->pm->p->user == '\0') {
		/* Logged out while connecting: never an empty hello. */
		conn_close(c);
		l->c = NULL;
		l->state = L_IDLE;
		link_wait_login(l);
		return;
	}
	hello = wire_hello_new(l->pm->p->user);
	conn_send(c, hello);
	json_decref(hello);
	l->state = L_HELLO;
	pm_link_watch(l);
}

/* A parsed frame, from jansson (on_link_frame) or read hot (on_link_hot). */
static void
link_dispatch(struct conn *c, struct plink *l, const struct wire_msg *mp)
{
	struct wire_msg m = *mp;

	l->heard = util_mono();
	if (m.type == W_HELLO && l->state == L_HELLO &&
	    strcmp(m.u.hello.user, l->user) == 0) {
		l->state = L_READY;
		conn_set_caps(c, m.u.hello.caps);
		pm_window_reset(l);
		if (!l->held_back)
			l->attempts = 0;
		*l->reason = '\0';
		peer_route_up(l);
		log_info("peer_msg: connected to %s at %s", l->user, l->addr);
		if (pm_link_has_cap(l, WCAP_FILE))
			pm_ftx_link_ready(l->pm, l->user, c);
		else if (pm_ftx_pending(l->pm, l->user))
			log_info("peer_msg: files to %s wait: its daemon takes "
			    "none (no \"file\" in its hello's caps)", l->user);
		pm_link_pump(l);
	} else if (m.type == W_ACK && l->state == L_READY) {
		if (l->inflight > 0)
			l->inflight--;
		l->held_back = false;
		l->attempts = 0;
		pm_ack(l->pm, l->user, m.u.ack.id);
	} else if (m.type == W_ACKS && l->state == L_READY) {
		size_t i;

		for (i = 0; i < m.u.acks.n; i++)
			pm_ack(l->pm, l->user, wire_acks_id(&m.u.acks, i));
		l->inflight = l->inflight > (int)m.u.acks.n ?
		    l->inflight - (int)m.u.acks.n : 0;
		l->held_back = false;
		l->attempts = 0;
	} else if (m.type == W_FILE_POS && l->state == L_READY) {
		pm_ftx_pos(l->pm, l->user, c, &m.u.fpos);
	} else if (m.type == W_ERROR) {
		log_warnx_from(l->user,
		    "peer_msg: %s refused: %s: %s", l->user, m.u.error.code,
		    m.u.error.message);
		snprintf(l->refused, sizeof(l->refused), "refused: %s: %s",
		    m.u.error.code, m.u.error.message);
		util_utf8_trim(l->refused);	/* the peer's text, cut */
		if (strcmp(m.u.error.code, ERR_QUOTA_EXCEEDED) == 0 ||
		    strcmp(m.u.error.code, ERR_RATE_LIMITED) == 0)
			l->held_back = true;
		if (strcmp(m.u.error.code, ERR_ID_TAKEN) == 0 &&
		    m.u.error.id != NULL)
			pm_fail_refused(l->pm, l->user, m.u.error.id, l->refused);
	} else if (m.type == W_MSG) {
		/* Each side sends on the connection it opened itself. */
		log_warnx_from(l->user,
		    "peer_msg: %s sent a message on the connection we opened; "
		    "refused (messages go on the sender's own connection)", l->user);
		conn_send_error(c, ERR_UNKNOWN_TYPE, "a message on the connection "
		    "the recipient opened; send it on a connection you open");
	} else
		log_warnx_from(l->user,
		    "peer_msg: unexpected '%s' from %s", wire_type_name(m.type),
		    l->user);
	pm_link_watch(l);
}

static void
on_link_frame(struct conn *c, json_t *frame, void *arg)
{
	struct plink *l = arg;
	struct wire_msg m;
	const char *code;
	char err[256];

	if (wire_parse(frame, &m, (size_t)l->pm->p->d->cfg->max_message_bytes,
	    &code, err, sizeof(err)) == -1) {
		log_warnx_from(l->user,
		    "peer_msg: %s sent a bad frame: %s: %s", l->user, code,
		    err);
		conn_send_error(c, code, err);
		return;
	}
	link_dispatch(c, l, &m);
}

/* ack frames once ready, read without a JSON tree (wire_hot.h). */
static struct wire_hot *
link_hot_parse(const unsigned char *p, size_t n, void *arg)
{
	struct plink *l = arg;

	if (l->state != L_READY)
		return NULL;
	return wire_hot_parse(p, n, (size_t)l->pm->p->d->cfg->max_message_bytes);
}

static void
on_link_hot(struct conn *c, struct wire_hot *h, void *arg)
{
	link_dispatch(c, arg, &h->m);
	free(h);
}

static void
on_link_close(struct conn *c, const char *reason, void *arg)
{
	struct plink *l = arg;
	char why[600];

	pm_link_forget(l);
	snprintf(why, sizeof(why), "%s%s%s", l->refused, *l->refused ? "; " : "",
	    reason);
	*l->refused = '\0';
	if (pm_link_has_work(l))
		link_failed(l, why);
}

/* The connection's output has room: more of a file, if one is going. */
static void
on_link_drain(struct conn *c, void *arg)
{
	struct plink *l = arg;

	if (l->state == L_READY && l->c == c)
		pm_ftx_drain(l->pm, l->user, c);
}
