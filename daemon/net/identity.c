/*
 * The daemon's identity: one Ed25519 key, kept as unencrypted PKCS#8 PEM
 * in a file only its owner may read, and a self-signed certificate made
 * from it in memory at every start. Peers never check a CA: they compare
 * the SHA-256 of the certificate's SubjectPublicKeyInfo with the key they
 * expect, so the fingerprint helpers live here too. The key file itself
 * is identity_file.c's.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "identity_int.h"
#include "log.h"
#include "seal.h"
#include "util.h"

#define IDENTITY_CN		"p2pchat"
#define IDENTITY_NOT_AFTER	((time_t)2524607999)	/* 2049-12-31 23:59:59Z */

struct identity {
	gnutls_certificate_credentials_t cred;
	gnutls_privkey_t		 priv;	/* signs group membership lists */
	struct seal_key			*seal;	/* the same key, for mail */
	char				 fp[P2P_FP_LEN + 1];
	char				 key_hex[IDENTITY_KEY_HEX_MAX + 1];
};


/* SHA-256 of a certificate's DER SubjectPublicKeyInfo as "sha256:<hex>". */
static int
identity_crt_fp(gnutls_x509_crt_t crt, char *out, size_t outlen)
{
	gnutls_pubkey_t pub;
	gnutls_datum_t spki = { NULL, 0 };
	unsigned char md[32];
	int r;

	if (outlen < P2P_FP_LEN + 1 || gnutls_pubkey_init(&pub) < 0)
		return -1;
	r = gnutls_pubkey_import_x509(pub, crt, 0);
	if (r >= 0)
		r = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki);
	if (r >= 0)
		r = gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size,
		    md);
	gnutls_free(spki.data);
	gnutls_pubkey_deinit(pub);
	if (r < 0)
		return -1;
	memcpy(out, P2P_FP_PREFIX, strlen(P2P_FP_PREFIX));
	util_hex(md, sizeof(md), out + strlen(P2P_FP_PREFIX));
	return 0;
}

/* Hex of a certificate's DER SubjectPublicKeyInfo. */
static int
identity_crt_spki(gnutls_x509_crt_t crt, char *out, size_t outlen)
{
	gnutls_pubkey_t pub;
	gnutls_datum_t spki = { NULL, 0 };
	int r;

	if (gnutls_pubkey_init(&pub) < 0)
		return -1;
	r = gnutls_pubkey_import_x509(pub, crt, 0);
	if (r >= 0)
		r = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki);
	if (r >= 0 && 2 * (size_t)spki.size + 1 > outlen)
		r = -1;
	if (r >= 0)
		util_hex(spki.data, spki.size, out);
	gnutls_free(spki.data);
	gnutls_pubkey_deinit(pub);
	return r < 0 ? -1 : 0;
}

