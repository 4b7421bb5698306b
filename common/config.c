/*
 * Configuration loading. The schema table (config_schema.c) is the whole
 * grammar: each key has a type, an offset into struct config and a
 * range. One loop walks the file, so an unknown key, a wrong type or a
 * value out of range is reported as "file:line - key: text" and nothing
 * is half-applied; then the defaults that depend on other settings and
 * the rules between keys (finish).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

#include "config.h"
#include "config_int.h"
#include "proto.h"
#include "util.h"
#include "valid.h"

static const struct key *
schema_find(const char *path)
{
	size_t i;

	for (i = 0; i < config_schema_len; i++)
		if (strcmp(config_schema[i].path, path) == 0)
			return &config_schema[i];
	return NULL;
}

static int
fail(char *err, size_t errlen, const char *file, config_setting_t *s,
    const char *path, const char *text)
{
	snprintf(err, errlen, "%s:%d - %s: %s", file,
	    s != NULL ? config_setting_source_line(s) : 0, path, text);
	return -1;
}

static int
set_string_list(struct config *c, const struct key *k, config_setting_t *s,
    const char *file, char *err, size_t errlen)
{
	int i, n = config_setting_length(s);
	char ***lp = (char ***)((char *)c + k->off);

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		return fail(err, errlen, file, s, k->path,
		    "must be a list of \"host:port\" strings");
	if (n > 64)
		return fail(err, errlen, file, s, k->path, "more than 64 entries");
	if (n == 0)
		return fail(err, errlen, file, s, k->path,
		    "must name at least one gestor");
	*lp = calloc((size_t)n + 1, sizeof(char *));
	if (*lp == NULL)
		abort();
	for (i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = config_setting_get_string(e);
		char host[256];
		int port;

		if (v == NULL || config_split_hostport(v, host, sizeof(host),
		    &port, P2P_DEFAULT_GESTOR_PORT) == -1)
			return fail(err, errlen, file, s, k->path, v == NULL ?
			    "entries must be \"host:port\" strings" :
			    config_address_error(v, "entries must be \"host:port\" "
			    "strings"));
		(*lp)[i] = xstrdup(v);
	}
	c->n_gestor_addresses = (size_t)n;
	return 0;
}

static int
get_number(config_setting_t *s, double *out)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		*out = config_setting_get_int(s);
		return 0;
	case CONFIG_TYPE_INT64:
		*out = (double)config_setting_get_int64(s);
		return 0;
	case CONFIG_TYPE_FLOAT:
		*out = config_setting_get_float(s);
		return 0;
	default:
		return -1;
	}
}

/* What is wrong with the string value v of a key of type t, or NULL. */
static const char *
check_string(enum ktype t, const char *v)
{
	char host[256];
	int port;

	switch (t) {
	case K_ADDR:
		if (*v != '\0' && config_split_hostport(v, host, sizeof(host),
		    &port, 0) == -1)
			return config_address_error(v, "must be \"\" or \"address:port\"");
		break;
	case K_FP:
		if (*v != '\0' && !valid_fingerprint(v))
			return "must be \"\" or \"sha256:\" and 64 lowercase hex digits";
		break;
	case K_SOCK:
		if (strlen(v) >= 108)
			return "path longer than a Unix socket allows (107 bytes)";
		break;
	case K_BACKEND:
		if (strcmp(v, "sqlite") != 0 && strcmp(v, "postgresql") != 0)
			return "must be \"sqlite\" or \"postgresql\"";
		break;
	case K_CONNINFO:
		if (strlen(v) > 4096)
			return "longer than 4096 bytes";
		break;
	case K_CLUSTER:
		if (strlen(v) > 63 || strspn(v, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-[]") != strlen(v))
			return "must be at most 63 letters, digits and ._:-[]";
		break;
	default:
		break;
	}
	return NULL;
}

/* Apply one scalar setting described by k. */
static int
apply(struct config *c, const struct key *k, config_setting_t *s,
    const char *file, char *err, size_t errlen)
{
	void *dst = (char *)c + k->off;
	const char *str = config_setting_get_string(s), *why;
	char msg[128];
	double d;

	switch (k->type) {
	case K_GROUP:
		if (config_setting_type(s) != CONFIG_TYPE_GROUP)
			return fail(err, errlen, file, s, k->path, "must be a group { ... }");
		return 0;
	case K_LIST:
		return set_string_list(c, k, s, file, err, errlen);
	case K_STR:
	case K_ADDR:
	case K_FP:
	case K_SOCK:
	case K_BACKEND:
	case K_CONNINFO:
	case K_CLUSTER:
		if (str == NULL)
			return fail(err, errlen, file, s, k->path, "must be a string");
		if ((why = check_string(k->type, str)) != NULL)
			return fail(err, errlen, file, s, k->path, why);
		free(*(char **)dst);
		*(char **)dst = xstrdup(str);
		return 0;
	case K_MODE:
		if (str == NULL || (strcmp(str, "peer") && strcmp(str, "gestor")))
			return fail(err, errlen, file, s, k->path,
			    "must be \"peer\" or \"gestor\"");
		c->mode = strcmp(str, "peer") == 0 ? MODE_PEER : MODE_GESTOR;
		return 0;
	case K_LEVEL:
		if (str == NULL || (!strcmp(str, "error") ? (c->log_level = 0, 0) :
		    !strcmp(str, "warn") ? (c->log_level = 1, 0) :
		    !strcmp(str, "info") ? (c->log_level = 2, 0) :
		    !strcmp(str, "debug") ? (c->log_level = 3, 0) : 1))
			return fail(err, errlen, file, s, k->path,
			    "must be \"error\", \"warn\", \"info\" or \"debug\"");
		return 0;
	case K_ADV:
		if (str == NULL || (!strcmp(str, "no") ? (c->accept_advertise =
		    ADV_NO, 0) : !strcmp(str, "addresses") ? (c->accept_advertise =
		    ADV_ADDRESSES, 0) : !strcmp(str, "names") ?
		    (c->accept_advertise = ADV_NAMES, 0) : 1))
			return fail(err, errlen, file, s, k->path,
			    "must be \"no\", \"addresses\" or \"names\"");
		return 0;
	case K_SYNC:
		if (str == NULL || (strcmp(str, "full") && strcmp(str, "normal")))
			return fail(err, errlen, file, s, k->path,
			    "must be \"full\" or \"normal\"");
		c->sync_full = strcmp(str, "full") == 0;
		return 0;
	case K_RELAY_USE:
		if (str == NULL || (!strcmp(str, "auto") ? (c->relay_use =
		    RELAY_AUTO, 0) : !strcmp(str, "always") ? (c->relay_use =
		    RELAY_ALWAYS, 0) : !strcmp(str, "never") ? (c->relay_use =
		    RELAY_NEVER, 0) : 1))
			return fail(err, errlen, file, s, k->path,
			    "must be \"auto\", \"always\" or \"never\"");
		return 0;
	case K_MAIL_USE:
		if (str == NULL || (strcmp(str, "auto") && strcmp(str, "never")))
			return fail(err, errlen, file, s, k->path,
			    "must be \"auto\" or \"never\"");
		c->mail_use = strcmp(str, "auto") == 0;
		return 0;
	case K_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return fail(err, errlen, file, s, k->path,
			    "must be true or false");
		*(bool *)dst = config_setting_get_bool(s) != 0;
		return 0;
	case K_DOUBLE:
	case K_LONG:
	case K_INT64:
		if (get_number(s, &d) == -1 || !isfinite(d))
			return fail(err, errlen, file, s, k->path, "must be a number");
		if (k->type != K_DOUBLE &&
		    config_setting_type(s) == CONFIG_TYPE_FLOAT)
			return fail(err, errlen, file, s, k->path, "must be an integer");
		if (d < k->min || d > k->max) {
			snprintf(msg, sizeof(msg), "must be between %g and %g",
			    k->min, k->max);
			return fail(err, errlen, file, s, k->path, msg);
		}
		if (k->type == K_DOUBLE)
			*(double *)dst = d;
		else if (k->type == K_INT64)	/* byte counts past 2^31 */
			*(int64_t *)dst = (int64_t)d;
		else
			*(long *)dst = (long)d;
		return 0;
	}
	return 0;
}

/* "unknown key", with the schema key it is probably a typo of. */
static int
fail_unknown(char *err, size_t errlen, const char *file, config_setting_t *s,
    const char *path)
{
	const char *names[config_schema_len];
	const char *near;
	char text[160];
	size_t i;

	for (i = 0; i < config_schema_len; i++)
		names[i] = config_schema[i].path;
	near = util_closest(path, names, config_schema_len);
	if (near != NULL)
		snprintf(text, sizeof(text), "unknown key (did you mean '%s'?)",
		    near);
	else
		snprintf(text, sizeof(text), "unknown key");
	return fail(err, errlen, file, s, path, text);
}

/* The keys without which p2pchatctl cannot find the control socket. */
static bool
socket_key(const char *path)
{
	return strcmp(path, "control_socket") == 0 ||
	    strcmp(path, "data_dir") == 0;
}

/*
 * Walk a group: every member must be in the schema. Lenient (warn not
 * NULL, for p2pchatctl): a bad key other than the socket's is skipped,
 * the first such error kept in warn.
 */
static int
walk(struct config *c, config_setting_t *group, const char *prefix,
    const char *file, char *err, size_t errlen, char *warn, size_t warnlen)
{
	int i, n = config_setting_length(group);

	for (i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		char path[128];
		const struct key *k;

		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    *prefix ? "." : "", name != NULL ? name : "?");
		if (((k = schema_find(path)) == NULL ?
		    fail_unknown(err, errlen, file, s, path) :
		    apply(c, k, s, file, err, errlen)) == -1) {
			if (warn == NULL || socket_key(path))
				return -1;
			if (*warn == '\0')
				snprintf(warn, warnlen, "%s", err);
			continue;
		}
		if (k->type == K_GROUP && walk(c, s, path, file, err, errlen,
		    warn, warnlen) == -1)
			return -1;
	}
	return 0;
}

/* A cross-key rule broken: an error, or for p2pchatctl a warning. */
static int
rule(char *err, size_t errlen, char *warn, size_t warnlen, const char *file,
    const char *path, const char *text)
{
	fail(err, errlen, file, NULL, path, text);
	if (warn == NULL)
		return -1;
	if (*warn == '\0')
		snprintf(warn, warnlen, "%s", err);
	return 0;
}

/* Fill defaults that depend on other settings and check cross-key rules. */
static int
finish(struct config *c, const char *file, char *err, size_t errlen,
    char *warn, size_t warnlen)
{
	const char *xdg_data = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	const char *why;
	char *run;

	if (c->data_dir == NULL || *c->data_dir == '\0') {
		free(c->data_dir);
		if (xdg_data != NULL && *xdg_data != '\0')
			c->data_dir = config_path_join(xdg_data, "/p2pchat");
		else if (home != NULL && *home != '\0')
			c->data_dir = config_path_join(home, "/.local/share/p2pchat");
		else
			c->data_dir = xstrdup("/var/lib/p2pchat");
	}
	if (c->control_socket == NULL || *c->control_socket == '\0') {
		free(c->control_socket);
		if ((run = config_runtime_dir()) != NULL)
			c->control_socket = config_path_join(run, "/p2pchat/ctl.sock");
		else
			c->control_socket = config_path_join(c->data_dir, "/ctl.sock");
		free(run);
	}
	if (c->listen == NULL || *c->listen == '\0') {
		free(c->listen);
		/* A peer without a port tries 7001, else any (see peer.c). */
		c->listen = xstrdup(c->mode == MODE_GESTOR ? "0.0.0.0:7000" :
		    "0.0.0.0");
	}
	if (c->advertise == NULL)
		c->advertise = xstrdup("");
	if (c->relay_listen == NULL)
		c->relay_listen = config_relay_default(c->listen);
	if (c->relay_advertise == NULL)
		c->relay_advertise = xstrdup("");
	if (c->gestor_fingerprint == NULL)
		c->gestor_fingerprint = xstrdup("");
	if (c->storage_backend == NULL)
		c->storage_backend = xstrdup("sqlite");
	if (c->storage_conninfo == NULL)
		c->storage_conninfo = xstrdup("");
	if (c->cluster_name == NULL)
		c->cluster_name = xstrdup("");
	if (c->cluster_key_file == NULL)
		c->cluster_key_file = xstrdup("");
	if (c->metrics_listen == NULL)
		c->metrics_listen = xstrdup("");
	if (c->gestor_addresses == NULL) {
		c->gestor_addresses = calloc(2, sizeof(char *));
		if (c->gestor_addresses == NULL)
			abort();
		c->gestor_addresses[0] = xstrdup("localhost:7000");
		c->n_gestor_addresses = 1;
	}
	file = file != NULL ? file : "(defaults)";
	if (c->hb_timeout <= c->hb_interval &&
	    rule(err, errlen, warn, warnlen, file, "heartbeat.timeout",
	    "must be greater than heartbeat.interval") == -1)
		return -1;
	if (c->retry_max < c->retry_initial &&
	    rule(err, errlen, warn, warnlen, file, "retry.max",
	    "must be at least retry.initial") == -1)
		return -1;
	/* The ceiling defaults to 10 addresses' worth, at least 50. */
	if (c->login_attempts_per_user == 0)
		c->login_attempts_per_user = c->login_attempts_per_minute > 5 ?
		    10 * c->login_attempts_per_minute : 50;
	if (c->login_attempts_per_user <= c->login_attempts_per_minute &&
	    rule(err, errlen, warn, warnlen, file,
	    "limits.login_attempts_per_user_per_minute",
	    "must be greater than limits.login_attempts_per_minute") == -1)
		return -1;
	if (c->max_message_bytes + 4096 > c->max_frame_bytes &&
	    rule(err, errlen, warn, warnlen, file, "limits.max_message_bytes",
	    "must leave 4096 bytes of room below limits.max_frame_bytes") == -1)
		return -1;
	if (strcmp(c->storage_backend, "postgresql") == 0 &&
	    *c->storage_conninfo == '\0' &&
	    rule(err, errlen, warn, warnlen, file, "storage.conninfo",
	    "must be set when storage.backend is \"postgresql\"") == -1)
		return -1;
	/* A socket path from the file was checked; a default may be too long. */
	if ((why = check_string(K_SOCK, c->control_socket)) != NULL)
		return fail(err, errlen, file, NULL, "control_socket", why);
	return 0;
}

static struct config *
load(const char *file, int mode, char *err, size_t errlen, char *warn,
    size_t warnlen)
{
	struct config *c;
	char *found = NULL;
	config_t cf;
	int rc = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		abort();
	config_set_defaults(c);
	if (file == NULL)
		file = found = config_find();
	if (file != NULL) {
		config_init(&cf);
		if (config_scan_ints(file, err, errlen) == -1) {
			if (warn != NULL && *warn == '\0')
				snprintf(warn, warnlen, "%s", err);
			if (warn == NULL)
				rc = -1;
		}
		if (rc == -1)
			;	/* a number libconfig would misread */
		else if (config_read_file(&cf, file) != CONFIG_TRUE) {
			if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
				snprintf(err, errlen, "%s: cannot read: %s", file,
				    strerror(errno != 0 ? errno : ENOENT));
			else
				snprintf(err, errlen, "%s:%d - %s",
				    config_error_file(&cf) ? config_error_file(&cf) : file,
				    config_error_line(&cf), config_error_text(&cf));
			rc = -1;
		} else
			rc = walk(c, config_root_setting(&cf), "", file, err, errlen,
			    warn, warnlen);
		config_destroy(&cf);
		c->path = xstrdup(file);
	}
	if (rc == 0 && mode != CONFIG_MODE_DEFAULT)
		c->mode = (enum p2p_mode)mode;
	if (rc == 0)
		rc = finish(c, file, err, errlen, warn, warnlen);
	free(found);
	if (rc == -1) {
		config_free(c);
		return NULL;
	}
	return c;
}

struct config *
config_load(const char *file, int mode, char *err, size_t errlen)
{
	return load(file, mode, err, errlen, NULL, 0);
}

struct config *
config_load_lenient(const char *file, char *warn, size_t warnlen, char *err,
    size_t errlen)
{
	*warn = '\0';
	return load(file, CONFIG_MODE_DEFAULT, err, errlen, warn, warnlen);
}

void
config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->data_dir);
	free(c->control_socket);
	free(c->listen);
	free(c->advertise);
	free(c->relay_listen);
	free(c->metrics_listen);
	free(c->relay_advertise);
	for (i = 0; c->gestor_addresses != NULL && c->gestor_addresses[i]; i++)
		free(c->gestor_addresses[i]);
	free(c->gestor_addresses);
	free(c->gestor_fingerprint);
	free(c->storage_backend);
	if (c->storage_conninfo != NULL)	/* it may hold a password */
		util_zero(c->storage_conninfo, strlen(c->storage_conninfo));
	free(c->storage_conninfo);
	free(c->cluster_name);
	free(c->cluster_key_file);
	free(c);
}
