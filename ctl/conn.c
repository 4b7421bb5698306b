/*
 * p2pchatctl's connection to the control socket. A request is one JSON
 * line written whole; what comes back is read into one growing buffer and
 * taken a line at a time, each line a JSON object: a reply, matched to its
 * request by id, or an event of a stream. SIGINT and SIGTERM set
 * ctlconn_stop so that a stream ends cleanly.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "output.h"
#include "proto.h"
#include "report.h"
#include "util.h"

volatile sig_atomic_t	 ctlconn_stop;
static sigset_t		 wait_mask;
static bool		 signals_caught;

void
ctlconn_closed(void)
{
	report_die(CTL_EXIT_NODAEMON, "daemon_gone", "the daemon closed the "
	    "connection (it stopped or was killed)");
}

void
ctlconn_stream_ended(void)
{
	report_die(CTL_EXIT_FAIL, "daemon_gone", "the daemon closed the "
	    "connection (it stopped or was killed)");
}

/* Who may use path: the socket's owner and mode, else its directory's. */
static void
describe_owner(const char *path, char *out, size_t outlen)
{
	char dir[sizeof(((struct sockaddr_un *)NULL)->sun_path)], *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	if (stat(path, &st) == 0)
		snprintf(out, outlen, "the socket belongs to uid %u, mode %03o",
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	else if (stat(dir, &st) == 0)
		snprintf(out, outlen, "its directory %s belongs to uid %u, mode "
		    "%03o", dir, (unsigned)st.st_uid,
		    (unsigned)(st.st_mode & 07777));
	else
		snprintf(out, outlen, "a directory above it is closed to us");
}

/* connect(2) failed: no daemon, or a daemon we may not use. */
static void
connect_failed(const char *path)
{
	int errnum = errno;
	char who[200];

	if (errnum == EACCES || errnum == EPERM) {
		describe_owner(path, who, sizeof(who));
		report_die(CTL_EXIT_FAIL, "permission_denied", "access to the "
		    "control socket %s refused: %s; p2pchatctl runs as uid %u "
		    "(only the daemon's user and root may use it)", path, who,
		    (unsigned)geteuid());
	}
	errno = errnum;
	report_die_errno(CTL_EXIT_NODAEMON, "no_daemon", "no daemon at %s", path);
}

static void
on_signal(int sig)
{
	(void)sig;
	ctlconn_stop = 1;
}

/*
 * SIGINT and SIGTERM end a stream cleanly. They stay blocked except
 * inside ctlconn_poll(), so one arriving just before a wait is not lost.
 */
void
ctlconn_catch_signals(void)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
	signals_caught = true;
}

int
ctlconn_poll(struct pollfd *pfd, nfds_t n, int timeout_ms)
{
	struct timespec ts, *tsp = NULL;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
		tsp = &ts;
	}
	return ppoll(pfd, n, tsp, signals_caught ? &wait_mask : NULL);
}

/*
 * Who listens: the kernel's record of the process that created the
 * listening socket (SO_PEERCRED). A socket other users may replace (a
 * loosened directory) could be a fake daemon waiting for a password, so
 * nothing is sent to a listener that is neither this user nor root; root
 * (an administrator of a service account's daemon) also trusts the owner
 * of the socket's directory when no one else may write to that directory.
 * Exits 1 ("foreign_socket") before a byte is written.
 */
static void
check_listener(int fd, const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)NULL)->sun_path)], *slash;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct stat st;
	uid_t me = geteuid();

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    len != sizeof(cred))
		report_die_errno(CTL_EXIT_FAIL, "foreign_socket", "cannot "
		    "tell who listens at %s; nothing sent", path);
	if (cred.uid == me || cred.uid == 0)
		return;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (me == 0 && stat(dir, &st) == 0 && st.st_uid == cred.uid &&
	    (st.st_mode & (S_IWGRP | S_IWOTH)) == 0)
		return;
	report_die(CTL_EXIT_FAIL, "foreign_socket", "the control socket %s "
	    "is held by uid %u (pid %ld), not by uid %u or root: another "
	    "user's socket, not your daemon; nothing sent", path,
	    (unsigned)cred.uid, (long)cred.pid, (unsigned)me);
}

void
ctlconn_connect(struct ctlconn *c, const char *path)
{
	struct sockaddr_un sun;

	memset(c, 0, sizeof(*c));
	c->path = path;
	c->next_id = 1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		connect_failed(path);
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		connect_failed(path);
	check_listener(c->fd, path);
}

