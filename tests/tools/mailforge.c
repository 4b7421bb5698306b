/*
 * mailforge FROM TO KEY BODY: a message from FROM to TO sealed for KEY
 * (the recipient's Ed25519 public key, 64 hex digits) but signed with a
 * fresh random key, not FROM's: what a gestor (or anyone with its
 * database) would need to forge mail. Prints the blob in base64. For
 * tests/integration/mailbox_peers.sh only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "seal.h"
#include "util.h"

int
main(int argc, char **argv)
{
	unsigned char seed[SEAL_SEED_LEN], pk[SEAL_PK_LEN], raw[16], *blob;
	struct seal_key *k;
	struct seal_msg m;
	char *b64;
	size_t len, blen;

	if (argc != 5 || sodium_init() < 0 || seal_pk_parse(argv[3], pk) != 0) {
		fprintf(stderr, "usage: mailforge FROM TO KEY BODY\n");
		return 2;
	}
	randombytes_buf(seed, sizeof(seed));
	if ((k = seal_key_new(seed)) == NULL)
		return 1;
	memset(&m, 0, sizeof(m));
	m.type = SEAL_MSG;
	snprintf(m.from, sizeof(m.from), "%s", argv[1]);
	snprintf(m.to, sizeof(m.to), "%s", argv[2]);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(m.id, sizeof(m.id), raw, sizeof(raw));
	m.ts = util_now_ms();
	m.body = argv[4];
	m.body_len = strlen(argv[4]);
	if (seal_seal(k, pk, &m, &blob, &len) != 0)
		return 1;
	blen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(blen)) == NULL)
		return 1;
	sodium_bin2base64(b64, blen, blob, len, sodium_base64_VARIANT_ORIGINAL);
	printf("%s\n", b64);
	free(b64);
	free(blob);
	seal_key_free(k);
	return 0;
}
