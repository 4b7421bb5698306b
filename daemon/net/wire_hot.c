/*
 * The hot frames (msg, ack, acks) read without a jansson tree: see wire_hot.h.
 * The reader takes a strict subset of what json_loadb(...,
 * JSON_REJECT_DUPLICATES) takes and declines the rest; what it takes it
 * must read to the same values. It declines rather than refuses so that
 * every error, and its message, stays jansson's.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsock.h"
#include "proto.h"
#include "util.h"
#include "valid.h"
#include "wire_hot.h"

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t
skip_ws(const char *in, size_t len, size_t i)
{
	while (i < len && is_ws(in[i]))
		i++;
	return i;
}

/*
 * Length of the well-formed UTF-8 sequence of 2 to 4 bytes at s (RFC 3629:
 * no overlong forms, no surrogates, nothing over U+10FFFF), 0 if none.
 */
static size_t
utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned c = s[0];
	size_t n, k;
	unsigned cp;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/*
 * A string value from in[i] (just past its opening quote), unescaped to
 * out; returns the index past the closing quote, 0 to decline. \u escapes
 * of surrogates and of U+0000 decline (jansson pairs or refuses them).
 */
static size_t
read_string(const char *in, size_t len, size_t i, char *out, size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t o = 0, n;
	unsigned cp;
	int k, h;

	while (i < len) {
		if (u[i] == '"') {
			out[o] = '\0';
			*outlen = o;
			return i + 1;
		}
		if (u[i] < 0x20)
			return 0;
		if (u[i] < 0x80 && u[i] != '\\') {
			out[o++] = in[i++];
			continue;
		}
		if (u[i] >= 0x80) {
			if ((n = utf8_seq(u + i, len - i)) == 0)
				return 0;
			memcpy(out + o, in + i, n);
			o += n;
			i += n;
			continue;
		}
		if (++i >= len)
			return 0;
		switch (in[i++]) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case '/': out[o++] = '/'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			if (len - i < 4)
				return 0;
			for (cp = 0, k = 0; k < 4; k++) {
				h = util_hexval((unsigned char)in[i + (size_t)k]);
				if (h < 0)
					return 0;
				cp = cp << 4 | (unsigned)h;
			}
			i += 4;
			if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
				return 0;
			if (cp < 0x80)
				out[o++] = (char)cp;
			else if (cp < 0x800) {
				out[o++] = (char)(0xc0 | cp >> 6);
				out[o++] = (char)(0x80 | (cp & 0x3f));
			} else {
				out[o++] = (char)(0xe0 | cp >> 12);
				out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (cp & 0x3f));
			}
			break;
		default:
			return 0;
		}
	}
	return 0;
}

/*
 * An integer from in[i]: -?(0|[1-9][0-9]*) of at most 18 digits (no
 * overflow possible), not followed by a fraction or an exponent.
 * Returns the index past it, 0 to decline.
 */
static size_t
read_int(const char *in, size_t len, size_t i, int64_t *v)
{
	bool neg = false;
	size_t start;
	int64_t x = 0;

	if (i < len && in[i] == '-') {
		neg = true;
		i++;
	}
	start = i;
	while (i < len && in[i] >= '0' && in[i] <= '9') {
		if (i - start == 18)
			return 0;
		x = x * 10 + (in[i++] - '0');
	}
	if (i == start || (in[start] == '0' && i - start > 1))
		return 0;
	if (i < len && (in[i] == '.' || in[i] == 'e' || in[i] == 'E'))
		return 0;
	*v = neg ? -x : x;
	return i;
}

/*
 * The flat object at in[i] (after any whitespace), strings unescaped to
 * out; the number of members and *end past its '}', or -1.
 */
static int
read_object_at(const char *in, size_t len, size_t i, char *out,
    struct hot_member *mem, size_t maxmem, size_t *end)
{
	size_t k, n = 0, o = 0, slen;
	struct hot_member *m;

	i = skip_ws(in, len, i);
	if (i >= len || in[i++] != '{')
		return -1;
	i = skip_ws(in, len, i);
	if (i < len && in[i] == '}') {
		i++;
		goto end;
	}
	for (;;) {
		if (n == maxmem || i >= len || in[i++] != '"')
			return -1;
		m = &mem[n];
		/* A key: printable ASCII, no escape. */
		m->key = in + i;
		while (i < len && in[i] != '"') {
			if (in[i] < 0x20 || in[i] > 0x7e || in[i] == '\\')
				return -1;
			i++;
		}
		if (i >= len)
			return -1;
		m->keylen = (size_t)(in + i - m->key);
		i++;
		for (k = 0; k < n; k++)
			if (mem[k].keylen == m->keylen &&
			    memcmp(mem[k].key, m->key, m->keylen) == 0)
				return -1;	/* jansson refuses it */
		i = skip_ws(in, len, i);
		if (i >= len || in[i++] != ':')
			return -1;
		i = skip_ws(in, len, i);
		if (i >= len)
			return -1;
		if (in[i] == '"') {
			if ((i = read_string(in, len, i + 1, out + o, &slen)) == 0)
				return -1;
			m->kind = HOT_STR;
			m->s = out + o;
			m->len = slen;
			o += slen + 1;
		} else {
			if ((i = read_int(in, len, i, &m->i)) == 0)
				return -1;
			m->kind = HOT_INT;
		}
		n++;
		i = skip_ws(in, len, i);
		if (i < len && in[i] == ',') {
			i = skip_ws(in, len, i + 1);
			continue;
		}
		if (i < len && in[i] == '}') {
			i++;
			break;
		}
		return -1;
	}
end:
	*end = i;
	return (int)n;
}

