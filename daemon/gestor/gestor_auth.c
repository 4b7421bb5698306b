/*
 * How a connection to the gestor becomes a session: `register` (a new
 * account: its password hashed on the hashing thread, its key bound),
 * `login` (the password checked there; a new key is bound), `auth` (a
 * resume: the TLS key must be the account's). Failed logins and
 * registrations are limited (gestor_limits.c); the session itself, its
 * table and its timers are gestor.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gestor_int.h"
#include "jsonw.h"
#include "log.h"
#include "util.h"
#include "valid.h"
#include "wire.h"

/*
 * One key, one account: a daemon's key (its data_dir) already bound to
 * another account cannot register or take a second one. The other
 * account is not named.
 */
#define KEY_TAKEN_MSG	"this daemon's key already belongs to another " \
	"account (one daemon, one account: use another data_dir for it)"

/* Rate-limit check before a password or key check; true = refused. */
static bool
limited(struct gconn *gc, struct wire_msg *m, const char *user)
{
	char msg[160];

	if (!glimits_login_refused(gc, user, msg, sizeof(msg)))
		return false;
	gc->g->stats.login_limited++;
	gestor_reply_err(gc, m->frame, ERR_RATE_LIMITED, msg);
	return true;
}

/* The request's user: its check did not fail after all. */
static void
refund(struct gconn *gc)
{
	glimits_login_refund(gc, json_string_value(json_object_get(gc->req,
	    "user")));
}

static bool
already_authed(struct gconn *gc, struct wire_msg *m)
{
	if (gc->state != GC_AUTHED)
		return false;
	gestor_reply_err(gc, m->frame, ERR_BAD_REQUEST,
	    "this connection is already authenticated");
	return true;
}

/* register: hash (worker thread), then add the account (store). */
static void
on_register_added(enum gstore_rc rc, void *arg)
{
	struct gconn *gc = arg;
	struct guser *u = &gc->job_user;

	gc->op = NULL;
	if (rc == GSTORE_EXISTS) {
		/* Counted, so registration cannot probe names quickly. */
		glimits_name_taken(gc);
		log_info_from(gc->addr,
		    "gestor: register %s from %s: name taken", u->name,
		    gc->addr);
		gestor_reply_err(gc, gc->req, ERR_USER_EXISTS, "that username is taken");
	} else if (rc == GSTORE_KEY_TAKEN) {
		log_info_from(gc->addr,
		    "gestor: register %s from %s: key %s is another "
		    "account's", u->name, gc->addr, gc->fp);
		gestor_reply_err(gc, gc->req, ERR_KEY_TAKEN, KEY_TAKEN_MSG);
	} else if (rc != GSTORE_OK)
		gestor_reply_store_err(gc, gc->req, rc, "store the account");
	else {
		gc->g->stats.registrations++;
		log_info("gestor: registered %s from %s, key %s", u->name,
		    gc->addr, gc->fp);
		gestor_bind_session(gc, u->name, "");
		gestor_reply_ok(gc, gc->req, json_pack("{s:s,s:s,s:i}", "user",
		    u->name, "fingerprint", gc->fp, "mbox_put", WIRE_MAX_PUT));
	}
	gestor_req_end(gc);
}

static void
on_register_hashed(bool ok, const char *hash, void *arg)
{
	struct gconn *gc = arg;
	struct guser *u = &gc->job_user;

	gc->job = NULL;
	if (!ok) {
		gestor_reply_err(gc, gc->req, ERR_INTERNAL, "cannot hash the password");
		gestor_req_end(gc);
		return;
	}
	snprintf(u->hash, sizeof(u->hash), "%s", hash);
	gc->op = gstore_user_add(gc->g->store, u, on_register_added, gc);
}

/* The hashing queue is shared per source address (IPv6: per /64). */
static const char *
hash_source(struct gconn *gc)
{
	static char key[64];

	ratelimit_addr_key(gc->addr, key, sizeof(key));
	return key;
}

/* The hashing queue refused the job: this source has enough waiting. */
static void
hash_busy(struct gconn *gc)
{
	gc->g->stats.hash_busy++;
	log_warnx_from(gc->addr,
	    "gestor: %s: too many password checks waiting from this "
	    "address; refused", gc->addr);
	gestor_reply_err(gc, gc->req, ERR_BUSY, "too many password checks are "
	    "waiting from your address; try again in a few seconds");
	gestor_req_end(gc);
}

void
gestor_on_register(struct gconn *gc, struct wire_msg *m)
{
	struct guser *u = &gc->job_user;
	char msg[160];

	if (already_authed(gc, m) || limited(gc, m, m->u.cred.user))
		return;
	if (glimits_register_refused(gc, msg, sizeof(msg))) {
		gc->g->stats.register_limited++;
		gestor_reply_err(gc, m->frame, ERR_RATE_LIMITED, msg);
		return;
	}
	glimits_register_started(gc);
	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", m->u.cred.user);
	snprintf(u->fingerprint, sizeof(u->fingerprint), "%s", gc->fp);
	u->created = gestor_now();
	gestor_req_start(gc, m);
	gc->job = hashpool_hash(gc->g->hashpool, hash_source(gc),
	    m->u.cred.password, m->u.cred.password_len, on_register_hashed, gc);
	if (gc->job == NULL)
		hash_busy(gc);
}

/* login: read the account (store), check the password (worker thread),
 * bind a new key (store), then the session. */
