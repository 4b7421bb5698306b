/*
 * The parse of the frames between peers: hello (and the caps it offers),
 * msg, ack and acks, the group
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
	[WCAP_ACKS] = "acks",
	[WCAP_FILE_BIN] = "file-bin",
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

/* msg's and gmsg's ts and body. */
static int
get_ts_body(json_t *f, struct w_msg *msg, size_t max, char *err, size_t errlen)
{
	json_t *ts = json_object_get(f, "ts");

	if (!json_is_integer(ts) || json_integer_value(ts) < 0) {
		snprintf(err, errlen, "member 'ts' must be a timestamp in ms");
		return -1;
	}
	msg->ts = json_integer_value(ts);
	msg->body = wire_get_text(f, "body", max, &msg->body_len, err, errlen);
	return msg->body != NULL ? 0 : -1;
}

/* gmsg's and gleave's id and group, both 32 lowercase hex digits. */
static int
get_group_ids(json_t *f, struct w_msg *msg, char *err, size_t errlen)
{
	if ((msg->id = wire_get_str(f, "id", err, errlen)) == NULL ||
	    (msg->group = wire_get_str(f, "group", err, errlen)) == NULL)
		return -1;
	if (!valid_msgid(msg->id) || !valid_msgid(msg->group)) {
		snprintf(err, errlen, "members 'id' and 'group' must be 32 "
		    "lowercase hex digits");
		return -1;
	}
	return 0;
}

int
wire_parse_msg(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_msg *msg = &m->u.msg;

	if ((msg->id = wire_get_msgid(f, "id", err, errlen)) == NULL ||
	    (msg->from = wire_get_user(f, "from", err, errlen)) == NULL ||
	    (msg->to = wire_get_user(f, "to", err, errlen)) == NULL)
		return -1;
	return get_ts_body(f, msg, max, err, errlen);
}

/* A group message: msg's members but group for to. */
int
wire_parse_gmsg(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_msg *msg = &m->u.msg;

	if (get_group_ids(f, msg, err, errlen) == -1 ||
	    (msg->from = wire_get_user(f, "from", err, errlen)) == NULL)
		return -1;
	return get_ts_body(f, msg, max, err, errlen);
}

/* A signed membership list: its meaning is checked by peer_group.c. */
int
wire_parse_gmembers(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	struct w_msg *msg = &m->u.msg;

	if ((msg->id = wire_get_msgid(f, "id", err, errlen)) == NULL ||
	    (msg->sig = wire_get_str(f, "sig", err, errlen)) == NULL)
		return -1;
	msg->body = wire_get_text(f, "list", WIRE_MAX_LIST, &msg->body_len, err,
	    errlen);
	return msg->body != NULL ? 0 : -1;
}

/* A member leaving a group: only its admin acts on it. */
int
wire_parse_gleave(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	struct w_msg *msg = &m->u.msg;

	if (get_group_ids(f, msg, err, errlen) == -1)
		return -1;
	msg->body = "";
	return 0;
}

int
wire_parse_ack(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	m->u.ack.id = wire_get_msgid(f, "id", err, errlen);
	return m->u.ack.id != NULL ? 0 : -1;
}

/* acks {ids}: 1 to WIRE_MAX_ACKS message ids. */
int
wire_parse_acks(json_t *f, struct wire_msg *m, size_t max, char *err,
    size_t errlen)
{
	json_t *a = json_object_get(f, "ids"), *e;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) < 1 ||
	    json_array_size(a) > WIRE_MAX_ACKS) {
		snprintf(err, errlen, "member 'ids' must be an array of 1 to %d "
		    "message ids", WIRE_MAX_ACKS);
		return -1;
	}
	json_array_foreach(a, i, e) {
		if (!json_is_string(e) || !valid_msgid(json_string_value(e))) {
			snprintf(err, errlen, "member 'ids' must hold ids of 32 "
			    "lowercase hex digits");
			return -1;
		}
	}
	m->u.acks.n = json_array_size(a);
	m->u.acks.ids = a;
	m->u.acks.packed = NULL;
	return 0;
}

const char *
wire_acks_id(const struct w_acks *a, size_t i)
{
	if (a->ids != NULL)
		return json_string_value(json_array_get(a->ids, i));
	return a->packed + i * (P2P_MSGID_HEX + 1);
}

int
wire_parse_file(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_file *fl = &m->u.file;

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
	fl->name = wire_get_text(f, "name", WIRE_MAX_NAME, &fl->name_len, err,
	    errlen);
	return fl->name != NULL ? 0 : -1;
}

int
wire_parse_chunk(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_chunk *ch = &m->u.chunk;
	json_t *data = json_object_get(f, "data");

	if ((ch->id = wire_get_msgid(f, "id", err, errlen)) == NULL ||
	    wire_get_off(f, "off", INT64_MAX / 2, &ch->off, err, errlen) == -1)
		return -1;
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

/* The states a file-pos may report (DESIGN.md, the files table). */
static const char *const fpos_states[] = { "receiving", "received", "waiting",
	"paused", "failed", "rejected", "cancelled" };

int
wire_parse_fpos(json_t *f, struct wire_msg *m, size_t max, char *err, size_t errlen)
{
	struct w_fpos *fp = &m->u.fpos;
	json_t *reason = json_object_get(f, "reason");
	size_t i;

	if ((fp->id = wire_get_msgid(f, "id", err, errlen)) == NULL ||
	    (fp->state = wire_get_str(f, "state", err, errlen)) == NULL ||
	    wire_get_off(f, "off", INT64_MAX / 2, &fp->off, err, errlen) == -1)
		return -1;
	for (i = 0; i < sizeof(fpos_states) / sizeof(fpos_states[0]); i++)
		if (strcmp(fp->state, fpos_states[i]) == 0)
			break;
	if (i == sizeof(fpos_states) / sizeof(fpos_states[0])) {
		snprintf(err, errlen, "member 'state' must be receiving, received, "
		    "waiting, paused, failed, rejected or cancelled");
		return -1;
	}
	fp->reason = json_is_string(reason) ? json_string_value(reason) : "";
	return 0;
}
