/*
 * JSON writer: compact JSON printed into a growing buffer (see jsonw.h).
 * A profile of the gestor under load showed a reply costing a json_pack,
 * an object update, a dump into a malloc'd buffer, a copy and three
 * frees; this prints the same bytes once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "util.h"

static void	jsonw_room(struct jsonw *, size_t);

void
jsonw_init(struct jsonw *w)
{
	w->buf = w->inl;
	w->cap = sizeof(w->inl);
	w->len = 0;
	jsonw_reset(w);
}

void
jsonw_reset(struct jsonw *w)
{
	explicit_bzero(w->buf, w->len);
	w->len = 0;
	w->depth = 0;
	w->more[0] = false;
	w->err = false;
}

void
jsonw_free(struct jsonw *w)
{
	explicit_bzero(w->buf, w->len);
	if (w->buf != w->inl)
		free(w->buf);
	w->buf = w->inl;
	w->cap = sizeof(w->inl);
	w->len = 0;
}

const char *
jsonw_data(const struct jsonw *w)
{
	return w->buf;
}

const char *
jsonw_cstr(struct jsonw *w)
{
	jsonw_room(w, 1);
	w->buf[w->len] = '\0';
	return w->buf;
}

size_t
jsonw_len(const struct jsonw *w)
{
	return w->len;
}

int
jsonw_ok(const struct jsonw *w)
{
	return w->err || w->depth != 0 || w->len == 0 ? -1 : 0;
}

/* Room for n more bytes; never realloc (the old block may hold a body). */
static void
jsonw_room(struct jsonw *w, size_t n)
{
	char *p;
	size_t cap = w->cap;

	if (w->cap - w->len >= n)
		return;
	while (cap - w->len < n)
		cap *= 2;
	p = xmalloc(cap);
	memcpy(p, w->buf, w->len);
	explicit_bzero(w->buf, w->len);
	if (w->buf != w->inl)
		free(w->buf);
	w->buf = p;
	w->cap = cap;
}

static void
jsonw_put(struct jsonw *w, const char *s, size_t n)
{
	jsonw_room(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void
jsonw_putc(struct jsonw *w, char c)
{
	jsonw_room(w, 1);
	w->buf[w->len++] = c;
}

/* A JSON string: quote, backslash and control characters escaped. */
static void
jsonw_quote(struct jsonw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s, *end = s + n;
	unsigned char c;
	char esc[6];

	jsonw_putc(w, '"');
	for (; s < end; s++) {
		c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jsonw_put(w, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"': jsonw_put(w, "\\\"", 2); break;
		case '\\': jsonw_put(w, "\\\\", 2); break;
		case '\n': jsonw_put(w, "\\n", 2); break;
		case '\r': jsonw_put(w, "\\r", 2); break;
		case '\t': jsonw_put(w, "\\t", 2); break;
		case '\b': jsonw_put(w, "\\b", 2); break;
		case '\f': jsonw_put(w, "\\f", 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			jsonw_put(w, esc, sizeof(esc));
		}
	}
	jsonw_put(w, run, (size_t)(end - run));
	jsonw_putc(w, '"');
}

/* The separator and key before a value at the current level. */
static void
jsonw_key(struct jsonw *w, const char *key)
{
	if (w->more[w->depth])
		jsonw_putc(w, ',');
	w->more[w->depth] = true;
	if (key != NULL) {
		jsonw_quote(w, key, strlen(key));
		jsonw_putc(w, ':');
	}
}

static void
jsonw_push(struct jsonw *w, const char *key, char c)
{
	jsonw_key(w, key);
	if (w->depth + 1 >= JSONW_DEPTH) {
		w->err = true;
		return;
	}
	jsonw_putc(w, c);
	w->more[++w->depth] = false;
}

static void
jsonw_pop(struct jsonw *w, char c)
{
	if (w->depth == 0) {
		w->err = true;
		return;
	}
	jsonw_putc(w, c);
	w->depth--;
}

void
jsonw_open(struct jsonw *w, const char *key)
{
	jsonw_push(w, key, '{');
}

void
jsonw_close(struct jsonw *w)
{
	jsonw_pop(w, '}');
}

void
jsonw_open_array(struct jsonw *w, const char *key)
{
	jsonw_push(w, key, '[');
}

void
jsonw_close_array(struct jsonw *w)
{
	jsonw_pop(w, ']');
}

void
jsonw_strn(struct jsonw *w, const char *key, const char *s, size_t n)
{
	jsonw_key(w, key);
	jsonw_quote(w, s, n);
}

void
jsonw_str(struct jsonw *w, const char *key, const char *s)
{
	if (s == NULL) {
		jsonw_null(w, key);
		return;
	}
	jsonw_strn(w, key, s, strlen(s));
}

void
jsonw_int(struct jsonw *w, const char *key, int64_t v)
{
	char num[24];
	int n;

	jsonw_key(w, key);
	n = snprintf(num, sizeof(num), "%" PRId64, v);
	jsonw_put(w, num, (size_t)n);
}

void
jsonw_bool(struct jsonw *w, const char *key, bool v)
{
	jsonw_key(w, key);
	if (v)
		jsonw_put(w, "true", 4);
	else
		jsonw_put(w, "false", 5);
}

void
jsonw_null(struct jsonw *w, const char *key)
{
	jsonw_key(w, key);
	jsonw_put(w, "null", 4);
}

static int
jsonw_dump_cb(const char *data, size_t size, void *arg)
{
	jsonw_put(arg, data, size);
	return 0;
}

void
jsonw_json(struct jsonw *w, const char *key, const json_t *v)
{
	if (v == NULL) {
		jsonw_null(w, key);
		return;
	}
	if (json_is_integer(v)) {
		jsonw_int(w, key, json_integer_value(v));
		return;
	}
	jsonw_key(w, key);
	if (json_dump_callback(v, jsonw_dump_cb, w, JSON_COMPACT |
	    JSON_ENCODE_ANY) != 0)
		w->err = true;
}
