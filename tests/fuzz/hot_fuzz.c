/*
 * Fuzz target: the hot readers of daemon/net/wire_hot.c against the jansson
 * paths they stand in for. The first input byte picks the body limit,
 * the rest is a frame's payload and also a control request line.
 * Whatever the frame reader takes, jansson (json_loadb with
 * JSON_REJECT_DUPLICATES, as frame_decode calls it) must take too with
 * the same members and values, and wire_parse must give the same msg,
 * ack or acks; whatever the `send` reader takes, ctlsock_parse_request must take
 * as the same send request. What they decline goes to jansson in the
 * daemon, so it needs no check here.
 */
#include <string.h>

#include <jansson.h>

#include "ctlcmd.h"
#include "ctlsock.h"
#include "fuzz.h"
#include "wire.h"
#include "wire_hot.h"

static const size_t limits[4] = { 64, 1024, 65536, 1048576 };

static void
same_members(const char *in, size_t len, json_t *v)
{
	struct hot_member mem[HOT_MAX_MEMBERS];
	char *out = malloc(len + 1), key[256];
	json_t *jv;
	int n, i;

	FUZZ_CHECK(out != NULL);
	if ((n = hot_read_object(in, len, out, mem, HOT_MAX_MEMBERS)) >= 0) {
		FUZZ_CHECK(json_is_object(v));
		FUZZ_CHECK(json_object_size(v) == (size_t)n);
		for (i = 0; i < n; i++) {
			FUZZ_CHECK(mem[i].keylen < sizeof(key));
			memcpy(key, mem[i].key, mem[i].keylen);
			key[mem[i].keylen] = '\0';
			FUZZ_CHECK((jv = json_object_get(v, key)) != NULL);
			if (mem[i].kind == HOT_INT) {
				FUZZ_CHECK(json_is_integer(jv));
				FUZZ_CHECK(json_integer_value(jv) == mem[i].i);
				continue;
			}
			FUZZ_CHECK(json_is_string(jv));
			FUZZ_CHECK(json_string_length(jv) == mem[i].len);
			FUZZ_CHECK(memcmp(json_string_value(jv), mem[i].s,
			    mem[i].len) == 0);
			FUZZ_CHECK(mem[i].s[mem[i].len] == '\0');
		}
	}
	free(out);
}

/* A send line read hot: the jansson path takes it to the same request. */
static void
same_send(const char *line, size_t len, size_t max)
{
	struct ctl_hot_send *h = ctl_hot_send_parse(line, len, max);
	json_t *msg, *id, *args, *v;
	const char *code;
	char err[256];
	int cmd;

	if (h == NULL)
		return;
	FUZZ_CHECK(ctlsock_parse_request(line, len, CTL_MODE_PEER, max, &msg,
	    &id, &cmd, &code, err, sizeof(err)) == 0);
	FUZZ_CHECK(cmd == CMD_SEND);
	FUZZ_CHECK(json_is_integer(id) && json_integer_value(id) == h->reqid);
	args = json_object_get(msg, "args");
	FUZZ_CHECK(strcmp(json_string_value(json_object_get(args, "user")),
	    h->user) == 0);
	v = json_object_get(args, "text");
	FUZZ_CHECK(json_string_length(v) == h->text_len &&
	    memcmp(json_string_value(v), h->text, h->text_len) == 0);
	v = json_object_get(args, "id");
	FUZZ_CHECK((v == NULL) == (h->id == NULL));
	FUZZ_CHECK(v == NULL || strcmp(json_string_value(v), h->id) == 0);
	v = json_object_get(args, "ttl");
	FUZZ_CHECK((v == NULL) == !h->has_ttl);
	FUZZ_CHECK(v == NULL || json_number_value(v) == h->ttl);
	FUZZ_CHECK(json_object_get(args, "group") == NULL &&
	    json_object_get(args, "wait") == NULL);
	json_decref(msg);
	free(h);
}

int
fuzz_hot(const uint8_t *data, size_t size)
{
	struct wire_hot *h;
	struct wire_msg m;
	const char *code;
	char err[256];
	size_t max;
	json_t *v;

	if (size < 1)
		return 0;
	max = limits[data[0] & 3];
	data++;
	size--;
	v = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	same_members((const char *)data, size, v);
	same_send((const char *)data, size, max);
	if ((h = wire_hot_parse(data, size, max)) != NULL) {
		FUZZ_CHECK(v != NULL);
		FUZZ_CHECK(json_is_string(json_object_get(v, "t")));
		FUZZ_CHECK(wire_parse(v, &m, max, &code, err, sizeof(err)) == 0);
		FUZZ_CHECK(m.type == h->m.type);
		FUZZ_CHECK(h->m.frame == NULL);
		if (m.type == W_ACK)
			FUZZ_CHECK(strcmp(m.u.ack.id, h->m.u.ack.id) == 0);
		else if (m.type == W_ACKS) {
			size_t i;

			FUZZ_CHECK(m.u.acks.n == h->m.u.acks.n);
			for (i = 0; i < m.u.acks.n; i++)
				FUZZ_CHECK(strcmp(wire_acks_id(&m.u.acks, i),
				    wire_acks_id(&h->m.u.acks, i)) == 0);
		} else {
			FUZZ_CHECK(m.type == W_MSG);
			FUZZ_CHECK(strcmp(m.u.msg.id, h->m.u.msg.id) == 0);
			FUZZ_CHECK(strcmp(m.u.msg.from, h->m.u.msg.from) == 0);
			FUZZ_CHECK(strcmp(m.u.msg.to, h->m.u.msg.to) == 0);
			FUZZ_CHECK(m.u.msg.ts == h->m.u.msg.ts);
			FUZZ_CHECK(m.u.msg.body_len == h->m.u.msg.body_len);
			FUZZ_CHECK(memcmp(m.u.msg.body, h->m.u.msg.body,
			    m.u.msg.body_len) == 0);
			FUZZ_CHECK(h->m.u.msg.group == NULL &&
			    h->m.u.msg.sig == NULL);
		}
		free(h);
	}
	json_decref(v);
	return 0;
}

FUZZ_ENTRY(fuzz_hot)
