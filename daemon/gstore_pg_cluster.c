/*
 * The PostgreSQL store's side of the cluster, on its listener connection:
 * the lease (renewed with this gestor's presence rows in one statement per
 * heartbeat.interval, then the reap of lapsed gestors), the reconcile after
 * a reconnect, the notifications other gestors send (typed JSON payloads
 * on channel p2pchat) and the ones this gestor sends, and the goodbye at a
 * clean stop (its users offline at once, its lease ended).
 *
 * Any role that may connect to the database may NOTIFY the channel, so
 * every notification is sealed (gpg_seal: an HMAC-SHA256 under the
 * cluster's key, a per-sender counter and a time) and a receiver drops
 * what it cannot verify or saw before. Even then a notification is only
 * a hint: {t, user, online} for presence, and the gestor reads the rows
 * before it tells anyone anything (gestor_cluster.c).
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gstore_pg.h"
#include "log.h"
#include "util.h"

#define GPG_BYE_WAIT		1000	/* ms for the last statement at close */

/* A presence hint {t,user,online[,owner,reaped_by]} into a. */
static void
hint_add(json_t *a, const char *user, bool online, const char *owner,
    const char *reaped_by)
{
	json_t *o = json_pack("{s:s,s:s,s:b}", "t", "presence", "user", user,
	    "online", online);

	if (o == NULL)
		return;
	if (owner != NULL)
		json_object_set_new(o, "owner", json_string(owner));
	if (reaped_by != NULL)
		json_object_set_new(o, "reaped_by", json_string(reaped_by));
	json_array_append_new(a, o);
}

/*
 * Rows of the reconcile, (name, what): "taken" (another live gestor holds
 * the user now: our session ends), "gone" (our row went: offline), "up"
 * (our row was written: online); the others hear of the last two.
 */
void
gpg_reconcile_result(struct gpconn *c, PGresult *res)
{
	struct gpg *pg = c->pg;
	json_t *n, *hints;
	const char *name, *what;
	int r;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 2) {
		gpc_log_error(c, res);
		pg->reconcile_due = true;
		return;
	}
	hints = json_array();
	for (r = 0; r < PQntuples(res); r++) {
		if (PQgetisnull(res, r, 0) || PQgetisnull(res, r, 1))
			continue;
		name = PQgetvalue(res, r, 0);
		what = PQgetvalue(res, r, 1);
		if (strcmp(what, "taken") == 0 && pg->on_notify != NULL) {
			n = json_pack("{s:s,s:s,s:s}", "t", "session", "user",
			    name, "origin", "");
			if (n != NULL)
				pg->on_notify(n, pg->arg);
			json_decref(n);
		} else if (strcmp(what, "gone") == 0 || strcmp(what, "up") == 0)
			hint_add(hints, name, what[0] == 'u', NULL, NULL);
	}
	gpg_hints_send(pg, hints);
}

/* Rows of the reap, (name, gestor): that gestor's users went offline. */
void
gpg_reap_result(struct gpconn *c, PGresult *res)
{
	struct gpg *pg = c->pg;
	json_t *hints;
	int r;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 2) {
		gpc_log_error(c, res);
		return;
	}
	hints = json_array();
	for (r = 0; r < PQntuples(res); r++)
		if (!PQgetisnull(res, r, 0) && !PQgetisnull(res, r, 1))
			hint_add(hints, PQgetvalue(res, r, 0), false,
			    PQgetvalue(res, r, 1), pg->self);
	gpg_hints_send(pg, hints);
}

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
	    sizeof(buf) - (size_t)n)) > 0)
		n += r;
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

/* ------------------------------------------------------------ sealing */

static void
mac_of(const struct gpg *pg, const char *text, size_t len,
    unsigned char mac[32])
{
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, pg->key, sizeof(pg->key), text,
	    len, mac) < 0)
		memset(mac, 0, 32);
}

