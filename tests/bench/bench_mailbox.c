/*
 * The mailbox at the gestor's store, for `make bench`: what one deposit,
 * one fetch and one ack cost on SQLite with the gestor's settings (WAL,
 * synchronous=full, one statement and commit per deposit as the gestor
 * runs them), and what sealing and opening cost a peer.
 *
 *   bench_mailbox [-n MESSAGES] [-s BODY_BYTES] DIR
 *
 * N blobs sealed (alice for bob, the body BODY_BYTES of text), deposited
 * one by one, fetched in pages of 256 and acked a page at a time (one
 * statement, as mbox-ack does), then opened.
 * DIR must not exist. Prints one JSON object: seal_per_s, open_per_s,
 * deposit_per_s, fetch_per_s, ack_per_s, drain_secs (fetch and ack of all
 * N), bytes_per_msg (the database's growth per deposit, WAL checkpointed).
 */
#include <sys/stat.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "bench.h"
#include "gstore.h"
#include "log.h"
#include "seal.h"
#include "util.h"

#define PAGE	256

static struct event_base *base;
static int	 done;
static int64_t	 last_id;
static long	 rows;
static int64_t	 page_ids[PAGE];

static void
die(const char *what)
{
	fprintf(stderr, "bench_mailbox: %s\n", what);
	exit(1);
}

static void
run(void)
{
	while (!done)
		event_base_loop(base, EVLOOP_ONCE);
	done = 0;
}

static void
on_put(enum gstore_rc rc, int64_t id, void *arg)
{
	if (rc != GSTORE_OK)
		die("deposit refused");
	done = 1;
}

static void
on_done(enum gstore_rc rc, void *arg)
{
	if (rc != GSTORE_OK && rc != GSTORE_NOTFOUND)
		die("store failed");
	done = 1;
}

static int
on_row(const struct gmail *m, void *arg)
{
	page_ids[rows % PAGE] = m->id;
	last_id = m->id;
	rows++;
	return 0;
}

static void
on_user(enum gstore_rc rc, void *arg)
{
	if (rc != GSTORE_OK)
		die("user");
	done = 1;
}

