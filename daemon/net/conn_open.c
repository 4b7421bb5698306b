/*
 * Opening a connection: connect out (from a given source address or
 * not), or adopt a socket that is already connected (accepted, or handed
 * over by the relay), as TLS client or server.
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

/* Numeric address and port; IPv4-mapped IPv6 shown as dotted IPv4. */
static void
conn_set_peer(struct conn *c, const struct sockaddr *sa, socklen_t salen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	const struct sockaddr_in6 *sin6;
	char serv[NI_MAXSERV];

	snprintf(c->peer_addr, sizeof(c->peer_addr), "?");
	if (sa == NULL || salen == 0) {
		salen = sizeof(ss);
		if (getpeername(c->fd, (struct sockaddr *)&ss, &salen) != 0)
			return;
		sa = (struct sockaddr *)&ss;
	}
	if (sa->sa_family == AF_INET6 && salen >= sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_port = sin6->sin6_port;
			memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
			sa = (struct sockaddr *)&sin;
			salen = sizeof(sin);
		}
	}
	if (getnameinfo(sa, salen, c->peer_addr, sizeof(c->peer_addr), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(c->peer_addr, sizeof(c->peer_addr), "?");
		return;
	}
	c->peer_port = (int)strtol(serv, NULL, 10);
}

static void
conn_nodelay(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		log_warn("%s: TCP_NODELAY", __func__);
}

struct conn *
conn_connect(struct event_base *base, struct tlsctx *ctx,
    const struct sockaddr *sa, socklen_t salen, size_t max_frame,
    double handshake_timeout, const struct conn_cbs *cbs, void *arg)
{
	return conn_connect_from(base, ctx, NULL, 0, sa, salen, max_frame,
	    handshake_timeout, cbs, arg);
}

/*
 * Bind the source address first (port 0: chosen at connect time, so
 * the 4-tuple, not the address alone, must be unique).
 */
static int
conn_bind_src(int fd, const struct sockaddr *src, socklen_t srclen)
{
#ifdef IP_BIND_ADDRESS_NO_PORT
	int one = 1;

	if (src->sa_family == AF_INET)
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
#endif
	return bind(fd, src, srclen);
}

struct conn *
conn_connect_from(struct event_base *base, struct tlsctx *ctx,
    const struct sockaddr *src, socklen_t srclen, const struct sockaddr *sa,
    socklen_t salen, size_t max_frame, double handshake_timeout,
    const struct conn_cbs *cbs, void *arg)
{
	struct conn *c;
	int fd;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		log_warn("%s: socket", __func__);
		return NULL;
	}
	if (src != NULL && conn_bind_src(fd, src, srclen) != 0) {
		log_warn("%s: bind", __func__);
		close(fd);
		return NULL;
	}
	conn_nodelay(fd);
	c = conn_new(base, ctx, fd, false, max_frame, handshake_timeout, cbs,
	    arg);
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	conn_set_peer(c, sa, salen);
	c->state = CONN_CONNECTING;
	if (connect(fd, sa, salen) == 0 || errno == EINPROGRESS ||
	    errno == EINTR)
		event_add(c->wev, NULL);
	else {
		c->connect_errno = errno;	/* reported from the loop */
		conn_schedule(c);
	}
	log_debug("%s: %s port %d", __func__, c->peer_addr, c->peer_port);
	return c;
}

/* Take a connected socket (made non-blocking here) as TLS server or client. */
static struct conn *
conn_adopt(struct event_base *base, struct tlsctx *ctx, int fd, bool server,
    const struct sockaddr *sa, socklen_t salen, size_t max_frame,
    double handshake_timeout, const struct conn_cbs *cbs, void *arg)
{
	struct conn *c;
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		log_warn("%s: fcntl", __func__);
		close(fd);
		return NULL;
	}
	conn_nodelay(fd);
	c = conn_new(base, ctx, fd, server, max_frame, handshake_timeout, cbs,
	    arg);
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	conn_set_peer(c, sa, salen);
	c->state = CONN_HANDSHAKE;
	conn_read_ctl(c);
	if (!server)
		conn_schedule_handshake(c);
	log_debug("%s: %s port %d (%s)", __func__, c->peer_addr, c->peer_port,
	    server ? "server" : "client");
	return c;
}

struct conn *
conn_accept(struct event_base *base, struct tlsctx *ctx, int fd,
    const struct sockaddr *sa, socklen_t salen, size_t max_frame,
    double handshake_timeout, const struct conn_cbs *cbs, void *arg)
{
	return conn_adopt(base, ctx, fd, true, sa, salen, max_frame,
	    handshake_timeout, cbs, arg);
}

struct conn *
conn_client_fd(struct event_base *base, struct tlsctx *ctx, int fd,
    const struct sockaddr *sa, socklen_t salen, size_t max_frame,
    double handshake_timeout, const struct conn_cbs *cbs, void *arg)
{
	return conn_adopt(base, ctx, fd, false, sa, salen, max_frame,
	    handshake_timeout, cbs, arg);
}
