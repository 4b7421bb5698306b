/*
 * Unit tests for sealed mail (daemon/net/seal.c): a round trip between two
 * identity keys, and the blobs a gestor or another user could hand a
 * recipient: tampered, sealed for someone else, signed by someone else,
 * passed on by the recipient, replayed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "identity.h"
#include "seal.h"
#include "testutil.h"

#define ID1	"0123456789abcdef0123456789abcdef"
#define MAXB	65536

static unsigned char	seed_a[32], seed_b[32], seed_c[32], seed_m[32];
static struct seal_key	*ka, *kb, *kc, *km;

static void
setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	memset(seed_a, 'a', 32);
	memset(seed_b, 'b', 32);
	memset(seed_c, 'c', 32);
	memset(seed_m, 'm', 32);
	ck_assert_ptr_nonnull(ka = seal_key_new(seed_a));
	ck_assert_ptr_nonnull(kb = seal_key_new(seed_b));
	ck_assert_ptr_nonnull(kc = seal_key_new(seed_c));
	ck_assert_ptr_nonnull(km = seal_key_new(seed_m));
}

static void
teardown(void)
{
	seal_key_free(ka);
	seal_key_free(kb);
	seal_key_free(kc);
	seal_key_free(km);
}

static void
msg_init(struct seal_msg *m, const char *from, const char *to,
    const char *body)
{
	memset(m, 0, sizeof(*m));
	m->type = SEAL_MSG;
	snprintf(m->from, sizeof(m->from), "%s", from);
	snprintf(m->to, sizeof(m->to), "%s", to);
	snprintf(m->id, sizeof(m->id), "%s", ID1);
	m->ts = 1765000000123;
	m->body = (char *)body;
	m->body_len = strlen(body);
}

static char *
fp_of(const struct seal_key *k)
{
	static char fp[P2P_FP_LEN + 1];

	ck_assert_int_eq(seal_pk_fingerprint(seal_key_public(k), fp,
	    sizeof(fp)), 0);
	return fp;
}

/* Seal m with k for rcpt; the blob and its length. */
static unsigned char *
seal(const struct seal_key *k, const struct seal_key *rcpt,
    const struct seal_msg *m, size_t *len)
{
	unsigned char *blob;

	ck_assert_int_eq(seal_seal(k, seal_key_public(rcpt), m, &blob, len), 0);
	return blob;
}

static int
try_open(const struct seal_key *k, const char *me, const unsigned char *blob,
    size_t len, struct seal_msg *out, char *fp, const char **why)
{
	return seal_open(k, me, blob, len, MAXB, out, fp, P2P_FP_LEN + 1, why);
}

/* The box plaintext of blob for the holder of seed (what seal.c lays out). */
static unsigned char *
raw_open(const unsigned char *seed, const unsigned char *blob, size_t len,
    size_t *ptlen)
{
	unsigned char pk[32], sk[64], xpk[32], xsk[32], *pt;

	ck_assert_int_eq(crypto_sign_seed_keypair(pk, sk, seed), 0);
	ck_assert_int_eq(crypto_sign_ed25519_pk_to_curve25519(xpk, pk), 0);
	ck_assert_int_eq(crypto_sign_ed25519_sk_to_curve25519(xsk, sk), 0);
	*ptlen = len - crypto_box_SEALBYTES;
	pt = malloc(*ptlen);
	ck_assert_int_eq(crypto_box_seal_open(pt, blob, len, xpk, xsk), 0);
	return pt;
}

/* Seal a raw plaintext for rcpt, as anyone can. */
static unsigned char *
raw_seal(const struct seal_key *rcpt, const unsigned char *pt, size_t ptlen,
    size_t *len)
{
	unsigned char xpk[32], *blob;

	ck_assert_int_eq(crypto_sign_ed25519_pk_to_curve25519(xpk,
	    seal_key_public(rcpt)), 0);
	*len = ptlen + crypto_box_SEALBYTES;
	blob = malloc(*len);
	ck_assert_int_eq(crypto_box_seal(blob, pt, ptlen, xpk), 0);
	return blob;
}

