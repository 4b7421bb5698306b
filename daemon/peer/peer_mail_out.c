/*
 * The mailbox at the peer, our side as a sender (peer_mail.c is the
 * fetch of what was deposited for us): every second, the pending direct
 * messages older than mailbox.after (all of them when the daemon stops)
 * are grouped by recipient; each recipient is looked up, and one that is
 * offline and takes mail for the key we pinned gets its messages sealed
 * (seal.c) and put, in order. A deposit is noted in mail_out: the
 * message stays pending (shown as 'deposited') until a receipt or a
 * direct ack makes it delivered, and a deposit is withdrawn when the
 * message is delivered directly. A refusal is noted with its reason and
 * tried again later.
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

static void	chain(struct mpeer *);
static void	put_why(char *, size_t, const char *, const char *);
static void	refused_from(struct mpeer *, size_t, const char *);

struct mround {
	struct pmail	*ml;
	int		 rows;		/* due, of at most MAIL_ROUND */
	int64_t		 before;	/* ts_sent at most this (ms) */
	int64_t		 retry;		/* refused before this: not again yet */
	struct mpeer	*peers[MAIL_PEERS];
	size_t		 npeers;
};

/*
 * A request on the gestor link; once the link is stopped (the daemon
 * stops) none is queued, and cb hears at once that none will be answered:
 * a request queued then would be failed after this module is freed.
 */
void
pm_mail_req(struct pmail *ml, json_t *frame, pg_reply_cb cb, void *arg)
{
	if (ml->closed) {
		json_decref(frame);
		if (cb != NULL)
			cb(NULL, ERR_GESTOR_UNAVAILABLE, "shutting down", arg);
		return;
	}
	pgestor_request(ml->pm->p->pg, frame, true, cb, arg);
}

const char *
pm_mail_me(struct pmail *ml)
{
	return ml->pm->p->user;
}

struct pgestor *
pm_mail_pg(struct pmail *ml)
{
	return ml->pm->p->pg;
}

int
pm_mail_out_note(struct pmail *ml, const char *id, const char *peer,
    int64_t deposit, const char *reason)
{
	int rc = pmail_note(ml->pm->p->store, id, peer, deposit, reason);

	ml->rows = pmail_rows(ml->pm->p->store);
	return rc;
}

int64_t
pm_mail_out_get(struct pmail *ml, const char *id, int64_t *ts)
{
	return pmail_get(ml->pm->p->store, id, ts, NULL, 0);
}

/*
 * The notes of an answer (one per deposit, and its event) go in one
 * transaction: one fsync for a batch, not two per message. rows (mail_out,
 * counted) once at the end.
 */
static bool
notes_begin(struct pmail *ml)
{
	return pstore_begin(ml->pm->p->store) == PSTORE_OK;
}

static void
notes_end(struct pmail *ml, bool tx)
{
	if (tx && pstore_commit(ml->pm->p->store) != PSTORE_OK) {
		log_warnx("peer_mail: cannot record the mailbox's answer");
		pstore_rollback(ml->pm->p->store);
	}
	ml->rows = pmail_rows(ml->pm->p->store);
}

void
pm_mail_round_end(struct pmail *ml, bool dep)
{
	/*
	 * A round that took all it may (MAIL_ROUND) and deposited some is
	 * followed by the next at once, not after MAIL_TICK: a sender's
	 * backlog goes at the gestor's pace, and a stop deposits it all.
	 */
	if (dep && --ml->dep == 0 && ml->full &&
	    ml->deposited > ml->round_mark) {
		ml->full = false;
		ml->busy++;
		pm_mail_round_start(ml, ml->stopping);
		ml->busy--;
	}
	if (--ml->busy > 0)
		return;
	if (ml->stopping && ml->stopped != NULL) {
		void (*fn)(void *) = ml->stopped;

		ml->stopped = NULL;
		ml->closed = true;
		fn(ml->stopped_arg);
	}
}

/*
 * One recipient's deposits go one at a time, in order, and stop at the
 * first refusal: a later message never reaches the mailbox before an
 * earlier one (a quota freed between two puts would let it).
 */
