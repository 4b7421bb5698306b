/*
 * Between the files of the TLS connection (conn.h): conn.c (the object,
 * its life cycle, the API), conn_tls.c (the session), conn_io.c (bytes
 * and frames), conn_open.c (connect, adopt). Each calls only the ones
 * before it in that list, reversed: conn_open.c -> conn_io.c ->
 * conn_tls.c -> conn.c. Nothing else includes this.
 */
#ifndef P2P_CONN_INT_H
#define P2P_CONN_INT_H

#include <sys/queue.h>

#include <stdbool.h>

#include <event2/event.h>
#include <gnutls/gnutls.h>

#include "conn.h"
#include "proto.h"

/*
 * The one TLS priority string of p2pchat: TLS 1.3 and nothing else.
 * X25519 first: NORMAL puts SECP256R1 first, and its big-number
 * arithmetic was 44% of the gestor's handshake profile (gnutls-cli
 * --benchmark-tls-kx here: 1 188 handshakes/s with X25519, 935 with
 * SECP256R1). SECP256R1 stays as the fallback, for a peer that offers
 * only it. The server's order decides (%SERVER_PRECEDENCE): an earlier
 * p2pchat prefers SECP256R1 but sends an X25519 key share too, and gets
 * X25519 from an upgraded gestor without another round trip.
 */
#define CONN_PRIORITY		"NORMAL:-VERS-ALL:+VERS-TLS1.3:" \
				"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:" \
				"%SERVER_PRECEDENCE"
#define CONN_RECORD_MAX		16384		/* bytes per record sent */
#define CONN_READ_BUDGET	(256 * 1024)	/* per callback, for fairness */
#define CONN_PAUSE_MAX		(256 * 1024)	/* buffered while paused */
#define CONN_BUF_KEEP		(64 * 1024)	/* keep buffers this big */
#define CONN_CLOSE_WAIT		2		/* seconds for a clean close */
/*
 * Backpressure: a connection whose unsent output is over its high mark
 * stops reading and delivering frames (each frame may queue a reply)
 * until the other side has read it down to half; with no byte read by
 * the other side for conn_send_timeout seconds meanwhile, it is closed.
 * Before the other side is authenticated (conn_set_untrusted) the
 * marks are smaller, and so are frames.
 */
#define CONN_OUT_HIGH		(1024 * 1024)
#define CONN_ANON_OUT_HIGH	(64 * 1024)
#define CONN_ANON_FRAME		(16 * 1024)	/* frames before login/hello */
#define CONN_ANON_PAUSE_MAX	(64 * 1024)

enum conn_state {
	CONN_CONNECTING,	/* TCP connect in progress */
	CONN_HANDSHAKE,
	CONN_READY,
	CONN_CLOSING,		/* flush, close_notify, wait for EOF */
	CONN_DEAD,		/* freed when the outermost callback returns */
};

struct conn_buf {
	unsigned char	*data;
	size_t		 off;		/* first unread byte */
	size_t		 len;		/* end of data */
	size_t		 cap;
};

struct tlsctx {
	gnutls_certificate_credentials_t cred;	/* borrowed from identity */
	gnutls_priority_t		 prio;
};

struct conn {
	LIST_ENTRY(conn)	 entry;		/* conn_all */
	struct event_base	*base;
	gnutls_session_t	 tls;
	int			 fd;
	enum conn_state		 state;
	int			 depth;		/* nested callbacks running */
	int			 connect_errno;
	bool			 paused;
	bool			 reading;	/* rev is added */
	bool			 recv_wants_write;
	bool			 bye_sent;
	bool			 eof;		/* peer sent close_notify */
	bool			 untrusted;	/* small bounds until login */
	bool			 out_full;	/* over the high mark: not reading */

	struct event		*rev;		/* persistent EV_READ */
	struct event		*wev;		/* one-shot EV_WRITE */
	struct event		*timer;		/* handshake or close deadline */
	struct event		*work;		/* deferred flush/deliver */

	size_t			 max_frame;	/* once trusted */
	struct conn_cbs		 cbs;
	void			*arg;

	struct conn_buf		 in;
	struct conn_buf		 out;
	struct conn_buf		 bulk;		/* conn_send_bulk's frames */
	size_t			 bulk_left;	/* of the bulk frame going out */
	size_t			 retry_len;	/* record_send got E_AGAIN */
	bool			 retry_bulk;	/* ... on bulk, not out */

	char			 peer_fp[P2P_FP_LEN + 1];
	char			 peer_addr[80];
	int			 peer_port;
	unsigned		 peer_caps;	/* conn_set_caps */
};

/* conn.c: buffers */
void	 conn_buf_reserve(struct conn_buf *, size_t n);
void	 conn_buf_free(struct conn_buf *);
void	 conn_buf_consume(struct conn_buf *, size_t n);
size_t	 conn_buf_used(const struct conn_buf *);
/* conn.c: life cycle */
extern double conn_send_timeout;	/* limits.send_timeout */
void	 conn_track(struct conn *);
void	 conn_free(struct conn *);
void	 conn_destroy(struct conn *);
void	 conn_enter(struct conn *);
void	 conn_leave(struct conn *);
void	 conn_schedule(struct conn *);
size_t	 conn_frame_max(const struct conn *);
size_t	 conn_out_high(const struct conn *);
void	 conn_read_ctl(struct conn *);
void	 conn_arm_send_deadline(struct conn *);
void	 conn_out_update(struct conn *);
void	 conn_start_close(struct conn *);
void	 conn_failf(struct conn *, bool, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/* conn_tls.c */
const char *conn_strerror(int);
int	 conn_verify_cb(gnutls_session_t);
int	 conn_tls_init(struct conn *, struct tlsctx *, bool server);
void	 conn_established(struct conn *);
void	 conn_handshake(struct conn *);

/* conn_io.c */
struct conn *conn_new(struct event_base *, struct tlsctx *, int fd,
	    bool server, size_t max_frame, double timeout,
	    const struct conn_cbs *, void *arg);
void	 conn_schedule_handshake(struct conn *);

#endif
