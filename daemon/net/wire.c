/*
 * Wire frame parsing: every member a handler will read is checked here,
 * for presence, type, length and syntax, so handlers see only valid data.
 * This file is the table of frame types, the parse of the frames to and
 * from the gestor, and wire_parse; the frames between peers are
 * wire_peer.c's, the checks of single members wire_get.c's.
 */
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "valid.h"
#include "wire_int.h"

typedef int (*wire_parser)(json_t *, struct wire_msg *, size_t, char *, size_t);

static int parse_ok(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_error(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_cred(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_user(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_hb(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_watch(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_presence(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_invite(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_mbox_put(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_mbox_get(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_mbox_ack(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_mbox_id(json_t *, struct wire_msg *, size_t, char *, size_t);

static const struct {
	const char	*name;
	wire_parser	 parse;
} wire_types[W__MAX] = {
	[W_OK] = { "ok", parse_ok },
	[W_ERROR] = { "error", parse_error },
	[W_REGISTER] = { "register", parse_cred },
	[W_LOGIN] = { "login", parse_cred },
	[W_AUTH] = { "auth", parse_user },
	[W_HB] = { "hb", parse_hb },
	[W_LOOKUP] = { "lookup", parse_user },
	[W_WATCH] = { "watch", parse_watch },
	[W_PRESENCE] = { "presence", parse_presence },
	[W_HELLO] = { "hello", wire_parse_hello },
	[W_MSG] = { "msg", wire_parse_msg },
	[W_ACK] = { "ack", wire_parse_ack },
	[W_RELAY] = { "relay", parse_user },
	[W_RELAY_INVITE] = { "relay-invite", parse_invite },
	[W_GMSG] = { "gmsg", wire_parse_gmsg },
	[W_GMEMBERS] = { "gmembers", wire_parse_gmembers },
	[W_GLEAVE] = { "gleave", wire_parse_gleave },
	[W_MBOX_PUT] = { "mbox-put", parse_mbox_put },
	[W_MBOX_GET] = { "mbox-get", parse_mbox_get },
	[W_MBOX_ACK] = { "mbox-ack", parse_mbox_ack },
	[W_MBOX_WITHDRAW] = { "mbox-withdraw", parse_mbox_id },
	[W_MBOX_COUNT] = { "mbox-count", parse_ok },
	[W_MBOX] = { "mbox", parse_ok },
	[W_FILE] = { "file", wire_parse_file },
	[W_CHUNK] = { "chunk", wire_parse_chunk },
	[W_FILE_POS] = { "file-pos", wire_parse_fpos },
	[W_FILE_CANCEL] = { "file-cancel", wire_parse_ack },
	[W_ACKS] = { "acks", wire_parse_acks },
};

const char *
wire_type_name(enum wire_type t)
{
	return t < W__MAX ? wire_types[t].name : "?";
}

static int
parse_ok(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	return 0;
}

static int
parse_error(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	json_t *msg = json_object_get(f, "message");

	if ((m->u.error.code = wire_get_str(f, "code", err, errlen)) == NULL)
		return -1;
	m->u.error.message = json_is_string(msg) ? json_string_value(msg) : "";
	m->u.error.id = NULL;
	if (json_object_get(f, "id") != NULL &&
	    (m->u.error.id = wire_get_msgid(f, "id", err, errlen)) == NULL)
		return -1;
	return 0;
}

static int
parse_cred(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	json_t *pw = json_object_get(f, "password");

	if ((m->u.cred.user = wire_get_user(f, "user", err, errlen)) == NULL ||
	    wire_get_mail(f, &m->u.cred.mail, err, errlen) == -1)
		return -1;
	if (!json_is_string(pw) ||
	    !valid_password(json_string_value(pw), json_string_length(pw))) {
		snprintf(err, errlen, "password must be 8 to 1024 bytes");
		return -1;
	}
	m->u.cred.password = json_string_value(pw);
	m->u.cred.password_len = json_string_length(pw);
	return 0;
}

static int
parse_user(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	m->u.user.user = wire_get_user(f, "user", err, errlen);
	if (m->u.user.user == NULL ||
	    wire_get_mail(f, &m->u.user.mail, err, errlen) == -1)
		return -1;
	return 0;
}

/* A dedup key: WIRE_MBOX_KEY lower-case hex digits. */
static bool
mbox_key_ok(json_t *key)
{
	const char *k = json_string_value(key);

	return k != NULL && json_string_length(key) == WIRE_MBOX_KEY &&
	    strspn(k, "0123456789abcdef") == WIRE_MBOX_KEY;
}

/*
 * mbox-put's blobs: 1 to WIRE_MAX_PUT objects {blob, key}, every blob
 * base64, every key a distinct dedup key. b->size is their sum.
 */
static int
parse_mbox_blobs(json_t *blobs, struct w_mbox *b, char *err, size_t errlen)
{
	json_t *o, *blob, *key;
	size_t i, j;
	long size;

	if (!json_is_array(blobs) || json_array_size(blobs) == 0 ||
	    json_array_size(blobs) > WIRE_MAX_PUT) {
		snprintf(err, errlen, "member 'blobs' must be an array of 1 to "
		    "%d deposits", WIRE_MAX_PUT);
		return -1;
	}
	b->size = 0;
	json_array_foreach(blobs, i, o) {
		blob = json_object_get(o, "blob");
		key = json_object_get(o, "key");
		if (!json_is_object(o) || !json_is_string(blob) ||
		    (size = wire_base64_size(json_string_value(blob),
		    json_string_length(blob))) <= 0 || !mbox_key_ok(key)) {
			snprintf(err, errlen, "blobs[%zu] must be {blob: base64, "
			    "key: %d hex digits}", i, WIRE_MBOX_KEY);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (json_equal(key, json_object_get(json_array_get(blobs,
			    j), "key"))) {
				snprintf(err, errlen, "blobs[%zu]'s key is "
				    "blobs[%zu]'s", i, j);
				return -1;
			}
		b->size += size;
	}
	b->blobs = blobs;
	return 0;
}

static int
parse_mbox_put(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	struct w_mbox *b = &m->u.mbox;
	json_t *blob = json_object_get(f, "blob");
	json_t *blobs = json_object_get(f, "blobs");

	if ((b->to = wire_get_user(f, "to", err, errlen)) == NULL)
		return -1;
	b->blobs = NULL;
	if (blobs != NULL && blob == NULL)
		return parse_mbox_blobs(blobs, b, err, errlen);
	if (!json_is_string(blob) || (b->size = wire_base64_size(
	    json_string_value(blob), json_string_length(blob))) <= 0) {
		snprintf(err, errlen, "member 'blob' must be base64");
		return -1;
	}
	b->blob = json_string_value(blob);
	return 0;
}

static int
parse_mbox_get(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	struct w_mbox *b = &m->u.mbox;
	int64_t limit = WIRE_MAX_MBOX;

	if (wire_get_int(f, "after", 0, INT64_MAX, &b->after, err, errlen) == -1 ||
	    (json_object_get(f, "limit") != NULL && wire_get_int(f, "limit", 1,
	    WIRE_MAX_MBOX, &limit, err, errlen) == -1))
		return -1;
	b->limit = (int)limit;
	return 0;
}

static int
parse_mbox_ack(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	json_t *ids = json_object_get(f, "ids"), *v;
	size_t i;

	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > WIRE_MAX_MBOX) {
		snprintf(err, errlen, "member 'ids' must be an array of 1 to %d "
		    "ids", WIRE_MAX_MBOX);
		return -1;
	}
	json_array_foreach(ids, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			snprintf(err, errlen, "ids[%zu] is not an id", i);
			return -1;
		}
	}
	m->u.mbox.ids = ids;
	return 0;
}

static int
parse_mbox_id(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	return wire_get_int(f, "id", 1, INT64_MAX, &m->u.mbox.id, err, errlen);
}

static int
parse_hb(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	json_t *addr = json_object_get(f, "addr");

	if (wire_get_port(f, "port", &m->u.hb.port, err, errlen) == -1)
		return -1;
	if (addr == NULL)
		return 0;
	if (!json_is_string(addr) || json_string_length(addr) == 0 ||
	    json_string_length(addr) >= 64 ||
	    strspn(json_string_value(addr), "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ.:-") != json_string_length(addr)) {
		snprintf(err, errlen, "member 'addr' must be a host name or address");
		return -1;
	}
	m->u.hb.addr = json_string_value(addr);
	return 0;
}

static int
parse_watch(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	json_t *users = json_object_get(f, "users"), *u;
	size_t i;

	if (!json_is_array(users) || json_array_size(users) > WIRE_MAX_WATCH) {
		snprintf(err, errlen, "member 'users' must be an array of at most %d",
		    WIRE_MAX_WATCH);
		return -1;
	}
	json_array_foreach(users, i, u) {
		if (!json_is_string(u) || !valid_username(json_string_value(u))) {
			snprintf(err, errlen, "users[%zu] is not a valid username", i);
			return -1;
		}
	}
	m->u.watch.users = users;
	return 0;
}

static int
parse_presence(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	struct w_presence *p = &m->u.presence;
	json_t *on = json_object_get(f, "online");
	json_t *ls = json_object_get(f, "last_seen");

	if ((p->user = wire_get_user(f, "user", err, errlen)) == NULL ||
	    (p->addr = wire_get_str(f, "addr", err, errlen)) == NULL ||
	    (p->key = wire_get_str(f, "key", err, errlen)) == NULL ||
	    wire_get_port(f, "port", &p->port, err, errlen) == -1)
		return -1;
	if (!json_is_boolean(on)) {
		snprintf(err, errlen, "member 'online' must be a boolean");
		return -1;
	}
	if (*p->key != '\0' && !valid_fingerprint(p->key)) {
		snprintf(err, errlen, "member 'key' is not a fingerprint");
		return -1;
	}
	if (strlen(p->addr) >= 64 || strspn(p->addr, "0123456789abcdefghijklmn"
	    "opqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.:-") != strlen(p->addr)) {
		snprintf(err, errlen, "member 'addr' must be a host name or address");
		return -1;
	}
	p->online = json_is_true(on);
	p->last_seen = json_is_integer(ls) ? json_integer_value(ls) : 0;
	return 0;
}

int
wire_relay_offer(json_t *f, struct w_relay *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->from = "";
	if ((r->addr = wire_get_str(f, "addr", err, errlen)) == NULL ||
	    (r->key = wire_get_str(f, "key", err, errlen)) == NULL ||
	    wire_get_port(f, "port", &r->port, err, errlen) == -1)
		return -1;
	if (!wire_valid_host(r->addr) || r->port == 0) {
		snprintf(err, errlen, "relay address must be a host and a port");
		return -1;
	}
	if (strlen(r->key) != P2P_RELAY_KEY_HEX ||
	    strspn(r->key, "0123456789abcdef") != P2P_RELAY_KEY_HEX) {
		snprintf(err, errlen, "member 'key' must be %d lowercase hex digits",
		    P2P_RELAY_KEY_HEX);
		return -1;
	}
	return 0;
}

int
wire_lookup_reply(json_t *f, const char *user, char *err, size_t errlen)
{
	const char *u, *fp, *addr;
	json_t *ls = json_object_get(f, "last_seen");
	int port;

	if ((u = wire_get_user(f, "user", err, errlen)) == NULL ||
	    (fp = wire_get_str(f, "fingerprint", err, errlen)) == NULL ||
	    (addr = wire_get_str(f, "addr", err, errlen)) == NULL ||
	    wire_get_port(f, "port", &port, err, errlen) == -1)
		return -1;
	if (user != NULL && strcmp(u, user) != 0) {
		snprintf(err, errlen, "it answers for another user");
		return -1;
	}
	if (!valid_fingerprint(fp)) {
		snprintf(err, errlen, "member 'fingerprint' is not a fingerprint");
		return -1;
	}
	if (*addr != '\0' && !wire_valid_host(addr)) {
		snprintf(err, errlen, "member 'addr' must be a host name or address");
		return -1;
	}
	if (!json_is_boolean(json_object_get(f, "online"))) {
		snprintf(err, errlen, "member 'online' must be a boolean");
		return -1;
	}
	if (!json_is_integer(ls) || json_integer_value(ls) < 0) {
		snprintf(err, errlen, "member 'last_seen' must be a time");
		return -1;
	}
	return 0;
}

static int
parse_invite(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	const char *from;

	if ((from = wire_get_user(f, "from", err, errlen)) == NULL ||
	    wire_relay_offer(f, &m->u.relay, err, errlen) == -1)
		return -1;
	m->u.relay.from = from;
	return 0;
}

int
wire_parse(json_t *frame, struct wire_msg *m, size_t max_body,
    const char **code, char *err, size_t errlen)
{
	const char *t = json_string_value(json_object_get(frame, "t"));
	int i;

	memset(m, 0, sizeof(*m));
	m->frame = frame;
	for (i = 0; t != NULL && i < W__MAX; i++) {
		if (strcmp(t, wire_types[i].name) != 0)
			continue;
		m->type = (enum wire_type)i;
		if (wire_types[i].parse(frame, m, max_body, err, errlen) == -1) {
			*code = ERR_BAD_FRAME;
			return -1;
		}
		return 0;
	}
	*code = ERR_UNKNOWN_TYPE;
	snprintf(err, errlen, "unknown frame type");
	return -1;
}
