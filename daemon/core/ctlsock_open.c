/*
 * Control socket: the listening socket and new clients. Only the
 * daemon's own uid (or root) may connect.
 *
 * A client may pass one open file (SCM_RIGHTS) with its first request
 * (send-file). A bufferevent reads with read(2), which drops ancillary
 * data and closes the descriptors in it, so a new client's first bytes
 * are read here with recvmsg(2) before its bufferevent is made; the
 * descriptor goes to the first request dispatched (ctlreq_take_fd) and is
 * closed if that request does not take it. From then on the client is
 * ctlsock.c's.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "ctlsock_int.h"
#include "jsonw.h"
#include "listener.h"
#include "proto.h"
#include "util.h"


static void	on_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	on_first(evutil_socket_t, short, void *);

/* Make the socket's directory (0700) or check an existing one. */
static int
prepare_dir(const char *path, char **cause)
{
	char *copy = xstrdup(path), *dir = dirname(copy);
	struct stat st;
	int rc = -1;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		if (asprintf(cause, "cannot create %s: %s", dir, strerror(errno)) < 0)
			*cause = NULL;
	} else if (stat(dir, &st) == -1) {
		if (asprintf(cause, "%s: %s", dir, strerror(errno)) < 0)
			*cause = NULL;
	} else if (!S_ISDIR(st.st_mode) || (st.st_mode & 077) != 0 ||
	    st.st_uid != geteuid()) {
		if (asprintf(cause, "control socket directory %s must be a "
		    "directory owned by uid %u with mode 0700 (it has %04o)", dir,
		    (unsigned)geteuid(), (unsigned)(st.st_mode & 07777)) < 0)
			*cause = NULL;
	} else
		rc = 0;
	free(copy);
	return rc;
}

/* Refuse a socket another daemon is serving; remove a stale one. */
static int
clear_stale(const struct sockaddr_un *sun, char **cause)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live;

	if (fd == -1)
		return 0;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	if (live) {
		if (asprintf(cause, "%s: another daemon is already serving this "
		    "control socket", sun->sun_path) < 0)
			*cause = NULL;
		return -1;
	}
	if (unlink(sun->sun_path) == -1 && errno != ENOENT) {
		if (asprintf(cause, "cannot remove stale %s: %s", sun->sun_path,
		    strerror(errno)) < 0)
			*cause = NULL;
		return -1;
	}
	return 0;
}

