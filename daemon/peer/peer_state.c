/*
 * Outgoing messages from the control socket to their end. A send is
 * admitted first: when the gestor can answer, it is asked whether a
 * recipient we never heard of exists (no_such_user: refused, nothing
 * stored), and sends keep their arrival order while such a lookup is
 * out. A stored message ends delivered (peer_queue.c), or failed,
 * cancelled or expired (peer_end.c stores and tells each end): `cancel`
 * ends the ones not yet in flight, and one timer ends the messages that
 * passed their expiry (send --ttl, retry.ttl); the delivery queue never
 * sends an expired message.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "log.h"
#include "peer_group.h"
#include "peer_msg.h"
#include "util.h"

/* A send waiting for its turn (and maybe for the gestor's lookup). */
struct presend {
	TAILQ_ENTRY(presend)	 entry;
	struct peer_msgs	*pm;
	struct ctlreq		*r;
	struct pmsg		 m;
	char			*body;
	bool			 wait;
	double			 timeout;
	bool			 ready;		/* may go to the group commit */
	bool			 no_user;	/* the gestor says: no such user */
	bool			 asking;	/* its lookup is out */
	bool			 rides;		/* waits for an earlier send's lookup */
};

static void	on_expiry(evutil_socket_t, short, void *);



/* ------------------------------------------------------------------ send */

/* Send every admitted send at the head of the line, in order. */
static void
presends_drain(struct peer_msgs *pm)
{
	struct presend *ps;

	while ((ps = TAILQ_FIRST(&pm->presends)) != NULL && ps->ready) {
		TAILQ_REMOVE(&pm->presends, ps, entry);
		if (pm->stopping)
			ctlreq_error(ps->r, ERR_GESTOR_UNAVAILABLE, "the daemon is "
			    "shutting down; nothing stored");
		else if (ps->no_user)
			ctlreq_error_obj(ps->r, ERR_NO_SUCH_USER, json_pack("{s:s}",
			    "user", ps->m.peer), "no such user: %s (the gestor "
			    "knows no such account); nothing stored", ps->m.peer);
		else
			pm_send(pm, ps->r, &ps->m, ps->wait, ps->timeout);
		free(ps->body);
		free(ps);
	}
}

/* The send whose lookup of user is out (one at most), or NULL. */
static struct presend *
lookup_out(struct peer_msgs *pm, const char *user)
{
	struct presend *ps;

	TAILQ_FOREACH(ps, &pm->presends, entry)
		if (ps->asking && strcmp(ps->m.peer, user) == 0)
			return ps;
	return NULL;
}

/*
 * The gestor's answer on a recipient is every waiting send's to it: a
 * burst of sends to a recipient never heard of asks once (it asked once
 * per send: 1 026 lookups for make bench's first 20 000, each answer
 * parsed, and the account's lookups spent on one name).
 */
static void
on_send_lookup(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct presend *ps = arg, *o;
	bool no_user = reply == NULL && code != NULL &&
	    strcmp(code, ERR_NO_SUCH_USER) == 0;

	ps->ready = true;
	ps->asking = false;
	ps->no_user = no_user;
	TAILQ_FOREACH(o, &ps->pm->presends, entry)
		if (o->rides && strcmp(o->m.peer, ps->m.peer) == 0) {
			o->rides = false;
			o->ready = true;
			o->no_user = no_user;
		}
	if (reply != NULL && !ps->pm->stopping)
		peer_contact_update(ps->pm->p, ps->m.peer,
		    json_string_value(json_object_get(reply, "fingerprint")),
		    json_string_value(json_object_get(reply, "addr")),
		    (int)json_integer_value(json_object_get(reply, "port")),
		    json_integer_value(json_object_get(reply, "last_seen")));
	presends_drain(ps->pm);
}

/*
 * Held at once if the contact's verified key changed; true if the
 * gestor should first say whether an unknown recipient exists.
 */
