/*
 * The gestor's mailbox, several deposits in one request (mbox-put with
 * blobs, docs/MAILBOX.md): a sender's deposits for one recipient are
 * stored in one transaction (one fsync where each used to take one), in
 * order, and answered one result per deposit: its id, or why it was
 * refused. The first refusal refuses every later deposit of the request,
 * so a mailbox never holds a later message without an earlier one. Each
 * deposit carries its sender's dedup key: a put again after a lost
 * answer gets the id stored the first time, not a second copy.
 *
 * gestor_mail.c hands mbox-put with blobs here; the single form stays
 * there, for peers that do not batch. Both tell the recipient through
 * gestor_mail_arrived, here, below gestor_mail.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gestor_int.h"
#include "log.h"
#include "util.h"

/* A refusal's code, reason (or NULL), message and counter. */
static const char *
refusal(struct gestor_stats *s, int64_t rc, const char **reason,
    const char **msg, unsigned long **counter)
{
	*reason = NULL;
	*counter = &s->mail_refused_quota;
	switch (rc) {
	case GSTORE_NOTFOUND:
		*msg = "no such user";
		*counter = &s->mail_refused_no_user;
		return ERR_NO_SUCH_USER;
	case GSTORE_NO_MAIL:
		*msg = "the recipient accepts no mail";
		*counter = &s->mail_refused_no_mail;
		return ERR_NO_MAIL;
	case GSTORE_QUOTA_MESSAGES:
		*reason = "messages";
		*msg = "the recipient's mailbox is full (mailbox.quota_messages)";
		break;
	case GSTORE_QUOTA_BYTES:
		*reason = "bytes";
		*msg = "the recipient's mailbox is full (mailbox.quota_bytes)";
		break;
	case GSTORE_QUOTA_SENDER:
		*reason = "sender";
		*msg = "the recipient's mailbox holds all it takes from you "
		    "(mailbox.quota_per_sender)";
		break;
	default:
		*reason = "size";
		*msg = "over the largest deposit (1 000 000 characters of "
		    "base64, and mailbox.quota_bytes)";
		break;
	}
	return ERR_QUOTA_EXCEEDED;
}

/* Tell to's session here that mail waits; true if it is here. */
bool
gestor_mail_push(struct gestor *g, const char *to)
{
	struct gconn *s = gestor_session(g, to);
	json_t *f;

	if (s == NULL || s->state != GC_AUTHED)
		return false;
	f = json_pack("{s:s}", "t", "mbox");
	conn_send(s->c, f);
	json_decref(f);
	g->stats.frames_out++;
	return true;
}

/* Mail for to was stored: its session here, or the cluster, hears. */
void
gestor_mail_arrived(struct gestor *g, const char *to)
{
	json_t *hint;

	if (gestor_mail_push(g, to))
		return;
	hint = json_pack("{s:s,s:s}", "t", "mail", "user", to);
	gstore_notify(g->store, hint);
	json_decref(hint);
}

#define REFUSED_SIZE	100	/* a deposit over the largest one */

/* res[i]: an id, or a refusal (-gstore_rc, or -REFUSED_SIZE). */
static json_t *
results(struct gconn *gc, const int64_t *res, size_t n, size_t *stored)
{
	json_t *a = json_array(), *o;
	const char *code, *reason, *msg;
	unsigned long *counter;
	size_t i;

	*stored = 0;
	for (i = 0; i < n; i++) {
		if (res[i] > 0) {
			json_array_append_new(a, json_pack("{s:I}", "id",
			    (json_int_t)res[i]));
			(*stored)++;
			continue;
		}
		code = refusal(&gc->g->stats, -res[i], &reason, &msg, &counter);
		(*counter)++;
		o = json_pack("{s:s,s:s}", "code", code, "message", msg);
		if (reason != NULL)
			json_object_set_new(o, "reason", json_string(reason));
		json_array_append_new(a, o);
	}
	return a;
}

/*
 * Answer: the store's results for the first n deposits, then the
 * request's own refusal (over size) for the others.
 */
