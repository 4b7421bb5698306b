/*
 * bench_wire: the cost of reading one hot frame (issue 31), the way the
 * daemon did (json_loadb into a tree, wire_parse, json_decref) beside
 * the hot reader (wire_hot_parse, free), on the frames the daemon
 * writes: a msg with a body of -s bytes, an ack, and an acks frame of
 * ACKS_IDS ids (the cumulative ack of one commit). The two alternate in
 * rounds of 1 000 frames so that both see the same load. Prints
 * {"msg_jansson_ns":..,"msg_hot_ns":..,"ack_jansson_ns":..,"ack_hot_ns":..,
 * "acks_jansson_ns_per_id":..,"acks_hot_ns_per_id":..,
 * "send_jansson_ns":..,"send_hot_ns":..} (send: the control socket's
 * request line, ctlsock_parse_request beside ctl_hot_send_parse)
 * (nanoseconds per frame, or per id of the acks frame, the median of the
 * rounds).
 *
 *	bench_wire [-n FRAMES] [-s BODY_BYTES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

/* Not bench.h: its <unistd.h> defines W_OK, a member of enum wire_type. */
#include "ctlcmd.h"
#include "ctlsock.h"
#include "jsonw.h"
#include "wire.h"
#include "wire_hot.h"

#define ROUND	1000
#define MAXB	65536
#define ACKS_IDS	55	/* ids per commit in a make bench feed (364 commits, 20 001) */

static int64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
round_jansson(const char *p, size_t len)
{
	struct wire_msg m;
	const char *code;
	char err[256];
	int64_t t0 = bench_now_ns();
	json_t *v;
	int i;

	for (i = 0; i < ROUND; i++) {
		v = json_loadb(p, len, JSON_REJECT_DUPLICATES, NULL);
		if (v == NULL || wire_parse(v, &m, MAXB, &code, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "bench_wire: jansson refused the frame\n");
			exit(1);
		}
		json_decref(v);
	}
	return (double)(bench_now_ns() - t0) / ROUND;
}

static double
round_hot(const char *p, size_t len)
{
	int64_t t0 = bench_now_ns();
	struct wire_hot *h;
	int i;

	for (i = 0; i < ROUND; i++) {
		if ((h = wire_hot_parse((const unsigned char *)p, len, MAXB)) ==
		    NULL) {
			fprintf(stderr, "bench_wire: the hot reader declined\n");
			exit(1);
		}
		free(h);
	}
	return (double)(bench_now_ns() - t0) / ROUND;
}

