/*
 * The identity's key file: unencrypted PKCS#8 PEM of one Ed25519 key,
 * in a regular file only its owner may read (0600, refused otherwise),
 * read whole and zeroed after use; made on first start and written
 * atomically (a temporary file, fsync, rename, fsync of the directory).
 * The certificate, fingerprints and signatures are identity.c's.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "identity_int.h"
#include "log.h"
#include "util.h"

#define IDENTITY_KEY_MAX	(64 * 1024)	/* a PEM key file is ~120 bytes */

void
identity_cause(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		abort();
	va_end(ap);
}

/* Zero and free a datum that held private key material. */
void
identity_datum_clear(gnutls_datum_t *d)
{
	if (d->data != NULL) {
		gnutls_memset(d->data, 0, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

/* Read a whole key file; refuse it if group or others may access it. */
static int
identity_read(const char *path, int fd, gnutls_datum_t *out, char **cause)
{
	struct stat st;
	unsigned char *buf;
	ssize_t n = 0;
	size_t len = 0;

	if (fstat(fd, &st) != 0) {
		identity_cause(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		identity_cause(cause, "%s is not a regular file", path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		identity_cause(cause, "%s has mode %04o; must be 0600 "
		    "(chmod 600 %s)", path, (unsigned)(st.st_mode & 07777),
		    path);
		return -1;
	}
	if (st.st_size <= 0 || st.st_size > IDENTITY_KEY_MAX) {
		identity_cause(cause, "%s: bad size %lld", path,
		    (long long)st.st_size);
		return -1;
	}
	buf = xmalloc(IDENTITY_KEY_MAX);
	while (len < IDENTITY_KEY_MAX) {
		n = read(fd, buf + len, IDENTITY_KEY_MAX - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n == -1 || len == 0 || len == IDENTITY_KEY_MAX) {
		identity_cause(cause, "%s: %s", path,
		    n == -1 ? strerror(errno) : "bad size");
		util_zero(buf, IDENTITY_KEY_MAX);
		free(buf);
		return -1;
	}
	out->data = buf;
	out->size = (unsigned int)len;
	return 0;
}

/* Import an existing key file (fd open for reading). */
static int
identity_import(const char *path, int fd, gnutls_x509_privkey_t key,
    char **cause)
{
	gnutls_datum_t pem;
	int r;

	if (identity_read(path, fd, &pem, cause) != 0)
		return -1;
	r = gnutls_x509_privkey_import_pkcs8(key, &pem, GNUTLS_X509_FMT_PEM,
	    NULL, GNUTLS_PKCS_PLAIN);
	util_zero(pem.data, pem.size);
	free(pem.data);
	if (r < 0) {
		identity_cause(cause, "%s: not a PKCS#8 PEM key: %s", path,
		    gnutls_strerror(r));
		return -1;
	}
	if (gnutls_x509_privkey_get_pk_algorithm(key) !=
	    GNUTLS_PK_EDDSA_ED25519) {
		identity_cause(cause, "%s: not an Ed25519 key", path);
		return -1;
	}
	return 0;
}

static int
identity_write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
identity_sync_dir(const char *dir)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if (fsync(fd) != 0)
		log_warn("%s: fsync %s", __func__, dir);
	close(fd);
}

/* Write the PEM to a new 0600 file beside path, then rename it in place. */
static int
identity_store(const char *dir, const char *path, const gnutls_datum_t *pem,
    char **cause)
{
	char *tmp;
	int fd, saved;

	if (asprintf(&tmp, "%s.XXXXXX", path) == -1)
		abort();
	/* mkostemp: O_CREAT | O_EXCL, mode 0600 whatever the umask. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		identity_cause(cause, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (identity_write_all(fd, pem->data, pem->size) != 0 ||
	    fsync(fd) != 0) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		saved = errno;
		goto fail;
	}
	free(tmp);
	identity_sync_dir(dir);
	return 0;

fail:
	identity_cause(cause, "%s: %s", tmp, strerror(saved));
	unlink(tmp);
	free(tmp);
	return -1;
}

/* Make a new Ed25519 key and store it at path. */
static int
identity_generate(const char *dir, const char *path, gnutls_x509_privkey_t key,
    char **cause)
{
	gnutls_datum_t pem = { NULL, 0 };
	int r;

	if ((r = gnutls_x509_privkey_generate(key, GNUTLS_PK_EDDSA_ED25519, 0,
	    0)) < 0) {
		identity_cause(cause, "generating key: %s", gnutls_strerror(r));
		return -1;
	}
	if ((r = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM,
	    NULL, GNUTLS_PKCS_PLAIN, &pem)) < 0) {
		identity_cause(cause, "exporting key: %s", gnutls_strerror(r));
		return -1;
	}
	r = identity_store(dir, path, &pem, cause);
	identity_datum_clear(&pem);
	if (r == 0)
		log_info("%s: new identity key in %s", __func__, path);
	return r;
}

/* Open the key file, or make one if there is none. */
int
identity_key(const char *dir, const char *name, gnutls_x509_privkey_t key,
    char **cause)
{
	char *path;
	int fd, r;

	if (asprintf(&path, "%s/%s", dir, name) == -1)
		abort();
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		r = identity_generate(dir, path, key, cause);
	else if (fd == -1) {
		identity_cause(cause, "%s: %s", path, strerror(errno));
		r = -1;
	} else {
		r = identity_import(path, fd, key, cause);
		close(fd);
	}
	free(path);
	return r;
}