START_TEST(test_round_trip)
{
	struct seal_msg m, out;
	unsigned char *blob;
	char fp[P2P_FP_LEN + 1];
	const char *why = NULL;
	size_t len;

	msg_init(&m, "alice", "bob", "hi bob, caf\xc3\xa9");
	blob = seal(ka, kb, &m, &len);
	/* Nothing of the message in clear in the blob. */
	ck_assert_ptr_null(memmem(blob, len, "hi bob", 6));
	ck_assert_ptr_null(memmem(blob, len, ID1, 32));
	ck_assert_ptr_null(memmem(blob, len, "alice", 5));
	ck_assert_uint_eq(len, SEAL_OVERHEAD + strlen(
	    "{\"v\":1,\"type\":\"msg\",\"from\":\"alice\",\"to\":\"bob\","
	    "\"id\":\"" ID1 "\",\"ts\":1765000000123,"
	    "\"body\":\"hi bob, caf\xc3\xa9\"}"));
	ck_assert_int_eq(try_open(kb, "bob", blob, len, &out, fp, &why), 0);
	ck_assert_int_eq(out.type, SEAL_MSG);
	ck_assert_str_eq(out.from, "alice");
	ck_assert_str_eq(out.to, "bob");
	ck_assert_str_eq(out.id, ID1);
	ck_assert_int_eq(out.ts, 1765000000123);
	ck_assert_str_eq(out.body, "hi bob, caf\xc3\xa9");
	ck_assert_uint_eq(out.body_len, strlen(out.body));
	ck_assert_str_eq(fp, fp_of(ka));
	seal_msg_clear(&out);
	ck_assert_ptr_null(out.body);
	/* Two seals of one message differ (fresh ephemeral key each time). */
	{
		unsigned char *b2;
		size_t l2;

		b2 = seal(ka, kb, &m, &l2);
		ck_assert_uint_eq(l2, len);
		ck_assert(memcmp(b2, blob, len) != 0);
		free(b2);
	}
	free(blob);
}
END_TEST

START_TEST(test_receipt)
{
	struct seal_msg m, out;
	unsigned char *blob;
	char fp[P2P_FP_LEN + 1];
	const char *why;
	size_t len;

	msg_init(&m, "bob", "alice", "");
	m.type = SEAL_RECEIPT;
	blob = seal(kb, ka, &m, &len);
	ck_assert_int_eq(try_open(ka, "alice", blob, len, &out, fp, &why), 0);
	ck_assert_int_eq(out.type, SEAL_RECEIPT);
	ck_assert_str_eq(out.id, ID1);
	ck_assert_str_eq(fp, fp_of(kb));
	seal_msg_clear(&out);
	free(blob);
	/* A receipt has no body; a message has one. */
	msg_init(&m, "bob", "alice", "x");
	m.type = SEAL_RECEIPT;
	ck_assert_int_eq(seal_seal(kb, seal_key_public(ka), &m, &blob, &len),
	    -1);
	ck_assert_ptr_null(blob);
	msg_init(&m, "bob", "alice", "");
	ck_assert_int_eq(seal_seal(kb, seal_key_public(ka), &m, &blob, &len),
	    -1);
}
END_TEST

START_TEST(test_bad_input)
{
	struct seal_msg m;
	unsigned char *blob;
	size_t len;

	msg_init(&m, "Alice", "bob", "hi");
	ck_assert_int_eq(seal_seal(ka, seal_key_public(kb), &m, &blob, &len),
	    -1);
	msg_init(&m, "alice", "bob", "hi");
	strcpy(m.id, "xyz");
	ck_assert_int_eq(seal_seal(ka, seal_key_public(kb), &m, &blob, &len),
	    -1);
	msg_init(&m, "alice", "bob", "\xff\xfe");
	ck_assert_int_eq(seal_seal(ka, seal_key_public(kb), &m, &blob, &len),
	    -1);
	msg_init(&m, "alice", "bob", "hi");
	m.body_len = 1;		/* body_len must be the body's */
	ck_assert_int_eq(seal_seal(ka, seal_key_public(kb), &m, &blob, &len),
	    -1);
}
END_TEST

