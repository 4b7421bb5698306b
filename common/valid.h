/*
 * Validation of untrusted names and values: usernames, passwords, message
 * bodies, message ids and fingerprints. Used by the daemon on every input
 * and by p2pchatctl to fail early with a usage error.
 */
#ifndef P2P_VALID_H
#define P2P_VALID_H

#include <stdbool.h>
#include <stddef.h>

/* ^[a-z0-9][a-z0-9._-]{0,31}$ */
bool	valid_username(const char *);
/* 8..1024 bytes, no NUL inside the given length. */
bool	valid_password(const char *, size_t);
/* Well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF), no NUL. */
bool	valid_utf8(const char *, size_t);
/*
 * The lines (numbered from 1) of s that are not UTF-8 without NUL: how
 * many, the first max of them in lines[].
 */
size_t	valid_utf8_lines(const char *s, size_t len, size_t *lines, size_t max);
/* 1..max bytes of valid UTF-8 without NUL. */
bool	valid_body(const char *, size_t, size_t max);
/* 32 lowercase hex digits. */
bool	valid_msgid(const char *);
/* 1..max/2 bytes as lowercase hex: an even number of digits, at most max. */
bool	valid_hex_bytes(const char *, size_t max);
/* "sha256:" followed by 64 lowercase hex digits. */
bool	valid_fingerprint(const char *);
/* A host name or address as peers publish them: 1..63 of [0-9A-Za-z.:-]. */
bool	valid_address(const char *);

#endif
