/*
 * Fuzz target: the frame codec (daemon/net/frame.c) and every wire parser
 * (daemon/net/wire.c, and wire_bin.c for binary frames), on a byte stream
 * as it would arrive inside TLS. The
 * first input byte picks the frame and body limits, so the size checks
 * are reached with short inputs. Each decoded frame is parsed, its C
 * struct checked against the validators, re-encoded and decoded again:
 * it must come back equal.
 */
#include <string.h>

#include <jansson.h>

#include "frame.h"
#include "fuzz.h"
#include "proto.h"
#include "valid.h"
#include "wire.h"

static const size_t limits[4] = { 64, 1024, 65536, 1048576 };

static void
check_port(int port)
{
	FUZZ_CHECK(port >= 0 && port <= 65535);
}

/* What wire_parse() promised about the struct it filled. */
static void
check_msg(const struct wire_msg *m, size_t max_body)
{
	switch (m->type) {
	case W_OK:
		break;
	case W_ERROR:
		FUZZ_CHECK(m->u.error.code != NULL && m->u.error.message != NULL);
		break;
	case W_REGISTER:
	case W_LOGIN:
		FUZZ_CHECK(valid_username(m->u.cred.user));
		FUZZ_CHECK(valid_password(m->u.cred.password,
		    m->u.cred.password_len));
		FUZZ_CHECK(strlen(m->u.cred.password) == m->u.cred.password_len);
		break;
	case W_AUTH:
	case W_LOOKUP:
	case W_RELAY:
		FUZZ_CHECK(valid_username(m->u.user.user));
		break;
	case W_RELAY_INVITE:
		FUZZ_CHECK(valid_username(m->u.relay.from));
		FUZZ_CHECK(*m->u.relay.addr != '\0' &&
		    strlen(m->u.relay.addr) < 64);
		FUZZ_CHECK(m->u.relay.port > 0 && m->u.relay.port <= 65535);
		FUZZ_CHECK(strlen(m->u.relay.key) == P2P_RELAY_KEY_HEX &&
		    strspn(m->u.relay.key, "0123456789abcdef") ==
		    P2P_RELAY_KEY_HEX);
		break;
	case W_HB:
		check_port(m->u.hb.port);
		FUZZ_CHECK(m->u.hb.addr == NULL ||
		    (*m->u.hb.addr != '\0' && strlen(m->u.hb.addr) < 64));
		break;
	case W_WATCH: {
		json_t *u;
		size_t i;

		FUZZ_CHECK(json_array_size(m->u.watch.users) <= WIRE_MAX_WATCH);
		json_array_foreach(m->u.watch.users, i, u)
			FUZZ_CHECK(valid_username(json_string_value(u)));
		break;
	}
	case W_PRESENCE:
		FUZZ_CHECK(valid_username(m->u.presence.user));
		FUZZ_CHECK(strlen(m->u.presence.addr) < 64);
		FUZZ_CHECK(*m->u.presence.key == '\0' ||
		    valid_fingerprint(m->u.presence.key));
		check_port(m->u.presence.port);
		break;
	case W_HELLO:
		FUZZ_CHECK(m->u.hello.v >= 1 && m->u.hello.v <= 1000);
		FUZZ_CHECK(valid_username(m->u.hello.user));
		break;
	case W_MSG:
		FUZZ_CHECK(valid_msgid(m->u.msg.id));
		FUZZ_CHECK(valid_username(m->u.msg.from));
		FUZZ_CHECK(valid_username(m->u.msg.to));
		FUZZ_CHECK(m->u.msg.ts >= 0);
		FUZZ_CHECK(valid_body(m->u.msg.body, m->u.msg.body_len, max_body));
		break;
	case W_ACK:
		FUZZ_CHECK(valid_msgid(m->u.ack.id));
		break;
	case W_GMSG:
		FUZZ_CHECK(valid_msgid(m->u.msg.id));
		FUZZ_CHECK(valid_msgid(m->u.msg.group));
		FUZZ_CHECK(valid_username(m->u.msg.from));
		FUZZ_CHECK(m->u.msg.to == NULL);
		FUZZ_CHECK(m->u.msg.ts >= 0);
		FUZZ_CHECK(valid_body(m->u.msg.body, m->u.msg.body_len, max_body));
		break;
	case W_GMEMBERS:
		FUZZ_CHECK(valid_msgid(m->u.msg.id));
		FUZZ_CHECK(m->u.msg.sig != NULL);
		FUZZ_CHECK(valid_body(m->u.msg.body, m->u.msg.body_len,
		    WIRE_MAX_LIST));
		break;
	case W_GLEAVE:
		FUZZ_CHECK(valid_msgid(m->u.msg.id));
		FUZZ_CHECK(valid_msgid(m->u.msg.group));
		break;
	case W_MBOX_PUT:
		FUZZ_CHECK(valid_username(m->u.mbox.to));
		FUZZ_CHECK(m->u.mbox.blob != NULL && m->u.mbox.size > 0);
		FUZZ_CHECK((size_t)m->u.mbox.size <= strlen(m->u.mbox.blob));
		break;
	case W_MBOX_GET:
		FUZZ_CHECK(m->u.mbox.after >= 0);
		FUZZ_CHECK(m->u.mbox.limit >= 1 &&
		    m->u.mbox.limit <= WIRE_MAX_MBOX);
		break;
	case W_MBOX_ACK: {
		json_t *v;
		size_t i;

		FUZZ_CHECK(json_array_size(m->u.mbox.ids) >= 1 &&
		    json_array_size(m->u.mbox.ids) <= WIRE_MAX_MBOX);
		json_array_foreach(m->u.mbox.ids, i, v)
			FUZZ_CHECK(json_is_integer(v) && json_integer_value(v) > 0);
		break;
	}
	case W_MBOX_WITHDRAW:
		FUZZ_CHECK(m->u.mbox.id > 0);
		break;
	case W_MBOX_COUNT:
	case W_MBOX:
		break;
	case W_FILE:
		FUZZ_CHECK(valid_msgid(m->u.file.id));
		FUZZ_CHECK(valid_username(m->u.file.from));
		FUZZ_CHECK(valid_username(m->u.file.to));
		FUZZ_CHECK(strlen(m->u.file.sha256) == 64);
		FUZZ_CHECK(m->u.file.size >= 0 && m->u.file.ts >= 0);
		FUZZ_CHECK(valid_body(m->u.file.name, m->u.file.name_len,
		    WIRE_MAX_NAME));
		break;
	case W_CHUNK:
		FUZZ_CHECK(valid_msgid(m->u.chunk.id));
		FUZZ_CHECK(m->u.chunk.off >= 0);
		FUZZ_CHECK(m->u.chunk.data_len > 0 &&
		    m->u.chunk.data_len <= WIRE_CHUNK_B64 + 4);
		break;
	case W_FILE_POS:
		FUZZ_CHECK(valid_msgid(m->u.fpos.id));
		FUZZ_CHECK(m->u.fpos.state != NULL && m->u.fpos.reason != NULL);
		FUZZ_CHECK(m->u.fpos.off >= 0);
		break;
	case W_FILE_CANCEL:
		FUZZ_CHECK(valid_msgid(m->u.ack.id));
		break;
	default:
		FUZZ_CHECK(!"wire_parse returned an unknown type");
	}
}

