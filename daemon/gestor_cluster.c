/*
 * The gestor among several on one PostgreSQL database: what the other
 * gestors tell it through the store's notification channel, and what it
 * does when the database comes back. Notifications are typed JSON
 * objects, {"t":TYPE,"origin":GESTOR,...}; a type this release does not
 * know is ignored, so later ones (e.g. "relay-invite") can ride the same
 * channel. With SQLite none of this ever runs.
 *   presence  {user,online,addr,port,key,last_seen}: tell local watchers;
 *             a user online through another gestor ends its session here.
 *   session   {user}: the user logged in through another gestor; the
 *             session here ends (one session per account in the cluster).
 *   relay-invite {to,from,addr,port,key}: a user of another gestor asks
 *             to meet `to`, whose session is here, at that gestor's relay
 *             (gestor_relay.c).
 */
#include <sys/utsname.h>

#include <string.h>

#include "gestor_int.h"
#include "log.h"
#include "util.h"
#include "valid.h"

/* The local session of user ends: it continues on another gestor. */
static void
end_local(struct gestor *g, const char *user, const char *origin)
{
	struct gconn *s = gestor_session(g, user);
	char why[128];

	if (s == NULL)
		return;
	snprintf(why, sizeof(why), "session replaced by a login through "
	    "gestor %s", *origin != '\0' ? origin : "(another)");
	s->replaced = true;
	gestor_replace(s, why);
}

static void
on_presence(struct gestor *g, const json_t *n, const char *origin)
{
	const char *user = json_string_value(json_object_get(n, "user"));
	const char *addr = json_string_value(json_object_get(n, "addr"));
	const char *key = json_string_value(json_object_get(n, "key"));
	json_t *online = json_object_get(n, "online");
	json_int_t port = json_integer_value(json_object_get(n, "port"));
	json_t *p;
	struct gconn *s;

	if (user == NULL || !valid_username(user) || addr == NULL ||
	    strlen(addr) >= 64 || key == NULL || !valid_fingerprint(key) ||
	    !json_is_boolean(online) || port < 0 || port > 65535 ||
	    !json_is_integer(json_object_get(n, "last_seen"))) {
		log_warnx("gestor: a malformed presence notification from %s",
		    origin);
		return;
	}
	s = gestor_session(g, user);
	if (json_is_true(online))
		end_local(g, user, origin);
	else if (s != NULL && s->online)
		return;		/* an older session ended elsewhere; ours is live */
	p = json_pack("{s:s,s:s,s:O,s:s,s:I,s:s,s:O}", "t", "presence",
	    "user", user, "online", online, "addr", addr, "port", port,
	    "key", key, "last_seen", json_object_get(n, "last_seen"));
	gestor_watchers_send(g, user, p);
	json_decref(p);
}

void
gestor_cluster_notify(const json_t *n, void *arg)
{
	struct gestor *g = arg;
	const char *t = json_string_value(json_object_get(n, "t"));
	const char *origin = json_string_value(json_object_get(n, "origin"));
	const char *user = json_string_value(json_object_get(n, "user"));

	if (origin == NULL || strlen(origin) > 63)
		origin = "?";
	g->stats.cluster_events++;
	if (strcmp(t, "presence") == 0)
		on_presence(g, n, origin);
	else if (strcmp(t, "session") == 0 && user != NULL &&
	    valid_username(user))
		end_local(g, user, origin);
	else if (strcmp(t, "relay-invite") == 0)
		gestor_relay_notified(g, n, origin);
	else
		log_debug("gestor: ignoring a \"%.32s\" notification from %s", t,
		    origin);
}

/* After a reconnect: watchers get the current presence of who they watch. */
static void
on_refresh_read(enum gstore_rc rc, const struct guser *u, void *arg)
{
	struct gestor *g = arg;
	json_t *p;

	if (rc != GSTORE_OK)
		return;
	p = gestor_presence_frame(g, u);
	gestor_watchers_send(g, u->name, p);
	json_decref(p);
}

void
gestor_cluster_state(enum gstore_state st, void *arg)
{
	struct gestor *g = arg;
	struct gwatch *w;
	json_t *seen;
	size_t i;

	if (st != GSTORE_UP) {
		log_warnx("gestor: database unreachable: sessions go on, "
		    "register/login/lookup answer \"unavailable\"");
		g->db_lost = true;
		return;
	}
	if (!g->db_lost)
		return;			/* the first connection: nothing missed */
	g->db_lost = false;
	log_info("gestor: database reachable again: reconciling presence");
	seen = json_object();
	for (i = 0; i < GESTOR_BUCKETS; i++) {
		for (w = g->watchers[i]; w != NULL; w = w->hnext) {
			if (json_object_get(seen, w->name) != NULL)
				continue;
			json_object_set_new(seen, w->name, json_true());
			gstore_user_get(g->store, w->name, on_refresh_read, g);
		}
	}
	json_decref(seen);
}

json_t *
gestor_cluster_sessions(void *arg)
{
	struct gestor *g = arg;
	struct gconn *gc;
	json_t *a = json_array();

	TAILQ_FOREACH(gc, &g->conns, entry) {
		if (gc->state != GC_AUTHED || !gc->online)
			continue;
		json_array_append_new(a, json_pack("{s:s,s:s,s:i,s:I}", "name",
		    gc->user, "addr", gc->pub_addr, "port", gc->pub_port,
		    "last_seen", (json_int_t)gc->last_seen));
	}
	return a;
}

/* cluster.name, else this host's name and the listening port. */
void
gestor_cluster_name(const struct config *cfg, char *buf, size_t len)
{
	char host[256], lhost[256];
	struct utsname un;
	int port = P2P_DEFAULT_GESTOR_PORT;

	if (*cfg->cluster_name != '\0') {
		snprintf(buf, len, "%s", cfg->cluster_name);
		return;
	}
	snprintf(host, sizeof(host), "%s", uname(&un) == 0 ? un.nodename :
	    "gestor");
	config_split_hostport(cfg->listen, lhost, sizeof(lhost), &port,
	    P2P_DEFAULT_GESTOR_PORT);
	snprintf(buf, len, "%.40s:%d", host, port);
}