static void
answer(struct gconn *gc, const int64_t *res, size_t n)
{
	json_t *blobs = json_object_get(gc->req, "blobs"), *hint;
	const char *to = json_string_value(json_object_get(gc->req, "to"));
	size_t i, total = json_array_size(blobs), stored;
	int64_t *all = xcalloc(total, sizeof(*all));

	for (i = 0; i < total; i++)
		all[i] = i < n ? res[i] : -(int64_t)REFUSED_SIZE;
	hint = results(gc, all, total, &stored);
	free(all);
	gc->g->stats.mail_deposits += stored;
	if (stored < total)
		log_info("gestor: mail from %s to %s: %zu of %zu deposits "
		    "refused", gc->user, to, total - stored, total);
	/* How long they are kept: the sender's clock may differ. */
	gestor_reply_ok(gc, gc->req, json_pack("{s:o,s:I}", "results", hint,
	    "expires_in", (json_int_t)(gc->g->d->cfg->mail_ttl * 1000)));
	if (stored > 0)
		gestor_mail_arrived(gc->g, to);
}

static void
on_put_many(enum gstore_rc rc, const int64_t *res, size_t n, void *arg)
{
	struct gconn *gc = arg;

	gc->op = NULL;
	if (rc != GSTORE_OK) {
		gc->g->stats.mail_refused_store++;
		gestor_reply_err(gc, gc->req, rc == GSTORE_UNAVAILABLE ?
		    ERR_UNAVAILABLE : ERR_INTERNAL, rc == GSTORE_UNAVAILABLE ?
		    "the gestor's database is unavailable; try again later" :
		    "the mailbox failed");
	} else
		answer(gc, res, n);
	gestor_req_end(gc);
}

/* The bytes a checked base64 string decodes to. */
static long
b64_size(const char *s)
{
	size_t len = strlen(s);

	return (long)(len / 4 * 3) - (s[len - 1] == '=') - (s[len - 2] == '=');
}

/* A deposit key: 16 hex digits, as the store's 64-bit integer. */
static json_int_t
dkey(const char *hex)
{
	return (json_int_t)strtoull(hex, NULL, 16);
}

void
gestor_mail_put_many(struct gconn *gc, struct wire_msg *m)
{
	const struct config *cfg = gc->g->d->cfg;
	json_t *items = json_array(), *o;
	struct gmail_limits lim;
	struct gmail mail;
	const char *blob;
	char *text;
	long size;
	size_t i;

	gestor_req_start(gc, m);
	/* Over the largest deposit: refused, and every later one with it. */
	json_array_foreach(m->u.mbox.blobs, i, o) {
		blob = json_string_value(json_object_get(o, "blob"));
		size = b64_size(blob);
		if (strlen(blob) > P2P_MAIL_BLOB_MAX ||
		    size > cfg->mail_quota_bytes)
			break;
		json_array_append_new(items, json_pack("{s:s,s:I,s:I}", "blob",
		    blob, "size", (json_int_t)size, "key", dkey(json_string_value(
		    json_object_get(o, "key")))));
	}
	if (json_array_size(items) == 0) {
		json_decref(items);
		answer(gc, NULL, 0);
		gestor_req_end(gc);
		return;
	}
	memset(&mail, 0, sizeof(mail));
	snprintf(mail.from, sizeof(mail.from), "%s", gc->user);
	snprintf(mail.to, sizeof(mail.to), "%s", m->u.mbox.to);
	mail.ts = util_now_ms();
	mail.expires = mail.ts + (int64_t)(cfg->mail_ttl * 1000);
	lim.messages = cfg->mail_quota_messages;
	lim.bytes = cfg->mail_quota_bytes;
	lim.per_sender = cfg->mail_quota_per_sender;
	text = json_dumps(items, JSON_COMPACT);
	gc->op = gstore_mail_put_many(gc->g->store, &mail, text,
	    json_array_size(items), &lim, on_put_many, gc);
	free(text);
	json_decref(items);
}
