/*
 * Control commands of the gestor: status, users, lookup, stats (reload,
 * shutdown and version are shared with the peer, in main.c). Those that
 * read the store answer when its result arrives; the ones still waiting
 * at shutdown are answered with an error.
 */
#include <stdlib.h>
#include <string.h>

#include "gestor.h"
#include "gestor_int.h"
#include "hashpool.h"
#include "relay.h"
#include "identity.h"
#include "util.h"

static void	ctl_status(struct ctlreq *, json_t *, void *);
static void	ctl_users(struct ctlreq *, json_t *, void *);
static void	ctl_lookup(struct ctlreq *, json_t *, void *);
static void	ctl_stats(struct ctlreq *, json_t *, void *);
static void	on_stats_mail(enum gstore_rc, long, long long, void *);

const ctl_handler gestor_ctl_handlers[CMD__MAX] = {
	[CMD_STATUS] = ctl_status,
	[CMD_USERS] = ctl_users,
	[CMD_LOOKUP] = ctl_lookup,
	[CMD_STATS] = ctl_stats,
	/* reload, shutdown, version: main.c's, for every mode */
};

/* A control request waiting for the store. */
struct gctlop {
	TAILQ_ENTRY(gctlop)	 entry;
	struct daemon		*d;
	struct ctlreq		*r;
	struct gstore_op	*op;
	json_t			*items;		/* users: the rows so far */
};

static struct gctlop *
ctlop_new(struct daemon *d, struct ctlreq *r)
{
	struct gctlop *o = xcalloc(1, sizeof(*o));

	o->d = d;
	o->r = r;
	TAILQ_INSERT_TAIL(&d->gestor->ctlops, o, entry);
	return o;
}

static void
ctlop_free(struct gctlop *o)
{
	TAILQ_REMOVE(&o->d->gestor->ctlops, o, entry);
	json_decref(o->items);
	free(o);
}

void
gestor_ctl_abort(struct gestor *g)
{
	struct gctlop *o;

	while ((o = TAILQ_FIRST(&g->ctlops)) != NULL) {
		gstore_op_cancel(o->op);
		ctlreq_error(o->r, ERR_UNAVAILABLE, "the gestor is shutting down");
		ctlop_free(o);
	}
}

static void
store_error(struct ctlreq *r, enum gstore_rc rc)
{
	if (rc == GSTORE_UNAVAILABLE)
		ctlreq_error(r, ERR_UNAVAILABLE,
		    "the gestor's database is unavailable");
	else
		ctlreq_error(r, ERR_INTERNAL, "cannot read the user table");
}

static const char *const state_names[] = {
	[GSTORE_UP] = "connected",
	[GSTORE_CONNECTING] = "connecting",
	[GSTORE_DOWN] = "reconnecting",
};

/* Backend, database state and cluster name, for status. */
static json_t *
store_json(struct gestor *g)
{
	struct gstore_info i;
	char ts[32];

	gstore_info(g->store, &i);
	util_iso8601(i.since, ts, sizeof(ts));
	return json_pack("{s:s,s:s,s:s,s:s,s:s}", "backend", i.backend,
	    "database", state_names[i.state], "database_since",
	    i.since > 0 ? ts : "", "database_error", i.detail,
	    "cluster", i.cluster);
}

static void
on_status_count(enum gstore_rc rc, long n, void *arg)
{
	struct gctlop *o = arg;
	struct daemon *d = o->d;
	struct gestor *g = d->gestor;
	json_t *res;

	res = json_pack("{s:s,s:s,s:s,s:o,s:i,s:i,s:I}",
	    "mode", "gestor", "listen", g->listen_addr,
	    "fingerprint", identity_fingerprint(d->id),
	    "users", rc == GSTORE_OK ? json_integer(n) : json_null(),
	    "online", g->nonline, "connections", g->nconns,
	    "uptime", (json_int_t)(util_mono() - d->started));
	json_object_update_new(res, store_json(g));
	json_object_set_new(res, "relay", json_string(g->relay != NULL ?
	    relay_address(g->relay) : "off"));
	ctlreq_reply(o->r, res);
	ctlop_free(o);
}

static void
ctl_status(struct ctlreq *r, json_t *args, void *ctx)
{
	struct gctlop *o = ctlop_new(ctx, r);

	o->op = gstore_user_count(o->d->gestor->store, on_status_count, o);
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
	/* "online" stays a boolean, as in presence events. */
	if (*u->addr == '\0' && !json_is_true(json_object_get(o, "online")))
		json_object_set_new(o, "addr", json_null());
	return o;
}

static int
add_user(const struct guser *u, void *arg)
{
	struct gctlop *o = arg;

	json_array_append_new(o->items, user_row(o->d->gestor, u));
	return 0;
}

