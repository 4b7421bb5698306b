/*
 * Control commands for groups: group create, add, remove, rename, show
 * and groups. Membership changes are the admin's: the new list is
 * signed, stored and queued for every member (and for the removed) in
 * one transaction (pg_list_commit), then the members' links are kicked.
 * Users to add are looked up at the gestor first, one after the other:
 * an unknown user is an error and nothing is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer_group.h"
#include "peer_msg.h"
#include "pstore_mail.h"
#include "util.h"
#include "valid.h"

enum gop_kind { GOP_CREATE, GOP_ADD };

/* A create or add waiting for the gestor's lookups of its users. */
struct gop {
	struct peer_msgs	*pm;
	struct ctlreq		*r;
	enum gop_kind		 kind;
	char			 id[P2P_MSGID_HEX + 1];		/* add */
	char			 title[PGROUP_TITLE_MAX + 1];	/* create */
	json_t			*users;
	size_t			 next;
};

static bool
logged_in(struct peer_msgs *pm, struct ctlreq *r)
{
	if (*pm->p->user != '\0')
		return true;
	ctlreq_error(r, ERR_NOT_LOGGED_IN, "not logged in; run login first");
	return false;
}

/* The admin's own group, or -1 (replied). */
static int
own_group(struct peer_msgs *pm, struct ctlreq *r, const char *what,
    struct pgroup *g, struct glist *l)
{
	if (pg_find_group(pm, r, what, g) != 0)
		return -1;
	if (strcmp(g->admin, pm->p->user) != 0) {
		ctlreq_error_obj(r, "not_admin", json_pack("{s:s,s:s}", "group",
		    g->id, "admin", g->admin), "only the admin of group %s (%s) "
		    "changes it", g->title, g->admin);
		return -1;
	}
	if (pg_list_load(pm, g->id, l) != 0) {
		ctlreq_error(r, ERR_INTERNAL, "cannot read group %s", g->id);
		return -1;
	}
	return 0;
}

static int
kick_member(const char *user, void *arg)
{
	struct peer_msgs *pm = arg;

	if (strcmp(user, pm->p->user) != 0)
		pm_kick(pm, user, true);
	return 0;
}

/*
 * Sign and store l (version and members set), notifying old's members
 * too; reply with the group. 0, or -1 (replied with the error).
 */
static int
commit_list(struct peer_msgs *pm, struct ctlreq *r, struct glist *l,
    const struct glist *old)
{
	int i;

	if (pstore_begin(pm->p->store) != PSTORE_OK ||
	    pg_list_commit(pm, l, old) != 0 ||
	    pstore_commit(pm->p->store) != PSTORE_OK) {
		pstore_rollback(pm->p->store);
		pg_events_flush(pm, false);
		ctlreq_error(r, ERR_INTERNAL, "cannot store the group (see the "
		    "daemon's log)");
		return -1;
	}
	pg_events_flush(pm, true);
	pgroup_members(pm->groups, l->id, kick_member, pm);
	for (i = 0; old != NULL && i < old->n; i++)
		if (!pg_list_has(l, old->members[i]))
			kick_member(old->members[i], pm);
	log_info("peer_ctl_group: group %s (%s) version %lld: %d members",
	    l->id, l->title, (long long)l->version, l->n);
	ctlreq_reply(r, json_pack("{s:s,s:s,s:s,s:I,s:i}", "id", l->id, "title",
	    l->title, "admin", l->admin, "version", (json_int_t)l->version,
	    "members", l->n));
	return 0;
}

static long
cap(struct peer_msgs *pm)
{
	return pm->p->d->cfg->group_members;
}

static void
too_many(struct peer_msgs *pm, struct ctlreq *r)
{
	ctlreq_error(r, "too_many_members", "a group has at most %ld members, "
	    "its admin included (limits.group_members)", cap(pm));
}

static void
gop_free(struct gop *o)
{
	json_decref(o->users);
	free(o);
}

