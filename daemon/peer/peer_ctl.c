/*
 * Control commands for messages: chats, history, pending, trust, watch,
 * stats (send, wait and cancel: peer_state.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "log.h"
#include "peer_group.h"
#include "peer_msg.h"
#include "pstore_file.h"
#include "pstore_mail.h"
#include "util.h"
#include "valid.h"

#define HISTORY_DEFAULT	50
#define HISTORY_MS	"_ms"	/* the sort key while merging, then removed */
#define PREVIEW_CHARS	40


struct hist_rows {
	struct peer_msgs	*pm;
	json_t			*items;
};

static int
add_history(const struct pmsg *m, void *arg)
{
	struct hist_rows *h = arg;

	json_array_append_new(h->items, json_pack("{s:o,s:s,s:s,s:s,s:s%,s:I}",
	    "ts", peer_iso(m->ts_sent / 1000), "direction", m->outgoing ? "out" : "in",
	    "state", pmail_state(h->pm->p->store, m, NULL, 0), "id", m->id,
	    "text", m->body, m->body_len, HISTORY_MS, (json_int_t)m->ts_sent));
	return 0;
}

/* A file in a chat's history: kind file, its name, size and sha256. */
static int
add_file_history(const struct pfile *f, void *arg)
{
	char text[PFILE_NAME_MAX + 128];

	snprintf(text, sizeof(text), "[file] %s (%lld bytes)", f->name,
	    (long long)f->size);
	json_array_append_new(arg, json_pack("{s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:I,"
	    "s:s,s:I}", "ts", peer_iso(f->ts / 1000), "direction", f->outgoing ?
	    "out" : "in", "state", f->state, "id", f->id, "text", text, "kind",
	    "file", "name", f->name, "size", (json_int_t)f->size, "sha256",
	    f->sha256, HISTORY_MS, (json_int_t)f->ts));
	return 0;
}

/*
 * The last limit of a chat's messages and files, oldest first: both lists
 * are in time order, merged by time (a message first on a tie).
 */
static json_t *
merge_history(json_t *msgs, json_t *files, int limit)
{
	json_t *all = json_array(), *a, *b;
	size_t i = 0, j = 0, n, skip;

	while (i < json_array_size(msgs) || j < json_array_size(files)) {
		a = json_array_get(msgs, i);
		b = json_array_get(files, j);
		if (b == NULL || (a != NULL && json_integer_value(json_object_get(a,
		    HISTORY_MS)) <= json_integer_value(json_object_get(b,
		    HISTORY_MS)))) {
			json_array_append(all, a);
			i++;
		} else {
			json_array_append(all, b);
			j++;
		}
	}
	n = json_array_size(all);
	skip = limit >= 0 && n > (size_t)limit ? n - (size_t)limit : 0;
	while (skip-- > 0)
		json_array_remove(all, 0);
	json_array_foreach(all, i, a)
		json_object_del(a, HISTORY_MS);
	json_decref(msgs);
	json_decref(files);
	return all;
}

struct ghist {
	struct peer_msgs	*pm;
	json_t			*items;
};

/* A group's message: its sender, and for ours the members' state. */
static int
add_group_history(const struct pmsg *m, void *arg)
{
	struct ghist *h = arg;
	struct pmsg agg;
	const char *state = m->state;

	if (m->outgoing && pmsg_get(h->pm->ms, m->id, &agg, NULL) == PSTORE_OK)
		state = agg.state;
	json_array_append_new(h->items, json_pack("{s:o,s:s,s:s,s:s,s:s,s:s%}",
	    "ts", peer_iso(m->ts_sent / 1000), "from", m->peer, "direction",
	    m->outgoing ? "out" : "in", "state", state, "id", m->id, "text",
	    m->body, m->body_len));
	return 0;
}

static void
group_history(struct ctlreq *r, struct peer_msgs *pm, const char *what,
    int limit)
{
	struct ghist h = { pm, NULL };
	struct pgroup g;

	if (pg_find_group(pm, r, what, &g) != 0)
		return;
	h.items = json_array();
	if (pmsg_group_history(pm->ms, g.id, limit, add_group_history, &h) !=
	    PSTORE_OK) {
		json_decref(h.items);
		ctlreq_error(r, ERR_INTERNAL, "cannot read the history");
		return;
	}
	ctlreq_reply(r, json_pack("{s:o,s:{s:s,s:s}}", "items", h.items, "group",
	    "id", g.id, "title", g.title));
}

