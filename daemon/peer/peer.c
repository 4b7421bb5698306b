/*
 * Peer mode: lifecycle, the account session and the account's control
 * commands (register, login, logout, status, lookup, fingerprint).
 * Messaging lives in peer_msg.c.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "listener.h"
#include "log.h"
#include "peer_int.h"
#include "pstore_mail.h"
#include "peer_relay.h"
#include "peer_route.h"
#include "util.h"
#include "valid.h"

static void	ctl_register(struct ctlreq *, json_t *, void *);
static void	ctl_login(struct ctlreq *, json_t *, void *);
static void	ctl_logout(struct ctlreq *, json_t *, void *);
static void	ctl_status(struct ctlreq *, json_t *, void *);
static void	ctl_lookup(struct ctlreq *, json_t *, void *);
static void	ctl_fingerprint(struct ctlreq *, json_t *, void *);

const ctl_handler peer_ctl_handlers[CMD__MAX] = {
	[CMD_REGISTER] = ctl_register,
	[CMD_LOGIN] = ctl_login,
	[CMD_LOGOUT] = ctl_logout,
	[CMD_STATUS] = ctl_status,
	[CMD_LOOKUP] = ctl_lookup,
	[CMD_FINGERPRINT] = ctl_fingerprint,
	[CMD_SEND] = peer_ctl_send,
	[CMD_WAIT] = peer_ctl_wait,
	[CMD_CANCEL] = peer_ctl_cancel,
	[CMD_HISTORY] = peer_ctl_history,
	[CMD_CHATS] = peer_ctl_chats,
	[CMD_PENDING] = peer_ctl_pending,
	[CMD_TRUST] = peer_ctl_trust,
	[CMD_WATCH] = peer_ctl_watch,
	[CMD_STATS] = peer_ctl_stats,
	[CMD_SEARCH] = peer_ctl_search,
	[CMD_EXPORT] = peer_ctl_export,
	[CMD_IMPORT] = peer_ctl_import,
	[CMD_CHAT_DELETE] = peer_ctl_chat_delete,
	[CMD_GROUP_CREATE] = peer_ctl_group_create,
	[CMD_GROUP_ADD] = peer_ctl_group_add,
	[CMD_GROUP_REMOVE] = peer_ctl_group_remove,
	[CMD_GROUP_RENAME] = peer_ctl_group_rename,
	[CMD_GROUP_LEAVE] = peer_ctl_group_leave,
	[CMD_GROUP_SHOW] = peer_ctl_group_show,
	[CMD_GROUPS] = peer_ctl_groups,
	[CMD_SEND_FILE] = peer_ctl_send_file,
	[CMD_FILES] = peer_ctl_files,
	[CMD_SAVE] = peer_ctl_save,
	[CMD_ACCEPT] = peer_ctl_accept,
	[CMD_REJECT] = peer_ctl_reject,
	/* reload, shutdown, version: main.c's, for every mode */
};

/* A control request waiting on the gestor. */
struct pending_ctl {
	struct ctlreq	*r;
	struct peer	*p;
	char		 user[P2P_USERNAME_MAX + 1];
};

static struct pending_ctl *
pending_new(struct ctlreq *r, struct peer *p, const char *user)
{
	struct pending_ctl *pc = xcalloc(1, sizeof(*pc));

	pc->r = r;
	pc->p = p;
	snprintf(pc->user, sizeof(pc->user), "%s", user != NULL ? user : "");
	return pc;
}

/* ---------------------------------------------------------------- gestor link */

static void
on_online(void *arg)
{
	struct peer *p = arg;

	peer_msgs_online(p);
}

static void
on_offline(void *arg)
{
	log_info("peer: gestor link down; delivery goes on to known addresses");
}

/*
 * The session is over (logout, or the gestor no longer takes the key):
 * the daemon speaks for nobody, so its links to other peers close and
 * queued messages wait for a login (docs/SESSIONS.md).
 */
static void
end_session(struct peer *p)
{
	*p->user = '\0';
	pstore_setting_set(p->store, "account.session", "0");
	peer_msgs_logged_out(p);
}

