/*
 * The gestor's mailbox (DESIGN.md "Mailbox"): logged-in peers deposit
 * blobs sealed for another user (mbox-put), fetch their own (mbox-get),
 * acknowledge what they committed (mbox-ack), withdraw what they
 * deposited (mbox-withdraw) and count what waits for them (mbox-count,
 * their status's mail_waiting); a recipient logged in here hears of new mail
 * at once (a pushed `mbox`), one logged in on another gestor of the
 * cluster through a "mail" notification. The gestor never reads a blob:
 * it checks that it is base64 and counts its bytes. Expired deposits are
 * deleted once a minute.
 *
 * gestor.c hands the four frames here through gestor->frames (set by
 * gestor_mode.c), so that nothing here is called from below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gestor_int.h"
#include "log.h"
#include "util.h"

#define MAIL_EXPIRE_EVERY	60.0		/* seconds, or mailbox.ttl if shorter */
#define MAIL_REPLY_BYTES	(512 * 1024)	/* of blobs in one mbox-get reply */

/*
 * The rows of the fetch being delivered: a fetch's rows and its done
 * callback run together, one fetch at a time (gstore.c), so one list
 * serves every connection.
 */
static json_t	*mail_rows;
static size_t	 mail_rows_bytes;
static bool	 mail_rows_more;

static void
mail_error(struct gconn *gc, json_t *req, const char *code, const char *msg)
{
	gestor_reply(gc, req, json_pack("{s:s,s:s,s:s}", "t", "error", "code",
	    code, "message", msg));
}

static void
mail_store_error(struct gconn *gc, json_t *req, enum gstore_rc rc)
{
	if (rc == GSTORE_UNAVAILABLE)
		mail_error(gc, req, ERR_UNAVAILABLE, "the gestor's database is "
		    "unavailable; try again later");
	else
		mail_error(gc, req, ERR_INTERNAL, "the mailbox failed");
}

/* A deposit refused: the reply says why, and the refusal is counted. */
static void
mail_refuse(struct gconn *gc, json_t *req, const char *code,
    const char *reason, const char *msg, unsigned long *counter)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "t", "error", "code", code,
	    "message", msg);
	const char *to = json_string_value(json_object_get(req, "to"));

	if (reason != NULL)
		json_object_set_new(o, "reason", json_string(reason));
	(*counter)++;
	if (to != NULL)
		log_info("gestor: mail from %s to %s refused: %s", gc->user, to,
		    msg);
	else
		log_info("gestor: %s of %s refused: %s", json_string_value(
		    json_object_get(req, "t")), gc->user, msg);
	gestor_reply(gc, req, o);
}

static void
on_put_done(enum gstore_rc rc, int64_t id, void *arg)
{
	struct gconn *gc = arg;
	struct gestor_stats *s = &gc->g->stats;
	const char *to = json_string_value(json_object_get(gc->req, "to"));

	gc->op = NULL;
	switch (rc) {
	case GSTORE_OK:
		s->mail_deposits++;
		log_debug("gestor: mail %lld from %s to %s", (long long)id,
		    gc->user, to);
		/* How long it is kept: the sender's clock may differ. */
		gestor_reply(gc, gc->req, json_pack("{s:s,s:I,s:I}", "t", "ok",
		    "id", (json_int_t)id, "expires_in", (json_int_t)
		    (gc->g->d->cfg->mail_ttl * 1000)));
		gestor_mail_arrived(gc->g, to);
		break;
	case GSTORE_NOTFOUND:
		mail_refuse(gc, gc->req, ERR_NO_SUCH_USER, NULL, "no such user",
		    &s->mail_refused_no_user);
		break;
	case GSTORE_NO_MAIL:
		mail_refuse(gc, gc->req, ERR_NO_MAIL, NULL, "the recipient "
		    "accepts no mail", &s->mail_refused_no_mail);
		break;
	case GSTORE_QUOTA_MESSAGES:
		mail_refuse(gc, gc->req, ERR_QUOTA_EXCEEDED, "messages",
		    "the recipient's mailbox is full (mailbox.quota_messages)",
		    &s->mail_refused_quota);
		break;
	case GSTORE_QUOTA_BYTES:
		mail_refuse(gc, gc->req, ERR_QUOTA_EXCEEDED, "bytes",
		    "the recipient's mailbox is full (mailbox.quota_bytes)",
		    &s->mail_refused_quota);
		break;
	case GSTORE_QUOTA_SENDER:
		mail_refuse(gc, gc->req, ERR_QUOTA_EXCEEDED, "sender",
		    "the recipient's mailbox holds all it takes from you "
		    "(mailbox.quota_per_sender)", &s->mail_refused_quota);
		break;
	default:
		s->mail_refused_store++;
		mail_store_error(gc, gc->req, rc);
		break;
	}
	gestor_req_end(gc);
}

