/*
 * What `p2pchatctl chat` shows a person on a terminal: messages as
 * "[HH:MM] who: text" with the text as written (continuation lines
 * indented), the last few messages when it opens, and notices (queued
 * while the contact is offline, held and how to release it, failed,
 * key changed, presence) as indented lines. Piped chat prints none of
 * this: its lines are for scripts (chat.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat.h"
#include "output.h"
#include "util.h"

/* Unix seconds (or milliseconds) or an ISO 8601 UTC string, as local HH:MM. */
void
chat_hhmm(const json_t *ts, char *out, size_t outlen)
{
	time_t t = time(NULL);
	struct tm tm;
	double d;

	memset(&tm, 0, sizeof(tm));
	if (json_is_number(ts)) {
		d = json_number_value(ts);
		t = (time_t)(d > 1e11 ? d / 1000 : d);
	} else if (json_is_string(ts) &&
	    strptime(json_string_value(ts), "%Y-%m-%dT%H:%M:%S", &tm) != NULL)
		t = timegm(&tm);
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%H:%M", &tm) == 0)
		snprintf(out, outlen, "--:--");
}

void
chat_show_message(const json_t *ts, const char *who, const json_t *text)
{
	char hhmm[16], *w, *t, *p, *nl;

	chat_hhmm(ts, hhmm, sizeof(hhmm));
	w = output_escape(who, strlen(who));
	t = json_is_string(text) ? output_text(json_string_value(text),
	    json_string_length(text)) : xstrdup("-");
	printf("[%s] %s: ", hhmm, w);
	for (p = t; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		printf("%.*s\n        ", (int)(nl - p), p);
	printf("%s\n", p);
	free(w);
	free(t);
}

void
chat_show_notice(const char *fmt, ...)
{
	char buf[1024], *e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	e = output_escape(buf, strlen(buf));
	printf("        %s\n", e);
	free(e);
}

/* A state mark for one of our messages in the backlog. */
static const char *
mark(const char *state)
{
	if (state == NULL || strcmp(state, "delivered") == 0)
		return "";
	if (strcmp(state, "pending") == 0 || strcmp(state, "sent") == 0)
		return "  (queued)";
	if (strcmp(state, "held") == 0)
		return "  (held)";
	if (strcmp(state, "deposited") == 0)
		return "  (in the mailbox)";
	return strcmp(state, "failed") == 0 ? "  (failed)" :
	    strcmp(state, "cancelled") == 0 ? "  (cancelled)" : "  (expired)";
}

void
chat_show_history(const char *user, const json_t *items)
{
	const char *dir, *state;
	json_t *it;
	size_t i;

	json_array_foreach(items, i, it) {
		dir = json_string_value(json_object_get(it, "direction"));
		state = json_string_value(json_object_get(it, "state"));
		chat_show_message(json_object_get(it, "ts"), dir != NULL &&
		    strcmp(dir, "out") == 0 ? "me" : user,
		    json_object_get(it, "text"));
		if (dir != NULL && strcmp(dir, "out") == 0 && *mark(state))
			chat_show_notice("%s", mark(state) + 2);
	}
	if (json_array_size(items) > 0)
		printf("        -- earlier messages above --\n");
}