static void
on_session_lost(const char *code, const char *message, void *arg)
{
	struct peer *p = arg;
	json_t *ev;

	log_error("peer: the gestor ended the session of %s: %s: %s; run "
	    "'p2pchatctl login %s' to use this daemon again", p->user, code,
	    message, p->user);
	ev = json_pack("{s:s,s:s,s:s}", "event", "error", "code", code,
	    "message", message);
	peer_event(p, ev);
	json_decref(ev);
	end_session(p);
}

static void
on_presence(const struct w_presence *pr, void *arg)
{
	struct peer *p = arg;
	json_t *ev;

	peer_contact_update(p, pr->user, pr->key, pr->addr, pr->port,
	    pr->last_seen);
	ev = json_pack("{s:s,s:s,s:b,s:s,s:i}", "event", "presence", "user",
	    pr->user, "online", pr->online, "addr", pr->addr, "port", pr->port);
	peer_event(p, ev);
	json_decref(ev);
	peer_msgs_presence(p, pr);
}

static void
on_relay_invite(const struct w_relay *offer, void *arg)
{
	peer_relay_invite(arg, offer);
}

static void
on_mail(void *arg)
{
	peer_msgs_mail(arg);
}

static const struct pgestor_cbs peer_pg_cbs = {
	on_online, on_offline, on_session_lost, on_presence, on_relay_invite,
	on_mail
};

/* ---------------------------------------------------------------- account */

static bool
refuse_if_logged_in(struct ctlreq *r, struct peer *p)
{
	if (*p->user == '\0')
		return false;
	ctlreq_error_obj(r, ERR_ALREADY_LOGGED_IN, json_pack("{s:s}", "user",
	    p->user), "already logged in as %s; run logout first", p->user);
	return true;
}

/*
 * A data_dir belongs to one account for life: its history, contacts and
 * key are that account's. After logout another name could register or
 * log in and would see them, with the same key.
 */
static bool
refuse_other_account(struct ctlreq *r, struct peer *p, const char *user,
    const char *t)
{
	char owner[P2P_USERNAME_MAX + 1];

	if (pstore_setting_get(p->store, "account.user", owner,
	    sizeof(owner)) != PSTORE_OK || *owner == '\0' ||
	    strcmp(owner, user) == 0)
		return false;
	ctlreq_error_obj(r, ERR_WRONG_ACCOUNT, json_pack("{s:s,s:s}", "user",
	    user, "owner", owner), "this daemon's store belongs to %s: cannot "
	    "%s %s here (one daemon, one account: start another p2pchatd "
	    "with its own config and data_dir for %s)", owner, t, user, user);
	return true;
}

static void
on_account_reply(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct pending_ctl *pc = arg;
	struct peer *p = pc->p;
	json_t *res;

	if (reply == NULL) {
		ctlreq_error(pc->r, code, "%s", msg);
		free(pc);
		return;
	}
	snprintf(p->user, sizeof(p->user), "%s", pc->user);
	if (pstore_setting_set(p->store, "account.user", p->user) != PSTORE_OK ||
	    pstore_setting_set(p->store, "account.session", "1") != PSTORE_OK)
		log_warnx("peer: cannot store the session; it will not survive "
		    "a restart");
	log_info("peer: logged in as %s", p->user);
	res = json_pack("{s:s,s:s}", "user", p->user, "fingerprint",
	    identity_fingerprint(p->d->id));
	if (json_object_get(reply, "key_changed") != NULL)
		json_object_set(res, "key_changed",
		    json_object_get(reply, "key_changed"));
	pgestor_session_started(p->pg, p->user, reply);
	ctlreq_reply(pc->r, res);
	free(pc);
}

/* register and login differ only in the frame type. */
static void
account_request(struct ctlreq *r, json_t *args, struct peer *p, const char *t)
{
	const char *user = json_string_value(json_object_get(args, "user"));
	json_t *pw = json_object_get(args, "password");

	if (refuse_if_logged_in(r, p) || refuse_other_account(r, p, user, t))
		return;
	if (pw == NULL) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "missing argument 'password'");
		return;
	}
	/*
	 * A copy: the control socket zeroes the request's password as soon
	 * as this returns, and the frame may wait for the gestor link.
	 */
	pgestor_request(p->pg, json_pack("{s:s,s:s,s:o,s:s}", "t", t, "user",
	    user, "password", json_stringn(json_string_value(pw),
	    json_string_length(pw)), "mail", pgestor_mail_key(p->pg)), false,
	    on_account_reply,
	    pending_new(r, p, user));
}