void
ctlconn_close(struct ctlconn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The daemon closed before taking the request: if it said why first
 * (a uid it refuses), report that.
 */
static void
refused_or_closed(struct ctlconn *c)
{
	json_t *r, *error;

	while (ctlconn_fill(c) != 0)
		;
	if ((r = ctlconn_take(c)) != NULL &&
	    ctlconn_reply(r, c->next_id, &error) == NULL)
		exit(output_error(error));
	ctlconn_closed();
}

/* write_all() for the first bytes, with fd passed along (SCM_RIGHTS). */
static int
write_all_fd(int sock, const char *p, size_t len, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsg;
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	memset(&cmsg, 0, sizeof(cmsg));
	iov.iov_base = (void *)p;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsg.buf;
	mh.msg_controllen = sizeof(cmsg.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	while ((n = sendmsg(sock, &mh, MSG_NOSIGNAL)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return -1;
	return write_all(sock, p + n, len - (size_t)n);
}

json_int_t
ctlconn_request(struct ctlconn *c, const char *cmd, json_t *args)
{
	return ctlconn_request_fd(c, cmd, args, -1);
}

json_int_t
ctlconn_request_fd(struct ctlconn *c, const char *cmd, json_t *args, int fd)
{
	json_int_t id = c->next_id;
	json_t *req;
	size_t len;
	char *buf;
	int rc;

	req = json_pack("{s:I, s:s, s:O}", "id", id, "cmd", cmd, "args", args);
	buf = output_dump(req, 1, &len);
	json_decref(req);
	buf[len++] = '\n';
	if (len > P2P_CTL_LINE_MAX) {
		util_zero(buf, len);
		free(buf);
		report_warn("invalid_argument", "request too long (%zu bytes, the "
		    "limit is %d)", len,
		    P2P_CTL_LINE_MAX);
		return -1;
	}
	rc = fd == -1 ? write_all(c->fd, buf, len) :
	    write_all_fd(c->fd, buf, len, fd);
	util_zero(buf, len);
	free(buf);
	if (rc == -1)
		refused_or_closed(c);
	c->next_id++;
	return id;
}

int
ctlconn_fill(struct ctlconn *c)
{
	ssize_t n;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
		c->line = NULL;
	}
	if (c->cap - c->len < 65536) {
		c->cap = c->cap * 2 > c->len + 65536 ? c->cap * 2 :
		    c->len + 65536;
		if ((c->buf = realloc(c->buf, c->cap)) == NULL)
			abort();
	}
	while ((n = read(c->fd, c->buf + c->len, c->cap - c->len)) == -1 &&
	    errno == EINTR)
		;
	if (n <= 0)
		return 0;
	c->len += (size_t)n;
	return 1;
}

json_t *
ctlconn_take(struct ctlconn *c)
{
	char *start, *nl;
	json_t *obj;
	size_t n;

	if (c->buf == NULL)	/* nothing read yet (NULL + 0 is undefined) */
		return NULL;
	for (;;) {
		start = c->buf + c->off;
		nl = c->len > c->off + c->scan ? memchr(start + c->scan, '\n',
		    c->len - c->off - c->scan) : NULL;
		if (nl == NULL) {
			if ((c->scan = c->len - c->off) > CTL_REPLY_MAX)
				report_bad_reply();
			return NULL;
		}
		n = (size_t)(nl - start);
		c->off += n + 1;
		c->scan = 0;
		if (n > 0 && start[n - 1] == '\r')
			n--;
		if (n > 0)
			break;
	}
	c->line = start;
	c->linelen = n;
	if ((obj = json_loadb(start, n, 0, NULL)) == NULL ||
	    !json_is_object(obj))
		report_bad_reply();
	return obj;
}

json_t *
ctlconn_recv(struct ctlconn *c)
{
	struct pollfd pfd;
	json_t *obj;

	for (;;) {
		if ((obj = ctlconn_take(c)) != NULL)
			return obj;
		if (ctlconn_stop)
			return NULL;
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		if (ctlconn_poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			report_die_errno(CTL_EXIT_FAIL, "io_error", "poll");
		}
		if (ctlconn_fill(c) == 0)
			return NULL;
	}
}

json_t *
ctlconn_reply(json_t *r, json_int_t id, json_t **error)
{
	json_t *jid = json_object_get(r, "id"), *ok = json_object_get(r, "ok");
	json_t *res, *e;

	*error = NULL;
	if (!json_is_boolean(ok))
		report_bad_reply();
	if (json_is_true(ok)) {
		if (!json_is_integer(jid) || json_integer_value(jid) != id)
			report_bad_reply();
		if ((res = json_object_get(r, "result")) == NULL ||
		    json_is_null(res)) {
			res = json_object();
			json_object_set_new(r, "result", res);
		}
		if (!json_is_object(res))
			report_bad_reply();
		return res;
	}
	/* A line the daemon could not read gets an error with a null id. */
	if (!json_is_null(jid) &&
	    (!json_is_integer(jid) || json_integer_value(jid) != id))
		report_bad_reply();
	e = json_object_get(r, "error");
	if (!json_is_object(e) || !json_is_string(json_object_get(e, "code")))
		report_bad_reply();
	*error = e;
	return NULL;
}

/* The reply to the one request in flight; events before it are skipped. */
json_t *
ctlconn_recv_reply(struct ctlconn *c)
{
	json_t *r;

	while ((r = ctlconn_recv(c)) != NULL &&
	    json_object_get(r, "event") != NULL)
		json_decref(r);
	if (r == NULL && ctlconn_stop)
		exit(CTL_EXIT_OK);
	if (r == NULL)
		ctlconn_closed();
	return r;
}

