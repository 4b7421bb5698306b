/*
 * The gestor among several on one PostgreSQL database: what the other
 * gestors tell it through the store's notification channel, and what it
 * does when the database comes back. Notifications are typed JSON
 * objects, {"t":TYPE,"origin":GESTOR,...}, sealed by the sending gestor
 * (gstore_pg_cluster.c drops any other); a type this release does not
 * know is ignored. Even sealed, a notification is a hint: the rows are
 * read before anything is pushed or ended, and keys and addresses always
 * come from the database. With SQLite none of this ever runs.
 *   presence  {user,online}: the user's row is read; watchers here get
 *             its presence as the row says, and a user the row shows
 *             online through another gestor ends its session here.
 *   session   {user}: the user logged in through another gestor; the
 *             session here ends if the row shows the user online
 *             elsewhere (one session per account in the cluster; else
 *             the presence hint that follows the login ends it).
 *   relay-invite {to,from,addr,port,key}: a user of another gestor asks
 *             to meet `to`, whose session is here, at that gestor's relay
 *             (gestor_relay.c); passed on if `from` is online elsewhere.
 *   mail      {user}: mail was deposited for user; a session here is
 *             told to fetch it (gestor_mail.c). At worst a needless fetch.
 */
#include <sys/utsname.h>

#include <stdio.h>
#include <stdlib.h>
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

/* A hint waiting for its user's row. */
struct ghint {
	TAILQ_ENTRY(ghint)	 entry;
	struct gestor		*g;
	char			 origin[64];
	json_t			*n;		/* the notification */
};

static void
hint_free(struct ghint *h)
{
	TAILQ_REMOVE(&h->g->hints, h, entry);
	json_decref(h->n);
	free(h);
}

/* The store is closed (its callbacks never come): free what waits. */
void
gestor_cluster_free(struct gestor *g)
{
	while (!TAILQ_EMPTY(&g->hints))
		hint_free(TAILQ_FIRST(&g->hints));
}

static void
on_hint_read(enum gstore_rc rc, const struct guser *u, void *arg)
{
	struct ghint *h = arg;
	struct gestor *g = h->g;
	const char *t = json_string_value(json_object_get(h->n, "t"));
	struct gconn *s;
	json_t *p;

	if (rc != GSTORE_OK || u == NULL) {
		if (rc != GSTORE_NOTFOUND)
			log_debug("gestor: a \"%s\" hint from %s: the user's row "
			    "could not be read", t, h->origin);
		hint_free(h);
		return;
	}
	if (strcmp(t, "session") == 0) {
		if (u->online)
			end_local(g, u->name, h->origin);
	} else if (strcmp(t, "relay-invite") == 0) {
		if (u->online)
			gestor_relay_notified(g, h->n, h->origin);
		else
			log_info("gestor: a relay-invite from %s offline at every "
			    "other gestor: dropped", u->name);
	} else {
		s = gestor_session(g, u->name);
		if (u->online)
			end_local(g, u->name, h->origin);
		else if (s != NULL && s->online) {
			hint_free(h);
			return;		/* the session here is the live one */
		}
		p = gestor_presence_frame(g, u);
		gestor_watchers_send(g, u->name, p);
		json_decref(p);
	}
	hint_free(h);
}

/* Read the row of user (the one the hint is about), then act on it. */
static void
check_hint(struct gestor *g, const json_t *n, const char *user,
    const char *origin)
{
	struct ghint *h = xcalloc(1, sizeof(*h));

	h->g = g;
	snprintf(h->origin, sizeof(h->origin), "%s", origin);
	h->n = json_deep_copy(n);
	TAILQ_INSERT_TAIL(&g->hints, h, entry);
	gstore_user_get(g->store, user, on_hint_read, h);
}

/*
 * Only a hint about someone with a session here, or watched from here,
 * is worth the row's read (every gestor hears every notification).
 */
static bool
concerns_us(struct gestor *g, const json_t *n, const char *t,
    const char *user)
{
	const char *to = json_string_value(json_object_get(n, "to"));
	struct gconn *s;

	if (strcmp(t, "relay-invite") == 0)
		return to != NULL && (s = gestor_session(g, to)) != NULL &&
		    s->online;
	if (strcmp(t, "session") == 0)
		return gestor_session(g, user) != NULL;
	return gestor_session(g, user) != NULL || gestor_watched(g, user);
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
	if (strcmp(t, "relay-invite") == 0)
		user = json_string_value(json_object_get(n, "from"));
	if (strcmp(t, "mail") == 0) {
		if (user != NULL && valid_username(user))
			gestor_mail_notified(g, user);
		return;
	}
	if (strcmp(t, "presence") != 0 && strcmp(t, "session") != 0 &&
	    strcmp(t, "relay-invite") != 0)
		log_debug("gestor: ignoring a \"%.32s\" notification from %s", t,
		    origin);
	else if (user == NULL || !valid_username(user))
		log_warnx("gestor: a malformed \"%s\" notification from %s", t,
		    origin);
	else if (concerns_us(g, n, t, user))
		check_hint(g, n, user, origin);
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
