/*
 * Control commands over the message archive: search (FTS5), export
 * (JSON Lines) and import (the same lines; ids kept, so importing twice
 * adds nothing; every line is checked before anything is written, and
 * the whole import is one transaction; nothing imported is sent unless
 * the user asks with --send-pending), and chat-delete.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer_group.h"
#include "peer_msg.h"
#include "pstore_archive.h"
#include "pstore_file.h"
#include "util.h"
#include "valid.h"

#define SEARCH_DEFAULT	50


static int
add_found(const struct pmsg *m, void *arg)
{
	json_t *o = json_pack("{s:s,s:o,s:s,s:s,s:s,s:s%}",
	    "user", m->peer, "ts", peer_iso(m->ts_sent / 1000), "direction",
	    m->outgoing ? "out" : "in", "state", m->state, "id", m->id,
	    "text", m->body, m->body_len);

	if (*m->group != '\0')
		json_object_set_new(o, "group", json_string(m->group));
	json_array_append_new(arg, o);
	return 0;
}

void
peer_ctl_search(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	json_t *items = json_array(), *lim = json_object_get(args, "limit");
	const char *text = json_string_value(json_object_get(args, "text"));
	bool fts = json_is_true(json_object_get(args, "fts"));
	int limit = lim != NULL ? (int)json_integer_value(lim) : SEARCH_DEFAULT;
	const char *group = json_string_value(json_object_get(args, "group"));
	char err[256], *query;
	enum pstore_rc rc;
	struct pgroup g;

	if (group != NULL && pg_find_group(pm, r, group, &g) != 0) {
		json_decref(items);
		return;
	}
	/* What the commits noted and on_fts has not indexed yet, first. */
	if (pstore_fts_flush(pm->p->store, 0) == -1) {
		json_decref(items);
		ctlreq_error(r, ERR_INTERNAL, "search failed: cannot write the "
		    "full-text index (see the daemon's log)");
		return;
	}
	query = fts ? xstrdup(text) : parch_fts_literal(text);
	if (lim != NULL && json_integer_value(lim) > 1000000)
		limit = 1000000;
	rc = parch_search_group(pm->arch, query, json_string_value(
	    json_object_get(args, "user")), group != NULL ? g.id : NULL, limit,
	    add_found, items, err, sizeof(err));
	free(query);
	if (rc != PSTORE_OK) {
		json_decref(items);
		if (fts)
			ctlreq_error(r, ERR_INVALID_ARGUMENT, "bad --fts query: %s "
			    "(FTS5 syntax: words, \"phrases\", AND OR NOT, "
			    "prefix*)", err);
		else
			ctlreq_error(r, ERR_INTERNAL, "search failed: %s", err);
		return;
	}
	ctlreq_reply(r, json_pack("{s:o}", "items", items));
}

/* One message as an export line; import reads the same members. */
static int
export_one(const struct pmsg *m, void *arg)
{
	struct ctlreq *r = arg;
	json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s%,s:s*}", "id", m->id,
	    "user", m->peer, "direction", m->outgoing ? "out" : "in",
	    "ts", (json_int_t)m->ts_sent, "received", (json_int_t)m->ts_received,
	    "state", m->state, "text", m->body, m->body_len,
	    "reason", *m->reason != '\0' ? m->reason : NULL);

	/* A group's message keeps its group (imported as history only). */
	if (*m->group != '\0')
		json_object_set_new(o, "group", json_string(m->group));
	ctlreq_stream(r, o);
	json_decref(o);
	return 0;
}

void
peer_ctl_export(struct ctlreq *r, json_t *args, void *ctx)
{
	json_t *end = json_pack("{s:b}", "end", 1);

	if (parch_export(pm_of_ctx(ctx)->arch,
	    json_string_value(json_object_get(args, "user")), export_one,
	    r) != PSTORE_OK) {
		json_decref(end);
		ctlreq_error(r, ERR_INTERNAL, "cannot read the messages");
		return;
	}
	ctlreq_stream(r, end);
	json_decref(end);
	ctlreq_reply(r, NULL);
}

static const char *const out_states[] = { "pending", "sent", "delivered",
    "held", "failed", "cancelled", "expired", NULL };

/* At most this many bad lines are named in import's error. */
#define IMPORT_MAX_ERRORS	20

