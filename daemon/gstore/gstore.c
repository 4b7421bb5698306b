/*
 * The asynchronous front of the gestor's store. Every call makes an
 * operation, hands it to the backend (SQLite or PostgreSQL) and returns;
 * when the backend has the result the operation joins a queue that one
 * event drains on a later loop turn, so a callback never runs inside the
 * call that asked for it and a caller can cancel until then.
 */
#include <stdlib.h>
#include <string.h>

#include "gstore_int.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

struct gstore {
	const struct gstore_be	*be;
	void			*impl;
	struct event		*done_ev;
	TAILQ_HEAD(, gstore_op)	 done;
	struct metrics_hist	 latency;	/* asked to done, every op */
};

static void	on_done(evutil_socket_t, short, void *);
static void	op_done(struct gstore_op *, enum gstore_rc);
static void	op_free(struct gstore_op *);

/* What the backends call back (gstore_int.h). */
static const struct gstore_front front = { op_done, op_free };

static const struct gstore_be *
backend(const char *name)
{
	if (name == NULL || *name == '\0' || strcmp(name, "sqlite") == 0)
		return &gstore_sqlite_be;
#ifdef HAVE_POSTGRESQL
	if (strcmp(name, "postgresql") == 0)
		return &gstore_pg_be;
#endif
	return NULL;
}

struct gstore *
gstore_open(const struct gstore_opts *o, char **cause)
{
	struct gstore *gs = xcalloc(1, sizeof(*gs));

	*cause = NULL;
	if ((gs->be = backend(o->backend)) == NULL) {
		if (asprintf(cause, "storage.backend \"%s\" is not built into "
		    "this p2pchatd (configure --with-postgresql)", o->backend) < 0)
			*cause = NULL;
		free(gs);
		return NULL;
	}
	TAILQ_INIT(&gs->done);
	gs->done_ev = event_new(o->base, -1, 0, on_done, gs);
	if (gs->done_ev == NULL ||
	    (gs->impl = gs->be->open(gs, &front, o, cause)) == NULL) {
		if (gs->done_ev != NULL)
			event_free(gs->done_ev);
		free(gs);
		return NULL;
	}
	return gs;
}

static void
op_free(struct gstore_op *op)
{
	if (op->priv != NULL && op->gs->be->drop != NULL)
		op->gs->be->drop(op->gs->impl, op);
	util_zero(&op->u, sizeof(op->u));
	free((char *)op->m.blob);
	free(op->res);
	free(op);
}

void
gstore_close(struct gstore *gs)
{
	struct gstore_op *op;

	if (gs == NULL)
		return;
	gs->be->close(gs->impl);	/* frees what it still holds */
	while ((op = TAILQ_FIRST(&gs->done)) != NULL) {
		TAILQ_REMOVE(&gs->done, op, entry);
		op_free(op);
	}
	event_free(gs->done_ev);
	free(gs);
}

static void
op_done(struct gstore_op *op, enum gstore_rc rc)
{
	struct gstore *gs = op->gs;

	op->rc = rc;
	op->delivered = true;
	metrics_hist_observe(&gs->latency, util_mono() - op->started);
	TAILQ_INSERT_TAIL(&gs->done, op, entry);
	event_active(gs->done_ev, EV_TIMEOUT, 0);
}

void
gstore_op_cancel(struct gstore_op *op)
{
	if (op != NULL)
		op->cancelled = true;
}

static void
deliver(struct gstore *gs, struct gstore_op *op)
{
	switch (op->kind) {
	case GOP_GET:
		op->cb.user(op->rc, op->rc == GSTORE_OK ? &op->u : NULL, op->arg);
		break;
	case GOP_COUNT:
		op->cb.count(op->rc, op->n, op->arg);
		break;
	case GOP_MAIL_PUT:
		op->cb.mail(op->rc, op->rc == GSTORE_OK ? op->m.id : 0, op->arg);
		break;
	case GOP_MAIL_EXPIRE:
		op->cb.count(op->rc, op->n, op->arg);
		break;
	case GOP_MAIL_PUT_MANY:
		op->cb.mail_many(op->rc, op->res, op->rc == GSTORE_OK ?
		    (size_t)op->limit : 0, op->arg);
		break;
	case GOP_MAIL_COUNT:
		op->cb.mail_count(op->rc, op->n, op->bytes, op->arg);
		break;
	case GOP_FOREACH:
	case GOP_MAIL_FETCH:
		if (op->rc == GSTORE_OK)
			gs->be->rows(gs->impl, op);
		/* FALLTHROUGH */
	default:
		op->cb.done(op->rc, op->arg);
		break;
	}
}

