/*
 * One worker thread for password hashing. Jobs go in through a queue
 * under a mutex; finished jobs come back through another queue, and a
 * byte on a pipe wakes the event loop, which runs the callbacks. Password
 * copies are zeroed as soon as the hash is done.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hashpool.h"
#include "log.h"
#include "passwd.h"
#include "util.h"

/* A well-formed yescrypt hash of a random string: makes unknown users cost
 * as much as known ones, so timing does not tell which names exist. */
#define DUMMY_HASH \
	"$y$j9T$XA2t0MJd/iOJiARqygxDf0$sgl.XGtBzW0WG6twTf04Ybqn/e0BiDOfcLbzMjjXFi4"

struct hashjob {
	TAILQ_ENTRY(hashjob)	 entry;
	bool			 verify;
	char			*pw;
	size_t			 len;
	char			 hash[PASSWD_HASH_MAX];
	bool			 ok;
	hashjob_cb		 cb;		/* NULL once cancelled */
	void			*arg;
};
TAILQ_HEAD(hashjobq, hashjob);

struct hashpool {
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct hashjobq		 todo, done;
	bool			 quit;
	int			 pipe[2];
	struct event		*ev;
};

static void
job_free(struct hashjob *j)
{
	if (j->pw != NULL) {
		util_zero(j->pw, j->len);
		free(j->pw);
	}
	util_zero(j->hash, sizeof(j->hash));
	free(j);
}

static void
job_run(struct hashjob *j)
{
	if (j->verify)
		j->ok = passwd_verify(j->pw, j->len, j->hash);
	else
		j->ok = passwd_hash(j->pw, j->len, j->hash, sizeof(j->hash)) == 0;
	util_zero(j->pw, j->len);
}

static void *
worker(void *arg)
{
	struct hashpool *hp = arg;
	struct hashjob *j;
	char one = 1;

	pthread_mutex_lock(&hp->lock);
	for (;;) {
		while (!hp->quit && TAILQ_EMPTY(&hp->todo))
			pthread_cond_wait(&hp->cond, &hp->lock);
		if (hp->quit)
			break;
		j = TAILQ_FIRST(&hp->todo);
		TAILQ_REMOVE(&hp->todo, j, entry);
		pthread_mutex_unlock(&hp->lock);
		job_run(j);
		pthread_mutex_lock(&hp->lock);
		TAILQ_INSERT_TAIL(&hp->done, j, entry);
		while (write(hp->pipe[1], &one, 1) == -1 && errno == EINTR)
			;
	}
	pthread_mutex_unlock(&hp->lock);
	return NULL;
}

/* On the loop: run the callbacks of finished jobs. */
static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct hashpool *hp = arg;
	struct hashjobq q;
	struct hashjob *j;
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	TAILQ_INIT(&q);
	pthread_mutex_lock(&hp->lock);
	TAILQ_CONCAT(&q, &hp->done, entry);
	pthread_mutex_unlock(&hp->lock);
	while ((j = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, j, entry);
		if (j->cb != NULL)
			j->cb(j->ok, j->verify ? NULL : j->hash, j->arg);
		job_free(j);
	}
}

struct hashpool *
hashpool_new(struct event_base *base, char **cause)
{
	struct hashpool *hp = xcalloc(1, sizeof(*hp));

	TAILQ_INIT(&hp->todo);
	TAILQ_INIT(&hp->done);
	pthread_mutex_init(&hp->lock, NULL);
	pthread_cond_init(&hp->cond, NULL);
	if (pipe2(hp->pipe, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    (hp->ev = event_new(base, hp->pipe[0], EV_READ | EV_PERSIST, on_done,
	    hp)) == NULL || event_add(hp->ev, NULL) == -1 ||
	    pthread_create(&hp->thread, NULL, worker, hp) != 0) {
		if (asprintf(cause, "cannot start the hashing thread: %s",
		    strerror(errno)) < 0)
			*cause = NULL;
		return NULL;
	}
	return hp;
}

void
hashpool_free(struct hashpool *hp)
{
	struct hashjob *j;

	if (hp == NULL)
		return;
	pthread_mutex_lock(&hp->lock);
	hp->quit = true;
	pthread_cond_signal(&hp->cond);
	pthread_mutex_unlock(&hp->lock);
	pthread_join(hp->thread, NULL);
	TAILQ_CONCAT(&hp->todo, &hp->done, entry);
	while ((j = TAILQ_FIRST(&hp->todo)) != NULL) {
		TAILQ_REMOVE(&hp->todo, j, entry);
		job_free(j);
	}
	event_free(hp->ev);
	close(hp->pipe[0]);
	close(hp->pipe[1]);
	pthread_cond_destroy(&hp->cond);
	pthread_mutex_destroy(&hp->lock);
	free(hp);
}

static struct hashjob *
submit(struct hashpool *hp, bool verify, const char *pw, size_t len,
    const char *hash, hashjob_cb cb, void *arg)
{
	struct hashjob *j = xcalloc(1, sizeof(*j));

	j->verify = verify;
	j->pw = xmalloc(len + 1);
	memcpy(j->pw, pw, len);
	j->pw[len] = '\0';
	j->len = len;
	if (verify)
		snprintf(j->hash, sizeof(j->hash), "%s",
		    hash != NULL ? hash : DUMMY_HASH);
	j->cb = cb;
	j->arg = arg;
	pthread_mutex_lock(&hp->lock);
	TAILQ_INSERT_TAIL(&hp->todo, j, entry);
	pthread_cond_signal(&hp->cond);
	pthread_mutex_unlock(&hp->lock);
	return j;
}

struct hashjob *
hashpool_hash(struct hashpool *hp, const char *pw, size_t len, hashjob_cb cb,
    void *arg)
{
	return submit(hp, false, pw, len, NULL, cb, arg);
}

struct hashjob *
hashpool_verify(struct hashpool *hp, const char *pw, size_t len,
    const char *hash, hashjob_cb cb, void *arg)
{
	return submit(hp, true, pw, len, hash, cb, arg);
}

void
hashjob_cancel(struct hashjob *j)
{
	j->cb = NULL;
}
