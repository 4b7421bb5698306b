/*
 * The mailbox at the peer (DESIGN.md "Mailbox", docs/MAILBOX.md): the
 * sealed deposits of our messages for offline recipients, and the fetch
 * of the mail deposited for us.
 *
 * Deposits are peer_mail_out.c's (below this file): every second, the
 * pending direct messages older than mailbox.after are sealed and put
 * for their offline recipients, and stay pending until a receipt or a
 * direct ack.
 *
 * Fetch: on every login or resume and on the gestor's pushed mbox, pages
 * of mbox-get. Each blob is opened and its signer compared with the key
 * pinned for its sender (looked up when none is); a message goes through
 * the queue's group commit like a direct one (pm_receive_mail: dedup by
 * id, message-request limits), a receipt is an ack. Only after the commit
 * are the page's deposits acknowledged (mbox-ack), so kill -9 at any
 * point fetches them again, and dedup keeps each message once. A blob
 * that does not open or verify is logged and acknowledged (dropped); the
 * sender's copy stays pending. Receipts go to senders that are offline
 * (an online sender's link delivers again and gets our direct ack).
 *
 * Calls go down only: peer_msg.c and peer.c call in; this calls the
 * deposits (peer_mail_out.c), the queue (pm_receive_mail, pm_ack), the
 * gestor link and the store, and
 * hears of commits through pm_hooks (peer_msg.c wires pm_mail_rx).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "identity.h"
#include "log.h"
#include "peer_mail_int.h"
#include "pstore_mail.h"
#include "seal.h"
#include "util.h"

static void	fetch_page(struct pmail *);
static void	prefetch(struct pmail *, int64_t);
static int64_t	last_id(json_t *);

static void	handle(struct pmail *);
static void	drop(struct pmail *, struct mitem *, const char *);
static void	count(struct pmail *);

/* ----------------------------------------------------------------- fetch */

void
pm_mail_fetch(struct peer_msgs *pm)
{
	struct pmail *ml = pm->mail;

	if (ml == NULL || !pm->p->d->cfg->mail_use || *pm_mail_me(ml) == '\0' ||
	    pm->stopping)
		return;
	if (ml->fetching) {
		ml->again = true;
		return;
	}
	ml->fetching = true;
	ml->after = 0;
	ml->held_now = 0;
	ml->left_group = 0;
	count(ml);
	fetch_page(ml);
}

static void
page_clear(struct pmail *ml)
{
	json_decref(ml->page);
	ml->page = NULL;
	free(ml->items);
	ml->items = NULL;
	ml->n = ml->next = ml->waiting = 0;
	ml->submitted = false;
	seal_msg_clear(&ml->cur);
}

/* The fetch is over; whole: it went through every page. */
static void
fetch_done(struct pmail *ml, bool whole)
{
	if (whole)
		ml->held = ml->held_now;
	page_clear(ml);
	json_decref(ml->ahead);
	ml->ahead = NULL;
	ml->want = false;
	if (ml->prefetching) {
		/* Its answer must not fall into a later fetch. */
		ml->stale = true;
		return;
	}
	pm_mail_receipts_send(ml);
	ml->fetching = false;
	if (ml->again) {
		ml->again = false;
		pm_mail_fetch(ml->pm);
	} else if (!ml->pm->stopping)
		count(ml);
}

static void
on_count(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct pmail *ml = arg;
	json_int_t n = json_integer_value(json_object_get(reply, "count"));

	if (reply != NULL && n >= 0)
		ml->at_gestor = (long)n;
	else if (reply == NULL && strcmp(code, ERR_UNKNOWN_TYPE) == 0)
		ml->at_gestor = -1;	/* a gestor that does not count */
}

/*
 * status's mail_waiting: counted by the gestor as a fetch starts and
 * ends, less what the fetch acknowledged in between.
 */
static void
count(struct pmail *ml)
{
	pm_mail_req(ml, json_pack("{s:s}", "t", "mbox-count"), on_count, ml);
}