static void
ctl_register(struct ctlreq *r, json_t *args, void *ctx)
{
	account_request(r, args, ((struct daemon *)ctx)->peer, "register");
}

static void
ctl_login(struct ctlreq *r, json_t *args, void *ctx)
{
	account_request(r, args, ((struct daemon *)ctx)->peer, "login");
}

static void
ctl_logout(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer *p = ((struct daemon *)ctx)->peer;

	if (*p->user == '\0') {
		ctlreq_error(r, ERR_NOT_LOGGED_IN, "not logged in");
		return;
	}
	log_info("peer: %s logged out", p->user);
	end_session(p);
	pgestor_reset(p->pg);
	ctlreq_reply(r, NULL);
}

static void
ctl_status(struct ctlreq *r, json_t *args, void *ctx)
{
	struct daemon *d = ctx;
	struct peer *p = d->peer;
	double retry;
	json_t *o;

	o = json_pack("{s:s,s:s?,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:I}",
	    "mode", "peer", "user", *p->user ? p->user : NULL,
	    "state", *p->user ? "logged_in" : "logged_out",
	    "gestor", pgestor_address(p->pg),
	    "gestor_state", pgestor_state_name(p->pg),
	    "last_heartbeat", peer_iso(pgestor_last_heartbeat(p->pg)),
	    "listen", p->listen_addr,
	    "advertise", *d->cfg->advertise ? d->cfg->advertise : "",
	    "fingerprint", identity_fingerprint(d->id),
	    "pending", (json_int_t)peer_msgs_pending_count(p));
	if (p->msgs != NULL) {
		json_object_update_new(o, peer_route_status(p->msgs));
		json_object_update_new(o, peer_msgs_mail_status(p));
	}
	json_object_set_new(o, "last_seq", json_integer(peer_msgs_last_seq(p)));
	/* Of those pending, how many wait in their recipients' mailboxes. */
	json_object_set_new(o, "deposited",
	    json_integer(pmail_deposited(p->store)));
	if (pstore_failing_since(p->store) != 0) {
		json_object_set_new(o, "store_error",
		    json_string(pstore_last_error(p->store)));
		json_object_set_new(o, "store_failing_since",
		    peer_iso(pstore_failing_since(p->store) / 1000));
	}
	if (*pgestor_last_error(p->pg) != '\0' &&
	    pgestor_state(p->pg) != PG_ONLINE)
		json_object_set_new(o, "gestor_error",
		    json_string(pgestor_last_error(p->pg)));
	if ((retry = pgestor_retry_in(p->pg)) >= 0)
		json_object_set_new(o, "gestor_retry_in",
		    json_integer((json_int_t)ceil(retry)));
	ctlreq_reply(r, o);
}

/* ---------------------------------------------------------------- lookups */

static json_t *
contact_row(struct peer *p, const char *user, bool online, bool known_online)
{
	struct pcontact c;
	json_t *o;

	if (pstore_contact_get(p->store, user, &c) != PSTORE_OK)
		return NULL;
	/* One JSON type for "online" everywhere: a boolean, null if unknown. */
	o = json_pack("{s:s,s:o,s:s?,s:i,s:o,s:s,s:b}", "user", c.name,
	    "online", !known_online ? json_null() : json_boolean(online),
	    "addr", *c.addr ? c.addr : NULL, "port", c.port,
	    "last_seen", peer_iso(c.last_seen), "fingerprint", c.fingerprint,
	    "verified", c.verified && *c.prev_fingerprint == '\0');
	if (p->msgs != NULL)
		json_object_update_new(o, peer_route_json(p->msgs, user));
	if (*c.prev_fingerprint != '\0')
		json_object_set_new(o, "warning", json_pack("s++", "key changed (was ",
		    c.prev_fingerprint, "); compare fingerprints, then run trust"));
	return o;
}

