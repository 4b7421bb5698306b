/*
 * Group membership lists: made and signed by the admin, checked and
 * applied by the members (see peer_group.h). The list travels as the
 * exact text that was signed; every check is made on that text's parse,
 * so what is stored and shown is what the admin signed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "jsonw.h"
#include "log.h"
#include "peer_group.h"
#include "util.h"
#include "valid.h"

bool
pg_valid_title(const char *t)
{
	size_t len = strlen(t), i;

	if (len == 0 || len > PGROUP_TITLE_MAX || !valid_utf8(t, len))
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
			return false;
	return true;
}

bool
pg_list_has(const struct glist *l, const char *user)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->members[i], user) == 0)
			return true;
	return false;
}

int
pg_list_add(struct glist *l, const char *user)
{
	int i, at;

	if (pg_list_has(l, user))
		return 0;
	if (l->n >= PG_MEMBERS_MAX)
		return -1;
	for (at = 0; at < l->n && strcmp(l->members[at], user) < 0; at++)
		;
	for (i = l->n; i > at; i--)
		memcpy(l->members[i], l->members[i - 1], sizeof(l->members[i]));
	snprintf(l->members[at], sizeof(l->members[at]), "%s", user);
	l->n++;
	return 0;
}

int
pg_list_remove(struct glist *l, const char *user)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->members[i], user) == 0)
			break;
	if (i == l->n)
		return 0;
	for (; i + 1 < l->n; i++)
		memcpy(l->members[i], l->members[i + 1], sizeof(l->members[i]));
	l->n--;
	return 1;
}

/* The text to sign: members in a fixed order, printed by jsonw. */
static char *
list_text(const struct glist *l)
{
	struct jsonw w;
	char *s = NULL;
	int i;

	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_str(&w, "group", l->id);
	jsonw_str(&w, "title", l->title);
	jsonw_str(&w, "admin", l->admin);
	jsonw_str(&w, "key", l->key);
	jsonw_int(&w, "version", l->version);
	jsonw_open_array(&w, "members");
	for (i = 0; i < l->n; i++)
		jsonw_str(&w, NULL, l->members[i]);
	jsonw_close_array(&w);
	jsonw_close(&w);
	if (jsonw_ok(&w) == 0)
		s = xstrdup(jsonw_cstr(&w));
	jsonw_free(&w);
	return s;
}

