/*
 * The daemon's directories before it serves: data_dir made (0700, with
 * parents) and locked for this one process, and the same paths checked
 * without creating anything for --check-config.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datadir.h"
#include "log.h"
#include "util.h"

/* data_dir exists: a directory others cannot enter, or refused. */
static int
check_data_dir(const char *dir, const struct stat *st, char **cause)
{
	if (S_ISDIR(st->st_mode) && (st->st_mode & 077) == 0)
		return 0;
	if (asprintf(cause, "data_dir %s has mode %04o; it must be a directory "
	    "with mode 0700 (chmod 700 %s)", dir, (unsigned)(st->st_mode & 07777),
	    dir) < 0)
		*cause = NULL;
	return -1;
}

/* A path that does not exist yet: its nearest existing parent is writable. */
static int
check_creatable(const char *what, const char *path, char **cause)
{
	char *p = xstrdup(path), *slash;
	const char *dir;
	struct stat st;
	int rc = 0;

	while (access(p, F_OK) == -1 && (slash = strrchr(p, '/')) != NULL) {
		if (slash == p) {
			p[1] = '\0';
			break;
		}
		*slash = '\0';
	}
	dir = access(p, F_OK) == 0 ? p : ".";
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    access(dir, W_OK | X_OK) == -1) {
		if (asprintf(cause, "cannot create %s %s: %s is not a directory "
		    "this user may write to", what, path, dir) < 0)
			*cause = NULL;
		rc = -1;
	}
	free(p);
	return rc;
}

int
datadir_prepare(const char *dir, char **cause)
{
	char *p = xstrdup(dir), *s;
	struct stat st;
	int rc = 0;

	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) == -1 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (mkdir(p, 0700) == -1 && errno != EEXIST)
		rc = -1;
	free(p);
	if (rc == -1 || stat(dir, &st) == -1) {
		if (asprintf(cause, "cannot create data_dir %s: %s", dir,
		    strerror(errno)) < 0)
			*cause = NULL;
		return -1;
	}
	return check_data_dir(dir, &st, cause);
}

int
datadir_check(const struct config *c, char **cause)
{
	char *key = NULL, *copy = xstrdup(c->control_socket);
	const char *sockdir = dirname(copy);
	struct stat st;
	int rc = -1;

	if (stat(c->data_dir, &st) == 0) {
		if (check_data_dir(c->data_dir, &st, cause) == -1)
			goto out;
	} else if (check_creatable("data_dir", c->data_dir, cause) == -1)
		goto out;
	if (asprintf(&key, "%s/identity.key", c->data_dir) < 0)
		abort();
	if (stat(key, &st) == 0 && (!S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0)) {
		if (asprintf(cause, "%s has mode %04o; it must be a file with "
		    "mode 0600 (chmod 600 %s)", key, (unsigned)(st.st_mode & 07777),
		    key) < 0)
			*cause = NULL;
		goto out;
	}
	if (stat(sockdir, &st) == 0) {
		if (!S_ISDIR(st.st_mode) || (st.st_mode & 077) != 0 ||
		    st.st_uid != geteuid()) {
			if (asprintf(cause, "control socket directory %s must be a "
			    "directory owned by uid %u with mode 0700 (it has %04o)",
			    sockdir, (unsigned)geteuid(),
			    (unsigned)(st.st_mode & 07777)) < 0)
				*cause = NULL;
			goto out;
		}
	} else if (check_creatable("control socket directory", sockdir,
	    cause) == -1)
		goto out;
	rc = 0;
out:
	free(key);
	free(copy);
	return rc;
}

int
datadir_lock(const char *dir, char **cause)
{
	char path[4096], pid[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/p2pchatd.lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		if (asprintf(cause, "cannot open %s: %s", path, strerror(errno)) < 0)
			*cause = NULL;
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if ((n = read(fd, pid, sizeof(pid) - 1)) > 0)
			pid[strcspn(pid, "\n")] = '\0';
		if (asprintf(cause, "another p2pchatd (pid %s) is using data_dir "
		    "%s", *pid ? pid : "unknown", dir) < 0)
			*cause = NULL;
		close(fd);
		return -1;
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, pid, strlen(pid)) == -1)
		log_warn("%s: %s", __func__, path);
	return fd;	/* kept open: the lock lives as long as the process */
}
