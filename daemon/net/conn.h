/*
 * A connection that sends and receives whole frames over TLS 1.3: the
 * only code in p2pchatd that talks to GnuTLS's record layer. GnuTLS owns
 * the non-blocking socket; libevent tells us when it is readable or
 * writable. Frames are a 4-byte big-endian length and one JSON object.
 *
 * Callbacks may call conn_close() (or anything else) on the connection
 * they are given; the connection is freed only after the callback returns.
 * After conn_close() or after on_close no callback is made again.
 */
#ifndef P2P_CONN_H
#define P2P_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <jansson.h>

#include "identity.h"

struct conn;
struct tlsctx;

struct wire_hot;

struct conn_cbs {
	/* Handshake done: conn_peer_fingerprint() is valid. */
	void	(*on_ready)(struct conn *, void *arg);
	/* One frame: a JSON object with a string member "t" (borrowed). */
	void	(*on_frame)(struct conn *, json_t *frame, void *arg);
	/* The connection is gone (peer closed, error, timeout, bad frame);
	 * reason is for the log. The conn is freed after this returns. */
	void	(*on_close)(struct conn *, const char *reason, void *arg);
	/*
	 * Optional: the bulk output (conn_send_bulk) went out down to
	 * CONN_DRAIN_LOW bytes or fewer (called after each flush while it
	 * stays there): room to queue more of something large.
	 */
	void	(*on_drain)(struct conn *, void *arg);
	/*
	 * Optional, for the hot frames read without a JSON tree (wire_hot.h):
	 * hot_parse gets each whole frame's payload first and returns it
	 * read, or NULL (then on_frame gets it from jansson, as any other);
	 * on_hot then gets what hot_parse returned, and frees it.
	 */
	struct wire_hot *(*hot_parse)(const unsigned char *, size_t, void *arg);
	void	(*on_hot)(struct conn *, struct wire_hot *, void *arg);
	/*
	 * Optional: a binary frame (frame.h's FRAME_BIN first), its payload
	 * borrowed for the call. Without it a binary frame is a bad frame:
	 * the connection is closed, as an older daemon would.
	 */
	void	(*on_binary)(struct conn *, const unsigned char *, size_t,
		    void *arg);
};

#define CONN_DRAIN_LOW	(256 * 1024)

/* TLS context: our credentials, the priority string, ALPN. */
struct tlsctx	*tlsctx_new(const struct identity *, char **cause);
void		 tlsctx_free(struct tlsctx *);

/* Non-blocking connect to addr; the handshake starts when it completes. */
struct conn	*conn_connect(struct event_base *, struct tlsctx *,
		    const struct sockaddr *, socklen_t, size_t max_frame,
		    double handshake_timeout, const struct conn_cbs *, void *arg);
/* The same from a given source address (port 0: any port). */
struct conn	*conn_connect_from(struct event_base *, struct tlsctx *,
		    const struct sockaddr *src, socklen_t srclen,
		    const struct sockaddr *, socklen_t, size_t max_frame,
		    double handshake_timeout, const struct conn_cbs *, void *arg);
/* Take an accepted socket (made non-blocking here) as TLS server. */
struct conn	*conn_accept(struct event_base *, struct tlsctx *, int fd,
		    const struct sockaddr *, socklen_t, size_t max_frame,
		    double handshake_timeout, const struct conn_cbs *, void *arg);
/* Take a connected socket (e.g. through a relay) as TLS client. */
struct conn	*conn_client_fd(struct event_base *, struct tlsctx *, int fd,
		    const struct sockaddr *, socklen_t, size_t max_frame,
		    double handshake_timeout, const struct conn_cbs *, void *arg);
/*
 * Queue a frame (serialised compactly). Frames queued in one loop turn
 * are coalesced into as few TLS records as possible. 0 or -1 (closed,
 * or the frame is over max_frame).
 */
int		 conn_send(struct conn *, const json_t *frame);
/*
 * Queue a frame whose payload is already JSON text (jsonw.h): one object
 * with a string "t", written by this program, never by a peer. 0 or -1.
 */
int		 conn_send_text(struct conn *, const char *json, size_t len);
/*
 * Write what conn_send* queued now, not at the end of the loop turn
 * (before a blocking fsync, so that the other side works meanwhile).
 */
void		 conn_push(struct conn *);
/*
 * Queue one frame of bulk data (a file's chunk) whose payload is a[0..alen)
 * then b[0..blen): JSON text as for conn_send_text, or a binary frame
 * (frame.h's FRAME_BIN first). Bulk frames go out in order, each whole,
 * but only when no other frame waits: a frame queued with conn_send*
 * goes out next, behind at most the rest of one bulk frame already
 * started. 0 or -1 (closed, or over max_frame).
 */
int		 conn_send_bulk(struct conn *, const void *a, size_t alen,
		    const void *b, size_t blen);
/* Queue {"t":"error","code":code,"message":message}. */
int		 conn_send_error(struct conn *, const char *code, const char *message);
/* Flush what is queued, send TLS close_notify, then free. No callbacks. */
void		 conn_close(struct conn *);
/* Free at once, with no callbacks (shutdown paths). */
void		 conn_abort(struct conn *);

void		 conn_set_arg(struct conn *, void *arg);
/* Connections not yet freed (closing ones included). */
int		 conn_live(void);
/* At exit, once the loop has stopped: free every connection left. */
void		 conn_free_all(void);
bool		 conn_is_ready(const struct conn *);
/* SHA-256 fingerprint of the peer certificate's key, valid after on_ready. */
const char	*conn_peer_fingerprint(const struct conn *);
/* The handshake's key exchange group ("X25519"); NULL before on_ready. */
const char	*conn_tls_group(const struct conn *);
/* Peer's numeric address and port as seen on the socket. */
const char	*conn_peer_addr(const struct conn *);
int		 conn_peer_port(const struct conn *);
/* Our numeric address on the socket (the one the peer reached); 0/-1. */
int		 conn_local_addr(const struct conn *, char *buf, size_t len);
/*
 * What the other side said it can do: its hello's caps, as bits numbered
 * by wire.h's enum wire_cap (wire_parse_hello reads them). Whoever read
 * the hello sets them; 0 (an older peer's: none) until then. They live
 * as long as the connection: a new connection says hello again.
 */
void		 conn_set_caps(struct conn *, unsigned caps);
bool		 conn_has_cap(const struct conn *, unsigned cap);
/* Bytes queued and not yet written (for back-pressure). */
size_t		 conn_pending_bytes(const struct conn *);
/* The same of the bulk output (conn_send_bulk). */
size_t		 conn_bulk_bytes(const struct conn *);
/* Stop/resume delivering frames (e.g. while a slow operation runs). */
void		 conn_pause(struct conn *, bool);
/*
 * Until the other side has logged in (or said hello): frames of at most
 * 16 KiB, and reading stops at 64 KiB of unsent replies instead of 1 MiB.
 */
void		 conn_set_untrusted(struct conn *, bool);
/*
 * Seconds a connection may hold more unsent output than its high mark
 * with the other side reading none of it, before it is closed
 * (limits.send_timeout; for every connection).
 */
void		 conn_set_send_timeout(double);

#endif