static void
login_finish(struct gconn *gc, bool changed)
{
	struct guser *u = &gc->job_user;

	gc->g->stats.logins++;
	log_info("gestor: login %s from %s%s", u->name, gc->addr,
	    changed ? " with a new key" : "");
	gestor_bind_session(gc, u->name, u->mail);
	if (changed) {
		log_info("gestor: %s key changed to %s", u->name, gc->fp);
		snprintf(u->fingerprint, sizeof(u->fingerprint), "%s", gc->fp);
		u->online = false;
		gestor_notify_watchers(gc->g, u);
	}
	gestor_reply_ok(gc, gc->req, json_pack("{s:s,s:s,s:b,s:i}", "user",
	    u->name, "fingerprint", gc->fp, "key_changed", changed, "mbox_put",
	    WIRE_MAX_PUT));
	gestor_req_end(gc);
}

static void
on_login_keyed(enum gstore_rc rc, void *arg)
{
	struct gconn *gc = arg;

	gc->op = NULL;
	if (rc == GSTORE_KEY_TAKEN) {
		log_info_from(gc->addr,
		    "gestor: login %s from %s: key %s is another account's",
		    gc->job_user.name, gc->addr, gc->fp);
		gestor_reply_err(gc, gc->req, ERR_KEY_TAKEN, KEY_TAKEN_MSG);
		gestor_req_end(gc);
		return;
	}
	if (rc != GSTORE_OK) {
		gestor_reply_store_err(gc, gc->req, rc, "store the new key");
		gestor_req_end(gc);
		return;
	}
	login_finish(gc, true);
}

static void
on_login_checked(bool ok, const char *unused, void *arg)
{
	struct gconn *gc = arg;
	struct guser *u = &gc->job_user;

	gc->job = NULL;
	if (!ok || *u->name == '\0') {
		const char *user = json_string_value(json_object_get(gc->req,
		    "user"));

		gc->g->stats.bad_credentials++;
		log_warnx_from(gc->addr,
		    "gestor: login failed for %s from %s", user, gc->addr);
		gestor_reply_err(gc, gc->req, ERR_BAD_CREDENTIALS,
		    "unknown user or wrong password");
		gestor_req_end(gc);
		return;
	}
	refund(gc);
	if (strcmp(u->fingerprint, gc->fp) == 0) {
		login_finish(gc, false);
		return;
	}
	gc->op = gstore_user_set_key(gc->g->store, u->name, gc->fp,
	    on_login_keyed, gc);
}

static void
on_login_read(enum gstore_rc rc, const struct guser *found, void *arg)
{
	struct gconn *gc = arg;
	struct guser *u = &gc->job_user;
	const char *user = json_string_value(json_object_get(gc->req, "user"));
	json_t *pw = json_object_get(gc->req, "password");

	gc->op = NULL;
	if (rc != GSTORE_OK && rc != GSTORE_NOTFOUND) {
		refund(gc);
		gestor_reply_store_err(gc, gc->req, rc, "check the password");
		gestor_req_end(gc);
		return;
	}
	if (rc == GSTORE_OK)
		*u = *found;
	else
		memset(u, 0, sizeof(*u));	/* a dummy check all the same */
	log_debug("gestor: login %s: checking the password", user);
	gc->job = hashpool_verify(gc->g->hashpool, hash_source(gc),
	    json_string_value(pw), json_string_length(pw),
	    rc == GSTORE_OK ? u->hash : NULL, on_login_checked, gc);
	util_zero(u->hash, sizeof(u->hash));
	if (gc->job == NULL) {
		refund(gc);
		hash_busy(gc);
	}
}

void
gestor_on_login(struct gconn *gc, struct wire_msg *m)
{
	if (already_authed(gc, m) || limited(gc, m, m->u.cred.user))
		return;
	/*
	 * Counted as failed until it succeeds, so that logins in flight
	 * together (many connections) cannot all pass the limit.
	 */
	glimits_login_started(gc, m->u.cred.user);
	gestor_req_start(gc, m);
	gc->op = gstore_user_get(gc->g->store, m->u.cred.user, on_login_read, gc);
}

static void
on_auth_read(enum gstore_rc rc, const struct guser *u, void *arg)
{
	struct gconn *gc = arg;
	const char *user = json_string_value(json_object_get(gc->req, "user"));

	gc->op = NULL;
	if (rc != GSTORE_OK && rc != GSTORE_NOTFOUND)
		gestor_reply_store_err(gc, gc->req, rc, "check the key");
	else if (rc == GSTORE_NOTFOUND || strcmp(u->fingerprint, gc->fp) != 0) {
		/*
		 * Not counted in the failed-login limits: it guesses no
		 * password (TLS proved the key; docs/SESSIONS.md).
		 */
		gc->g->stats.key_mismatch++;
		log_warnx_from(gc->addr,
		    "gestor: auth failed for %s from %s: key is not the "
		    "account's", user, gc->addr);
		gestor_reply_err(gc, gc->req, ERR_KEY_MISMATCH,
		    "this key is not bound to the account; log in with the password");
	} else {
		gc->g->stats.logins++;
		log_info("gestor: auth %s from %s", user, gc->addr);
		gestor_bind_session(gc, user, u->mail);
		gestor_reply_ok(gc, gc->req, json_pack("{s:s,s:s,s:i}", "user",
		    user, "fingerprint", gc->fp, "mbox_put", WIRE_MAX_PUT));
	}
	gestor_req_end(gc);
}

/*
 * A resume proven by the key: not refused by the password-guessing
 * limits, so that a daemon restarted during a campaign against its user
 * still resumes (issue 24 item 9).
 */
void
gestor_on_auth(struct gconn *gc, struct wire_msg *m)
{
	if (already_authed(gc, m))
		return;
	gestor_req_start(gc, m);
	gc->op = gstore_user_get(gc->g->store, m->u.user.user, on_auth_read, gc);
}
