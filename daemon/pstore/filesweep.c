/*
 * The file store's sweep (see filesweep.h): renamed on the loop, unlinked
 * on a thread of its own, one sweep's thread at a time.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filesweep.h"
#include "log.h"
#include "util.h"

#define SWEEP_STEP	(64 * 1024 * 1024)	/* given back at a time */

struct filesweep {
	char		*dir;
	pthread_t	 thread;
	bool		 started;	/* thread to join */
	atomic_bool	 running;
	char		**paths;	/* the thread's, while it runs */
	size_t		 n;
	unsigned	 seq;		/* .gone-<seq>-<name>: never twice */
};

struct filesweep *
filesweep_new(const char *dir)
{
	struct filesweep *fw = xcalloc(1, sizeof(*fw));

	fw->dir = xstrdup(dir);
	atomic_init(&fw->running, false);
	return fw;
}

static void
paths_free(struct filesweep *fw)
{
	size_t i;

	for (i = 0; i < fw->n; i++)
		free(fw->paths[i]);
	free(fw->paths);
	fw->paths = NULL;
	fw->n = 0;
}

static void
sweep_join(struct filesweep *fw)
{
	if (!fw->started)
		return;
	pthread_join(fw->thread, NULL);
	fw->started = false;
	paths_free(fw);
}

void
filesweep_free(struct filesweep *fw)
{
	if (fw == NULL)
		return;
	sweep_join(fw);
	free(fw->dir);
	free(fw);
}

/*
 * A large file's blocks given back SWEEP_STEP at a time, each step synced,
 * before its unlink: an unlink of 1 GiB on ext4 frees (and, mounted with
 * discard, discards) them all in one journal commit, which every fsync
 * on the file system waits for, a chat line's commit too (a 1 GiB
 * unlink: fsyncs beside it up to 36 ms; in steps of 64 MiB, up to 10).
 * Nothing reads it any more: it is out of the store's names, and the
 * caller sweeps only while no copy runs. Best effort.
 */
static void
sweep_shrink(const char *path)
{
	struct stat st;
	off_t size;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		for (size = st.st_size; size > SWEEP_STEP;) {
			size -= SWEEP_STEP;
			if (ftruncate(fd, size) == -1 || fsync(fd) == -1)
				break;
		}
	close(fd);
}

static void *
sweep_thread(void *arg)
{
	struct filesweep *fw = arg;
	size_t i;

	for (i = 0; i < fw->n; i++) {
		sweep_shrink(fw->paths[i]);
		if (unlink(fw->paths[i]) == -1 && errno != ENOENT)
			log_warn("%s: %s", __func__, fw->paths[i]);
	}
	atomic_store(&fw->running, false);
	return NULL;
}

static void
add_path(struct filesweep *fw, size_t *cap, const char *name)
{
	char **p;

	if (fw->n == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		if ((p = realloc(fw->paths, *cap * sizeof(*p))) == NULL)
			fatalx("%s: out of memory", __func__);
		fw->paths = p;
	}
	if (asprintf(&fw->paths[fw->n], "%s/%s", fw->dir, name) == -1)
		fatalx("%s: out of memory", __func__);
	fw->n++;
}

int
filesweep_run(struct filesweep *fw, bool parts,
    bool (*unneeded)(const char *, void *), void *arg)
{
	char from[4400], to[4400], gone[300];
	struct dirent *de;
	size_t cap = 0;
	int moved = 0;
	DIR *d;

	if (atomic_load(&fw->running))
		return -1;
	sweep_join(fw);
	if ((d = opendir(fw->dir)) == NULL) {
		log_warn("%s: %s", __func__, fw->dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, ".gone-", 6) == 0 || (parts &&
		    strncmp(de->d_name, ".part-", 6) == 0)) {
			add_path(fw, &cap, de->d_name);
			continue;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    !unneeded(de->d_name, arg))
			continue;
		snprintf(gone, sizeof(gone), ".gone-%u-%s", fw->seq++, de->d_name);
		snprintf(from, sizeof(from), "%s/%s", fw->dir, de->d_name);
		snprintf(to, sizeof(to), "%s/%s", fw->dir, gone);
		if (rename(from, to) == -1) {
			if (errno != ENOENT)
				log_warn("%s: %s", __func__, from);
			continue;
		}
		add_path(fw, &cap, gone);
		moved++;
	}
	closedir(d);
	if (fw->n == 0)
		return moved;
	atomic_store(&fw->running, true);
	if (pthread_create(&fw->thread, NULL, sweep_thread, fw) != 0) {
		log_warnx("%s: cannot start a thread; the next sweep unlinks "
		    "them", __func__);
		atomic_store(&fw->running, false);
		paths_free(fw);
		return moved;
	}
	fw->started = true;
	return moved;
}
