/*
 * The control command table and the argument checks every request passes
 * before a daemon handler sees it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ctlcmd.h"
#include "proto.h"
#include "valid.h"

#define P	CTL_MODE_PEER
#define G	CTL_MODE_GESTOR
#define OPT	ARGF_OPTION
#define OPTL	(ARGF_OPTION | ARGF_OPTIONAL)
#define EITHER	(ARGF_OPTIONAL | ARGF_EITHER)

const struct ctl_cmd_desc ctl_cmds[CMD__MAX] = {
	[CMD_REGISTER] = { "register", P, CTLF_PASSWORD, "USER",
	    "create an account at the gestor and log in",
	    { { "user", ARG_USER, 0 }, { "password", ARG_PASSWORD, ARGF_HIDDEN } },
	    SHAPE_KV, { "user", "fingerprint" } },
	[CMD_LOGIN] = { "login", P, CTLF_PASSWORD, "USER",
	    "log in (binds this daemon's key to the account)",
	    { { "user", ARG_USER, 0 }, { "password", ARG_PASSWORD, ARGF_HIDDEN } },
	    SHAPE_KV, { "user", "fingerprint", "key_changed" } },
	[CMD_LOGOUT] = { "logout", P, 0, "",
	    "log out and forget the session", { { NULL } }, SHAPE_NONE, { NULL } },
	[CMD_STATUS] = { "status", P | G, 0, "",
	    "show the daemon's state", { { NULL } }, SHAPE_KV,
	    { "mode", "user", "state", "gestor", "gestor_state", "last_heartbeat",
	      "listen", "advertise", "fingerprint", "pending" } },
	[CMD_SEND] = { "send", P, 0,
	    "USER|--group GROUP [TEXT...|-] [--wait[=SECONDS]] [--id ID] "
	    "[--ttl SECONDS] | USER --batch [--jsonl] [--ttl SECONDS]",
	    "queue a message to USER or to every member of GROUP and print its "
	    "id (--batch: one message per line of standard input, one id per "
	    "line; --jsonl: lines {\"text\":...,\"id\":...})",
	    { { "user", ARG_USER, EITHER }, { "text", ARG_TEXT, 0 },
	      { "wait", ARG_SECONDS, OPTL | ARGF_OPTVAL },
	      { "id", ARG_MSGID, OPTL }, { "ttl", ARG_SECONDS, OPTL },
	      { "group", ARG_STR, OPTL | ARGF_EITHER },
	      { "batch", ARG_FLAG, OPTL | ARGF_LOCAL },
	      { "jsonl", ARG_FLAG, OPTL | ARGF_LOCAL } },
	    SHAPE_VALUE, { "id", "state", "reason" } },
	[CMD_CHATS] = { "chats", P, 0, "",
	    "list chats (request: from someone not yet written to or trusted; "
	    "kind: direct or group, whose user is the group's title)",
	    { { NULL } }, SHAPE_LIST,
	    { "user", "unread", "last_activity", "preview", "request", "kind" } },
	[CMD_HISTORY] = { "history", P, 0, "USER|--group GROUP [--limit N]",
	    "show a chat's messages, oldest first, and mark it read (a group's "
	    "by each sender's time: columns ts, from, state, id, text)",
	    { { "user", ARG_USER, EITHER }, { "limit", ARG_UINT, OPTL },
	      { "group", ARG_STR, OPTL | ARGF_EITHER } },
	    SHAPE_LIST, { "ts", "direction", "state", "id", "text" } },
	[CMD_PENDING] = { "pending", P, 0, "",
	    "list messages waiting for delivery", { { NULL } }, SHAPE_LIST,
	    { "id", "user", "attempts", "next_try", "reason", "text", "route" } },
	[CMD_LOOKUP] = { "lookup", P | G, 0, "USER",
	    "show a user's presence, address and key",
	    { { "user", ARG_USER, 0 } }, SHAPE_KV,
	    { "user", "online", "addr", "port", "last_seen", "fingerprint",
	      "verified", "warning" } },
	[CMD_FINGERPRINT] = { "fingerprint", P, 0, "[USER]",
	    "print this daemon's or a contact's key fingerprint",
	    { { "user", ARG_USER, ARGF_OPTIONAL } }, SHAPE_KV,
	    { "user", "fingerprint", "groups" } },
	[CMD_TRUST] = { "trust", P, 0, "USER [FINGERPRINT]",
	    "mark a contact's key as verified",
	    { { "user", ARG_USER, 0 }, { "fingerprint", ARG_FP, ARGF_OPTIONAL } },
	    SHAPE_KV, { "user", "fingerprint", "verified" } },
	[CMD_WATCH] = { "watch", P, 0, "[--since SEQ|now]",
	    "stream events (replaying stored ones after SEQ)",
	    { { "since", ARG_SINCE, OPTL } }, SHAPE_STREAM, { NULL } },
	[CMD_CHAT] = { "chat", P, CTLF_LOCAL, "USER",
	    "interactive chat: lines typed are sent, incoming ones printed",
	    { { "user", ARG_USER, 0 } }, SHAPE_STREAM, { NULL } },
	[CMD_WAIT] = { "wait", P, 0, "ID... [--timeout SECONDS]",
	    "wait until every given message or file is delivered",
	    { { "ids", ARG_MSGID, ARGF_MULTI }, { "timeout", ARG_SECONDS, OPTL } },
	    SHAPE_LIST, { "id", "state", "reason" } },
	[CMD_CANCEL] = { "cancel", P, 0, "ID...",
	    "cancel undelivered messages: they are never delivered afterwards",
	    { { "ids", ARG_MSGID, ARGF_MULTI } },
	    SHAPE_LIST, { "id", "state", "reason" } },
	[CMD_SEARCH] = { "search", P, 0,
	    "TEXT... [--user USER] [--group GROUP] [--limit N] [--fts]",
	    "messages containing every word of TEXT, newest first (--fts: "
	    "TEXT is an FTS5 query; --group: that group's only)",
	    { { "text", ARG_STR, ARGF_WORDS }, { "user", ARG_USER, OPTL },
	      { "limit", ARG_UINT, OPTL }, { "fts", ARG_FLAG, OPTL },
	      { "group", ARG_STR, OPTL } },
	    SHAPE_LIST, { "user", "ts", "direction", "state", "id", "text" } },
	[CMD_EXPORT] = { "export", P, 0, "[USER]",
	    "write messages as JSON Lines", { { "user", ARG_USER, ARGF_OPTIONAL } },
	    SHAPE_STREAM, { NULL } },
	[CMD_IMPORT] = { "import", P, 0, "FILE|- [--send-pending]",
	    "read messages from JSON Lines (ids kept; nothing sent unless "
	    "--send-pending)",
	    { { "data", ARG_DATA, 0 }, { "send_pending", ARG_FLAG, OPTL } },
	    SHAPE_KV, { "imported", "skipped", "not_sent" } },
	[CMD_USERS] = { "users", G, 0, "",
	    "list registered users", { { NULL } }, SHAPE_LIST,
	    { "user", "online", "addr", "port", "last_seen", "fingerprint" } },
	[CMD_STATS] = { "stats", P | G, 0, "",
	    "show counters", { { NULL } }, SHAPE_KV,
	    { "uptime", "users", "online", "connections", "registrations",
	      "logins", "login_failures", "rate_limited", "frames_in", "frames_out" } },
	[CMD_RELOAD] = { "reload", P | G, 0, "",
	    "reload the configuration file; list each changed setting, "
	    "applied or restart_needed", { { NULL } }, SHAPE_LIST,
	    { "setting", "status" } },
	[CMD_SHUTDOWN] = { "shutdown", P | G, 0, "",
	    "stop the daemon", { { NULL } }, SHAPE_NONE, { NULL } },
	[CMD_VERSION] = { "version", P | G, 0, "",
	    "print the daemon's version", { { NULL } }, SHAPE_VALUE,
	    { "version", "mode" } },
	[CMD_CHAT_DELETE] = { "chat-delete", P, CTLF_CONFIRM,
	    "USER [--cancel-pending] [--yes]",
	    "delete a chat and all its messages for good (asked twice on a "
	    "terminal; --yes for scripts)",
	    { { "user", ARG_USER, 0 }, { "cancel_pending", ARG_FLAG, OPTL },
	      { "yes", ARG_FLAG, OPTL } },
	    SHAPE_KV, { "user", "deleted", "cancelled" } },
	/* Groups: "group VERB" is one command name (p2pchatctl joins them). */
	[CMD_GROUP_CREATE] = { "group create", P, 0, "TITLE [USER...]",
	    "create a group (you are its admin) and print its id",
	    { { "title", ARG_STR, 0 }, { "users", ARG_USER, ARGF_MULTI |
	      ARGF_OPTIONAL } },
	    SHAPE_VALUE, { "id", "title", "admin", "version", "members" } },
	[CMD_GROUP_ADD] = { "group add", P, 0, "GROUP USER...",
	    "add members to a group (admin)",
	    { { "group", ARG_STR, 0 }, { "users", ARG_USER, ARGF_MULTI } },
	    SHAPE_KV, { "id", "title", "version", "members" } },
	[CMD_GROUP_REMOVE] = { "group remove", P, 0, "GROUP USER...",
	    "remove members from a group (admin)",
	    { { "group", ARG_STR, 0 }, { "users", ARG_USER, ARGF_MULTI } },
	    SHAPE_KV, { "id", "title", "version", "members" } },
	[CMD_GROUP_RENAME] = { "group rename", P, 0, "GROUP TITLE",
	    "change a group's title (admin)",
	    { { "group", ARG_STR, 0 }, { "title", ARG_STR, 0 } },
	    SHAPE_KV, { "id", "title", "version", "members" } },
	[CMD_GROUP_LEAVE] = { "group leave", P, 0, "GROUP",
	    "leave a group: nothing of it is taken or sent any more, and its "
	    "admin takes you off the list", { { "group", ARG_STR, 0 } },
	    SHAPE_KV, { "id", "title", "member" } },
	[CMD_GROUP_SHOW] = { "group show", P, 0, "GROUP",
	    "show a group: its admin, version, members, what each has not "
	    "received yet, and what of it waits in their mailboxes",
	    { { "group", ARG_STR, 0 } }, SHAPE_KV,
	    { "id", "title", "admin", "version", "member", "members",
	      "undelivered", "deposited" } },
	[CMD_GROUPS] = { "groups", P, 0, "",
	    "list groups (GROUP in other commands: an id, a unique prefix of "
	    "one, or a title)", { { NULL } }, SHAPE_LIST,
	    { "id", "title", "admin", "members", "version", "member" } },
	/*
	 * PATH never reaches the daemon: p2pchatctl opens it and passes the
	 * descriptor over the socket (SCM_RIGHTS), with "name" its last
	 * component unless --name.
	 */
	[CMD_SEND_FILE] = { "send-file", P, 0,
	    "USER|--group GROUP PATH|- [--name NAME] [--id ID] "
	    "[--wait[=SECONDS]] [--ttl SECONDS]",
	    "store a file in the daemon to send to USER or to every member of "
	    "GROUP (one copy, one transfer each), and print its id",
	    { { "user", ARG_USER, EITHER }, { "path", ARG_STR, ARGF_OPTIONAL },
	      { "name", ARG_STR, OPTL }, { "id", ARG_MSGID, OPTL },
	      { "wait", ARG_SECONDS, OPTL | ARGF_OPTVAL },
	      { "ttl", ARG_SECONDS, OPTL },
	      { "group", ARG_STR, OPTL | ARGF_EITHER } },
	    SHAPE_VALUE, { "id", "sha256", "size", "state" } },
	[CMD_FILES] = { "files", P, 0, "[USER]",
	    "list files sent and received, oldest first",
	    { { "user", ARG_USER, ARGF_OPTIONAL } }, SHAPE_LIST,
	    { "ts", "user", "direction", "state", "id", "size", "offset",
	      "sha256", "name", "reason" } },
	/* PATH, like send-file's, stays in p2pchatctl: it passes the file. */
	[CMD_SAVE] = { "save", P, 0, "ID PATH|- [--force]",
	    "copy a file received (or sent) out of the daemon's store to PATH "
	    "(never over an existing file unless --force; - standard output)",
	    { { "id", ARG_MSGID, 0 }, { "path", ARG_STR, ARGF_OPTIONAL },
	      { "force", ARG_FLAG, OPTL } },
	    SHAPE_NONE, { NULL } },
	[CMD_ACCEPT] = { "accept", P, 0, "ID",
	    "take a file offered that is larger than files.accept_size",
	    { { "id", ARG_MSGID, 0 } }, SHAPE_KV, { "id", "state" } },
	[CMD_REJECT] = { "reject", P, 0, "ID",
	    "refuse a file offered (its sender stops sending it)",
	    { { "id", ARG_MSGID, 0 } }, SHAPE_KV, { "id", "state" } },
};