/* Every user was found at the gestor: make the change. */
static void
gop_commit(struct gop *o)
{
	struct peer_msgs *pm = o->pm;
	struct glist *l = xcalloc(2, sizeof(*l)), *old = &l[1];
	struct pgroup g;
	json_t *v;
	size_t i;
	int t;

	if (o->kind == GOP_CREATE) {
		if ((t = pgroup_title_taken(pm->groups, o->title, NULL)) != 0) {
			ctlreq_error(o->r, t > 0 ? "title_taken" : ERR_INTERNAL,
			    t > 0 ? "you are in a group titled '%s' already" :
			    "cannot read the groups", o->title);
			goto out;
		}
		pg_new_id(l->id);
		snprintf(l->title, sizeof(l->title), "%s", o->title);
		snprintf(l->admin, sizeof(l->admin), "%s", pm->p->user);
		snprintf(l->key, sizeof(l->key), "%s",
		    identity_key_hex(pm->p->d->id));
		l->version = 1;
		pg_list_add(l, pm->p->user);
		old = NULL;
	} else {
		if (own_group(pm, o->r, o->id, &g, old) != 0)
			goto out;
		*l = *old;
		l->version++;
		snprintf(l->key, sizeof(l->key), "%s",
		    identity_key_hex(pm->p->d->id));
	}
	json_array_foreach(o->users, i, v)
		if (pg_list_add(l, json_string_value(v)) != 0 || l->n > cap(pm)) {
			too_many(pm, o->r);
			goto out;
		}
	commit_list(pm, o->r, l, old);
out:
	free(l);
	gop_free(o);
}

static void gop_next(struct gop *);

static void
on_gop_lookup(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct gop *o = arg;
	const char *user = json_string_value(json_array_get(o->users,
	    o->next - 1));

	if (reply == NULL) {
		if (strcmp(code, ERR_NO_SUCH_USER) == 0)
			ctlreq_error_obj(o->r, code, json_pack("{s:s}", "user", user),
			    "no such user: %s", user);
		else
			ctlreq_error(o->r, code, "cannot look %s up: %s", user, msg);
		gop_free(o);
		return;
	}
	gop_next(o);
}

static void
gop_next(struct gop *o)
{
	const char *user;

	if (o->next == json_array_size(o->users)) {
		gop_commit(o);
		return;
	}
	user = json_string_value(json_array_get(o->users, o->next++));
	pgestor_request(o->pm->p->pg, json_pack("{s:s,s:s}", "t", "lookup",
	    "user", user), true, on_gop_lookup, o);
}

/* Users to add: distinct, not us, within the cap. 0, or -1 (replied). */
static int
check_users(struct peer_msgs *pm, struct ctlreq *r, json_t *users, int have)
{
	json_t *v, *w;
	size_t i, j;

	json_array_foreach(users, i, v) {
		if (strcmp(json_string_value(v), pm->p->user) == 0) {
			ctlreq_error(r, ERR_INVALID_ARGUMENT, "you are in your own "
			    "groups already");
			return -1;
		}
		for (j = 0; j < i; j++)
			if ((w = json_array_get(users, j)) != NULL &&
			    json_equal(v, w)) {
				ctlreq_error(r, ERR_INVALID_ARGUMENT, "%s is named twice",
				    json_string_value(v));
				return -1;
			}
	}
	if ((long)have + (long)json_array_size(users) > cap(pm)) {
		too_many(pm, r);
		return -1;
	}
	return 0;
}

static void
gop_start(struct peer_msgs *pm, struct ctlreq *r, enum gop_kind kind,
    const char *id, const char *title, json_t *users)
{
	struct gop *o = xcalloc(1, sizeof(*o));

	o->pm = pm;
	o->r = r;
	o->kind = kind;
	snprintf(o->id, sizeof(o->id), "%s", id != NULL ? id : "");
	snprintf(o->title, sizeof(o->title), "%s", title != NULL ? title : "");
	o->users = users != NULL ? json_incref(users) : json_array();
	gop_next(o);
}

