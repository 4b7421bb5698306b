/*
 * Output of p2pchatctl. A result is printed by the shape the command table
 * gives it: nothing, one value, "key<TAB>value" lines, or one
 * tab-separated line per list item; events are tab-separated lines laid
 * out by a small table. With --json the daemon's JSON is printed instead,
 * one compact object per line. Nothing is decorated when stdout is not a
 * tty, and every record is flushed so that scripts can read it live.
 * Help and usage text: help.c.
 */
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "output.h"
#include "proto.h"
#include "table.h"
#include "report.h"
#include "util.h"

static bool	out_json;
static bool	out_tty;

/* How one field of an event line is made. */
enum evfield_how {
	EVF_END,
	EVF_KEY,	/* the member's value, "-" if absent */
	EVF_NAME,	/* the event's name */
	EVF_ONLINE,	/* a boolean shown as online/offline */
};

struct evfield {
	enum evfield_how	 how;
	const char		*key;
};

#define EVF_MAX	8

/*
 * Every event line has the same first columns, in one order: seq, event,
 * ts, user (for a message, who sent it), id; what is particular to the
 * event follows. A field an event lacks is "-".
 */
#define EVF_HEAD(user)	{ EVF_KEY, "seq" }, { EVF_NAME, NULL }, \
	{ EVF_KEY, "ts" }, { EVF_KEY, user }, { EVF_KEY, "id" }

static const struct evformat {
	const char	*name;
	struct evfield	 fields[EVF_MAX];
} evformats[] = {
	{ "message", { EVF_HEAD("from"), { EVF_KEY, "text" } } },
	{ "delivered", { EVF_HEAD("user") } },
	{ "deposited", { EVF_HEAD("user") } },
	{ "presence", { EVF_HEAD("user"), { EVF_ONLINE, "online" },
	    { EVF_KEY, "addr" }, { EVF_KEY, "port" } } },
	{ "key-changed", { EVF_HEAD("user"), { EVF_KEY, "fingerprint" } } },
	{ "failed", { EVF_HEAD("user"), { EVF_KEY, "reason" } } },
	{ "cancelled", { EVF_HEAD("user"), { EVF_KEY, "reason" } } },
	{ "expired", { EVF_HEAD("user"), { EVF_KEY, "reason" } } },
	{ "held", { EVF_HEAD("user"), { EVF_KEY, "reason" } } },
	{ "group", { EVF_HEAD("admin"), { EVF_KEY, "title" },
	    { EVF_KEY, "version" }, { EVF_KEY, "members" } } },
	{ "error", { EVF_HEAD("user"), { EVF_KEY, "code" },
	    { EVF_KEY, "message" } } },
	{ "file", { EVF_HEAD("from"), { EVF_KEY, "size" },
	    { EVF_KEY, "sha256" }, { EVF_KEY, "name" } } },
	{ "file-progress", { EVF_HEAD("from"), { EVF_KEY, "received" },
	    { EVF_KEY, "size" }, { EVF_KEY, "name" } } },
	{ "file-state", { EVF_HEAD("user"), { EVF_KEY, "state" },
	    { EVF_KEY, "reason" }, { EVF_KEY, "name" } } },
};

/* The i-th event's name and its fields in line order; false past the end. */
bool
output_event_format(size_t i, const char **name, const char **fields,
    size_t max)
{
	size_t n;

	if (i >= sizeof(evformats) / sizeof(evformats[0]))
		return false;
	*name = evformats[i].name;
	for (n = 0; n + 1 < max && n < EVF_MAX &&
	    evformats[i].fields[n].how != EVF_END; n++)
		fields[n] = evformats[i].fields[n].how == EVF_NAME ? "event" :
		    evformats[i].fields[n].key;
	fields[n] = NULL;
	return true;
}

void
output_init(bool json)
{
	out_json = json;
	out_tty = isatty(STDOUT_FILENO) == 1;
}

bool
output_json(void)
{
	return out_json;
}

bool
output_tty(void)
{
	return out_tty;
}

void
output_flush(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return;
	/* The reader went away: end as every filter does, by SIGPIPE. */
	if (errno == EPIPE) {
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
		exit(CTL_EXIT_FAIL);
	}
	report_die_errno(CTL_EXIT_FAIL, "io_error", "standard output");
}

