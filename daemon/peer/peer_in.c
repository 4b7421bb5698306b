/*
 * Incoming connections from other peers: a connection says hello with a
 * username, its TLS key must be that user's (pinned, else the key the
 * gestor publishes; such lookups are rate-limited per address, and for
 * a connection through the relay, which all come from the relay's
 * address, per account that asked the gestor for it: the hello must be
 * that account's), then
 * its msg frames go to the group commit (pm_receive, peer_queue.c),
 * which calls pm_in_received once each is stored: the ack goes out
 * only then. A connection carries messages one way, to us.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer_msg.h"
#include "jsonw.h"
#include "ratelimit.h"
#include "util.h"
#include "wire_hot.h"

enum in_state { IN_HELLO, IN_VERIFYING, IN_READY };

/* Incoming connection from another peer. */
struct pin {
	TAILQ_ENTRY(pin)	 entry;
	struct peer_msgs	*pm;
	struct conn		*c;		/* NULL once closed */
	int			 refs;		/* the queue holds one per message */
	enum in_state		 state;
	char			 user[P2P_USERNAME_MAX + 1];
	char			 fp[P2P_FP_LEN + 1];
	char			 addr[64];
	char			 relayed_for[P2P_USERNAME_MAX + 1];	/* "" direct */
	struct event		*hello_ev;	/* TLS + hello deadline */
	/* acks {ids} being filled until the commit ends (in_ack_batch) */
	char			*acks;
	size_t			 acks_len, nacks;
};

static void	on_in_ready(struct conn *, void *);
static void	on_in_frame(struct conn *, json_t *, void *);
static void	on_in_close(struct conn *, const char *, void *);
static void	on_in_hello_timeout(evutil_socket_t, short, void *);

static struct wire_hot *in_hot_parse(const unsigned char *, size_t, void *);
static void	on_in_hot(struct conn *, struct wire_hot *, void *);

static void	on_in_binary(struct conn *, const unsigned char *, size_t,
		    void *);

static const struct conn_cbs in_cbs = { on_in_ready, on_in_frame, on_in_close,
	NULL, in_hot_parse, on_in_hot, on_in_binary };


void
peer_msgs_accept(struct peer *p, int fd, const struct sockaddr *sa,
    socklen_t salen, const char *relayed_for)
{
	struct peer_msgs *pm = p->msgs;
	const struct config *cfg = p->d->cfg;
	struct timeval tv = daemon_tv(cfg->handshake_timeout);
	struct pin *in;

	if (pm->nins >= cfg->max_connections) {
		log_warnx_from("peer listener",
		    "peer_msg: refusing connection: max_connections (%ld)",
		    cfg->max_connections);
		evutil_closesocket(fd);
		return;
	}
	in = xcalloc(1, sizeof(*in));
	in->pm = pm;
	in->refs = 1;
	in->c = conn_accept(p->d->base, p->d->tls, fd, sa, salen,
	    (size_t)cfg->max_frame_bytes, cfg->handshake_timeout, &in_cbs, in);
	if (in->c == NULL) {
		free(in);
		return;
	}
	snprintf(in->addr, sizeof(in->addr), "%s", conn_peer_addr(in->c));
	if (relayed_for != NULL)
		snprintf(in->relayed_for, sizeof(in->relayed_for), "%s",
		    relayed_for);
	conn_set_untrusted(in->c, true);	/* until its hello is checked */
	/* TLS and hello within handshake_timeout, or the slot is freed. */
	in->hello_ev = evtimer_new(p->d->base, on_in_hello_timeout, in);
	if (in->hello_ev != NULL)
		evtimer_add(in->hello_ev, &tv);
	TAILQ_INSERT_TAIL(&pm->ins, in, entry);
	pm->nins++;
}

static void
pin_unref(struct pin *in)
{
	if (--in->refs > 0)
		return;
	if (in->hello_ev != NULL)
		event_free(in->hello_ev);
	free(in->acks);
	free(in);
}

/*
 * acks {ids}: the acks of one commit's messages from a sender that offers
 * "acks", one frame instead of one each (fewer frames to write, read and
 * dispatch on both sides). At most WIRE_MAX_ACKS ids a frame.
 */
#define ACKS_HEAD	"{\"t\":\"acks\",\"ids\":["
#define ACKS_BUF	(sizeof(ACKS_HEAD) + WIRE_MAX_ACKS * (P2P_MSGID_HEX + 3) + 2)

static void
in_flush_acks(struct pin *in)
{
	if (in->nacks == 0)
		return;
	/* The last id's ',' becomes the end. */
	memcpy(in->acks + in->acks_len - 1, "]}", 2);
	if (in->c != NULL)
		conn_send_text(in->c, in->acks, in->acks_len + 1);
	in->nacks = 0;
}