struct ctlsock *
ctlsock_open(struct event_base *base, const char *path, unsigned mode_bit,
    const ctl_handler *handlers, void *ctx, size_t max_body, char **cause)
{
	struct ctlsock *cs;
	struct sockaddr_un sun;
	mode_t old;

	*cause = NULL;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		if (asprintf(cause, "control socket path too long: %s", path) < 0)
			*cause = NULL;
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if (prepare_dir(path, cause) == -1 || clear_stale(&sun, cause) == -1)
		return NULL;
	cs = xcalloc(1, sizeof(*cs));
	cs->base = base;
	cs->path = xstrdup(path);
	cs->mode_bit = mode_bit;
	cs->handlers = handlers;
	cs->ctx = ctx;
	cs->max_body = max_body;
	cs->send_timeout = 30.0;
	TAILQ_INIT(&cs->clients);
	old = umask(0177);
	cs->listener = evconnlistener_new_bind(base, on_accept, cs,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (cs->listener == NULL || chmod(path, 0600) == -1 ||
	    listener_guard(base, cs->listener, "control socket") == -1) {
		if (asprintf(cause, "cannot listen on %s: %s", path,
		    strerror(errno)) < 0)
			*cause = NULL;
		ctlsock_close(cs);
		return NULL;
	}
	log_info("ctlsock: listening on %s", path);
	return cs;
}

void
ctlsock_close(struct ctlsock *cs)
{
	struct ctlclient *c;
	struct evbuffer *out;

	if (cs == NULL)
		return;
	while ((c = TAILQ_FIRST(&cs->clients)) != NULL) {
		/*
		 * Best effort: hand what is queued (the reply to `shutdown`)
		 * to the kernel. A socket bufferevent keeps the front of its
		 * output frozen against outside draining; thaw it first.
		 */
		if (c->bev != NULL) {
			out = bufferevent_get_output(c->bev);
			evbuffer_unfreeze(out, 1);
			evbuffer_write(out, bufferevent_getfd(c->bev));
		}
		ctlclient_free(c);
	}
	if (cs->listener != NULL) {
		listener_close(cs->listener);
		unlink(cs->path);
	}
	free(cs->path);
	free(cs);
}

/*
 * Only the daemon's own uid, or root, may use the socket. A refused
 * client is told why in one error line (best effort, the socket is new
 * and its buffer empty) before the connection closes.
 */
static int
peer_allowed(evutil_socket_t fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char line[256];
	int n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("ctlsock: SO_PEERCRED");
		return 0;
	}
	if (cred.uid == geteuid() || cred.uid == 0)
		return 1;
	log_warnx("ctlsock: refused connection from uid %u pid %d (daemon uid %u)",
	    (unsigned)cred.uid, (int)cred.pid, (unsigned)geteuid());
	n = snprintf(line, sizeof(line), "{\"id\":null,\"ok\":false,\"error\":"
	    "{\"code\":\"permission_denied\",\"message\":\"this daemon runs as "
	    "uid %u and serves only that user and root, not uid %u\"}}\n",
	    (unsigned)geteuid(), (unsigned)cred.uid);
	if (n > 0 && (size_t)n < sizeof(line) &&
	    send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
		log_debug("ctlsock: cannot tell uid %u why: %s",
		    (unsigned)cred.uid, strerror(errno));
	return 0;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct ctlsock *cs = arg;
	struct ctlclient *c;

	if (!peer_allowed(fd) || cs->nclients >= CTL_MAX_CLIENTS) {
		if (cs->nclients >= CTL_MAX_CLIENTS)
			log_warnx("ctlsock: too many clients (%d)", cs->nclients);
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->cs = cs;
	c->passed_fd = -1;
	TAILQ_INIT(&c->reqs);
	c->first = event_new(cs->base, fd, EV_READ, on_first, c);
	c->stall = evtimer_new(cs->base, ctlclient_on_stall, c);
	if (c->first == NULL || c->stall == NULL) {
		if (c->first != NULL)
			event_free(c->first);
		if (c->stall != NULL)
			event_free(c->stall);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	event_add(c->first, NULL);
	TAILQ_INSERT_TAIL(&cs->clients, c, entry);
	cs->nclients++;
	log_debug("ctlsock: client connected");
}

/* Keep the first descriptor passed (once), close any other. */
static void
take_passed(struct ctlclient *c, struct msghdr *mh)
{
	struct cmsghdr *cm;
	size_t i, n;
	int fd;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (c->passed_fd == -1)
				c->passed_fd = fd;
			else
				close(fd);
		}
	}
	if (mh->msg_flags & MSG_CTRUNC)
		log_warnx("ctlsock: a client passed more than %d descriptors",
		    CTL_FIRST_FDS);
}

/*
 * The client's first bytes, with any descriptor passed along, then the
 * bufferevent takes the socket over (see the top of this file).
 */
static void
on_first(evutil_socket_t fd, short what, void *arg)
{
	struct ctlclient *c = arg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(CTL_FIRST_FDS * sizeof(int))];
	} cmsg;
	struct msghdr mh;
	struct iovec iov;
	char *buf = xmalloc(CTL_FIRST_READ);
	ssize_t n;

	(void)what;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = CTL_FIRST_READ;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsg.buf;
	mh.msg_controllen = sizeof(cmsg.buf);
	n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)) {
		free(buf);
		event_add(c->first, NULL);
		return;
	}
	if (n <= 0) {
		free(buf);
		log_debug("ctlsock: client gone");
		event_free(c->first);
		c->first = NULL;
		evutil_closesocket(fd);
		ctlclient_free(c);
		return;
	}
	take_passed(c, &mh);
	event_free(c->first);
	c->first = NULL;
	c->bev = bufferevent_socket_new(c->cs->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		free(buf);
		evutil_closesocket(fd);
		ctlclient_free(c);
		return;
	}
	bufferevent_setcb(c->bev, ctlclient_on_read, ctlclient_on_write, ctlclient_on_event, c);
	/* ctlclient_on_write at half the mark resumes reading; see ctlclient_on_read. */
	bufferevent_setwatermark(c->bev, EV_WRITE, CTL_OUT_HIGH / 2, 0);
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev),
	    ctlclient_on_out_change, c);
	/* The bufferevent keeps the end of its input frozen (see ctlclient_on_read). */
	evbuffer_unfreeze(bufferevent_get_input(c->bev), 0);
	evbuffer_add(bufferevent_get_input(c->bev), buf, (size_t)n);
	evbuffer_freeze(bufferevent_get_input(c->bev), 0);
	util_zero(buf, (size_t)n);	/* may hold a password */
	free(buf);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	ctlclient_on_read(c->bev, c);
}
