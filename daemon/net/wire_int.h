/*
 * Between the files of wire parsing: wire.c (the table of frame types,
 * the frames to and from the gestor, wire_parse) calls wire_peer.c (the
 * frames between peers) and wire_get.c (single members); wire_peer.c
 * calls wire_get.c. Nothing else includes this.
 */
#ifndef P2P_WIRE_INT_H
#define P2P_WIRE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

/* wire_get.c: one member checked; -1 (or NULL) with why in err. */
const char *wire_get_str(json_t *, const char *key, char *err, size_t errlen);
const char *wire_get_user(json_t *, const char *key, char *err,
	    size_t errlen);
const char *wire_get_msgid(json_t *, const char *key, char *err,
	    size_t errlen);
const char *wire_get_text(json_t *, const char *key, size_t max, size_t *len,
	    char *err, size_t errlen);
int	wire_get_port(json_t *, const char *key, int *port, char *err,
	    size_t errlen);
int	wire_get_mail(json_t *, const char **mail, char *err, size_t errlen);
int	wire_get_int(json_t *, const char *key, int64_t min, int64_t max,
	    int64_t *out, char *err, size_t errlen);
long	wire_base64_size(const char *s, size_t len);
int	wire_get_off(json_t *, const char *key, int64_t max, int64_t *out,
	    char *err, size_t errlen);
bool	wire_valid_sha256(const char *);
bool	wire_valid_host(const char *);

/* wire_peer.c: the frames between peers (wire_parser's shape). */
int	wire_parse_hello(json_t *, struct wire_msg *, size_t, char *, size_t);
int	wire_parse_msg(json_t *, struct wire_msg *, size_t, char *, size_t);
int	wire_parse_gmsg(json_t *, struct wire_msg *, size_t, char *, size_t);
int	wire_parse_gmembers(json_t *, struct wire_msg *, size_t, char *,
	    size_t);
int	wire_parse_gleave(json_t *, struct wire_msg *, size_t, char *, size_t);
int	wire_parse_ack(json_t *, struct wire_msg *, size_t, char *, size_t);
int	wire_parse_acks(json_t *, struct wire_msg *, size_t, char *, size_t);
int	wire_parse_file(json_t *, struct wire_msg *, size_t, char *, size_t);
int	wire_parse_chunk(json_t *, struct wire_msg *, size_t, char *, size_t);
int	wire_parse_fpos(json_t *, struct wire_msg *, size_t, char *, size_t);

#endif