static void
in_ack_batch(struct pin *in, const char *id)
{
	if (in->acks == NULL)
		in->acks = xmalloc(ACKS_BUF);
	if (in->nacks == 0)
		in->acks_len = (size_t)snprintf(in->acks, ACKS_BUF, "%s", ACKS_HEAD);
	in->acks[in->acks_len++] = '"';
	memcpy(in->acks + in->acks_len, id, P2P_MSGID_HEX);
	in->acks_len += P2P_MSGID_HEX;
	memcpy(in->acks + in->acks_len, "\",", 2);
	in->acks_len += 2;
	if (++in->nacks == WIRE_MAX_ACKS)
		in_flush_acks(in);
}

void
pm_ins_flush_acks(struct peer_msgs *pm)
{
	struct pin *in;

	TAILQ_FOREACH(in, &pm->ins, entry)
		in_flush_acks(in);
}

static void
in_drop(struct pin *in, const char *code, const char *why)
{
	struct peer_msgs *pm = in->pm;

	log_warnx_from(in->addr, "peer_msg: closing %s (%s): %s", in->addr,
	    *in->user ? in->user : "no hello", why);
	if (in->c != NULL) {
		in_flush_acks(in);	/* what was stored before this */
		if (code != NULL)
			conn_send_error(in->c, code, why);
		pm_frx_gone(pm, in->c);	/* closed without on_in_close */
		conn_close(in->c);
		in->c = NULL;
		TAILQ_REMOVE(&pm->ins, in, entry);
		pm->nins--;
		pin_unref(in);
	}
}

static void
on_in_hello_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pin *in = arg;
	char why[80];

	if (in->c == NULL || in->state != IN_HELLO)
		return;
	snprintf(why, sizeof(why), "no hello within %.1f s",
	    in->pm->p->d->cfg->handshake_timeout);
	in_drop(in, ERR_NOT_AUTHENTICATED, why);
}

static void
on_in_ready(struct conn *c, void *arg)
{
	struct pin *in = arg;

	snprintf(in->fp, sizeof(in->fp), "%s", conn_peer_fingerprint(c));
}

static void
in_accept_hello(struct pin *in)
{
	json_t *hello;

	if (*in->pm->p->user == '\0') {
		/* Logged out while the caller's key was being checked. */
		in_drop(in, ERR_NOT_LOGGED_IN, "this daemon has no account");
		return;
	}
	hello = wire_hello_new(in->pm->p->user);
	in->state = IN_READY;
	conn_set_untrusted(in->c, false);
	if (in->hello_ev != NULL)
		evtimer_del(in->hello_ev);
	conn_send(in->c, hello);
	json_decref(hello);
	log_info("peer_msg: %s connected from %s", in->user, in->addr);
	in->pm->hooks->heard(in->pm, in->user);
}

static void
on_in_lookup(json_t *reply, const char *code, const char *msg, void *arg)
{
	struct pin *in = arg;
	const char *fp = json_string_value(json_object_get(reply, "fingerprint"));
	char why[300];

	if (in->c == NULL) {
		pin_unref(in);
		return;
	}
	conn_pause(in->c, false);
	if (reply == NULL) {
		snprintf(why, sizeof(why), "cannot check the key of %s: %s", in->user,
		    msg);
		util_utf8_trim(why);
		in_drop(in, code, why);
	} else if (fp == NULL || strcmp(fp, in->fp) != 0) {
		snprintf(why, sizeof(why), "claims to be %s but its key %s is not "
		    "the key the gestor published for %s", in->user, in->fp, in->user);
		in_drop(in, ERR_KEY_MISMATCH, why);
	} else {
		peer_contact_update(in->pm->p, in->user, fp,
		    json_string_value(json_object_get(reply, "addr")),
		    (int)json_integer_value(json_object_get(reply, "port")),
		    json_integer_value(json_object_get(reply, "last_seen")));
		in_accept_hello(in);
	}
	pin_unref(in);
}

