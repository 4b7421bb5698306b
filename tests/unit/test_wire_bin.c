/*
 * Unit tests for wire_bin.c and frame_binary (frame.c): a binary chunk
 * written by wire_bin_chunk_hdr reads back the same; every byte of the
 * header that could be wrong (type, reserved bytes, offset, length) is
 * refused; a binary frame is found only whole, within the limit, and
 * never taken for JSON (nor JSON for it).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "frame.h"
#include "proto.h"
#include "wire.h"
#include "testutil.h"

#define ID1	"0123456789abcdef0123456789abcdef"

static unsigned char buf[WIRE_BIN_HDR + WIRE_CHUNK + 8];
static struct wire_msg m;
static const char *code;
static char err[256];

/* A chunk of len bytes ('a', 'b', ...) at off into buf: its payload size. */
static size_t
chunk(int64_t off, size_t len)
{
	size_t i;

	wire_bin_chunk_hdr(buf, ID1, off, len);
	for (i = 0; i < len; i++)
		buf[WIRE_BIN_HDR + i] = (unsigned char)('a' + i % 26);
	return WIRE_BIN_HDR + len;
}

static int
parse(size_t n)
{
	*err = '\0';
	code = NULL;
	return wire_parse_binary(buf, n, &m, &code, err, sizeof(err));
}

#define REFUSED(n, want) do {						\
	ck_assert_int_eq(parse(n), -1);					\
	ck_assert_str_eq(code, want);					\
	ck_assert(*err != '\0');					\
} while (0)

START_TEST(test_roundtrip)
{
	size_t n = chunk(123456789012LL, 5);

	ck_assert_int_eq(buf[0], FRAME_BIN);
	ck_assert_int_eq(parse(n), 0);
	ck_assert_int_eq(m.type, W_CHUNK);
	ck_assert(m.frame == NULL);
	ck_assert(m.u.chunk.raw);
	ck_assert_str_eq(m.u.chunk.id, ID1);
	ck_assert_int_eq(m.u.chunk.off, 123456789012LL);
	ck_assert_uint_eq(m.u.chunk.data_len, 5);
	ck_assert(memcmp(m.u.chunk.data, "abcde", 5) == 0);
	ck_assert(m.u.chunk.data == (const char *)buf + WIRE_BIN_HDR);
	/* The largest a chunk may be, and the highest offset. */
	ck_assert_int_eq(parse(chunk(INT64_MAX / 2, WIRE_CHUNK)), 0);
	ck_assert_uint_eq(m.u.chunk.data_len, WIRE_CHUNK);
	ck_assert_int_eq(m.u.chunk.off, INT64_MAX / 2);
	/* Every id comes back as it went, in lowercase hex. */
	wire_bin_chunk_hdr(buf, "ffffffffffffffff0000000000000000", 0, 1);
	ck_assert_int_eq(parse(WIRE_BIN_HDR + 1), 0);
	ck_assert_str_eq(m.u.chunk.id, "ffffffffffffffff0000000000000000");
}
END_TEST

START_TEST(test_header_checked)
{
	size_t n = chunk(0, 10);

	buf[1] = 0x02;				/* a type not known */
	REFUSED(n, ERR_UNKNOWN_TYPE);
	chunk(0, 10);
	buf[0] = '{';				/* not binary at all */
	REFUSED(n, ERR_BAD_FRAME);
	chunk(0, 10);
	buf[2] = 1;				/* reserved */
	REFUSED(n, ERR_BAD_FRAME);
	chunk(0, 10);
	buf[3] = 0x80;
	REFUSED(n, ERR_BAD_FRAME);
	chunk(0, 10);
	buf[20] = 0x40;				/* offset 2^62 */
	REFUSED(n, ERR_BAD_FRAME);
	chunk(0, 10);
	buf[20] = 0x80;				/* offset "negative" */
	REFUSED(n, ERR_BAD_FRAME);
	/* The length must be the bytes after the header, exactly. */
	chunk(0, 10);
	REFUSED(n - 1, ERR_BAD_FRAME);
	ck_assert_int_eq(parse(n), 0);
	buf[31] = 11;
	REFUSED(n, ERR_BAD_FRAME);
	buf[31] = 9;
	REFUSED(n, ERR_BAD_FRAME);
	buf[31] = 10;
	buf[28] = 1;				/* 2^24 + 10 */
	REFUSED(n, ERR_BAD_FRAME);
	/* No data, a short header, one byte. */
	REFUSED(chunk(0, 0), ERR_BAD_FRAME);
	chunk(0, 10);
	REFUSED(WIRE_BIN_HDR - 1, ERR_BAD_FRAME);
	REFUSED(1, ERR_BAD_FRAME);
	REFUSED(0, ERR_BAD_FRAME);
	/* Over WIRE_CHUNK, even with a matching length. */
	REFUSED(chunk(0, WIRE_CHUNK + 1), ERR_BAD_FRAME);
}
END_TEST

/* frame_binary: only a whole binary frame within the limit. */
START_TEST(test_frame_binary)
{
	unsigned char f[FRAME_HDR + 64];
	size_t n;

	memset(f, 0, sizeof(f));
	f[3] = 40;				/* payload of 40 bytes */
	f[FRAME_HDR] = FRAME_BIN;
	ck_assert(frame_binary(f, FRAME_HDR + 40, 1024, &n));
	ck_assert_uint_eq(n, 40);
	ck_assert(frame_binary(f, sizeof(f), 1024, &n));	/* more follows */
	ck_assert(!frame_binary(f, FRAME_HDR + 39, 1024, &n));	/* not whole */
	ck_assert(!frame_binary(f, FRAME_HDR, 1024, &n));
	ck_assert(!frame_binary(f, FRAME_HDR + 40, 39, &n));	/* over the limit */
	f[FRAME_HDR] = '{';
	ck_assert(!frame_binary(f, FRAME_HDR + 40, 1024, &n));	/* JSON */
	f[3] = 0;				/* empty */
	f[FRAME_HDR] = FRAME_BIN;
	ck_assert(!frame_binary(f, sizeof(f), 1024, &n));
}
END_TEST

/* A binary frame is never JSON: an older daemon refuses it, not misreads it. */
START_TEST(test_not_json)
{
	unsigned char f[FRAME_HDR + WIRE_BIN_HDR + 4];
	json_t *obj;
	size_t used, n = chunk(7, 4);

	f[0] = f[1] = f[2] = 0;
	f[3] = (unsigned char)n;
	memcpy(f + FRAME_HDR, buf, n);
	ck_assert_int_eq(frame_decode(f, sizeof(f), 1024, &obj, &used, err,
	    sizeof(err)), FRAME_BAD);
	ck_assert(obj == NULL);
	ck_assert_uint_eq(used, sizeof(f));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("wire_bin");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_header_checked);
	tcase_add_test(tc, test_frame_binary);
	tcase_add_test(tc, test_not_json);
	suite_add_tcase(s, tc);
	return tu_run(s, LOG_LVL_INFO);
}