/* A gestor (or anyone on the way) changes bytes: nothing opens. */
START_TEST(test_tampered)
{
	struct seal_msg m, out;
	unsigned char *blob;
	char fp[P2P_FP_LEN + 1];
	const char *why;
	size_t len, i;

	msg_init(&m, "alice", "bob", "pay carol 10");
	blob = seal(ka, kb, &m, &len);
	for (i = 0; i < len; i += 7) {
		blob[i] ^= 0x01;
		ck_assert_int_eq(try_open(kb, "bob", blob, len, &out, fp, &why),
		    -1);
		ck_assert_ptr_null(out.body);
		blob[i] ^= 0x01;
	}
	ck_assert_int_eq(try_open(kb, "bob", blob, len - 1, &out, fp, &why),
	    -1);
	ck_assert_int_eq(try_open(kb, "bob", blob, 10, &out, fp, &why), -1);
	ck_assert_str_eq(why, "too short");
	ck_assert_int_eq(try_open(kb, "bob", blob, len, &out, fp, &why), 0);
	seal_msg_clear(&out);
	free(blob);
}
END_TEST

/* Sealed for bob: carol cannot open it, nor can bob claim to be carol. */
START_TEST(test_wrong_recipient)
{
	struct seal_msg m, out;
	unsigned char *blob;
	char fp[P2P_FP_LEN + 1];
	const char *why;
	size_t len;

	msg_init(&m, "alice", "bob", "for bob only");
	blob = seal(ka, kb, &m, &len);
	ck_assert_int_eq(try_open(kc, "carol", blob, len, &out, fp, &why), -1);
	ck_assert_str_eq(why, "not sealed for this key");
	ck_assert_int_eq(try_open(kb, "carol", blob, len, &out, fp, &why), -1);
	ck_assert_str_eq(why, "written to someone else");
	ck_assert_ptr_null(out.body);
	free(blob);
}
END_TEST

/*
 * Mallory signs a message that claims to come from alice: it opens, and
 * names mallory's key, which the recipient compares with alice's. With
 * alice's key in front and mallory's signature, it does not open at all.
 */
START_TEST(test_wrong_signer)
{
	struct seal_msg m, out;
	unsigned char *blob, *pt, *forged;
	char fp[P2P_FP_LEN + 1];
	const char *why;
	size_t len, ptlen, flen;

	msg_init(&m, "alice", "bob", "I am alice, really");
	blob = seal(km, kb, &m, &len);
	ck_assert_int_eq(try_open(kb, "bob", blob, len, &out, fp, &why), 0);
	ck_assert_str_eq(out.from, "alice");
	ck_assert_str_eq(fp, fp_of(km));
	ck_assert_str_ne(fp, fp_of(ka));
	seal_msg_clear(&out);
	/* The same plaintext with alice's key in place of mallory's. */
	pt = raw_open(seed_b, blob, len, &ptlen);
	memcpy(pt, seal_key_public(ka), SEAL_PK_LEN);
	forged = raw_seal(kb, pt, ptlen, &flen);
	ck_assert_int_eq(try_open(kb, "bob", forged, flen, &out, fp, &why), -1);
	ck_assert_str_eq(why, "bad signature");
	free(forged);
	/* alice's key and signature, the payload changed by one byte. */
	free(blob);
	free(pt);
	msg_init(&m, "alice", "bob", "pay carol 10");
	blob = seal(ka, kb, &m, &len);
	pt = raw_open(seed_b, blob, len, &ptlen);
	pt[ptlen - 4] = '9';
	forged = raw_seal(kb, pt, ptlen, &flen);
	ck_assert_int_eq(try_open(kb, "bob", forged, flen, &out, fp, &why), -1);
	ck_assert_str_eq(why, "bad signature");
	free(forged);
	free(pt);
	free(blob);
}
END_TEST

/*
 * Replays: the same blob deposited again opens as the same message (same
 * id, for the store to show once); bob passing alice's signed message on
 * to carol in a box of his own is refused, since alice wrote it to bob.
 */
