/*
 * Frame codec. A frame is a 4-byte big-endian payload length followed by
 * that many bytes of UTF-8 JSON: one object with a string member "t"; or
 * of a binary payload (FRAME_BIN first), which frame_binary finds.
 * Nothing here touches a socket; conn.c feeds bytes in and takes frames
 * out, and the fuzz target calls frame_decode() on arbitrary input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "frame.h"
#include "util.h"

/* Output buffer for json_dump_callback(), with room for the header. */
struct frame_buf {
	unsigned char	*data;
	size_t		 len;
	size_t		 cap;
	size_t		 max;	/* header + max_frame */
};

static int	frame_dump_cb(const char *, size_t, void *);

static void
frame_err(char *err, size_t errlen, const char *why, const char *detail)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s", why, detail);
}

/* Check the decoded value is an object with a string "t"; NULL if so. */
static const char *
frame_check(const json_t *obj)
{
	const json_t *t;

	if (!json_is_object(obj))
		return "frame is not a JSON object";
	if ((t = json_object_get(obj, "t")) == NULL)
		return "frame has no \"t\" member";
	if (!json_is_string(t))
		return "frame member \"t\" is not a string";
	return NULL;
}

enum frame_status
frame_decode(const unsigned char *buf, size_t len, size_t max_frame,
    json_t **obj, size_t *used, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v;
	const char *why;
	size_t n;

	*obj = NULL;
	*used = 0;
	if (len < FRAME_HDR)
		return FRAME_NEED_MORE;
	n = (size_t)buf[0] << 24 | (size_t)buf[1] << 16 |
	    (size_t)buf[2] << 8 | (size_t)buf[3];
	if (n > max_frame) {
		frame_err(err, errlen, "frame is over the size limit", "");
		return FRAME_TOO_BIG;
	}
	if (len - FRAME_HDR < n)
		return FRAME_NEED_MORE;
	*used = FRAME_HDR + n;
	if (n == 0) {
		frame_err(err, errlen, "empty frame", "");
		return FRAME_BAD;
	}

	/* Without JSON_ALLOW_NUL, "\u0000" in a string is refused. */
	v = json_loadb((const char *)buf + FRAME_HDR, n,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		frame_err(err, errlen, "bad JSON: ", jerr.text);
		return FRAME_BAD;
	}
	if ((why = frame_check(v)) != NULL) {
		json_decref(v);
		frame_err(err, errlen, why, "");
		return FRAME_BAD;
	}
	*obj = v;
	return FRAME_OK;
}

bool
frame_binary(const unsigned char *buf, size_t len, size_t max_frame,
    size_t *n)
{
	size_t m;

	*n = 0;
	if (len <= FRAME_HDR)
		return false;
	m = (size_t)buf[0] << 24 | (size_t)buf[1] << 16 |
	    (size_t)buf[2] << 8 | (size_t)buf[3];
	if (m == 0 || m > max_frame || len - FRAME_HDR < m ||
	    buf[FRAME_HDR] != FRAME_BIN)
		return false;
	*n = m;
	return true;
}

/* Append serialised JSON; stop (-1) as soon as it is over the limit. */
static int
frame_dump_cb(const char *data, size_t size, void *arg)
{
	struct frame_buf *fb = arg;
	unsigned char *p;
	size_t need;

	if (size > fb->max - fb->len)
		return -1;
	need = fb->len + size;
	if (need > fb->cap) {
		while (fb->cap < need)
			fb->cap *= 2;
		if (fb->cap > fb->max)
			fb->cap = fb->max;
		/* Not realloc: the old block may hold a password. */
		if ((p = malloc(fb->cap)) == NULL)
			return -1;
		memcpy(p, fb->data, fb->len);
		explicit_bzero(fb->data, fb->len);
		free(fb->data);
		fb->data = p;
	}
	memcpy(fb->data + fb->len, data, size);
	fb->len += size;
	return 0;
}

unsigned char *
frame_encode(const json_t *obj, size_t max_frame, size_t *outlen)
{
	struct frame_buf fb;
	size_t n;

	*outlen = 0;
	if (frame_check(obj) != NULL)
		return NULL;
	if (max_frame > UINT32_MAX)
		max_frame = UINT32_MAX;
	if (max_frame > SIZE_MAX - FRAME_HDR)
		max_frame = SIZE_MAX - FRAME_HDR;

	fb.max = FRAME_HDR + max_frame;
	fb.cap = fb.max < 256 ? fb.max : 256;
	fb.data = xmalloc(fb.cap);
	fb.len = FRAME_HDR;
	if (json_dump_callback(obj, frame_dump_cb, &fb, JSON_COMPACT) != 0 ||
	    fb.len == FRAME_HDR) {
		explicit_bzero(fb.data, fb.len);
		free(fb.data);
		return NULL;
	}
	n = fb.len - FRAME_HDR;
	fb.data[0] = (n >> 24) & 0xff;
	fb.data[1] = (n >> 16) & 0xff;
	fb.data[2] = (n >> 8) & 0xff;
	fb.data[3] = n & 0xff;
	*outlen = fb.len;
	return fb.data;
}
