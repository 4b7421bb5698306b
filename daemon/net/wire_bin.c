/*
 * Binary frames (wire.h, "Binary frames"): a file's bytes as they are,
 * after a small fixed header, instead of base64 inside JSON, which cost
 * the sender 70% and the recipient 80% of their CPU in a transfer
 * (docs/PERFORMANCE.md). Every byte of the header is checked; the data's
 * length must be exactly what the frame holds after it. Pure functions:
 * conn delivers the payload, the fuzz target calls them on anything.
 */
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "proto.h"
#include "wire.h"

static const char hexdigits[] = "0123456789abcdef";

static uint64_t
get_be(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

static void
put_be(unsigned char *p, uint64_t v, int bytes)
{
	int i;

	for (i = bytes - 1; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* A hex digit's value (the caller's id is valid: anything else is 0). */
static unsigned
hexval(char c)
{
	const char *d = strchr(hexdigits, c);

	return c != '\0' && d != NULL ? (unsigned)(d - hexdigits) : 0;
}

/* A binary chunk: the header checked byte by byte, then the data. */
static int
parse_chunk(const unsigned char *p, size_t n, struct w_chunk *ch, char *err,
    size_t errlen)
{
	uint64_t off, len;
	int i;

	if (n < WIRE_BIN_HDR + 1) {
		snprintf(err, errlen, "binary chunk shorter than its header and "
		    "one byte");
		return -1;
	}
	if (p[2] != 0 || p[3] != 0) {
		snprintf(err, errlen, "binary chunk: reserved bytes not zero");
		return -1;
	}
	off = get_be(p + 20, 8);
	len = get_be(p + 28, 4);
	if (off > (uint64_t)INT64_MAX / 2) {
		snprintf(err, errlen, "binary chunk: offset out of range");
		return -1;
	}
	if (len != n - WIRE_BIN_HDR || len > WIRE_CHUNK) {
		snprintf(err, errlen, "binary chunk: length %llu, not the %zu "
		    "bytes after the header, or over %d",
		    (unsigned long long)len, n - WIRE_BIN_HDR, WIRE_CHUNK);
		return -1;
	}
	for (i = 0; i < 16; i++) {
		ch->idhex[2 * i] = hexdigits[p[4 + i] >> 4];
		ch->idhex[2 * i + 1] = hexdigits[p[4 + i] & 0xf];
	}
	ch->idhex[32] = '\0';
	ch->id = ch->idhex;
	ch->off = (int64_t)off;
	ch->data = (const char *)p + WIRE_BIN_HDR;
	ch->data_len = (size_t)len;
	ch->raw = true;
	return 0;
}

int
wire_parse_binary(const unsigned char *p, size_t n, struct wire_msg *m,
    const char **code, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	*code = ERR_BAD_FRAME;
	if (n < 2 || p[0] != FRAME_BIN) {
		snprintf(err, errlen, "binary frame without its type");
		return -1;
	}
	if (p[1] != WIRE_BIN_CHUNK) {
		*code = ERR_UNKNOWN_TYPE;
		snprintf(err, errlen, "unknown binary frame type %u", p[1]);
		return -1;
	}
	m->type = W_CHUNK;
	return parse_chunk(p, n, &m->u.chunk, err, errlen);
}

void
wire_bin_chunk_hdr(unsigned char hdr[WIRE_BIN_HDR], const char *id,
    int64_t off, size_t len)
{
	int i;

	memset(hdr, 0, WIRE_BIN_HDR);
	hdr[0] = FRAME_BIN;
	hdr[1] = WIRE_BIN_CHUNK;
	for (i = 0; i < 16; i++)
		hdr[4 + i] = (unsigned char)(hexval(id[2 * i]) << 4 |
		    hexval(id[2 * i + 1]));
	put_be(hdr + 20, (uint64_t)off, 8);
	put_be(hdr + 28, (uint64_t)len, 4);
}
