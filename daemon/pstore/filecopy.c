/*
 * Copies into the file store, one thread each (see filecopy.h). A copy
 * reads in FILECOPY_CHUNK pieces and polls its descriptor together with
 * a cancel pipe, so that a pipe that never ends does not hold a thread
 * past a cancel or shutdown. The thread reports by writing a byte to its
 * done pipe, which the loop watches; the loop joins it and runs the
 * callback.
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "filecopy.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define FILECOPY_CHUNK	(256 * 1024)

struct filecopy {
	TAILQ_ENTRY(filecopy)	 entry;
	struct filecopy_pool	*pool;
	pthread_t		 thread;
	int			 fd;		/* the source */
	int			 cancel[2];	/* loop -> thread */
	int			 done[2];	/* thread -> loop */
	struct event		*done_ev;
	atomic_bool		 cancelled;
	int64_t			 max;
	char			*src;		/* verify: the file to check */
	int			 dst;		/* out: where to copy, or -1 */
	bool			 sync;		/* sync fd's data, nothing else */
	int64_t			 drop_from;	/* sync: then drop [from, to) */
	int64_t			 drop_to;	/* from the page cache */
	bool			 hashed;	/* verify: checked already */
	char			 expect[FILECOPY_HEX + 1];
	filecopy_cb		 cb;
	void			*arg;
	/* the thread's result */
	const char		*code;
	char			 why[256];
	char			 sha256[FILECOPY_HEX + 1];
	int64_t			 size;
};

struct filecopy_pool {
	struct event_base	*base;
	char			*dir;
	TAILQ_HEAD(, filecopy)	 copies;
	int			 n;
};

struct filecopy_pool *
filecopy_pool_new(struct event_base *base, const char *dir)
{
	struct filecopy_pool *fp = xcalloc(1, sizeof(*fp));

	fp->base = base;
	fp->dir = xstrdup(dir);
	TAILQ_INIT(&fp->copies);
	return fp;
}

int
filecopy_pool_busy(const struct filecopy_pool *fp)
{
	return fp->n;
}

static void
copy_free(struct filecopy *fc)
{
	pthread_join(fc->thread, NULL);
	TAILQ_REMOVE(&fc->pool->copies, fc, entry);
	fc->pool->n--;
	event_free(fc->done_ev);
	close(fc->cancel[0]);
	close(fc->cancel[1]);
	close(fc->done[0]);
	close(fc->done[1]);
	free(fc->src);
	free(fc);
}

void
filecopy_pool_free(struct filecopy_pool *fp)
{
	struct filecopy *fc;

	if (fp == NULL)
		return;
	while ((fc = TAILQ_FIRST(&fp->copies)) != NULL) {
		filecopy_cancel(fc);
		copy_free(fc);
	}
	free(fp->dir);
	free(fp);
}

static int
fail(struct filecopy *fc, const char *code, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));

