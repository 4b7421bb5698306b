/*
 * Sealed mail: sign, then seal for the recipient; open, then verify.
 * Everything cryptographic is libsodium's (crypto_sign_*, the Ed25519 to
 * X25519 conversions, crypto_box_seal); this file only lays the bytes out.
 *
 *   box plaintext = signer's Ed25519 key (32) || signature (64) || payload
 *   signature     = Ed25519 over SEAL_CONTEXT || payload
 *   payload       = {"v":1,"type":"msg"|"receipt","from","to","id","ts","body"}
 *                   a group's message: type "gmsg" and a member "group";
 *                   a group's signed list: type "gmembers", body the
 *                   list's text and a member "sig", its signature; a
 *                   member leaving a group: type "gleave", body "" and
 *                   a member "group"
 *
 * A group blob looks like any other to the gestor (the same header:
 * recipient, sender, size, time); what it says of a group is inside.
 * The signature covers the recipient's name, so a recipient cannot pass a
 * message on to someone else as if it had been written to them; the id is
 * inside too, so a blob deposited twice is the same message twice, which
 * the recipient's store shows once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "seal.h"
#include "util.h"
#include "valid.h"

#define SEAL_CONTEXT		"p2pchat-mail/1"
#define SEAL_CONTEXT_LEN	(sizeof(SEAL_CONTEXT))	/* with its NUL */
#define SEAL_SIG_LEN		crypto_sign_BYTES
#define SEAL_HEAD		(SEAL_PK_LEN + SEAL_SIG_LEN)

/* DER SubjectPublicKeyInfo of an Ed25519 key, up to the key (RFC 8410). */
static const unsigned char seal_spki_prefix[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
};

struct seal_key {
	unsigned char	 sign_pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char	 sign_sk[crypto_sign_SECRETKEYBYTES];
	unsigned char	 box_pk[crypto_box_PUBLICKEYBYTES];
	unsigned char	 box_sk[crypto_box_SECRETKEYBYTES];
	unsigned char	 dedup[crypto_generichash_KEYBYTES];	/* seal_dedup_key */
};

static const char *seal_type_names[] = {
	[SEAL_MSG] = "msg",
	[SEAL_RECEIPT] = "receipt",
	[SEAL_GMSG] = "gmsg",
	[SEAL_GMEMBERS] = "gmembers",
	[SEAL_GLEAVE] = "gleave",
};

struct seal_key *
seal_key_new(const unsigned char seed[SEAL_SEED_LEN])
{
	struct seal_key *k;

	if (sodium_init() < 0)
		return NULL;
	k = xcalloc(1, sizeof(*k));
	if (crypto_sign_seed_keypair(k->sign_pk, k->sign_sk, seed) != 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(k->box_pk, k->sign_pk) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(k->box_sk, k->sign_sk) != 0 ||
	    crypto_kdf_derive_from_key(k->dedup, sizeof(k->dedup), 1,
	    "p2pmbox1", seed) != 0) {
		seal_key_free(k);
		return NULL;
	}
	return k;
}

/*
 * The dedup key of a deposit (mbox-put's blobs): the same for the same
 * message (or receipt) to the same recipient, so that the gestor keeps
 * one copy of a deposit put again, and unlinkable to the message's id
 * without our secret key (a keyed BLAKE2b, keyed by a subkey of it).
 */
void
seal_dedup_key(const struct seal_key *k, enum seal_type type, const char *to,
    const char *id, char out[SEAL_DEDUP_HEX + 1])
{
	crypto_generichash_state st;
	unsigned char h[SEAL_DEDUP_HEX / 2], t = (unsigned char)type;

	crypto_generichash_init(&st, k->dedup, sizeof(k->dedup), sizeof(h));
	crypto_generichash_update(&st, &t, 1);
	crypto_generichash_update(&st, (const unsigned char *)to, strlen(to) + 1);
	crypto_generichash_update(&st, (const unsigned char *)id, strlen(id));
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, SEAL_DEDUP_HEX + 1, h, sizeof(h));
}

