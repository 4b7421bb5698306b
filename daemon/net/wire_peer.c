/*
 * The parse of the frames between peers: hello (and the caps it offers),
 * msg and ack, the group
 * frames (gmsg, gmembers, gleave), the file frames (file, chunk,
 * file-pos; file-cancel is an ack's shape). wire.c's table calls them.
 */
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "valid.h"
#include "wire_int.h"

static const char *const wire_caps[WCAP__MAX] = {
	[WCAP_FILE] = "file",
};

_Static_assert(WCAP__MAX <= 32, "caps are the bits of an unsigned");

const char *
wire_cap_name(enum wire_cap c)
{
	return c < WCAP__MAX ? wire_caps[c] : "?";
}

json_t *
wire_hello_new(const char *user)
{
	json_t *caps = json_array();
	int c;

	for (c = 0; c < WCAP__MAX; c++)
		json_array_append_new(caps, json_string(wire_caps[c]));
	return json_pack("{s:s,s:i,s:s,s:o}", "t", "hello", "v",
	    P2P_PROTO_VERSION, "user", user, "caps", caps);
}

/* A cap's name: 1 to WIRE_MAX_CAP_LEN bytes of [a-z0-9-]. */
static bool
valid_cap(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > WIRE_MAX_CAP_LEN)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-'))
			return false;
	return true;
}

/* hello's caps: absent is none; the known ones as bits, others ignored. */
static int
hello_caps(json_t *f, unsigned *caps, char *err, size_t errlen)
{
	json_t *a = json_object_get(f, "caps"), *e;
	size_t i;
	int c;

	*caps = 0;
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > WIRE_MAX_CAPS) {
		snprintf(err, errlen, "member 'caps' must be an array of at most "
		    "%d names", WIRE_MAX_CAPS);
		return -1;
	}
	json_array_foreach(a, i, e) {
		if (!json_is_string(e) || !valid_cap(json_string_value(e),
		    json_string_length(e))) {
			snprintf(err, errlen, "member 'caps' must hold names of 1 "
			    "to %d bytes of a-z, 0-9 and '-'", WIRE_MAX_CAP_LEN);
			return -1;
		}
		for (c = 0; c < WCAP__MAX; c++)
			if (strcmp(json_string_value(e), wire_caps[c]) == 0)
				*caps |= 1u << c;
	}
	return 0;
}

int
wire_parse_hello(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	json_t *v = json_object_get(f, "v");

	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 1000) {
		snprintf(err, errlen, "member 'v' must be a protocol version");
		return -1;
	}
	m->u.hello.v = (int)json_integer_value(v);
	if (hello_caps(f, &m->u.hello.caps, err, errlen) == -1)
		return -1;
	m->u.hello.user = wire_get_user(f, "user", err, errlen);
	return m->u.hello.user != NULL ? 0 : -1;
}

int
wire_parse_msg(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_msg *msg = &m->u.msg;
	json_t *ts = json_object_get(f, "ts"), *body = json_object_get(f, "body");

	if ((msg->id = wire_get_str(f, "id", err, errlen)) == NULL ||
	    (msg->from = wire_get_user(f, "from", err, errlen)) == NULL ||
	    (msg->to = wire_get_user(f, "to", err, errlen)) == NULL)
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
int
wire_parse_gmsg(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_msg *msg = &m->u.msg;
	json_t *ts = json_object_get(f, "ts"), *body = json_object_get(f, "body");

	if ((msg->id = wire_get_str(f, "id", err, errlen)) == NULL ||
	    (msg->group = wire_get_str(f, "group", err, errlen)) == NULL ||
	    (msg->from = wire_get_user(f, "from", err, errlen)) == NULL)
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
int
wire_parse_gmembers(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	struct w_msg *msg = &m->u.msg;
	json_t *list = json_object_get(f, "list");

	if ((msg->id = wire_get_str(f, "id", err, errlen)) == NULL ||
	    (msg->sig = wire_get_str(f, "sig", err, errlen)) == NULL)
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
int
wire_parse_gleave(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	struct w_msg *msg = &m->u.msg;

	if ((msg->id = wire_get_str(f, "id", err, errlen)) == NULL ||
	    (msg->group = wire_get_str(f, "group", err, errlen)) == NULL)
		return -1;
	if (!valid_msgid(msg->id) || !valid_msgid(msg->group)) {
		snprintf(err, errlen, "members 'id' and 'group' must be 32 "
		    "lowercase hex digits");
		return -1;
	}
	msg->body = "";
	return 0;
}

int
wire_parse_ack(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	if ((m->u.ack.id = wire_get_str(f, "id", err, errlen)) == NULL)
		return -1;
	if (!valid_msgid(m->u.ack.id)) {
		snprintf(err, errlen, "member 'id' must be 32 lowercase hex digits");
		return -1;
	}
	return 0;
}

int
wire_parse_file(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_file *fl = &m->u.file;
	json_t *name = json_object_get(f, "name");

	if ((fl->id = wire_get_str(f, "id", err, errlen)) == NULL ||
	    (fl->from = wire_get_user(f, "from", err, errlen)) == NULL ||
	    (fl->to = wire_get_user(f, "to", err, errlen)) == NULL ||
	    (fl->sha256 = wire_get_str(f, "sha256", err, errlen)) == NULL ||
	    wire_get_off(f, "size", INT64_MAX / 2, &fl->size, err, errlen) == -1 ||
	    wire_get_off(f, "ts", INT64_MAX, &fl->ts, err, errlen) == -1)
		return -1;
	if (!valid_msgid(fl->id) || !wire_valid_sha256(fl->sha256)) {
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

int
wire_parse_chunk(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_chunk *ch = &m->u.chunk;
	json_t *data = json_object_get(f, "data");

	if ((ch->id = wire_get_str(f, "id", err, errlen)) == NULL ||
	    wire_get_off(f, "off", INT64_MAX / 2, &ch->off, err, errlen) == -1)
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

int
wire_parse_fpos(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_fpos *fp = &m->u.fpos;
	json_t *reason = json_object_get(f, "reason");

	if ((fp->id = wire_get_str(f, "id", err, errlen)) == NULL ||
	    (fp->state = wire_get_str(f, "state", err, errlen)) == NULL ||
	    wire_get_off(f, "off", INT64_MAX / 2, &fp->off, err, errlen) == -1)
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
