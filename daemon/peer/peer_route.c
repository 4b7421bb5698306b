/*
 * Which way an outgoing link goes (the relay client is peer_relay.c).
 *
 * relay.use = "auto": connect directly first, with a short timeout
 * (relay.direct_timeout); when that fails, ask the gestor for a relay
 * session (`relay {user}`), connect out to the relay, present the key,
 * and run the ordinary TLS client handshake on that socket. The route
 * that worked is remembered per contact (pstore_route.c); a contact last
 * reached through the relay is relayed at once for relay.direct_retry
 * seconds after its direct route failed, then direct is tried again.
 * "always" relays every link, "never" relays none.
 *
 * While a contact is relayed, its direct route is tried in the background
 * now and then (and at once when it publishes a new address); when it
 * works the relay is left. Hello, key check, window, group commit and acks
 * above the connection do not know the route.
 *
 * The route works for a link and tells it what came of it (a relayed
 * socket, a failure, the direct route back) through struct proute_hooks
 * (peer_link.c's functions, wired in peer_msg.c): it never names a
 * function of the link above it.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/dns.h>

#include "log.h"
#include "peer_link.h"
#include "peer_relay.h"
#include "peer_route.h"
#include "util.h"

static void	on_probe_timer(evutil_socket_t, short, void *);

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}
/* ------------------------------------------------------ route decisions */

static bool
can_relay(struct plink *l)
{
	struct peer *p = l->pm->p;

	return p->d->cfg->relay_use != RELAY_NEVER && *p->user != '\0' &&
	    pgestor_state(p->pg) == PG_ONLINE;
}

/* The stored route of user ("" fields when none). */
static void
route_get(struct peer_msgs *pm, const char *user, struct proute *r)
{
	if (proute_get(pm->routes, user, r) != PSTORE_OK) {
		memset(r, 0, sizeof(*r));
		snprintf(r->user, sizeof(r->user), "%s", user);
	}
}

bool
peer_route_want_relay(struct plink *l, bool have_addr)
{
	const struct config *cfg = l->pm->p->d->cfg;
	struct proute r;

	l->via_relay = l->relay_tried = l->was_ready = false;
	*l->route_why = '\0';
	if (!can_relay(l) || l->said_offline)
		return false;
	if (cfg->relay_use == RELAY_ALWAYS) {
		snprintf(l->route_why, sizeof(l->route_why), "relay.use = always");
		return true;
	}
	if (!have_addr) {
		snprintf(l->route_why, sizeof(l->route_why),
		    "no published address");
		return true;
	}
	route_get(l->pm, l->user, &r);
	if (strcmp(r.route, "relay") == 0 && r.direct_failed != 0 &&
	    now_s() - r.direct_failed < (int64_t)cfg->relay_direct_retry) {
		snprintf(l->route_why, sizeof(l->route_why), "%s", r.why);
		return true;
	}
	return false;
}

/*
 * relay.use = "always" is for a user who hides her address from her
 * contacts: it never connects directly, not even to a cached address
 * while the gestor, and so its relay, cannot be asked (at a start before
 * the gestor link is up, or while the gestor is down), nor to a contact
 * the gestor says is offline. True, with why, when l must wait instead.
 */
bool
peer_route_no_direct(struct plink *l, char *why, size_t len)
{
	if (l->pm->p->d->cfg->relay_use != RELAY_ALWAYS)
		return false;
	snprintf(why, len, "%s", l->said_offline ? "relay.use = always" :
	    "no relay while the gestor is unreachable (relay.use = always)");
	return true;
}

double
peer_route_direct_timeout(struct plink *l)
{
	const struct config *cfg = l->pm->p->d->cfg;

	if (cfg->relay_use == RELAY_AUTO && can_relay(l))
		return cfg->relay_direct_timeout;
	return cfg->handshake_timeout;
}

static void
on_relay_fd(int fd, const struct sockaddr *sa, socklen_t salen,
    const char *err, void *arg)
{
	struct plink *l = arg;
	char why[300];

	l->rl = NULL;
	if (err != NULL) {
		l->state = L_IDLE;
		snprintf(why, sizeof(why), "relay: %s", err);
		l->pm->route_hooks->failed(l, why);
		return;
	}
	l->pm->route_hooks->adopt(l, fd, sa, salen);
}