int
ctlcmd_lookup(const char *name)
{
	int i;

	for (i = 0; i < CMD__MAX; i++)
		if (strcmp(ctl_cmds[i].name, name) == 0)
			return i;
	return -1;
}

const struct ctl_arg *
ctlcmd_arg(const struct ctl_cmd_desc *cd, const char *name)
{
	int i;

	for (i = 0; i < CTL_MAX_ARGS && cd->args[i].name != NULL; i++)
		if (strcmp(cd->args[i].name, name) == 0)
			return &cd->args[i];
	return NULL;
}

/* Check one scalar value against its type; 0 or -1 with err filled. */
static int
check_value(const struct ctl_arg *a, const json_t *v, unsigned maxbody,
    char *err, size_t errlen)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	size_t len = s != NULL ? json_string_length(v) : 0;
	const char *why = NULL;

	/* A NUL inside would make the C string say less than the JSON did. */
	if (s != NULL && memchr(s, '\0', len) != NULL)
		s = NULL;
	switch (a->type) {
	case ARG_UINT:
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			why = "must be a non-negative integer";
		break;
	case ARG_SECONDS:
		if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
		    json_number_value(v) < 0 || json_number_value(v) > 1e9)
			why = "must be a non-negative number of seconds";
		break;
	case ARG_USER:
		if (s == NULL || !valid_username(s))
			why = "is not a valid username (^[a-z0-9][a-z0-9._-]{0,31}$)";
		break;
	case ARG_MSGID:
		if (s == NULL || !valid_msgid(s))
			why = "is not a message id (32 lowercase hex digits)";
		break;
	case ARG_FP:
		if (s == NULL || !valid_fingerprint(s))
			why = "is not a fingerprint (sha256:<64 hex digits>)";
		break;
	case ARG_PASSWORD:
		if (s == NULL || !valid_password(s, len))
			why = "must be 8 to 1024 bytes without NUL";
		break;
	case ARG_TEXT:
		if (s != NULL && len > maxbody) {
			snprintf(err, errlen, "argument '%s' is %zu bytes, more than "
			    "the limit of %u bytes (limits.max_message_bytes)",
			    a->name, len, maxbody);
			return -1;
		}
		if (s != NULL && len == 0)
			why = "must not be empty";
		else if (s == NULL || !valid_body(s, len, maxbody))
			why = "must be UTF-8 text without NUL";
		break;
	case ARG_STR:
		if (s == NULL || len == 0 || !valid_utf8(s, len))
			why = "must be a non-empty UTF-8 string";
		break;
	case ARG_DATA:
		if (s == NULL || !valid_utf8(s, len))
			why = "must be a UTF-8 string";
		break;
	case ARG_FLAG:
		if (!json_is_boolean(v))
			why = "must be true or false";
		break;
	case ARG_SINCE:
		if ((!json_is_integer(v) || json_integer_value(v) < 0) &&
		    (s == NULL || strcmp(s, "now") != 0))
			why = "must be a non-negative integer (a seq) or \"now\"";
		break;
	}
	if (why == NULL)
		return 0;
	snprintf(err, errlen, "argument '%s' %s", a->name, why);
	return -1;
}

