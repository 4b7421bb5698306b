/*
 * One worker thread for password hashing. Jobs go in through per-source
 * queues under a mutex, the sources with work in a ring. The worker takes
 * one job at a time from the source that has had the fewest hashed in the
 * last minute, the first in the ring among equals, and sends that source
 * to the back: a source that has not been hashing (someone logging in
 * once) goes before those that have (guessers), and sources with the same
 * use take turns. Finished jobs come back through
 * another queue, and a byte on a pipe wakes the event loop, which runs the
 * callbacks. Password copies are zeroed as soon as the hash is done, or
 * when a job is cancelled before it ran.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hashpool.h"
#include "log.h"
#include "passwd.h"
#include "util.h"

/* A well-formed yescrypt hash of a random string: makes unknown users cost
 * as much as known ones, so timing does not tell which names exist. */
#define DUMMY_HASH \
	"$y$j9T$XA2t0MJd/iOJiARqygxDf0$sgl.XGtBzW0WG6twTf04Ybqn/e0BiDOfcLbzMjjXFi4"

enum hashjob_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct hsource;

struct hashjob {
	TAILQ_ENTRY(hashjob)	 entry;
	struct hashpool		*hp;
	struct hsource		*src;		/* while queued */
	enum hashjob_state	 state;		/* under hp->lock */
	bool			 verify;
	char			*pw;
	size_t			 len;
	char			 hash[PASSWD_HASH_MAX];
	bool			 ok;
	hashjob_cb		 cb;		/* NULL once cancelled */
	void			*arg;
};
TAILQ_HEAD(hashjobq, hashjob);

/* A source with jobs waiting: exists only while it has some. */
struct hsource {
	TAILQ_ENTRY(hsource)	 entry;		/* hp->ring */
	struct hashjobq		 jobs;
	int			 njobs;
	struct husage		*use;
	char			 key[64];
};

/*
 * Jobs run per source in the last HASHPOOL_USE_WINDOW seconds, for the
 * order; sources not seen for longest give their slot to new ones.
 */
#define HASHPOOL_USE_SLOTS	1024
#define HASHPOOL_USE_WINDOW	60.0

struct husage {
	char			 key[64];	/* "" = free */
	double			 start;		/* of the window */
	double			 seen;
	unsigned		 n;
};