static bool
valid_state(const char *s, bool outgoing)
{
	int i;

	if (!outgoing)
		return strcmp(s, "received") == 0;
	for (i = 0; out_states[i] != NULL; i++)
		if (strcmp(s, out_states[i]) == 0)
			return true;
	return false;
}

/*
 * Check one import line and fill m (strings borrowed from o); NULL if ok.
 * Times after latest (now plus limits.max_clock_skew) are refused, as a
 * peer's are: an export dated 2^63-1 showed the year 292278994 and kept
 * its chat at the top of `chats` for ever.
 */
static const char *
check_record(json_t *o, struct pmsg *m, size_t maxbody, int64_t latest)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *user = json_string_value(json_object_get(o, "user"));
	const char *dir = json_string_value(json_object_get(o, "direction"));
	const char *state = json_string_value(json_object_get(o, "state"));
	json_t *reason = json_object_get(o, "reason");
	json_t *text = json_object_get(o, "text"), *ts = json_object_get(o, "ts");
	json_t *rcv = json_object_get(o, "received");
	json_t *grp = json_object_get(o, "group");

	if (!json_is_object(o))
		return "not a JSON object";
	if (grp != NULL && (!json_is_string(grp) ||
	    !valid_msgid(json_string_value(grp))))
		return "'group' must be a group id (32 lowercase hex digits)";
	if (id == NULL || !valid_msgid(id))
		return "'id' must be 32 lowercase hex digits";
	if (user == NULL || !valid_username(user))
		return "'user' is not a valid username";
	if (dir == NULL || (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0))
		return "'direction' must be \"in\" or \"out\"";
	if (!json_is_integer(ts) || json_integer_value(ts) < 0 ||
	    (rcv != NULL && (!json_is_integer(rcv) || json_integer_value(rcv) < 0)))
		return "'ts' and 'received' must be non-negative integers (ms)";
	if (json_integer_value(ts) > latest ||
	    (rcv != NULL && json_integer_value(rcv) > latest))
		return "'ts' and 'received' must not be in the future "
		    "(limits.max_clock_skew)";
	if (!json_is_string(text) || !valid_body(json_string_value(text),
	    json_string_length(text), maxbody))
		return "'text' must be 1 to max_message_bytes of UTF-8";
	if (json_is_null(reason))
		reason = NULL;
	if (reason != NULL && (!json_is_string(reason) ||
	    json_string_length(reason) >= PMSG_REASON_MAX ||
	    !valid_body(json_string_value(reason), json_string_length(reason),
	    PMSG_REASON_MAX)))
		return "'reason' must be a short UTF-8 string";
	memset(m, 0, sizeof(*m));
	m->outgoing = strcmp(dir, "out") == 0;
	if (state == NULL || !valid_state(state, m->outgoing))
		return "'state' is not a state for that direction";
	snprintf(m->id, sizeof(m->id), "%s", id);
	snprintf(m->peer, sizeof(m->peer), "%s", user);
	snprintf(m->state, sizeof(m->state), "%s", state);
	if (reason != NULL)
		snprintf(m->reason, sizeof(m->reason), "%s",
		    json_string_value(reason));
	m->body = json_string_value(text);
	m->body_len = json_string_length(text);
	m->ts_sent = json_integer_value(ts);
	m->ts_received = rcv != NULL ? json_integer_value(rcv) : 0;
	if (grp != NULL)
		snprintf(m->group, sizeof(m->group), "%s", json_string_value(grp));
	return NULL;
}

/*
 * Parse every non-empty line into recs. Every bad line is listed in
 * errs ({line, error}, the first IMPORT_MAX_ERRORS); returns how many
 * lines were bad.
 */
static size_t
parse_lines(const char *data, size_t maxbody, int64_t latest, json_t *recs,
    json_t *errs)
{
	const char *p = data, *nl, *why;
	struct pmsg m;
	size_t line = 0, bad = 0;
	json_t *o;

	for (; *p != '\0'; p = *nl != '\0' ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		line++;
		if (strspn(p, " \t\r") >= (size_t)(nl - p))
			continue;
		o = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, NULL);
		if ((why = o == NULL ? "not valid JSON" :
		    check_record(o, &m, maxbody, latest)) != NULL) {
			if (bad++ < IMPORT_MAX_ERRORS)
				json_array_append_new(errs, json_pack("{s:I,s:s}",
				    "line", (json_int_t)line, "error", why));
			json_decref(o);
			continue;
		}
		json_array_append_new(recs, o);
	}
	return bad;
}