/*
 * Message id of mr's is in user's mailbox as deposit dep, kept ttl ms
 * (the answer's expires_in; 0: not said).
 */
static void
deposited(struct mpeer *mr, const char *id, int64_t dep, int64_t ttl)
{
	struct pmail *ml = mr->ml;
	json_t *ev;

	/*
	 * How long the gestor keeps it, by our clock (rows: notes_end),
	 * counted from when we asked (the gestor's count starts later) and
	 * less the second between two looks (expire): no later message is
	 * deposited after this one is gone there (the recipient would fetch
	 * it first, out of order).
	 */
	pmail_note_until(ml->pm->p->store, id, mr->user, dep, "", ttl <= 0 ? 0 :
	    mr->put_at + (ttl > 2000 ? ttl - 1000 : ttl / 2));
	ml->deposited++;
	ev = pm_mail_event(ml, mr->user, id);
	peer_msgs_event(ml->pm->p, "deposited", ev);
	pm_waiters_update(ml->pm, json_string_value(json_object_get(ev, "id")));
	json_decref(ev);
}

static void
on_put(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct mpeer *mr = arg;
	const char *id = json_string_value(json_array_get(mr->ids, mr->next));
	char why[PMSG_REASON_MAX];
	json_int_t dep;
	bool tx = notes_begin(mr->ml);

	if (reply != NULL && (dep = json_integer_value(json_object_get(reply,
	    "id"))) > 0) {
		deposited(mr, id, dep, json_integer_value(json_object_get(reply,
		    "expires_in")));
		mr->next++;
	} else {
		put_why(why, sizeof(why), code, msg);
		refused_from(mr, mr->next, why);
	}
	notes_end(mr->ml, tx);
	chain(mr);
}

static void
on_receipt(json_t *reply, const char *code, const char *msg, void *arg)
{
	if (reply == NULL)
		log_info("peer_mail: a receipt was not deposited: %s: %s (its "
		    "sender's copy waits for a direct delivery)", code, msg);
	pm_mail_round_end(arg, false);
}

/*
 * Message id (or a receipt for it) sealed for user (key rcpt), in base64
 * (the caller frees it); NULL if there is nothing to put (no longer
 * pending) or it cannot be sealed.
 */
static char *
seal_b64(struct pmail *ml, const char *user, const char *id,
    const unsigned char *rcpt, enum seal_type type)
{
	struct seal_msg sm;
	unsigned char *blob;
	char *b64;
	size_t len, blen;

	memset(&sm, 0, sizeof(sm));
	sm.type = type;
	snprintf(sm.from, sizeof(sm.from), "%s", pm_mail_me(ml));
	snprintf(sm.to, sizeof(sm.to), "%s", user);
	snprintf(sm.id, sizeof(sm.id), "%s", id);
	sm.ts = util_now_ms();
	sm.body = (char *)"";
	/* A message (direct, or a group's message or list to user). */
	if (type == SEAL_MSG && pm_mail_fill(ml, id, &sm) != 0)
		return NULL;
	if (seal_seal(identity_seal_key(ml->pm->p->d->id), rcpt, &sm, &blob,
	    &len) == -1) {
		pm_mail_fill_free(&sm);
		log_warnx("peer_mail: cannot seal %s for %s", id, user);
		return NULL;
	}
	pm_mail_fill_free(&sm);
	blen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	b64 = xmalloc(blen);
	sodium_bin2base64(b64, blen, blob, len, sodium_base64_VARIANT_ORIGINAL);
	free(blob);
	return b64;
}

/* Seal message id (or a receipt for it) for user (key rcpt) and put it;
 * a message's answer goes to on_put with mr. 0 if nothing was put. */