struct hashpool {
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	TAILQ_HEAD(, hsource)	 ring;		/* next source to serve first */
	struct husage		 use[HASHPOOL_USE_SLOTS];
	size_t			 nqueued;
	struct hashjobq		 done;
	struct hashpool_stats	 st;
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

/* Take j out of its source's queue (under the lock). */
static void
unqueue(struct hashpool *hp, struct hashjob *j)
{
	struct hsource *s = j->src;

	TAILQ_REMOVE(&s->jobs, j, entry);
	j->src = NULL;
	hp->nqueued--;
	if (--s->njobs == 0) {
		TAILQ_REMOVE(&hp->ring, s, entry);
		free(s);
	}
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The use slot of key (under the lock): its own, a free or the stalest. */
static struct husage *
use_of(struct hashpool *hp, const char *key, double now)
{
	struct husage *u, *stale = &hp->use[0];
	size_t i;

	for (i = 0; i < HASHPOOL_USE_SLOTS; i++) {
		u = &hp->use[i];
		if (u->key[0] != '\0' && strcmp(u->key, key) == 0)
			return u;
		if (u->key[0] == '\0' ? stale->key[0] != '\0' :
		    (stale->key[0] != '\0' && u->seen < stale->seen))
			stale = u;
	}
	snprintf(stale->key, sizeof(stale->key), "%s", key);
	stale->start = stale->seen = now;
	stale->n = 0;
	return stale;
}

/* Jobs run for u in its current window. */
static unsigned
use_count(struct husage *u, double now)
{
	if (now - u->start >= HASHPOOL_USE_WINDOW) {
		u->start = now;
		u->n = 0;
	}
	return u->n;
}

/*
 * The next job (under the lock): from the least used source, the first
 * in the ring among equals; that source goes to the back.
 */
static struct hashjob *
next_job(struct hashpool *hp)
{
	struct hsource *s, *best = NULL;
	struct hashjob *j;
	double now = mono();
	unsigned n, bestn = 0;

	TAILQ_FOREACH(s, &hp->ring, entry) {
		n = use_count(s->use, now);
		if (best == NULL || n < bestn) {
			best = s;
			bestn = n;
		}
	}
	j = TAILQ_FIRST(&best->jobs);
	if (best->njobs > 1) {
		TAILQ_REMOVE(&hp->ring, best, entry);
		TAILQ_INSERT_TAIL(&hp->ring, best, entry);
	}
	best->use->n++;
	best->use->seen = now;
	unqueue(hp, j);
	j->state = JOB_RUNNING;
	return j;
}

static void *
worker(void *arg)
{
	struct hashpool *hp = arg;
	struct hashjob *j;
	char one = 1;

	pthread_mutex_lock(&hp->lock);
	for (;;) {
		while (!hp->quit && TAILQ_EMPTY(&hp->ring))
			pthread_cond_wait(&hp->cond, &hp->lock);
		if (hp->quit)
			break;
		j = next_job(hp);
		pthread_mutex_unlock(&hp->lock);
		job_run(j);
		pthread_mutex_lock(&hp->lock);
		hp->st.ran++;
		j->state = JOB_DONE;
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

	TAILQ_INIT(&hp->ring);
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
	struct hsource *s;

	if (hp == NULL)
		return;
	pthread_mutex_lock(&hp->lock);
	hp->quit = true;
	pthread_cond_signal(&hp->cond);
	pthread_mutex_unlock(&hp->lock);
	pthread_join(hp->thread, NULL);
	while ((s = TAILQ_FIRST(&hp->ring)) != NULL) {
		j = TAILQ_FIRST(&s->jobs);
		unqueue(hp, j);		/* frees s with its last job */
		job_free(j);
	}
	while ((j = TAILQ_FIRST(&hp->done)) != NULL) {
		TAILQ_REMOVE(&hp->done, j, entry);
		job_free(j);
	}
	event_free(hp->ev);
	close(hp->pipe[0]);
	close(hp->pipe[1]);
	pthread_cond_destroy(&hp->cond);
	pthread_mutex_destroy(&hp->lock);
	free(hp);
}

/* The queue of source, made if need be; NULL if it or the pool is full. */
static struct hsource *
source_get(struct hashpool *hp, const char *key)
{
	struct hsource *s;

	if (hp->nqueued >= HASHPOOL_MAX_QUEUED)
		return NULL;
	TAILQ_FOREACH(s, &hp->ring, entry)
		if (strcmp(s->key, key) == 0)
			return s->njobs < HASHPOOL_MAX_PER_SOURCE ? s : NULL;
	s = xcalloc(1, sizeof(*s));
	TAILQ_INIT(&s->jobs);
	snprintf(s->key, sizeof(s->key), "%s", key);
	s->use = use_of(hp, key, mono());
	TAILQ_INSERT_TAIL(&hp->ring, s, entry);
	return s;
}

static struct hashjob *
submit(struct hashpool *hp, const char *source, bool verify, const char *pw,
    size_t len, const char *hash, hashjob_cb cb, void *arg)
{
	struct hashjob *j = xcalloc(1, sizeof(*j));
	struct hsource *s;

	j->hp = hp;
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
	if ((s = source_get(hp, source)) == NULL) {
		hp->st.refused++;
		pthread_mutex_unlock(&hp->lock);
		job_free(j);
		return NULL;
	}
	j->src = s;
	j->state = JOB_QUEUED;
	TAILQ_INSERT_TAIL(&s->jobs, j, entry);
	s->njobs++;
	hp->nqueued++;
	pthread_cond_signal(&hp->cond);
	pthread_mutex_unlock(&hp->lock);
	return j;
}

struct hashjob *
hashpool_hash(struct hashpool *hp, const char *source, const char *pw,
    size_t len, hashjob_cb cb, void *arg)
{
	return submit(hp, source, false, pw, len, NULL, cb, arg);
}

struct hashjob *
hashpool_verify(struct hashpool *hp, const char *source, const char *pw,
    size_t len, const char *hash, hashjob_cb cb, void *arg)
{
	return submit(hp, source, true, pw, len, hash, cb, arg);
}

void
hashjob_cancel(struct hashjob *j)
{
	struct hashpool *hp = j->hp;

	pthread_mutex_lock(&hp->lock);
	if (j->state != JOB_QUEUED) {
		j->cb = NULL;		/* running or done: on_done frees it */
		pthread_mutex_unlock(&hp->lock);
		return;
	}
	unqueue(hp, j);
	hp->st.dropped++;
	pthread_mutex_unlock(&hp->lock);
	job_free(j);
}

void
hashpool_get_stats(struct hashpool *hp, struct hashpool_stats *st)
{
	pthread_mutex_lock(&hp->lock);
	*st = hp->st;
	st->queued = hp->nqueued;
	pthread_mutex_unlock(&hp->lock);
}
