/*
 * The seal of the cluster's notifications. Any role that may connect to
 * the database may NOTIFY the channel, so every notification is sealed
 * (gpg_seal: an HMAC-SHA256 under the cluster's key, a per-sender counter
 * and a time) and a receiver drops what it cannot verify or saw before
 * (gpg_unseal). The key is cluster.key_file's, else the one the listener
 * reads from p2pchat_cluster_key (gpg_key_result). Nothing here touches
 * a connection.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gstore_pg.h"
#include "log.h"
#include "util.h"

/*
 * cluster.key_file: a secret every gestor of the cluster has the same copy
 * of, owned by this user or root and closed to group and others (0600 or
 * 0400), at least 32 bytes (trailing white space ignored); the key is its
 * SHA-256. 0: none configured (path ""); 1: key set; -1 with *cause.
 */
int
gpg_key_file(const char *path, unsigned char key[GPG_KEY_LEN], char **cause)
{
	unsigned char buf[4097];
	struct stat st;
	ssize_t n = 0, r;
	int fd = -1, rc = -1;

	if (path == NULL || *path == '\0')
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    fstat(fd, &st) == -1) {
		if (asprintf(cause, "cluster.key_file %s: %s", path,
		    strerror(errno)) < 0)
			*cause = NULL;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & 077) != 0) {
		if (asprintf(cause, "cluster.key_file %s: must be a file owned by "
		    "this user or root with mode 0600 or 0400 (it is mode %03o, "
		    "uid %u)", path, (unsigned)(st.st_mode & 07777),
		    (unsigned)st.st_uid) < 0)
			*cause = NULL;
		goto out;
	}
	while ((size_t)n < sizeof(buf) && (r = read(fd, buf + n,
	    sizeof(buf) - (size_t)n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			/* Not a prefix of the key: another key than the others'. */
			if (asprintf(cause, "cluster.key_file %s: %s", path,
			    strerror(errno)) < 0)
				*cause = NULL;
			goto out;
		}
		n += r;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	if (n < 32 || (size_t)n >= sizeof(buf)) {
		if (asprintf(cause, "cluster.key_file %s: must hold 32 to 4096 "
		    "bytes of secret (e.g. head -c 32 /dev/urandom | base64)",
		    path) < 0)
			*cause = NULL;
		goto out;
	}
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, (size_t)n, key) < 0) {
		if (asprintf(cause, "cluster.key_file %s: cannot hash it", path)
		    < 0)
			*cause = NULL;
		goto out;
	}
	rc = 1;
out:
	util_zero(buf, sizeof(buf));
	if (fd != -1)
		close(fd);
	return rc;
}

/* 0, or -1 if gnutls could not compute it (mac is then no MAC at all). */
static int
mac_of(const struct gpg *pg, const char *text, size_t len,
    unsigned char mac[32])
{
	return gnutls_hmac_fast(GNUTLS_MAC_SHA256, pg->key, sizeof(pg->key),
	    text, len, mac) < 0 ? -1 : 0;
}

char *
gpg_seal(struct gpg *pg, json_t *o)
{
	unsigned char mac[32];
	struct timeval tv;
	char *text, *out;
	size_t len;

	if (!pg->have_key)
		return NULL;
	if (pg->seq == 0) {
		/* Above every n an earlier life of this gestor sent. */
		gettimeofday(&tv, NULL);
		pg->seq = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
	}
	json_object_set_new(o, "origin", json_string(pg->self));
	json_object_set_new(o, "n", json_integer((json_int_t)++pg->seq));
	json_object_set_new(o, "ts", json_integer((json_int_t)time(NULL)));
	if ((text = json_dumps(o, JSON_COMPACT)) == NULL)
		return NULL;
	len = strlen(text);
	if (GPG_MAC_HEX + 1 + len > GPG_PAYLOAD_MAX) {
		free(text);
		return NULL;
	}
	if (mac_of(pg, text, len, mac) == -1) {
		free(text);
		return NULL;
	}
	out = xmalloc(GPG_MAC_HEX + 1 + len + 1);
	util_hex(mac, sizeof(mac), out);
	out[GPG_MAC_HEX] = ' ';
	memcpy(out + GPG_MAC_HEX + 1, text, len + 1);
	free(text);
	return out;
}

/* A JSON array of sealed payloads for the notify statement (a: objects). */
char *
gpg_seal_all(struct gpg *pg, json_t *a)
{
	json_t *out = json_array(), *o;
	char *p, *text;
	size_t i;

	json_array_foreach(a, i, o) {
		if (!json_is_object(o) || (p = gpg_seal(pg, o)) == NULL)
			continue;
		json_array_append_new(out, json_string(p));
		free(p);
	}
	text = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return text;
}

void
gpg_seal_op(struct gpg *pg, struct gstore_op *op)
{
	json_t *o, *a;

	if (op->kind == GOP_PRESENCE) {
		free(op->priv);
		o = json_pack("{s:s,s:s,s:b}", "t", "presence", "user",
		    op->u.name, "online", op->presence != GSTORE_OFFLINE);
		op->priv = o != NULL ? gpg_seal(pg, o) : NULL;
		json_decref(o);
		if (op->priv == NULL)
			op->priv = xstrdup("");		/* no key yet: none */
	} else if (op->kind == GOP_NOTIFY && op->priv != NULL) {
		a = json_loads(op->priv, 0, NULL);
		if (json_is_string(json_array_get(a, 0))) {
			json_decref(a);		/* sealed already (sent again) */
			return;
		}
		free(op->priv);
		op->priv = a != NULL ? gpg_seal_all(pg, a) : NULL;
		json_decref(a);
		if (op->priv == NULL)
			op->priv = xstrdup("[]");
	}
}

