/*
 * TCP listeners. Addresses are numeric (no name lookups at start-up);
 * "*" means every IPv4 address and "localhost" means 127.0.0.1.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "listener.h"

struct evconnlistener *
listener_open(struct event_base *base, const char *hostport, int default_port,
    evconnlistener_cb cb, void *arg, char *bound, size_t boundlen, char **cause)
{
	struct sockaddr_storage ss;
	struct evconnlistener *l;
	char host[256], text[300];
	int port, sslen = sizeof(ss);

	*cause = NULL;
	if (config_split_hostport(hostport, host, sizeof(host), &port,
	    default_port) == -1)
		goto bad;
	if (strcmp(host, "*") == 0)
		strcpy(host, "0.0.0.0");
	else if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	snprintf(text, sizeof(text), strchr(host, ':') ? "[%s]:%d" : "%s:%d",
	    host, port);
	memset(&ss, 0, sizeof(ss));
	if (evutil_parse_sockaddr_port(text, (struct sockaddr *)&ss, &sslen) == -1)
		goto bad;
	l = evconnlistener_new_bind(base, cb, arg, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 128,
	    (struct sockaddr *)&ss, sslen);
	if (l == NULL) {
		if (asprintf(cause, "cannot listen on %s: %s", hostport,
		    strerror(errno)) < 0)
			*cause = NULL;
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