int
hot_read_object(const char *in, size_t len, char *out, struct hot_member *mem,
    size_t maxmem)
{
	size_t end;
	int n;

	if ((n = read_object_at(in, len, 0, out, mem, maxmem, &end)) < 0)
		return -1;
	return skip_ws(in, len, end) == len ? n : -1;
}

static const struct hot_member *
member(const struct hot_member *mem, int n, const char *key)
{
	size_t kl = strlen(key);
	int i;

	for (i = 0; i < n; i++)
		if (mem[i].keylen == kl && memcmp(mem[i].key, key, kl) == 0)
			return &mem[i];
	return NULL;
}

static const char *
str_of(const struct hot_member *mem, int n, const char *key)
{
	const struct hot_member *m = member(mem, n, key);

	return m != NULL && m->kind == HOT_STR ? m->s : NULL;
}

/* Past the quoted key (no escapes) at in[i] and its ':' if it is key. */
static size_t
expect_key(const char *in, size_t len, size_t i, const char *key)
{
	size_t kl = strlen(key);

	i = skip_ws(in, len, i);
	if (len - i < kl + 2 || in[i] != '"' || memcmp(in + i + 1, key, kl) != 0 ||
	    in[i + 1 + kl] != '"')
		return 0;
	i = skip_ws(in, len, i + kl + 2);
	return i < len && in[i] == ':' ? i + 1 : 0;
}

struct ctl_hot_send *
ctl_hot_send_parse(const char *line, size_t len, size_t max_body)
{
	struct hot_member mem[HOT_MAX_MEMBERS];
	const struct hot_member *ttl, *id, *m;
	struct ctl_hot_send *h;
	size_t i, end;
	int n, k;

	/* {"id":N,"cmd":"send","args":{...}}, as p2pchatctl writes it. */
	if (len < 8 || memcmp(line, "{\"id\":", 6) != 0)
		return NULL;
	if ((h = malloc(sizeof(*h) + len + 1)) == NULL)
		return NULL;
	memset(h, 0, offsetof(struct ctl_hot_send, buf));
	if ((i = read_int(line, len, 6, &h->reqid)) == 0 ||
	    (i = skip_ws(line, len, i)) >= len || line[i] != ',' ||
	    (i = expect_key(line, len, i + 1, "cmd")) == 0 ||
	    (i = skip_ws(line, len, i)) > len - 6 ||
	    memcmp(line + i, "\"send\"", 6) != 0 ||
	    (i = skip_ws(line, len, i + 6)) >= len || line[i] != ',' ||
	    (i = expect_key(line, len, i + 1, "args")) == 0 ||
	    (n = read_object_at(line, len, i, h->buf, mem, HOT_MAX_MEMBERS,
	    &end)) < 0 || (i = skip_ws(line, len, end)) >= len ||
	    line[i] != '}' || skip_ws(line, len, i + 1) != len)
		goto decline;
	/* args: user and text, optionally id and ttl; anything else declines. */
	for (k = 0; k < n; k++) {
		m = &mem[k];
		if (!((m->keylen == 4 && memcmp(m->key, "user", 4) == 0) ||
		    (m->keylen == 4 && memcmp(m->key, "text", 4) == 0) ||
		    (m->keylen == 2 && memcmp(m->key, "id", 2) == 0) ||
		    (m->keylen == 3 && memcmp(m->key, "ttl", 3) == 0)))
			goto decline;
	}
	h->user = str_of(mem, n, "user");
	id = member(mem, n, "id");
	ttl = member(mem, n, "ttl");
	m = member(mem, n, "text");
	if (h->user == NULL || !valid_username(h->user) || m == NULL ||
	    m->kind != HOT_STR || !valid_body(m->s, m->len, max_body) ||
	    (id != NULL && (id->kind != HOT_STR || !valid_msgid(id->s))) ||
	    (ttl != NULL && (ttl->kind != HOT_INT || ttl->i < 0 ||
	    ttl->i > 1000000000)))
		goto decline;
	h->text = m->s;
	h->text_len = m->len;
	h->id = id != NULL ? id->s : NULL;
	h->has_ttl = ttl != NULL;
	h->ttl = ttl != NULL ? (double)ttl->i : 0;
	return h;
decline:
	free(h);
	return NULL;
}