/* The bidirectional overrides and isolates U+202A-U+202E, U+2066-U+2069. */
static bool
is_bidi(const unsigned char *s, size_t left)
{
	return left >= 3 && s[0] == 0xe2 && ((s[1] == 0x80 && s[2] >= 0xaa &&
	    s[2] <= 0xae) || (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9));
}

/*
 * On a terminal, text from other people must not drive it: C0 and C1
 * controls and DEL are shown as \xHH besides the usual escapes, and
 * bidirectional overrides (which reorder what follows on the line) as
 * \uHHHH.
 */
static char *
escape_tty(const char *s, size_t len, bool as_written)
{
	char *out = xmalloc(len * 4 + 1), *p = out;
	const unsigned char *u = (const unsigned char *)s;
	unsigned char c;
	size_t i;

	for (i = 0; i < len; i++) {
		c = u[i];
		if (as_written && (c == '\t' || c == '\n' || c == '\\'))
			*p++ = (char)c;
		else if (c == '\t' || c == '\n' || c == '\r' || c == '\\') {
			*p++ = '\\';
			*p++ = c == '\t' ? 't' : c == '\n' ? 'n' :
			    c == '\r' ? 'r' : '\\';
		} else if (c < 0x20 || c == 0x7f)
			p += sprintf(p, "\\x%02x", c);
		else if (c == 0xc2 && i + 1 < len && u[i + 1] >= 0x80 &&
		    u[i + 1] <= 0x9f) {
			p += sprintf(p, "\\x%02x", u[i + 1]);
			i++;
		} else if (is_bidi(u + i, len - i)) {
			/* 3 bytes become 6: within the 4x allowance. */
			p += sprintf(p, "\\u%04x", ((u[i] & 0x0f) << 12) |
			    ((u[i + 1] & 0x3f) << 6) | (u[i + 2] & 0x3f));
			i += 2;
		} else
			*p++ = (char)c;
	}
	*p = '\0';
	return out;
}

char *
output_escape(const char *s, size_t len)
{
	return out_tty ? escape_tty(s, len, false) : util_escape(s, len);
}

char *
output_text(const char *s, size_t len)
{
	return out_tty ? escape_tty(s, len, true) : util_escape(s, len);
}