/* "line 3: why; line 9: why; ..." for the error message. */
static void
import_refuse(struct ctlreq *r, json_t *errs, size_t bad)
{
	char msg[400];
	size_t i, off = 0;
	json_t *e;
	int n;

	msg[0] = '\0';
	json_array_foreach(errs, i, e) {
		n = snprintf(msg + off, sizeof(msg) - off, "%sline %lld: %s",
		    i > 0 ? "; " : "", (long long)json_integer_value(
		    json_object_get(e, "line")), json_string_value(
		    json_object_get(e, "error")));
		if (n < 0 || (size_t)n >= sizeof(msg) - off) {
			snprintf(msg + off, sizeof(msg) - off, "; ...");
			break;
		}
		off += (size_t)n;
	}
	ctlreq_error_obj(r, ERR_INVALID_ARGUMENT, json_pack("{s:I,s:O}",
	    "bad_lines", (json_int_t)bad, "lines", errs),
	    "%zu bad line%s, nothing imported: %s", bad, bad == 1 ? "" : "s",
	    msg);
}

/*
 * Importing never speaks for the user: an outgoing line that would be
 * sent (pending, held) is stored failed, reason "imported", unless
 * --send-pending asked for it. True if the line was held back.
 */
static bool
import_hold_back(struct pmsg *m, bool send_pending)
{
	/* A group's message is history: its members' rows are not exported. */
	if (*m->group != '\0' && m->outgoing) {
		snprintf(m->state, sizeof(m->state), "sent");
		return false;
	}
	if (!m->outgoing || send_pending || (strcmp(m->state, "pending") != 0 &&
	    strcmp(m->state, "held") != 0))
		return false;
	snprintf(m->state, sizeof(m->state), "failed");
	snprintf(m->reason, sizeof(m->reason), "imported");
	return true;
}

void
peer_ctl_import(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	json_t *recs = json_array(), *errs = json_array(), *o;
	bool send = json_is_true(json_object_get(args, "send_pending"));
	long imported = 0, skipped = 0, not_sent = 0;
	size_t maxbody = (size_t)pm->p->d->cfg->max_message_bytes, bad, i;
	enum pstore_rc rc = PSTORE_OK;
	struct pmsg m;
	bool held;
	int64_t latest = util_now_ms() +
	    (int64_t)(pm->p->d->cfg->max_clock_skew * 1000);

	bad = parse_lines(json_string_value(json_object_get(args, "data")),
	    maxbody, latest, recs, errs);
	if (bad > 0) {
		import_refuse(r, errs, bad);
		json_decref(errs);
		json_decref(recs);
		return;
	}
	json_decref(errs);
	if (pstore_begin(pm->p->store) != PSTORE_OK)
		rc = PSTORE_ERR;
	json_array_foreach(recs, i, o) {
		if (rc == PSTORE_ERR)
			break;
		check_record(o, &m, maxbody, latest);
		held = import_hold_back(&m, send);
		rc = parch_import(pm->arch, &m);
		imported += rc == PSTORE_OK;
		skipped += rc == PSTORE_EXISTS;
		not_sent += rc == PSTORE_OK && held;
	}
	json_decref(recs);
	if (rc == PSTORE_ERR || pstore_commit(pm->p->store) != PSTORE_OK) {
		pstore_rollback(pm->p->store);
		ctlreq_error(r, ERR_INTERNAL, "cannot store the messages; nothing "
		    "imported");
		return;
	}
	if (send) {
		pm->pending_gen++;	/* pending, and in no window in memory */
		pm_kick_all(pm);
	}
	ctlreq_reply(r, json_pack("{s:I,s:I,s:I}", "imported", (json_int_t)imported,
	    "skipped", (json_int_t)skipped, "not_sent", (json_int_t)not_sent));
}

/* ------------------------------------------------------------ chat-delete */

/* The queue to the chat's user: ids, and one already on the wire. */
struct queued {
	struct peer_msgs	*pm;
	json_t			*ids;
	bool			 in_flight;
};