START_TEST(test_replayed)
{
	struct seal_msg m, out1, out2;
	unsigned char *blob, *pt, *fwd;
	char fp[P2P_FP_LEN + 1];
	const char *why;
	size_t len, ptlen, flen;

	msg_init(&m, "alice", "bob", "once");
	blob = seal(ka, kb, &m, &len);
	ck_assert_int_eq(try_open(kb, "bob", blob, len, &out1, fp, &why), 0);
	ck_assert_int_eq(try_open(kb, "bob", blob, len, &out2, fp, &why), 0);
	ck_assert_str_eq(out1.id, out2.id);
	ck_assert_int_eq(out1.ts, out2.ts);
	seal_msg_clear(&out1);
	seal_msg_clear(&out2);
	pt = raw_open(seed_b, blob, len, &ptlen);
	fwd = raw_seal(kc, pt, ptlen, &flen);
	ck_assert_int_eq(try_open(kc, "carol", fwd, flen, &out1, fp, &why), -1);
	ck_assert_str_eq(why, "written to someone else");
	free(fwd);
	free(pt);
	free(blob);
}
END_TEST

/* A signed payload that is not what seal.c makes is refused. */
START_TEST(test_bad_payload)
{
	static const char *bad[] = {
		"{\"v\":2,\"type\":\"msg\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"x\"}",
		"{\"v\":1,\"type\":\"msg\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"x\",\"extra\":1}",
		"{\"v\":1,\"type\":\"zzz\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"x\"}",
		"{\"v\":1,\"type\":\"msg\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"a\\u0000b\"}",
		"{\"v\":1,\"type\":\"msg\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":-1,\"body\":\"x\"}",
		"{\"v\":1,\"type\":\"msg\",\"from\":\"alice\",\"from\":\"eve\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"x\"}",
		"[1]",
		/* a group's: exactly its members, a group id, a hex signature */
		"{\"v\":1,\"type\":\"msg\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"x\",\"group\":\"" ID1 "\"}",
		"{\"v\":1,\"type\":\"gmsg\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"x\"}",
		"{\"v\":1,\"type\":\"gmsg\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"x\",\"group\":\"XYZ\"}",
		"{\"v\":1,\"type\":\"gmsg\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"x\",\"group\":\"" ID1 "\",\"sig\":\"ab\"}",
		"{\"v\":1,\"type\":\"gmembers\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"{}\"}",
		"{\"v\":1,\"type\":\"gmembers\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"{}\",\"sig\":\"not hex\"}",
		"{\"v\":1,\"type\":\"gmembers\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"{}\",\"sig\":\"\"}",
		"{\"v\":1,\"type\":\"gleave\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"x\",\"group\":\"" ID1 "\"}",
		"{\"v\":1,\"type\":\"gleave\",\"from\":\"alice\",\"to\":\"bob\",\"id\":\"" ID1 "\",\"ts\":1,\"body\":\"\"}",
	};
	unsigned char sk[64], pk[32], *pt, *blob;
	struct seal_msg out;
	char fp[P2P_FP_LEN + 1], ctx[64];
	const char *why;
	size_t i, plen, len, clen;

	ck_assert_int_eq(crypto_sign_seed_keypair(pk, sk, seed_a), 0);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		plen = strlen(bad[i]);
		pt = malloc(96 + plen);
		memcpy(pt, pk, 32);
		memcpy(pt + 96, bad[i], plen);
		/* signed as seal.c signs: "p2pchat-mail/1\0" || payload */
		clen = strlen("p2pchat-mail/1") + 1;
		memcpy(ctx, "p2pchat-mail/1", clen);
		{
			unsigned char *sm = malloc(clen + plen);

			memcpy(sm, ctx, clen);
			memcpy(sm + clen, bad[i], plen);
			ck_assert_int_eq(crypto_sign_detached(pt + 32, NULL, sm,
			    clen + plen, sk), 0);
			free(sm);
		}
		blob = raw_seal(kb, pt, 96 + plen, &len);
		ck_assert_msg(try_open(kb, "bob", blob, len, &out, fp,
		    &why) == -1, "payload %zu opened", i);
		ck_assert_str_eq(why, "bad payload");
		free(blob);
		free(pt);
	}
}
END_TEST