static bool
send_admit(struct peer_msgs *pm, struct pmsg *m)
{
	struct pcontact c;

	if (pstore_contact_get(pm->p->store, m->peer, &c) == PSTORE_OK &&
	    *c.fingerprint != '\0') {
		if (c.verified && *c.prev_fingerprint != '\0') {
			snprintf(m->state, sizeof(m->state), "held");
			pmsg_held_reason(m->peer, m->reason, sizeof(m->reason));
		}
		return false;
	}
	return pgestor_state(pm->p->pg) == PG_ONLINE;
}

/* A send request's arguments, from its JSON args or read hot. */
struct send_args {
	const char	*user, *group, *text, *id;
	size_t		 text_len;
	bool		 has_ttl, wait;
	double		 ttl, timeout;
};

static void
send_core(struct ctlreq *r, struct peer_msgs *pm, const struct send_args *a)
{
	const char *user = a->user, *group = a->group;
	struct presend *ps;
	struct pgroup g;
	double secs;

	if (*pm->p->user == '\0') {
		ctlreq_error(r, ERR_NOT_LOGGED_IN, "not logged in; run login first");
		return;
	}
	if ((user == NULL) == (group == NULL)) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "send takes a USER or "
		    "--group GROUP");
		return;
	}
	if (group != NULL) {
		if (pg_find_group(pm, r, group, &g) != 0)
			return;
		if (!g.member) {
			ctlreq_error_obj(r, ERR_NOT_MEMBER, json_pack("{s:s}",
			    "group", g.id), "you are not a member of group %s (%s); "
			    "nothing sent", g.title, g.id);
			return;
		}
		user = pm->p->user;	/* a group message's row is ours */
	} else if (strcmp(user, pm->p->user) == 0) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "cannot send to yourself");
		return;
	}
	ps = xcalloc(1, sizeof(*ps));
	ps->pm = pm;
	ps->r = r;
	if (a->id != NULL)
		snprintf(ps->m.id, sizeof(ps->m.id), "%s", a->id);
	else
		pg_new_id(ps->m.id);
	snprintf(ps->m.peer, sizeof(ps->m.peer), "%s", user);
	if (group != NULL)
		snprintf(ps->m.group, sizeof(ps->m.group), "%s", g.id);
	ps->m.outgoing = true;
	ps->m.body_len = a->text_len;
	ps->body = xmalloc(ps->m.body_len + 1);
	memcpy(ps->body, a->text, ps->m.body_len);
	ps->body[ps->m.body_len] = '\0';
	ps->m.body = ps->body;
	ps->m.ts_sent = util_now_ms();
	snprintf(ps->m.state, sizeof(ps->m.state), "pending");
	secs = a->has_ttl ? a->ttl : pm->p->d->cfg->retry_ttl;
	if (secs > 0)
		ps->m.expires = ps->m.ts_sent + (int64_t)ceil(secs * 1000);
	ps->wait = a->wait;
	ps->timeout = a->timeout;
	TAILQ_INSERT_TAIL(&pm->presends, ps, entry);
	/* A group's members were looked up when they were added. */
	if (group == NULL && send_admit(pm, &ps->m)) {
		if (lookup_out(pm, user) != NULL)
			ps->rides = true;
		else {
			ps->asking = true;
			pgestor_request(pm->p->pg, json_pack("{s:s,s:s}", "t",
			    "lookup", "user", user), true, on_send_lookup, ps);
		}
	} else
		ps->ready = true;
	presends_drain(pm);
}

void
peer_ctl_send(struct ctlreq *r, json_t *args, void *ctx)
{
	json_t *text = json_object_get(args, "text");
	json_t *ttl = json_object_get(args, "ttl");
	json_t *wait = json_object_get(args, "wait");
	struct send_args a = {
		.user = json_string_value(json_object_get(args, "user")),
		.group = json_string_value(json_object_get(args, "group")),
		.text = json_string_value(text),
		.text_len = json_string_length(text),
		.id = json_string_value(json_object_get(args, "id")),
		.has_ttl = ttl != NULL,
		.ttl = json_number_value(ttl),
		.wait = wait != NULL,
		.timeout = json_number_value(wait),
	};

	send_core(r, pm_of_ctx(ctx), &a);
}