/* Encode again and decode: the same object, or a clean refusal. */
static void
check_roundtrip(json_t *obj, size_t max_frame)
{
	unsigned char *buf;
	json_t *again;
	size_t len, used;
	char err[160];

	if ((buf = frame_encode(obj, max_frame, &len)) == NULL)
		return;		/* grew over the limit when re-escaped */
	FUZZ_CHECK(len > FRAME_HDR && len - FRAME_HDR <= max_frame);
	FUZZ_CHECK(frame_decode(buf, len, max_frame, &again, &used, err,
	    sizeof(err)) == FRAME_OK);
	FUZZ_CHECK(used == len);
	FUZZ_CHECK(json_equal(obj, again));
	json_decref(again);
	/* One byte short is never a frame. */
	FUZZ_CHECK(frame_decode(buf, len - 1, max_frame, &again, &used, err,
	    sizeof(err)) == FRAME_NEED_MORE && again == NULL);
	free(buf);
}

static void
check_frame(json_t *obj, size_t max_frame, size_t max_body)
{
	struct wire_msg m;
	const char *code = NULL;
	char err[256] = "";

	FUZZ_CHECK(json_is_object(obj));
	FUZZ_CHECK(json_is_string(json_object_get(obj, "t")));
	if (wire_parse(obj, &m, max_body, &code, err, sizeof(err)) == 0) {
		FUZZ_CHECK(m.frame == obj);
		check_msg(&m, max_body);
	} else {
		FUZZ_CHECK(code != NULL && (strcmp(code, ERR_UNKNOWN_TYPE) == 0 ||
		    strcmp(code, ERR_BAD_FRAME) == 0));
		FUZZ_CHECK(*err != '\0');
	}
	check_roundtrip(obj, max_frame);
}

