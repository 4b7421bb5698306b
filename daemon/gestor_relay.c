/*
 * The gestor's side of relaying: `relay {user}` from a logged-in peer
 * makes a relay session (relay.c) for it and an online target, answers
 * {addr,port,key} and pushes `relay-invite {from,addr,port,key}` to the
 * target over the target's own gestor connection. Each is told the
 * relay's address as it reached this gestor (relay.advertise overrides),
 * so a peer behind NAT gets an address it can connect out to.
 */
#include <stdio.h>
#include <string.h>

#include "gestor_int.h"
#include "log.h"
#include "relay.h"

/* Where gc should connect to the relay: relay.advertise, else our address
 * on gc's connection; the port is the relay's unless advertise names one. */
static int
relay_addr_for(struct gestor *g, struct gconn *gc, char *addr, size_t len,
    int *port)
{
	const char *adv = g->d->cfg->relay_advertise;

	*port = relay_port(g->relay);
	if (*adv != '\0')
		return config_split_hostport(adv, addr, len, port, *port);
	return conn_local_addr(gc->c, addr, len);
}

static void
relay_reply(struct gconn *gc, json_t *req, json_t *o)
{
	json_t *n = json_object_get(req, "n");

	if (n != NULL)
		json_object_set(o, "n", n);
	conn_send(gc->c, o);
	json_decref(o);
	gc->g->stats.frames_out++;
}

static void
relay_refuse(struct gconn *gc, struct wire_msg *m, const char *code,
    const char *why)
{
	gc->g->stats.relay_refused++;
	log_info("gestor: relay %s -> %s refused: %s", gc->user,
	    m->u.user.user, why);
	relay_reply(gc, m->frame, json_pack("{s:s,s:s,s:s}", "t", "error",
	    "code", code, "message", why));
}

/* `relay {user}`: a session for gc's user and an online target. */
void
gestor_relay_request(struct gconn *gc, struct wire_msg *m)
{
	struct gestor *g = gc->g;
	const char *to = m->u.user.user, *code, *why;
	struct gconn *t = gestor_session(g, to);
	char key[P2P_RELAY_KEY_HEX + 1], a1[256], a2[256];
	int p1, p2;

	if (g->relay == NULL) {
		relay_refuse(gc, m, ERR_RELAY_DISABLED, "this gestor runs no relay");
		return;
	}
	if (strcmp(to, gc->user) == 0) {
		relay_refuse(gc, m, ERR_INVALID_ARGUMENT, "cannot relay to oneself");
		return;
	}
	if (t == NULL || !t->online) {
		relay_refuse(gc, m, ERR_OFFLINE, "that user is not online");
		return;
	}
	if (relay_addr_for(g, gc, a1, sizeof(a1), &p1) == -1 ||
	    relay_addr_for(g, t, a2, sizeof(a2), &p2) == -1) {
		relay_refuse(gc, m, ERR_INTERNAL, "no relay address");
		return;
	}
	if (relay_session_new(g->relay, gc->user, to, key, &code, &why) == -1) {
		relay_refuse(gc, m, code, why);
		return;
	}
	relay_reply(gc, m->frame, json_pack("{s:s,s:s,s:i,s:s}", "t", "ok",
	    "addr", a1, "port", p1, "key", key));
	relay_reply(t, NULL, json_pack("{s:s,s:s,s:s,s:i,s:s}", "t",
	    "relay-invite", "from", gc->user, "addr", a2, "port", p2, "key", key));
	explicit_bzero(key, sizeof(key));
}

void
gestor_relay_stats(struct gestor *g, json_t *o)
{
	struct relay_stats st;

	memset(&st, 0, sizeof(st));
	if (g->relay != NULL)
		relay_get_stats(g->relay, &st);
	json_object_update_new(o, json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
	    "s:I}", "relay", g->relay != NULL,
	    "relay_sessions_active", (json_int_t)st.active,
	    "relay_sessions_waiting", (json_int_t)st.waiting,
	    "relay_sessions_total", (json_int_t)st.total,
	    "relay_refused", (json_int_t)(g->stats.relay_refused + st.refused),
	    "relay_bad_keys", (json_int_t)st.bad_keys,
	    "relay_expired", (json_int_t)st.expired,
	    "relay_idle_closed", (json_int_t)st.idle_closed,
	    "relay_bytes", (json_int_t)st.bytes));
}
