/*
 * The mailbox of the gestor's store (gstore_mail_*), the same checks on
 * both backends: test_gstore.c (SQLite) and test_gstore_pg.c (PostgreSQL,
 * two gestors on one database) include this after gstore_wait.h.
 */
#ifndef P2P_GSTORE_MAIL_H
#define P2P_GSTORE_MAIL_H

#include <stdio.h>
#include <string.h>

#include "gstore_wait.h"
#include "testutil.h"

struct gm_wait {
	struct gwait	 w;		/* first: gw_done_cb sees a gwait */
	int64_t		 id;
	long long	 bytes;
	int		 rows;
	int64_t		 ids[16];
	char		 from[16][P2P_USERNAME_MAX + 1];
	char		 blob[16][64];
	long		 size[16];
};

static inline void
gm_put_cb(enum gstore_rc rc, int64_t id, void *arg)
{
	struct gm_wait *g = arg;

	g->id = id;
	gw_done_cb(rc, arg);
}

static inline int
gm_row_cb(const struct gmail *m, void *arg)
{
	struct gm_wait *g = arg;

	ck_assert_int_lt(g->rows, 16);
	g->ids[g->rows] = m->id;
	snprintf(g->from[g->rows], sizeof(g->from[0]), "%s", m->from);
	snprintf(g->blob[g->rows], sizeof(g->blob[0]), "%s", m->blob);
	g->size[g->rows] = m->size;
	g->rows++;
	return 0;
}

static inline void
gm_count_cb(enum gstore_rc rc, long n, long long bytes, void *arg)
{
	struct gm_wait *g = arg;

	g->bytes = bytes;
	gw_count_cb(rc, n, arg);
}

/* A deposit of blob (size its length) from -> to; the rc, *id. */
static inline enum gstore_rc
gm_put(struct gstore *gs, const char *from, const char *to, const char *blob,
    int64_t expires, const struct gmail_limits *lim, int64_t *id)
{
	struct gm_wait g = { { 0 } };
	struct gmail m;
	enum gstore_rc rc;

	memset(&m, 0, sizeof(m));
	snprintf(m.from, sizeof(m.from), "%s", from);
	snprintf(m.to, sizeof(m.to), "%s", to);
	m.ts = 1765000000000;
	m.expires = expires;
	m.size = (long)strlen(blob);
	m.blob = blob;
	gstore_mail_put(gs, &m, lim, gm_put_cb, &g);
	rc = gw_wait(&g.w);
	if (id != NULL)
		*id = g.id;
	return rc;
}

static inline enum gstore_rc
gm_fetch(struct gstore *gs, const char *to, int64_t after, int limit,
    struct gm_wait *g)
{
	memset(g, 0, sizeof(*g));
	gstore_mail_fetch(gs, to, after, limit, gm_row_cb, gw_done_cb, g);
	return gw_wait(&g->w);
}

static inline enum gstore_rc
gm_ack(struct gstore *gs, const char *to, int64_t id)
{
	struct gwait w = { 0 };

	gstore_mail_ack(gs, to, &id, 1, gw_done_cb, &w);
	return gw_wait(&w);
}

static inline enum gstore_rc
gm_ack_many(struct gstore *gs, const char *to, const int64_t *ids, size_t n)
{
	struct gwait w = { 0 };

	gstore_mail_ack(gs, to, ids, n, gw_done_cb, &w);
	return gw_wait(&w);
}

static inline enum gstore_rc
gm_withdraw(struct gstore *gs, const char *from, int64_t id)
{
	struct gwait w = { 0 };

	gstore_mail_withdraw(gs, from, id, gw_done_cb, &w);
	return gw_wait(&w);
}

static inline long
gm_count(struct gstore *gs, const char *to, long long *bytes)
{
	struct gm_wait g = { { 0 } };

	gstore_mail_count(gs, to, gm_count_cb, &g);
	ck_assert_int_eq(gw_wait(&g.w), GSTORE_OK);
	*bytes = g.bytes;
	return g.w.n;
}

