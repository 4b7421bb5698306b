/*
 * Sealed mail (DESIGN.md "Mailbox"): a message for the gestor to hold
 * while its recipient is offline. The payload (type, from, to, id, ts,
 * body) is signed with the sender's Ed25519 identity key and the signed
 * payload is put in a libsodium sealed box for the recipient's identity
 * key converted to X25519. The gestor sees only the blob's size; the
 * recipient opens it, checks the signature, and learns the fingerprint of
 * the key that signed it, which it must compare with the key it knows for
 * the claimed sender.
 */
#ifndef P2P_SEAL_H
#define P2P_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define SEAL_PK_LEN	32	/* Ed25519 public key */
#define SEAL_SEED_LEN	32	/* Ed25519 private key (seed) */
#define SEAL_OVERHEAD	(48 + SEAL_PK_LEN + 64)	/* box + key + signature */

/* What a sealed blob says. */
enum seal_type {
	SEAL_MSG = 0,		/* a message */
	SEAL_RECEIPT,		/* "id was delivered" (body empty) */
	SEAL_GMSG,		/* a message to group (a gmsg) */
	SEAL_GMEMBERS,		/* a group's signed list (a gmembers) */
	SEAL_GLEAVE,		/* its sender leaves group (a gleave; body "") */
};

#define SEAL_LIST_MAX	(64 * 1024)	/* bytes of a gmembers list (WIRE_MAX_LIST) */
#define SEAL_SIG_HEX_MAX 256		/* hex digits of its signature */

struct seal_msg {
	enum seal_type	 type;
	char		 from[P2P_USERNAME_MAX + 1];
	char		 to[P2P_USERNAME_MAX + 1];
	char		 id[P2P_MSGID_HEX + 1];
	int64_t		 ts;		/* ms since the epoch, the sender's */
	char		*body;		/* NUL-terminated; "" for a receipt;
					   gmembers: the list's signed text */
	size_t		 body_len;
	char		 group[P2P_MSGID_HEX + 1];	/* gmsg, gleave: the group */
	char		*sig;		/* gmembers: the list's signature (hex) */
};

struct seal_key;

/*
 * A key pair from an Ed25519 seed (the 32-byte private key GnuTLS holds):
 * the signing key and its X25519 conversion. The seed is not kept.
 */
struct seal_key	*seal_key_new(const unsigned char seed[SEAL_SEED_LEN]);
/* Zeroes the secret halves and frees. */
void		 seal_key_free(struct seal_key *);
const unsigned char *seal_key_public(const struct seal_key *);

/* "sha256:<hex>" of the SubjectPublicKeyInfo of an Ed25519 public key. */
int	seal_pk_fingerprint(const unsigned char pk[SEAL_PK_LEN], char *out,
	    size_t outlen);
/* Hex of a public key and back (64 lowercase digits). */
void	seal_pk_hex(const unsigned char pk[SEAL_PK_LEN], char out[65]);
int	seal_pk_parse(const char *hex, unsigned char pk[SEAL_PK_LEN]);
/* Is hex (64 digits) the public key whose fingerprint is fp? */
bool	seal_pk_is(const char *hex, const char *fp);

/*
 * Sign m with key and seal it for the holder of rcpt (an Ed25519 public
 * key). *blob (malloc'd) and *len on success; -1 if m is not valid or
 * rcpt is not a usable key.
 */
int	seal_seal(const struct seal_key *key, const unsigned char *rcpt,
	    const struct seal_msg *m, unsigned char **blob, size_t *len);
/*
 * Open a blob sealed for key's holder, who is user me: the box must open,
 * the signature verify, the payload parse and name me as its recipient.
 * On success fills m (seal_msg_clear frees it) and fp, the fingerprint of
 * the signing key (P2P_FP_LEN + 1 bytes): the caller must check that it is
 * m->from's key. On failure returns -1 with *why a static reason.
 */
int	seal_open(const struct seal_key *key, const char *me,
	    const unsigned char *blob, size_t len, size_t max_body,
	    struct seal_msg *m, char *fp, size_t fplen, const char **why);
void	seal_msg_clear(struct seal_msg *);

/* A deposit's dedup key for the gestor: hex, keyed by our secret key. */
#define SEAL_DEDUP_HEX	16
void	seal_dedup_key(const struct seal_key *, enum seal_type, const char *to,
	    const char *id, char out[SEAL_DEDUP_HEX + 1]);

#endif
