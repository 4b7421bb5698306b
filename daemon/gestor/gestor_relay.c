/*
 * The gestor's side of relaying: `relay {user}` from a logged-in peer
 * makes a relay session (relay.c) for it and an online target, answers
 * {addr,port,key} with the requester's key and pushes `relay-invite
 * {from,addr,port,key}` with the target's (another) key to the target
 * over the target's own gestor connection. Each is told the
 * relay's address as it reached this gestor (relay.advertise, or a
 * relay.listen with a specific address, overrides), so a peer behind NAT
 * gets an address it can connect out to.
 *
 * Several gestors on PostgreSQL: a target whose session is on another
 * gestor (the store says it is online) gets its invitation through the
 * store's notification channel; that gestor pushes it to the target,
 * which connects to this gestor's relay (at relay.advertise, or at the
 * address the requester reached; set relay.advertise in a cluster whose
 * gestors are reached at different addresses).
 */
#include <stdio.h>
#include <string.h>

#include "gestor_int.h"
#include "gestor_limits.h"
#include "log.h"
#include "relay.h"
#include "util.h"
#include "valid.h"

/* Where gc should connect to the relay: relay.advertise, else our address
 * on gc's connection; the port is the relay's unless advertise names one. */
static int
relay_addr_for(struct gestor *g, struct gconn *gc, char *addr, size_t len,
    int *port)
{
	const char *adv = g->d->cfg->relay_advertise;

	const char *bound = relay_address(g->relay);
	char host[256];
	int p;

	*port = relay_port(g->relay);
	if (*adv != '\0')
		return config_split_hostport(adv, addr, len, port, *port);
	/* Listening on one address: that one; on all: the one gc reached. */
	if (config_split_hostport(bound, host, sizeof(host), &p, 0) == 0 &&
	    strcmp(host, "0.0.0.0") != 0 && strcmp(host, "::") != 0 &&
	    strlen(host) < len) {
		snprintf(addr, len, "%s", host);
		return 0;
	}
	return conn_local_addr(gc->c, addr, len);
}

static void
relay_refuse(struct gconn *gc, struct wire_msg *m, const char *code,
    const char *why)
{
	gc->g->stats.relay_refused++;
	log_info_from(gc->addr, "gestor: relay %s -> %s refused: %s", gc->user,
	    m->u.user.user, why);
	gestor_reply(gc, m->frame, json_pack("{s:s,s:s,s:s}", "t", "error",
	    "code", code, "message", why));
}

static void
relay_refuse_req(struct gconn *gc, json_t *req, const char *to,
    const char *code, const char *why)
{
	gc->g->stats.relay_refused++;
	log_info_from(gc->addr,
	    "gestor: relay %s -> %s refused: %s", gc->user, to, why);
	gestor_reply(gc, req, json_pack("{s:s,s:s,s:s}", "t", "error",
	    "code", code, "message", why));
}

/* The target is online through another gestor: invite it through the store. */
static void
on_relay_target_read(enum gstore_rc rc, const struct guser *u, void *arg)
{
	struct gconn *gc = arg;
	struct gestor *g = gc->g;
	json_t *req = gc->req, *n;
	const char *to = json_string_value(json_object_get(req, "user"));
	const char *code, *why;
	char kfrom[P2P_RELAY_KEY_HEX + 1], kto[P2P_RELAY_KEY_HEX + 1];
	char addr[256];
	int port;

	gc->op = NULL;
	if (rc == GSTORE_NOTFOUND)
		relay_refuse_req(gc, req, to, ERR_NO_SUCH_USER, "no such user");
	else if (rc != GSTORE_OK)
		relay_refuse_req(gc, req, to, ERR_UNAVAILABLE,
		    "the directory database is unavailable");
	else if (!u->online)
		relay_refuse_req(gc, req, to, ERR_OFFLINE, "that user is not online");
	else if (relay_addr_for(g, gc, addr, sizeof(addr), &port) == -1) {
		relay_refuse_req(gc, req, to, ERR_INTERNAL, "no relay address");
	} else if (relay_session_new(g->relay, gc->user, gc->addr, to, kfrom,
	    kto, &code, &why) == -1) {
		relay_refuse_req(gc, req, to, code, why);
	} else {
		gestor_reply(gc, req, json_pack("{s:s,s:s,s:i,s:s}", "t", "ok",
		    "addr", addr, "port", port, "key", kfrom));
		n = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "t", "relay-invite",
		    "to", to, "from", gc->user, "addr", addr, "port", port,
		    "key", kto);
		gstore_notify(g->store, n);
		json_decref(n);
		g->stats.relay_invites_out++;
		explicit_bzero(kfrom, sizeof(kfrom));
		explicit_bzero(kto, sizeof(kto));
	}
	gestor_req_end(gc);
}