/* The gestor's refusal of a lookup for user; no_such_user worded as everywhere. */
static void
lookup_error(struct ctlreq *r, const char *code, const char *msg,
    const char *user)
{
	if (strcmp(code, ERR_NO_SUCH_USER) == 0)
		ctlreq_error_obj(r, code, json_pack("{s:s}", "user", user),
		    "no such user: %s", user);
	else
		ctlreq_error(r, code, "%s", msg);
}

static void
on_lookup_reply(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct pending_ctl *pc = arg;
	struct peer *p = pc->p;
	json_t *row;

	if (reply != NULL) {
		peer_contact_update(p, pc->user,
		    json_string_value(json_object_get(reply, "fingerprint")),
		    json_string_value(json_object_get(reply, "addr")),
		    (int)json_integer_value(json_object_get(reply, "port")),
		    json_integer_value(json_object_get(reply, "last_seen")));
		row = contact_row(p, pc->user,
		    json_is_true(json_object_get(reply, "online")), true);
	} else if (strcmp(code, ERR_NO_SUCH_USER) != 0 &&
	    (row = contact_row(p, pc->user, false, false)) != NULL) {
		json_object_set_new(row, "warning", json_pack("s++",
		    "gestor not reachable (", msg, "); showing cached data"));
	}
	if (reply == NULL && (strcmp(code, ERR_NO_SUCH_USER) == 0 || row == NULL))
		lookup_error(pc->r, code, msg, pc->user);
	else if (row == NULL)
		ctlreq_error(pc->r, ERR_INTERNAL, "cannot read the contact");
	else
		ctlreq_reply(pc->r, row);
	free(pc);
}

static void
ctl_lookup(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer *p = ((struct daemon *)ctx)->peer;
	const char *user = json_string_value(json_object_get(args, "user"));

	if (*p->user == '\0') {
		ctlreq_error(r, ERR_NOT_LOGGED_IN, "not logged in; run login first");
		return;
	}
	pgestor_request(p->pg, json_pack("{s:s,s:s}", "t", "lookup", "user", user),
	    true, on_lookup_reply, pending_new(r, p, user));
}

static void
fingerprint_reply(struct ctlreq *r, const char *user, const char *fp)
{
	char groups[64];

	identity_fp_groups(fp, groups, sizeof(groups));
	ctlreq_reply(r, json_pack("{s:s?,s:s,s:s}", "user", user,
	    "fingerprint", fp, "groups", groups));
}

static void
on_fp_reply(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct pending_ctl *pc = arg;
	const char *fp;

	if (reply == NULL) {
		lookup_error(pc->r, code, msg, pc->user);
	} else {
		fp = json_string_value(json_object_get(reply, "fingerprint"));
		peer_contact_update(pc->p, pc->user, fp,
		    json_string_value(json_object_get(reply, "addr")),
		    (int)json_integer_value(json_object_get(reply, "port")),
		    json_integer_value(json_object_get(reply, "last_seen")));
		fingerprint_reply(pc->r, pc->user, fp);
	}
	free(pc);
}

static void
ctl_fingerprint(struct ctlreq *r, json_t *args, void *ctx)
{
	struct daemon *d = ctx;
	struct peer *p = d->peer;
	const char *user = json_string_value(json_object_get(args, "user"));
	struct pcontact c;

	if (user == NULL || strcmp(user, p->user) == 0) {
		fingerprint_reply(r, *p->user ? p->user : NULL,
		    identity_fingerprint(d->id));
		return;
	}
	if (pstore_contact_get(p->store, user, &c) == PSTORE_OK &&
	    *c.fingerprint != '\0') {
		fingerprint_reply(r, user, c.fingerprint);
		return;
	}
	if (*p->user == '\0') {
		ctlreq_error(r, ERR_NOT_LOGGED_IN, "unknown contact %s, and not "
		    "logged in to ask the gestor", user);
		return;
	}
	pgestor_request(p->pg, json_pack("{s:s,s:s}", "t", "lookup", "user", user),
	    true, on_fp_reply, pending_new(r, p, user));
}

/* ---------------------------------------------------------------- lifecycle */

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	peer_msgs_accept(arg, fd, sa, (socklen_t)salen, NULL);
}

