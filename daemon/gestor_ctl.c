/*
 * Control commands of the gestor: status, users, lookup, stats (reload,
 * shutdown and version are shared with the peer, in main.c).
 */
#include <string.h>

#include "gestor.h"
#include "gestor_int.h"
#include "identity.h"
#include "util.h"

static void	ctl_status(struct ctlreq *, json_t *, void *);
static void	ctl_users(struct ctlreq *, json_t *, void *);
static void	ctl_lookup(struct ctlreq *, json_t *, void *);
static void	ctl_stats(struct ctlreq *, json_t *, void *);

const ctl_handler gestor_ctl_handlers[CMD__MAX] = {
	[CMD_STATUS] = ctl_status,
	[CMD_USERS] = ctl_users,
	[CMD_LOOKUP] = ctl_lookup,
	[CMD_STATS] = ctl_stats,
	[CMD_RELOAD] = daemon_ctl_reload,
	[CMD_SHUTDOWN] = daemon_ctl_shutdown,
	[CMD_VERSION] = daemon_ctl_version,
};

static void
ctl_status(struct ctlreq *r, json_t *args, void *ctx)
{
	struct daemon *d = ctx;
	struct gestor *g = d->gestor;

	ctlreq_reply(r, json_pack("{s:s,s:s,s:s,s:I,s:i,s:i,s:I}",
	    "mode", "gestor", "listen", g->listen_addr,
	    "fingerprint", identity_fingerprint(d->id),
	    "users", (json_int_t)gstore_user_count(g->store),
	    "online", g->nonline, "connections", g->nconns,
	    "uptime", (json_int_t)(util_mono() - d->started)));
}

/* A user as the control interface shows it: timestamps as ISO 8601. */
static json_t *
user_row(struct gestor *g, const struct guser *u)
{
	json_t *o = gestor_user_json(g, u);
	json_int_t seen = json_integer_value(json_object_get(o, "last_seen"));
	char ts[32];

	if (seen > 0) {
		util_iso8601(seen, ts, sizeof(ts));
		json_object_set_new(o, "last_seen", json_string(ts));
	} else
		json_object_set_new(o, "last_seen", json_null());
	json_object_set_new(o, "online", json_string(json_is_true(
	    json_object_get(o, "online")) ? "online" : "offline"));
	if (*u->addr == '\0' && !json_is_true(json_object_get(o, "online")))
		json_object_set_new(o, "addr", json_null());
	return o;
}

struct users_arg {
	struct gestor	*g;
	json_t		*items;
};

static int
add_user(const struct guser *u, void *arg)
{
	struct users_arg *ua = arg;

	json_array_append_new(ua->items, user_row(ua->g, u));
	return 0;
}

static void
ctl_users(struct ctlreq *r, json_t *args, void *ctx)
{
	struct daemon *d = ctx;
	struct users_arg ua = { d->gestor, json_array() };

	if (gstore_user_foreach(d->gestor->store, add_user, &ua) != GSTORE_OK) {
		json_decref(ua.items);
		ctlreq_error(r, ERR_INTERNAL, "cannot read the user table");
		return;
	}
	ctlreq_reply(r, json_pack("{s:o}", "items", ua.items));
}

static void
ctl_lookup(struct ctlreq *r, json_t *args, void *ctx)
{
	struct daemon *d = ctx;
	const char *name = json_string_value(json_object_get(args, "user"));
	struct guser u;

	switch (gstore_user_get(d->gestor->store, name, &u)) {
	case GSTORE_OK:
		util_zero(u.hash, sizeof(u.hash));
		ctlreq_reply(r, user_row(d->gestor, &u));
		return;
	case GSTORE_NOTFOUND:
		ctlreq_error(r, ERR_NO_SUCH_USER, "no user '%s'", name);
		return;
	default:
		ctlreq_error(r, ERR_INTERNAL, "cannot read the user table");
		return;
	}
}

static void
ctl_stats(struct ctlreq *r, json_t *args, void *ctx)
{
	struct daemon *d = ctx;
	struct gestor *g = d->gestor;
	const struct gestor_stats *s = &g->stats;

	ctlreq_reply(r, json_pack("{s:I,s:I,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "uptime", (json_int_t)(util_mono() - d->started),
	    "users", (json_int_t)gstore_user_count(g->store),
	    "online", g->nonline, "connections", g->nconns,
	    "registrations", (json_int_t)s->registrations,
	    "logins", (json_int_t)s->logins,
	    "login_failures", (json_int_t)s->login_failures,
	    "rate_limited", (json_int_t)s->rate_limited,
	    "frames_in", (json_int_t)s->frames_in,
	    "frames_out", (json_int_t)s->frames_out,
	    "connections_total", (json_int_t)s->connections_total));
}
