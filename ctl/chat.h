/*
 * The interactive chat: its loop (chat.c) and what it shows a person on
 * a terminal (chat_show.c).
 */
#ifndef P2P_CTL_CHAT_H
#define P2P_CTL_CHAT_H

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

#endif