void
seal_key_free(struct seal_key *k)
{
	if (k == NULL)
		return;
	sodium_memzero(k, sizeof(*k));
	free(k);
}

const unsigned char *
seal_key_public(const struct seal_key *k)
{
	return k->sign_pk;
}

int
seal_pk_fingerprint(const unsigned char pk[SEAL_PK_LEN], char *out,
    size_t outlen)
{
	unsigned char spki[sizeof(seal_spki_prefix) + SEAL_PK_LEN];
	unsigned char md[crypto_hash_sha256_BYTES];
	size_t plen = strlen(P2P_FP_PREFIX);

	if (outlen < P2P_FP_LEN + 1 || sodium_init() < 0)
		return -1;
	memcpy(spki, seal_spki_prefix, sizeof(seal_spki_prefix));
	memcpy(spki + sizeof(seal_spki_prefix), pk, SEAL_PK_LEN);
	if (crypto_hash_sha256(md, spki, sizeof(spki)) != 0)
		return -1;
	memcpy(out, P2P_FP_PREFIX, plen);
	sodium_bin2hex(out + plen, outlen - plen, md, sizeof(md));
	return 0;
}

void
seal_pk_hex(const unsigned char pk[SEAL_PK_LEN], char out[65])
{
	sodium_bin2hex(out, 65, pk, SEAL_PK_LEN);
}

int
seal_pk_parse(const char *hex, unsigned char pk[SEAL_PK_LEN])
{
	size_t n, i;

	if (hex == NULL || strlen(hex) != 2 * SEAL_PK_LEN)
		return -1;
	for (i = 0; i < 2 * SEAL_PK_LEN; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
		    (hex[i] >= 'a' && hex[i] <= 'f')))
			return -1;
	if (sodium_hex2bin(pk, SEAL_PK_LEN, hex, 2 * SEAL_PK_LEN, NULL, &n,
	    NULL) != 0 || n != SEAL_PK_LEN)
		return -1;
	return 0;
}

bool
seal_pk_is(const char *hex, const char *fp)
{
	unsigned char pk[SEAL_PK_LEN];
	char have[P2P_FP_LEN + 1];

	return seal_pk_parse(hex, pk) == 0 &&
	    seal_pk_fingerprint(pk, have, sizeof(have)) == 0 &&
	    strcmp(have, fp) == 0;
}

static int
seal_msg_valid(const struct seal_msg *m, size_t max_body)
{
	if ((unsigned)m->type > SEAL_GLEAVE || !valid_username(m->from) ||
	    !valid_username(m->to) || !valid_msgid(m->id) || m->ts < 0 ||
	    m->body == NULL || strlen(m->body) != m->body_len)
		return 0;
	switch (m->type) {
	case SEAL_RECEIPT:
		return m->body_len == 0;
	case SEAL_GMSG:
		return valid_msgid(m->group) &&
		    valid_body(m->body, m->body_len, max_body);
	case SEAL_GLEAVE:
		return valid_msgid(m->group) && m->body_len == 0;
	case SEAL_GMEMBERS:
		return m->sig != NULL && valid_hex_bytes(m->sig, SEAL_SIG_HEX_MAX) &&
		    valid_body(m->body, m->body_len, SEAL_LIST_MAX);
	default:
		return valid_body(m->body, m->body_len, max_body);
	}
}