/* A hello: the TLS key must be the claimed user's pinned or published key. */
static void
in_hello(struct pin *in, struct wire_msg *m)
{
	struct peer *p = in->pm->p;
	struct pcontact c;
	char key[80], why[120];

	snprintf(in->user, sizeof(in->user), "%s", m->u.hello.user);
	conn_set_caps(in->c, m->u.hello.caps);
	if (*p->user == '\0') {
		in_drop(in, ERR_NOT_LOGGED_IN, "this daemon has no account");
		return;
	}
	if (strcmp(in->user, p->user) == 0) {
		in_drop(in, ERR_KEY_MISMATCH, "a peer cannot claim our own name");
		return;
	}
	/* The gestor told us who asked for this relayed connection. */
	if (*in->relayed_for != '\0' && strcmp(in->user, in->relayed_for) != 0) {
		snprintf(why, sizeof(why), "relayed for %s, not for %s",
		    in->relayed_for, in->user);
		in_drop(in, ERR_NOT_AUTHENTICATED, why);
		return;
	}
	if (pstore_contact_get(p->store, in->user, &c) == PSTORE_OK &&
	    strcmp(c.fingerprint, in->fp) == 0) {
		in_accept_hello(in);
		return;
	}
	/*
	 * Every relayed connection comes from the relay's address: charge
	 * the account that asked for it, or nine made-up names through the
	 * relay would leave no lookup for anyone else relayed.
	 */
	if (*in->relayed_for != '\0')
		snprintf(key, sizeof(key), "relay:%s", in->relayed_for);
	else
		ratelimit_addr_key(in->addr, key, sizeof(key));
	if (!ratelimit_take(in->pm->verify, key, 1, PM_VERIFY_BURST,
	    PM_VERIFY_BURST / 60.0, util_mono())) {
		in_drop(in, ERR_RATE_LIMITED, *in->relayed_for != '\0' ?
		    "too many hellos to verify from this account through the "
		    "relay; try again in a minute" : "too many hellos to verify "
		    "from this address; try again in a minute");
		return;
	}
	in->state = IN_VERIFYING;
	in->refs++;
	conn_pause(in->c, true);
	pgestor_request(p->pg, json_pack("{s:s,s:s}", "t", "lookup", "user",
	    in->user), true, on_in_lookup, in);
}

/*
 * A sender's ts further ahead of our clock than limits.max_clock_skew (a
 * wrong clock, or a forged 2^63-1) becomes our clock: history and events
 * show it, and ordering is by arrival anyway. Earlier times are kept: a
 * message may wait in the sender's queue for days.
 */
static void
clamp_ts(struct pin *in, struct w_msg *msg)
{
	int64_t now = util_now_ms();
	double skew = in->pm->p->d->cfg->max_clock_skew;

	if (msg->ts <= now || (double)(msg->ts - now) <= skew * 1000)
		return;
	log_warnx_from(in->addr,
	    "peer_msg: %s: message %s is dated %.0f s ahead of our clock "
	    "(limits.max_clock_skew %g s); using our clock", in->user, msg->id,
	    (double)(msg->ts - now) / 1000, skew);
	msg->ts = now;
}

/* A parsed frame, from jansson (on_in_frame) or read hot (on_in_hot). */
static void
in_dispatch(struct conn *c, struct pin *in, struct wire_msg *mp)
{
	struct peer_msgs *pm = in->pm;
	struct wire_msg m = *mp;

	if (in->state == IN_HELLO && m.type == W_HELLO)
		in_hello(in, &m);
	else if (in->state == IN_READY && m.type == W_MSG) {
		if (strcmp(m.u.msg.from, in->user) != 0 ||
		    strcmp(m.u.msg.to, pm->p->user) != 0) {
			in_drop(in, ERR_BAD_FRAME, "message not from this connection's "
			    "user or not for this daemon's user");
			return;
		}
		clamp_ts(in, &m.u.msg);
		in->refs++;
		pm_receive(pm, in, &m);
	} else if (in->state == IN_READY && m.type == W_GMSG) {
		/* Whether from is a member: the queue checks (peer_group.c). */
		if (strcmp(m.u.msg.from, in->user) != 0) {
			in_drop(in, ERR_BAD_FRAME, "group message not from this "
			    "connection's user");
			return;
		}
		clamp_ts(in, &m.u.msg);
		in->refs++;
		pm_receive(pm, in, &m);
	} else if (in->state == IN_READY && m.type == W_GLEAVE) {
		m.u.msg.from = in->user;
		m.u.msg.ts = util_now_ms();
		in->refs++;
		pm_receive(pm, in, &m);
	} else if (in->state == IN_READY && m.type == W_GMEMBERS) {
		/* Anyone may carry a list: its signature is checked. */
		m.u.msg.from = in->user;
		m.u.msg.ts = util_now_ms();
		in->refs++;
		pm_receive(pm, in, &m);
	} else if (in->state == IN_READY && m.type == W_FILE) {
		if (strcmp(m.u.file.from, in->user) != 0 ||
		    strcmp(m.u.file.to, pm->p->user) != 0) {
			in_drop(in, ERR_BAD_FRAME, "file not from this connection's "
			    "user or not for this daemon's user");
			return;
		}
		pm_frx_offer(pm, c, in->user, &m.u.file);
	} else if (in->state == IN_READY && m.type == W_CHUNK)
		pm_frx_chunk(pm, c, in->user, &m.u.chunk);
	else if (in->state == IN_READY && m.type == W_FILE_CANCEL)
		pm_frx_cancelled(pm, c, in->user, m.u.ack.id);
	else if (m.type == W_ERROR)
		log_warnx_from(in->addr,
		    "peer_msg: %s says %s: %s", in->addr, m.u.error.code,
		    m.u.error.message);
	else
		in_drop(in, ERR_UNKNOWN_TYPE, "unexpected frame");
}

