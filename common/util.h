/*
 * Small helpers shared by daemon and ctl: time stamps, output escaping,
 * secure zeroing and allocation that cannot fail quietly.
 */
#ifndef P2P_UTIL_H
#define P2P_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Wall-clock milliseconds since the epoch. */
int64_t	 util_now_ms(void);
/* Monotonic seconds, for timers and rates. */
double	 util_mono(void);
/* "2026-11-25T18:30:00Z" for unix seconds, into out (>= 21 bytes). */
void	 util_iso8601(int64_t secs, char *out, size_t outlen);
/*
 * Escape tab, newline, carriage return and backslash as \t \n \r \\, and
 * every other C0 control and DEL as \xHH, so a value fits in one
 * tab-separated field and cannot drive a terminal or log viewer.
 * Returns malloc'd string.
 */
char	*util_escape(const char *, size_t);
/*
 * Drop an incomplete UTF-8 sequence from the end of s: what snprintf
 * leaves when it cuts text from elsewhere (a peer's error message) in
 * the middle of a character, which would no longer be valid UTF-8 (and
 * so no JSON string). Returns s.
 */
char	*util_utf8_trim(char *s);
/*
 * The name in names[0..n-1] (NULLs skipped) nearest to word by edit
 * distance, if near enough to be a typo of it ("did you mean"); or NULL.
 */
const char *util_closest(const char *word, const char *const *names, size_t n);
/* Lowercase hex of p[0..n-1] into out (>= 2n+1 bytes), NUL-terminated. */
void	 util_hex(const void *p, size_t n, char *out);
/* The value of a hex digit (0-9, a-f, A-F), or -1. */
int	 util_hexval(int c);
/* n bytes from the 2n lowercase hex digits at s: 0, or -1 if one is not. */
int	 util_unhex(const char *s, unsigned char *out, size_t n);
/* Overwrite memory in a way the compiler keeps. */
void	 util_zero(void *, size_t);
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
char	*xstrdup(const char *);

#endif