/* The same request read without a JSON tree (ctlsock.h, wire_hot.c). */
void
peer_ctl_send_hot(struct ctlreq *r, const struct ctl_hot_send *h, void *ctx)
{
	struct send_args a = {
		.user = h->user,
		.text = h->text,
		.text_len = h->text_len,
		.id = h->id,
		.has_ttl = h->has_ttl,
		.ttl = h->ttl,
	};

	send_core(r, pm_of_ctx(ctx), &a);
}

/* On a ready link, sent and not yet acknowledged: too late to stop it. */
static bool
in_flight(struct peer_msgs *pm, const struct pmsg *m)
{
	return pm_link_in_flight(pm, m->peer, m->seq);
}

/* A member's delivery of a group message still open (pending, held). */
struct gopen {
	char	 user[P2P_USERNAME_MAX + 1];
	int64_t	 seq;
};

struct gopens {
	struct gopen	*v;
	size_t		 n;
};

static int
collect_open(const char *user, int64_t seq, const char *state,
    const char *reason, void *arg)
{
	struct gopens *o = arg;

	if ((strcmp(state, "pending") != 0 && strcmp(state, "held") != 0) ||
	    o->n == PG_MEMBERS_MAX)
		return 0;
	snprintf(o->v[o->n].user, sizeof(o->v[0].user), "%s", user);
	o->v[o->n++].seq = seq;
	return 0;
}

/*
 * Cancel a message to a group for every member it has not reached: not
 * for those it was sent to on a ready link and waits for their ack (too
 * late there, as for a message to one user).
 */
static void
cancel_group(struct peer_msgs *pm, const struct pmsg *m, const char **why)
{
	struct gopens o = { xcalloc(PG_MEMBERS_MAX, sizeof(*o.v)), 0 };
	char rowid[P2P_MSGID_HEX + P2P_USERNAME_MAX + 2];
	struct pmsg row;
	size_t i, busy = 0;

	if (pgroup_deliveries(pm->groups, m->id, collect_open, &o) != PSTORE_OK)
		*why = "cannot read the store (see the daemon's log)";
	for (i = 0; i < o.n && *why == NULL; i++) {
		if (pm_link_in_flight(pm, o.v[i].user, o.v[i].seq)) {
			busy++;
			continue;
		}
		row = *m;
		snprintf(row.peer, sizeof(row.peer), "%s", o.v[i].user);
		row.seq = o.v[i].seq;
		row.ref = m->seq;
		if (pm_finish_row(pm, &row, "cancelled", "cancelled by the user") ==
		    PSTORE_ERR)
			*why = "cannot store the change (see the daemon's log)";
		else {
			/* Deposited for that member: out of its mailbox. */
			snprintf(rowid, sizeof(rowid), "%s/%s", m->id, row.peer);
			pm_mail_withdraw(pm, rowid);
		}
	}
	if (busy > 0 && *why == NULL)
		*why = "already sent to some members, waiting for their "
		    "acknowledgement";
	free(o.v);
}

/* Cancel one message; its item ({id,state,reason}), NULL if too late. */
static json_t *
cancel_one(struct peer_msgs *pm, const char *id, const char **why)
{
	struct pmsg m;

	if (pmsg_get(pm->ms, id, &m, NULL) != PSTORE_OK)
		return NULL;
	if (strcmp(m.state, "delivered") == 0)
		*why = "already delivered";
	else if (*m.group != '\0' && m.ref == 0)
		cancel_group(pm, &m, why);
	else if (in_flight(pm, &m))
		*why = "already sent, waiting for the recipient's acknowledgement";
	else if (!pm_state_is_end(m.state) &&
	    pm_finish(pm, id, "cancelled", "cancelled by the user") == PSTORE_ERR)
		*why = "cannot store the change (see the daemon's log)";
	else if (!pm_state_is_end(m.state))
		pm_mail_withdraw(pm, id);	/* deposited: out of the mailbox */
	if (pmsg_get(pm->ms, id, &m, NULL) != PSTORE_OK)
		return NULL;
	return json_pack("{s:s,s:s,s:s?}", "id", id, "state", m.state, "reason",
	    *why != NULL ? *why : *m.reason ? m.reason : NULL);
}

