/*
 * The mailbox at the peer (DESIGN.md "Mailbox", docs/MAILBOX.md): the
 * sealed deposits of our messages for offline recipients, and the fetch
 * of the mail deposited for us.
 *
 * Deposits: every second, the pending direct messages older than
 * mailbox.after (all of them when the daemon stops) are grouped by
 * recipient; each recipient is looked up, and one that is offline and
 * takes mail for the key we pinned gets its messages sealed (seal.c) and
 * put, in order. A deposit is noted in mail_out: the message stays
 * pending (shown as 'deposited') until a receipt or a direct ack makes
 * it delivered. A refusal is noted with its reason and tried again later.
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
 * queue (pm_receive_mail, pm_ack), the gestor link and the store, and
 * hears of commits through pm_hooks (peer_msg.c wires pm_mail_rx).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "identity.h"
#include "log.h"
#include "peer_msg.h"
#include "pstore_mail.h"
#include "seal.h"
#include "util.h"

#define MAIL_PAGE	64	/* deposits fetched at once */
#define MAIL_PEERS	32	/* recipients looked up in one round */
#define MAIL_ROUND	512	/* deposits in one round */
#define MAIL_TICK	1.0	/* seconds between rounds */

/* A deposit of the page being fetched. */
struct mitem {
	int64_t	 id;
	char	 from[P2P_USERNAME_MAX + 1];
	char	 msgid[P2P_MSGID_HEX + 1];
	int	 outcome;	/* -2 in the queue, 1 ack it, 0 keep it */
	bool	 msg;		/* a message: a receipt is owed */
};

/* A recipient of a deposit round and its messages' ids, in order. */
struct mpeer {
	struct pmail	*ml;
	char		 user[P2P_USERNAME_MAX + 1];
	json_t		*ids;
	size_t		 next;		/* the one being put */
	unsigned char	 pk[SEAL_PK_LEN];
};

struct pmail {
	struct peer_msgs	*pm;
	struct event		*tick;
	/* fetch */
	bool			 fetching, again;
	int64_t			 after;
	bool			 more;
	json_t			*page;
	struct mitem		*items;
	size_t			 n, next, waiting;
	bool			 submitted;
	struct seal_msg		 cur;		/* waiting for its sender's lookup */
	char			 curfp[P2P_FP_LEN + 1];
	/* deposits */
	int			 busy;		/* requests in flight (a stop waits) */
	int			 dep;		/* of them, a deposit round's */
	bool			 stopping;
	bool			 closed;	/* the gestor link is stopped */
	void			(*stopped)(void *);
	void			*stopped_arg;
	/* counters (stats) */
	unsigned long		 deposited, fetched, dropped;
	long			 rows;		/* in mail_out: 0, deliveries skip it */
};

static void	fetch_page(struct pmail *);

/*
 * A request on the gestor link; once the link is stopped (the daemon
 * stops) none is queued, and cb hears at once that none will be answered:
 * a request queued then would be failed after this module is freed.
 */
static void
req(struct pmail *ml, json_t *frame, pg_reply_cb cb, void *arg)
{
	if (ml->closed) {
		json_decref(frame);
		if (cb != NULL)
			cb(NULL, ERR_GESTOR_UNAVAILABLE, "shutting down", arg);
		return;
	}
	pgestor_request(ml->pm->p->pg, frame, true, cb, arg);
}
static void	handle(struct pmail *);

static const char *
me(struct pmail *ml)
{
	return ml->pm->p->user;
}

static struct pgestor *
pg_of(struct pmail *ml)
{
	return ml->pm->p->pg;
}

/* ----------------------------------------------------------------- store */

static int
out_note(struct pmail *ml, const char *id, const char *peer, int64_t deposit,
    const char *reason)
{
	int rc = pmail_note(ml->pm->p->store, id, peer, deposit, reason);

	ml->rows = pmail_rows(ml->pm->p->store);
	return rc;
}

static int64_t
out_get(struct pmail *ml, const char *id, int64_t *ts)
{
	return pmail_get(ml->pm->p->store, id, ts, NULL, 0);
}

/* ----------------------------------------------------------------- fetch */