void
peer_ctl_group_create(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	const char *title = json_string_value(json_object_get(args, "title"));
	json_t *users = json_object_get(args, "users");
	int t;

	if (!logged_in(pm, r))
		return;
	if (!pg_valid_title(title)) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "a title is 1 to %d bytes of "
		    "text without control characters", PGROUP_TITLE_MAX);
		return;
	}
	if ((t = pgroup_title_taken(pm->groups, title, NULL)) != 0) {
		ctlreq_error(r, t > 0 ? "title_taken" : ERR_INTERNAL, t > 0 ?
		    "you are in a group titled '%s' already" :
		    "cannot read the groups", title);
		return;
	}
	if (users != NULL && check_users(pm, r, users, 1) != 0)
		return;
	gop_start(pm, r, GOP_CREATE, NULL, title, users);
}

void
peer_ctl_group_add(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	json_t *users = json_object_get(args, "users"), *v;
	struct glist *l;
	struct pgroup g;
	size_t i;

	if (!logged_in(pm, r))
		return;
	l = xcalloc(1, sizeof(*l));
	if (own_group(pm, r, json_string_value(json_object_get(args, "group")),
	    &g, l) != 0 || check_users(pm, r, users, l->n) != 0)
		goto out;
	json_array_foreach(users, i, v)
		if (pg_list_has(l, json_string_value(v))) {
			ctlreq_error(r, "already_member", "%s is a member of %s "
			    "already", json_string_value(v), g.title);
			goto out;
		}
	gop_start(pm, r, GOP_ADD, g.id, NULL, users);
out:
	free(l);
}

void
peer_ctl_group_remove(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	json_t *users = json_object_get(args, "users"), *v;
	struct glist *l, *old;
	struct pgroup g;
	size_t i;

	if (!logged_in(pm, r))
		return;
	l = xcalloc(2, sizeof(*l));
	old = &l[1];
	if (own_group(pm, r, json_string_value(json_object_get(args, "group")),
	    &g, old) != 0)
		goto out;
	*l = *old;
	json_array_foreach(users, i, v) {
		if (strcmp(json_string_value(v), pm->p->user) == 0) {
			ctlreq_error(r, ERR_INVALID_ARGUMENT, "the admin stays in its "
			    "group");
			goto out;
		}
		if (pg_list_remove(l, json_string_value(v)) == 0) {
			ctlreq_error_obj(r, ERR_NOT_MEMBER, json_pack("{s:O}", "user",
			    v), "%s is not a member of %s", json_string_value(v),
			    g.title);
			goto out;
		}
	}
	l->version++;
	commit_list(pm, r, l, old);
out:
	free(l);
}

void
peer_ctl_group_rename(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	const char *title = json_string_value(json_object_get(args, "title"));
	struct glist *l, *old;
	struct pgroup g;
	int t;

	if (!logged_in(pm, r))
		return;
	if (!pg_valid_title(title)) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "a title is 1 to %d bytes of "
		    "text without control characters", PGROUP_TITLE_MAX);
		return;
	}
	l = xcalloc(2, sizeof(*l));
	old = &l[1];
	if (own_group(pm, r, json_string_value(json_object_get(args, "group")),
	    &g, old) != 0)
		goto out;
	if ((t = pgroup_title_taken(pm->groups, title, g.id)) != 0) {
		ctlreq_error(r, t > 0 ? "title_taken" : ERR_INTERNAL, t > 0 ?
		    "you are in a group titled '%s' already" :
		    "cannot read the groups", title);
		goto out;
	}
	*l = *old;
	snprintf(l->title, sizeof(l->title), "%s", title);
	l->version++;
	commit_list(pm, r, l, old);
out:
	free(l);
}

