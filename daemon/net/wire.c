/*
 * Wire frame parsing: every member a handler will read is checked here,
 * for presence, type, length and syntax, so handlers see only valid data.
 */
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "valid.h"
#include "wire.h"

typedef int (*wire_parser)(json_t *, struct wire_msg *, size_t, char *, size_t);

static int parse_ok(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_error(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_cred(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_user(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_hb(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_watch(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_presence(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_hello(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_msg(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_ack(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_gmsg(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_gmembers(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_gleave(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_invite(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_mbox_put(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_mbox_get(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_mbox_ack(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_mbox_id(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_file(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_chunk(json_t *, struct wire_msg *, size_t, char *, size_t);
static int parse_fpos(json_t *, struct wire_msg *, size_t, char *, size_t);

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
	[W_HELLO] = { "hello", parse_hello },
	[W_MSG] = { "msg", parse_msg },
	[W_ACK] = { "ack", parse_ack },
	[W_RELAY] = { "relay", parse_user },
	[W_RELAY_INVITE] = { "relay-invite", parse_invite },
	[W_GMSG] = { "gmsg", parse_gmsg },
	[W_GMEMBERS] = { "gmembers", parse_gmembers },
	[W_GLEAVE] = { "gleave", parse_gleave },
	[W_MBOX_PUT] = { "mbox-put", parse_mbox_put },
	[W_MBOX_GET] = { "mbox-get", parse_mbox_get },
	[W_MBOX_ACK] = { "mbox-ack", parse_mbox_ack },
	[W_MBOX_WITHDRAW] = { "mbox-withdraw", parse_mbox_id },
	[W_MBOX] = { "mbox", parse_ok },
	[W_FILE] = { "file", parse_file },
	[W_CHUNK] = { "chunk", parse_chunk },
	[W_FILE_POS] = { "file-pos", parse_fpos },
	[W_FILE_CANCEL] = { "file-cancel", parse_ack },
};

const char *
wire_type_name(enum wire_type t)
{
	return t < W__MAX ? wire_types[t].name : "?";
}

/* A string member, NULL (with err set) if absent or not a string. */
static const char *
get_str(json_t *o, const char *key, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v)) {
		snprintf(err, errlen, "member '%s' must be a string", key);
		return NULL;
	}
	return json_string_value(v);
}

static const char *
get_user(json_t *o, const char *key, char *err, size_t errlen)
{
	const char *s = get_str(o, key, err, errlen);

	if (s != NULL && !valid_username(s)) {
		snprintf(err, errlen, "member '%s' is not a valid username", key);
		return NULL;
	}
	return s;
}

static int
get_port(json_t *o, const char *key, int *port, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 65535) {
		snprintf(err, errlen, "member '%s' must be a port number", key);
		return -1;
	}
	*port = (int)json_integer_value(v);
	return 0;
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

	if ((m->u.error.code = get_str(f, "code", err, errlen)) == NULL)
		return -1;
	m->u.error.message = json_is_string(msg) ? json_string_value(msg) : "";
	return 0;
}

/* The optional "mail" of register, login and auth: "" or a key. */
static int
get_mail(json_t *f, const char **mail, char *err, size_t errlen)
{
	json_t *v = json_object_get(f, "mail");
	const char *s;

	*mail = NULL;
	if (v == NULL)
		return 0;
	s = json_is_string(v) ? json_string_value(v) : "x";
	if (*s != '\0' && (strlen(s) != 64 ||
	    strspn(s, "0123456789abcdef") != 64)) {
		snprintf(err, errlen, "member 'mail' must be \"\" or 64 "
		    "lowercase hex digits");
		return -1;
	}
	*mail = s;
	return 0;
}

static int
parse_cred(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	json_t *pw = json_object_get(f, "password");

	if ((m->u.cred.user = get_user(f, "user", err, errlen)) == NULL ||
	    get_mail(f, &m->u.cred.mail, err, errlen) == -1)
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
	m->u.user.user = get_user(f, "user", err, errlen);
	if (m->u.user.user == NULL ||
	    get_mail(f, &m->u.user.mail, err, errlen) == -1)
		return -1;
	return 0;
}

/* An integer member in [min, max]; -1 with err if not. */
static int
get_int(json_t *o, const char *key, int64_t min, int64_t max, int64_t *out,
    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		snprintf(err, errlen, "member '%s' must be an integer from "
		    "%lld to %lld", key, (long long)min, (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/* Decoded bytes of standard base64 text (padded), or -1 if it is not. */
static long
base64_size(const char *s, size_t len)
{
	size_t pad = 0;

	if (len == 0 || len % 4 != 0)
		return -1;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/") != len - pad)
		return -1;
	return (long)(len / 4 * 3 - pad);
}

static int
parse_mbox_put(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	struct w_mbox *b = &m->u.mbox;
	json_t *blob = json_object_get(f, "blob");

	if ((b->to = get_user(f, "to", err, errlen)) == NULL)
		return -1;
	if (!json_is_string(blob) || (b->size = base64_size(
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

	if (get_int(f, "after", 0, INT64_MAX, &b->after, err, errlen) == -1 ||
	    (json_object_get(f, "limit") != NULL && get_int(f, "limit", 1,
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
	return get_int(f, "id", 1, INT64_MAX, &m->u.mbox.id, err, errlen);
}

static int
parse_hb(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	json_t *addr = json_object_get(f, "addr");

	if (get_port(f, "port", &m->u.hb.port, err, errlen) == -1)
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

	if ((p->user = get_user(f, "user", err, errlen)) == NULL ||
	    (p->addr = get_str(f, "addr", err, errlen)) == NULL ||
	    (p->key = get_str(f, "key", err, errlen)) == NULL ||
	    get_port(f, "port", &p->port, err, errlen) == -1)
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

static int
parse_hello(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	json_t *v = json_object_get(f, "v");

	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 1000) {
		snprintf(err, errlen, "member 'v' must be a protocol version");
		return -1;
	}
	m->u.hello.v = (int)json_integer_value(v);
	m->u.hello.user = get_user(f, "user", err, errlen);
	return m->u.hello.user != NULL ? 0 : -1;
}

static int
parse_msg(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_msg *msg = &m->u.msg;
	json_t *ts = json_object_get(f, "ts"), *body = json_object_get(f, "body");

	if ((msg->id = get_str(f, "id", err, errlen)) == NULL ||
	    (msg->from = get_user(f, "from", err, errlen)) == NULL ||
	    (msg->to = get_user(f, "to", err, errlen)) == NULL)
		return -1;
	if (!valid_msgid(msg->id)) {
		snprintf(err, errlen, "member 'id' must be 32 lowercase hex digits");
		return -1;
	}
	if (!json_is_integer(ts) || json_integer_value(ts) < 0) {
		snprintf(err, errlen, "member 'ts' must be a timestamp in ms");
		return -1;
	}
	if (!json_is_string(body) || !valid_body(json_string_value(body),
	    json_string_length(body), max)) {
		snprintf(err, errlen, "member 'body' must be 1 to %zu bytes of UTF-8",
		    max);
		return -1;
	}
	msg->ts = json_integer_value(ts);
	msg->body = json_string_value(body);
	msg->body_len = json_string_length(body);
	return 0;
}

/* A group message: msg's members but group for to. */
static int
parse_gmsg(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_msg *msg = &m->u.msg;
	json_t *ts = json_object_get(f, "ts"), *body = json_object_get(f, "body");

	if ((msg->id = get_str(f, "id", err, errlen)) == NULL ||
	    (msg->group = get_str(f, "group", err, errlen)) == NULL ||
	    (msg->from = get_user(f, "from", err, errlen)) == NULL)
		return -1;
	if (!valid_msgid(msg->id) || !valid_msgid(msg->group)) {
		snprintf(err, errlen, "members 'id' and 'group' must be 32 "
		    "lowercase hex digits");
		return -1;
	}
	if (!json_is_integer(ts) || json_integer_value(ts) < 0) {
		snprintf(err, errlen, "member 'ts' must be a timestamp in ms");
		return -1;
	}
	if (!json_is_string(body) || !valid_body(json_string_value(body),
	    json_string_length(body), max)) {
		snprintf(err, errlen, "member 'body' must be 1 to %zu bytes of UTF-8",
		    max);
		return -1;
	}
	msg->ts = json_integer_value(ts);
	msg->body = json_string_value(body);
	msg->body_len = json_string_length(body);
	return 0;
}

/* A signed membership list: its meaning is checked by peer_group.c. */
static int
parse_gmembers(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	struct w_msg *msg = &m->u.msg;
	json_t *list = json_object_get(f, "list");

	if ((msg->id = get_str(f, "id", err, errlen)) == NULL ||
	    (msg->sig = get_str(f, "sig", err, errlen)) == NULL)
		return -1;
	if (!valid_msgid(msg->id)) {
		snprintf(err, errlen, "member 'id' must be 32 lowercase hex digits");
		return -1;
	}
	if (!json_is_string(list) || !valid_body(json_string_value(list),
	    json_string_length(list), WIRE_MAX_LIST)) {
		snprintf(err, errlen, "member 'list' must be 1 to %d bytes of UTF-8",
		    WIRE_MAX_LIST);
		return -1;
	}
	msg->body = json_string_value(list);
	msg->body_len = json_string_length(list);
	return 0;
}

/* A member leaving a group: only its admin acts on it. */
static int
parse_gleave(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	struct w_msg *msg = &m->u.msg;

	if ((msg->id = get_str(f, "id", err, errlen)) == NULL ||
	    (msg->group = get_str(f, "group", err, errlen)) == NULL)
		return -1;
	if (!valid_msgid(msg->id) || !valid_msgid(msg->group)) {
		snprintf(err, errlen, "members 'id' and 'group' must be 32 "
		    "lowercase hex digits");
		return -1;
	}
	msg->body = "";
	return 0;
}

static int
parse_ack(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	if ((m->u.ack.id = get_str(f, "id", err, errlen)) == NULL)
		return -1;
	if (!valid_msgid(m->u.ack.id)) {
		snprintf(err, errlen, "member 'id' must be 32 lowercase hex digits");
		return -1;
	}
	return 0;
}

/* A non-negative integer member no larger than max; -1 otherwise. */
static int
get_off(json_t *o, const char *key, int64_t max, int64_t *out, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max) {
		snprintf(err, errlen, "member '%s' must be an integer from 0 to "
		    "%lld", key, (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static bool
valid_sha256(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

static int
parse_file(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_file *fl = &m->u.file;
	json_t *name = json_object_get(f, "name");

	if ((fl->id = get_str(f, "id", err, errlen)) == NULL ||
	    (fl->from = get_user(f, "from", err, errlen)) == NULL ||
	    (fl->to = get_user(f, "to", err, errlen)) == NULL ||
	    (fl->sha256 = get_str(f, "sha256", err, errlen)) == NULL ||
	    get_off(f, "size", INT64_MAX / 2, &fl->size, err, errlen) == -1 ||
	    get_off(f, "ts", INT64_MAX, &fl->ts, err, errlen) == -1)
		return -1;
	if (!valid_msgid(fl->id) || !valid_sha256(fl->sha256)) {
		snprintf(err, errlen, "member 'id' must be 32 and 'sha256' 64 "
		    "lowercase hex digits");
		return -1;
	}
	if (!json_is_string(name) || !valid_body(json_string_value(name),
	    json_string_length(name), WIRE_MAX_NAME)) {
		snprintf(err, errlen, "member 'name' must be 1 to %d bytes of "
		    "UTF-8", WIRE_MAX_NAME);
		return -1;
	}
	fl->name = json_string_value(name);
	fl->name_len = json_string_length(name);
	return 0;
}

static int
parse_chunk(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_chunk *ch = &m->u.chunk;
	json_t *data = json_object_get(f, "data");

	if ((ch->id = get_str(f, "id", err, errlen)) == NULL ||
	    get_off(f, "off", INT64_MAX / 2, &ch->off, err, errlen) == -1)
		return -1;
	if (!valid_msgid(ch->id)) {
		snprintf(err, errlen, "member 'id' must be 32 lowercase hex digits");
		return -1;
	}
	if (!json_is_string(data) || json_string_length(data) == 0 ||
	    json_string_length(data) > WIRE_CHUNK_B64 + 4) {
		snprintf(err, errlen, "member 'data' must be 1 to %d bytes of "
		    "base64", WIRE_CHUNK);
		return -1;
	}
	ch->data = json_string_value(data);
	ch->data_len = json_string_length(data);
	return 0;
}

static int
parse_fpos(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_fpos *fp = &m->u.fpos;
	json_t *reason = json_object_get(f, "reason");

	if ((fp->id = get_str(f, "id", err, errlen)) == NULL ||
	    (fp->state = get_str(f, "state", err, errlen)) == NULL ||
	    get_off(f, "off", INT64_MAX / 2, &fp->off, err, errlen) == -1)
		return -1;
	if (!valid_msgid(fp->id)) {
		snprintf(err, errlen, "member 'id' must be 32 lowercase hex digits");
		return -1;
	}
	if (strcmp(fp->state, "receiving") != 0 &&
	    strcmp(fp->state, "received") != 0 &&
	    strcmp(fp->state, "waiting") != 0 &&
	    strcmp(fp->state, "paused") != 0 &&
	    strcmp(fp->state, "failed") != 0 &&
	    strcmp(fp->state, "rejected") != 0 &&
	    strcmp(fp->state, "cancelled") != 0) {
		snprintf(err, errlen, "member 'state' must be receiving, received, "
		    "waiting, paused, failed, rejected or cancelled");
		return -1;
	}
	fp->reason = json_is_string(reason) ? json_string_value(reason) : "";
	return 0;
}

static bool
valid_host(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 64 && strspn(s, "0123456789abcdefghijklmnopqrstuvw"
	    "xyzABCDEFGHIJKLMNOPQRSTUVWXYZ.:-") == n;
}

int
wire_relay_offer(json_t *f, struct w_relay *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->from = "";
	if ((r->addr = get_str(f, "addr", err, errlen)) == NULL ||
	    (r->key = get_str(f, "key", err, errlen)) == NULL ||
	    get_port(f, "port", &r->port, err, errlen) == -1)
		return -1;
	if (!valid_host(r->addr) || r->port == 0) {
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

	if ((u = get_user(f, "user", err, errlen)) == NULL ||
	    (fp = get_str(f, "fingerprint", err, errlen)) == NULL ||
	    (addr = get_str(f, "addr", err, errlen)) == NULL ||
	    get_port(f, "port", &port, err, errlen) == -1)
		return -1;
	if (user != NULL && strcmp(u, user) != 0) {
		snprintf(err, errlen, "it answers for another user");
		return -1;
	}
	if (!valid_fingerprint(fp)) {
		snprintf(err, errlen, "member 'fingerprint' is not a fingerprint");
		return -1;
	}
	if (*addr != '\0' && !valid_host(addr)) {
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

	if ((from = get_user(f, "from", err, errlen)) == NULL ||
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