static long
file_bytes(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

static double
rate(long n, int64_t ns)
{
	return ns > 0 ? (double)n * 1e9 / (double)ns : 0;
}

int
main(int argc, char **argv)
{
	unsigned char seed_a[32], seed_b[32], *blob;
	struct seal_key *ka, *kb;
	struct gstore_opts o;
	struct gstore *gs;
	struct gmail_limits lim = { 0, 0, 0 };
	struct seal_msg m, out;
	struct gmail g;
	struct guser u;
	char **blobs, path[4096], fp[P2P_FP_LEN + 1], *cause = NULL, *body;
	const char *why;
	size_t len, blen = 200;
	int64_t t0, t_seal, t_put, t_fetch = 0, t_ack = 0, t_open, t;
	long n = 10000, i, before, fetched = 0, page;
	int c;

	while ((c = getopt(argc, argv, "n:s:")) != -1) {
		if (c == 'n')
			n = strtol(optarg, NULL, 10);
		else if (c == 's')
			blen = (size_t)strtoul(optarg, NULL, 10);
		else
			die("usage: bench_mailbox [-n MESSAGES] [-s BODY_BYTES] DIR");
	}
	if (optind + 1 != argc || n <= 0 || blen == 0 || blen > 65536 ||
	    mkdir(argv[optind], 0700) != 0)
		die("usage: bench_mailbox [-n MESSAGES] [-s BODY_BYTES] DIR "
		    "(DIR must not exist)");
	log_init(LOG_LVL_WARN);
	memset(seed_a, 'a', 32);
	memset(seed_b, 'b', 32);
	if ((ka = seal_key_new(seed_a)) == NULL ||
	    (kb = seal_key_new(seed_b)) == NULL)
		die("keys");
	body = xmalloc(blen + 1);
	memset(body, 'x', blen);
	body[blen] = '\0';

	/* Seal: what a sender pays per deposit. */
	blobs = xcalloc((size_t)n, sizeof(*blobs));
	memset(&m, 0, sizeof(m));
	snprintf(m.from, sizeof(m.from), "alice");
	snprintf(m.to, sizeof(m.to), "bob");
	m.ts = 1765000000000;
	m.body = body;
	m.body_len = blen;
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		snprintf(m.id, sizeof(m.id), "%032lx", i);
		if (seal_seal(ka, seal_key_public(kb), &m, &blob, &len) != 0)
			die("seal");
		blobs[i] = xmalloc(sodium_base64_ENCODED_LEN(len,
		    sodium_base64_VARIANT_ORIGINAL));
		sodium_bin2base64(blobs[i], sodium_base64_ENCODED_LEN(len,
		    sodium_base64_VARIANT_ORIGINAL), blob, len,
		    sodium_base64_VARIANT_ORIGINAL);
		free(blob);
	}
	t_seal = bench_now_ns() - t0;

	/* The store, as the gestor opens it. */
	base = event_base_new();
	snprintf(path, sizeof(path), "%s/gestor.db", argv[optind]);
	memset(&o, 0, sizeof(o));
	o.base = base;
	o.backend = "sqlite";
	o.path = path;
	o.sync_full = true;
	if ((gs = gstore_open(&o, &cause)) == NULL)
		die(cause != NULL ? cause : "open");
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "bob");
	snprintf(u.hash, sizeof(u.hash), "$y$x");
	snprintf(u.fingerprint, sizeof(u.fingerprint), "sha256:%064d", 0);
	gstore_user_add(gs, &u, on_user, NULL);
	run();
	gstore_user_set_mail(gs, "bob", "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef", on_user, NULL);
	run();
	before = file_bytes(path);

	/* Deposits, one statement and commit each. */
	memset(&g, 0, sizeof(g));
	snprintf(g.from, sizeof(g.from), "alice");
	snprintf(g.to, sizeof(g.to), "bob");
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		g.ts = 1765000000000 + i;
		g.expires = g.ts + 86400000;
		g.size = (long)strlen(blobs[i]) * 3 / 4;
		g.blob = blobs[i];
		gstore_mail_put(gs, &g, &lim, on_put, NULL);
		run();
	}
	t_put = bench_now_ns() - t0;
	gstore_close(gs);	/* checkpoints the WAL into the file */
	len = (size_t)(file_bytes(path) - before);
	if ((gs = gstore_open(&o, &cause)) == NULL)
		die("reopen");

	/* Drain: fetch a page, ack it, as a recipient does on login. */
	last_id = 0;
	while (fetched < n) {
		rows = 0;
		t = bench_now_ns();
		gstore_mail_fetch(gs, "bob", last_id, PAGE, on_row, on_done,
		    NULL);
		run();
		t_fetch += bench_now_ns() - t;
		if (rows == 0)
			die("fewer deposits than made");
		page = rows;
		t = bench_now_ns();
		gstore_mail_ack(gs, "bob", page_ids, (size_t)page, on_done, NULL);
		run();
		t_ack += bench_now_ns() - t;
		fetched += page;
	}

	/* Open: what the recipient pays per message. */
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		unsigned char *raw = xmalloc(strlen(blobs[i]));
		size_t rlen;

		if (sodium_base642bin(raw, strlen(blobs[i]), blobs[i],
		    strlen(blobs[i]), NULL, &rlen, NULL,
		    sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    seal_open(kb, "bob", raw, rlen, 65536, &out, fp, sizeof(fp),
		    &why) != 0)
			die("open");
		seal_msg_clear(&out);
		free(raw);
	}
	t_open = bench_now_ns() - t0;

	printf("{\"n\":%ld,\"body_bytes\":%zu,\"seal_per_s\":%.0f,"
	    "\"open_per_s\":%.0f,\"deposit_per_s\":%.0f,\"fetch_per_s\":%.0f,"
	    "\"ack_per_s\":%.0f,\"drain_secs\":%.3f,\"bytes_per_msg\":%.0f}\n",
	    n, blen, rate(n, t_seal), rate(n, t_open), rate(n, t_put),
	    rate(n, t_fetch), rate(n, t_ack), (double)(t_fetch + t_ack) / 1e9,
	    (double)len / (double)n);
	gstore_close(gs);
	event_base_free(base);
	for (i = 0; i < n; i++)
		free(blobs[i]);
	free(blobs);
	free(body);
	seal_key_free(ka);
	seal_key_free(kb);
	return 0;
}