static void
on_page(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct pmail *ml = arg;
	json_t *mail;

	if (reply == NULL) {
		if (!ml->pm->stopping)
			log_info("peer_mail: cannot fetch mail: %s: %s", code, msg);
		fetch_done(ml, false);
		return;
	}
	mail = json_object_get(reply, "mail");
	if (!json_is_array(mail) || json_array_size(mail) > WIRE_MAX_MBOX) {
		log_warnx("peer_mail: the gestor's answer to mbox-get is malformed");
		fetch_done(ml, false);
		return;
	}
	ml->more = json_is_true(json_object_get(reply, "more"));
	ml->page = json_incref(mail);
	ml->n = json_array_size(mail);
	ml->items = xcalloc(ml->n + 1, sizeof(*ml->items));
	if (ml->more && !ml->pm->stopping)
		prefetch(ml, last_id(mail));
	handle(ml);
}

static void
fetch_page(struct pmail *ml)
{
	pm_mail_req(ml, json_pack("{s:s,s:I,s:i}", "t", "mbox-get",
	    "after", (json_int_t)ml->after, "limit", MAIL_PAGE), on_page,
	    ml);
}

/* The largest id of a page (ids come in order, but do not trust it). */
static int64_t
last_id(json_t *mail)
{
	json_int_t id, max = 0;
	json_t *o;
	size_t i;

	json_array_foreach(mail, i, o)
		if ((id = json_integer_value(json_object_get(o, "id"))) > max)
			max = id;
	return (int64_t)max;
}

static void
on_ahead(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct pmail *ml = arg;

	ml->prefetching = false;
	if (ml->stale) {
		ml->stale = false;
		fetch_done(ml, false);
	} else if (ml->want) {
		ml->want = false;
		on_page(reply, code, msg, ml);
	} else if (reply != NULL)
		ml->ahead = json_incref(reply);
	/* else failed early: page_done asks again. */
}

/*
 * The next page is asked for as soon as a page arrives, so that it is
 * on its way while this one is opened and committed; it is acknowledged
 * only after its own commit, as every page.
 */
static void
prefetch(struct pmail *ml, int64_t after)
{
	if (after <= 0 || ml->prefetching || ml->ahead != NULL)
		return;
	ml->prefetching = true;
	pm_mail_req(ml, json_pack("{s:s,s:I,s:i}", "t", "mbox-get",
	    "after", (json_int_t)after, "limit", MAIL_PAGE), on_ahead, ml);
}

/* The page after the one done: fetched early, on its way, or asked now. */
static void
next_page(struct pmail *ml)
{
	json_t *reply;

	if (ml->ahead != NULL) {
		reply = ml->ahead;
		ml->ahead = NULL;
		on_page(reply, NULL, NULL, ml);
		json_decref(reply);
	} else if (ml->prefetching)
		ml->want = true;
	else
		fetch_page(ml);
}


/* Every deposit of the page is committed or refused: acknowledge. */
static void
page_done(struct pmail *ml)
{
	json_t *ids = json_array();
	size_t i;
	long acked;

	for (i = 0; i < ml->n; i++) {
		if (ml->items[i].id > ml->after)
			ml->after = ml->items[i].id;
		if (ml->items[i].outcome == 1)
			json_array_append_new(ids, json_integer(ml->items[i].id));
	}
	acked = (long)json_array_size(ids);
	if (ml->at_gestor > 0)
		ml->at_gestor -= acked < ml->at_gestor ? acked : ml->at_gestor;
	if (json_array_size(ids) > 0)
		pm_mail_req(ml, json_pack("{s:s,s:o}", "t", "mbox-ack",
		    "ids", ids), NULL, NULL);
	else
		json_decref(ids);
	pm_mail_receipts_owed(ml);
	page_clear(ml);
	if (ml->more && !ml->pm->stopping)
		next_page(ml);
	else
		fetch_done(ml, !ml->more);
}