/* The payload as compact JSON; NULL if jansson refuses. */
static char *
seal_payload(const struct seal_msg *m)
{
	json_t *o;
	char *s;

	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:s%}", "v", 1,
	    "type", seal_type_names[m->type], "from", m->from, "to", m->to,
	    "id", m->id, "ts", (json_int_t)m->ts, "body", m->body,
	    m->body_len);
	if (o == NULL)
		return NULL;
	if (((m->type == SEAL_GMSG || m->type == SEAL_GLEAVE) &&
	    json_object_set_new(o, "group", json_string(m->group)) != 0) ||
	    (m->type == SEAL_GMEMBERS && json_object_set_new(o, "sig",
	    json_string(m->sig)) != 0)) {
		json_decref(o);
		return NULL;
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static int
seal_sign(const struct seal_key *k, const char *payload, size_t plen,
    unsigned char sig[SEAL_SIG_LEN])
{
	unsigned char *buf;
	int r;

	buf = xmalloc(SEAL_CONTEXT_LEN + plen);
	memcpy(buf, SEAL_CONTEXT, SEAL_CONTEXT_LEN);
	memcpy(buf + SEAL_CONTEXT_LEN, payload, plen);
	r = crypto_sign_detached(sig, NULL, buf, SEAL_CONTEXT_LEN + plen,
	    k->sign_sk);
	util_zero(buf, SEAL_CONTEXT_LEN + plen);
	free(buf);
	return r;
}

static int
seal_verify(const unsigned char *pk, const unsigned char *sig,
    const unsigned char *payload, size_t plen)
{
	unsigned char *buf;
	int r;

	buf = xmalloc(SEAL_CONTEXT_LEN + plen);
	memcpy(buf, SEAL_CONTEXT, SEAL_CONTEXT_LEN);
	memcpy(buf + SEAL_CONTEXT_LEN, payload, plen);
	r = crypto_sign_verify_detached(sig, buf, SEAL_CONTEXT_LEN + plen, pk);
	util_zero(buf, SEAL_CONTEXT_LEN + plen);
	free(buf);
	return r;
}

int
seal_seal(const struct seal_key *k, const unsigned char *rcpt,
    const struct seal_msg *m, unsigned char **blob, size_t *len)
{
	unsigned char rcpt_box[crypto_box_PUBLICKEYBYTES];
	unsigned char *pt, *out;
	char *payload;
	size_t plen, ptlen;
	int r;

	*blob = NULL;
	*len = 0;
	if (!seal_msg_valid(m, SIZE_MAX) ||
	    crypto_sign_ed25519_pk_to_curve25519(rcpt_box, rcpt) != 0)
		return -1;
	if ((payload = seal_payload(m)) == NULL)
		return -1;
	plen = strlen(payload);
	ptlen = SEAL_HEAD + plen;
	pt = xmalloc(ptlen);
	memcpy(pt, k->sign_pk, SEAL_PK_LEN);
	memcpy(pt + SEAL_HEAD, payload, plen);
	util_zero(payload, plen);
	free(payload);
	r = seal_sign(k, (const char *)pt + SEAL_HEAD, plen, pt + SEAL_PK_LEN);
	out = xmalloc(crypto_box_SEALBYTES + ptlen);
	if (r == 0)
		r = crypto_box_seal(out, pt, ptlen, rcpt_box);
	util_zero(pt, ptlen);
	free(pt);
	if (r != 0) {
		free(out);
		return -1;
	}
	*blob = out;
	*len = crypto_box_SEALBYTES + ptlen;
	return 0;
}

static int
seal_type_of(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(seal_type_names) / sizeof(*seal_type_names); i++)
		if (strcmp(s, seal_type_names[i]) == 0)
			return (int)i;
	return -1;
}

/* The payload's JSON into m; -1 if it is not exactly what seal_payload makes. */
static int
seal_parse(const unsigned char *p, size_t plen, size_t max_body,
    struct seal_msg *m)
{
	const char *type, *from, *to, *id, *body, *extra = NULL;
	json_int_t v, ts;
	size_t blen;
	json_t *o;
	int t, r = -1, u;