void
peer_ctl_cancel(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	json_t *ids = json_object_get(args, "ids"), *items, *v, *bad = NULL;
	const char *why;
	struct pmsg m;
	size_t i;

	json_array_foreach(ids, i, v) {
		if ((pmsg_get(pm->ms, json_string_value(v), &m, NULL) != PSTORE_OK ||
		    !m.outgoing) && !pm_ftx_is_file(pm, json_string_value(v))) {
			ctlreq_error_obj(r, "unknown_id", json_pack("{s:O}", "id", v),
			    "no sent message with id %s", json_string_value(v));
			return;
		}
	}
	items = json_array();
	json_array_foreach(ids, i, v) {
		why = NULL;
		if (pm_ftx_is_file(pm, json_string_value(v)))
			json_array_append_new(items, pm_ftx_cancel_one(pm,
			    json_string_value(v), &why));
		else
			json_array_append_new(items, cancel_one(pm,
			    json_string_value(v), &why));
		if (why != NULL && bad == NULL)
			bad = json_array_get(items, i);
	}
	pm_expiry_arm(pm);
	if (bad == NULL) {
		ctlreq_reply(r, json_pack("{s:o}", "items", items));
		return;
	}
	ctlreq_error_obj(r, "too_late", json_pack("{s:O,s:O}", "id",
	    json_object_get(bad, "id"), "items", items), "%s: %s",
	    json_string_value(json_object_get(bad, "id")),
	    json_string_value(json_object_get(bad, "reason")));
	json_decref(items);
}

/* ---------------------------------------------------------------- expiry */

void
pm_expiry_arm(struct peer_msgs *pm)
{
	int64_t when;
	double delay;
	struct timeval tv;

	if (pmsg_next_expiry(pm->ms, &when) != PSTORE_OK || when == 0) {
		evtimer_del(pm->expiry_ev);
		return;
	}
	delay = fmax(0, (double)(when - util_now_ms()) / 1000.0);
	tv = daemon_tv(delay);
	evtimer_add(pm->expiry_ev, &tv);
}

struct expiring {
	struct peer_msgs	*pm;
	bool			 busy;	/* one was in flight: look again */
};

static int
expire_one(const struct pmsg *m, void *arg)
{
	struct expiring *e = arg;
	char why[96];

	if (in_flight(e->pm, m)) {
		e->busy = true;
		return 0;
	}
	snprintf(why, sizeof(why), "not delivered within its ttl (%.3g s)",
	    (double)(m->expires - m->ts_sent) / 1000.0);
	pm_finish_row(e->pm, m, "expired", why);
	return 0;
}

static void
on_expiry(evutil_socket_t fd, short what, void *arg)
{
	struct expiring e = { arg, false };
	struct timeval again = { 1, 0 };

	pmsg_expired(e.pm->ms, util_now_ms(), expire_one, &e);
	if (e.busy)
		evtimer_add(e.pm->expiry_ev, &again);
	else
		pm_expiry_arm(e.pm);
}

/* ------------------------------------------------------------- lifecycle */

void
pm_state_init(struct peer_msgs *pm)
{
	TAILQ_INIT(&pm->presends);
	if ((pm->expiry_ev = evtimer_new(pm->p->d->base, on_expiry, pm)) == NULL)
		fatalx("%s: out of memory", __func__);
	pm_expiry_arm(pm);
}

void
pm_state_free(struct peer_msgs *pm)
{
	struct presend *ps;

	while ((ps = TAILQ_FIRST(&pm->presends)) != NULL) {
		TAILQ_REMOVE(&pm->presends, ps, entry);
		free(ps->body);
		free(ps);
	}
	if (pm->expiry_ev != NULL)
		event_free(pm->expiry_ev);
}