/*
 * A group's newer list was applied (pm_hooks): group mail left in the
 * mailbox as not from a member may be taken now.
 */
void
pm_mail_list_applied(struct peer_msgs *pm)
{
	struct pmail *ml = pm->mail;

	if (ml == NULL || ml->left_group == 0)
		return;
	ml->left_group = 0;
	pm_mail_fetch(pm);
}

/* The queue committed (or refused) a message of the page (pm_hooks). */
void
pm_mail_rx(struct peer_msgs *pm, void *from, const char *id, int outcome)
{
	struct pmail *ml = pm->mail;
	struct mitem *it = from;

	it->outcome = outcome == 1 ? 1 : 0;
	if (outcome == -1 && it->group) {
		/* Not from a member of the newest list we have (a list that
		 * adds it may be on its way: fetched again when one comes). */
		log_info("peer_mail: group message or list %s from %s refused "
		    "(not from a member of the newest list we have, or a list "
		    "held): left in the mailbox", id, it->from);
		ml->left_group++;
	} else if (outcome == -1)
		log_info("peer_mail: %s from %s refused (message requests): "
		    "left in the mailbox", id, it->from);
	/*
	 * Not from here: this runs inside the queue's walk of the batch it
	 * committed, and the next page (fetched early) would add to that
	 * batch while it is walked, and be dropped with it.
	 */
	if (ml->waiting > 0 && --ml->waiting == 0 && ml->submitted)
		event_active(ml->done_ev, EV_TIMEOUT, 0);
}

/* The page's last message was committed (pm_mail_rx), a turn later. */
static void
on_page_committed(evutil_socket_t fd, short what, void *arg)
{
	struct pmail *ml = arg;

	if (ml->page != NULL && ml->submitted && ml->waiting == 0)
		page_done(ml);
}

/* The sealed message ml->cur is from its sender: commit it. */
static void
take(struct pmail *ml, struct mitem *it)
{
	struct seal_msg *m = &ml->cur;
	struct wire_msg w;

	if (m->type == SEAL_RECEIPT) {
		/* Its deposit was fetched: nothing to withdraw. Only its
		 * recipient says so: another's receipt (signed, but by
		 * anyone with an account) forgets nothing, and pm_ack
		 * marks nothing delivered. A group's row to this member is
		 * ID/member (peer_mail_group.c). */
		pmail_forget_receipt(ml->pm->p->store, m->id, m->from);
		ml->rows = pmail_rows(ml->pm->p->store);
		pm_ack(ml->pm, m->from, m->id);
		it->outcome = 1;
		return;
	}
	/* As the same frame read on a link: a msg, gmsg or gmembers. */
	if (pm_mail_wire(m, &w) != 0) {
		drop(ml, it, "cannot read it");
		return;
	}
	it->outcome = -2;
	it->msg = true;
	it->group = m->type != SEAL_MSG;
	snprintf(it->msgid, sizeof(it->msgid), "%s", m->id);
	ml->waiting++;
	pm_receive_mail(ml->pm, it, &w);
	json_decref(w.frame);
	ml->fetched++;
}

static void
drop(struct pmail *ml, struct mitem *it, const char *why)
{
	log_warnx("peer_mail: dropped deposit %lld (from %s by the gestor's "
	    "word): %s", (long long)it->id, it->from, why);
	it->outcome = 1;
	ml->dropped++;
}

enum judgement { JUDGE_TAKE, JUDGE_HOLD, JUDGE_LOOKUP };

/*
 * ml->cur is signed with key ml->curfp: take it if that is the key we
 * know for from. A contact the user verified whose key changed since is
 * held as messages to it are (peer_link.c): only its verified key is
 * taken, and mail signed with the new one waits in the mailbox for
 * `trust`. Any other key is the gestor's word (a lookup).
 */