/*
 * A binary frame's payload (wire_bin.c): refused cleanly, or a chunk
 * whose every member is in range, whose data is exactly what follows
 * the header, and whose header is the one the sender would write for
 * it (one encoding per chunk: nothing loose is taken).
 */
static void
check_binary(const uint8_t *p, size_t n)
{
	unsigned char hdr[WIRE_BIN_HDR];
	struct wire_msg m;
	const char *code = NULL;
	char err[256] = "";

	if (wire_parse_binary(p, n, &m, &code, err, sizeof(err)) == -1) {
		FUZZ_CHECK(code != NULL && (strcmp(code, ERR_UNKNOWN_TYPE) == 0 ||
		    strcmp(code, ERR_BAD_FRAME) == 0));
		FUZZ_CHECK(*err != '\0');
		return;
	}
	FUZZ_CHECK(m.type == W_CHUNK && m.frame == NULL && m.u.chunk.raw);
	FUZZ_CHECK(valid_msgid(m.u.chunk.id));
	FUZZ_CHECK(m.u.chunk.off >= 0 && m.u.chunk.off <= INT64_MAX / 2);
	FUZZ_CHECK(m.u.chunk.data_len >= 1 && m.u.chunk.data_len <= WIRE_CHUNK);
	FUZZ_CHECK(n == WIRE_BIN_HDR + m.u.chunk.data_len);
	FUZZ_CHECK(m.u.chunk.data == (const char *)p + WIRE_BIN_HDR);
	wire_bin_chunk_hdr(hdr, m.u.chunk.id, m.u.chunk.off, m.u.chunk.data_len);
	FUZZ_CHECK(memcmp(hdr, p, WIRE_BIN_HDR) == 0);
}

int
fuzz_frame(const uint8_t *data, size_t size)
{
	size_t max_frame, max_body, off = 0, used;
	enum frame_status st;
	json_t *obj;
	char err[160];

	if (size < 1)
		return 0;
	max_frame = limits[data[0] & 3];
	max_body = limits[(data[0] >> 2) & 3];
	data++;
	size--;
	while (off < size) {
		*err = '\0';
		/* As conn_io.c does: a whole binary frame first, else JSON. */
		if (frame_binary(data + off, size - off, max_frame, &used)) {
			FUZZ_CHECK(used >= 1 && used <= max_frame &&
			    used <= size - off - FRAME_HDR);
			FUZZ_CHECK(data[off + FRAME_HDR] == FRAME_BIN);
			check_binary(data + off + FRAME_HDR, used);
			off += FRAME_HDR + used;
			continue;
		}
		st = frame_decode(data + off, size - off, max_frame, &obj, &used,
		    err, sizeof(err));
		if (st == FRAME_NEED_MORE) {
			FUZZ_CHECK(obj == NULL);
			break;
		}
		if (st == FRAME_TOO_BIG) {
			FUZZ_CHECK(obj == NULL && *err != '\0');
			break;
		}
		FUZZ_CHECK(used >= FRAME_HDR && used <= size - off);
		FUZZ_CHECK(used - FRAME_HDR <= max_frame);
		off += used;
		if (st == FRAME_BAD) {
			FUZZ_CHECK(obj == NULL && *err != '\0');
			continue;
		}
		FUZZ_CHECK(st == FRAME_OK && obj != NULL);
		check_frame(obj, max_frame, max_body);
		json_decref(obj);
	}
	return 0;
}

FUZZ_ENTRY(fuzz_frame)