static void
mail_put(struct gconn *gc, struct wire_msg *m)
{
	const struct config *cfg = gc->g->d->cfg;
	struct gmail_limits lim;
	struct gmail mail;

	/*
	 * A blob the recipient could not receive in one frame would stop its
	 * mailbox for good (fetches start with the oldest): refused.
	 */
	if (strlen(m->u.mbox.blob) > P2P_MAIL_BLOB_MAX) {
		gestor_req_start(gc, m);
		mail_refuse(gc, m->frame, ERR_QUOTA_EXCEEDED, "size",
		    "over the largest deposit (1 000 000 characters of base64)",
		    &gc->g->stats.mail_refused_quota);
		gestor_req_end(gc);
		return;
	}
	if (m->u.mbox.size > cfg->mail_quota_bytes) {
		gestor_req_start(gc, m);
		mail_refuse(gc, m->frame, ERR_QUOTA_EXCEEDED, "bytes",
		    "larger than a whole mailbox (mailbox.quota_bytes)",
		    &gc->g->stats.mail_refused_quota);
		gestor_req_end(gc);
		return;
	}
	memset(&mail, 0, sizeof(mail));
	snprintf(mail.from, sizeof(mail.from), "%s", gc->user);
	snprintf(mail.to, sizeof(mail.to), "%s", m->u.mbox.to);
	mail.ts = util_now_ms();
	mail.expires = mail.ts + (int64_t)(cfg->mail_ttl * 1000);
	mail.size = m->u.mbox.size;
	mail.blob = m->u.mbox.blob;
	lim.messages = cfg->mail_quota_messages;
	lim.bytes = cfg->mail_quota_bytes;
	lim.per_sender = cfg->mail_quota_per_sender;
	gestor_req_start(gc, m);
	gc->op = gstore_mail_put(gc->g->store, &mail, &lim, on_put_done, gc);
}

static int
on_get_row(const struct gmail *m, void *arg)
{
	size_t len = strlen(m->blob);

	if (json_array_size(mail_rows) > 0 &&
	    mail_rows_bytes + len > MAIL_REPLY_BYTES) {
		mail_rows_more = true;
		return -1;
	}
	mail_rows_bytes += len;
	json_array_append_new(mail_rows, json_pack("{s:I,s:s,s:I,s:i,s:s}",
	    "id", (json_int_t)m->id, "from", m->from, "ts", (json_int_t)m->ts,
	    "size", (int)m->size, "blob", m->blob));
	return 0;
}

static void
on_get_done(enum gstore_rc rc, void *arg)
{
	struct gconn *gc = arg;
	json_t *req = gc->req;
	int limit = (int)json_integer_value(json_object_get(req, "limit"));

	gc->op = NULL;
	if (limit <= 0)
		limit = WIRE_MAX_MBOX;
	if (rc != GSTORE_OK)
		mail_store_error(gc, req, rc);
	else {
		gc->g->stats.mail_fetched += json_array_size(mail_rows);
		gestor_reply(gc, req, json_pack("{s:s,s:O,s:b}", "t", "ok",
		    "mail", mail_rows, "more", mail_rows_more ||
		    json_array_size(mail_rows) == (size_t)limit));
	}
	json_array_clear(mail_rows);
	mail_rows_bytes = 0;
	mail_rows_more = false;
	gestor_req_end(gc);
}

static void
mail_get(struct gconn *gc, struct wire_msg *m)
{
	if (mail_rows == NULL)
		mail_rows = json_array();
	gestor_req_start(gc, m);
	gc->op = gstore_mail_fetch(gc->g->store, gc->user, m->u.mbox.after,
	    m->u.mbox.limit, on_get_row, on_get_done, gc);
}

static void
on_ack_done(enum gstore_rc rc, void *arg)
{
	struct gconn *gc = arg;

	gc->op = NULL;
	if (rc == GSTORE_OK || rc == GSTORE_NOTFOUND)
		gestor_reply(gc, gc->req, json_pack("{s:s}", "t", "ok"));
	else
		mail_store_error(gc, gc->req, rc);
	gestor_req_end(gc);
}

/*
 * Each id is deleted if it is gc's mail, all in one statement; an id that
 * is not (gone, or another's) is passed over: acking twice is harmless.
 */
static void
mail_ack(struct gconn *gc, struct wire_msg *m)
{
	json_t *ids = m->u.mbox.ids;
	size_t i, n = json_array_size(ids);
	int64_t v[WIRE_MAX_MBOX];

	for (i = 0; i < n && i < WIRE_MAX_MBOX; i++)
		v[i] = json_integer_value(json_array_get(ids, i));
	gestor_req_start(gc, m);
	gc->g->stats.mail_acked += i;
	gc->op = gstore_mail_ack(gc->g->store, gc->user, v, i, on_ack_done, gc);
}

static void
on_withdraw_done(enum gstore_rc rc, void *arg)
{
	struct gconn *gc = arg;

	gc->op = NULL;
	if (rc == GSTORE_OK) {
		gc->g->stats.mail_withdrawn++;
		gestor_reply(gc, gc->req, json_pack("{s:s}", "t", "ok"));
	} else if (rc == GSTORE_NOTFOUND)
		mail_error(gc, gc->req, ERR_TOO_LATE, "no such deposit of yours: "
		    "fetched and acknowledged, expired, or never made");
	else
		mail_store_error(gc, gc->req, rc);
	gestor_req_end(gc);
}