/* Exactly one ARGF_EITHER argument; checked at the first one (first). */
static int
check_either(const struct ctl_cmd_desc *cd, const struct ctl_arg *first,
    const json_t *args, char *err, size_t errlen)
{
	const struct ctl_arg *a, *given = NULL;
	int n;

	for (n = 0; n < CTL_MAX_ARGS && cd->args[n].name != NULL; n++) {
		a = &cd->args[n];
		if (!(a->flags & ARGF_EITHER))
			continue;
		if (a < first)
			return 0;	/* checked already */
		if (args == NULL || json_object_get(args, a->name) == NULL)
			continue;
		if (given != NULL) {
			snprintf(err, errlen, "arguments '%s' and '%s' cannot both be "
			    "given to %s", given->name, a->name, cd->name);
			return -1;
		}
		given = a;
	}
	if (given != NULL)
		return 0;
	snprintf(err, errlen, "missing argument '%s' for %s", first->name,
	    cd->name);
	return -1;
}

int
ctlcmd_check_args(const struct ctl_cmd_desc *cd, const json_t *args,
    unsigned maxbody, char *err, size_t errlen)
{
	const char *key;
	json_t *v, *item;
	const struct ctl_arg *a;
	size_t i;
	int n;

	if (args != NULL && !json_is_object(args)) {
		snprintf(err, errlen, "'args' must be an object");
		return -1;
	}
	json_object_foreach((json_t *)args, key, v) {
		if ((a = ctlcmd_arg(cd, key)) == NULL) {
			snprintf(err, errlen, "unknown argument '%s' for %s",
			    key, cd->name);
			return -1;
		}
		if (a->flags & ARGF_LOCAL) {
			snprintf(err, errlen, "argument '%s' is p2pchatctl's own "
			    "(%s --%s), not a request's", key, cd->name, key);
			return -1;
		}
		if (!(a->flags & ARGF_MULTI)) {
			if (check_value(a, v, maxbody, err, errlen) == -1)
				return -1;
			continue;
		}
		if (!json_is_array(v) || json_array_size(v) == 0) {
			snprintf(err, errlen, "argument '%s' must be a non-empty array",
			    key);
			return -1;
		}
		json_array_foreach(v, i, item)
			if (check_value(a, item, maxbody, err, errlen) == -1)
				return -1;
	}
	for (n = 0; n < CTL_MAX_ARGS && cd->args[n].name != NULL; n++) {
		a = &cd->args[n];
		if (a->flags & ARGF_EITHER) {
			if (check_either(cd, a, args, err, errlen) == -1)
				return -1;
			continue;
		}
		if (a->flags & ARGF_OPTIONAL)
			continue;
		if (args == NULL || json_object_get(args, a->name) == NULL) {
			snprintf(err, errlen, "missing argument '%s' for %s",
			    a->name, cd->name);
			return -1;
		}
	}
	return 0;
}