static enum judgement
judge(struct pmail *ml, const char *from)
{
	struct pcontact c;

	if (pstore_contact_get(ml->pm->p->store, from, &c) != PSTORE_OK ||
	    *c.fingerprint == '\0')
		return JUDGE_LOOKUP;
	if (c.verified && *c.prev_fingerprint != '\0') {
		if (strcmp(c.prev_fingerprint, ml->curfp) == 0)
			return JUDGE_TAKE;
		return strcmp(c.fingerprint, ml->curfp) == 0 ? JUDGE_HOLD :
		    JUDGE_LOOKUP;
	}
	return strcmp(c.fingerprint, ml->curfp) == 0 ? JUDGE_TAKE :
	    JUDGE_LOOKUP;
}

/* Left in the mailbox, unshown, until the user trusts the new key. */
static void
hold(struct pmail *ml, struct mitem *it)
{
	log_warnx("peer_mail: deposit %lld from %s is signed with its new key "
	    "%s, not the one you verified: held in the mailbox until "
	    "'p2pchatctl trust %s'", (long long)it->id, it->from, ml->curfp,
	    it->from);
	it->outcome = 0;
	ml->held_now++;
}

static void
on_sender(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct pmail *ml = arg;
	struct mitem *it;
	const char *fp;

	if (ml->page == NULL)
		return;
	it = &ml->items[ml->next];
	if (reply == NULL) {
		/* Not known now: left in the mailbox for the next fetch. */
		log_info("peer_mail: cannot look up %s: %s: %s; its mail waits",
		    it->from, code, msg);
		it->outcome = 0;
	} else if ((fp = json_string_value(json_object_get(reply,
	    "fingerprint"))) == NULL || strcmp(fp, ml->curfp) != 0)
		drop(ml, it, "not signed with the sender's key");
	else {
		/* Pinned, or a change recorded and announced (key-changed),
		 * as a direct connection's hello would be. */
		peer_contact_update(ml->pm->p, it->from, fp,
		    json_string_value(json_object_get(reply, "addr")),
		    (int)json_integer_value(json_object_get(reply, "port")),
		    json_integer_value(json_object_get(reply, "last_seen")));
		if (judge(ml, it->from) == JUDGE_HOLD)
			hold(ml, it);
		else
			take(ml, it);
	}
	seal_msg_clear(&ml->cur);
	ml->next++;
	handle(ml);
}

