/*
 * p2pchatctl's command-line arguments: a command's positionals and
 * --options parsed generically from its entry in the command table into
 * the request's "args" object (TEXT words joined, FILE and "-" read,
 * options anywhere, global ones too). An option whose value is optional
 * takes it only with '=' (--wait=10): the words of a message are never
 * taken as an option's value, and `--wait 10` is refused with the fix.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "help.h"
#include "output.h"
#include "proto.h"
#include "report.h"
#include "util.h"
#include "valid.h"

/* The state of parsing one command's arguments. */
struct parse {
	const struct ctl_cmd_desc	*cd;
	json_t				*args;
	int				 pos;	/* next positional in cd->args */
	bool				 endopts;
	bool				 textword;	/* TEXT given as words */
};

/* ---------------------------------------------------------------- input */

/* All of fd, at most max bytes; NULL with errno EFBIG if longer. */
static char *
read_all(int fd, size_t max, size_t *lenp)
{
	size_t len = 0, cap = 65536;
	char *buf = xmalloc(cap);
	ssize_t n;

	while ((n = read(fd, buf + len, cap - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if ((len += (size_t)n) > max) {
			errno = EFBIG;
			goto fail;
		}
		if (len == cap && (buf = realloc(buf, cap *= 2)) == NULL)
			abort();
	}
	*lenp = len;
	return buf;
fail:
	n = errno;
	free(buf);
	errno = (int)n;
	return NULL;
}

/* ---------------------------------------------------------------- args */

static json_t *
parse_uint(struct parse *p, const struct ctl_arg *a, const char *s)
{
	long long v;
	char *end;

	errno = 0;
	v = strtoll(s, &end, 10);
	if ((*s < '0' || *s > '9') && *s != '-')
		end = (char *)s;
	if (end == s || *end != '\0' || errno != 0)
		ctl_usage_error(p->cd, "%s: '%s' is not an integer", a->name, s);
	return json_integer((json_int_t)v);
}

static json_t *
parse_seconds(struct parse *p, const struct ctl_arg *a, const char *s)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end == s || *end != '\0' || !isfinite(v) ||
	    s[strspn(s, "0123456789.eE+-")] != '\0')
		ctl_usage_error(p->cd, "%s: '%s' is not a number of seconds",
		    a->name, s);
	return json_real(v);
}

/* Every line of DATA that is not UTF-8 named, as import names bad lines. */
static void
check_lines(const char *name, const char *buf, size_t len)
{
	size_t lines[20], n = valid_utf8_lines(buf, len, lines, 20), i, off = 0;
	char msg[800];

	if (n == 0)
		return;
	for (i = 0; i < n && i < 20 && off < sizeof(msg); i++)
		off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%sline %zu: "
		    "not UTF-8 text without NUL", i > 0 ? "; " : "", lines[i]);
	report_die(CTL_EXIT_FAIL, "invalid_argument", "%s: %zu bad line%s, "
	    "nothing imported: %s%s", name, n, n == 1 ? "" : "s", msg,
	    n > 20 ? "; ..." : "");
}

/* FILE or "-" (text: also absent) as a string; DATA keeps every byte. */
static json_t *
read_input(const struct ctl_arg *a, const char *file)
{
	size_t max = a->type == ARG_DATA ? P2P_CTL_LINE_MAX / 2 :
	    P2P_CTL_LINE_MAX;
	bool std = strcmp(file, "-") == 0;
	const char *name = std ? "standard input" : file;
	int fd = STDIN_FILENO;
	size_t len;
	json_t *v;
	char *buf;

	if (!std && (fd = open(file, O_RDONLY | O_CLOEXEC)) == -1)
		report_die_errno(CTL_EXIT_FAIL, "io_error", "%s", file);
	/* Someone at a terminal would otherwise wait for an answer. */
	if (std && isatty(fd) == 1)
		fprintf(stderr, "p2pchatctl: reading %s from standard input; end "
		    "it with Ctrl-D on a line of its own\n", a->type == ARG_TEXT ?
		    "the message" : "the lines to import");
	if ((buf = read_all(fd, max, &len)) == NULL && errno == EFBIG)
		report_die(CTL_EXIT_FAIL, "invalid_argument", "%s: larger than %zu "
		    "bytes", name, max);
	if (buf == NULL)
		report_die_errno(CTL_EXIT_FAIL, "io_error", "%s", name);
	if (!std)
		close(fd);
	if (a->type == ARG_DATA)
		check_lines(name, buf, len);
	if (a->type == ARG_TEXT && len > 0 && buf[len - 1] == '\n')
		len--;
	v = json_stringn_nocheck(buf, len);
	free(buf);
	return v;
}