void
gestor_relay_notified(struct gestor *g, const json_t *n, const char *origin)
{
	const char *to = json_string_value(json_object_get(n, "to"));
	struct gconn *t;
	struct wire_msg m;
	const char *code;
	char err[160];
	json_t *f;

	if (to == NULL || !valid_username(to) || wire_parse((json_t *)n, &m, 0,
	    &code, err, sizeof(err)) == -1 || m.type != W_RELAY_INVITE) {
		log_warnx("gestor: a malformed relay-invite notification from %s",
		    origin);
		return;
	}
	if ((t = gestor_session(g, to)) == NULL || !t->online)
		return;		/* not ours (every gestor hears it) */
	f = json_pack("{s:s,s:s,s:s,s:i,s:s}", "t", "relay-invite", "from",
	    m.u.relay.from, "addr", m.u.relay.addr, "port", m.u.relay.port,
	    "key", m.u.relay.key);
	gestor_reply(t, NULL, f);
	g->stats.relay_invites_in++;
	log_info("gestor: relay-invite %s -> %s from gestor %s", m.u.relay.from,
	    to, origin);
}

/* `relay {user}`: a session for gc's user and an online target. */
void
gestor_relay_request(struct gconn *gc, struct wire_msg *m)
{
	struct gestor *g = gc->g;
	const char *to = m->u.user.user, *code, *why;
	struct gconn *t = gestor_session(g, to);
	char kfrom[P2P_RELAY_KEY_HEX + 1], kto[P2P_RELAY_KEY_HEX + 1];
	char a1[256], a2[256], msg[160];
	int p1, p2;

	if (g->relay == NULL) {
		relay_refuse(gc, m, ERR_RELAY_DISABLED, "this gestor runs no relay");
		return;
	}
	/* The answer says whether to exists and is online: a lookup. */
	if (glimits_lookup_refused(gc, msg, sizeof(msg))) {
		g->stats.lookups_refused++;
		relay_refuse(gc, m, ERR_RATE_LIMITED, msg);
		return;
	}
	if (strcmp(to, gc->user) == 0) {
		relay_refuse(gc, m, ERR_INVALID_ARGUMENT, "cannot relay to oneself");
		return;
	}
	if (t == NULL || !t->online) {
		/* Maybe online through another gestor of the cluster. */
		gestor_req_start(gc, m);
		gc->op = gstore_user_get(g->store, to, on_relay_target_read, gc);
		return;
	}
	if (relay_addr_for(g, gc, a1, sizeof(a1), &p1) == -1 ||
	    relay_addr_for(g, t, a2, sizeof(a2), &p2) == -1) {
		relay_refuse(gc, m, ERR_INTERNAL, "no relay address");
		return;
	}
	if (relay_session_new(g->relay, gc->user, gc->addr, to, kfrom, kto,
	    &code, &why) == -1) {
		relay_refuse(gc, m, code, why);
		return;
	}
	gestor_reply(gc, m->frame, json_pack("{s:s,s:s,s:i,s:s}", "t", "ok",
	    "addr", a1, "port", p1, "key", kfrom));
	gestor_reply(t, NULL, json_pack("{s:s,s:s,s:s,s:i,s:s}", "t",
	    "relay-invite", "from", gc->user, "addr", a2, "port", p2, "key", kto));
	explicit_bzero(kfrom, sizeof(kfrom));
	explicit_bzero(kto, sizeof(kto));
}

void
gestor_relay_stats(struct gestor *g, json_t *o)
{
	struct relay_stats st;

	memset(&st, 0, sizeof(st));
	if (g->relay != NULL)
		relay_get_stats(g->relay, &st);
	json_object_update_new(o, json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
	    "s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "relay", g->relay != NULL,
	    "relay_invites_out", (json_int_t)g->stats.relay_invites_out,
	    "relay_invites_in", (json_int_t)g->stats.relay_invites_in,
	    "relay_sessions_active", (json_int_t)st.active,
	    "relay_sessions_waiting", (json_int_t)st.waiting,
	    "relay_sessions_total", (json_int_t)st.total,
	    "relay_refused", (json_int_t)(g->stats.relay_refused + st.refused),
	    "relay_bad_keys", (json_int_t)st.bad_keys,
	    "relay_expired", (json_int_t)st.expired,
	    "relay_idle_closed", (json_int_t)st.idle_closed,
	    "relay_one_way_closed", (json_int_t)st.one_way_closed,
	    "relay_stalled", (json_int_t)st.stalled,
	    "relay_evicted", (json_int_t)st.evicted,
	    "relay_not_tls", (json_int_t)st.not_tls,
	    "relay_bytes", (json_int_t)st.bytes,
	    "relay_buffered", (json_int_t)st.buffered));
}