/* A dropped notification: logged once a minute at most, with a count. */
static void
refuse(struct gpg *pg, const char *why)
{
	double now = util_mono();

	pg->refused++;
	if (pg->refused_logged != 0 && now - pg->refused_logged < 60)
		return;
	pg->refused_logged = now;
	log_warnx("gstore_pg: dropped a notification on channel \"%s\": %s "
	    "(not from a gestor of this cluster, or replayed; %lu dropped "
	    "so far)", GPG_CHANNEL, why, pg->refused);
}

/* Seen before (or too old) from this origin? Else remember n. */
static bool
replayed(struct gpg *pg, const char *origin, uint64_t n)
{
	struct gpg_origin *o = NULL, *old = &pg->origins[0];
	uint64_t v;
	size_t i;

	for (i = 0; i < GPG_ORIGINS; i++) {
		if (strcmp(pg->origins[i].name, origin) == 0) {
			o = &pg->origins[i];
			break;
		}
		if (pg->origins[i].used < old->used)
			old = &pg->origins[i];
	}
	if (o == NULL) {
		o = old;		/* the least recently heard from */
		memset(o, 0, sizeof(*o));
		snprintf(o->name, sizeof(o->name), "%s", origin);
		o->top = n - 1;
	}
	o->used = util_mono();
	if (n > o->top) {
		if (n - o->top >= GPG_WINDOW)
			memset(o->seen, 0, sizeof(o->seen));
		else
			for (v = o->top + 1; v < n; v++)
				o->seen[v % GPG_WINDOW / 64] &=
				    ~((uint64_t)1 << (v % 64));
		o->top = n;
	} else if (o->top - n >= GPG_WINDOW)
		return true;
	else if (o->seen[n % GPG_WINDOW / 64] & ((uint64_t)1 << (n % 64)))
		return true;
	o->seen[n % GPG_WINDOW / 64] |= (uint64_t)1 << (n % 64);
	return false;
}

/* The notification in payload if it is sealed, fresh and new; else NULL. */
json_t *
gpg_unseal(struct gpg *pg, const char *payload)
{
	unsigned char want[32], got[32], diff = 0;
	size_t len = strlen(payload), i;
	const char *origin;
	json_int_t n, ts, now = (json_int_t)time(NULL);
	json_t *o;

	if (len == 0)
		return NULL;		/* sent before the sender had the key */
	if (!pg->have_key) {
		refuse(pg, "this gestor has not read the cluster's key yet");
		return NULL;
	}
	if (len > GPG_PAYLOAD_MAX || len < GPG_MAC_HEX + 2 ||
	    payload[GPG_MAC_HEX] != ' ' || util_unhex(payload, got, 32) == -1) {
		refuse(pg, "not sealed");
		return NULL;
	}
	if (mac_of(pg, payload + GPG_MAC_HEX + 1, len - GPG_MAC_HEX - 1,
	    want) == -1) {
		refuse(pg, "its MAC could not be computed");
		return NULL;
	}
	for (i = 0; i < 32; i++)
		diff |= (unsigned char)(want[i] ^ got[i]);
	if (diff != 0) {
		refuse(pg, "a wrong MAC");
		return NULL;
	}
	o = json_loads(payload + GPG_MAC_HEX + 1, JSON_REJECT_DUPLICATES, NULL);
	origin = json_string_value(json_object_get(o, "origin"));
	n = json_integer_value(json_object_get(o, "n"));
	ts = json_integer_value(json_object_get(o, "ts"));
	if (!json_is_object(o) || origin == NULL || strlen(origin) >= 64 ||
	    !json_is_string(json_object_get(o, "t")) || n <= 0) {
		refuse(pg, "malformed");
		json_decref(o);
		return NULL;
	}
	if (ts < now - GPG_SKEW || ts > now + GPG_SKEW) {
		refuse(pg, "too old or from the future (clocks more than 60 s "
		    "apart?)");
		json_decref(o);
		return NULL;
	}
	if (replayed(pg, origin, (uint64_t)n)) {
		refuse(pg, "replayed");
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The listener's set-up read the cluster's key (64 hex digits). */
void
gpg_key_result(struct gpg *pg, PGresult *res)
{
	const char *k = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
	unsigned int b;
	size_t i;

	if (pg->key_fixed)
		return;			/* cluster.key_file's */
	if (strlen(k) != 2 * GPG_KEY_LEN) {
		log_warnx("gstore_pg: the cluster's key (p2pchat_cluster_key) is "
		    "missing or malformed: notifications are neither sent nor "
		    "accepted");
		return;
	}
	for (i = 0; i < GPG_KEY_LEN; i++) {
		if (sscanf(k + 2 * i, "%2x", &b) != 1)
			return;
		pg->key[i] = (unsigned char)b;
	}
	pg->have_key = true;
}
