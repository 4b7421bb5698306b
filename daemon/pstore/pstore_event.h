/*
 * The peer store's event log, whose seq numbers `watch --since` resumes
 * from. Since schema 7 a message or delivered event refers to its
 * message (events.msg = the message's seq) and its JSON is printed from
 * the message row when read; other events store their JSON.
 */
#ifndef P2P_PSTORE_EVENT_H
#define P2P_PSTORE_EVENT_H

#include <stdint.h>

#include "jsonw.h"
#include "pstore.h"

struct pevent;

struct pevent	*pevent_open(struct pstore *, char **cause);
void		 pevent_close(struct pevent *);

/* Append an event (type, JSON data); *seq gets its number. */
enum pstore_rc	 pevent_add(struct pevent *, const char *type,
		    const char *json, int64_t *seq);
/* The same with the JSON of w, which is closed and freed. */
enum pstore_rc	 pevent_put(struct pevent *, const char *type, struct jsonw *w,
		    int64_t *seq);
/* A "message" or "delivered" event about the message of seq msg. */
enum pstore_rc	 pevent_ref(struct pevent *, const char *type, int64_t msg,
		    int64_t *seq);
/* Stored events after seq, in order: fn(seq, type, json data). */
enum pstore_rc	 pevent_since(struct pevent *, int64_t after,
		    int (*)(int64_t, const char *, const char *, void *), void *);
/* The seq of the last stored event, 0 if none, -1 on error. */
int64_t		 pevent_last_seq(struct pevent *);

#endif