/* Self-signed X.509 v3 certificate for key, valid until 2049. */
static int
identity_make_crt(gnutls_x509_privkey_t key, gnutls_x509_crt_t crt)
{
	unsigned char serial[16];
	time_t now = time(NULL);
	int r;

	if ((r = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		return r;
	serial[0] = (serial[0] & 0x7f) | 0x40;	/* positive, 16 bytes */
	if ((r = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (r = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME,
	    0, IDENTITY_CN, strlen(IDENTITY_CN))) < 0 ||
	    (r = gnutls_x509_crt_set_activation_time(crt, now - 86400)) < 0 ||
	    (r = gnutls_x509_crt_set_expiration_time(crt,
	    IDENTITY_NOT_AFTER)) < 0 ||
	    (r = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (r = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (r = gnutls_x509_crt_set_key_usage(crt,
	    GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0)
		return r;
	return gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_UNKNOWN, 0);
}

/* The key's seed handed to libsodium for sealed mail (seal.c). */
static int
identity_seal(struct identity *id, gnutls_x509_privkey_t key, char **cause)
{
	gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 }, k = { NULL, 0 };
	gnutls_ecc_curve_t curve;
	char fp[P2P_FP_LEN + 1];
	int r;

	r = gnutls_x509_privkey_export_ecc_raw(key, &curve, &x, &y, &k);
	if (r >= 0 && (curve != GNUTLS_ECC_CURVE_ED25519 ||
	    k.size != SEAL_SEED_LEN || x.size != SEAL_PK_LEN))
		r = GNUTLS_E_INVALID_REQUEST;
	if (r >= 0 && (id->seal = seal_key_new(k.data)) == NULL)
		r = GNUTLS_E_INTERNAL_ERROR;
	identity_datum_clear(&k);
	gnutls_free(x.data);
	gnutls_free(y.data);
	if (r < 0) {
		identity_cause(cause, "mail key: %s", gnutls_strerror(r));
		return -1;
	}
	/* The key seal.c signs with is the key of the certificate. */
	if (seal_pk_fingerprint(seal_key_public(id->seal), fp,
	    sizeof(fp)) != 0 || strcmp(fp, id->fp) != 0) {
		identity_cause(cause, "mail key does not match the identity");
		return -1;
	}
	return 0;
}

/* Certificate, fingerprint and credentials for a loaded key. */
static int
identity_setup(struct identity *id, gnutls_x509_privkey_t key, char **cause)
{
	gnutls_x509_crt_t crt;
	int r;

	if ((r = gnutls_x509_crt_init(&crt)) < 0) {
		identity_cause(cause, "certificate: %s", gnutls_strerror(r));
		return -1;
	}
	if ((r = identity_make_crt(key, crt)) < 0 ||
	    (r = gnutls_certificate_allocate_credentials(&id->cred)) < 0 ||
	    (r = gnutls_certificate_set_x509_key(id->cred, &crt, 1, key)) < 0) {
		identity_cause(cause, "certificate: %s", gnutls_strerror(r));
		gnutls_x509_crt_deinit(crt);
		return -1;
	}
	r = identity_crt_fp(crt, id->fp, sizeof(id->fp));
	if (r == 0)
		r = identity_crt_spki(crt, id->key_hex, sizeof(id->key_hex));
	gnutls_x509_crt_deinit(crt);
	if (r == 0 && (gnutls_privkey_init(&id->priv) < 0 ||
	    gnutls_privkey_import_x509(id->priv, key,
	    GNUTLS_PRIVKEY_IMPORT_COPY) < 0))
		r = -1;
	if (r != 0) {
		identity_cause(cause, "cannot compute fingerprint");
		return -1;
	}
	return 0;
}

struct identity *
identity_load(const char *dir, const char *name, char **cause)
{
	struct identity *id;
	gnutls_x509_privkey_t key;
	int r;

	*cause = NULL;
	if ((r = gnutls_x509_privkey_init(&key)) < 0) {
		identity_cause(cause, "key: %s", gnutls_strerror(r));
		return NULL;
	}
	id = xcalloc(1, sizeof(*id));
	if (identity_key(dir, name, key, cause) != 0 ||
	    identity_setup(id, key, cause) != 0 ||
	    identity_seal(id, key, cause) != 0) {
		gnutls_x509_privkey_deinit(key);
		identity_free(id);
		return NULL;
	}
	gnutls_x509_privkey_deinit(key);
	log_debug("%s: %s", __func__, id->fp);
	return id;
}

void
identity_free(struct identity *id)
{
	if (id == NULL)
		return;
	if (id->cred != NULL)
		gnutls_certificate_free_credentials(id->cred);
	if (id->priv != NULL)
		gnutls_privkey_deinit(id->priv);
	seal_key_free(id->seal);
	free(id);
}

const char *
identity_fingerprint(const struct identity *id)
{
	return id->fp;
}

gnutls_certificate_credentials_t
identity_credentials(const struct identity *id)
{
	return id->cred;
}

const char *
identity_key_hex(const struct identity *id)
{
	return id->key_hex;
}

int
identity_sign(const struct identity *id, const void *data, size_t len,
    char *sig, size_t siglen)
{
	gnutls_datum_t d = { (unsigned char *)data, (unsigned)len };
	gnutls_datum_t s = { NULL, 0 };
	int r;

	r = gnutls_privkey_sign_data2(id->priv, GNUTLS_SIGN_EDDSA_ED25519, 0,
	    &d, &s);
	if (r >= 0 && 2 * (size_t)s.size + 1 > siglen)
		r = -1;
	if (r >= 0)
		util_hex(s.data, s.size, sig);
	gnutls_free(s.data);
	return r < 0 ? -1 : 0;
}

/* Bytes of an even-length lowercase hex string into a new datum. */
static int
identity_unhex(const char *hex, gnutls_datum_t *out)
{
	size_t i, n = strlen(hex);
	int hi, lo;

	out->data = NULL;
	out->size = 0;
	if (n == 0 || n % 2 != 0 || n > 2 * IDENTITY_KEY_HEX_MAX)
		return -1;
	out->data = xmalloc(n / 2);
	for (i = 0; i < n / 2; i++) {
		if ((hi = util_hexval((unsigned char)hex[2 * i])) < 0 ||
		    (lo = util_hexval((unsigned char)hex[2 * i + 1])) < 0) {
			free(out->data);
			out->data = NULL;
			return -1;
		}
		out->data[i] = (unsigned char)(hi << 4 | lo);
	}
	out->size = (unsigned)(n / 2);
	return 0;
}

int
identity_key_fingerprint(const char *key_hex, char *out, size_t outlen)
{
	gnutls_datum_t der;
	unsigned char md[32];
	int r;

	if (outlen < P2P_FP_LEN + 1 || identity_unhex(key_hex, &der) != 0)
		return -1;
	r = gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, md);
	free(der.data);
	if (r < 0)
		return -1;
	memcpy(out, P2P_FP_PREFIX, strlen(P2P_FP_PREFIX));
	util_hex(md, sizeof(md), out + strlen(P2P_FP_PREFIX));
	return 0;
}

int
identity_verify(const char *key_hex, const void *data, size_t len,
    const char *sig_hex)
{
	gnutls_datum_t der, sig, d = { (unsigned char *)data, (unsigned)len };
	gnutls_pubkey_t pub;
	int r = -1;

	if (identity_unhex(key_hex, &der) != 0)
		return -1;
	if (identity_unhex(sig_hex, &sig) != 0) {
		free(der.data);
		return -1;
	}
	if (gnutls_pubkey_init(&pub) >= 0) {
		/* Only an Ed25519 key signs lists: nothing else is accepted. */
		if (gnutls_pubkey_import(pub, &der, GNUTLS_X509_FMT_DER) >= 0 &&
		    gnutls_pubkey_get_pk_algorithm(pub, NULL) ==
		    GNUTLS_PK_EDDSA_ED25519 &&
		    gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_EDDSA_ED25519, 0,
		    &d, &sig) >= 0)
			r = 0;
		gnutls_pubkey_deinit(pub);
	}
	free(der.data);
	free(sig.data);
	return r;
}

const struct seal_key *
identity_seal_key(const struct identity *id)
{
	return id->seal;
}

int
identity_cert_fingerprint(const gnutls_datum_t *der, char *out, size_t outlen)
{
	gnutls_x509_crt_t crt;
	int r;

	if (der == NULL || der->data == NULL || der->size == 0)
		return -1;
	if (gnutls_x509_crt_init(&crt) < 0)
		return -1;
	r = gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER);
	if (r >= 0)
		r = identity_crt_fp(crt, out, outlen);
	gnutls_x509_crt_deinit(crt);
	return r < 0 ? -1 : 0;
}

void
identity_fp_groups(const char *fp, char *out, size_t outlen)
{
	char buf[8 * 6];
	unsigned long v;
	size_t plen = strlen(P2P_FP_PREFIX);
	int i, j, d;

	if (outlen == 0)
		return;
	*out = '\0';
	if (strncmp(fp, P2P_FP_PREFIX, plen) == 0)
		fp += plen;
	for (i = 0; i < 8; i++) {
		v = 0;
		for (j = 0; j < 5; j++) {
			if ((d = util_hexval((unsigned char)fp[i * 5 + j])) == -1)
				return;
			v = v * 16 + (unsigned long)d;
		}
		snprintf(buf + i * 6, 7, "%05lu%s", v % 100000,
		    i < 7 ? " " : "");
	}
	snprintf(out, outlen, "%s", buf);
}
