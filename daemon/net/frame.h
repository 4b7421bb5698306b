/*
 * Frame codec: a 4-byte big-endian length, then one UTF-8 JSON object
 * with a string member "t", or a binary payload whose first byte is
 * FRAME_BIN (never the first byte of a JSON text), read by
 * wire_parse_binary (wire.h). Pure functions over byte buffers, shared
 * by the TLS glue (conn.c), the unit tests and the fuzz targets.
 */
#ifndef P2P_FRAME_H
#define P2P_FRAME_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define FRAME_HDR	4
#define FRAME_BIN	0x00	/* first payload byte of a binary frame */

enum frame_status { FRAME_OK, FRAME_NEED_MORE, FRAME_TOO_BIG, FRAME_BAD };

/*
 * Decode one frame from buf[0..len). FRAME_OK sets *obj (caller decrefs)
 * and *used (header + payload). FRAME_TOO_BIG: the announced length is
 * over max_frame (the connection must close). FRAME_BAD: malformed JSON,
 * not an object, no string "t", or an empty payload; *used is set so the
 * caller may skip it, and err says why.
 */
enum frame_status frame_decode(const unsigned char *buf, size_t len,
		    size_t max_frame, json_t **obj, size_t *used,
		    char *err, size_t errlen);
/*
 * A whole binary frame at the head of buf[0..len): its payload's length
 * (at least 1) in *n, and true. False when the frame there is not whole,
 * not binary, empty or over max_frame: frame_decode says which.
 */
bool		 frame_binary(const unsigned char *buf, size_t len,
		    size_t max_frame, size_t *n);
/*
 * Encode: malloc'd buffer (header + compact JSON), or NULL if the payload
 * is over max_frame or obj is not an object with a string "t".
 */
unsigned char	*frame_encode(const json_t *obj, size_t max_frame, size_t *outlen);

#endif