static int
note_queued(const struct pmsg *m, void *arg)
{
	struct queued *q = arg;

	if (pm_link_in_flight(q->pm, m->peer, m->seq))
		q->in_flight = true;
	json_array_append_new(q->ids, json_string(m->id));
	return 0;
}

/* Files to or from the user still under way count as queued. */
static int
note_file(const struct pfile *f, void *arg)
{
	struct queued *q = arg;

	if (f->outgoing ? strcmp(f->state, "pending") == 0 ||
	    strcmp(f->state, "waiting") == 0 : strcmp(f->state, "receiving") ==
	    0 || strcmp(f->state, "waiting") == 0 ||
	    strcmp(f->state, "paused") == 0)
		json_array_append_new(q->ids, json_string(f->id));
	return 0;
}

/*
 * Messages still to go to the user are never dropped unasked: refused
 * (pending_messages) unless cancel_pending, then cancelled as `cancel`
 * does (watchers and waiters told), unless one is already on the wire.
 * True when the deletion may go on.
 */
static bool
chat_delete_queue(struct ctlreq *r, struct peer_msgs *pm, const char *user,
    bool cancel, struct queued *q)
{
	size_t n, i;
	json_t *v;

	if (parch_queued(pm->arch, user, note_queued, q) != PSTORE_OK ||
	    pfile_foreach(pm->files, user, note_file, q) != PSTORE_OK) {
		ctlreq_error(r, ERR_INTERNAL, "cannot read the queue; nothing "
		    "deleted");
		return false;
	}
	if ((n = json_array_size(q->ids)) > 0 && !cancel) {
		ctlreq_error_obj(r, ERR_PENDING_MESSAGES, json_pack("{s:s,s:O}",
		    "user", user, "ids", q->ids), "%zu message%s to %s still "
		    "wait%s for delivery (messages pending or held, files under "
		    "way); nothing deleted. "
		    "--cancel-pending cancels %s (never delivered) and deletes the "
		    "chat; or wait until %s delivered", n, n == 1 ? "" : "s", user,
		    n == 1 ? "s" : "", n == 1 ? "it" : "them",
		    n == 1 ? "it is" : "they are");
		return false;
	}
	if (q->in_flight) {
		ctlreq_error_obj(r, ERR_TOO_LATE, json_pack("{s:s}", "user", user),
		    "a message to %s is being delivered right now; nothing "
		    "deleted; try again in a moment", user);
		return false;
	}
	json_array_foreach(q->ids, i, v) {
		const char *why = NULL;

		if (pm_ftx_is_file(pm, json_string_value(v)))
			json_decref(pm_ftx_cancel_one(pm, json_string_value(v),
			    &why));
		else
			pm_finish(pm, json_string_value(v), "cancelled",
			    "cancelled by chat-delete");
	}
	pm_expiry_arm(pm);
	return true;
}

void
peer_ctl_chat_delete(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	const char *user = json_string_value(json_object_get(args, "user"));
	struct queued q = { pm, json_array(), false };
	int deleted = 0, files = 0;

	if (!chat_delete_queue(r, pm, user, json_is_true(json_object_get(args,
	    "cancel_pending")), &q)) {
		json_decref(q.ids);
		return;
	}
	if (pstore_begin(pm->p->store) != PSTORE_OK ||
	    parch_delete_chat(pm->arch, user, &deleted) != PSTORE_OK ||
	    pfile_delete_peer(pm->files, user, &files) != PSTORE_OK ||
	    pstore_commit(pm->p->store) != PSTORE_OK) {
		pstore_rollback(pm->p->store);
		json_decref(q.ids);
		ctlreq_error(r, ERR_INTERNAL, "cannot delete the chat with %s "
		    "(see the daemon's log); nothing deleted", user);
		return;
	}
	pm->pending_gen++;	/* no window in memory keeps what is gone */
	pm_ftx_gc(pm);		/* the files' stored copies no one needs */
	log_info("peer: chat with %s deleted: %d messages, %d files", user,
	    deleted, files);
	deleted += files;	/* the history's lines */
	ctlreq_reply(r, json_pack("{s:s,s:i,s:i}", "user", user, "deleted",
	    deleted, "cancelled", (int)json_array_size(q.ids)));
	json_decref(q.ids);
}
