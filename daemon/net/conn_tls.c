/*
 * The TLS session of a connection: the one priority string, the
 * credentials (struct tlsctx), the handshake, and the verify callback,
 * which only records the SHA-256 of the peer's key: the caller decides
 * whether that key is the one it expects.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <gnutls/gnutls.h>
#include <jansson.h>

#include "conn_int.h"
#include "frame.h"
#include "log.h"
#include "proto.h"
#include "util.h"

/* GnuTLS error text; for socket errors, the errno behind them. */
const char *
conn_strerror(int r)
{
	if ((r == GNUTLS_E_PULL_ERROR || r == GNUTLS_E_PUSH_ERROR) &&
	    errno != 0)
		return strerror(errno);
	return gnutls_strerror(r);
}

/* Require a parsable peer certificate and remember its key fingerprint. */
int
conn_verify_cb(gnutls_session_t tls)
{
	struct conn *c = gnutls_session_get_ptr(tls);
	const gnutls_datum_t *certs;
	unsigned int n = 0;

	c->peer_fp[0] = '\0';
	if (gnutls_certificate_type_get2(tls, GNUTLS_CTYPE_PEERS) !=
	    GNUTLS_CRT_X509)
		return -1;
	certs = gnutls_certificate_get_peers(tls, &n);
	if (certs == NULL || n == 0) {
		log_debug("%s: %s: no certificate", __func__, c->peer_addr);
		return -1;
	}
	if (identity_cert_fingerprint(&certs[0], c->peer_fp,
	    sizeof(c->peer_fp)) != 0) {
		log_debug("%s: %s: bad certificate", __func__, c->peer_addr);
		c->peer_fp[0] = '\0';
		return -1;
	}
	return 0;
}

int
conn_tls_init(struct conn *c, struct tlsctx *ctx, bool server)
{
	gnutls_datum_t alpn = { (unsigned char *)P2P_ALPN, strlen(P2P_ALPN) };
	unsigned int flags = GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL |
	    GNUTLS_NO_TICKETS;
	int r;

	flags |= server ? GNUTLS_SERVER : GNUTLS_CLIENT;
	if ((r = gnutls_init(&c->tls, flags)) < 0 ||
	    (r = gnutls_priority_set(c->tls, ctx->prio)) < 0 ||
	    (r = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE,
	    ctx->cred)) < 0 ||
	    (r = gnutls_alpn_set_protocols(c->tls, &alpn, 1,
	    GNUTLS_ALPN_MANDATORY)) < 0) {
		log_warnx("%s: %s", __func__, gnutls_strerror(r));
		return -1;
	}
	if (server)
		gnutls_certificate_server_set_request(c->tls,
		    GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_function(c->tls, conn_verify_cb);
	gnutls_session_set_ptr(c->tls, c);
	gnutls_handshake_set_timeout(c->tls, GNUTLS_INDEFINITE_TIMEOUT);
	gnutls_transport_set_int(c->tls, c->fd);
	return 0;
}

/* Handshake finished: check what GnuTLS cannot, then tell the user. */
void
conn_established(struct conn *c)
{
	gnutls_datum_t alpn = { NULL, 0 };

	if (gnutls_protocol_get_version(c->tls) != GNUTLS_TLS1_3) {
		conn_failf(c, false, "not TLS 1.3");
		return;
	}
	if (gnutls_alpn_get_selected_protocol(c->tls, &alpn) != 0 ||
	    alpn.size != strlen(P2P_ALPN) ||
	    memcmp(alpn.data, P2P_ALPN, alpn.size) != 0) {
		conn_failf(c, false, "ALPN is not %s", P2P_ALPN);
		return;
	}
	if (c->peer_fp[0] == '\0') {
		conn_failf(c, false, "no peer certificate");
		return;
	}
	evtimer_del(c->timer);
	c->state = CONN_READY;
	log_debug("%s: %s port %d: %s", __func__, c->peer_addr, c->peer_port,
	    c->peer_fp);
	if (c->cbs.on_ready != NULL)
		c->cbs.on_ready(c, c->arg);
	if (c->state == CONN_READY) {
		conn_out_update(c);
		conn_schedule(c);	/* queued output, data inside GnuTLS */
	}
}

void
conn_handshake(struct conn *c)
{
	int r, tries = 0;

	do {
		r = gnutls_handshake(c->tls);
	} while (r == GNUTLS_E_INTERRUPTED || (r < 0 && r != GNUTLS_E_AGAIN &&
	    !gnutls_error_is_fatal(r) && ++tries < 8));
	if (r == GNUTLS_E_AGAIN) {
		if (gnutls_record_get_direction(c->tls) == 1)
			event_add(c->wev, NULL);
		return;
	}
	if (r < 0) {
		conn_failf(c, false, "handshake: %s", conn_strerror(r));
		return;
	}
	conn_established(c);
}

struct tlsctx *
tlsctx_new(const struct identity *id, char **cause)
{
	struct tlsctx *ctx = xcalloc(1, sizeof(*ctx));
	const char *errpos = NULL;
	int r;

	*cause = NULL;
	ctx->cred = identity_credentials(id);
	if ((r = gnutls_priority_init(&ctx->prio, CONN_PRIORITY,
	    &errpos)) < 0) {
		if (asprintf(cause, "TLS priority \"%s\": %s", CONN_PRIORITY,
		    gnutls_strerror(r)) == -1)
			abort();
		free(ctx);
		return NULL;
	}
	return ctx;
}

void
tlsctx_free(struct tlsctx *ctx)
{
	if (ctx == NULL)
		return;
	gnutls_priority_deinit(ctx->prio);
	free(ctx);
}
