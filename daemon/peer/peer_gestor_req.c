/*
 * The peer's link to the gestor (peer_gestor.c), what sits below its
 * state machine: the requests (numbered, queued until the link or the
 * session can take them, sent in order, failed together when the link
 * goes down, expired), the check of the gestor's key (pinned, else
 * trusted on first use), what the session's answers mean (which end it,
 * what the gestor takes), the key this daemon takes mail for, and what
 * the rest of the peer reads of the link.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "identity.h"
#include "log.h"
#include "peer_gestor_int.h"
#include "seal.h"
#include "util.h"

static const char *const pg_state_names[] = {
	[PG_DISCONNECTED] = "disconnected",
	[PG_RESOLVING] = "resolving",
	[PG_CONNECTING] = "connecting",
	[PG_CONNECTED] = "connected",
	[PG_AUTHING] = "authenticating",
	[PG_ONLINE] = "online",
	[PG_KEY_REFUSED] = "key_refused",
};

/* --------------------------------------------------------------- requests */

/* Requests may carry a password: overwrite it before freeing. */
void
pg_req_free(struct pg_req *r)
{
	json_t *pw = json_object_get(r->frame, "password");

	if (json_is_string(pw))
		util_zero((char *)json_string_value(pw), json_string_length(pw));
	json_decref(r->frame);
	free(r);
}

void
pg_reqs_fail(struct pgestor *pg, struct pg_reqq *q, const char *code,
    const char *msg)
{
	struct pg_req *r;

	while ((r = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, r, entry);
		if (r->cb != NULL)
			r->cb(NULL, code, msg, r->arg);
		pg_req_free(r);
	}
}

/* Send a frame now, numbered, with its reply expected in order. */
void
pg_req_send(struct pgestor *pg, struct pg_req *r)
{
	r->n = pg->next_n++;
	json_object_set_new(r->frame, "n", json_integer(r->n));
	TAILQ_INSERT_TAIL(&pg->inflight, r, entry);
	conn_send(pg->c, r->frame);
}

void
pg_req_internal(struct pgestor *pg, json_t *frame, pg_reply_cb cb)
{
	struct pg_req *r = xcalloc(1, sizeof(*r));

	r->frame = frame;
	r->cb = cb;
	r->arg = pg;
	r->deadline = util_mono() + PG_REQUEST_TIMEOUT;
	pg_req_send(pg, r);
}

static bool
can_send(const struct pgestor *pg, const struct pg_req *r)
{
	if (r->need_session)
		return pg->state == PG_ONLINE;
	return pg->state == PG_CONNECTED || pg->state == PG_ONLINE;
}

void
pg_reqs_flush(struct pgestor *pg)
{
	struct pg_req *r, *next;

	for (r = TAILQ_FIRST(&pg->queue); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (!can_send(pg, r) || pg->c == NULL)
			continue;
		TAILQ_REMOVE(&pg->queue, r, entry);
		pg_req_send(pg, r);
	}
}

/*
 * An answer to lookup is what the peer trusts keys and addresses from:
 * one with a field that is not what the gestor writes (a fingerprint that
 * is not one, an address that is not a host, another user) is refused
 * whole, and logged.
 */
bool
pg_bad_lookup(struct pg_req *r, json_t *reply)
{
	const char *t = json_string_value(json_object_get(r->frame, "t"));
	const char *user = json_string_value(json_object_get(r->frame, "user"));
	char err[128];

	if (t == NULL || strcmp(t, "lookup") != 0 ||
	    wire_lookup_reply(reply, user, err, sizeof(err)) == 0)
		return false;
	log_warnx("peer_gestor: the gestor's answer to lookup %s refused: %s",
	    user != NULL ? user : "?", err);
	return true;
}

void
pgestor_watch(struct pgestor *pg, json_t *users)
{
	json_decref(pg->watch);
	pg->watch = json_deep_copy(users);
	if (pg->state == PG_ONLINE)
		pg_req_internal(pg, json_pack("{s:s,s:O}", "t", "watch", "users",
		    pg->watch), NULL);
}

/* Expire queued requests; true when the one awaiting its reply is late. */
bool
pg_reqs_expire(struct pgestor *pg, double now)
{
	struct pg_req *r, *next;
	char msg[1024];

	for (r = TAILQ_FIRST(&pg->queue); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->deadline > now)
			continue;
		TAILQ_REMOVE(&pg->queue, r, entry);
		snprintf(msg, sizeof(msg), "no gestor reachable%s%s",
		    *pg->last_error ? ": " : "", pg->last_error);
		if (r->cb != NULL)
			r->cb(NULL, r->need_session && *pg->account == '\0' ?
			    ERR_NOT_LOGGED_IN : ERR_GESTOR_UNAVAILABLE, msg, r->arg);
		pg_req_free(r);
	}
	r = TAILQ_FIRST(&pg->inflight);
	return r != NULL && r->deadline <= now;
}