static double
round_ctl_jansson(const char *p, size_t len)
{
	int64_t t0 = bench_now_ns();
	const char *code;
	json_t *msg, *id;
	char err[256];
	int i, cmd;

	for (i = 0; i < ROUND; i++) {
		if (ctlsock_parse_request(p, len, CTL_MODE_PEER, MAXB, &msg, &id,
		    &cmd, &code, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_wire: ctlsock refused the line\n");
			exit(1);
		}
		json_decref(msg);
	}
	return (double)(bench_now_ns() - t0) / ROUND;
}

static double
round_ctl_hot(const char *p, size_t len)
{
	int64_t t0 = bench_now_ns();
	struct ctl_hot_send *h;
	int i;

	for (i = 0; i < ROUND; i++) {
		if ((h = ctl_hot_send_parse(p, len, MAXB)) == NULL) {
			fprintf(stderr, "bench_wire: the send line was declined\n");
			exit(1);
		}
		free(h);
	}
	return (double)(bench_now_ns() - t0) / ROUND;
}

static void
measure_ctl(const char *p, size_t len, int rounds, double *jansson,
    double *hot)
{
	double *a = calloc((size_t)rounds, sizeof(*a));
	double *b = calloc((size_t)rounds, sizeof(*b));
	int r;

	for (r = 0; r < rounds; r++) {
		a[r] = round_ctl_jansson(p, len);
		b[r] = round_ctl_hot(p, len);
	}
	qsort(a, (size_t)rounds, sizeof(*a), cmp_dbl);
	qsort(b, (size_t)rounds, sizeof(*b), cmp_dbl);
	*jansson = a[rounds / 2];
	*hot = b[rounds / 2];
	free(a);
	free(b);
}

static void
measure(const char *p, size_t len, int rounds, double *jansson, double *hot)
{
	double *a = calloc((size_t)rounds, sizeof(*a));
	double *b = calloc((size_t)rounds, sizeof(*b));
	int r;

	for (r = 0; r < rounds; r++) {
		a[r] = round_jansson(p, len);
		b[r] = round_hot(p, len);
	}
	qsort(a, (size_t)rounds, sizeof(*a), cmp_dbl);
	qsort(b, (size_t)rounds, sizeof(*b), cmp_dbl);
	*jansson = a[rounds / 2];
	*hot = b[rounds / 2];
	free(a);
	free(b);
}

int
main(int argc, char **argv)
{
	int n = 200000, ac, rounds;
	size_t size = 200, i;
	double mj, mh, aj, ah, sj, sh, kj, kh;
	json_t *req;
	char *line;
	struct jsonw w, a, k;
	char id[40];
	char *body;

	for (ac = 1; ac < argc; ac += 2) {
		if (ac + 1 < argc && strcmp(argv[ac], "-n") == 0)
			n = atoi(argv[ac + 1]);
		else if (ac + 1 < argc && strcmp(argv[ac], "-s") == 0)
			size = (size_t)atol(argv[ac + 1]);
		else {
			fprintf(stderr, "usage: bench_wire [-n FRAMES] [-s BYTES]\n");
			return 2;
		}
	}
	if (n < ROUND || size < 1 || size > MAXB) {
		fprintf(stderr, "bench_wire: -n at least %d, -s 1 to %d\n",
		    ROUND, MAXB);
		return 2;
	}
	rounds = n / ROUND;
	body = malloc(size);
	for (i = 0; i < size; i++)
		body[i] = (char)('a' + i % 26);
	jsonw_init(&w);
	jsonw_open(&w, NULL);
	jsonw_str(&w, "t", "msg");
	jsonw_str(&w, "id", "0123456789abcdef0123456789abcdef");
	jsonw_str(&w, "from", "alice");
	jsonw_str(&w, "to", "bob");
	jsonw_int(&w, "ts", 1733500000000LL);
	jsonw_strn(&w, "body", body, size);
	jsonw_close(&w);
	jsonw_init(&a);
	jsonw_open(&a, NULL);
	jsonw_str(&a, "t", "ack");
	jsonw_str(&a, "id", "0123456789abcdef0123456789abcdef");
	jsonw_close(&a);
	/* acks as peer_in.c writes it (the same shape, printed by jsonw). */
	jsonw_init(&k);
	jsonw_open(&k, NULL);
	jsonw_str(&k, "t", "acks");
	jsonw_open_array(&k, "ids");
	for (i = 0; i < ACKS_IDS; i++) {
		snprintf(id, sizeof(id), "%032zx", i * 7919);
		jsonw_str(&k, NULL, id);
	}
	jsonw_close_array(&k);
	jsonw_close(&k);
	/* The request line as p2pchatctl writes it (ctl/conn.c). */
	req = json_pack("{s:I,s:s,s:{s:s,s:s%}}", "id", (json_int_t)1, "cmd",
	    "send", "args", "user", "bob", "text", body, size);
	line = json_dumps(req, JSON_COMPACT);
	measure(jsonw_data(&w), jsonw_len(&w), rounds, &mj, &mh);
	measure(jsonw_data(&a), jsonw_len(&a), rounds, &aj, &ah);
	measure(jsonw_data(&k), jsonw_len(&k), rounds, &kj, &kh);
	measure_ctl(line, strlen(line), rounds, &sj, &sh);
	printf("{\"msg_jansson_ns\":%.1f,\"msg_hot_ns\":%.1f,"
	    "\"ack_jansson_ns\":%.1f,\"ack_hot_ns\":%.1f,"
	    "\"acks_jansson_ns_per_id\":%.1f,\"acks_hot_ns_per_id\":%.1f,"
	    "\"send_jansson_ns\":%.1f,\"send_hot_ns\":%.1f}\n", mj, mh, aj,
	    ah, kj / ACKS_IDS, kh / ACKS_IDS, sj, sh);
	free(line);
	json_decref(req);
	jsonw_free(&w);
	jsonw_free(&a);
	jsonw_free(&k);
	free(body);
	return 0;
}