#define GM_KEY	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"

static inline enum gstore_rc
gm_set_mail(struct gstore *gs, const char *name, bool on)
{
	struct gwait w = { 0 };

	gstore_user_set_mail(gs, name, on ? GM_KEY : "", gw_done_cb, &w);
	return gw_wait(&w);
}

/*
 * Deposits through a, fetched, acknowledged and withdrawn through b (the
 * same store on SQLite, another gestor on PostgreSQL). The users must not
 * exist yet.
 */
static inline void
gm_check_mailbox(struct gstore *a, struct gstore *b)
{
	struct gmail_limits none = { 0, 0, 0 }, lim = { 3, 20, 2 };
	struct gm_wait g;
	struct gwait w = { 0 };
	struct guser u;
	long long bytes;
	int64_t id1, id2, id3, id4;

	tu_make_user(&u, "alice", tu_fp_of("alice"), 1700000000);
	ck_assert_int_eq(gw_add(a, &u), GSTORE_OK);
	tu_make_user(&u, "bob", tu_fp_of("bob"), 1700000000);
	ck_assert_int_eq(gw_add(a, &u), GSTORE_OK);
	tu_make_user(&u, "carol", tu_fp_of("carol"), 1700000000);
	ck_assert_int_eq(gw_add(a, &u), GSTORE_OK);

	/* No mail for a user who does not accept it, or does not exist. */
	ck_assert_int_eq(gw_get(b, "bob", &u), GSTORE_OK);
	ck_assert_str_eq(u.mail, "");
	ck_assert_int_eq(gm_put(a, "alice", "bob", "QUJD", 9e12, &none, NULL),
	    GSTORE_NO_MAIL);
	ck_assert_int_eq(gm_put(a, "alice", "nobody", "QUJD", 9e12, &none,
	    NULL), GSTORE_NOTFOUND);
	ck_assert_int_eq(gm_set_mail(b, "nobody", true), GSTORE_NOTFOUND);
	ck_assert_int_eq(gm_set_mail(b, "bob", true), GSTORE_OK);
	ck_assert_int_eq(gw_get(a, "bob", &u), GSTORE_OK);
	ck_assert_str_eq(u.mail, GM_KEY);

	/* Three deposits, in order, fetched in pages. */
	ck_assert_int_eq(gm_put(a, "alice", "bob", "b25l", 9e12, &lim, &id1),
	    GSTORE_OK);
	ck_assert_int_eq(gm_put(a, "alice", "bob", "dHdv", 9e12, &lim, &id2),
	    GSTORE_OK);
	ck_assert_int_gt(id1, 0);
	ck_assert_int_gt(id2, id1);
	/* alice's share of bob's mailbox is 2 */
	ck_assert_int_eq(gm_put(a, "alice", "bob", "eHh4", 9e12, &lim, NULL),
	    GSTORE_QUOTA_SENDER);
	ck_assert_int_eq(gm_put(a, "carol", "bob", "dGhyZWU=", 9e12, &lim,
	    &id3), GSTORE_OK);
	/* 3 messages, 16 bytes: full either way */
	ck_assert_int_eq(gm_put(a, "carol", "bob", "eA==", 9e12, &lim, NULL),
	    GSTORE_QUOTA_MESSAGES);
	lim.messages = 10;
	ck_assert_int_eq(gm_put(a, "carol", "bob", "eHh4eHh4", 9e12, &lim,
	    NULL), GSTORE_QUOTA_BYTES);
	ck_assert_int_eq(gm_count(b, "bob", &bytes), 3);
	ck_assert_int_eq(bytes, 16);
	ck_assert_int_eq(gm_count(b, "alice", &bytes), 0);
	ck_assert_int_eq(gm_count(b, NULL, &bytes), 3);

	ck_assert_int_eq(gm_fetch(b, "bob", 0, 2, &g), GSTORE_OK);
	ck_assert_int_eq(g.rows, 2);
	ck_assert_int_eq(g.ids[0], id1);
	ck_assert_str_eq(g.blob[0], "b25l");
	ck_assert_str_eq(g.from[0], "alice");
	ck_assert_int_eq(g.size[0], 4);
	ck_assert_int_eq(g.ids[1], id2);
	ck_assert_int_eq(gm_fetch(b, "bob", id2, 2, &g), GSTORE_OK);
	ck_assert_int_eq(g.rows, 1);
	ck_assert_int_eq(g.ids[0], id3);
	ck_assert_str_eq(g.from[0], "carol");
	ck_assert_int_eq(gm_fetch(b, "carol", 0, 10, &g), GSTORE_OK);
	ck_assert_int_eq(g.rows, 0);

	/* Only bob acks bob's mail; only its sender withdraws it. */
	ck_assert_int_eq(gm_ack(b, "carol", id1), GSTORE_NOTFOUND);
	ck_assert_int_eq(gm_ack(b, "bob", id1), GSTORE_OK);
	ck_assert_int_eq(gm_ack(b, "bob", id1), GSTORE_NOTFOUND);
	ck_assert_int_eq(gm_withdraw(b, "carol", id2), GSTORE_NOTFOUND);
	ck_assert_int_eq(gm_withdraw(b, "alice", id2), GSTORE_OK);
	ck_assert_int_eq(gm_withdraw(b, "alice", id2), GSTORE_NOTFOUND);
	ck_assert_int_eq(gm_fetch(b, "bob", 0, 10, &g), GSTORE_OK);
	ck_assert_int_eq(g.rows, 1);
	ck_assert_int_eq(g.ids[0], id3);

	/* Expiry; ids are never reused. */
	ck_assert_int_eq(gm_put(a, "alice", "bob", "b2xk", 1000, &none, &id4),
	    GSTORE_OK);
	ck_assert_int_gt(id4, id3);
	gstore_mail_expire(b, 1000, gw_count_cb, &w);
	ck_assert_int_eq(gw_wait(&w), GSTORE_OK);
	ck_assert_int_eq(w.n, 1);
	ck_assert_int_eq(gm_count(a, "bob", &bytes), 1);
	ck_assert_int_eq(gm_ack(a, "bob", id3), GSTORE_OK);
	ck_assert_int_eq(gm_count(a, NULL, &bytes), 0);
	ck_assert_int_eq(bytes, 0);
	ck_assert_int_eq(gm_put(a, "alice", "bob", "bmV3", 9e12, &none, &id1),
	    GSTORE_OK);
	ck_assert_int_gt(id1, id4);

	/* Several acked at once; another's and unknown ids passed over. */
	{
		int64_t ids[4];

		ck_assert_int_eq(gm_set_mail(a, "carol", true), GSTORE_OK);
		ck_assert_int_eq(gm_put(a, "alice", "carol", "Yw==", 9e12, &none,
		    &ids[0]), GSTORE_OK);
		ck_assert_int_eq(gm_put(a, "alice", "bob", "MQ==", 9e12, &none,
		    &ids[1]), GSTORE_OK);
		ck_assert_int_eq(gm_put(a, "alice", "bob", "Mg==", 9e12, &none,
		    &ids[2]), GSTORE_OK);
		ids[3] = 999999;
		ck_assert_int_eq(gm_ack_many(b, "bob", ids, 4), GSTORE_OK);
		ck_assert_int_eq(gm_count(a, "bob", &bytes), 1);
		ck_assert_int_eq(gm_count(a, "carol", &bytes), 1);
		ck_assert_int_eq(gm_ack_many(b, "bob", ids + 1, 3),
		    GSTORE_NOTFOUND);
		ck_assert_int_eq(gm_ack_many(b, "bob", ids, 0), GSTORE_ERR);
	}

	/*
	 * An expired deposit takes the later ones of its sender for its
	 * recipient with it (fetched without it, they came out of order);
	 * an earlier one and another sender's stay.
	 */
	{
		int64_t e1, e2, e3;

		ck_assert_int_eq(gm_put(a, "alice", "bob", "ZTE=", 2000, &none,
		    &e1), GSTORE_OK);
		ck_assert_int_eq(gm_put(a, "alice", "bob", "ZTI=", 9e12, &none,
		    &e2), GSTORE_OK);
		ck_assert_int_eq(gm_put(a, "carol", "bob", "ZTM=", 9e12, &none,
		    &e3), GSTORE_OK);
		ck_assert_int_gt(e2, e1);
		w = (struct gwait){ 0 };
		gstore_mail_expire(b, 2000, gw_count_cb, &w);
		ck_assert_int_eq(gw_wait(&w), GSTORE_OK);
		ck_assert_int_eq(w.n, 2);
		ck_assert_int_eq(gm_fetch(b, "bob", 0, 10, &g), GSTORE_OK);
		ck_assert_int_eq(g.rows, 2);
		ck_assert_int_eq(g.ids[0], id1);
		ck_assert_int_eq(g.ids[1], e3);
		ck_assert_int_eq(gm_ack(b, "bob", e3), GSTORE_OK);
	}
}

