/*
 * The hot frames (msg, ack, acks) read straight from their bytes, without a
 * jansson tree: a strict reader of one flat JSON object whose members are
 * strings and integers. It never refuses anything itself: whatever it
 * does not read with certainty (an escape in a key, a real number, a
 * nested value, true/false/null, a duplicate key, invalid UTF-8, an
 * invalid member: anything at all) it declines, and the frame takes the
 * jansson path (frame_decode, wire_parse), which accepts or refuses it
 * with its own message. So the two can differ only if this reader
 * accepts a frame jansson would refuse, or reads other values: the fuzz
 * target tests/fuzz/hot_fuzz.c checks that neither happens.
 */
#ifndef P2P_WIRE_HOT_H
#define P2P_WIRE_HOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* A hot frame as read: m (W_MSG, W_ACK or W_ACKS), its strings in buf. */
struct wire_hot {
	struct wire_msg	 m;		/* m.frame is NULL */
	char		 buf[];
};

/* Members of a flat object the reader keeps; more: it declines. */
#define HOT_MAX_MEMBERS	12

enum hot_kind { HOT_STR, HOT_INT };

struct hot_member {
	const char	*key;		/* into the input: not NUL-terminated */
	size_t		 keylen;
	enum hot_kind	 kind;
	const char	*s;		/* HOT_STR: unescaped, NUL-terminated */
	size_t		 len;
	int64_t		 i;		/* HOT_INT */
};

/*
 * Read in[0..len) as one flat JSON object of string and integer members
 * (strings unescaped into out, which has room for len + 1 bytes).
 * Returns the number of members, or -1 to decline (the caller uses
 * jansson).
 */
int	hot_read_object(const char *in, size_t len, char *out,
	    struct hot_member *mem, size_t maxmem);

/*
 * A frame's payload (no header) as a valid msg, ack or acks exactly as
 * wire_parse would take it (max_body bounds bodies), malloc'd; NULL to
 * decline: the caller decodes it with jansson.
 */
struct wire_hot	*wire_hot_parse(const unsigned char *payload, size_t n,
		    size_t max_body);

#endif