char *
gpg_seal(struct gpg *pg, json_t *o)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[32];
	struct timeval tv;
	char *text, *out;
	size_t len, i;

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
	mac_of(pg, text, len, mac);
	out = xmalloc(GPG_MAC_HEX + 1 + len + 1);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[GPG_MAC_HEX] = ' ';
	memcpy(out + GPG_MAC_HEX + 1, text, len + 1);
	free(text);
	return out;
}

/* A JSON array of sealed payloads for the notify statement (a: objects). */
static char *
seal_all(struct gpg *pg, json_t *a)
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
		free(op->priv);
		op->priv = a != NULL ? seal_all(pg, a) : NULL;
		json_decref(a);
		if (op->priv == NULL)
			op->priv = xstrdup("[]");
	}
}

/* Queue one statement that sends the hints in a (objects; stolen). */
void
gpg_hints_send(struct gpg *pg, json_t *a)
{
	struct gstore_op *op;

	if (json_array_size(a) == 0) {
		json_decref(a);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->front = pg->front;
	op->gs = pg->gs;
	op->kind = GOP_NOTIFY;
	op->priv = json_dumps(a, JSON_COMPACT);	/* sealed when sent */
	json_decref(a);
	if (op->priv == NULL) {
		gstore_op_done(op, GSTORE_ERR);
		return;
	}
	gpg_start(pg, op);
}

/* ---------------------------------------------------------- receiving */

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

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : -1;
}