static void
apply_listen(struct peer *p)
{
	const struct config *cfg = p->d->cfg;
	char host[256];
	int port;

	if (strcmp(cfg->advertise, "none") == 0)
		pgestor_set_listen(p->pg, 0, NULL);	/* publish no address */
	else if (*cfg->advertise != '\0' && config_split_hostport(cfg->advertise, host,
	    sizeof(host), &port, p->listen_port) == 0)
		pgestor_set_listen(p->pg, port, host);
	else
		pgestor_set_listen(p->pg, p->listen_port, NULL);
}

/*
 * listen without a port (the default): 7001, else, when another user's
 * daemon has it, any port the kernel gives, published to the gestor by
 * the heartbeats like any other, so a second daemon on the host starts
 * without editing anything. A port written in listen is kept or fails.
 */
static int
peer_listen(struct peer *p, char **cause)
{
	const char *listen = p->d->cfg->listen;
	char host[256], any[300];
	int port;

	p->listener = listener_open(p->d->base, listen, P2P_DEFAULT_PEER_PORT,
	    on_accept, p, p->listen_addr, sizeof(p->listen_addr), cause);
	if (p->listener != NULL)
		return 0;
	if (errno != EADDRINUSE || config_split_hostport(listen, host,
	    sizeof(host), &port, -1) == -1 || port != -1)
		return -1;
	snprintf(any, sizeof(any), strchr(host, ':') ? "[%s]:0" : "%s:0", host);
	log_warnx("peer: %s; port %d is taken (another user's daemon?), so "
	    "listening on a port the kernel chooses, published to the gestor; "
	    "set listen with a port for a fixed one (port forwarding)", *cause,
	    P2P_DEFAULT_PEER_PORT);
	free(*cause);
	p->listener = listener_open(p->d->base, any, P2P_DEFAULT_PEER_PORT,
	    on_accept, p, p->listen_addr, sizeof(p->listen_addr), cause);
	return p->listener != NULL ? 0 : -1;
}

int
peer_start(struct daemon *d, char **cause)
{
	struct peer *p = xcalloc(1, sizeof(*p));
	char path[4096], flag[8] = "";

	p->d = d;
	d->peer = p;
	snprintf(path, sizeof(path), "%s/peer.db", d->cfg->data_dir);
	if ((p->store = pstore_open(path, d->cfg->sync_full, cause)) == NULL)
		return -1;
	if (peer_listen(p, cause) == -1)
		return -1;
	p->listen_port = listener_port(p->listener);
	p->pg = pgestor_new(d, p->store, &peer_pg_cbs, p);
	apply_listen(p);
	if (pstore_setting_get(p->store, "account.session", flag,
	    sizeof(flag)) == PSTORE_OK && strcmp(flag, "1") == 0 &&
	    pstore_setting_get(p->store, "account.user", p->user,
	    sizeof(p->user)) == PSTORE_OK && valid_username(p->user)) {
		log_info("peer: resuming the session of %s", p->user);
		pgestor_set_account(p->pg, p->user);
	} else
		*p->user = '\0';
	if (peer_msgs_start(p, cause) == -1)
		return -1;
	log_info("peer: listening on %s", p->listen_addr);
	pgestor_start(p->pg);
	return 0;
}

void
peer_reload(struct daemon *d)
{
	apply_listen(d->peer);
}

static void
mail_stopped(void *arg)
{
	struct peer *p = arg;

	pgestor_stop(p->pg);
}

void
peer_stop(struct daemon *d)
{
	struct peer *p = d->peer;

	if (p == NULL)
		return;
	if (p->listener != NULL) {
		listener_close(p->listener);
		p->listener = NULL;
	}
	peer_msgs_stop(p);
	/* The gestor link stays up while the last deposits go (bounded by
	 * the daemon's stop grace). */
	if (p->pg != NULL && !peer_msgs_mail_stop(p, mail_stopped, p))
		pgestor_stop(p->pg);
}

bool
peer_stop_busy(struct daemon *d)
{
	return d->peer != NULL && peer_msgs_mail_stopping(d->peer);
}

void
peer_free(struct daemon *d)
{
	struct peer *p = d->peer;

	if (p == NULL)
		return;
	peer_stop(d);
	peer_msgs_free(p);
	pgestor_free(p->pg);
	pstore_close(p->store);
	free(p);
	d->peer = NULL;
}