/* Convert one value by its type; a missing OPTVAL value is zero. */
static void
set_arg(struct parse *p, const struct ctl_arg *a, const char *s)
{
	json_t *v, *arr;

	if (a->type == ARG_FLAG)
		v = json_true();
	else if (s == NULL)
		v = a->type == ARG_UINT ? json_integer(0) : json_real(0);
	else if (a->type == ARG_UINT || (a->type == ARG_SINCE &&
	    strcmp(s, "now") != 0))
		v = parse_uint(p, a, s);
	else if (a->type == ARG_SECONDS)
		v = parse_seconds(p, a, s);
	else if (a->type == ARG_DATA || (a->type == ARG_TEXT &&
	    strcmp(s, "-") == 0))
		v = read_input(a, s);
	else
		v = json_stringn_nocheck(s, strlen(s));
	if (!(a->flags & ARGF_MULTI)) {
		json_object_set_new(p->args, a->name, v);
		return;
	}
	if ((arr = json_object_get(p->args, a->name)) == NULL) {
		arr = json_array();
		json_object_set_new(p->args, a->name, arr);
	}
	json_array_append_new(arr, v);
}

static bool
is_positional(const struct ctl_arg *a)
{
	return !(a->flags & (ARGF_OPTION | ARGF_HIDDEN));
}

/* `send bob hello there`: the words of TEXT joined by one space. */
static void
join_text(struct parse *p, const struct ctl_arg *a, const char *s)
{
	json_t *prev = json_object_get(p->args, a->name);
	size_t plen = json_string_length(prev), slen = strlen(s);
	char *buf = xmalloc(plen + slen + 2);

	memcpy(buf, json_string_value(prev), plen);
	buf[plen] = ' ';
	memcpy(buf + plen + 1, s, slen + 1);
	json_object_set_new(p->args, a->name, json_stringn_nocheck(buf,
	    plen + 1 + slen));
	free(buf);
}

static void
parse_positional(struct parse *p, const char *s)
{
	const struct ctl_cmd_desc *cd = p->cd;

	if (p->textword) {
		if (strcmp(s, "-") == 0 && cd->args[p->pos - 1].type == ARG_TEXT)
			ctl_usage_error(cd, "'-' (read standard input) must be the "
			    "only TEXT");
		join_text(p, &cd->args[p->pos - 1], s);
		return;
	}

	while (p->pos < CTL_MAX_ARGS && cd->args[p->pos].name != NULL &&
	    !is_positional(&cd->args[p->pos]))
		p->pos++;
	if (p->pos == CTL_MAX_ARGS || cd->args[p->pos].name == NULL)
		ctl_usage_error(cd, "unexpected argument '%s'", s);
	set_arg(p, &cd->args[p->pos], s);
	if ((cd->args[p->pos].type == ARG_TEXT && strcmp(s, "-") != 0) ||
	    (cd->args[p->pos].flags & ARGF_WORDS))
		p->textword = true;
	if (!(cd->args[p->pos].flags & ARGF_MULTI))
		p->pos++;
}

/* Option names are the JSON names with '-' for '_' (--send-pending). */
static bool
option_is(const char *arg, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (arg[i] != name[i] && !(arg[i] == '_' && name[i] == '-'))
			return false;
	return arg[len] == '\0';
}

static const struct ctl_arg *
find_option(const struct ctl_cmd_desc *cd, const char *name, size_t len)
{
	const struct ctl_arg *a;
	int i;

	for (i = 0; i < CTL_MAX_ARGS && cd->args[i].name != NULL; i++) {
		a = &cd->args[i];
		if ((a->flags & ARGF_OPTION) && !(a->flags & ARGF_HIDDEN) &&
		    option_is(a->name, name, len))
			return a;
	}
	return NULL;
}

static bool
looks_numeric(const char *s)
{
	return *s != '\0' && s[strspn(s, "0123456789.")] == '\0' &&
	    strchr("0123456789.", *s) != NULL;
}

