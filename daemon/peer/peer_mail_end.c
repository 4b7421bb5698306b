/*
 * How mail ends at the peer, both ways. Ours deposited for others: a
 * deposit no longer needed leaves the gestor's mailbox: a message
 * cancelled (peer_state.c), delivered directly (pm_hooks.delivered), or
 * that stopped waiting any other way without a receipt (expired, failed,
 * its member removed from its group: pm_mail_sweep, each round) is
 * withdrawn with mbox-withdraw, and its note in mail_out forgotten once
 * the gestor no longer holds it (withdrawn, or too late: fetched or
 * expired there); until then every sweep asks again. Theirs fetched by
 * us: each message taken from a page owes its sender a receipt, sent
 * into the sender's mailbox when it is offline.
 *
 * Called by peer_mail.c (its tick, its pages) and the layers above;
 * calls the requests and deposits of peer_mail_out.c and the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer_mail_int.h"
#include "pstore_mail.h"
#include "util.h"

struct mwithdraw {
	struct pmail	*ml;
	char		 id[PMAIL_ID_MAX + 1];
};

/*
 * The gestor no longer holds the deposit (withdrawn, or too late:
 * fetched, expired): forget it. Else (unreachable) the next sweep asks
 * again.
 */
static void
on_withdrawn(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct mwithdraw *w = arg;
	struct pmail *ml = w->ml;

	/*
	 * Too late is the usual end of a deposit whose message went
	 * directly too: the recipient, back, fetched it (a debug line, not
	 * one a message at info: 10 000 of them after one fetch).
	 */
	if (reply != NULL)
		log_info("peer_mail: %s withdrawn from the mailbox", w->id);
	else if (strcmp(code, ERR_TOO_LATE) == 0)
		log_debug("peer_mail: %s no longer in the mailbox: %s", w->id,
		    msg);
	else
		log_info("peer_mail: cannot withdraw %s: %s: %s", w->id, code,
		    msg);
	/* Counted down, not again: a count per answer read the table. */
	if ((reply != NULL || strcmp(code, ERR_TOO_LATE) == 0) &&
	    pmail_forget(ml->pm->p->store, w->id, NULL) > 0 && ml->rows > 0)
		ml->rows--;
	ml->withdrawing--;
	free(w);
	pm_mail_round_end(ml, false);
}

static void
withdraw(struct pmail *ml, const char *id, int64_t dep)
{
	struct mwithdraw *w = xcalloc(1, sizeof(*w));

	w->ml = ml;
	snprintf(w->id, sizeof(w->id), "%s", id);
	ml->busy++;		/* a stop waits for it */
	ml->withdrawing++;
	pm_mail_req(ml, json_pack("{s:s,s:I}", "t", "mbox-withdraw", "id",
	    (json_int_t)dep), on_withdrawn, w);
}

void
pm_mail_withdraw(struct peer_msgs *pm, const char *id)
{
	int64_t dep;

	if (pm->mail == NULL || (dep = pm_mail_out_get(pm->mail, id, NULL)) <= 0)
		return;
	withdraw(pm->mail, id, dep);
}

static int
collect_done(const char *id, int64_t dep, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s,s:I}", "id", id, "dep",
	    (json_int_t)dep));
	return 0;
}

/*
 * Deposits of messages that no longer wait (delivered directly, failed,
 * cancelled, expired, their member removed from the group, deleted) are
 * withdrawn, so that the recipient never shows what its sender gave up;
 * refusals of them are forgotten. A group's rows end without a direct
 * ack to tell (a removal fails them in the commit that applies a list),
 * so this looks, at most MAIL_SWEEP at a time, each round.
 */
void
pm_mail_sweep(struct pmail *ml)
{
	json_t *done, *o;
	const char *id;
	int64_t dep;
	size_t i;
	int64_t now = util_now_ms();

	/* When messages stopped waiting (pending_gen), else now and then. */
	if (ml->rows == 0 || ml->withdrawing > 0 ||
	    pgestor_state(pm_mail_pg(ml)) != PG_ONLINE ||
	    (ml->swept_gen == ml->pm->pending_gen && now < ml->sweep_at))
		return;
	ml->swept_gen = ml->pm->pending_gen;
	ml->sweep_at = now + MAIL_EXPIRE_EVERY;
	done = json_array();
	if (pmail_done(ml->pm->p->store, MAIL_SWEEP, collect_done, done) != 0)
		log_warnx("peer_mail: cannot read the deposits to withdraw");
	json_array_foreach(done, i, o) {
		id = json_string_value(json_object_get(o, "id"));
		dep = json_integer_value(json_object_get(o, "dep"));
		if (dep > 0)
			withdraw(ml, id, dep);
		else
			pmail_forget(ml->pm->p->store, id, NULL);
	}
	if (json_array_size(done) > 0)
		ml->rows = pmail_rows(ml->pm->p->store);
	json_decref(done);
}

void
pm_mail_delivered(struct peer_msgs *pm, const char *id)
{
	/* Every delivery asks: most daemons have no deposit at all. */
	if (pm->mail == NULL || pm->mail->rows == 0 || pm_mail_out_get(pm->mail, id,
	    NULL) == -1)
		return;
	pm_mail_withdraw(pm, id);	/* a direct ack won: not needed */
	pmail_forget(pm->p->store, id, NULL);
	pm->mail->rows--;
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

	/* An online sender's link delivers again and gets our direct ack. */
	if (reply != NULL && !json_is_true(json_object_get(reply, "online")) &&
	    pm_mail_key(mr->ml, mr->user, reply, pk, why, sizeof(why)))
		pm_mail_receipts(mr->ml, mr->user, mr->ids, pk);
	json_decref(mr->ids);
	pm_mail_round_end(mr->ml, false);
	free(mr);
}

/*
 * The page's messages taken owe their senders receipts, noted by sender
 * until the fetch is over (pm_mail_receipts_send): sealing one (a
 * signature and a box each) costs what opening a message does, and
 * would slow the fetch it follows by as much.
 */
void
pm_mail_receipts_owed(struct pmail *ml)
{
	json_t *ids;
	size_t i;

	if (ml->owed == NULL)
		ml->owed = json_object();
	for (i = 0; i < ml->n; i++) {
		if (!ml->items[i].msg || ml->items[i].outcome != 1)
			continue;
		if ((ids = json_object_get(ml->owed, ml->items[i].from)) == NULL) {
			ids = json_array();
			json_object_set_new(ml->owed, ml->items[i].from, ids);
		}
		json_array_append_new(ids, json_string(ml->items[i].msgid));
	}
}

/* The fetch is over: one lookup per sender owed, then its receipts. */
void
pm_mail_receipts_send(struct pmail *ml)
{
	struct mrcpt *mr;
	json_t *by = ml->owed, *ids;
	const char *user;
	void *tmp;

	ml->owed = NULL;
	if (by == NULL)
		return;
	json_object_foreach_safe(by, tmp, user, ids) {
		mr = xcalloc(1, sizeof(*mr));
		mr->ml = ml;
		snprintf(mr->user, sizeof(mr->user), "%s", user);
		mr->ids = json_incref(ids);
		ml->busy++;
		pm_mail_req(ml, json_pack("{s:s,s:s}", "t", "lookup",
		    "user", user), on_rcpt_sender, mr);
	}
	json_decref(by);
}
