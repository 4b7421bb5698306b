/*
 * Where configuration lives and how addresses read: the lookup of the
 * file p2pchatd and p2pchatctl read, the runtime directory of the default
 * control socket, the permission check of a file, host:port parsing.
 * The schema and the loading loop are config.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_int.h"
#include "proto.h"
#include "util.h"

char *
config_path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *p = malloc(n);

	if (p == NULL)
		abort();
	snprintf(p, n, "%s%s", a, b);
	return p;
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

char *
config_find(void)
{
	const char *env = getenv("P2PCHAT_CONFIG");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *p;

	if (env != NULL && *env != '\0')
		return xstrdup(env);
	if (xdg != NULL && *xdg != '\0')
		p = config_path_join(xdg, "/p2pchat/p2pchatd.conf");
	else if (home != NULL && *home != '\0')
		p = config_path_join(home, "/.config/p2pchat/p2pchatd.conf");
	else
		p = NULL;
	if (p != NULL && file_exists(p))
		return p;
	free(p);
	if (file_exists("/etc/p2pchat/p2pchatd.conf"))
		return xstrdup("/etc/p2pchat/p2pchatd.conf");
	return NULL;
}

int
config_split_hostport(const char *s, char *host, size_t hostlen, int *port,
    int default_port)
{
	const char *colon, *h = s;
	size_t hl;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL)
			return -1;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon)
			return -1;	/* bare IPv6 needs brackets */
		hl = colon != NULL ? (size_t)(colon - s) : strlen(s);
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon == NULL) {
		*port = default_port;
		return 0;
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || strspn(colon + 1, "0123456789") !=
	    strlen(colon + 1) || *end != '\0' || errno != 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

/* "host:99999": the port's digits when they are past 65535, else NULL. */
static const char *
port_out_of_range(const char *v)
{
	const char *rb = strrchr(v, ']'), *colon = strrchr(rb != NULL ? rb : v,
	    ':');

	if (colon == NULL || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return NULL;
	if (strlen(colon + 1) <= 5 && strtol(colon + 1, NULL, 10) <= 65535)
		return NULL;
	return colon + 1;
}

const char *
config_address_error(const char *v, const char *shape)
{
	static char msg[128];
	const char *port = port_out_of_range(v);

	if (port == NULL)
		return shape;
	snprintf(msg, sizeof(msg), "port %.20s%s is out of range (1 to 65535, "
	    "or 0 for any)", port, strlen(port) > 20 ? "..." : "");
	return msg;
}

/*
 * relay.listen's default: the gestor's listen host, port 7002 (port 0,
 * any, when listen's port is 0, so test gestors never collide).
 */
char *
config_relay_default(const char *listen)
{
	char host[256], buf[300];
	int port;

	if (config_split_hostport(listen, host, sizeof(host), &port, 0) == -1)
		return xstrdup("0.0.0.0:7002");
	snprintf(buf, sizeof(buf), strchr(host, ':') ? "[%s]:%d" : "%s:%d",
	    host, port == 0 ? 0 : P2P_DEFAULT_RELAY_PORT);
	return xstrdup(buf);
}

/*
 * $XDG_RUNTIME_DIR, else /run/user/UID when it exists and is ours (what
 * systemd gives a user session): cron's empty environment and a login
 * shell then find the same socket. NULL if neither.
 */
char *
config_runtime_dir(void)
{
	const char *xdg_run = getenv("XDG_RUNTIME_DIR");
	char path[64];
	struct stat st;

	if (xdg_run != NULL && *xdg_run != '\0')
		return xstrdup(xdg_run);
	snprintf(path, sizeof(path), "/run/user/%u", (unsigned)geteuid());
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid())
		return xstrdup(path);
	return NULL;
}

int
config_check_perms(const char *file, char *err, size_t errlen)
{
	struct stat st;

	if (file == NULL)
		return 0;
	if (stat(file, &st) == -1) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", file);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen, "%s is owned by uid %u; it must belong to "
		    "uid %u (this daemon) or root", file, (unsigned)st.st_uid,
		    (unsigned)geteuid());
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH | S_IROTH)) != 0) {
		snprintf(err, errlen, "%s has mode %04o: other users may %s it; "
		    "p2pchatd refuses it (chmod 600 %s)", file,
		    (unsigned)(st.st_mode & 07777),
		    (st.st_mode & (S_IWGRP | S_IWOTH)) ? "change" : "read", file);
		return -1;
	}
	return 0;
}