static int
fail(struct filecopy *fc, const char *code, const char *fmt, ...)
{
	va_list ap;

	fc->code = code;
	va_start(ap, fmt);
	vsnprintf(fc->why, sizeof(fc->why), fmt, ap);
	va_end(ap);
	return -1;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read the source into out, hashing; 0 at its end, -1 with fc->code. */
static int
copy_data(struct filecopy *fc, int out, gnutls_hash_hd_t hd, char *buf)
{
	struct pollfd pfd[2];
	ssize_t n;

	for (;;) {
		pfd[0].fd = fc->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = fc->cancel[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return fail(fc, ERR_INTERNAL, "poll: %s", strerror(errno));
		}
		if (atomic_load(&fc->cancelled) || pfd[1].revents != 0)
			return fail(fc, ERR_INTERNAL, "cancelled");
		if ((n = read(fc->fd, buf, FILECOPY_CHUNK)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fail(fc, ERR_INVALID_ARGUMENT, "cannot read the "
			    "file: %s", strerror(errno));
		}
		if (n == 0)
			return 0;
		if (fc->size + n > fc->max)
			return fail(fc, ERR_INVALID_ARGUMENT, "larger than "
			    "files.max_size (%lld bytes)", (long long)fc->max);
		if (write_all(out, buf, (size_t)n) == -1)
			return fail(fc, errno == ENOSPC ? ERR_NO_SPACE : ERR_INTERNAL,
			    "cannot store the file: %s", strerror(errno));
		gnutls_hash(hd, buf, (size_t)n);
		fc->size += n;
	}
}

/*
 * Verify: hash fc->src; if it is fc->expect, sync it and rename it into
 * the store (or drop it when that content is there already); else, or
 * on an error, remove it.
 */
static void
verify_run(struct filecopy *fc)
{
	char final[4096], *buf = xmalloc(FILECOPY_CHUNK);
	unsigned char md[32];
	gnutls_hash_hd_t hd = NULL;
	struct stat st;
	ssize_t n;
	int dfd;

	if (fc->hashed) {		/* by the caller, as it wrote it */
		snprintf(fc->sha256, sizeof(fc->sha256), "%s", fc->expect);
		if (fstat(fc->fd, &st) == -1) {
			fail(fc, ERR_INTERNAL, "cannot read the file received: %s",
			    strerror(errno));
			goto out;
		}
		fc->size = st.st_size;
		goto store;
	}
	if (gnutls_hash_init(&hd, GNUTLS_DIG_SHA256) < 0) {
		fail(fc, ERR_INTERNAL, "cannot hash");
		goto out;
	}
	while ((n = read(fc->fd, buf, FILECOPY_CHUNK)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || atomic_load(&fc->cancelled)) {
			fail(fc, ERR_INTERNAL, "cannot read the file received: %s",
			    n == -1 ? strerror(errno) : "cancelled");
			goto out;
		}
		gnutls_hash(hd, buf, (size_t)n);
		fc->size += n;
	}
	gnutls_hash_deinit(hd, md);
	hd = NULL;
	util_hex(md, 32, fc->sha256);
	if (strcmp(fc->sha256, fc->expect) != 0) {
		fail(fc, ERR_BAD_FRAME, "the file received has sha256 %s, not the "
		    "%s offered", fc->sha256, fc->expect);
		unlink(fc->src);
		goto out;
	}
store:
	snprintf(final, sizeof(final), "%s/%s", fc->pool->dir, fc->sha256);
	if (stat(final, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size == fc->size)
		unlink(fc->src);
	else if (fdatasync(fc->fd) == -1 || rename(fc->src, final) == -1) {
		fail(fc, errno == ENOSPC ? ERR_NO_SPACE : ERR_INTERNAL,
		    "cannot store the file received: %s", strerror(errno));
		goto out;
	} else if ((dfd = open(fc->pool->dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	fc->code = NULL;
out:
	if (hd != NULL)
		gnutls_hash_deinit(hd, NULL);
	free(buf);
}

/* Write all of buf to fc->dst, a pipe a PIPE_BUF at a time once polled. */
static int
out_write(struct filecopy *fc, const char *p, size_t len, bool pipe)
{
	struct pollfd pfd[2];
	size_t n;
	ssize_t r;

	while (len > 0) {
		if (pipe) {
			pfd[0].fd = fc->dst;
			pfd[0].events = POLLOUT;
			pfd[1].fd = fc->cancel[0];
			pfd[1].events = POLLIN;
			if (poll(pfd, 2, -1) == -1) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			if (pfd[1].revents != 0 || atomic_load(&fc->cancelled)) {
				errno = ECANCELED;
				return -1;
			}
		}
		n = pipe && len > 4096 ? 4096 : len;
		if ((r = write(fc->dst, p, n)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Out: the stored file (fc->fd) into the caller's descriptor (fc->dst). */
static void
out_run(struct filecopy *fc)
{
	char *buf = xmalloc(FILECOPY_CHUNK);
	struct stat st;
	bool pipe;
	ssize_t n;

	pipe = fstat(fc->dst, &st) == 0 && !S_ISREG(st.st_mode);
	while ((n = read(fc->fd, buf, FILECOPY_CHUNK)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fail(fc, ERR_INTERNAL, "cannot read the stored file: %s",
			    strerror(errno));
			goto out;
		}
		if (out_write(fc, buf, (size_t)n, pipe) == -1) {
			fail(fc, errno == ENOSPC ? ERR_NO_SPACE : ERR_INTERNAL,
			    "cannot write the copy: %s", strerror(errno));
			goto out;
		}
		fc->size += n;
	}
	if (!pipe && fdatasync(fc->dst) == -1) {
		fail(fc, errno == ENOSPC ? ERR_NO_SPACE : ERR_INTERNAL,
		    "cannot write the copy: %s", strerror(errno));
		goto out;
	}
	fc->code = NULL;
out:
	free(buf);
}

static void
copy_run(struct filecopy *fc)
{
	char part[4096], final[4096], *buf = NULL;
	unsigned char md[32];
	gnutls_hash_hd_t hd = NULL;
	int out = -1, dfd = -1;
	struct stat st;

	snprintf(part, sizeof(part), "%s/.part-XXXXXX", fc->pool->dir);
	if ((out = mkostemp(part, O_CLOEXEC)) == -1) {
		fail(fc, ERR_INTERNAL, "cannot create a file in %s: %s",
		    fc->pool->dir, strerror(errno));
		goto out;
	}
	buf = xmalloc(FILECOPY_CHUNK);
	if (gnutls_hash_init(&hd, GNUTLS_DIG_SHA256) < 0) {
		fail(fc, ERR_INTERNAL, "cannot hash");
		goto out;
	}
	if (copy_data(fc, out, hd, buf) == -1)
		goto out;
	gnutls_hash_deinit(hd, md);
	hd = NULL;
	util_hex(md, 32, fc->sha256);
	snprintf(final, sizeof(final), "%s/%s", fc->pool->dir, fc->sha256);
	if (stat(final, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size == fc->size) {
		/* Stored already: keep that one. */
	} else if (fdatasync(out) == -1) {
		fail(fc, errno == ENOSPC ? ERR_NO_SPACE : ERR_INTERNAL, "cannot "
		    "store the file: %s", strerror(errno));
		goto out;
	} else if (rename(part, final) == -1) {
		fail(fc, ERR_INTERNAL, "cannot store the file: %s",
		    strerror(errno));
		goto out;
	} else {
		*part = '\0';
		if ((dfd = open(fc->pool->dir, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) != -1)
			fsync(dfd);
	}
	fc->code = NULL;
out:
	if (hd != NULL)
		gnutls_hash_deinit(hd, NULL);
	if (out != -1)
		close(out);
	if (out != -1 && *part != '\0')
		unlink(part);
	if (dfd != -1)
		close(dfd);
	free(buf);
}

static void *
copy_thread(void *arg)
{
	struct filecopy *fc = arg;
	char b = 1;

	if (fc->sync) {
#ifdef FALLOC_FL_KEEP_SIZE
		/* Best effort: without it, the writes allocate as they go. */
		if (fc->max > 0)
			(void)fallocate(fc->fd, FALLOC_FL_KEEP_SIZE, 0,
			    (off_t)fc->max);
#endif
		if (fdatasync(fc->fd) == 0) {
			fc->code = NULL;
			/* Clean now: their pages go back to be reused. */
			if (fc->drop_to > fc->drop_from)
				(void)posix_fadvise(fc->fd, (off_t)fc->drop_from,
				    (off_t)(fc->drop_to - fc->drop_from),
				    POSIX_FADV_DONTNEED);
		} else
			fail(fc, errno == ENOSPC ? ERR_NO_SPACE : ERR_INTERNAL,
			    "cannot sync the file: %s", strerror(errno));
	} else if (fc->dst != -1)
		out_run(fc);
	else if (fc->src != NULL)
		verify_run(fc);
	else
		copy_run(fc);
	close(fc->fd);
	if (fc->dst != -1)
		close(fc->dst);
	fc->fd = -1;
	while (write(fc->done[1], &b, 1) == -1 && errno == EINTR)
		;
	return NULL;
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct filecopy *fc = arg;
	filecopy_cb cb = fc->cb;
	void *cbarg = fc->arg;
	char code[64], why[sizeof(fc->why)], sha[FILECOPY_HEX + 1];
	bool ok = fc->code == NULL, cancelled;
	int64_t size = fc->size;

	(void)fd;
	(void)what;
	cancelled = atomic_load(&fc->cancelled);
	snprintf(code, sizeof(code), "%s", ok ? "" : fc->code);
	snprintf(why, sizeof(why), "%s", fc->why);
	snprintf(sha, sizeof(sha), "%s", fc->sha256);
	copy_free(fc);
	if (!cancelled)
		cb(ok ? NULL : code, why, sha, size, cbarg);
}

static struct filecopy *
copy_new(struct filecopy_pool *fp, int fd, int64_t max, const char *src,
    const char *expect, int dst, bool sync, const int64_t *drop, bool hashed,
    filecopy_cb cb, void *arg, const char **why)
{
	struct filecopy *fc;

	if (fp->n >= FILECOPY_MAX) {
		*why = "too many files being stored at once; try again";
		return NULL;
	}
	fc = xcalloc(1, sizeof(*fc));
	fc->pool = fp;
	fc->fd = fd;
	fc->max = max;
	fc->cb = cb;
	fc->arg = arg;
	fc->code = ERR_INTERNAL;
	fc->dst = dst;
	fc->sync = sync;
	if (drop != NULL) {
		fc->drop_from = drop[0];
		fc->drop_to = drop[1];
	}
	fc->hashed = hashed;
	if (src != NULL) {
		fc->src = xstrdup(src);
		snprintf(fc->expect, sizeof(fc->expect), "%s", expect);
	}
	atomic_init(&fc->cancelled, false);
	fc->cancel[0] = fc->cancel[1] = fc->done[0] = fc->done[1] = -1;
	if (pipe2(fc->cancel, O_CLOEXEC) == -1 ||
	    pipe2(fc->done, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    (fc->done_ev = event_new(fp->base, fc->done[0], EV_READ, on_done,
	    fc)) == NULL) {
		*why = "out of descriptors";
		goto fail;
	}
	if (pthread_create(&fc->thread, NULL, copy_thread, fc) != 0) {
		*why = "cannot start a thread";
		goto fail;
	}
	event_add(fc->done_ev, NULL);
	TAILQ_INSERT_TAIL(&fp->copies, fc, entry);
	fp->n++;
	return fc;
fail:
	if (fc->done_ev != NULL)
		event_free(fc->done_ev);
	for (int i = 0; i < 2; i++) {
		if (fc->cancel[i] != -1)
			close(fc->cancel[i]);
		if (fc->done[i] != -1)
			close(fc->done[i]);
	}
	close(fd);
	free(fc->src);
	free(fc);
	return NULL;
}

struct filecopy *
filecopy_start(struct filecopy_pool *fp, int fd, int64_t max, filecopy_cb cb,
    void *arg, const char **why)
{
	return copy_new(fp, fd, max, NULL, NULL, -1, false, NULL, false, cb, arg,
	    why);
}

void
filecopy_cancel(struct filecopy *fc)
{
	char b = 1;

	if (fc == NULL)
		return;
	atomic_store(&fc->cancelled, true);
	while (write(fc->cancel[1], &b, 1) == -1 && errno == EINTR)
		;
}

struct filecopy *
filecopy_verify(struct filecopy_pool *fp, const char *path, const char *expect,
    bool hashed, filecopy_cb cb, void *arg, const char **why)
{
	struct filecopy *fc;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*why = "cannot open the file received";
		return NULL;
	}
	if ((fc = copy_new(fp, fd, INT64_MAX, path, expect, -1, false, NULL, hashed,
	    cb, arg, why)) == NULL)
		return NULL;
	return fc;
}

struct filecopy_hash {
	gnutls_hash_hd_t	 hd;
};

struct filecopy_hash *
filecopy_hash_new(void)
{
	struct filecopy_hash *h = xcalloc(1, sizeof(*h));

	if (gnutls_hash_init(&h->hd, GNUTLS_DIG_SHA256) < 0) {
		free(h);
		return NULL;
	}
	return h;
}

void
filecopy_hash_add(struct filecopy_hash *h, const void *p, size_t n)
{
	gnutls_hash(h->hd, p, n);
}

bool
filecopy_hash_is(struct filecopy_hash *h, const char *expect)
{
	unsigned char md[32];
	char hex[FILECOPY_HEX + 1];

	gnutls_hash_output(h->hd, md);	/* and starts it again */
	util_hex(md, sizeof(md), hex);
	return strcmp(hex, expect) == 0;
}

void
filecopy_hash_free(struct filecopy_hash *h)
{
	if (h == NULL)
		return;
	gnutls_hash_deinit(h->hd, NULL);
	free(h);
}

struct filecopy *
filecopy_sync(struct filecopy_pool *fp, int fd, int64_t reserve,
    int64_t drop_from, int64_t drop_to, filecopy_cb cb, void *arg,
    const char **why)
{
	const int64_t drop[2] = { drop_from, drop_to };
	int dup;

	if ((dup = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		*why = "out of descriptors";
		return NULL;
	}
	return copy_new(fp, dup, reserve, NULL, NULL, -1, true, drop, false,
	    cb, arg, why);
}

struct filecopy *
filecopy_out(struct filecopy_pool *fp, const char *sha256, int dst,
    filecopy_cb cb, void *arg, const char **why)
{
	struct filecopy *fc;
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fp->dir, sha256);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		close(dst);
		*why = "the stored copy is gone";
		return NULL;
	}
	if ((fc = copy_new(fp, fd, INT64_MAX, NULL, NULL, dst, false, NULL, false, cb,
	    arg, why)) == NULL) {
		close(dst);
		return NULL;
	}
	return fc;
}