char *
output_dump(const json_t *v, size_t extra, size_t *lenp)
{
	size_t len, flags = JSON_COMPACT | JSON_ENCODE_ANY;
	char *buf;

	if ((len = json_dumpb(v, NULL, 0, flags)) == 0)
		report_die(CTL_EXIT_FAIL, "internal", "cannot encode JSON");
	buf = xmalloc(len + extra + 1);
	if (json_dumpb(v, buf, len, flags) != len)
		report_die(CTL_EXIT_FAIL, "internal", "cannot encode JSON");
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

char *
output_value(const json_t *v)
{
	char num[64], *s, *e;

	switch (v != NULL ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		if (json_string_length(v) == 0)
			return xstrdup("-");
		return output_escape(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return xstrdup(num);
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.15g", json_real_value(v));
		return xstrdup(num);
	case JSON_TRUE:
		return xstrdup("yes");
	case JSON_FALSE:
		return xstrdup("no");
	case JSON_NULL:
		return xstrdup("-");
	default:
		s = output_dump(v, 0, NULL);
		e = output_escape(s, strlen(s));
		free(s);
		return e;
	}
}

/* Print a value; sep (if not NUL) goes before it. */
static void
put_field(const json_t *v, int sep)
{
	char *s = output_value(v);

	if (sep != '\0')
		putchar(sep);
	fputs(s, stdout);
	free(s);
}

void
output_line(const char *s, size_t len)
{
	fwrite(s, 1, len, stdout);
	putchar('\n');
	output_flush();
}

static void
put_json(const json_t *v)
{
	size_t len;
	char *s = output_dump(v, 0, &len);

	output_line(s, len);
	free(s);
}

/*
 * "online" is a boolean (null: unknown) in results and events alike;
 * tables show it as a word.
 */
static char *
column_text(const char *key, const json_t *v)
{
	if (strcmp(key, "online") != 0 || !(json_is_boolean(v) ||
	    json_is_null(v) || v == NULL))
		return output_value(v);
	return xstrdup(json_is_true(v) ? "online" : json_is_false(v) ?
	    "offline" : "unknown");
}

static void
put_column(const char *key, const json_t *v, int sep)
{
	char *s = column_text(key, v);

	if (sep != '\0')
		putchar(sep);
	fputs(s, stdout);
	free(s);
}

static void
put_kv(const char *key, const json_t *v)
{
	char *k = output_escape(key, strlen(key));

	fputs(k, stdout);
	put_column(key, v, '\t');
	putchar('\n');
	free(k);
}

static bool
is_column(const struct ctl_cmd_desc *cd, const char *key)
{
	int i;

	for (i = 0; i < CTL_MAX_COLS && cd->columns[i] != NULL; i++)
		if (strcmp(cd->columns[i], key) == 0)
			return true;
	return false;
}

/* One key/value: a tab-separated line, or a row of a terminal's table. */
static void
emit_kv(struct table *t, const char *key, const json_t *v)
{
	char *cells[2];

	if (t == NULL) {
		put_kv(key, v);
		return;
	}
	cells[0] = output_escape(key, strlen(key));
	cells[1] = column_text(key, v);
	table_add(t, cells);
}

/* The table's columns first, in its order, then the daemon's extras. */
static void
print_kv(const struct ctl_cmd_desc *cd, const json_t *result)
{
	struct table *t = out_tty ? table_new(2) : NULL;
	const char *key;
	json_t *v;
	int i;

	for (i = 0; i < CTL_MAX_COLS && cd->columns[i] != NULL; i++)
		if ((v = json_object_get(result, cd->columns[i])) != NULL)
			emit_kv(t, cd->columns[i], v);
	json_object_foreach((json_t *)result, key, v)
		if (!is_column(cd, key))
			emit_kv(t, key, v);
	if (t != NULL)
		table_print(t, stdout);
	table_free(t);
}

/* On a terminal: a header in capitals, then columns padded to line up. */
static void
print_table(const struct ctl_cmd_desc *cd, const json_t *items)
{
	char *cells[CTL_MAX_COLS], *p;
	struct table *t;
	json_t *item;
	size_t n;
	int i, ncols;

	for (ncols = 0; ncols < CTL_MAX_COLS && cd->columns[ncols] != NULL;
	    ncols++) {
		cells[ncols] = xstrdup(cd->columns[ncols]);
		for (p = cells[ncols]; *p != '\0'; p++)
			*p = (char)toupper((unsigned char)*p);
	}
	t = table_new((size_t)ncols);
	table_add(t, cells);
	json_array_foreach(items, n, item) {
		if (!json_is_object(item))
			report_bad_reply();
		for (i = 0; i < ncols; i++)
			cells[i] = column_text(cd->columns[i],
			    json_object_get(item, cd->columns[i]));
		table_add(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
}

static void
print_list(const struct ctl_cmd_desc *cd, const json_t *result)
{
	json_t *items = json_object_get(result, "items"), *item;
	size_t n;
	int i;

	if (!json_is_array(items))
		report_bad_reply();
	if (out_tty) {
		print_table(cd, items);
		return;
	}
	json_array_foreach(items, n, item) {
		if (!json_is_object(item))
			report_bad_reply();
		for (i = 0; i < CTL_MAX_COLS && cd->columns[i] != NULL; i++)
			put_column(cd->columns[i], json_object_get(item,
			    cd->columns[i]), i > 0 ? '\t' : '\0');
		putchar('\n');
	}
}

/* A group's history names each message's sender where direct has its direction. */
static const struct ctl_cmd_desc *
history_cols(const struct ctl_cmd_desc *cd, const json_t *result)
{
	static struct ctl_cmd_desc group;
	static const char *const cols[] = { "ts", "from", "state", "id", "text",
	    NULL };
	size_t i;

	if (cd != &ctl_cmds[CMD_HISTORY] || json_object_get(result, "group") ==
	    NULL)
		return cd;
	group = *cd;
	for (i = 0; i < CTL_MAX_COLS; i++)
		group.columns[i] = i < sizeof(cols) / sizeof(cols[0]) ? cols[i] :
		    NULL;
	return &group;
}

void
output_result(const struct ctl_cmd_desc *cd, const json_t *result)
{
	json_t *empty;

	if (out_json) {
		empty = json_object();
		put_json(cd->shape == SHAPE_NONE ? empty : result);
		json_decref(empty);
		return;
	}
	switch (cd->shape) {
	case SHAPE_VALUE:
		put_field(json_object_get(result, cd->columns[0]), '\0');
		putchar('\n');
		break;
	case SHAPE_KV:
		print_kv(cd, result);
		break;
	case SHAPE_LIST:
		print_list(history_cols(cd, result), result);
		break;
	case SHAPE_NONE:
	case SHAPE_STREAM:
		break;
	}
	output_flush();
}

/*
 * What a failed command still owes stdout: send --wait its message id,
 * wait and cancel the state of every message (the error says which).
 */
void
output_error_result(const struct ctl_cmd_desc *cd, const json_t *error)
{
	json_t *items = json_object_get(error, "items");
	json_t *id = json_object_get(error, "id");

	if (out_json)
		return;
	if (cd->shape == SHAPE_VALUE && json_is_string(id)) {
		put_field(id, '\0');
		putchar('\n');
	} else if (cd->shape == SHAPE_LIST && json_is_array(items))
		print_list(cd, error);
	output_flush();
}

int
output_error(const json_t *error)
{
	const char *code = json_string_value(json_object_get(error, "code"));
	const char *msg = json_string_value(json_object_get(error, "message"));
	char *c, *m;
	bool tty;

	if (code == NULL)
		code = "error";
	if (out_json)
		put_json(error);
	/* The message may quote a peer: escaped as on stdout. */
	tty = isatty(STDERR_FILENO) == 1;
	c = tty ? escape_tty(code, strlen(code), false) :
	    util_escape(code, strlen(code));
	if (msg != NULL && *msg != '\0') {
		m = tty ? escape_tty(msg, strlen(msg), false) :
		    util_escape(msg, strlen(msg));
		warnx("%s: %s", c, m);
		free(m);
	} else
		warnx("%s", c);
	free(c);
	return strcmp(code, "timeout") == 0 ? CTL_EXIT_TIMEOUT : CTL_EXIT_FAIL;
}

static const struct evformat *
evformat_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(evformats) / sizeof(evformats[0]); i++)
		if (strcmp(evformats[i].name, name) == 0)
			return &evformats[i];
	return NULL;
}

static void
put_evfield(const json_t *ev, const struct evfield *f, const char *name,
    int sep)
{
	json_t *v = f->key != NULL ? json_object_get(ev, f->key) : NULL;
	char *s;

	switch (f->how) {
	case EVF_NAME:
		s = output_escape(name, strlen(name));
		break;
	case EVF_ONLINE:
		s = xstrdup(json_is_true(v) ? "online" : "offline");
		break;
	default:
		s = output_value(v);
		break;
	}
	if (sep != '\0')
		putchar(sep);
	fputs(s, stdout);
	free(s);
}

/* An event with no format: seq, name, and the whole object as JSON. */
static void
put_unknown_event(const json_t *ev, const char *name)
{
	char *s;

	put_field(json_object_get(ev, "seq"), '\0');
	s = output_escape(name, strlen(name));
	printf("\t%s\t", s);
	free(s);
	s = output_dump(ev, 0, NULL);
	fputs(s, stdout);
	free(s);
}

void
output_event(const json_t *ev, const char *raw, size_t rawlen)
{
	const char *name = json_string_value(json_object_get(ev, "event"));
	const struct evformat *fmt;
	json_t *grp;
	int i;

	if (name == NULL)
		report_bad_reply();
	if (out_json) {
		output_line(raw, rawlen);
		return;
	}
	if ((fmt = evformat_find(name)) == NULL)
		put_unknown_event(ev, name);
	else {
		for (i = 0; i < EVF_MAX && fmt->fields[i].how != EVF_END; i++)
			put_evfield(ev, &fmt->fields[i], name,
			    i > 0 ? '\t' : '\0');
		/* A group message's events end with the group's id and title. */
		if ((grp = json_object_get(ev, "group")) != NULL &&
		    json_is_object(grp)) {
			put_column("id", json_object_get(grp, "id"), '\t');
			put_column("title", json_object_get(grp, "title"), '\t');
		}
	}
	putchar('\n');
	output_flush();
}