int
pm_mail_deposit(struct pmail *ml, const char *user, const char *id,
    const unsigned char *rcpt, enum seal_type type, struct mpeer *mr)
{
	char *b64 = seal_b64(ml, user, id, rcpt, type);

	if (b64 == NULL)
		return 0;
	if (mr == NULL)
		ml->busy++;	/* a receipt: a stop waits for it too */
	else
		mr->put_at = util_now_ms();
	pm_mail_req(ml, json_pack("{s:s,s:s,s:s}", "t", "mbox-put",
	    "to", user, "blob", b64), mr != NULL ? on_put : on_receipt,
	    mr != NULL ? (void *)mr : (void *)ml);
	free(b64);
	return 1;
}

/*
 * Seal ids[*next...] for user into one mbox-put with blobs (at most what
 * the gestor takes and MAIL_PUT_BYTES of base64), each with its dedup
 * key; put, the ids sealed, in order, into *put. NULL if none was left
 * to put.
 */
static json_t *
seal_many(struct pmail *ml, const char *user, json_t *ids, size_t *next,
    const unsigned char *rcpt, enum seal_type type, json_t **put)
{
	size_t max = (size_t)pgestor_mbox_put(pm_mail_pg(ml)), bytes = 0;
	char key[SEAL_DEDUP_HEX + 1], *b64;
	json_t *blobs = json_array();
	const char *id;

	*put = json_array();
	for (; *next < json_array_size(ids) && json_array_size(blobs) < max &&
	    bytes < MAIL_PUT_BYTES; (*next)++) {
		id = json_string_value(json_array_get(ids, *next));
		if ((b64 = seal_b64(ml, user, id, rcpt, type)) == NULL)
			continue;
		seal_dedup_key(identity_seal_key(ml->pm->p->d->id), type, user,
		    id, key);
		bytes += strlen(b64);
		json_array_append_new(blobs, json_pack("{s:s,s:s}", "blob", b64,
		    "key", key));
		json_array_append_new(*put, json_string(id));
		free(b64);
	}
	if (json_array_size(blobs) == 0) {
		json_decref(blobs);
		json_decref(*put);
		*put = NULL;
		return NULL;
	}
	return json_pack("{s:s,s:s,s:o}", "t", "mbox-put", "to", user, "blobs",
	    blobs);
}

/* A refused deposit's reason, from a result or an error. */
static void
put_why(char *why, size_t len, const char *code, const char *msg)
{
	snprintf(why, len, "mailbox: %s: %s", code != NULL ? code :
	    "bad_frame", msg != NULL ? msg : "no deposit id");
}

/* mr's deposits from ids[i] on are not in the mailbox, for why. */
static void
refused_from(struct mpeer *mr, size_t i, const char *why)
{
	for (; i < json_array_size(mr->ids); i++)
		pmail_note(mr->ml->pm->p->store, json_string_value(json_array_get(
		    mr->ids, i)), mr->user, 0, why);
	mr->next = json_array_size(mr->ids);
}

/*
 * The answer to a put of several of mr's deposits (mr->batch, in order):
 * each stored one is noted; the first refused one and every later one
 * of mr's wait with the reason (the gestor refused the rest of the
 * request too).
 */
static void
on_put_many(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct mpeer *mr = arg;
	json_t *res = json_object_get(reply, "results"), *r;
	const char *id;
	char why[PMSG_REASON_MAX];
	json_int_t dep;
	size_t i, j, n = json_array_size(mr->batch);
	bool tx = notes_begin(mr->ml);

	if (reply != NULL && (!json_is_array(res) || json_array_size(res) != n)) {
		code = ERR_BAD_FRAME;
		msg = "the gestor's answer to mbox-put is malformed";
		reply = NULL;
	}
	for (i = 0; reply != NULL && i < n; i++) {
		r = json_array_get(res, i);
		id = json_string_value(json_array_get(mr->batch, i));
		if ((dep = json_integer_value(json_object_get(r, "id"))) <= 0)
			break;
		deposited(mr, id, dep, json_integer_value(json_object_get(reply,
		    "expires_in")));
	}
	if (i < n) {
		if (reply != NULL) {
			r = json_array_get(res, i);
			code = json_string_value(json_object_get(r, "code"));
			msg = json_string_value(json_object_get(r, "message"));
		}
		put_why(why, sizeof(why), code, msg);
		/* batch[i] is in ids at or after where the batch started. */
		for (j = mr->first; j < json_array_size(mr->ids); j++)
			if (json_equal(json_array_get(mr->ids, j),
			    json_array_get(mr->batch, i)))
				break;
		refused_from(mr, j, why);
	}
	notes_end(mr->ml, tx);
	json_decref(mr->batch);
	mr->batch = NULL;
	chain(mr);
}

