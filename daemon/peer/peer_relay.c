/*
 * The peer's relay client: a TCP connection to the gestor's relay that
 * presents a session key (P2P_RELAY_HELLO in proto.h) and hands the socket
 * over once the relay says both sides are in. Used for an outgoing link
 * that goes through the relay (peer_route.c: TLS client on the socket),
 * and for an invitation (`relay-invite`, pushed by the gestor: TLS server,
 * through the ordinary incoming path), so that everything above the
 * connection is the same as on a direct one. Invitations are limited per
 * inviter, and in all separately for contacts (written to or trusted) and
 * for strangers, so that strangers, however many, never take the places
 * that contacts' invitations need.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>

#include "log.h"
#include "peer_msg.h"
#include "peer_relay.h"
#include "pstore_request.h"
#include "util.h"

#define PR_MAX_INVITES	64	/* relayed connections being set up for contacts */
#define PR_MAX_STRANGER_INVITES 16	/* ... for anyone else */
#define PR_MAX_INVITES_FROM 2	/* ... for one inviter */

enum prelay_state { PRL_RESOLVING, PRL_CONNECTING, PRL_SENDING, PRL_WAITING };

/* A TCP connection to the relay, until the relay says both sides are in. */
struct prelay {
	struct peer_msgs	*pm;
	enum prelay_state	 state;
	int			 fd;
	struct evdns_getaddrinfo_request *dnsreq;
	struct event		*ev;		/* socket readiness */
	struct event		*timer;		/* overall deadline */
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	char			 req[P2P_RELAY_REQ_LEN];
	size_t			 sent, got;
	char			 ok[P2P_RELAY_OK_LEN];
	prelay_cb		 cb;
	void			*arg;
	struct event		*done_ev;	/* reports the outcome */
	bool			 done, failed;
	char			 err[160];
};

static void	on_prelay_resolved(int, struct evutil_addrinfo *, void *);
static void	on_prelay_io(evutil_socket_t, short, void *);
static void	on_prelay_timeout(evutil_socket_t, short, void *);
static void	on_prelay_done(evutil_socket_t, short, void *);

/* --------------------------------------------------------- relay client */

static void
prelay_free(struct prelay *rl)
{
	if (rl->dnsreq != NULL)
		evdns_getaddrinfo_cancel(rl->dnsreq);
	if (rl->ev != NULL)
		event_free(rl->ev);
	if (rl->timer != NULL)
		event_free(rl->timer);
	if (rl->done_ev != NULL)
		event_free(rl->done_ev);
	if (rl->fd != -1)
		evutil_closesocket(rl->fd);
	util_zero(rl->req, sizeof(rl->req));
	free(rl);
}

void
prelay_cancel(struct prelay *rl)
{
	if (rl != NULL)
		prelay_free(rl);
}

/*
 * Done: report it from the loop, never from inside prelay_connect() or a
 * resolver callback that runs synchronously, so that the owner always
 * gets its handle first and the outcome later.
 */
static void
prelay_done(struct prelay *rl, const char *err)
{
	if (rl->done)
		return;
	rl->done = true;
	rl->failed = err != NULL;
	snprintf(rl->err, sizeof(rl->err), "%s", err != NULL ? err : "");
	if (rl->ev != NULL)
		event_del(rl->ev);
	evtimer_del(rl->timer);
	event_active(rl->done_ev, EV_TIMEOUT, 0);
}

/* Hand the socket (or the reason) to the owner, then forget it. */
static void
on_prelay_done(evutil_socket_t unused, short what, void *arg)
{
	struct prelay *rl = arg;
	prelay_cb cb = rl->cb;
	void *cbarg = rl->arg;
	struct sockaddr_storage sa = rl->sa;
	socklen_t salen = rl->salen;
	int fd = rl->failed ? -1 : rl->fd;
	char err[sizeof(rl->err)];

	snprintf(err, sizeof(err), "%s", rl->err);
	if (!rl->failed)
		rl->fd = -1;	/* now the owner's */
	prelay_free(rl);
	cb(fd, (struct sockaddr *)&sa, salen, fd == -1 ? err : NULL, cbarg);
}