static void
on_relay_offer(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct plink *l = arg;
	struct w_relay offer;
	char why[300], err[160];

	l->relay_req = false;
	if (l->state != L_RELAYING)
		return;
	if (reply == NULL) {
		l->state = L_IDLE;
		if (code != NULL && strcmp(code, ERR_OFFLINE) == 0)
			l->said_offline = true;
		snprintf(why, sizeof(why), "relay refused: %s", msg);
		l->pm->route_hooks->failed(l, why);
		return;
	}
	if (wire_relay_offer(reply, &offer, err, sizeof(err)) == -1) {
		l->state = L_IDLE;
		snprintf(why, sizeof(why), "bad relay offer: %s", err);
		l->pm->route_hooks->failed(l, why);
		return;
	}
	snprintf(l->addr, sizeof(l->addr), "relay %s:%d", offer.addr, offer.port);
	l->rl = prelay_connect(l->pm, &offer, on_relay_fd, l);
}

void
peer_route_relay(struct plink *l)
{
	struct peer *p = l->pm->p;

	l->via_relay = l->relay_tried = true;
	l->state = L_RELAYING;
	l->relay_req = true;
	log_info("peer_route: %s: through the relay (%s)", l->user,
	    *l->route_why ? l->route_why : "direct failed");
	pgestor_request(p->pg, json_pack("{s:s,s:s}", "t", "relay", "user",
	    l->user), true, on_relay_offer, l);
}

bool
peer_route_fallback(struct plink *l, const char *why)
{
	struct proute r;

	if (l->pm->p->d->cfg->relay_use != RELAY_AUTO || l->via_relay ||
	    l->relay_tried || l->was_ready || l->said_offline || !can_relay(l))
		return false;
	snprintf(l->route_why, sizeof(l->route_why), "direct failed: %s", why);
	util_utf8_trim(l->route_why);
	route_get(l->pm, l->user, &r);
	r.direct_failed = now_s();
	proute_put(l->pm->routes, &r);
	peer_route_relay(l);
	return true;
}

/* ------------------------------------------------- direct route probes */

static void	on_probe_ready(struct conn *, void *);
static void	on_probe_frame(struct conn *, json_t *, void *);
static void	on_probe_close(struct conn *, const char *, void *);

static const struct conn_cbs probe_cbs = { on_probe_ready, on_probe_frame,
    on_probe_close };

static void
probe_arm(struct plink *l, double secs)
{
	struct timeval tv;

	if (l->probe_ev == NULL &&
	    (l->probe_ev = evtimer_new(l->pm->p->d->base, on_probe_timer, l)) ==
	    NULL)
		fatalx("%s: out of memory", __func__);
	secs = secs < 1 ? 1 : secs;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	evtimer_add(l->probe_ev, &tv);
}

static void
probe_stop(struct plink *l)
{
	if (l->probe_dns != NULL) {
		evdns_getaddrinfo_cancel(l->probe_dns);
		l->probe_dns = NULL;
	}
	if (l->probe != NULL) {
		conn_close(l->probe);
		l->probe = NULL;
	}
	if (l->probe_ev != NULL)
		evtimer_del(l->probe_ev);
}

/* The direct route's verdict: remember it; back to direct if it works. */
static void
probe_result(struct plink *l, bool ok, const char *why)
{
	const struct config *cfg = l->pm->p->d->cfg;
	struct proute r;

	route_get(l->pm, l->user, &r);
	if (!ok) {
		log_info("peer_route: %s: direct route still fails (%s)", l->user,
		    why);
		r.direct_failed = now_s();
		snprintf(r.why, sizeof(r.why), "direct failed: %s", why);
		proute_put(l->pm->routes, &r);
		probe_arm(l, cfg->relay_direct_retry);
		return;
	}
	log_info("peer_route: %s: the direct route works again", l->user);
	snprintf(r.route, sizeof(r.route), "direct");
	*r.why = '\0';
	r.direct_failed = 0;
	r.updated = now_s();
	proute_put(l->pm->routes, &r);
	/* Nothing in flight: reconnect directly now; else when the link ends. */
	if (l->state == L_READY && l->via_relay && l->inflight == 0 &&
	    !pm_ftx_busy(l->pm, l->user))
		l->pm->route_hooks->redirect(l);
}

static void
on_probe_ready(struct conn *c, void *arg)
{
	struct plink *l = arg;
	bool ok = strcmp(conn_peer_fingerprint(c), l->fp) == 0;

	l->probe = NULL;
	conn_close(c);		/* no hello: only the route was in question */
	probe_result(l, ok, ok ? "" : "another key at that address");
}

static void
on_probe_frame(struct conn *c, json_t *frame, void *arg)
{
}

static void
on_probe_close(struct conn *c, const char *reason, void *arg)
{
	struct plink *l = arg;

	l->probe = NULL;
	probe_result(l, false, reason);
}