void
peer_ctl_history(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	const char *user = json_string_value(json_object_get(args, "user"));
	const char *group = json_string_value(json_object_get(args, "group"));
	json_t *lim = json_object_get(args, "limit"), *items, *files, *res;
	int limit = lim != NULL ? (int)json_integer_value(lim) : HISTORY_DEFAULT;
	struct pcontact c;
	struct hist_rows hr;

	if (lim != NULL && json_integer_value(lim) > 1000000)
		limit = 1000000;
	if ((user == NULL) == (group == NULL)) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "history takes a USER or "
		    "--group GROUP");
		return;
	}
	if (group != NULL) {
		group_history(r, pm, group, limit);
		return;
	}
	items = json_array();
	files = json_array();
	hr.pm = pm;
	hr.items = items;
	if (pmsg_history(pm->ms, user, limit, add_history, &hr) != PSTORE_OK ||
	    pfile_foreach(pm->files, user, add_file_history, files) !=
	    PSTORE_OK) {
		json_decref(items);
		json_decref(files);
		ctlreq_error(r, ERR_INTERNAL, "cannot read the history");
		return;
	}
	res = json_pack("{s:o}", "items", merge_history(items, files, limit));
	if (pstore_contact_get(pm->p->store, user, &c) == PSTORE_OK &&
	    *c.prev_fingerprint != '\0')
		json_object_set_new(res, "warning", json_pack("s+++", user,
		    "'s key changed; compare fingerprints (p2pchatctl fingerprint ",
		    user, ") and run trust"));
	ctlreq_reply(r, res);
}

/* The first PREVIEW_CHARS characters of body, whole UTF-8 sequences only. */
static json_t *
preview(const char *body)
{
	size_t n = 0, chars = 0;

	if (body == NULL)
		return json_null();
	while (body[n] != '\0' && chars < PREVIEW_CHARS) {
		n++;
		while (((unsigned char)body[n] & 0xc0) == 0x80)
			n++;
		chars++;
	}
	return json_stringn(body, n);
}

/* A group's chat (key "#" id) shows its title as user. */
static int
add_chat(const char *peer, long unread, int64_t last, const char *body,
    bool request, void *arg)
{
	struct ghist *h = arg;
	struct pgroup g;
	json_t *row;

	if (*peer == '#' && pgroup_get(h->pm->groups, peer + 1, &g, NULL,
	    NULL) != PSTORE_OK)
		return 0;
	row = json_pack("{s:s,s:i,s:o,s:o,s:b,s:s}", "user", *peer == '#' ?
	    g.title : peer, "unread", (int)unread, "last_activity",
	    peer_iso(last / 1000), "preview", preview(body), "request", request,
	    "kind", *peer == '#' ? "group" : "direct");
	if (*peer == '#')
		json_object_set_new(row, "group", json_string(g.id));
	json_array_append_new(h->items, row);
	return 0;
}

void
peer_ctl_chats(struct ctlreq *r, json_t *args, void *ctx)
{
	struct ghist h = { pm_of_ctx(ctx), json_array() };
	json_t *items = h.items;

	if (pmsg_chats(h.pm->ms, add_chat, &h) != PSTORE_OK) {
		json_decref(items);
		ctlreq_error(r, ERR_INTERNAL, "cannot read the chats");
		return;
	}
	ctlreq_reply(r, json_pack("{s:o}", "items", items));
}

struct pending_rows {
	struct peer_msgs	*pm;
	json_t			*items;
};

/*
 * A direct message due for the mailbox (pending mailbox.after) that no
 * deposit round could take because the gestor is not reachable: said.
 */
static bool
mail_unreachable(struct peer_msgs *pm, const struct pmsg *m)
{
	const struct config *cf = pm->p->d->cfg;

	return cf->mail_use && *pm->p->user != '\0' && m->outgoing &&
	    (*m->group == '\0' || m->ref != 0) &&
	    strcmp(m->state, "pending") == 0 &&
	    util_now_ms() - m->ts_sent >= (int64_t)(cf->mail_after * 1000) &&
	    pgestor_state(pm->p->pg) != PG_ONLINE;
}

static int
add_pending(const struct ppending *p, void *arg)
{
	struct pending_rows *pr = arg;
	bool held = strcmp(p->msg->state, "held") == 0;
	char why[PMSG_REASON_MAX + 8], mreason[PMSG_REASON_MAX] = "";
	json_t *row;

	const char *state = pmail_state(pr->pm->p->store, p->msg, mreason,
	    sizeof(mreason));

	snprintf(why, sizeof(why), "%s%s", held ? "held: " : "", held &&
	    *p->msg->reason ? p->msg->reason : *mreason ? mreason :
	    strcmp(state, "deposited") == 0 ? "deposited: in the recipient's "
	    "mailbox at the gestor" : *p->reason ? p->reason : held ? "key changed" :
	    "queued");
	if (*mreason == '\0' && mail_unreachable(pr->pm, p->msg))
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "; not "
		    "deposited: the gestor is not reachable");
	/* A group's list on its way to a member shows as such, not its text. */
	row = json_pack("{s:s,s:s,s:i,s:o,s:s,s:s,s:s%}",
	    "id", p->msg->id, "user", p->msg->peer, "attempts", p->attempts,
	    "next_try", peer_iso(p->next_try / 1000), "reason", why,
	    "state", state, "text", p->msg->ref == -1 ? "(group list)" :
	    p->msg->ref < 0 ? "(leaving the group)" : p->msg->body,
	    p->msg->ref == -1 ? strlen("(group list)") : p->msg->ref < 0 ?
	    strlen("(leaving the group)") : p->msg->body_len);
	if (*p->msg->group != '\0')
		json_object_set_new(row, "group", json_string(p->msg->group));

	json_object_update_new(row, peer_route_json(pr->pm, p->msg->peer));
	json_array_append_new(pr->items, row);
	return 0;
}