	if ((o = json_loadb((const char *)p, plen, JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, NULL)) == NULL)
		return -1;
	if ((type = json_string_value(json_object_get(o, "type"))) == NULL ||
	    (t = seal_type_of(type)) == -1)
		goto out;
	/* Exactly the members of its type: a group's one more. */
	if (t == SEAL_GMSG || t == SEAL_GLEAVE)
		u = json_unpack(o, "{s:I, s:s, s:s, s:s, s:s, s:I, s:s%, s:s !}",
		    "v", &v, "type", &type, "from", &from, "to", &to, "id", &id,
		    "ts", &ts, "body", &body, &blen, "group", &extra);
	else if (t == SEAL_GMEMBERS)
		u = json_unpack(o, "{s:I, s:s, s:s, s:s, s:s, s:I, s:s%, s:s !}",
		    "v", &v, "type", &type, "from", &from, "to", &to, "id", &id,
		    "ts", &ts, "body", &body, &blen, "sig", &extra);
	else
		u = json_unpack(o, "{s:I, s:s, s:s, s:s, s:s, s:I, s:s% !}",
		    "v", &v, "type", &type, "from", &from, "to", &to, "id", &id,
		    "ts", &ts, "body", &body, &blen);
	if (u != 0 || v != 1 || strlen(from) > P2P_USERNAME_MAX ||
	    strlen(to) > P2P_USERNAME_MAX || strlen(id) > P2P_MSGID_HEX ||
	    ((t == SEAL_GMSG || t == SEAL_GLEAVE) &&
	    strlen(extra) > P2P_MSGID_HEX) ||
	    (t == SEAL_GMEMBERS && strlen(extra) > SEAL_SIG_HEX_MAX))
		goto out;
	memset(m, 0, sizeof(*m));
	m->type = (enum seal_type)t;
	snprintf(m->from, sizeof(m->from), "%s", from);
	snprintf(m->to, sizeof(m->to), "%s", to);
	snprintf(m->id, sizeof(m->id), "%s", id);
	m->ts = (int64_t)ts;
	m->body = xmalloc(blen + 1);
	memcpy(m->body, body, blen);
	m->body[blen] = '\0';
	m->body_len = blen;
	if (t == SEAL_GMSG || t == SEAL_GLEAVE)
		snprintf(m->group, sizeof(m->group), "%s", extra);
	if (t == SEAL_GMEMBERS)
		m->sig = xstrdup(extra);
	if (!seal_msg_valid(m, max_body)) {
		seal_msg_clear(m);
		goto out;
	}
	r = 0;
out:
	json_decref(o);
	return r;
}

int
seal_open(const struct seal_key *k, const char *me, const unsigned char *blob,
    size_t len, size_t max_body, struct seal_msg *m, char *fp, size_t fplen,
    const char **why)
{
	unsigned char *pt;
	size_t ptlen;
	int r = -1;

	memset(m, 0, sizeof(*m));
	if (len < crypto_box_SEALBYTES + SEAL_HEAD + 2) {
		*why = "too short";
		return -1;
	}
	ptlen = len - crypto_box_SEALBYTES;
	pt = xmalloc(ptlen);
	if (crypto_box_seal_open(pt, blob, len, k->box_pk, k->box_sk) != 0)
		*why = "not sealed for this key";
	else if (seal_verify(pt, pt + SEAL_PK_LEN, pt + SEAL_HEAD,
	    ptlen - SEAL_HEAD) != 0)
		*why = "bad signature";
	else if (seal_parse(pt + SEAL_HEAD, ptlen - SEAL_HEAD, max_body,
	    m) != 0)
		*why = "bad payload";
	else if (strcmp(m->to, me) != 0) {
		*why = "written to someone else";
		seal_msg_clear(m);
	} else if (seal_pk_fingerprint(pt, fp, fplen) != 0) {
		*why = "bad signing key";
		seal_msg_clear(m);
	} else
		r = 0;
	util_zero(pt, ptlen);
	free(pt);
	return r;
}

void
seal_msg_clear(struct seal_msg *m)
{
	if (m->body != NULL) {
		util_zero(m->body, m->body_len);
		free(m->body);
	}
	free(m->sig);
	memset(m, 0, sizeof(*m));
}
