/*
 * Groups through the mailbox (DESIGN.md "Groups": a group message goes to
 * each member over that member's own link, "or through the mailbox when
 * it is on"). A group message or list waiting for an offline member is a
 * delivery row MSGID/MEMBER (pstore_group.h); it is deposited for that
 * member like a direct message, sealed as a "gmsg" (group, from, ts, body,
 * id), a "gmembers" (the admin's signed list and its signature) or a
 * "gleave" (a member leaving, for the admin, who is offline): the
 * gestor sees the usual header (recipient, sender, size, time) and learns
 * nothing of the group. Fetched, it goes through the group commit as the
 * same frame read on a link would (peer_queue.c group_rx): a list is
 * checked against its admin's key and applied if newer, a message is
 * taken only from a member of the newest list we have, by id once and in
 * its sender's order.
 *
 * This file says what a deposit seals (called by peer_mail_out.c) and
 * what a fetched blob is as a frame (called by peer_mail.c); it calls
 * only the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer_mail_int.h"
#include "pstore_mail.h"
#include "util.h"

int
pm_mail_fill(struct pmail *ml, const char *id, struct seal_msg *sm)
{
	enum pmsg_kind kind;
	enum pstore_rc rc;
	char *body, *sig;
	size_t len;

	rc = pmsg_sealable(ml->pm->ms, id, &kind, sm->group, &sm->ts, &body,
	    &len, &sig);
	if (rc != PSTORE_OK) {
		if (rc == PSTORE_ERR)
			log_warnx("peer_mail: cannot read %s to deposit it", id);
		return -1;
	}
	sm->type = kind == PMSG_GMSG ? SEAL_GMSG : kind == PMSG_GLIST ?
	    SEAL_GMEMBERS : kind == PMSG_GLEAVE ? SEAL_GLEAVE : SEAL_MSG;
	if (kind != PMSG_GMSG && kind != PMSG_GLEAVE)
		sm->group[0] = '\0';
	/* A group row's id is MSGID/MEMBER: the member acks MSGID. */
	snprintf(sm->id, sizeof(sm->id), "%.*s", P2P_MSGID_HEX, id);
	sm->body = body;
	sm->body_len = len;
	sm->sig = sig;
	return 0;
}

void
pm_mail_fill_free(struct seal_msg *sm)
{
	if (sm->type == SEAL_RECEIPT)
		return;		/* nothing filled: its body is a static "" */
	if (sm->body != NULL) {
		util_zero(sm->body, sm->body_len);
		free(sm->body);
	}
	free(sm->sig);
	sm->body = NULL;
	sm->sig = NULL;
}

int
pm_mail_wire(const struct seal_msg *m, struct wire_msg *w)
{
	memset(w, 0, sizeof(*w));
	switch (m->type) {
	case SEAL_MSG:
		w->type = W_MSG;
		w->frame = json_pack("{s:s,s:s,s:s%}", "id", m->id, "from",
		    m->from, "body", m->body, m->body_len);
		break;
	case SEAL_GMSG:
		w->type = W_GMSG;
		w->frame = json_pack("{s:s,s:s,s:s%,s:s}", "id", m->id, "from",
		    m->from, "body", m->body, m->body_len, "group", m->group);
		break;
	case SEAL_GLEAVE:
		w->type = W_GLEAVE;
		w->frame = json_pack("{s:s,s:s,s:s,s:s}", "id", m->id, "from",
		    m->from, "body", "", "group", m->group);
		break;
	case SEAL_GMEMBERS:
		w->type = W_GMEMBERS;
		w->frame = json_pack("{s:s,s:s,s:s%,s:s}", "id", m->id, "from",
		    m->from, "body", m->body, m->body_len, "sig", m->sig);
		break;
	default:
		return -1;
	}
	if (w->frame == NULL)
		return -1;
	w->u.msg.id = json_string_value(json_object_get(w->frame, "id"));
	w->u.msg.from = json_string_value(json_object_get(w->frame, "from"));
	w->u.msg.body = json_string_value(json_object_get(w->frame, "body"));
	w->u.msg.body_len = m->body_len;
	w->u.msg.ts = m->ts;
	w->u.msg.group = json_string_value(json_object_get(w->frame, "group"));
	w->u.msg.sig = json_string_value(json_object_get(w->frame, "sig"));
	return 0;
}

json_t *
pm_mail_event(struct pmail *ml, const char *user, const char *id)
{
	char mid[P2P_MSGID_HEX + 1];
	struct pmsg m;
	json_t *ev;

	snprintf(mid, sizeof(mid), "%.*s", P2P_MSGID_HEX, id);
	ev = json_pack("{s:s,s:s}", "user", user, "id", mid);
	if (strchr(id, '/') != NULL && pmsg_get(ml->pm->ms, id, &m, NULL) ==
	    PSTORE_OK && *m.group != '\0')
		json_object_set_new(ev, "group", json_string(m.group));
	return ev;
}
