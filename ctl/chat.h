/*
 * The interactive chat: its loop (chat.c), what it shows a person on a
 * terminal (chat_show.c) and the line being typed there (chat_line.c).
 */
#ifndef P2P_CTL_CHAT_H
#define P2P_CTL_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Local HH:MM of an event's or history item's ts. */
void	chat_hhmm(const json_t *ts, char *out, size_t outlen);
/* "[HH:MM] who: text", the text as written. */
void	chat_show_message(const json_t *ts, const char *who, const json_t *text);
/* An indented notice line (queued, held, failed, key changed, ...). */
void	chat_show_notice(const char *fmt, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
/* The last messages of the chat, oldest first (history's items). */
void	chat_show_history(const char *user, const json_t *items);

/* A whole line typed (without its end). */
typedef void (*chat_line_fn)(const char *line, size_t len, void *arg);
/*
 * On a terminal: canonical mode and echo off, chat keeps the line being
 * typed itself (restored by chat_line_end or at exit). False when stdin
 * is not a terminal: lines are then read as they come.
 */
bool	chat_line_begin(void);
void	chat_line_end(void);
/* Bytes typed: edit the line, call fn for each line ended; 1 at Ctrl-D. */
int	chat_line_feed(const char *, size_t, chat_line_fn, void *);
/* Erase the line being typed before printing; draw it again after. */
void	chat_line_hide(void);
void	chat_line_show(void);

#endif