static void
on_in_frame(struct conn *c, json_t *frame, void *arg)
{
	struct pin *in = arg;
	struct wire_msg m;
	const char *code;
	char err[256];

	if (wire_parse(frame, &m, (size_t)in->pm->p->d->cfg->max_message_bytes,
	    &code, err, sizeof(err)) == -1) {
		log_warnx_from(in->addr,
		    "peer_msg: %s: %s: %s", in->addr, code, err);
		conn_send_error(c, code, err);
		return;
	}
	in_dispatch(c, in, &m);
}

/* msg frames once ready, read without a JSON tree (wire_hot.h). */
static struct wire_hot *
in_hot_parse(const unsigned char *p, size_t n, void *arg)
{
	struct pin *in = arg;

	if (in->state != IN_READY)
		return NULL;
	return wire_hot_parse(p, n, (size_t)in->pm->p->d->cfg->max_message_bytes);
}

static void
on_in_hot(struct conn *c, struct wire_hot *h, void *arg)
{
	in_dispatch(c, arg, &h->m);
	free(h);
}

/* A binary frame (a file's chunk): only once the hello is checked. */
static void
on_in_binary(struct conn *c, const unsigned char *p, size_t n, void *arg)
{
	struct pin *in = arg;
	struct wire_msg m;
	const char *code;
	char err[256];

	if (in->state != IN_READY) {
		in_drop(in, ERR_BAD_FRAME, "a binary frame before hello");
		return;
	}
	if (wire_parse_binary(p, n, &m, &code, err, sizeof(err)) == -1) {
		log_warnx_from(in->addr,
		    "peer_msg: %s: %s: %s", in->addr, code, err);
		conn_send_error(c, code, err);
		return;
	}
	in_dispatch(c, in, &m);
}

static void
on_in_close(struct conn *c, const char *reason, void *arg)
{
	struct pin *in = arg;

	log_debug("peer_msg: %s (%s) closed: %s", in->addr,
	    *in->user ? in->user : "no hello", reason);
	pm_frx_gone(in->pm, c);
	in->c = NULL;
	TAILQ_REMOVE(&in->pm->ins, in, entry);
	in->pm->nins--;
	pin_unref(in);
}

/*
 * The queue stored (or already had) a message from in: acknowledge it,
 * in the commit's acks frame if its sender takes them, else at once.
 */
void
pm_in_received(void *arg, const char *id, bool stored)
{
	struct pin *in = arg;
	struct jsonw ack;

	if (stored && in->c != NULL && conn_has_cap(in->c, WCAP_ACKS))
		in_ack_batch(in, id);
	else if (stored && in->c != NULL) {
		jsonw_init(&ack);
		jsonw_open(&ack, NULL);
		jsonw_str(&ack, "t", "ack");
		jsonw_str(&ack, "id", id);
		jsonw_close(&ack);
		if (jsonw_ok(&ack) == 0)
			conn_send_text(in->c, jsonw_data(&ack), jsonw_len(&ack));
		jsonw_free(&ack);
	}
	pin_unref(in);
}

/* The queue refused a message from in (a stranger over its limits). */
void
pm_in_refused(void *arg, const char *id, const char *code, const char *why)
{
	struct pin *in = arg;
	json_t *e;

	/* id_taken names the message: its sender fails it (pm_fail_refused). */
	if (in->c != NULL && strcmp(code, ERR_ID_TAKEN) == 0 &&
	    (e = json_pack("{s:s,s:s,s:s,s:s}", "t", "error", "code", code,
	    "message", why, "id", id)) != NULL) {
		in_flush_acks(in);
		conn_send(in->c, e);
		json_decref(e);
		code = NULL;		/* said */
	}
	if (in->c != NULL)
		in_drop(in, code, why);
	pin_unref(in);
}

void
pm_ins_close(struct peer_msgs *pm)
{
	struct pin *in;

	while ((in = TAILQ_FIRST(&pm->ins)) != NULL) {
		pm_frx_gone(pm, in->c);	/* closed without on_in_close */
		conn_close(in->c);
		in->c = NULL;
		TAILQ_REMOVE(&pm->ins, in, entry);
		pm->nins--;
		pin_unref(in);
	}
}
