/*
 * The line being typed in `p2pchatctl chat` on a terminal. In the
 * kernel's canonical mode the typed characters are echoed by the terminal
 * and a message printed meanwhile lands in the middle of them; so, like
 * readline-based clients, chat turns canonical mode and echo off, keeps
 * the line here, echoes it itself and, around everything it prints,
 * erases the line and draws it again below (chat_line_hide/_show).
 * Editing: Backspace, Ctrl-U (line), Ctrl-W (word), Enter sends, Ctrl-D on an empty line ends; escape sequences (arrows)
 * are ignored. Signals (Ctrl-C, Ctrl-Z) stay with the terminal. The
 * terminal's modes are restored at exit, however p2pchatctl exits.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "chat.h"
#include "proto.h"
#include "util.h"

static struct {
	bool		 active;
	struct termios	 saved;
	struct termios	 raw;
	char		*buf;
	size_t		 len;
	size_t		 cap;
	size_t		 shown;	/* columns drawn on the screen now */
	int		 esc;	/* 0, 1 after ESC, 2 inside ESC [ or ESC O */
	bool		 cr;	/* the last byte was CR (CR LF is one Enter) */
} ln;

static void
restore(void)
{
	if (!ln.active)
		return;
	tcsetattr(STDIN_FILENO, TCSANOW, &ln.saved);
	ln.active = false;
}

/* Back from Ctrl-Z: the shell may have given the terminal its own modes. */
static void
on_cont(int sig)
{
	(void)sig;
	if (ln.active)
		tcsetattr(STDIN_FILENO, TCSANOW, &ln.raw);
}

bool
chat_line_begin(void)
{
	struct sigaction sa;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &ln.saved) == -1)
		return false;
	ln.raw = ln.saved;
	ln.raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	ln.raw.c_cc[VMIN] = 1;
	ln.raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &ln.raw) == -1)
		return false;
	ln.active = true;
	atexit(restore);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_cont;
	sigaction(SIGCONT, &sa, NULL);
	return true;
}

void
chat_line_end(void)
{
	chat_line_hide();
	fflush(stdout);
	restore();
	free(ln.buf);
	memset(&ln, 0, sizeof(ln));
}

static size_t
columns(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == -1 || ws.ws_col < 8)
		return 80;
	return ws.ws_col;
}

/* The first byte of the tail that fits in width columns (UTF-8 aware). */
static size_t
tail_start(size_t width, size_t *cols)
{
	size_t i = ln.len, n = 0;

	while (i > 0) {
		if (((unsigned char)ln.buf[i - 1] & 0xc0) != 0x80) {
			if (n == width)
				break;
			n++;
		}
		i--;
	}
	*cols = n;
	return i;
}

/* Draw the line (its end, when wider than the terminal) over the old. */
static void
draw(void)
{
	size_t cols, from = tail_start(columns() - 2, &cols), i;

	putchar('\r');
	for (i = from; i < ln.len; i++)
		putchar(ln.buf[i] == '\t' ? ' ' : ln.buf[i]);
	for (i = cols; i < ln.shown; i++)
		putchar(' ');
	for (i = cols; i < ln.shown; i++)
		putchar('\b');
	ln.shown = cols;
	fflush(stdout);
}

void
chat_line_hide(void)
{
	size_t i;

	if (!ln.active || ln.shown == 0)
		return;
	putchar('\r');
	for (i = 0; i < ln.shown; i++)
		putchar(' ');
	putchar('\r');
	ln.shown = 0;
	fflush(stdout);
}

void
chat_line_show(void)
{
	if (ln.active && ln.len > 0)
		draw();
}

static void
add(char c)
{
	if (ln.len >= P2P_CTL_LINE_MAX) {
		putchar('\a');
		return;
	}
	if (ln.len == ln.cap) {
		ln.cap = ln.cap * 2 + 256;
		if ((ln.buf = realloc(ln.buf, ln.cap)) == NULL)
			abort();
	}
	ln.buf[ln.len++] = c;
}

static void
erase_char(void)
{
	while (ln.len > 0 && ((unsigned char)ln.buf[ln.len - 1] & 0xc0) == 0x80)
		ln.len--;
	if (ln.len > 0)
		ln.len--;
}

static void
erase_word(void)
{
	while (ln.len > 0 && (ln.buf[ln.len - 1] == ' ' ||
	    ln.buf[ln.len - 1] == '\t'))
		ln.len--;
	while (ln.len > 0 && ln.buf[ln.len - 1] != ' ' &&
	    ln.buf[ln.len - 1] != '\t')
		ln.len--;
}

/* Escape sequences (arrows, function keys) are swallowed whole. */
static bool
in_escape(unsigned char c)
{
	if (ln.esc == 1) {
		ln.esc = c == '[' || c == 'O' ? 2 : 0;
		return true;
	}
	if (ln.esc == 2) {
		if (c >= 0x40 && c <= 0x7e)
			ln.esc = 0;
		return true;
	}
	if (c == 0x1b) {
		ln.esc = 1;
		return true;
	}
	return false;
}

int
chat_line_feed(const char *in, size_t n, chat_line_fn fn, void *arg)
{
	unsigned char c;
	bool cr;
	size_t i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)in[i];
		cr = ln.cr;
		ln.cr = c == '\r';
		if (in_escape(c))
			continue;
		if (c == '\r' || (c == '\n' && !cr)) {
			chat_line_hide();
			fn(ln.buf, ln.len, arg);
			ln.len = 0;
		} else if (c == 0x04 && ln.len == 0)
			return 1;
		else if (c == 0x7f || c == '\b')
			erase_char();
		else if (c == 0x15)
			ln.len = 0;
		else if (c == 0x17)
			erase_word();
		else if (c >= 0x20 || c == '\t')
			add((char)c);
	}
	chat_line_show();
	if (ln.len == 0)
		chat_line_hide();
	return 0;
}
