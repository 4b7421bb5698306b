/*
 * The daemon's identity: an Ed25519 key kept in data_dir/identity.key
 * (PKCS#8 PEM, mode 0600), generated on first use, and the self-signed
 * X.509 certificate made from it at start. Also fingerprint helpers:
 * "sha256:" + hex SHA-256 of a SubjectPublicKeyInfo.
 */
#ifndef P2P_IDENTITY_H
#define P2P_IDENTITY_H

#include <stddef.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "proto.h"

struct identity;

/*
 * Load data_dir/<name> or generate and store it (0600, written to a
 * temporary file and renamed). A key file readable by group or others is
 * refused. Returns NULL with *cause set (caller frees) on failure.
 */
struct identity	*identity_load(const char *dir, const char *name, char **cause);
void		 identity_free(struct identity *);
/* "sha256:<64 hex>" of our own key. */
const char	*identity_fingerprint(const struct identity *);
/* Credentials for gnutls_credentials_set(GNUTLS_CRD_CERTIFICATE). */
gnutls_certificate_credentials_t identity_credentials(const struct identity *);

/*
 * Signatures with the identity key (Ed25519), for group membership lists.
 * Keys travel as the hex of their DER SubjectPublicKeyInfo, whose SHA-256
 * is the fingerprint; signatures as hex.
 */
#define IDENTITY_KEY_HEX_MAX	256	/* an Ed25519 SPKI is 88 hex digits */
#define IDENTITY_SIG_HEX_MAX	256	/* an Ed25519 signature is 128 */
const char	*identity_key_hex(const struct identity *);
/* Sign data: 0 with the hex signature in sig, or -1. */
int	identity_sign(const struct identity *, const void *data, size_t len,
	    char *sig, size_t siglen);
/* 0 if sig_hex is key_hex's (Ed25519) signature of data, else -1. */
int	identity_verify(const char *key_hex, const void *data, size_t len,
	    const char *sig_hex);
/* "sha256:<hex>" of a hex SPKI (what a contact's key is pinned as). */
int	identity_key_fingerprint(const char *key_hex, char *out, size_t outlen);
/* The same key for sealed mail (seal.h): signs and opens. */
struct seal_key;
const struct seal_key *identity_seal_key(const struct identity *);

/* Fingerprint of a DER certificate's public key into out (P2P_FP_LEN+1). */
int	identity_cert_fingerprint(const gnutls_datum_t *der, char *out, size_t outlen);
/*
 * Fingerprint in groups people can read to each other: the first 40 hex
 * digits as 8 groups of 5 decimal digits (like Signal's safety numbers),
 * "12345 67890 ...". out needs 48 bytes.
 */
void	identity_fp_groups(const char *fp, char *out, size_t outlen);

#endif
