/*
 * A JSON writer for the hot paths: frames and replies printed straight
 * into a buffer, without building and freeing a jansson tree per message.
 * Keys are string literals of the caller's (not escaped); values are
 * escaped as JSON strings. Input is never parsed here: jansson stays the
 * parser of everything untrusted. The output is compact, like jansson's
 * JSON_COMPACT, and the buffer is zeroed before it is freed (message
 * bodies pass through it).
 *
 *	struct jsonw w;
 *	jsonw_init(&w);
 *	jsonw_open(&w, NULL);
 *	jsonw_str(&w, "t", "ok");
 *	jsonw_int(&w, "n", 7);
 *	jsonw_close(&w);			-> {"t":"ok","n":7}
 *	... jsonw_data(&w), jsonw_len(&w) ...
 *	jsonw_free(&w);
 */
#ifndef P2P_JSONW_H
#define P2P_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define JSONW_DEPTH	16
#define JSONW_INLINE	512

struct jsonw {
	char		*buf;
	size_t		 len, cap;
	int		 depth;
	bool		 more[JSONW_DEPTH];	/* a value was written at this level */
	bool		 err;			/* too deep, or a bad value */
	char		 inl[JSONW_INLINE];	/* small documents stay here */
};

void		 jsonw_init(struct jsonw *);
void		 jsonw_free(struct jsonw *);
/* Start again with an empty document, keeping the buffer. */
void		 jsonw_reset(struct jsonw *);
const char	*jsonw_data(const struct jsonw *);
size_t		 jsonw_len(const struct jsonw *);
/* The document followed by a NUL (not counted in jsonw_len). */
const char	*jsonw_cstr(struct jsonw *);
/* -1 if the document is not well formed (depth, open containers, bad value). */
int		 jsonw_ok(const struct jsonw *);

/* key is NULL for the top level and inside arrays. */
void		 jsonw_open(struct jsonw *, const char *key);	/* { */
void		 jsonw_close(struct jsonw *);			/* } */
void		 jsonw_open_array(struct jsonw *, const char *key);	/* [ */
void		 jsonw_close_array(struct jsonw *);		/* ] */
void		 jsonw_str(struct jsonw *, const char *key, const char *);
void		 jsonw_strn(struct jsonw *, const char *key, const char *, size_t);
void		 jsonw_int(struct jsonw *, const char *key, int64_t);
void		 jsonw_bool(struct jsonw *, const char *key, bool);
void		 jsonw_null(struct jsonw *, const char *key);
/* Any jansson value, serialised compactly (the slow path, for echoes). */
void		 jsonw_json(struct jsonw *, const char *key, const json_t *);

#endif