/* A group's message and a group's list: sealed, opened, what they say. */
START_TEST(test_group)
{
	struct seal_msg m, out;
	unsigned char *blob;
	char fp[P2P_FP_LEN + 1], big[SEAL_LIST_MAX + 2];
	const char *why = NULL;
	size_t len;

	msg_init(&m, "alice", "bob", "to the team");
	m.type = SEAL_GMSG;
	snprintf(m.group, sizeof(m.group), "%s", "fedcba9876543210fedcba9876543210");
	blob = seal(ka, kb, &m, &len);
	ck_assert_ptr_null(memmem(blob, len, "fedcba98", 8));
	ck_assert_int_eq(try_open(kb, "bob", blob, len, &out, fp, &why), 0);
	ck_assert_int_eq(out.type, SEAL_GMSG);
	ck_assert_str_eq(out.group, "fedcba9876543210fedcba9876543210");
	ck_assert_str_eq(out.body, "to the team");
	ck_assert_str_eq(fp, fp_of(ka));
	seal_msg_clear(&out);
	free(blob);
	/* For carol, bob cannot pass it on. */
	blob = seal(ka, kb, &m, &len);
	ck_assert_int_eq(try_open(kc, "carol", blob, len, &out, fp, &why), -1);
	free(blob);
	/* A gmsg without its group does not seal. */
	m.group[0] = '\0';
	ck_assert_int_eq(seal_seal(ka, seal_key_public(kb), &m, &blob, &len), -1);

	msg_init(&m, "alice", "bob", "{\"group\":\"x\"}");
	m.type = SEAL_GMEMBERS;
	m.sig = (char *)"0a1b2c";
	blob = seal(ka, kb, &m, &len);
	ck_assert_int_eq(try_open(kb, "bob", blob, len, &out, fp, &why), 0);
	ck_assert_int_eq(out.type, SEAL_GMEMBERS);
	ck_assert_str_eq(out.body, "{\"group\":\"x\"}");
	ck_assert_str_eq(out.sig, "0a1b2c");
	ck_assert_str_eq(out.group, "");
	seal_msg_clear(&out);
	free(blob);
	/* A list is held to its own limit, not max_message_bytes. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	m.body = big;
	m.body_len = SEAL_LIST_MAX;
	big[SEAL_LIST_MAX] = '\0';
	blob = seal(ka, kb, &m, &len);
	ck_assert_int_eq(seal_open(kb, "bob", blob, len, 10, &out, fp,
	    sizeof(fp), &why), 0);
	seal_msg_clear(&out);
	free(blob);
	big[SEAL_LIST_MAX] = 'x';
	m.body_len = SEAL_LIST_MAX + 1;
	ck_assert_int_eq(seal_seal(ka, seal_key_public(kb), &m, &blob, &len), -1);
	/* Without its signature it does not seal. */
	m.body = (char *)"{}";
	m.body_len = 2;
	m.sig = NULL;
	ck_assert_int_eq(seal_seal(ka, seal_key_public(kb), &m, &blob, &len), -1);

	/* A member leaving: the group, an empty body. */
	msg_init(&m, "bob", "alice", "");
	m.type = SEAL_GLEAVE;
	snprintf(m.group, sizeof(m.group), "%s", "fedcba9876543210fedcba9876543210");
	blob = seal(kb, ka, &m, &len);
	ck_assert_int_eq(try_open(ka, "alice", blob, len, &out, fp, &why), 0);
	ck_assert_int_eq(out.type, SEAL_GLEAVE);
	ck_assert_str_eq(out.group, "fedcba9876543210fedcba9876543210");
	ck_assert_str_eq(out.body, "");
	seal_msg_clear(&out);
	free(blob);
}
END_TEST

START_TEST(test_max_body)
{
	struct seal_msg m, out;
	unsigned char *blob;
	char fp[P2P_FP_LEN + 1];
	const char *why;
	size_t len;

	msg_init(&m, "alice", "bob", "0123456789");
	blob = seal(ka, kb, &m, &len);
	ck_assert_int_eq(seal_open(kb, "bob", blob, len, 9, &out, fp,
	    sizeof(fp), &why), -1);
	ck_assert_int_eq(seal_open(kb, "bob", blob, len, 10, &out, fp,
	    sizeof(fp), &why), 0);
	seal_msg_clear(&out);
	free(blob);
}
END_TEST