/* Open and check items from ml->next on; a lookup suspends it. */
static void
handle(struct pmail *ml)
{
	const struct config *cf = ml->pm->p->d->cfg;
	unsigned char *bin;
	const char *blob, *from, *why;
	struct mitem *it;
	json_t *o;
	size_t blen, n;

	for (; ml->next < ml->n; ml->next++) {
		it = &ml->items[ml->next];
		o = json_array_get(ml->page, ml->next);
		it->id = json_integer_value(json_object_get(o, "id"));
		from = json_string_value(json_object_get(o, "from"));
		blob = json_string_value(json_object_get(o, "blob"));
		snprintf(it->from, sizeof(it->from), "%s", from != NULL ? from :
		    "?");
		if (it->id <= 0 || from == NULL || blob == NULL) {
			drop(ml, it, "malformed");
			continue;
		}
		blen = strlen(blob);
		bin = xmalloc(blen / 4 * 3 + 4);
		if (sodium_base642bin(bin, blen / 4 * 3 + 4, blob, blen, NULL, &n,
		    NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
			free(bin);
			drop(ml, it, "not base64");
			continue;
		}
		seal_msg_clear(&ml->cur);
		if (seal_open(identity_seal_key(ml->pm->p->d->id), pm_mail_me(ml), bin, n,
		    (size_t)cf->max_message_bytes, &ml->cur, ml->curfp,
		    sizeof(ml->curfp), &why) == -1) {
			free(bin);
			drop(ml, it, why);
			continue;
		}
		free(bin);
		if (strcmp(ml->cur.from, from) != 0) {
			drop(ml, it, "its sender is not the account that deposited it");
			continue;
		}
		switch (judge(ml, from)) {
		case JUDGE_TAKE:
			take(ml, it);
			continue;
		case JUDGE_HOLD:
			hold(ml, it);
			continue;
		case JUDGE_LOOKUP:
			break;
		}
		/* Not the key we know: the gestor's word. */
		pm_mail_req(ml, json_pack("{s:s,s:s}", "t", "lookup",
		    "user", from), on_sender, ml);
		return;
	}
	seal_msg_clear(&ml->cur);
	ml->submitted = true;
	if (ml->waiting == 0)
		page_done(ml);
}

/* ------------------------------------------------------------- lifecycle */

/* Every MAIL_TICK: deposits no longer needed out, those due in. */
static void
tick(evutil_socket_t fd, short what, void *arg)
{
	pm_mail_sweep(arg);
	pm_mail_round_start(arg, false);
}

int
pm_mail_start(struct peer_msgs *pm)
{
	struct pmail *ml = xcalloc(1, sizeof(*ml));
	struct timeval tv = daemon_tv(MAIL_TICK);

	ml->pm = pm;
	ml->rows = pmail_rows(pm->p->store);
	ml->at_gestor = -1;
	ml->tick = event_new(pm->p->d->base, -1, EV_PERSIST, tick, ml);
	ml->done_ev = event_new(pm->p->d->base, -1, 0, on_page_committed, ml);
	if (ml->done_ev == NULL)
		fatalx("%s: out of memory", __func__);
	if (ml->tick == NULL)
		fatalx("%s: out of memory", __func__);
	event_add(ml->tick, &tv);
	pm->mail = ml;
	return 0;
}

bool
pm_mail_stop(struct peer_msgs *pm, void (*done)(void *), void *arg)
{
	struct pmail *ml = pm->mail;

	if (ml == NULL)
		return false;
	if (ml->stopping) {
		/* Again, at the end of the grace: the link stops now, and its
		 * failed requests must not stop it from inside. */
		ml->stopped = NULL;
		ml->closed = true;
		return false;
	}
	event_del(ml->tick);
	ml->stopping = true;
	pm_mail_sweep(ml);
	pm_mail_round_start(ml, true);
	if (ml->busy == 0) {
		ml->closed = true;
		return false;
	}
	ml->stopped = done;
	ml->stopped_arg = arg;
	return true;
}

bool
pm_mail_stopping(struct peer_msgs *pm)
{
	struct pmail *ml = pm->mail;

	return ml != NULL && ml->stopping && !ml->closed && ml->busy > 0;
}

void
pm_mail_free(struct peer_msgs *pm)
{
	struct pmail *ml = pm->mail;

	if (ml == NULL)
		return;
	page_clear(ml);
	json_decref(ml->ahead);
	json_decref(ml->owed);
	event_free(ml->done_ev);
	event_free(ml->tick);
	free(ml);
	pm->mail = NULL;
}

json_t *
pm_mail_status(struct peer_msgs *pm)
{
	struct pmail *ml = pm->mail;

	bool known = ml != NULL && ml->at_gestor >= 0 && *pm->p->user != '\0';

	return json_pack("{s:o,s:I}", "mail_waiting", known ?
	    json_integer((json_int_t)ml->at_gestor) : json_null(), "mail_held",
	    (json_int_t)(ml != NULL ? ml->held : 0));
}

json_t *
pm_mail_stats(struct peer_msgs *pm)
{
	struct pmail *ml = pm->mail;

	return json_pack("{s:I,s:I,s:I}", "mail_deposited", (json_int_t)
	    (ml != NULL ? ml->deposited : 0), "mail_fetched", (json_int_t)
	    (ml != NULL ? ml->fetched : 0), "mail_dropped", (json_int_t)
	    (ml != NULL ? ml->dropped : 0));
}