/* Parse and check a list's text into l: 0, or -1 with why. */
static int
list_parse(const char *text, size_t len, struct glist *l, char *why,
    size_t whylen)
{
	json_t *j, *members, *v;
	json_error_t jerr;
	const char *id, *title, *admin, *key, *u;
	size_t i;
	int rc = -1;

	memset(l, 0, sizeof(*l));
	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		snprintf(why, whylen, "the list is not JSON: %s", jerr.text);
		return -1;
	}
	id = json_string_value(json_object_get(j, "group"));
	title = json_string_value(json_object_get(j, "title"));
	admin = json_string_value(json_object_get(j, "admin"));
	key = json_string_value(json_object_get(j, "key"));
	v = json_object_get(j, "version");
	members = json_object_get(j, "members");
	if (id == NULL || !valid_msgid(id) || title == NULL ||
	    !pg_valid_title(title) || admin == NULL || !valid_username(admin) ||
	    key == NULL || !valid_hex_bytes(key, IDENTITY_KEY_HEX_MAX) ||
	    !json_is_integer(v) || json_integer_value(v) < 1 ||
	    !json_is_array(members) || json_array_size(members) > PG_MEMBERS_MAX) {
		snprintf(why, whylen, "the list lacks a member or has a bad one");
		goto out;
	}
	snprintf(l->id, sizeof(l->id), "%s", id);
	snprintf(l->title, sizeof(l->title), "%s", title);
	snprintf(l->admin, sizeof(l->admin), "%s", admin);
	snprintf(l->key, sizeof(l->key), "%s", key);
	l->version = json_integer_value(v);
	json_array_foreach(members, i, v) {
		if ((u = json_string_value(v)) == NULL || !valid_username(u) ||
		    pg_list_has(l, u)) {
			snprintf(why, whylen, "the list's members are not distinct "
			    "usernames");
			goto out;
		}
		pg_list_add(l, u);
	}
	if (!pg_list_has(l, l->admin)) {
		snprintf(why, whylen, "the list does not name its admin");
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int
pg_list_load(struct peer_msgs *pm, const char *id, struct glist *l)
{
	struct pgroup g;
	char *list = NULL, *sig = NULL, why[200];
	int rc = -1;

	if (pgroup_get(pm->groups, id, &g, &list, &sig) == PSTORE_OK &&
	    list_parse(list, strlen(list), l, why, sizeof(why)) == 0)
		rc = 0;
	free(list);
	free(sig);
	return rc;
}

void
pg_new_id(char *out)
{
	unsigned char r[P2P_MSGID_HEX / 2];

	gnutls_rnd(GNUTLS_RND_NONCE, r, sizeof(r));
	util_hex(r, sizeof(r), out);
}

/*
 * The "group" event of a new list: stored in the caller's transaction,
 * streamed to watch by pg_events_flush once it commits.
 */
static int
group_event(struct peer_msgs *pm, const struct glist *l)
{
	struct jsonw w;
	int64_t seq;
	int i, rc;

	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_int(&w, "ts", util_now_ms());
	jsonw_str(&w, "admin", l->admin);
	jsonw_str(&w, "id", l->id);
	jsonw_str(&w, "title", l->title);
	jsonw_int(&w, "version", l->version);
	jsonw_open_array(&w, "members");
	for (i = 0; i < l->n; i++)
		jsonw_str(&w, NULL, l->members[i]);
	jsonw_close_array(&w);
	jsonw_bool(&w, "member", pg_list_has(l, pm->p->user));
	jsonw_close(&w);
	rc = jsonw_ok(&w) == 0 && pmsg_event(pm->ms, "group", jsonw_cstr(&w),
	    &seq) == PSTORE_OK ? 0 : -1;
	if (rc == 0) {
		if (pm->group_events == NULL)
			pm->group_events = json_array();
		json_array_append_new(pm->group_events, pm_event_line(seq, "group",
		    jsonw_cstr(&w)));
	}
	jsonw_free(&w);
	return rc;
}

void
pg_events_flush(struct peer_msgs *pm, bool committed)
{
	json_t *line;
	size_t i;

	if (pm->group_events == NULL)
		return;
	if (committed)
		json_array_foreach(pm->group_events, i, line)
			peer_event(pm->p, line);
	json_decref(pm->group_events);
	pm->group_events = NULL;
}

/* Store l (text, sig) and fail what is queued for anyone no longer in it. */
static int
store_list(struct peer_msgs *pm, const struct glist *l, const char *text,
    const char *sig)
{
	const char *names[PG_MEMBERS_MAX];
	struct pgroup g;
	int i, n;

	memset(&g, 0, sizeof(g));
	snprintf(g.id, sizeof(g.id), "%s", l->id);
	snprintf(g.title, sizeof(g.title), "%s", l->title);
	snprintf(g.admin, sizeof(g.admin), "%s", l->admin);
	g.version = l->version;
	for (i = 0; i < l->n; i++)
		names[i] = l->members[i];
	if (pgroup_put(pm->groups, &g, text, sig, names, l->n,
	    pg_list_has(l, pm->p->user)) != PSTORE_OK ||
	    pgroup_drop_removed(pm->groups, l->id, &n) != PSTORE_OK ||
	    group_event(pm, l) != 0)
		return -1;
	if (n > 0) {
		log_info("peer_group: %s version %lld: %d queued deliveries to "
		    "non-members failed", l->id, (long long)l->version, n);
		pm->pending_gen++;
	}
	return 0;
}

static int
queue_for(struct peer_msgs *pm, const char *id, const char *user,
    const char *lid, int64_t now)
{
	int64_t seq;

	if (strcmp(user, pm->p->user) == 0)
		return 0;
	return pgroup_queue_list(pm->groups, id, user, lid, now, &seq) ==
	    PSTORE_OK ? 0 : -1;
}

int
pg_list_commit(struct peer_msgs *pm, struct glist *l,
    const struct glist *notify)
{
	char sig[IDENTITY_SIG_HEX_MAX + 1], lid[P2P_MSGID_HEX + 1], *text;
	int64_t now = util_now_ms();
	int i, rc = -1;

	/* Our key now: it may have changed since the last version. */
	snprintf(l->key, sizeof(l->key), "%s", identity_key_hex(pm->p->d->id));
	if ((text = list_text(l)) == NULL)
		return -1;
	if (identity_sign(pm->p->d->id, text, strlen(text), sig,
	    sizeof(sig)) != 0) {
		log_warnx("peer_group: cannot sign the list of %s", l->id);
		goto out;
	}
	if (store_list(pm, l, text, sig) != 0)
		goto out;
	pg_new_id(lid);
	for (i = 0; i < l->n; i++)
		if (queue_for(pm, l->id, l->members[i], lid, now) != 0)
			goto out;
	for (i = 0; notify != NULL && i < notify->n; i++)
		if (!pg_list_has(l, notify->members[i]) &&
		    queue_for(pm, l->id, notify->members[i], lid, now) != 0)
			goto out;
	/* New queue rows outside the group commit: windows refill. */
	pm->pending_gen++;
	rc = 0;
out:
	free(text);
	return rc;
}

int
pg_list_receive(struct peer_msgs *pm, const char *from, const char *list,
    size_t len, const char *sig, char *changed, char *why, size_t whylen)
{
	struct glist l;
	struct pgroup g;
	struct pcontact c;
	char fp[P2P_FP_LEN + 1];
	enum pstore_rc rc;

	*changed = '\0';
	if (list_parse(list, len, &l, why, whylen) != 0)
		return -1;
	if (strcmp(l.admin, pm->p->user) == 0) {
		snprintf(why, whylen, "a list of group %s signed in our name",
		    l.id);
		return -1;
	}
	/* The admin's key as this store holds it: pinned or published. */
	if (pstore_contact_get(pm->p->store, l.admin, &c) != PSTORE_OK ||
	    *c.fingerprint == '\0') {
		snprintf(why, whylen, "group %s: no key known for its admin %s",
		    l.id, l.admin);
		return -1;
	}
	/* As messages to a verified contact whose key changed are held. */
	if (c.verified && *c.prev_fingerprint != '\0') {
		snprintf(why, whylen, "group %s: the key of its admin %s changed; "
		    "its lists are held until: p2pchatctl trust %s", l.id, l.admin,
		    l.admin);
		return -3;
	}
	if (identity_key_fingerprint(l.key, fp, sizeof(fp)) != 0 ||
	    strcmp(fp, c.fingerprint) != 0) {
		snprintf(why, whylen, "group %s: the list's key is not the key of "
		    "its admin %s", l.id, l.admin);
		return -1;
	}
	if (identity_verify(l.key, list, len, sig) != 0) {
		snprintf(why, whylen, "group %s: the signature of its list does not "
		    "verify with the key of %s", l.id, l.admin);
		return -1;
	}
	if ((rc = pgroup_get(pm->groups, l.id, &g, NULL, NULL)) == PSTORE_ERR)
		return -2;
	if (rc == PSTORE_OK && strcmp(g.admin, l.admin) != 0) {
		snprintf(why, whylen, "group %s: its admin is %s, not %s", l.id,
		    g.admin, l.admin);
		return -1;
	}
	if (rc == PSTORE_OK && l.version <= g.version) {
		if (l.version < g.version)
			snprintf(why, whylen, "group %s: version %lld is older than "
			    "version %lld (a replay)", l.id, (long long)l.version,
			    (long long)g.version);
		return l.version < g.version ? -1 : 0;
	}
	/* A group new to us only if it names us. */
	if (rc == PSTORE_NOTFOUND && !pg_list_has(&l, pm->p->user)) {
		snprintf(why, whylen, "group %s: a list that does not name us",
		    l.id);
		return -1;
	}
	if (store_list(pm, &l, list, sig) != 0)
		return -2;
	snprintf(changed, P2P_MSGID_HEX + 1, "%s", l.id);
	log_info("peer_group: %s: group %s (%s) version %lld from %s, %d "
	    "members", pm->p->user, l.id, l.title, (long long)l.version, from,
	    l.n);
	return 1;
}

/* GROUP as named by the user: 0 with g filled, or -1 (replied). */
int
pg_find_group(struct peer_msgs *pm, struct ctlreq *r, const char *what,
    struct pgroup *g)
{
	int n;

	switch (pgroup_find(pm->groups, what, g, &n)) {
	case PSTORE_OK:
		return 0;
	case PSTORE_NOTFOUND:
		ctlreq_error_obj(r, "no_such_group", json_pack("{s:s}", "group",
		    what), "no group with id, id prefix or title '%s'", what);
		return -1;
	case PSTORE_EXISTS:
		ctlreq_error_obj(r, "ambiguous_group", json_pack("{s:s}", "group",
		    what), "'%s' names more than one group: give its id (see "
		    "p2pchatctl groups)", what);
		return -1;
	default:
		ctlreq_error(r, ERR_INTERNAL, "cannot read the groups");
		return -1;
	}
}

int
pg_leave_receive(struct peer_msgs *pm, const char *from, const char *id,
    char *why, size_t whylen)
{
	struct glist *l;
	struct pgroup g;
	enum pstore_rc rc;
	int r = -1;

	if ((rc = pgroup_get(pm->groups, id, &g, NULL, NULL)) == PSTORE_ERR)
		return -2;
	if (rc != PSTORE_OK || strcmp(g.admin, pm->p->user) != 0) {
		snprintf(why, whylen, "group %s is not ours", id);
		return -1;
	}
	l = xcalloc(2, sizeof(*l));
	if (pg_list_load(pm, id, &l[1]) != 0) {
		r = -2;
		goto out;
	}
	l[0] = l[1];
	if (strcmp(from, pm->p->user) == 0 || pg_list_remove(&l[0], from) == 0) {
		snprintf(why, whylen, "%s is not a member of group %s", from, id);
		goto out;
	}
	l[0].version++;
	snprintf(l[0].key, sizeof(l[0].key), "%s", identity_key_hex(pm->p->d->id));
	if (pg_list_commit(pm, &l[0], &l[1]) != 0) {
		r = -2;
		goto out;
	}
	log_info("peer_group: %s left group %s (%s): version %lld", from, id,
	    g.title, (long long)l[0].version);
	r = 1;
out:
	free(l);
	return r;
}
