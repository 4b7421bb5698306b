/*
 * Password hashing with libxcrypt: new hashes are yescrypt ("$y$"),
 * bcrypt ("$2b$") hashes from the project p2pchat replaces also verify.
 */
#ifndef P2P_PASSWD_H
#define P2P_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

/* Hash pw[0..len) into out (at least PASSWD_HASH_MAX bytes); 0 or -1. */
#define PASSWD_HASH_MAX	256
int	passwd_hash(const char *pw, size_t len, char *out, size_t outlen);
/* Constant-time compare of crypt(pw, hash) with hash; false on any error. */
bool	passwd_verify(const char *pw, size_t len, const char *hash);

#endif