static void
on_probe_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct plink *l = arg;
	const struct config *cfg = l->pm->p->d->cfg;

	if (result == EVUTIL_EAI_CANCEL)
		return;
	l->probe_dns = NULL;
	if (result != 0 || res == NULL || l->state != L_READY ||
	    !l->via_relay) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		if (l->state == L_READY && l->via_relay)
			probe_result(l, false, "cannot resolve the address");
		return;
	}
	l->probe = conn_connect(l->pm->p->d->base, l->pm->p->d->tls,
	    res->ai_addr, (socklen_t)res->ai_addrlen, (size_t)cfg->max_frame_bytes,
	    cfg->relay_direct_timeout, &probe_cbs, l);
	evutil_freeaddrinfo(res);
	if (l->probe == NULL)
		probe_result(l, false, "cannot connect");
}

/* Now and then, while relayed in auto mode, see whether direct works. */
static void
on_probe_timer(evutil_socket_t fd, short what, void *arg)
{
	struct plink *l = arg;
	struct evutil_addrinfo hints;
	struct pcontact c;
	char port[16];

	if (l->state != L_READY || !l->via_relay || l->probe != NULL ||
	    l->pm->p->d->cfg->relay_use != RELAY_AUTO)
		return;
	if (pstore_contact_get(l->pm->p->store, l->user, &c) != PSTORE_OK ||
	    *c.addr == '\0' || c.port == 0) {
		probe_arm(l, l->pm->p->d->cfg->relay_direct_retry);
		return;		/* no published address: nothing to try */
	}
	snprintf(port, sizeof(port), "%d", c.port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	log_debug("peer_route: %s: trying the direct route %s:%s", l->user,
	    c.addr, port);
	l->probe_dns = evdns_getaddrinfo(l->pm->dns, c.addr, port, &hints,
	    on_probe_resolved, l);
}

void
peer_route_probe_soon(struct plink *l)
{
	if (l->state == L_READY && l->via_relay && l->probe == NULL &&
	    l->pm->p->d->cfg->relay_use == RELAY_AUTO)
		probe_arm(l, 1);
}

void
peer_route_up(struct plink *l)
{
	const struct config *cfg = l->pm->p->d->cfg;
	struct proute r;
	const char *route = l->via_relay ? "relay" : "direct";

	l->was_ready = true;
	if (l->via_relay && cfg->relay_use == RELAY_AUTO) {
		route_get(l->pm, l->user, &r);
		probe_arm(l, r.direct_failed + (int64_t)cfg->relay_direct_retry -
		    now_s());
	}
	if (!l->via_relay)
		*l->route_why = '\0';
	route_get(l->pm, l->user, &r);
	if (strcmp(r.route, route) == 0 && strcmp(r.why, l->route_why) == 0 &&
	    now_s() - r.updated < 3600)
		return;		/* nothing new worth a write */
	snprintf(r.route, sizeof(r.route), "%s", route);
	snprintf(r.why, sizeof(r.why), "%s", l->route_why);
	r.updated = now_s();
	if (!l->via_relay)
		r.direct_failed = 0;
	proute_put(l->pm->routes, &r);
}

void
peer_route_cancel(struct plink *l)
{
	prelay_cancel(l->rl);
	l->rl = NULL;
	probe_stop(l);
	if (l->state == L_RELAYING)
		l->state = L_IDLE;
}

json_t *
peer_route_json(struct peer_msgs *pm, const char *user)
{
	struct plink *l;
	struct proute r;

	TAILQ_FOREACH(l, &pm->links, entry) {
		if (strcmp(l->user, user) != 0 || l->state == L_IDLE)
			continue;
		return json_pack("{s:s,s:s}", "route", l->via_relay ? "relay" :
		    "direct", "route_why", l->route_why);
	}
	route_get(pm, user, &r);
	return json_pack("{s:s?,s:s}", "route", *r.route ? r.route : NULL,
	    "route_why", r.why);
}

json_t *
peer_route_status(struct peer_msgs *pm)
{
	static const char *const use[] = { "auto", "always", "never" };
	int cfg_use = pm->p->d->cfg->relay_use;
	struct plink *l;
	int direct = 0, relay = 0;

	TAILQ_FOREACH(l, &pm->links, entry) {
		if (l->state != L_READY)
			continue;
		if (l->via_relay)
			relay++;
		else
			direct++;
	}
	return json_pack("{s:s,s:i,s:i,s:i}", "relay_use",
	    cfg_use >= 0 && cfg_use < 3 ? use[cfg_use] : "?",
	    "links_direct", direct, "links_relay", relay,
	    "relay_invites", pm->ninvites);
}

