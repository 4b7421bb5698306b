/*
 * Logging to stderr. The daemon never forks; systemd, docker or the shell
 * collects stderr, so each line is one event with its level in front.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static enum log_level log_level = LOG_LVL_INFO;

static const char *const log_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

static const char *const log_tags[] = {
	[LOG_LVL_ERROR] = "ERROR",
	[LOG_LVL_WARN] = "WARN",
	[LOG_LVL_INFO] = "INFO",
	[LOG_LVL_DEBUG] = "DEBUG",
};

void
log_init(enum log_level level)
{
	log_level = level;
	setvbuf(stderr, NULL, _IOLBF, 0);
}

void
log_setlevel(enum log_level level)
{
	log_level = level;
}

enum log_level
log_getlevel(void)
{
	return log_level;
}

int
log_parselevel(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(s, log_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_levelname(enum log_level level)
{
	return log_names[level];
}

/*
 * Mask what would drive a terminal or log viewer (peers' text is logged):
 * C0 controls and DEL, C1 controls (U+0080-U+009F, 2 bytes in UTF-8) and
 * the bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069),
 * each byte as '?'.
 */
static void
log_mask(char *buf)
{
	unsigned char *u = (unsigned char *)buf;
	size_t i, n;

	for (i = 0; u[i] != '\0'; i += n) {
		n = 1;
		if (u[i] == 0xc2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f)
			n = 2;
		else if (u[i] == 0xe2 && ((u[i + 1] == 0x80 && u[i + 2] >= 0xaa &&
		    u[i + 2] <= 0xae) || (u[i + 1] == 0x81 && u[i + 2] >= 0xa6 &&
		    u[i + 2] <= 0xa9)))
			n = 3;
		else if (u[i] >= 0x20 && u[i] != 0x7f)
			continue;
		memset(u + i, '?', n);
	}
}

/* One line: tag, message, optional strerror; control characters masked. */
static void __attribute__((format(printf, 3, 0)))
vlog(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char buf[2048];

	if (level > log_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_mask(buf);
	if (errnum != 0)
		fprintf(stderr, "%s %s: %s\n", log_tags[level], buf,
		    strerror(errnum));
	else
		fprintf(stderr, "%s %s\n", log_tags[level], buf);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

/* ------------------------------------------------- lines per source */

#define LOG_SRC_SLOTS	256	/* sources remembered; the oldest goes */

struct log_src {
	char		 key[64];	/* source; "" = free */
	const char	*fmt;		/* the kind of line */
	double		 start;		/* of its window */
	unsigned	 n;		/* lines logged in the window */
	unsigned long	 suppressed;
};

static struct log_src log_srcs[LOG_SRC_SLOTS];
/* The same kind of line from all sources together. */
#define LOG_KINDS	64

struct log_kind {
	const char	*fmt;		/* NULL = free */
	double		 start;
	unsigned	 n;
	unsigned long	 suppressed;
};

static struct log_kind log_kinds[LOG_KINDS];

static double
log_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
log_summary(struct log_src *s)
{
	if (s->suppressed > 0) {
		fprintf(stderr, "WARN log: %lu more line%s from %s suppressed "
		    "(over %d in %.0f s like \"%.60s\")\n", s->suppressed,
		    s->suppressed == 1 ? "" : "s", s->key, LOG_SRC_BURST,
		    LOG_SRC_WINDOW, s->fmt);
		s->suppressed = 0;
	}
}

/*
 * The slot of src's lines of format fmt: its own, a free one, or the
 * oldest one's (summarised first).
 */
static struct log_src *
log_src_slot(const char *src, const char *fmt, double now)
{
	struct log_src *s, *oldest = NULL;
	size_t i;

	for (i = 0; i < LOG_SRC_SLOTS; i++) {
		s = &log_srcs[i];
		if (s->fmt == fmt && s->key[0] != '\0' &&
		    strcmp(s->key, src) == 0)
			return s;
		if (oldest == NULL || s->key[0] == '\0' ||
		    (oldest->key[0] != '\0' && s->start < oldest->start))
			oldest = s;
	}
	log_summary(oldest);
	snprintf(oldest->key, sizeof(oldest->key), "%s", src);
	log_mask(oldest->key);
	oldest->fmt = fmt;
	oldest->start = now;
	oldest->n = 0;
	return oldest;
}

/* The kind's slot; past LOG_KINDS kinds, the last slot holds the rest. */
static struct log_kind *
log_kind_slot(const char *fmt, double now)
{
	struct log_kind *k;
	size_t i;

	for (i = 0; i < LOG_KINDS; i++) {
		k = &log_kinds[i];
		if (k->fmt == fmt)
			return k;
		if (k->fmt == NULL) {
			k->fmt = fmt;
			k->start = now;
			return k;
		}
	}
	return &log_kinds[LOG_KINDS - 1];
}

static void
log_kind_summary(struct log_kind *k)
{
	if (k->suppressed > 0) {
		fprintf(stderr, "WARN log: %lu more line%s from many sources "
		    "suppressed (over %d in %.0f s like \"%.60s\")\n",
		    k->suppressed, k->suppressed == 1 ? "" : "s",
		    LOG_ALL_BURST, LOG_SRC_WINDOW, k->fmt);
		k->suppressed = 0;
	}
}

/* Whether a line from src may be printed now; counts it either way. */
static bool
log_src_allow(const char *src, const char *fmt)
{
	double now = log_now();
	struct log_src *s = log_src_slot(src != NULL && *src != '\0' ? src :
	    "?", fmt, now);
	struct log_kind *k = log_kind_slot(fmt, now);

	if (now - s->start >= LOG_SRC_WINDOW) {
		log_summary(s);
		s->start = now;
		s->n = 0;
	}
	if (now - k->start >= LOG_SRC_WINDOW) {
		log_kind_summary(k);
		k->start = now;
		k->n = 0;
	}
	if (s->n >= LOG_SRC_BURST) {
		s->suppressed++;
		return false;
	}
	if (k->n >= LOG_ALL_BURST) {
		k->suppressed++;
		return false;
	}
	s->n++;
	k->n++;
	return true;
}

void
log_flush_suppressed(bool all)
{
	double now = log_now();
	size_t i;

	for (i = 0; i < LOG_SRC_SLOTS; i++)
		if (log_srcs[i].key[0] != '\0' &&
		    (all || now - log_srcs[i].start >= LOG_SRC_WINDOW))
			log_summary(&log_srcs[i]);
	for (i = 0; i < LOG_KINDS; i++)
		if (log_kinds[i].fmt != NULL &&
		    (all || now - log_kinds[i].start >= LOG_SRC_WINDOW))
			log_kind_summary(&log_kinds[i]);
}

void
log_warnx_from(const char *src, const char *fmt, ...)
{
	va_list ap;

	if (LOG_LVL_WARN > log_level || !log_src_allow(src, fmt))
		return;
	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_info_from(const char *src, const char *fmt, ...)
{
	va_list ap;

	if (LOG_LVL_INFO > log_level || !log_src_allow(src, fmt))
		return;
	va_start(ap, fmt);
	vlog(LOG_LVL_INFO, 0, fmt, ap);
	va_end(ap);
}