struct prelay *
prelay_connect(struct peer_msgs *pm, const struct w_relay *offer,
    prelay_cb cb, void *arg)
{
	const struct config *cfg = pm->p->d->cfg;
	struct prelay *rl = xcalloc(1, sizeof(*rl));
	struct evutil_addrinfo hints;
	struct timeval tv;
	double t = cfg->handshake_timeout + cfg->relay_pairing_timeout;
	char port[16];

	rl->pm = pm;
	rl->fd = -1;
	rl->cb = cb;
	rl->arg = arg;
	snprintf(rl->req, sizeof(rl->req), "%s%s", P2P_RELAY_HELLO, offer->key);
	rl->req[P2P_RELAY_REQ_LEN - 1] = '\n';
	rl->timer = evtimer_new(pm->p->d->base, on_prelay_timeout, rl);
	rl->done_ev = event_new(pm->p->d->base, -1, 0, on_prelay_done, rl);
	if (rl->timer == NULL || rl->done_ev == NULL)
		fatalx("%s: out of memory", __func__);
	tv.tv_sec = (time_t)t;
	tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
	evtimer_add(rl->timer, &tv);
	snprintf(port, sizeof(port), "%d", offer->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rl->state = PRL_RESOLVING;
	rl->dnsreq = evdns_getaddrinfo(pm->dns, offer->addr, port, &hints,
	    on_prelay_resolved, rl);
	return rl;
}

static void
on_prelay_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct prelay *rl = arg;

	prelay_done(rl, rl->state == PRL_WAITING ? "the other side never came" :
	    "timeout connecting to the relay");
}

static void
on_prelay_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct prelay *rl = arg;
	struct event_base *base = rl->pm->p->d->base;

	if (result == EVUTIL_EAI_CANCEL)
		return;		/* rl may be gone: touch nothing */
	rl->dnsreq = NULL;
	if (rl->done) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	if (result != 0 || res == NULL || res->ai_addrlen > sizeof(rl->sa)) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		prelay_done(rl, "cannot resolve the relay's address");
		return;
	}
	memcpy(&rl->sa, res->ai_addr, res->ai_addrlen);
	rl->salen = (socklen_t)res->ai_addrlen;
	evutil_freeaddrinfo(res);
	rl->fd = socket(rl->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (rl->fd == -1) {
		prelay_done(rl, strerror(errno));
		return;
	}
	rl->state = PRL_CONNECTING;
	if (connect(rl->fd, (struct sockaddr *)&rl->sa, rl->salen) == -1 &&
	    errno != EINPROGRESS && errno != EINTR) {
		prelay_done(rl, strerror(errno));
		return;
	}
	rl->ev = event_new(base, rl->fd, EV_WRITE | EV_PERSIST, on_prelay_io, rl);
	if (rl->ev == NULL)
		fatalx("%s: out of memory", __func__);
	event_add(rl->ev, NULL);
}

/* Connected: send the key; then read exactly the relay's OK, no more. */
static void
on_prelay_io(evutil_socket_t fd, short what, void *arg)
{
	struct prelay *rl = arg;
	int err = 0;
	socklen_t len = sizeof(err);
	ssize_t n;

	if (rl->state == PRL_CONNECTING) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			prelay_done(rl, strerror(err));
			return;
		}
		rl->state = PRL_SENDING;
	}
	if (rl->state == PRL_SENDING) {
		n = send(fd, rl->req + rl->sent, sizeof(rl->req) - rl->sent,
		    MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			prelay_done(rl, strerror(errno));
			return;
		}
		if ((rl->sent += (size_t)n) < sizeof(rl->req))
			return;
		util_zero(rl->req, sizeof(rl->req));
		rl->state = PRL_WAITING;
		event_del(rl->ev);
		event_assign(rl->ev, rl->pm->p->d->base, fd, EV_READ | EV_PERSIST,
		    on_prelay_io, rl);
		event_add(rl->ev, NULL);
		return;
	}
	n = recv(fd, rl->ok + rl->got, sizeof(rl->ok) - rl->got, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		prelay_done(rl, n == 0 ? "the relay closed the session (key "
		    "refused or the other side gone)" : strerror(errno));
		return;
	}
	if ((rl->got += (size_t)n) < sizeof(rl->ok))
		return;
	if (memcmp(rl->ok, P2P_RELAY_OK, sizeof(rl->ok)) != 0) {
		prelay_done(rl, "the relay answered something else");
		return;
	}
	prelay_done(rl, NULL);
}

