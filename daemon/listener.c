/*
 * TCP listeners. Addresses are numeric (no name lookups at start-up);
 * "*" means every IPv4 address and "localhost" means 127.0.0.1.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "listener.h"

/* Numeric IPv4 or IPv6 address and port (0 allowed) to a sockaddr. */
static int
to_sockaddr(const char *host, int port, struct sockaddr_storage *ss, int *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

struct evconnlistener *
listener_open(struct event_base *base, const char *hostport, int default_port,
    evconnlistener_cb cb, void *arg, char *bound, size_t boundlen, char **cause)
{
	struct sockaddr_storage ss;
	struct evconnlistener *l;
	char host[256];
	int port, sslen = sizeof(ss);

	*cause = NULL;
	if (config_split_hostport(hostport, host, sizeof(host), &port,
	    default_port) == -1)
		goto bad;
	if (strcmp(host, "*") == 0)
		strcpy(host, "0.0.0.0");
	else if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	memset(&ss, 0, sizeof(ss));
	if (to_sockaddr(host, port, &ss, &sslen) == -1)
		goto bad;
	l = evconnlistener_new_bind(base, cb, arg, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 128,
	    (struct sockaddr *)&ss, sslen);
	if (l == NULL) {
		int errnum = errno;

		if (asprintf(cause, "cannot listen on %s: %s", hostport,
		    strerror(errnum)) < 0)
			*cause = NULL;
		errno = errnum;
		return NULL;
	}
	snprintf(bound, boundlen, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
	    listener_port(l));
	return l;
bad:
	if (asprintf(cause, "listen address '%s' must be a numeric "
	    "address:port", hostport) < 0)
		*cause = NULL;
	return NULL;
}

int
listener_port(struct evconnlistener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss,
	    &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}
