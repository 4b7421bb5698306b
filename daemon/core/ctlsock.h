/*
 * The control socket: a Unix stream socket (directory 0700, socket 0600)
 * speaking one JSON object per line each way. Every request is checked
 * against the shared command table (common/ctlcmd.h) before its handler
 * runs; replies go out in request order even when handlers answer late.
 * A connection that ran `watch` also receives event lines.
 */
#ifndef P2P_CTLSOCK_H
#define P2P_CTLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "ctlcmd.h"
#include "log.h"

struct ctlsock;
struct ctlreq;

/* A handler must eventually call ctlreq_reply or ctlreq_error exactly once. */
typedef void (*ctl_handler)(struct ctlreq *, json_t *args, void *ctx);

/*
 * Create the socket at path (refusing a live one, replacing a stale one).
 * handlers[CMD__MAX]: NULL slots answer "unsupported". mode_bit is
 * CTL_MODE_PEER or CTL_MODE_GESTOR. NULL with *cause (caller frees).
 */
struct ctlsock	*ctlsock_open(struct event_base *, const char *path,
		    unsigned mode_bit, const ctl_handler *handlers, void *ctx,
		    size_t max_body, char **cause);
/* Flush what can be flushed, close every client, unlink the socket. */
void		 ctlsock_close(struct ctlsock *);
void		 ctlsock_set_max_body(struct ctlsock *, size_t);
/* Clients at once; more are refused (counted in the descriptor budget). */
#define CTLSOCK_MAX_CLIENTS	256
/* limits.send_timeout: a client over the output mark that reads nothing. */
void		 ctlsock_set_send_timeout(struct ctlsock *, double);
/*
 * The control socket's hot request, `send` to a user, as p2pchatctl
 * writes it: {"id":N,"cmd":"send","args":{"user":..,"text":..[,"id":..]
 * [,"ttl":N]}}, checked as ctlsock_parse_request and the command table
 * would check it; NULL to decline (the line takes the jansson path, which
 * accepts or refuses it). Strings in buf; malloc'd. In
 * wire_hot.c, with the hot frames' reader.
 */
struct ctl_hot_send {
	int64_t		 reqid;		/* the request's "id" */
	const char	*user, *text, *id;	/* id NULL: none given */
	size_t		 text_len;
	bool		 has_ttl;
	double		 ttl;
	char		 buf[];
};

struct ctl_hot_send *ctl_hot_send_parse(const char *line, size_t len,
		    size_t max_body);

/*
 * A `send` line that ctl_hot_send_parse reads without a JSON tree goes
 * to fn instead of the table's handler; any other line, or one it
 * declines, takes the jansson path as before.
 */
typedef void (*ctl_hot_send_fn)(struct ctlreq *, const struct ctl_hot_send *,
    void *ctx);
void		 ctlsock_set_hot_send(struct ctlsock *, ctl_hot_send_fn);
/* Send an event line to every subscriber (event is borrowed). */
void		 ctlsock_broadcast(struct ctlsock *, const json_t *event);
/* The same for a line already printed as compact JSON (no newline). */
void		 ctlsock_broadcast_text(struct ctlsock *, const char *line,
		    size_t len);
/* Whether any client is subscribed (worth printing an event for). */
int		 ctlsock_watched(const struct ctlsock *);
int		 ctlsock_nclients(const struct ctlsock *);

/*
 * Parse and check one request line (no I/O; shared with the fuzz target):
 * a JSON object with an optional integer or string "id", a string "cmd"
 * that mode_bit serves, and "args" that pass the command table's checks.
 * Returns 0 with *cmd; or -1 with *code (ERR_BAD_REQUEST,
 * ERR_UNKNOWN_COMMAND or ERR_INVALID_ARGUMENT) and a message in err.
 * Either way *msg is the parsed line or NULL (caller decrefs) and *id is
 * its "id" (borrowed from *msg) or NULL.
 */
int		 ctlsock_parse_request(const char *line, size_t len,
		    unsigned mode_bit, size_t max_body, json_t **msg, json_t **id,
		    int *cmd, const char **code, char *err, size_t errlen);

/* Reply ok with result (stolen; NULL means {}). Frees the request. */
void		 ctlreq_reply(struct ctlreq *, json_t *result);
/* The same with the result already printed as JSON text (jsonw.h). */
void		 ctlreq_reply_text(struct ctlreq *, const char *result, size_t len);
void		 ctlreq_error(struct ctlreq *, const char *code, const char *fmt, ...)
		    LOG_PRINTF(3, 4);
/*
 * An error whose object also carries fields (stolen, may be NULL):
 * {"code":…,"message":…, "id":…, "state":…, …} for scripts to read.
 */
void		 ctlreq_error_obj(struct ctlreq *, const char *code, json_t *fields,
		    const char *fmt, ...) LOG_PRINTF(4, 5);
/*
 * Before replying: after the reply, this connection receives event lines.
 * Lines given to ctlreq_stream (borrowed) follow the reply, in order,
 * before any later event.
 */
void		 ctlreq_subscribe(struct ctlreq *);
void		 ctlreq_stream(struct ctlreq *, const json_t *line);
enum ctl_cmd	 ctlreq_cmd(const struct ctlreq *);
/*
 * The descriptor the client passed (SCM_RIGHTS) with this request, its
 * connection's first, now the caller's to close; -1 if none came.
 */
int		 ctlreq_take_fd(struct ctlreq *);
/* False once the client has gone away (the reply will be dropped). */
int		 ctlreq_alive(const struct ctlreq *);

#endif