void
pm_mail_fetch(struct peer_msgs *pm)
{
	struct pmail *ml = pm->mail;

	if (ml == NULL || !pm->p->d->cfg->mail_use || *me(ml) == '\0' ||
	    pm->stopping)
		return;
	if (ml->fetching) {
		ml->again = true;
		return;
	}
	ml->fetching = true;
	ml->after = 0;
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

static void
fetch_done(struct pmail *ml)
{
	page_clear(ml);
	ml->fetching = false;
	if (ml->again) {
		ml->again = false;
		pm_mail_fetch(ml->pm);
	}
}

static void
on_page(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct pmail *ml = arg;
	json_t *mail;

	if (reply == NULL) {
		if (!ml->pm->stopping)
			log_info("peer_mail: cannot fetch mail: %s: %s", code, msg);
		fetch_done(ml);
		return;
	}
	mail = json_object_get(reply, "mail");
	if (!json_is_array(mail) || json_array_size(mail) > WIRE_MAX_MBOX) {
		log_warnx("peer_mail: the gestor's answer to mbox-get is malformed");
		fetch_done(ml);
		return;
	}
	ml->more = json_is_true(json_object_get(reply, "more"));
	ml->page = json_incref(mail);
	ml->n = json_array_size(mail);
	ml->items = xcalloc(ml->n + 1, sizeof(*ml->items));
	handle(ml);
}

static void
fetch_page(struct pmail *ml)
{
	req(ml, json_pack("{s:s,s:I,s:i}", "t", "mbox-get",
	    "after", (json_int_t)ml->after, "limit", MAIL_PAGE), on_page,
	    ml);
}

static void	receipts(struct pmail *);

/* Every deposit of the page is committed or refused: acknowledge. */
static void
page_done(struct pmail *ml)
{
	json_t *ids = json_array();
	size_t i;

	for (i = 0; i < ml->n; i++) {
		if (ml->items[i].id > ml->after)
			ml->after = ml->items[i].id;
		if (ml->items[i].outcome == 1)
			json_array_append_new(ids, json_integer(ml->items[i].id));
	}
	if (json_array_size(ids) > 0)
		req(ml, json_pack("{s:s,s:o}", "t", "mbox-ack",
		    "ids", ids), NULL, NULL);
	else
		json_decref(ids);
	receipts(ml);
	page_clear(ml);
	if (ml->more && !ml->pm->stopping)
		fetch_page(ml);
	else
		fetch_done(ml);
}

/* The queue committed (or refused) a message of the page (pm_hooks). */
void
pm_mail_rx(struct peer_msgs *pm, void *from, const char *id, int outcome)
{
	struct pmail *ml = pm->mail;
	struct mitem *it = from;

	it->outcome = outcome == 1 ? 1 : 0;
	if (outcome == -1)
		log_info("peer_mail: %s from %s refused (message requests): "
		    "left in the mailbox", id, it->from);
	if (ml->waiting > 0 && --ml->waiting == 0 && ml->submitted)
		page_done(ml);
}

/* The sealed message ml->cur is from its sender: commit it. */
static void
take(struct pmail *ml, struct mitem *it)
{
	struct seal_msg *m = &ml->cur;
	struct wire_msg w;

	if (m->type == SEAL_RECEIPT) {
		/* Its deposit was fetched: nothing to withdraw. */
		pmail_forget(ml->pm->p->store, m->id);
		ml->rows = pmail_rows(ml->pm->p->store);
		pm_ack(ml->pm, m->from, m->id);
		it->outcome = 1;
		return;
	}
	memset(&w, 0, sizeof(w));
	w.type = W_MSG;
	w.frame = json_pack("{s:s,s:s,s:s%}", "id", m->id, "from", m->from,
	    "body", m->body, m->body_len);
	w.u.msg.id = json_string_value(json_object_get(w.frame, "id"));
	w.u.msg.from = json_string_value(json_object_get(w.frame, "from"));
	w.u.msg.body = json_string_value(json_object_get(w.frame, "body"));
	w.u.msg.body_len = m->body_len;
	w.u.msg.ts = m->ts;
	it->outcome = -2;
	it->msg = true;
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
		/* Pinned (or a change of an unverified key recorded and
		 * announced) as a direct connection's hello would be. */
		peer_contact_update(ml->pm->p, it->from, fp,
		    json_string_value(json_object_get(reply, "addr")),
		    (int)json_integer_value(json_object_get(reply, "port")),
		    json_integer_value(json_object_get(reply, "last_seen")));
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
	struct pcontact c;
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
		if (seal_open(identity_seal_key(ml->pm->p->d->id), me(ml), bin, n,
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
		if (pstore_contact_get(ml->pm->p->store, from, &c) == PSTORE_OK &&
		    *c.fingerprint != '\0') {
			if (strcmp(c.fingerprint, ml->curfp) == 0) {
				take(ml, it);
				continue;
			}
			if (c.verified) {
				/* As a direct message would be held: kept. */
				log_warnx("peer_mail: deposit %lld from %s is signed "
				    "with another key than the one you verified; "
				    "left in the mailbox", (long long)it->id, from);
				it->outcome = 0;
				continue;
			}
		}
		/* Not pinned (or pinned unverified): the gestor's word. */
		req(ml, json_pack("{s:s,s:s}", "t", "lookup",
		    "user", from), on_sender, ml);
		return;
	}
	seal_msg_clear(&ml->cur);
	ml->submitted = true;
	if (ml->waiting == 0)
		page_done(ml);
}

/* -------------------------------------------------------------- deposits */

static void
round_end(struct pmail *ml, bool dep)
{
	if (dep)
		ml->dep--;
	if (--ml->busy > 0)
		return;
	if (ml->stopping && ml->stopped != NULL) {
		void (*fn)(void *) = ml->stopped;

		ml->stopped = NULL;
		ml->closed = true;
		fn(ml->stopped_arg);
	}
}

static void	chain(struct mpeer *);

/*
 * One recipient's deposits go one at a time, in order, and stop at the
 * first refusal: a later message never reaches the mailbox before an
 * earlier one (a quota freed between two puts would let it).
 */
static void
on_put(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct mpeer *mr = arg;
	struct pmail *ml = mr->ml;
	const char *id = json_string_value(json_array_get(mr->ids, mr->next));
	char why[PMSG_REASON_MAX];
	json_t *ev;
	json_int_t dep;
	size_t i;

	if (reply != NULL && (dep = json_integer_value(json_object_get(reply,
	    "id"))) > 0) {
		out_note(ml, id, mr->user, dep, "");
		ml->deposited++;
		ev = json_pack("{s:s,s:s}", "user", mr->user, "id", id);
		peer_msgs_event(ml->pm->p, "deposited", ev);
		json_decref(ev);
		pm_waiters_update(ml->pm, id);
		mr->next++;
		chain(mr);
		return;
	}
	snprintf(why, sizeof(why), "mailbox: %s: %s", code != NULL ? code :
	    "bad_frame", msg != NULL ? msg : "no deposit id");
	for (i = mr->next; i < json_array_size(mr->ids); i++)
		out_note(ml, json_string_value(json_array_get(mr->ids, i)),
		    mr->user, 0, why);
	mr->next = json_array_size(mr->ids);
	chain(mr);
}

static void
on_receipt(json_t *reply, const char *code, const char *msg, void *arg)
{
	if (reply == NULL)
		log_info("peer_mail: a receipt was not deposited: %s: %s (its "
		    "sender's copy waits for a direct delivery)", code, msg);
	round_end(arg, false);
}

/* Seal message id (or a receipt for it) for user (key rcpt) and put it;
 * a message's answer goes to on_put with mr. 0 if nothing was put. */
static int
deposit(struct pmail *ml, const char *user, const char *id,
    const unsigned char *rcpt, enum seal_type type, struct mpeer *mr)
{
	struct seal_msg sm;
	struct pmsg m;
	unsigned char *blob;
	char *body = NULL, *b64;
	size_t len, blen;

	memset(&sm, 0, sizeof(sm));
	sm.type = type;
	snprintf(sm.from, sizeof(sm.from), "%s", me(ml));
	snprintf(sm.to, sizeof(sm.to), "%s", user);
	snprintf(sm.id, sizeof(sm.id), "%s", id);
	sm.ts = util_now_ms();
	sm.body = (char *)"";
	if (type == SEAL_MSG) {
		if (pmsg_get(ml->pm->ms, id, &m, &body) != PSTORE_OK ||
		    strcmp(m.state, "pending") != 0 || body == NULL) {
			free(body);
			return 0;
		}
		sm.body = body;
		sm.body_len = m.body_len;
		sm.ts = m.ts_sent;
	}
	if (seal_seal(identity_seal_key(ml->pm->p->d->id), rcpt, &sm, &blob,
	    &len) == -1) {
		free(body);
		log_warnx("peer_mail: cannot seal %s for %s", id, user);
		return 0;
	}
	free(body);
	blen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	b64 = xmalloc(blen);
	sodium_bin2base64(b64, blen, blob, len, sodium_base64_VARIANT_ORIGINAL);
	free(blob);
	if (mr == NULL)
		ml->busy++;	/* a receipt: a stop waits for it too */
	req(ml, json_pack("{s:s,s:s,s:s}", "t", "mbox-put",
	    "to", user, "blob", b64), mr != NULL ? on_put : on_receipt,
	    mr != NULL ? (void *)mr : (void *)ml);
	free(b64);
	return 1;
}

/* The next of mr's deposits, or the end of them. */
static void
chain(struct mpeer *mr)
{
	struct pmail *ml = mr->ml;

	for (; mr->next < json_array_size(mr->ids); mr->next++)
		if (deposit(ml, mr->user, json_string_value(json_array_get(mr->ids,
		    mr->next)), mr->pk, SEAL_MSG, mr))
			return;
	json_decref(mr->ids);
	free(mr);
	round_end(ml, true);
}

/*
 * The recipient's key to seal for, from its lookup: only the key we
 * pinned for it (or, for an unknown user, the one the gestor names), and
 * only while it is offline (unless force: a receipt, or a stop).
 */
static bool
mail_key(struct pmail *ml, const char *user, json_t *reply,
    unsigned char pk[SEAL_PK_LEN], char *why, size_t len)
{
	const char *fp = json_string_value(json_object_get(reply, "fingerprint"));
	const char *mk = json_string_value(json_object_get(reply, "mail"));
	struct pcontact c;

	if (pstore_contact_get(ml->pm->p->store, user, &c) == PSTORE_OK &&
	    *c.fingerprint != '\0')
		fp = c.fingerprint;
	if (mk == NULL || *mk == '\0') {
		snprintf(why, len, "mailbox: %s does not take mail", user);
		return false;
	}
	if (fp == NULL || !seal_pk_is(mk, fp) || seal_pk_parse(mk, pk) != 0) {
		snprintf(why, len, "mailbox: the key %s takes mail for is not "
		    "the one pinned", user);
		return false;
	}
	return true;
}

static void
on_rcpt(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct mpeer *mr = arg;
	struct pmail *ml = mr->ml;
	char why[PMSG_REASON_MAX];
	json_t *id;
	size_t i;

	if (reply == NULL)
		snprintf(why, sizeof(why), "mailbox: cannot look up %s: %s",
		    mr->user, code);
	if (reply != NULL && json_is_true(json_object_get(reply, "online")))
		/* Online: its link delivers; asked again after mailbox.after. */
		json_array_foreach(mr->ids, i, id)
			out_note(ml, json_string_value(id), mr->user, 0, "");
	else if (reply != NULL && mail_key(ml, mr->user, reply, mr->pk, why,
	    sizeof(why))) {
		mr->next = 0;
		chain(mr);	/* ends the round's hold when done */
		return;
	} else
		json_array_foreach(mr->ids, i, id)
			out_note(ml, json_string_value(id), mr->user, 0, why);
	json_decref(mr->ids);
	free(mr);
	round_end(ml, true);
}

struct mround {
	struct pmail	*ml;
	int64_t		 before;	/* ts_sent at most this (ms) */
	int64_t		 retry;		/* refused before this: not again yet */
	struct mpeer	*peers[MAIL_PEERS];
	size_t		 npeers;
};

static int
collect(const char *id, const char *peer, void *arg)
{
	struct mround *r = arg;
	size_t i;

	for (i = 0; i < r->npeers; i++)
		if (strcmp(r->peers[i]->user, peer) == 0)
			break;
	if (i == r->npeers) {
		if (r->npeers == MAIL_PEERS)
			return 0;
		r->peers[i] = xcalloc(1, sizeof(**r->peers));
		r->peers[i]->ml = r->ml;
		r->peers[i]->ids = json_array();
		snprintf(r->peers[i]->user, sizeof(r->peers[i]->user), "%s", peer);
		r->npeers++;
	}
	json_array_append_new(r->peers[i]->ids, json_string(id));
	return 0;
}

/* One round: every message due goes to its recipient's mailbox. */
static void
round_start(struct pmail *ml, bool all)
{
	const struct config *cf = ml->pm->p->d->cfg;
	struct mround r;
	size_t i;

	if (!cf->mail_use || *me(ml) == '\0' || ml->dep > 0 ||
	    pgestor_state(pg_of(ml)) != PG_ONLINE)
		return;
	memset(&r, 0, sizeof(r));
	r.ml = ml;
	r.before = all ? INT64_MAX : util_now_ms() - (int64_t)(cf->mail_after *
	    1000);
	r.retry = all ? INT64_MAX : util_now_ms() - (int64_t)(cf->mail_after *
	    1000);
	if (pmail_due(ml->pm->p->store, r.before, r.retry, MAIL_ROUND, collect,
	    &r) != 0) {
		for (i = 0; i < r.npeers; i++) {
			json_decref(r.peers[i]->ids);
			free(r.peers[i]);
		}
		return;
	}
	/* The round holds itself until every lookup was sent. */
	ml->busy++;
	ml->dep++;
	for (i = 0; i < r.npeers; i++) {
		ml->busy++;
		ml->dep++;
		req(ml, json_pack("{s:s,s:s}", "t", "lookup",
		    "user", r.peers[i]->user), on_rcpt, r.peers[i]);
	}
	round_end(ml, true);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	round_start(arg, false);
}

/* ------------------------------------------------------------- receipts */

struct mrcpt {
	struct pmail	*ml;
	char		 user[P2P_USERNAME_MAX + 1];
	json_t		*ids;
};

static void
on_rcpt_sender(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct mrcpt *mr = arg;
	unsigned char pk[SEAL_PK_LEN];
	char why[PMSG_REASON_MAX];
	json_t *id;
	size_t i;

	/* An online sender's link delivers again and gets our direct ack. */
	if (reply != NULL && !json_is_true(json_object_get(reply, "online")) &&
	    mail_key(mr->ml, mr->user, reply, pk, why, sizeof(why)))
		json_array_foreach(mr->ids, i, id)
			deposit(mr->ml, mr->user, json_string_value(id), pk,
			    SEAL_RECEIPT, NULL);
	json_decref(mr->ids);
	round_end(mr->ml, false);
	free(mr);
}

/* One lookup per sender of the page, then a sealed receipt per message. */
static void
receipts(struct pmail *ml)
{
	struct mrcpt *mr;
	json_t *by = json_object(), *ids;
	const char *user;
	size_t i;
	void *tmp;

	for (i = 0; i < ml->n; i++) {
		if (!ml->items[i].msg || ml->items[i].outcome != 1)
			continue;
		if ((ids = json_object_get(by, ml->items[i].from)) == NULL) {
			ids = json_array();
			json_object_set_new(by, ml->items[i].from, ids);
		}
		json_array_append_new(ids, json_string(ml->items[i].msgid));
	}
	json_object_foreach_safe(by, tmp, user, ids) {
		mr = xcalloc(1, sizeof(*mr));
		mr->ml = ml;
		snprintf(mr->user, sizeof(mr->user), "%s", user);
		mr->ids = json_incref(ids);
		ml->busy++;
		req(ml, json_pack("{s:s,s:s}", "t", "lookup",
		    "user", user), on_rcpt_sender, mr);
	}
	json_decref(by);
}

static void
on_withdrawn(json_t *reply, const char *code, const char *msg, void *arg)
{
	char *id = arg;

	if (reply != NULL)
		log_info("peer_mail: %s withdrawn from the mailbox", id);
	else
		log_info("peer_mail: cannot withdraw %s: %s: %s (the recipient "
		    "may have fetched it)", id, code, msg);
	free(id);
}

void
pm_mail_withdraw(struct peer_msgs *pm, const char *id)
{
	int64_t dep;

	if (pm->mail == NULL || (dep = out_get(pm->mail, id, NULL)) <= 0)
		return;
	req(pm->mail, json_pack("{s:s,s:I}", "t",
	    "mbox-withdraw", "id", (json_int_t)dep), on_withdrawn,
	    xstrdup(id));
}

void
pm_mail_delivered(struct peer_msgs *pm, const char *id)
{
	/* Every delivery asks: most daemons have no deposit at all. */
	if (pm->mail == NULL || pm->mail->rows == 0 || out_get(pm->mail, id,
	    NULL) == -1)
		return;
	pm_mail_withdraw(pm, id);	/* a direct ack won: not needed */
	pmail_forget(pm->p->store, id);
	pm->mail->rows--;
}

/* ------------------------------------------------------------- lifecycle */

int
pm_mail_start(struct peer_msgs *pm)
{
	struct pmail *ml = xcalloc(1, sizeof(*ml));
	struct timeval tv = daemon_tv(MAIL_TICK);

	ml->pm = pm;
	ml->rows = pmail_rows(pm->p->store);
	ml->tick = event_new(pm->p->d->base, -1, EV_PERSIST, on_tick, ml);
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
	round_start(ml, true);
	if (ml->busy == 0) {
		ml->closed = true;
		return false;
	}
	ml->stopped = done;
	ml->stopped_arg = arg;
	return true;
}

void
pm_mail_free(struct peer_msgs *pm)
{
	struct pmail *ml = pm->mail;

	if (ml == NULL)
		return;
	page_clear(ml);
	event_free(ml->tick);
	free(ml);
	pm->mail = NULL;
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