/* -------------------------------------------------------------- invites */

struct invite {
	TAILQ_ENTRY(invite)	 entry;
	struct peer_msgs	*pm;
	struct prelay		*rl;
	bool			 contact;	/* from a contact, not a stranger */
	char			 from[P2P_USERNAME_MAX + 1];
};

/* Invitations in progress from contacts (or strangers), and from from. */
static int
invites_of(struct peer_msgs *pm, bool contact, const char *from, int *nfrom)
{
	struct invite *inv;
	int n = 0;

	*nfrom = 0;
	TAILQ_FOREACH(inv, &pm->invites, entry) {
		if (inv->contact == contact)
			n++;
		if (strcmp(inv->from, from) == 0)
			(*nfrom)++;
	}
	return n;
}

static void
on_invite_fd(int fd, const struct sockaddr *sa, socklen_t salen,
    const char *err, void *arg)
{
	struct invite *inv = arg;
	struct peer_msgs *pm = inv->pm;

	pm->ninvites--;
	TAILQ_REMOVE(&pm->invites, inv, entry);
	if (err != NULL)
		log_warnx("peer_route: relay from %s failed: %s", inv->from, err);
	else {
		log_info("peer_route: relay paired for %s; TLS through it", inv->from);
		peer_msgs_accept(pm->p, fd, sa, salen, inv->from);
	}
	free(inv);
}

void
peer_relay_invite(struct peer *p, const struct w_relay *offer)
{
	struct peer_msgs *pm = p->msgs;
	struct invite *inv;
	bool contact;
	int n, nfrom;

	if (pm == NULL || *p->user == '\0')
		return;
	if (p->d->cfg->relay_use == RELAY_NEVER) {
		log_info_from(offer->from,
		    "peer_route: ignoring a relay invitation from %s "
		    "(relay.use = never)", offer->from);
		return;
	}
	/* Written to or trusted (as for message requests); an error: not. */
	contact = preq_accepted(pm->requests, offer->from) == 1;
	n = invites_of(pm, contact, offer->from, &nfrom);
	if (n >= (contact ? PR_MAX_INVITES : PR_MAX_STRANGER_INVITES) ||
	    nfrom >= PR_MAX_INVITES_FROM) {
		log_warnx_from(offer->from,
		    "peer_route: ignoring a relay invitation from %s (%s): "
		    "%d from %s and %d from it already in progress", offer->from,
		    contact ? "a contact" : "not a contact", n,
		    contact ? "contacts" : "strangers", nfrom);
		return;
	}
	inv = xcalloc(1, sizeof(*inv));
	inv->pm = pm;
	inv->contact = contact;
	snprintf(inv->from, sizeof(inv->from), "%s", offer->from);
	pm->ninvites++;
	TAILQ_INSERT_TAIL(&pm->invites, inv, entry);
	inv->rl = prelay_connect(pm, offer, on_invite_fd, inv);
}

/* Shutdown: drop invitations in progress. */
void
peer_relay_stop(struct peer_msgs *pm)
{
	struct invite *inv;

	while ((inv = TAILQ_FIRST(&pm->invites)) != NULL) {
		TAILQ_REMOVE(&pm->invites, inv, entry);
		prelay_cancel(inv->rl);
		pm->ninvites--;
		free(inv);
	}
}