static void
on_users_done(enum gstore_rc rc, void *arg)
{
	struct gctlop *o = arg;

	if (rc != GSTORE_OK)
		store_error(o->r, rc);
	else {
		ctlreq_reply(o->r, json_pack("{s:O}", "items", o->items));
	}
	ctlop_free(o);
}

static void
ctl_users(struct ctlreq *r, json_t *args, void *ctx)
{
	struct gctlop *o = ctlop_new(ctx, r);

	o->items = json_array();
	o->op = gstore_user_foreach(o->d->gestor->store, add_user, on_users_done,
	    o);
}

static void
on_lookup_read(enum gstore_rc rc, const struct guser *u, void *arg)
{
	struct gctlop *o = arg;

	if (rc == GSTORE_OK)
		ctlreq_reply(o->r, user_row(o->d->gestor, u));
	else if (rc == GSTORE_NOTFOUND)
		ctlreq_error(o->r, ERR_NO_SUCH_USER, "no such user: %s",
		    json_string_value(o->items));
	else
		store_error(o->r, rc);
	ctlop_free(o);
}

static void
ctl_lookup(struct ctlreq *r, json_t *args, void *ctx)
{
	struct gctlop *o = ctlop_new(ctx, r);

	o->items = json_incref(json_object_get(args, "user"));
	o->op = gstore_user_get(o->d->gestor->store, json_string_value(o->items),
	    on_lookup_read, o);
}

static void
on_stats_count(enum gstore_rc rc, long n, void *arg)
{
	struct gctlop *o = arg;
	struct daemon *d = o->d;
	struct gestor *g = d->gestor;
	const struct gestor_stats *s = &g->stats;
	struct gstore_info i;
	struct hashpool_stats hs;
	json_t *res, *lim;

	gstore_info(g->store, &i);
	res = json_pack("{s:I,s:o,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,"
	    "s:I,s:I,s:I,s:I}",
	    "uptime", (json_int_t)(util_mono() - d->started),
	    "users", rc == GSTORE_OK ? json_integer(n) : json_null(),
	    "online", g->nonline, "connections", g->nconns,
	    "registrations", (json_int_t)s->registrations,
	    "logins", (json_int_t)s->logins,
	    "login_failures", (json_int_t)(s->bad_credentials +
	    s->key_mismatch),
	    "rate_limited", (json_int_t)(s->login_limited +
	    s->register_limited + s->hash_busy + s->lookups_refused +
	    s->watches_refused),
	    "frames_in", (json_int_t)s->frames_in,
	    "frames_out", (json_int_t)s->frames_out,
	    "connections_total", (json_int_t)s->connections_total,
	    "db_errors", (json_int_t)i.errors,
	    "db_reconnects", (json_int_t)i.reconnects,
	    "db_timeouts", (json_int_t)i.timeouts);
	json_object_set_new(res, "cluster_events",
	    json_integer((json_int_t)s->cluster_events));
	json_object_set_new(res, "cluster_refused",
	    json_integer((json_int_t)i.refused));
	gestor_relay_stats(g, res);
	/* Enumeration and published-address limits (gestor_limits.c). */
	lim = json_pack("{s:I,s:I,s:I,s:I,s:I}",
	    "lookups", (json_int_t)s->lookups,
	    "lookups_refused", (json_int_t)s->lookups_refused,
	    "watched_names", (json_int_t)s->watched_names,
	    "watches_refused", (json_int_t)s->watches_refused,
	    "advertised_refused", (json_int_t)s->adv_refused);
	json_object_update(res, lim);
	json_decref(lim);
	hashpool_get_stats(g->hashpool, &hs);
	lim = json_pack("{s:I,s:I,s:I,s:I}",
	    "hash_queued", (json_int_t)hs.queued,
	    "hashed", (json_int_t)hs.ran,
	    "hash_dropped", (json_int_t)hs.dropped,
	    "hash_refused", (json_int_t)hs.refused);
	json_object_update(res, lim);
	json_decref(lim);
	/* What the mailboxes hold: one more read. */
	o->items = res;
	o->op = gstore_mail_count(g->store, NULL, on_stats_mail, o);
}

static void
on_stats_mail(enum gstore_rc rc, long n, long long bytes, void *arg)
{
	struct gctlop *o = arg;
	json_t *res = o->items;

	o->items = NULL;
	gestor_mail_stats(o->d->gestor, res, rc == GSTORE_OK ? n : -1, bytes);
	ctlreq_reply(o->r, res);
	ctlop_free(o);
}

static void
ctl_stats(struct ctlreq *r, json_t *args, void *ctx)
{
	struct gctlop *o = ctlop_new(ctx, r);

	o->op = gstore_user_count(o->d->gestor->store, on_stats_count, o);
}