static inline void
gm_many_cb(enum gstore_rc rc, const int64_t *res, size_t n, void *arg)
{
	struct gm_wait *g = arg;

	ck_assert_int_le(n, 16);
	if (n > 0)
		memcpy(g->ids, res, n * sizeof(*res));
	g->rows = (int)n;
	gw_done_cb(rc, arg);
}

/* Deposits of blobs ([{blob,size,key}], n of them) from -> to, kept
 * until expires. */
static inline enum gstore_rc
gm_put_many_until(struct gstore *gs, const char *from, const char *to,
    const char *blobs, size_t n, const struct gmail_limits *lim,
    int64_t expires, struct gm_wait *g)
{
	struct gmail m;

	memset(g, 0, sizeof(*g));
	memset(&m, 0, sizeof(m));
	snprintf(m.from, sizeof(m.from), "%s", from);
	snprintf(m.to, sizeof(m.to), "%s", to);
	m.ts = 1765000000000;
	m.expires = expires;
	gstore_mail_put_many(gs, &m, blobs, n, lim, gm_many_cb, g);
	return gw_wait(&g->w);
}

static inline enum gstore_rc
gm_put_many(struct gstore *gs, const char *from, const char *to,
    const char *blobs, size_t n, const struct gmail_limits *lim,
    struct gm_wait *g)
{
	return gm_put_many_until(gs, from, to, blobs, n, lim, 9e12, g);
}

