/*
 * The checks of single members of a frame (wire.c, wire_peer.c): a string,
 * a message id, text of 1 to N bytes of UTF-8, a username, a port, an
 * integer in range, an offset, a SHA-256, a host, a mail key, the size of
 * base64 text. Each writes why into err on -1 (or NULL).
 */
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "valid.h"
#include "wire_int.h"

/* A string member, NULL (with err set) if absent or not a string. */
const char *
wire_get_str(json_t *o, const char *key, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v)) {
		snprintf(err, errlen, "member '%s' must be a string", key);
		return NULL;
	}
	return json_string_value(v);
}

/* A message id: 32 lowercase hex digits; NULL (with err set) if not. */
const char *
wire_get_msgid(json_t *o, const char *key, char *err, size_t errlen)
{
	const char *s = wire_get_str(o, key, err, errlen);

	if (s != NULL && !valid_msgid(s)) {
		snprintf(err, errlen, "member '%s' must be 32 lowercase hex digits",
		    key);
		return NULL;
	}
	return s;
}

/* Text of 1 to max bytes of UTF-8, its length in *len; NULL if not. */
const char *
wire_get_text(json_t *o, const char *key, size_t max, size_t *len, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || !valid_body(json_string_value(v),
	    json_string_length(v), max)) {
		snprintf(err, errlen, "member '%s' must be 1 to %zu bytes of UTF-8",
		    key, max);
		return NULL;
	}
	*len = json_string_length(v);
	return json_string_value(v);
}

const char *
wire_get_user(json_t *o, const char *key, char *err, size_t errlen)
{
	const char *s = wire_get_str(o, key, err, errlen);

	if (s != NULL && !valid_username(s)) {
		snprintf(err, errlen, "member '%s' is not a valid username", key);
		return NULL;
	}
	return s;
}

int
wire_get_port(json_t *o, const char *key, int *port, char *err, size_t errlen)
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

/* The optional "mail" of register, login and auth: "" or a key. */
int
wire_get_mail(json_t *f, const char **mail, char *err, size_t errlen)
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

/* An integer member in [min, max]; -1 with err if not. */
int
wire_get_int(json_t *o, const char *key, int64_t min, int64_t max, int64_t *out,
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
long
wire_base64_size(const char *s, size_t len)
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

/* A non-negative integer member no larger than max; -1 otherwise. */
int
wire_get_off(json_t *o, const char *key, int64_t max, int64_t *out, char *err,
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

bool
wire_valid_sha256(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

bool
wire_valid_host(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 64 && strspn(s, "0123456789abcdefghijklmnopqrstuvw"
	    "xyzABCDEFGHIJKLMNOPQRSTUVWXYZ.:-") == n;
}
