/*
 * The wire protocol inside TLS: one enum of frame types, and one parse
 * function per type that turns a JSON frame into a checked C struct.
 * Handlers are tables indexed by enum wire_type; an empty slot means the
 * type is not accepted in that role and gets an "unknown_type" error.
 * Strings in a parsed struct point into the frame and live as long as it.
 */
#ifndef P2P_WIRE_H
#define P2P_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum wire_type {
	W_OK,
	W_ERROR,
	W_REGISTER,
	W_LOGIN,
	W_AUTH,
	W_HB,
	W_LOOKUP,
	W_WATCH,
	W_PRESENCE,
	W_HELLO,
	W_MSG,
	W_ACK,
	W_RELAY,
	W_RELAY_INVITE,
	W_GMSG,
	W_GMEMBERS,
	W_GLEAVE,
	W_MBOX_PUT,
	W_MBOX_GET,
	W_MBOX_ACK,
	W_MBOX_WITHDRAW,
	W_MBOX_COUNT,
	W_MBOX,
	W_FILE,
	W_CHUNK,
	W_FILE_POS,
	W_FILE_CANCEL,
	W_ACKS,
	W__MAX
};

/* id: the message refused (32 hex digits), NULL when the frame names none. */
struct w_error	 { const char *code, *message, *id; };
/*
 * register, login, auth: mail is the key (64 hex digits) the peer accepts
 * mail for, "" for none, or NULL when the member is absent.
 */
struct w_cred	 {
	const char	*user, *password, *mail;
	size_t		 password_len;
};
struct w_user	 { const char *user, *mail; };
struct w_hb	 { int port; const char *addr; };	/* addr: advertised, or NULL */
struct w_watch	 { json_t *users; };	/* array of valid usernames */
struct w_presence {
	const char	*user, *addr, *key;	/* addr/key "" when unknown */
	bool		 online;
	int		 port;
	int64_t		 last_seen;
};
/*
 * Capabilities, offered in hello's caps (an array of short names): what a
 * peer can take beyond protocol v1's msg and ack. A hello without caps
 * is an older peer's, with none; names this build does not know are
 * ignored; a malformed caps refuses the hello. Peer code asks
 * pm_link_has_cap() (the recipient's, on our link) or conn_has_cap()
 * (the other side's, on any connection that said hello).
 */
enum wire_cap {
	WCAP_FILE,		/* "file": file, chunk, file-pos, file-cancel */
	WCAP_ACKS,		/* "acks": acks {ids} for a batch of messages */
	WCAP_FILE_BIN,		/* "file-bin": binary chunks (wire_bin.c) */
	WCAP__MAX		/* at most 32: caps are bits of an unsigned */
};
#define WIRE_MAX_CAPS		32	/* names in one caps array */
#define WIRE_MAX_CAP_LEN	32	/* bytes of one name, [a-z0-9-] */
/* caps: bit 1u << c for each known enum wire_cap c offered. */
struct w_hello	 { int v; const char *user; unsigned caps; };
/*
 * msg; gmsg {id,group,from,ts,body} (to NULL); gmembers {id,list,sig}
 * (body the list as signed, sig its signature, from and to NULL);
 * gleave {id,group} (a member asks the admin to be taken off the list).
 */
struct w_msg {
	const char	*id, *from, *to, *body;
	size_t		 body_len;
	int64_t		 ts;		/* sender's clock, unix ms */
	const char	*group, *sig;	/* gmsg, gmembers; else NULL */
};
#define WIRE_MAX_LIST	(64 * 1024)	/* bytes of a gmembers list */
struct w_ack	 { const char *id; };
/*
 * acks {ids:[id,...]}: the recipient's acks for a batch of messages, in
 * the order it stored them, 1 to WIRE_MAX_ACKS ids (to a peer whose hello
 * offers "acks"; others get one ack each). Read with wire_acks_id().
 */
struct w_acks {
	size_t		 n;
	json_t		*ids;		/* the array (jansson's path), or NULL */
	const char	*packed;	/* else n ids of 33 bytes (wire_hot.c) */
};
#define WIRE_MAX_ACKS	256	/* ids in one acks frame */
/* A file offered (sender to recipient, on the sender's connection). */
struct w_file {
	const char	*id, *from, *to, *name, *sha256;
	size_t		 name_len;
	int64_t		 size, ts;
};
/*
 * A piece of it: data for the bytes from off. In a chunk frame (JSON)
 * data is base64; in a binary chunk (raw, wire_parse_binary) it is the
 * bytes themselves, 1 to WIRE_CHUNK of them, and id points to idhex.
 */
struct w_chunk {
	const char	*id, *data;
	size_t		 data_len;
	int64_t		 off;
	bool		 raw;
	char		 idhex[33];
};
/*
 * The recipient's word on a file: state receiving (send from off: what
 * it has written and synced), received (checked, shown), failed or
 * rejected (with reason: send no more).
 */
struct w_fpos	 { const char *id, *state, *reason; int64_t off; };
/* file-cancel: the sender gave a file up (u.ack: its id). */
/* relay-invite, and the ok reply to relay (from "") */
struct w_relay {
	const char	*from, *addr, *key;
	int		 port;
};