/*
 * Several deposits at once (mbox-put's blobs), through a, checked
 * through b: in order, a key put again answers the first deposit's id,
 * the first refusal refuses every later new one. dave and erin must not
 * exist yet.
 */
static inline void
gm_check_put_many(struct gstore *a, struct gstore *b)
{
	struct gmail_limits lim = { 3, 0, 0 };
	struct gm_wait g;
	struct guser u;
	long long bytes;
	int64_t id1, id2, id3;

	tu_make_user(&u, "dave", tu_fp_of("dave"), 1700000000);
	ck_assert_int_eq(gw_add(a, &u), GSTORE_OK);
	tu_make_user(&u, "erin", tu_fp_of("erin"), 1700000000);
	ck_assert_int_eq(gw_add(a, &u), GSTORE_OK);
	ck_assert_int_eq(gm_put_many(a, "dave", "erin", "[{\"blob\":\"MQ==\","
	    "\"size\":1,\"key\":1}]", 1, &lim, &g), GSTORE_OK);
	ck_assert_int_eq(g.rows, 1);
	ck_assert_int_eq(g.ids[0], -GSTORE_NO_MAIL);
	ck_assert_int_eq(gm_set_mail(b, "erin", true), GSTORE_OK);

	ck_assert_int_eq(gm_put_many(a, "dave", "erin", "[{\"blob\":\"MQ==\","
	    "\"size\":1,\"key\":1},{\"blob\":\"Mg==\",\"size\":1,"
	    "\"key\":-2}]", 2, &lim, &g), GSTORE_OK);
	ck_assert_int_eq(g.rows, 2);
	id1 = g.ids[0];
	id2 = g.ids[1];
	ck_assert_int_gt(id1, 0);
	ck_assert_int_gt(id2, id1);
	/* Again after a lost answer: the same ids, one more stored. */
	ck_assert_int_eq(gm_put_many(a, "dave", "erin", "[{\"blob\":\"eA==\","
	    "\"size\":1,\"key\":1},{\"blob\":\"eQ==\",\"size\":1,"
	    "\"key\":-2},{\"blob\":\"Mw==\",\"size\":1,\"key\":3}]", 3,
	    &lim, &g), GSTORE_OK);
	ck_assert_int_eq(g.rows, 3);
	ck_assert_int_eq(g.ids[0], id1);
	ck_assert_int_eq(g.ids[1], id2);
	id3 = g.ids[2];
	ck_assert_int_gt(id3, id2);
	ck_assert_int_eq(gm_count(b, "erin", &bytes), 3);
	/* The same key from another sender is another deposit. */
	lim.messages = 0;
	lim.bytes = 5;
	ck_assert_int_eq(gm_put_many(a, "alice", "erin", "[{\"blob\":\"MQ==\","
	    "\"size\":1,\"key\":1},{\"blob\":\"MTIz\",\"size\":3,"
	    "\"key\":4},{\"blob\":\"Mg==\",\"size\":1,\"key\":5}]", 3,
	    &lim, &g), GSTORE_OK);
	ck_assert_int_gt(g.ids[0], id3);
	/* 5 bytes: the second is refused, and the third, which fits, too. */
	ck_assert_int_eq(g.ids[1], -GSTORE_QUOTA_BYTES);
	ck_assert_int_eq(g.ids[2], -GSTORE_QUOTA_BYTES);
	ck_assert_int_eq(gm_count(b, "erin", &bytes), 4);
	ck_assert_int_eq(gm_fetch(b, "erin", 0, 10, &g), GSTORE_OK);
	ck_assert_int_eq(g.rows, 4);
	ck_assert_int_eq(g.ids[0], id1);
	ck_assert_str_eq(g.blob[0], "MQ==");
	ck_assert_str_eq(g.blob[1], "Mg==");
	ck_assert_str_eq(g.from[3], "alice");
	ck_assert_int_eq(gm_put_many(a, "dave", "nobody", "[{\"blob\":\"MQ==\","
	    "\"size\":1,\"key\":9}]", 1, &lim, &g), GSTORE_OK);
	ck_assert_int_eq(g.ids[0], -GSTORE_NOTFOUND);
	ck_assert_int_eq(gm_put_many(a, "dave", "erin", "[]", 0, &lim, &g),
	    GSTORE_ERR);

	/*
	 * A key put again once its deposit expired, before the expiry
	 * deleted it (it runs once a minute), answers that deposit: it is
	 * kept as long as the new put says, not deleted at the old expiry
	 * while the sender believes it deposited for a whole ttl more.
	 */
	{
		struct gmail_limits none = { 0, 0, 0 };
		struct gwait w = { 0 };
		const char *k7 = "[{\"blob\":\"Nw==\",\"size\":1,\"key\":7}]";

		ck_assert_int_eq(gm_put_many_until(a, "dave", "erin", k7, 1, &none,
		    1000, &g), GSTORE_OK);
		id1 = g.ids[0];
		ck_assert_int_gt(id1, 0);
		ck_assert_int_eq(gm_put_many_until(a, "dave", "erin", k7, 1, &none,
		    9e12, &g), GSTORE_OK);
		ck_assert_int_eq(g.ids[0], id1);
		gstore_mail_expire(b, 2000, gw_count_cb, &w);
		ck_assert_int_eq(gw_wait(&w), GSTORE_OK);
		ck_assert_int_eq(w.n, 0);
		ck_assert_int_eq(gm_count(b, "erin", &bytes), 5);
	}
}

#endif
