/*
 * mailforge [-s SEED] [-r] [-i ID] [-g GROUP | -l SIG] FROM TO KEY BODY:
 * a message from FROM to TO sealed for KEY (the recipient's Ed25519
 * public key, 64 hex digits) but signed with a fresh random key, not FROM's: what a gestor
 * (or anyone with its database) would need to forge mail. -s signs with
 * the Ed25519 private key SEED (64 hex digits: a mallory's own key), -r
 * makes it a receipt for ID (BODY is then ignored), -i gives the message
 * id (default random), -g makes it a message to group GROUP (a gmsg),
 * -l a group's list (a gmembers: BODY the list's text, SIG its
 * signature). Prints the blob in base64. For the tests only
 * (tests/integration/mailbox_peers.sh, mailbox_hostile.sh,
 * mailbox_group.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	const char *id = NULL, *seedhex = NULL, *group = NULL, *sig = NULL;
	size_t len, blen;
	int c, receipt = 0;

	while ((c = getopt(argc, argv, "s:ri:g:l:")) != -1) {
		switch (c) {
		case 's': seedhex = optarg; break;
		case 'r': receipt = 1; break;
		case 'i': id = optarg; break;
		case 'g': group = optarg; break;
		case 'l': sig = optarg; break;
		default: goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 4 || sodium_init() < 0 || seal_pk_parse(argv[2], pk) != 0)
		goto usage;
	if (seedhex == NULL)
		randombytes_buf(seed, sizeof(seed));
	else if (sodium_hex2bin(seed, sizeof(seed), seedhex, strlen(seedhex),
	    NULL, &len, NULL) != 0 || len != sizeof(seed))
		goto usage;
	if ((k = seal_key_new(seed)) == NULL)
		return 1;
	memset(&m, 0, sizeof(m));
	m.type = receipt ? SEAL_RECEIPT : group != NULL ? SEAL_GMSG :
	    sig != NULL ? SEAL_GMEMBERS : SEAL_MSG;
	if (group != NULL)
		snprintf(m.group, sizeof(m.group), "%s", group);
	m.sig = (char *)sig;
	snprintf(m.from, sizeof(m.from), "%s", argv[0]);
	snprintf(m.to, sizeof(m.to), "%s", argv[1]);
	if (id == NULL) {
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(m.id, sizeof(m.id), raw, sizeof(raw));
	} else
		snprintf(m.id, sizeof(m.id), "%s", id);
	m.ts = util_now_ms();
	m.body = receipt ? "" : argv[3];
	m.body_len = strlen(m.body);
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
usage:
	fprintf(stderr, "usage: mailforge [-s SEED] [-r] [-i ID] [-g GROUP | "
	    "-l SIG] FROM TO KEY BODY\n");
	return 2;
}