/* The identity key signs and opens mail; its fingerprint is the TLS one. */
START_TEST(test_identity_key)
{
	char d1[TU_DIR_MAX], d2[TU_DIR_MAX], fp[P2P_FP_LEN + 1], hex[65];
	const struct seal_key *a, *b;
	struct identity *ia, *ib;
	unsigned char *blob, pk[32];
	struct seal_msg m, out;
	const char *why;
	char *cause;
	size_t len;

	tu_mkdtemp(d1, "p2p-seal");
	tu_mkdtemp(d2, "p2p-seal");
	ck_assert_ptr_nonnull(ia = identity_load(d1, "identity.key", &cause));
	ck_assert_ptr_nonnull(ib = identity_load(d2, "identity.key", &cause));
	a = identity_seal_key(ia);
	b = identity_seal_key(ib);
	ck_assert_int_eq(seal_pk_fingerprint(seal_key_public(a), fp,
	    sizeof(fp)), 0);
	ck_assert_str_eq(fp, identity_fingerprint(ia));
	seal_pk_hex(seal_key_public(b), hex);
	ck_assert_int_eq(seal_pk_parse(hex, pk), 0);
	ck_assert(memcmp(pk, seal_key_public(b), 32) == 0);
	hex[0] = 'G';
	ck_assert_int_eq(seal_pk_parse(hex, pk), -1);
	ck_assert_int_eq(seal_pk_parse("00", pk), -1);
	msg_init(&m, "alice", "bob", "through the mailbox");
	ck_assert_int_eq(seal_seal(a, pk, &m, &blob, &len), 0);
	ck_assert_int_eq(seal_open(b, "bob", blob, len, MAXB, &out, fp,
	    sizeof(fp), &why), 0);
	ck_assert_str_eq(fp, identity_fingerprint(ia));
	ck_assert_str_eq(out.body, "through the mailbox");
	seal_msg_clear(&out);
	free(blob);
	/* Reloaded from its file, the same key. */
	identity_free(ib);
	ck_assert_ptr_nonnull(ib = identity_load(d2, "identity.key", &cause));
	ck_assert(memcmp(pk, seal_key_public(identity_seal_key(ib)), 32) == 0);
	identity_free(ia);
	identity_free(ib);
	tu_rmdir(d1);
	tu_rmdir(d2);
}
END_TEST

/* A deposit's dedup key: the same for the same deposit, else not. */
START_TEST(test_dedup_key)
{
	char k1[SEAL_DEDUP_HEX + 1], k2[SEAL_DEDUP_HEX + 1];

	seal_dedup_key(ka, SEAL_MSG, "bob", ID1, k1);
	ck_assert_uint_eq(strlen(k1), SEAL_DEDUP_HEX);
	ck_assert_uint_eq(strspn(k1, "0123456789abcdef"), SEAL_DEDUP_HEX);
	seal_dedup_key(ka, SEAL_MSG, "bob", ID1, k2);
	ck_assert_str_eq(k1, k2);
	seal_dedup_key(ka, SEAL_RECEIPT, "bob", ID1, k2);
	ck_assert_str_ne(k1, k2);
	seal_dedup_key(ka, SEAL_MSG, "carol", ID1, k2);
	ck_assert_str_ne(k1, k2);
	seal_dedup_key(ka, SEAL_MSG, "bob", "0123456789abcdef0123456789abcdee",
	    k2);
	ck_assert_str_ne(k1, k2);
	/* Another identity: another key (the gestor cannot compute it). */
	seal_dedup_key(kc, SEAL_MSG, "bob", ID1, k2);
	ck_assert_str_ne(k1, k2);
}
END_TEST

static Suite *
seal_suite(void)
{
	Suite *s = suite_create("seal");
	TCase *tc = tcase_create("seal");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_receipt);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_tampered);
	tcase_add_test(tc, test_wrong_recipient);
	tcase_add_test(tc, test_wrong_signer);
	tcase_add_test(tc, test_replayed);
	tcase_add_test(tc, test_bad_payload);
	tcase_add_test(tc, test_max_body);
	tcase_add_test(tc, test_group);
	tcase_add_test(tc, test_identity_key);
	tcase_add_test(tc, test_dedup_key);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(seal_suite(), LOG_LVL_WARN);
}