/* ------------------------------------------------------------ the gestor's key */

/*
 * The gestor's key must be the pinned one: from the configuration, else
 * the one recorded on first use.
 */
bool
pg_gestor_key_ok(struct pgestor *pg, const char *fp)
{
	const char *pin = pg->d->cfg->gestor_fingerprint;
	char known[P2P_FP_LEN + 1] = "";

	if (*pin != '\0') {
		if (strcmp(pin, fp) == 0) {
			pstore_setting_set(pg->ps, "gestor.fingerprint", fp);
			return true;
		}
		log_error("peer_gestor: gestor at %s has key %s but gestor.fingerprint "
		    "pins %s; refusing it", pg->addr, fp, pin);
		snprintf(pg->last_error, sizeof(pg->last_error),
		    "gestor key %s does not match gestor.fingerprint", fp);
		return false;
	}
	if (pstore_setting_get(pg->ps, "gestor.fingerprint", known,
	    sizeof(known)) != PSTORE_OK) {
		log_warnx("peer_gestor: trusting gestor key %s on first use "
		    "(pin it with gestor.fingerprint)", fp);
		pstore_setting_set(pg->ps, "gestor.fingerprint", fp);
		return true;
	}
	if (strcmp(known, fp) == 0)
		return true;
	log_error("peer_gestor: the gestor's key changed from %s to %s; refusing "
	    "it. If this change is expected, set gestor.fingerprint = \"%s\" in "
	    "%s and reload", known, fp, fp,
	    pg->d->cfg->path != NULL ? pg->d->cfg->path : "the configuration");
	snprintf(pg->last_error, sizeof(pg->last_error),
	    "gestor key changed to %s; set gestor.fingerprint to accept it", fp);
	return false;
}

/* ---------------------------------------------------------- the session */

/*
 * The answers that end the account session: about the account itself,
 * not about the gestor's state (the table at the top of peer_gestor.c).
 */
bool
pgestor_permanent(const char *code)
{
	return code != NULL && (strcmp(code, ERR_KEY_MISMATCH) == 0 ||
	    strcmp(code, ERR_NO_SUCH_USER) == 0 ||
	    strcmp(code, ERR_BAD_CREDENTIALS) == 0);
}

/* What the session's answer says the gestor takes (0: an older one). */
void
pg_session_caps(struct pgestor *pg, json_t *reply)
{
	json_int_t n = json_integer_value(json_object_get(reply, "mbox_put"));

	pg->mbox_put = n > 1 ? (int)(n < WIRE_MAX_PUT ? n : WIRE_MAX_PUT) : 0;
}

int
pgestor_mbox_put(struct pgestor *pg)
{
	return pg->state == PG_ONLINE ? pg->mbox_put : 0;
}

/*
 * The key this daemon takes mail for (mailbox.use "auto"): its identity's
 * raw Ed25519 public key in hex, sent with register, login and auth; ""
 * (none) with "never".
 */
const char *
pgestor_mail_key(struct pgestor *pg)
{
	if (!pg->d->cfg->mail_use)
		return "";
	seal_pk_hex(seal_key_public(identity_seal_key(pg->d->id)), pg->mailkey);
	return pg->mailkey;
}

/* ------------------------------------------------------------------ setters */

void
pgestor_set_account(struct pgestor *pg, const char *user)
{
	snprintf(pg->account, sizeof(pg->account), "%s", user != NULL ? user : "");
}

void
pgestor_set_listen(struct pgestor *pg, int port, const char *addr)
{
	pg->port = port;
	snprintf(pg->adv, sizeof(pg->adv), "%s", addr != NULL ? addr : "");
}

enum pg_state
pgestor_state(const struct pgestor *pg)
{
	return pg->state;
}

const char *
pgestor_state_name(const struct pgestor *pg)
{
	return pg_state_names[pg->state];
}

const char *
pgestor_address(const struct pgestor *pg)
{
	return pg->addr;
}

int64_t
pgestor_last_heartbeat(const struct pgestor *pg)
{
	return pg->last_hb;
}

const char *
pgestor_last_error(const struct pgestor *pg)
{
	return pg->last_error;
}

double
pgestor_retry_in(const struct pgestor *pg)
{
	double left;

	if (!evtimer_pending(pg->retry_ev, NULL))
		return -1;
	left = pg->retry_at - util_mono();
	return left > 0 ? left : 0;
}