/*
 * acks in the one shape p2pchatd writes, spaces allowed between tokens:
 * {"t":"acks","ids":["<32 lowercase hex>",...]} with 1 to WIRE_MAX_ACKS
 * ids, packed into h->buf (33 bytes each). Anything else declines.
 */
static struct wire_hot *
hot_acks(const char *in, size_t len)
{
	struct wire_hot *h;
	size_t i, k, n = 0;
	char *out;

	if ((h = malloc(sizeof(*h) + WIRE_MAX_ACKS * (P2P_MSGID_HEX + 1))) == NULL)
		return NULL;
	memset(&h->m, 0, sizeof(h->m));
	out = h->buf;
	i = skip_ws(in, len, 0);
	if (i >= len || in[i] != '{' || (i = expect_key(in, len, i + 1,
	    "t")) == 0 || (i = skip_ws(in, len, i)) > len - 6 ||
	    memcmp(in + i, "\"acks\"", 6) != 0 ||
	    (i = skip_ws(in, len, i + 6)) >= len || in[i] != ',' ||
	    (i = expect_key(in, len, i + 1, "ids")) == 0 ||
	    (i = skip_ws(in, len, i)) >= len || in[i++] != '[')
		goto decline;
	for (;;) {
		i = skip_ws(in, len, i);
		if (n == WIRE_MAX_ACKS || len - i < P2P_MSGID_HEX + 2 ||
		    in[i] != '"' || in[i + 1 + P2P_MSGID_HEX] != '"')
			goto decline;
		for (k = 0; k < P2P_MSGID_HEX; k++) {
			char c = in[i + 1 + k];

			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
				goto decline;
		}
		memcpy(out, in + i + 1, P2P_MSGID_HEX);
		out[P2P_MSGID_HEX] = '\0';
		out += P2P_MSGID_HEX + 1;
		n++;
		i = skip_ws(in, len, i + P2P_MSGID_HEX + 2);
		if (i < len && in[i] == ',') {
			i++;
			continue;
		}
		if (i < len && in[i] == ']')
			break;
		goto decline;
	}
	i = skip_ws(in, len, i + 1);
	if (i >= len || in[i] != '}' || skip_ws(in, len, i + 1) != len)
		goto decline;
	h->m.type = W_ACKS;
	h->m.u.acks.n = n;
	h->m.u.acks.packed = h->buf;
	return h;
decline:
	free(h);
	return NULL;
}

struct wire_hot *
wire_hot_parse(const unsigned char *payload, size_t n, size_t max_body)
{
	struct hot_member mem[HOT_MAX_MEMBERS];
	const struct hot_member *ts, *body;
	struct wire_hot *h;
	const char *t;
	int nm;

	/* Cheap first look: {"t":"msg", {"t":"ack" or {"t":"acks". */
	if (n < 12 || memcmp(payload, "{\"t\":\"", 6) != 0)
		return NULL;
	if (memcmp(payload + 6, "acks\"", 5) == 0)
		return hot_acks((const char *)payload, n);
	if (memcmp(payload + 6, "msg\"", 4) != 0 &&
	    memcmp(payload + 6, "ack\"", 4) != 0)
		return NULL;
	if ((h = malloc(sizeof(*h) + n + 1)) == NULL)
		return NULL;
	memset(&h->m, 0, sizeof(h->m));
	if ((nm = hot_read_object((const char *)payload, n, h->buf, mem,
	    HOT_MAX_MEMBERS)) < 0 || (t = str_of(mem, nm, "t")) == NULL)
		goto decline;
	if (strcmp(t, "ack") == 0) {
		h->m.type = W_ACK;
		h->m.u.ack.id = str_of(mem, nm, "id");
		if (!valid_msgid(h->m.u.ack.id))
			goto decline;
		return h;
	}
	if (strcmp(t, "msg") != 0)
		goto decline;
	h->m.type = W_MSG;
	h->m.u.msg.id = str_of(mem, nm, "id");
	h->m.u.msg.from = str_of(mem, nm, "from");
	h->m.u.msg.to = str_of(mem, nm, "to");
	ts = member(mem, nm, "ts");
	body = member(mem, nm, "body");
	if (!valid_msgid(h->m.u.msg.id) || h->m.u.msg.from == NULL ||
	    !valid_username(h->m.u.msg.from) || h->m.u.msg.to == NULL ||
	    !valid_username(h->m.u.msg.to) || ts == NULL ||
	    ts->kind != HOT_INT || ts->i < 0 || body == NULL ||
	    body->kind != HOT_STR || !valid_body(body->s, body->len, max_body))
		goto decline;
	h->m.u.msg.ts = ts->i;
	h->m.u.msg.body = body->s;
	h->m.u.msg.body_len = body->len;
	return h;
decline:
	free(h);
	return NULL;
}