/* Put the next of mr's deposits in one request; 0 if none was left. */
static int
put_many(struct mpeer *mr)
{
	struct pmail *ml = mr->ml;
	json_t *f;

	mr->first = mr->next;
	f = seal_many(ml, mr->user, mr->ids, &mr->next, mr->pk, SEAL_MSG,
	    &mr->batch);
	if (f == NULL)
		return 0;
	mr->put_at = util_now_ms();
	pm_mail_req(ml, f, on_put_many, mr);
	return 1;
}

/* One sender's receipts, a batch a request (sealing them all at once
 * would hold the loop for ~0.2 ms a receipt). */
struct rchain {
	struct pmail	*ml;
	char		 user[P2P_USERNAME_MAX + 1];
	json_t		*ids;
	size_t		 next;
	unsigned char	 pk[SEAL_PK_LEN];
};

static void	receipts_next(struct rchain *);

static void
on_receipts(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct rchain *rc = arg;
	json_t *res = json_object_get(reply, "results"), *r;
	size_t i, refused = 0;

	json_array_foreach(res, i, r)
		if (json_integer_value(json_object_get(r, "id")) <= 0)
			refused++;
	if (reply == NULL || refused > 0)
		log_info("peer_mail: %zu receipts were not deposited: %s: %s "
		    "(their senders' copies wait for a direct delivery)",
		    reply == NULL ? (size_t)0 : refused, code != NULL ? code :
		    "refused", msg != NULL ? msg : "by the gestor");
	if (reply == NULL)
		rc->next = json_array_size(rc->ids);	/* the rest with them */
	receipts_next(rc);
}

/* The next batch of rc's receipts, or the end of them. */
static void
receipts_next(struct rchain *rc)
{
	struct pmail *ml = rc->ml;
	json_t *f, *put;

	if (pgestor_mbox_put(pm_mail_pg(ml)) > 1 && (f = seal_many(ml, rc->user,
	    rc->ids, &rc->next, rc->pk, SEAL_RECEIPT, &put)) != NULL) {
		json_decref(put);
		pm_mail_req(ml, f, on_receipts, rc);
		return;
	}
	json_decref(rc->ids);
	free(rc);
	pm_mail_round_end(ml, false);
}

/* Receipts for ids (messages from user, key rcpt) into user's mailbox. */
void
pm_mail_receipts(struct pmail *ml, const char *user, json_t *ids,
    const unsigned char *rcpt)
{
	struct rchain *rc;
	size_t next = 0;
	json_t *id;

	if (pgestor_mbox_put(pm_mail_pg(ml)) <= 1) {
		json_array_foreach(ids, next, id)
			pm_mail_deposit(ml, user, json_string_value(id), rcpt,
			    SEAL_RECEIPT, NULL);
		return;
	}
	rc = xcalloc(1, sizeof(*rc));
	rc->ml = ml;
	snprintf(rc->user, sizeof(rc->user), "%s", user);
	rc->ids = json_incref(ids);
	memcpy(rc->pk, rcpt, sizeof(rc->pk));
	ml->busy++;	/* a stop waits for them too */
	receipts_next(rc);
}

/* The next of mr's deposits, or the end of them. */
static void
chain(struct mpeer *mr)
{
	struct pmail *ml = mr->ml;

	if (pgestor_mbox_put(pm_mail_pg(ml)) > 1) {
		if (put_many(mr))
			return;
	} else
		for (; mr->next < json_array_size(mr->ids); mr->next++)
			if (pm_mail_deposit(ml, mr->user, json_string_value(
			    json_array_get(mr->ids, mr->next)), mr->pk, SEAL_MSG,
			    mr))
				return;
	json_decref(mr->ids);
	free(mr);
	pm_mail_round_end(ml, true);
}