/* Deliver what was done before this turn; later ones wait for the next. */
static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct gstore *gs = arg;
	TAILQ_HEAD(, gstore_op) batch = TAILQ_HEAD_INITIALIZER(batch);
	struct gstore_op *op;

	TAILQ_CONCAT(&batch, &gs->done, entry);
	while ((op = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, op, entry);
		if (!op->cancelled && op->cb.done != NULL)
			deliver(gs, op);
		op_free(op);
	}
}

static struct gstore_op *
op_new(struct gstore *gs, enum gstore_kind kind, void *arg)
{
	struct gstore_op *op = xcalloc(1, sizeof(*op));

	op->front = &front;
	op->gs = gs;
	op->kind = kind;
	op->arg = arg;
	op->started = util_mono();
	return op;
}

#define TERMINATED(f)	(memchr((f), '\0', sizeof(f)) != NULL)

/* Every field a backend reads is a terminated string or in range. */
static bool
op_valid(const struct gstore_op *op)
{
	const struct guser *u = &op->u;

	return TERMINATED(u->name) && TERMINATED(u->hash) &&
	    TERMINATED(u->fingerprint) && TERMINATED(u->addr) &&
	    TERMINATED(u->mail) &&
	    u->port >= 0 && u->port <= 65535 && TERMINATED(op->m.from) &&
	    TERMINATED(op->m.to) && op->m.size >= 0 && op->limit >= 0;
}

/* Hand op to the backend; the caller gets a handle only with a callback. */
static struct gstore_op *
op_start(struct gstore_op *op)
{
	bool handle = op->cb.done != NULL;

	if (!op_valid(op)) {
		log_warnx("gstore: refusing a malformed user record");
		op_done(op, GSTORE_ERR);
	} else
		op->gs->be->start(op->gs->impl, op);
	return handle ? op : NULL;
}

struct gstore_op *
gstore_user_add(struct gstore *gs, const struct guser *u, gstore_done_cb cb,
    void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_ADD, arg);

	memcpy(&op->u, u, sizeof(op->u));
	op->cb.done = cb;
	return op_start(op);
}

/* A name into op->u.name; an over-long one is simply not found. */
static void
op_name(struct gstore_op *op, const char *name)
{
	if (strlen(name) < sizeof(op->u.name))
		memcpy(op->u.name, name, strlen(name) + 1);
}

struct gstore_op *
gstore_user_get(struct gstore *gs, const char *name, gstore_user_cb cb,
    void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_GET, arg);

	op_name(op, name);
	op->cb.user = cb;
	return op_start(op);
}

struct gstore_op *
gstore_user_set_key(struct gstore *gs, const char *name, const char *fp,
    gstore_done_cb cb, void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_SET_KEY, arg);

	op_name(op, name);
	if (strlen(fp) < sizeof(op->u.fingerprint))
		memcpy(op->u.fingerprint, fp, strlen(fp) + 1);
	else
		memset(op->u.fingerprint, 'x', sizeof(op->u.fingerprint));
	op->cb.done = cb;
	return op_start(op);
}

struct gstore_op *
gstore_presence(struct gstore *gs, enum gstore_presence what,
    const struct guser *u, gstore_done_cb cb, void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_PRESENCE, arg);

	op->presence = what;
	memcpy(&op->u, u, sizeof(op->u));
	util_zero(op->u.hash, sizeof(op->u.hash));
	op->cb.done = cb;
	return op_start(op);
}

struct gstore_op *
gstore_user_foreach(struct gstore *gs, gstore_row_cb row, gstore_done_cb done,
    void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_FOREACH, arg);

	op->row = row;
	op->cb.done = done;
	return op_start(op);
}

struct gstore_op *
gstore_user_count(struct gstore *gs, gstore_count_cb cb, void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_COUNT, arg);

	op->cb.count = cb;
	return op_start(op);
}

struct gstore_op *
gstore_user_set_mail(struct gstore *gs, const char *name, const char *key,
    gstore_done_cb cb, void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_SET_MAIL, arg);

	op_name(op, name);
	if (strlen(key) < sizeof(op->u.mail))
		memcpy(op->u.mail, key, strlen(key) + 1);
	else
		memset(op->u.mail, 'x', sizeof(op->u.mail));	/* refused */
	op->cb.done = cb;
	return op_start(op);
}