void
peer_ctl_pending(struct ctlreq *r, json_t *args, void *ctx)
{
	struct pending_rows pr = { pm_of_ctx(ctx), json_array() };

	if (pmsg_pending_all(pr.pm->ms, add_pending, &pr) != PSTORE_OK) {
		json_decref(pr.items);
		ctlreq_error(r, ERR_INTERNAL, "cannot read the queue");
		return;
	}
	ctlreq_reply(r, json_pack("{s:o}", "items", pr.items));
}

void
peer_ctl_trust(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	const char *user = json_string_value(json_object_get(args, "user"));
	const char *fp = json_string_value(json_object_get(args, "fingerprint"));
	struct pcontact c;

	if (pstore_contact_get(pm->p->store, user, &c) != PSTORE_OK ||
	    *c.fingerprint == '\0') {
		ctlreq_error(r, ERR_NO_SUCH_USER, "no such user: %s (no key known "
		    "for it here; run lookup %s first)", user, user);
		return;
	}
	if (fp != NULL && strcmp(fp, c.fingerprint) != 0) {
		ctlreq_error(r, ERR_KEY_MISMATCH, "%s's key is %s, not %s", user,
		    c.fingerprint, fp);
		return;
	}
	c.verified = true;
	*c.prev_fingerprint = '\0';
	pm->pending_gen++;	/* held messages become pending */
	/* Trusting someone also accepts their message requests. */
	if (pstore_contact_put(pm->p->store, &c) != PSTORE_OK ||
	    pmsg_hold(pm->ms, user, false) != PSTORE_OK ||
	    preq_accept(pm->requests, user) != PSTORE_OK) {
		ctlreq_error(r, ERR_INTERNAL, "cannot store the contact");
		return;
	}
	log_info("peer_ctl: %s's key %s marked verified", user, c.fingerprint);
	pm_kick(pm, user, true);
	pm_mail_fetch(pm);	/* mail left in the mailbox for the old key */
	ctlreq_reply(r, json_pack("{s:s,s:s,s:b}", "user", user, "fingerprint",
	    c.fingerprint, "verified", 1));
}

static int
replay_one(int64_t seq, const char *type, const char *data, void *arg)
{
	json_t *line = pm_event_line(seq, type, data);

	ctlreq_stream(arg, line);
	json_decref(line);
	return 0;
}

void
peer_ctl_watch(struct ctlreq *r, json_t *args, void *ctx)
{
	json_t *since = json_object_get(args, "since");

	/* --since now: nothing stored, only what happens from now on. */
	if (since != NULL && json_is_integer(since) &&
	    pmsg_events_since(pm_of_ctx(ctx)->ms,
	    json_integer_value(since), replay_one, r) != PSTORE_OK) {
		ctlreq_error(r, ERR_INTERNAL, "cannot read the stored events");
		return;
	}
	ctlreq_subscribe(r);
	ctlreq_reply(r, NULL);
}

/*
 * One meaning per name: plain names count since this start (events),
 * pending and held are the queue now, *_total count the whole store
 * (kept across restarts), connections_* are open now.
 */
void
peer_ctl_stats(struct ctlreq *r, json_t *args, void *ctx)
{
	struct daemon *d = ctx;
	struct peer_msgs *pm = d->peer->msgs;
	const struct pm_stats *s = &pm->stats;
	int links = pm_links_ready(pm);
	json_t *o;

	o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
	    "s:I,s:I,s:I,s:i,s:i,s:I}",
	    "uptime", (json_int_t)(util_mono() - d->started),
	    "sent", (json_int_t)s->sent,
	    "received", (json_int_t)s->received,
	    "delivered", (json_int_t)s->delivered,
	    "failed", (json_int_t)s->failed,
	    "cancelled", (json_int_t)s->cancelled,
	    "expired", (json_int_t)s->expired,
	    "retries", (json_int_t)s->retries,
	    "duplicates", (json_int_t)s->duplicates,
	    "pending", (json_int_t)pmsg_count(pm->ms, "pending"),
	    "held", (json_int_t)pmsg_count(pm->ms, "held"),
	    "failed_total", (json_int_t)pmsg_count(pm->ms, "failed"),
	    "cancelled_total", (json_int_t)pmsg_count(pm->ms, "cancelled"),
	    "expired_total", (json_int_t)pmsg_count(pm->ms, "expired"),
	    "connections_out", links, "connections_in", pm->nins,
	    "requests_refused", (json_int_t)s->requests_refused);
	json_object_update_new(o, pm_mail_stats(pm));
	ctlreq_reply(r, o);
}