void
peer_ctl_group_leave(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	char lid[P2P_MSGID_HEX + 1];
	struct pgroup g;

	if (!logged_in(pm, r) || pg_find_group(pm, r, json_string_value(
	    json_object_get(args, "group")), &g) != 0)
		return;
	if (strcmp(g.admin, pm->p->user) == 0) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "the admin of group %s stays "
		    "in it (remove the others instead)", g.title);
		return;
	}
	if (!g.member) {
		ctlreq_error_obj(r, ERR_NOT_MEMBER, json_pack("{s:s}", "group",
		    g.id), "you are not a member of group %s", g.title);
		return;
	}
	pg_new_id(lid);
	if (pstore_begin(pm->p->store) != PSTORE_OK ||
	    pgroup_leave(pm->groups, g.id, g.admin, lid, util_now_ms()) !=
	    PSTORE_OK || pstore_commit(pm->p->store) != PSTORE_OK) {
		pstore_rollback(pm->p->store);
		ctlreq_error(r, ERR_INTERNAL, "cannot store the change (see the "
		    "daemon's log)");
		return;
	}
	pm->pending_gen++;
	pm_kick(pm, g.admin, true);
	log_info("peer_ctl_group: left group %s (%s)", g.id, g.title);
	ctlreq_reply(r, json_pack("{s:s,s:s,s:I,s:b}", "id", g.id, "title",
	    g.title, "version", (json_int_t)g.version, "member", 0));
}

struct show {
	struct peer_msgs	*pm;
	const char		*id;
	char			*names, *waiting, *deposited;
};

/* Append "user:n" to *list, space-separated. */
static void
add_count(char **list, const char *user, long n)
{
	char *t;

	if (asprintf(&t, "%s%s%s:%ld", *list, **list ? " " : "", user, n) == -1)
		fatalx("%s: out of memory", __func__);
	free(*list);
	*list = t;
}

static int
add_member(const char *user, void *arg)
{
	struct show *s = arg;
	long n = pgroup_undelivered(s->pm->groups, s->id, user);
	char *t;

	if (asprintf(&t, "%s%s%s", s->names, *s->names ? " " : "", user) == -1)
		fatalx("%s: out of memory", __func__);
	free(s->names);
	s->names = t;
	if (n > 0)
		add_count(&s->waiting, user, n);
	/* Of those, the ones in the member's mailbox at the gestor. */
	if (n > 0 && (n = pmail_group_deposited(s->pm->p->store, s->id,
	    user)) > 0)
		add_count(&s->deposited, user, n);
	return 0;
}

void
peer_ctl_group_show(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	struct show s;
	struct pgroup g;

	if (pg_find_group(pm, r, json_string_value(json_object_get(args, "group")),
	    &g) != 0)
		return;
	s.pm = pm;
	s.id = g.id;
	s.names = xstrdup("");
	s.waiting = xstrdup("");
	s.deposited = xstrdup("");
	if (pgroup_members(pm->groups, g.id, add_member, &s) != PSTORE_OK) {
		ctlreq_error(r, ERR_INTERNAL, "cannot read group %s", g.id);
	} else {
		ctlreq_reply(r, json_pack("{s:s,s:s,s:s,s:I,s:b,s:s,s:s,s:s}", "id",
		    g.id, "title", g.title, "admin", g.admin, "version",
		    (json_int_t)g.version, "member", g.member, "members", s.names,
		    "undelivered", s.waiting, "deposited", s.deposited));
	}
	free(s.names);
	free(s.waiting);
	free(s.deposited);
}

static int
add_group(const struct pgroup *g, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s,s:s,s:s,s:i,s:I,s:b}", "id",
	    g->id, "title", g->title, "admin", g->admin, "members", g->nmembers,
	    "version", (json_int_t)g->version, "member", g->member));
	return 0;
}

void
peer_ctl_groups(struct ctlreq *r, json_t *args, void *ctx)
{
	json_t *items = json_array();

	if (pgroup_foreach(pm_of_ctx(ctx)->groups, add_group, items) !=
	    PSTORE_OK) {
		json_decref(items);
		ctlreq_error(r, ERR_INTERNAL, "cannot read the groups");
		return;
	}
	ctlreq_reply(r, json_pack("{s:o}", "items", items));
}