/* A user name into a mail field; an over-long one matches nobody. */
static void
mail_name(char *dst, size_t size, const char *name)
{
	if (strlen(name) < size)
		memcpy(dst, name, strlen(name) + 1);
	else
		memcpy(dst, "!", 2);
}

struct gstore_op *
gstore_mail_put(struct gstore *gs, const struct gmail *m,
    const struct gmail_limits *lim, gstore_mail_cb cb, void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_MAIL_PUT, arg);

	memcpy(&op->m, m, sizeof(op->m));
	op->m.id = 0;
	op->m.blob = xstrdup(m->blob != NULL ? m->blob : "");
	op->lim = *lim;
	op_name(op, m->to);
	op->cb.mail = cb;
	return op_start(op);
}

struct gstore_op *
gstore_mail_put_many(struct gstore *gs, const struct gmail *m,
    const char *blobs, size_t n, const struct gmail_limits *lim,
    gstore_mail_many_cb cb, void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_MAIL_PUT_MANY, arg);

	memcpy(&op->m, m, sizeof(op->m));
	op->m.id = 0;
	op->m.blob = xstrdup(blobs);
	op->limit = n >= 1 && n <= GSTORE_MAIL_PUT_MAX ? (int)n : -1;
	op->res = xcalloc(GSTORE_MAIL_PUT_MAX, sizeof(*op->res));
	op->lim = *lim;
	op_name(op, m->to);
	op->cb.mail_many = cb;
	return op_start(op);
}

struct gstore_op *
gstore_mail_fetch(struct gstore *gs, const char *to, int64_t after, int limit,
    gstore_mail_row_cb row, gstore_done_cb done, void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_MAIL_FETCH, arg);

	op_name(op, to);
	mail_name(op->m.to, sizeof(op->m.to), to);
	op->m.id = after;
	op->limit = limit > 0 ? limit : 1;
	op->mail_row = row;
	op->cb.done = done;
	return op_start(op);
}

struct gstore_op *
gstore_mail_ack(struct gstore *gs, const char *to, const int64_t *ids,
    size_t n, gstore_done_cb cb, void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_MAIL_ACK, arg);
	char *list, *p;
	size_t i;

	op_name(op, to);
	mail_name(op->m.to, sizeof(op->m.to), to);
	if (n > GSTORE_MAIL_ACK_MAX)
		n = 0;			/* nothing acked: refused below */
	/* "[1,2,...]": 20 digits and a comma each at most. */
	p = list = xmalloc(2 + 21 * n + 1);
	*p++ = '[';
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%lld", i > 0 ? "," : "", (long long)ids[i]);
	*p++ = ']';
	*p = '\0';
	op->m.blob = list;
	op->limit = n == 0 ? -1 : 0;	/* op_valid refuses an empty list */
	op->cb.done = cb;
	return op_start(op);
}

struct gstore_op *
gstore_mail_withdraw(struct gstore *gs, const char *from, int64_t id,
    gstore_done_cb cb, void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_MAIL_WITHDRAW, arg);

	op_name(op, from);
	mail_name(op->m.from, sizeof(op->m.from), from);
	op->m.id = id;
	op->cb.done = cb;
	return op_start(op);
}

struct gstore_op *
gstore_mail_expire(struct gstore *gs, int64_t now, gstore_count_cb cb,
    void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_MAIL_EXPIRE, arg);

	op->m.expires = now;
	op->cb.count = cb;
	return op_start(op);
}

struct gstore_op *
gstore_mail_count(struct gstore *gs, const char *to, gstore_mail_count_cb cb,
    void *arg)
{
	struct gstore_op *op = op_new(gs, GOP_MAIL_COUNT, arg);

	if (to != NULL) {
		op_name(op, to);
		mail_name(op->m.to, sizeof(op->m.to), to);
	} else
		op->limit = 1;		/* every mailbox */
	op->cb.mail_count = cb;
	return op_start(op);
}

void
gstore_notify(struct gstore *gs, const json_t *msg)
{
	if (gs->be->notify != NULL)
		gs->be->notify(gs->impl, msg);
}

void
gstore_info(struct gstore *gs, struct gstore_info *info)
{
	memset(info, 0, sizeof(*info));
	info->backend = gs->be->name;
	info->detail = "";
	info->cluster = "";
	info->latency = &gs->latency;
	if (gs->be->info != NULL)
		gs->be->info(gs->impl, info);
}
