/*
 * What a peer tells its `watch` subscribers: events streamed live
 * (peer_event) and events stored in the log that `watch --since` replays
 * (peer_msgs_event, printed by pm_event_line as the live line was), and
 * times as ISO 8601. Every layer of the peer calls it; it calls only the
 * store and the control socket.
 */
#include <stdlib.h>

#include "log.h"
#include "peer_msg.h"
#include "util.h"

void
peer_event(struct peer *p, const json_t *event)
{
	if (p->d->ctl != NULL)
		ctlsock_broadcast(p->d->ctl, event);
}

void
peer_event_text(struct peer *p, const char *line, size_t len)
{
	if (p->d->ctl != NULL)
		ctlsock_broadcast_text(p->d->ctl, line, len);
}

bool
peer_watched(const struct peer *p)
{
	return p->d->ctl != NULL && ctlsock_watched(p->d->ctl);
}

json_t *
peer_iso(int64_t secs)
{
	char ts[32];

	if (secs <= 0)
		return json_null();
	util_iso8601(secs, ts, sizeof(ts));
	return json_string(ts);
}

/*
 * An event line from a stored event: {"event":type,"seq":n,...data}, in
 * that order, as the live line was printed (a replay used to put event
 * and seq last: the same values, other bytes).
 */
json_t *
pm_event_line(int64_t seq, const char *type, const char *data)
{
	json_t *o = json_object(), *d = json_loads(data, 0, NULL), *ts;

	json_object_set_new(o, "event", json_string(type));
	json_object_set_new(o, "seq", json_integer(seq));
	if (json_is_object(d)) {
		/* Stored data cannot move event or seq: those keys are ours. */
		json_object_del(d, "event");
		json_object_del(d, "seq");
		json_object_update(o, d);
	}
	json_decref(d);
	/* Replaced in place: ts keeps its position. */
	if (json_is_integer(ts = json_object_get(o, "ts")))
		json_object_set_new(o, "ts", peer_iso((json_integer_value(ts)) / 1000));
	return o;
}

void
peer_msgs_event(struct peer *p, const char *type, json_t *data)
{
	char *text = json_dumps(data, JSON_COMPACT);
	int64_t seq = 0;
	json_t *line;

	if (text == NULL || pmsg_event(p->msgs->ms, type, text, &seq) != PSTORE_OK)
		log_warnx("peer_queue: cannot store a %s event", type);
	line = pm_event_line(seq, type, text != NULL ? text : "{}");
	peer_event(p, line);
	json_decref(line);
	free(text);
}