static int
unhex(const char *s, unsigned char *out, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if ((hi = hexval(s[2 * i])) < 0 ||
		    (lo = hexval(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
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
static json_t *
unseal(struct gpg *pg, const char *payload)
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
	    payload[GPG_MAC_HEX] != ' ' || unhex(payload, got, 32) == -1) {
		refuse(pg, "not sealed");
		return NULL;
	}
	mac_of(pg, payload + GPG_MAC_HEX + 1, len - GPG_MAC_HEX - 1, want);
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

void
gpc_notifies(struct gpconn *c)
{
	struct gpg *pg = c->pg;
	PGnotify *n;
	json_t *o;
	const char *origin, *owner;

	while ((n = PQnotifies(c->conn)) != NULL) {
		o = unseal(pg, n->extra);
		origin = json_string_value(json_object_get(o, "origin"));
		owner = json_string_value(json_object_get(o, "owner"));
		if (o == NULL)
			;
		else if (owner != NULL && strcmp(owner, pg->self) == 0 &&
		    json_is_string(json_object_get(o, "reaped_by"))) {
			/* Our lease lapsed (we were away): publish ours again. */
			if (!pg->reconcile_due)
				log_warnx("gstore_pg: gestor %s took this gestor's "
				    "lapsed presence rows; publishing them again",
				    origin);
			pg->reconcile_due = true;
		} else if ((strcmp(origin, pg->self) != 0 ||
		    json_object_get(o, "reaped_by") != NULL) &&
		    pg->on_notify != NULL)
			pg->on_notify(o, pg->arg);	/* a reap: ours too */
		json_decref(o);
		PQfreemem(n);
	}
}

static void
send_reconcile(struct gpg *pg)
{
	struct gpg_stmt st;
	json_t *s = pg->sessions != NULL ? pg->sessions(pg->arg) : NULL;
	char *text = s != NULL ? json_dumps(s, JSON_COMPACT) : NULL;

	pg->reconcile_due = false;
	gpg_reconcile_stmt(pg->self, pg->ttl, text != NULL ? text : "[]", &st);
	gpc_send(&pg->listener, GJ_RECONCILE, &st);
	free(text);
	json_decref(s);
}

/* The bye's rows (name): sealed offline hints, as notify statement text. */
static char *
bye_hints(struct gpg *pg, PGresult *res)
{
	json_t *a = json_array(), *o;
	char *text;
	int r;

	for (r = 0; r < PQntuples(res); r++) {
		o = json_pack("{s:s,s:s,s:b}", "t", "presence", "user",
		    PQgetvalue(res, r, 0), "online", false);
		if (o != NULL)
			json_array_append_new(a, o);
	}
	text = json_array_size(a) > 0 ? seal_all(pg, a) : NULL;
	json_decref(a);
	return text;
}

/*
 * Finish what the listener is doing, then write the heartbeat refreshes
 * gathered and say goodbye (bounded wait, at close): the bye returns the
 * users that went offline, and the others are told in a last statement.
 */
void
gpg_bye(struct gpg *pg)
{
	struct gpconn *c = &pg->listener;
	struct pollfd pfd;
	struct gpg_stmt st[3];
	char *seen = gpg_seen_take(pg), *hints = NULL;
	PGresult *res;
	int left = GPG_BYE_WAIT, nst = 0, sent = 0, bye;

	if (seen != NULL)
		gpg_seen_stmt(seen, &st[nst++]);
	bye = nst;
	gpg_bye_stmt(pg->self, &st[nst++]);
	if (c->state != GPC_IDLE && c->state != GPC_BUSY)
		goto out;
	pfd.fd = PQsocket(c->conn);
	pfd.events = POLLIN;
	while (left > 0) {
		if (c->state == GPC_IDLE && sent == nst)
			break;
		if (c->state == GPC_IDLE) {
			if (!PQsendQueryParams(c->conn, st[sent].sql, st[sent].n,
			    NULL, st[sent].values, NULL, NULL, 0))
				break;
			c->state = GPC_BUSY;
			c->job = GJ_NONE;
			sent++;
		}
		while (PQflush(c->conn) == 1 && left > 0) {
			poll(&(struct pollfd){ pfd.fd, POLLOUT, 0 }, 1, 10);
			left -= 10;
		}
		if (poll(&pfd, 1, 10) < 0 || !PQconsumeInput(c->conn))
			break;
		left -= 10;
		while (!PQisBusy(c->conn)) {
			if ((res = PQgetResult(c->conn)) == NULL) {
				c->state = GPC_IDLE;
				break;
			}
			if (PQresultStatus(res) != PGRES_COMMAND_OK &&
			    PQresultStatus(res) != PGRES_TUPLES_OK)
				gpc_log_error(c, res);
			else if (sent == bye + 1 && hints == NULL &&
			    PQresultStatus(res) == PGRES_TUPLES_OK &&
			    PQnfields(res) == 1 &&
			    (hints = bye_hints(pg, res)) != NULL)
				gpg_notify_stmt(hints, &st[nst++]);
			PQclear(res);
		}
	}
out:
	free(hints);
	free(seen);
}

/* msg: {"t":...}; sealed when a worker sends it. */
void
gpg_notify(void *impl, const json_t *msg)
{
	struct gpg *pg = impl;
	const char *user = json_string_value(json_object_get(msg, "user"));
	json_t *a = json_array();
	struct gstore_op *op;

	json_array_append_new(a, json_deep_copy(msg));
	op = xcalloc(1, sizeof(*op));
	op->front = pg->front;
	op->gs = pg->gs;
	op->kind = GOP_NOTIFY;
	op->priv = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (user != NULL && strlen(user) < sizeof(op->u.name))
		memcpy(op->u.name, user, strlen(user) + 1);
	if (op->priv == NULL || strlen(op->priv) > GPG_PAYLOAD_MAX -
	    GPG_MAC_HEX - 100) {
		log_warnx("gstore_pg: a notification is too long; not sent");
		gstore_op_done(op, GSTORE_ERR);
		return;
	}
	gpg_start(pg, op);
}

/* On every timer tick: reconcile when due, else renew on time. */
void
gpg_lease_tick(struct gpg *pg, double now)
{
	struct gpg_stmt st;

	if (!pg->up || pg->listener.state != GPC_IDLE)
		return;
	if (pg->reconcile_due) {
		send_reconcile(pg);
		return;
	}
	if (now >= pg->next_renew) {
		pg->next_renew = now + pg->interval;
		gpg_renew_stmt(pg->self, pg->ttl, &st);
		gpc_send(&pg->listener, GJ_RENEW, &st);
	}
}