/* --name VALUE, --name=VALUE, --optval[=VALUE]; returns the last index used. */
static int
parse_option(struct parse *p, struct ctl_globals *g, int argc, char **argv, int i)
{
	const char *name = argv[i] + 2, *eq = strchr(name, '='), *val = NULL;
	size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
	const struct ctl_arg *a = find_option(p->cd, name, len);
	bool pwfile = len == 13 && strncmp(name, "password-file", len) == 0 &&
	    (p->cd->flags & CTLF_PASSWORD);

	if (eq == NULL && strcmp(name, "help") == 0) {
		help_cmd(p->cd);
		exit(CTL_EXIT_OK);
	}
	/* Global options may follow the command too: status --json. */
	if (eq == NULL && strcmp(name, "json") == 0) {
		g->json = true;
		return i;
	}
	if (a == NULL && !pwfile)
		ctl_usage_error(p->cd, "unknown option --%.*s", (int)len, name);
	if ((pwfile && g->pwfile != NULL) ||
	    (a != NULL && json_object_get(p->args, a->name) != NULL))
		ctl_usage_error(p->cd, "option --%.*s given twice", (int)len, name);
	if (eq != NULL && a != NULL && a->type == ARG_FLAG)
		ctl_usage_error(p->cd, "option --%.*s takes no value", (int)len, name);
	if (eq != NULL)
		val = eq + 1;
	else if (a != NULL && a->type == ARG_FLAG)
		val = NULL;
	else if (a != NULL && (a->flags & ARGF_OPTVAL)) {
		/*
		 * --wait=10 only: in `send bob --wait 3 beers` the 3 may be
		 * the text's first word. Refused rather than guessed.
		 */
		if (i + 1 < argc && looks_numeric(argv[i + 1]))
			ctl_usage_error(p->cd, "--%.*s %s is ambiguous (the "
			    "option's value or a word of the text?): write "
			    "--%.*s=%s for the value, or --%.*s -- %s ... for the "
			    "text", (int)len, name, argv[i + 1], (int)len, name,
			    argv[i + 1], (int)len, name, argv[i + 1]);
	} else {
		if (i + 1 >= argc)
			ctl_usage_error(p->cd, "option --%.*s needs a value",
			    (int)len, name);
		val = argv[++i];
	}
	if (pwfile)
		g->pwfile = val;
	else
		set_arg(p, a, val);
	return i;
}

/*
 * Every required positional given; an absent TEXT is read from stdin
 * (not with send --batch, which reads its messages line by line).
 */
static void
finish_positionals(struct parse *p)
{
	const struct ctl_arg *a;
	int i;

	for (i = 0; i < CTL_MAX_ARGS && p->cd->args[i].name != NULL; i++) {
		a = &p->cd->args[i];
		if (!is_positional(a) || json_object_get(p->args, a->name))
			continue;
		if (a->type == ARG_TEXT && json_object_get(p->args, "batch"))
			continue;
		if (a->type == ARG_TEXT)
			set_arg(p, a, "-");
		else if (!(a->flags & ARGF_OPTIONAL))
			ctl_usage_error(p->cd, "missing argument '%s'", a->name);
	}
}

/* Is --NAME (or --NAME=...) among the options (before any "--")? */
static bool
has_option(int argc, char **argv, const char *name)
{
	size_t len = strlen(name);
	int i;

	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strncmp(argv[i], "--", 2) == 0 &&
		    strncmp(argv[i] + 2, name, len) == 0 &&
		    (argv[i][2 + len] == '\0' || argv[i][2 + len] == '='))
			return true;
	return false;
}

json_t *
args_parse(const struct ctl_cmd_desc *cd, struct ctl_globals *g, int argc,
    char **argv)
{
	static struct ctl_cmd_desc alt;
	struct parse p = { cd, json_object(), 0, false };
	int i;

	/*
	 * send and history take USER or --group GROUP: with --group, send
	 * has no USER (every word is the text); without, USER is required.
	 */
	if ((cd == &ctl_cmds[CMD_SEND] || cd == &ctl_cmds[CMD_HISTORY] ||
	    cd == &ctl_cmds[CMD_SEND_FILE]) && (cd->args[0].flags & ARGF_EITHER)) {
		alt = *cd;
		if (!has_option(argc, argv, "group"))
			alt.args[0].flags &= ~(unsigned)ARGF_OPTIONAL;
		else if (cd != &ctl_cmds[CMD_HISTORY]) {
			memmove(&alt.args[0], &alt.args[1],
			    (CTL_MAX_ARGS - 1) * sizeof(alt.args[0]));
			memset(&alt.args[CTL_MAX_ARGS - 1], 0, sizeof(alt.args[0]));
		}
		p.cd = &alt;
	}

	if (g->pwfile != NULL && !(cd->flags & CTLF_PASSWORD))
		ctl_usage_error(cd, "--password-file is only for register and login");
	for (i = 0; i < argc; i++) {
		if (!p.endopts && strcmp(argv[i], "--") == 0)
			p.endopts = true;
		else if (!p.endopts && strncmp(argv[i], "--", 2) == 0)
			i = parse_option(&p, g, argc, argv, i);
		else if (!p.endopts && (strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "-s") == 0)) {
			if (i + 1 >= argc)
				ctl_usage_error(cd, "option %s needs a value", argv[i]);
			if (argv[i][1] == 'c')
				g->config = argv[++i];
			else
				g->socket = argv[++i];
		} else
			parse_positional(&p, argv[i]);
	}
	finish_positionals(&p);
	return p.args;
}

int
ctl_check_args(const struct ctl_cmd_desc *cd, const json_t *args)
{
	char msg[512];
	json_t *e;
	int rc;

	if (ctlcmd_check_args(cd, args, CTL_MAXBODY, msg, sizeof(msg)) == 0)
		return 0;
	e = json_pack("{s:s, s:s}", "code", "invalid_argument", "message", msg);
	rc = output_error(e);
	json_decref(e);
	return rc;
}
