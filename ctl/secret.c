/*
 * p2pchatctl's password handling: read from --password-file, else
 * prompted on /dev/tty with echo off (twice for register), else one line
 * of standard input; then put into the request's arguments. Every copy is
 * zeroed once used, including the ones jansson makes, through allocation
 * functions that zero what they free.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "proto.h"
#include "secret.h"
#include "report.h"
#include "util.h"
#include "valid.h"

static int		 tty_fd = -1;
static struct termios	 tty_saved;

/*
 * jansson's allocations remember their size so that freeing zeroes them:
 * the password passes through jansson strings on its way to the socket.
 */
union alloc_hdr {
	size_t		size;
	max_align_t	align;
};

static void *
secure_malloc(size_t n)
{
	union alloc_hdr *h;

	if (n > SIZE_MAX - sizeof(*h) || (h = malloc(sizeof(*h) + n)) == NULL)
		return NULL;
	h->size = n;
	return h + 1;
}

static void
secure_free(void *p)
{
	union alloc_hdr *h;

	if (p == NULL)
		return;
	h = (union alloc_hdr *)p - 1;
	util_zero(h + 1, h->size);
	free(h);
}

/* Make jansson zero every allocation it frees; call before any JSON. */
void
secret_init(void)
{
	json_set_alloc_funcs(secure_malloc, secure_free);
}

/*
 * One line of a secret, byte by byte so nothing beyond it is consumed and
 * no stdio buffer keeps a copy. A line too long for buf fills it, so that
 * the length check then refuses it. Returns the length or -1.
 */
static ssize_t
read_secret(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	char c;

	for (;;) {
		if ((n = read(fd, &c, 1)) == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0 || c == '\n')
			break;
		if (len < size)
			buf[len++] = c;
	}
	util_zero(&c, sizeof(c));
	if (len > 0 && len < size && buf[len - 1] == '\r')
		len--;
	return (ssize_t)len;
}

/* A signal during the prompt: give the terminal back, then die of it. */
static void
tty_signal(int sig)
{
	tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

static ssize_t
tty_read(int fd, const char *prompt, char *buf, size_t size)
{
	struct termios t = tty_saved;
	ssize_t n;

	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL;
	if (write(fd, prompt, strlen(prompt)) == -1 ||
	    tcsetattr(fd, TCSAFLUSH, &t) == -1)
		return -1;
	n = read_secret(fd, buf, size);
	tcsetattr(fd, TCSAFLUSH, &tty_saved);
	return n;
}

/*
 * Prompt on /dev/tty with echo off, restored on every path: a signal that
 * would end us restores it first, and suspending is ignored meanwhile.
 */
static ssize_t
tty_password(const char *prompt, char *buf, size_t size)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
	struct sigaction sa, old[5];
	ssize_t n;
	size_t i;

	if ((tty_fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) == -1 ||
	    tcgetattr(tty_fd, &tty_saved) == -1)
		report_die_errno(CTL_EXIT_FAIL, "io_error", "/dev/tty");
	memset(&sa, 0, sizeof(sa));
	for (i = 0; i < 5; i++) {
		sa.sa_handler = sigs[i] == SIGTSTP ? SIG_IGN : tty_signal;
		sigaction(sigs[i], &sa, &old[i]);
	}
	n = tty_read(tty_fd, prompt, buf, size);
	for (i = 0; i < 5; i++)
		sigaction(sigs[i], &old[i], NULL);
	close(tty_fd);
	tty_fd = -1;
	return n;
}

/* Read the password as DESIGN.md says: file, else tty prompt, else stdin. */
static ssize_t
get_password(const struct ctl_cmd_desc *cd, const char *file, char *buf,
    size_t size)
{
	char again[P2P_PASSWORD_MAX + 2];
	ssize_t n, m;
	int fd;

	if (file != NULL) {
		if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
			report_die_errno(CTL_EXIT_FAIL, "io_error", "%s", file);
		if ((n = read_secret(fd, buf, size)) == -1)
			report_die_errno(CTL_EXIT_FAIL, "io_error", "%s", file);
		close(fd);
		return n;
	}
	if (!isatty(STDIN_FILENO)) {
		if ((n = read_secret(STDIN_FILENO, buf, size)) == -1)
			report_die_errno(CTL_EXIT_FAIL, "io_error", "standard input");
		return n;
	}
	if ((n = tty_password("Password: ", buf, size)) == -1)
		report_die_errno(CTL_EXIT_FAIL, "io_error", "/dev/tty");
	if (cd != &ctl_cmds[CMD_REGISTER])
		return n;
	/* Said at once, not after typing it a second time. */
	if (!valid_password(buf, (size_t)n)) {
		util_zero(buf, size);
		report_die(CTL_EXIT_FAIL, "invalid_argument", "a password must be "
		    "%d to %d bytes", P2P_PASSWORD_MIN, P2P_PASSWORD_MAX);
	}
	m = tty_password("Retype password: ", again, sizeof(again));
	if (m != n || memcmp(buf, again, (size_t)n) != 0)
		n = -2;
	util_zero(again, sizeof(again));
	if (n == -2) {
		util_zero(buf, size);
		report_die(CTL_EXIT_USAGE, "usage", "the passwords typed do not "
		    "match");
	}
	return n;
}

void
secret_add_password(const struct ctl_cmd_desc *cd, json_t *args,
    const char *file)
{
	char pw[P2P_PASSWORD_MAX + 2];
	json_t *v;
	ssize_t n;

	n = get_password(cd, file, pw, sizeof(pw));
	v = json_stringn(pw, (size_t)n);
	util_zero(pw, sizeof(pw));
	if (v == NULL)
		report_die(CTL_EXIT_FAIL, "invalid_argument", "argument 'password' "
		    "must be valid UTF-8");
	json_object_set_new(args, "password", v);
}