/*
 * The mailbox: mbox-put {to,blob} (blob base64, size its decoded bytes)
 * or {to,blobs:[{blob,key}]} (several deposits at once, each with its
 * sender's dedup key: 16 hex digits, distinct), mbox-get {after[,limit]},
 * mbox-ack {ids:[...]}, mbox-withdraw {id}, mbox-count {} (the caller's
 * deposits waiting: ok {count,bytes}).
 */
struct w_mbox {
	const char	*to, *blob;
	long		 size;
	int64_t		 after, id;
	int		 limit;
	json_t		*ids;		/* array of ids > 0 */
	json_t		*blobs;		/* mbox-put's many, checked; or NULL */
};
#define WIRE_MAX_MBOX	256	/* deposits in one get or ack */
#define WIRE_MAX_PUT	64	/* deposits in one mbox-put's blobs */
#define WIRE_MBOX_KEY	16	/* hex digits of a deposit's dedup key */

struct wire_msg {
	enum wire_type	 type;
	json_t		*frame;
	union {
		struct w_error		 error;
		struct w_cred		 cred;		/* register, login */
		struct w_user		 user;		/* auth, lookup, relay */
		struct w_hb		 hb;
		struct w_watch		 watch;
		struct w_presence	 presence;
		struct w_hello		 hello;
		struct w_msg		 msg;		/* msg, gmsg, gmembers */
		struct w_ack		 ack;
		struct w_acks		 acks;
		struct w_file		 file;
		struct w_chunk		 chunk;
		struct w_fpos		 fpos;
		struct w_relay		 relay;		/* relay-invite */
		struct w_mbox		 mbox;
	} u;
};

#define WIRE_MAX_WATCH	1024	/* users in one watch frame */
#define WIRE_MAX_NAME	255	/* bytes of a file's name */
#define WIRE_CHUNK	(96 * 1024)	/* bytes of a file in one chunk */
#define WIRE_CHUNK_B64	(WIRE_CHUNK / 3 * 4)	/* the same in base64 */

/*
 * Binary frames (frame.h's FRAME_BIN first), to a peer that offers
 * "file-bin" in its hello. A binary chunk's payload is a fixed header
 * of WIRE_BIN_HDR bytes, then the data:
 *   0       FRAME_BIN (0x00)
 *   1       WIRE_BIN_CHUNK (0x01), the type
 *   2..3    zero (reserved)
 *   4..19   the file's id, 16 bytes (32 hex digits in the JSON frames)
 *   20..27  off, unsigned big-endian, below 2^62
 *   28..31  the data's length, unsigned big-endian: exactly the bytes
 *           after the header, 1 to WIRE_CHUNK
 * Anything else (another type, a reserved byte set, a length that is not
 * the frame's) is refused as a bad frame.
 */
#define WIRE_BIN_HDR	32
#define WIRE_BIN_CHUNK	0x01
#define WIRE_BCHUNK	(64 * 1024)	/* bytes a sender puts in one */

const char	*wire_type_name(enum wire_type);
const char	*wire_cap_name(enum wire_cap);
/* The i-th id of an acks frame (i < a->n). */
const char	*wire_acks_id(const struct w_acks *a, size_t i);
/* Our hello as user: {t:"hello",v,user,caps: every cap we know}. */
json_t		*wire_hello_new(const char *user);
/*
 * Parse a frame (an object with a string "t", as conn delivers it).
 * Returns 0, or -1 with *code (ERR_UNKNOWN_TYPE or ERR_BAD_FRAME) and a
 * message in err. max_body bounds msg bodies.
 */
int		 wire_parse(json_t *frame, struct wire_msg *, size_t max_body,
		    const char **code, char *err, size_t errlen);

/*
 * Parse a binary frame's payload p[0..n) (frame_binary found it whole):
 * 0 with m filled (m->frame NULL; data points into p), or -1 with *code
 * (ERR_UNKNOWN_TYPE for a type this build does not know, else
 * ERR_BAD_FRAME) and a message in err.
 */
int		 wire_parse_binary(const unsigned char *p, size_t n,
		    struct wire_msg *m, const char **code, char *err,
		    size_t errlen);
/*
 * The header of a binary chunk of len bytes at off of file id (32 hex
 * digits, as valid_msgid takes them) into hdr; the data follows it.
 */
void		 wire_bin_chunk_hdr(unsigned char hdr[WIRE_BIN_HDR],
		    const char *id, int64_t off, size_t len);

/*
 * The gestor's answer to relay ({addr,port,key}): 0, or -1 with a message
 * in err. r->from is "".
 */
int		 wire_relay_offer(json_t *frame, struct w_relay *r, char *err,
		    size_t errlen);
/*
 * The gestor's answer to lookup {user}: user (the one asked for),
 * fingerprint, addr ("" or a host name or address), port, online and
 * last_seen (>= 0) as gestor_user_json() writes them. 0, or -1 with a
 * message in err: the peer refuses the whole answer.
 */
int		 wire_lookup_reply(json_t *frame, const char *user, char *err,
		    size_t errlen);

#endif