static void
mail_withdraw(struct gconn *gc, struct wire_msg *m)
{
	gestor_req_start(gc, m);
	gc->op = gstore_mail_withdraw(gc->g->store, gc->user, m->u.mbox.id,
	    on_withdraw_done, gc);
}

static void
on_count_done(enum gstore_rc rc, long n, long long bytes, void *arg)
{
	struct gconn *gc = arg;

	gc->op = NULL;
	if (rc == GSTORE_OK)
		gestor_reply(gc, gc->req, json_pack("{s:s,s:I,s:I}", "t", "ok",
		    "count", (json_int_t)n, "bytes", (json_int_t)bytes));
	else
		mail_store_error(gc, gc->req, rc);
	gestor_req_end(gc);
}

/* How much mail waits for gc's user (its status's mail_waiting). */
static void
mail_count(struct gconn *gc, struct wire_msg *m)
{
	gestor_req_start(gc, m);
	gc->op = gstore_mail_count(gc->g->store, gc->user, on_count_done, gc);
}

void
gestor_mail_frame(struct gconn *gc, struct wire_msg *m)
{
	/* Acks and counts only touch what is there already. */
	if (!gc->g->d->cfg->mail_enable && m->type != W_MBOX_ACK &&
	    m->type != W_MBOX_COUNT) {
		gestor_req_start(gc, m);
		mail_refuse(gc, m->frame, ERR_MAILBOX_DISABLED, NULL,
		    "this gestor keeps no mail (mailbox.enable)",
		    &gc->g->stats.mail_refused_disabled);
		gestor_req_end(gc);
		return;
	}
	switch (m->type) {
	case W_MBOX_PUT:
		if (m->u.mbox.blobs != NULL)
			gestor_mail_put_many(gc, m);
		else
			mail_put(gc, m);
		break;
	case W_MBOX_GET:
		mail_get(gc, m);
		break;
	case W_MBOX_ACK:
		mail_ack(gc, m);
		break;
	case W_MBOX_WITHDRAW:
		mail_withdraw(gc, m);
		break;
	case W_MBOX_COUNT:
		mail_count(gc, m);
		break;
	default:
		break;
	}
}

/* Another gestor of the cluster stored mail for user. */
void
gestor_mail_notified(struct gestor *g, const char *user)
{
	gestor_mail_push(g, user);
}

static void
on_expired(enum gstore_rc rc, long n, void *arg)
{
	struct gestor *g = arg;

	if (rc == GSTORE_OK && n > 0) {
		g->stats.mail_expired += (unsigned long)n;
		log_info("gestor: %ld mail deposits expired (mailbox.ttl)", n);
	}
}

/* Once a minute, or every mailbox.ttl as it is now (SIGHUP) if shorter. */
static void
on_expire_timer(evutil_socket_t fd, short what, void *arg)
{
	struct gestor *g = arg;
	double every = g->d->cfg->mail_ttl < MAIL_EXPIRE_EVERY ?
	    g->d->cfg->mail_ttl : MAIL_EXPIRE_EVERY;
	struct timeval tv = daemon_tv(every);

	gstore_mail_expire(g->store, util_now_ms(), on_expired, g);
	event_add(g->mail_timer, &tv);
}

int
gestor_mail_start(struct gestor *g)
{
	g->mail_timer = evtimer_new(g->d->base, on_expire_timer, g);
	if (g->mail_timer == NULL)
		return -1;
	event_active(g->mail_timer, EV_TIMEOUT, 0);	/* once at start */
	return 0;
}

void
gestor_mail_stop(struct gestor *g)
{
	if (g->mail_timer != NULL)
		event_free(g->mail_timer);
	g->mail_timer = NULL;
	json_decref(mail_rows);
	mail_rows = NULL;
}

/* Add the mail_* counters, and what the mailboxes hold, to stats. */
void
gestor_mail_stats(struct gestor *g, json_t *o, long held, long long bytes)
{
	const struct gestor_stats *s = &g->stats;
	json_t *m;

	m = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "mail_deposits", (json_int_t)s->mail_deposits,
	    "mail_fetched", (json_int_t)s->mail_fetched,
	    "mail_acked", (json_int_t)s->mail_acked,
	    "mail_withdrawn", (json_int_t)s->mail_withdrawn,
	    "mail_expired", (json_int_t)s->mail_expired,
	    "mail_refused_quota", (json_int_t)s->mail_refused_quota,
	    "mail_refused_no_user", (json_int_t)s->mail_refused_no_user,
	    "mail_refused_no_mail", (json_int_t)s->mail_refused_no_mail,
	    "mail_refused_disabled", (json_int_t)s->mail_refused_disabled,
	    "mail_refused_store", (json_int_t)s->mail_refused_store,
	    "mail_held", (json_int_t)held);
	json_object_set_new(m, "mail_bytes_held", held < 0 ? json_null() :
	    json_integer((json_int_t)bytes));
	if (held < 0)
		json_object_set_new(m, "mail_held", json_null());
	json_object_update(o, m);
	json_decref(m);
}