/*
 * The recipient's key to seal for, from its lookup: only the key we
 * pinned for it (or, for an unknown user, the one the gestor names), and
 * only while it is offline (unless force: a receipt, or a stop).
 */
bool
pm_mail_key(struct pmail *ml, const char *user, json_t *reply,
    unsigned char pk[SEAL_PK_LEN], char *why, size_t len)
{
	const char *fp = json_string_value(json_object_get(reply, "fingerprint"));
	const char *mk = json_string_value(json_object_get(reply, "mail"));
	struct pcontact c;

	if (pstore_contact_get(ml->pm->p->store, user, &c) == PSTORE_OK &&
	    *c.fingerprint != '\0')
		fp = c.fingerprint;
	if (mk == NULL || *mk == '\0') {
		if (json_is_false(json_object_get(reply, "mailbox")))
			snprintf(why, len, "mailbox: the gestor keeps no mail (its "
			    "mailbox.enable is off)");
		else
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
	bool tx;

	if (reply == NULL)
		snprintf(why, sizeof(why), "mailbox: cannot look up %s: %s",
		    mr->user, code);
	if (reply != NULL && !json_is_true(json_object_get(reply, "online")) &&
	    pm_mail_key(ml, mr->user, reply, mr->pk, why, sizeof(why))) {
		mr->next = 0;
		chain(mr);	/* ends the round's hold when done */
		return;
	}
	/* Online: its link delivers; asked again after mailbox.after. */
	if (reply != NULL && json_is_true(json_object_get(reply, "online")))
		*why = '\0';
	tx = notes_begin(ml);
	refused_from(mr, 0, why);
	notes_end(ml, tx);
	json_decref(mr->ids);
	free(mr);
	pm_mail_round_end(ml, true);
}

static int
collect(const char *id, const char *peer, void *arg)
{
	struct mround *r = arg;
	size_t i;

	r->rows++;
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

/*
 * Deposits the gestor no longer keeps (mailbox.ttl) are pending again:
 * due for a deposit after mailbox.after, as any message waiting for an
 * offline recipient, and delivered directly meanwhile if it can be.
 */
static void
expire(struct pmail *ml, bool now_too)
{
	int64_t now = util_now_ms();
	long n;

	if (ml->rows == 0 || (now < ml->expire_at && !now_too))
		return;
	ml->expire_at = now + 1000;	/* deposited() counts on it */
	n = pmail_expire(ml->pm->p->store, now, "mailbox: the deposit expired "
	    "at the gestor (its mailbox.ttl) before it was fetched; deposited "
	    "again if the recipient stays offline");
	if (n > 0)
		log_info("peer_mail: %ld deposits expired at the gestor: pending "
		    "again", n);
}

/* One round: every message due goes to its recipient's mailbox. */
void
pm_mail_round_start(struct pmail *ml, bool all)
{
	const struct config *cf = ml->pm->p->d->cfg;
	struct mround r;
	size_t i;

	/* Also before a stop's round: a later message must not go while an
	 * earlier one's deposit is gone. */
	expire(ml, all);

	if (!cf->mail_use || *pm_mail_me(ml) == '\0' || ml->dep > 0 ||
	    pgestor_state(pm_mail_pg(ml)) != PG_ONLINE)
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
	ml->full = r.rows >= MAIL_ROUND;
	ml->round_mark = ml->deposited;
	/* The round holds itself until every lookup was sent. */
	ml->busy++;
	ml->dep++;
	for (i = 0; i < r.npeers; i++) {
		ml->busy++;
		ml->dep++;
		pm_mail_req(ml, json_pack("{s:s,s:s}", "t", "lookup",
		    "user", r.peers[i]->user), on_rcpt, r.peers[i]);
	}
	pm_mail_round_end(ml, true);
}
