/*
 * p2pchatctl: the command-line client of p2pchatd's control socket.
 *
 * Global options come first, then a command from the shared command table
 * (common/ctlcmd.c), whose entry drives everything here: its positional
 * arguments and --options are parsed generically into the request's
 * "args" object and checked with the daemon's own rules; its help text is
 * printed from it; its output shape tells output.c how to print the
 * result. A request is one JSON line over the Unix socket and the reply is
 * one JSON line back; stream commands then keep reading lines. The
 * connection itself is conn.c; the password, secret.c.
 * PACKAGE_VERSION comes from configure's DEFS.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "ctlcmd.h"
#include "help.h"
#include "output.h"
#include "proto.h"
#include "secret.h"
#include "report.h"
#include "util.h"
#include "valid.h"

struct globals {
	const char	*config;
	const char	*socket;
	const char	*pwfile;
	bool		 json;
};

/* The state of parsing one command's arguments. */
struct parse {
	const struct ctl_cmd_desc	*cd;
	json_t				*args;
	int				 pos;	/* next positional in cd->args */
	bool				 endopts;
	bool				 textword;	/* TEXT given as words */
};

typedef int (*local_fn)(struct ctlconn *, json_t *);
typedef int (*stream_fn)(struct ctlconn *);

static int	stream_events(struct ctlconn *);
static int	stream_records(struct ctlconn *);

/* Commands p2pchatctl implements itself over other commands. */
static const local_fn local_cmds[CMD__MAX] = {
	[CMD_CHAT] = chat_main,
};

/* How a stream command's lines are read; events by default. */
static const stream_fn stream_cmds[CMD__MAX] = {
	[CMD_WATCH] = stream_events,
	[CMD_EXPORT] = stream_records,
};

/* ---------------------------------------------------------------- help */

static void __attribute__((__noreturn__, __format__(__printf__, 2, 3)))
usage_error(const struct ctl_cmd_desc *cd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("p2pchatctl: usage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cd == NULL)
		help_usage(stderr);
	else {
		fprintf(stderr, "usage: p2pchatctl ");
		help_cmd_usage(stderr, cd);
	}
	exit(CTL_EXIT_USAGE);
}

/* "unknown command", and the command it is probably a typo of. */
static void __attribute__((__noreturn__))
unknown_command(const char *name)
{
	const char *names[CMD__MAX + 1], *near;
	int i;

	for (i = 0; i < CMD__MAX; i++)
		names[i] = ctl_cmds[i].name;
	names[CMD__MAX] = "help";
	if ((near = util_closest(name, names, CMD__MAX + 1)) != NULL)
		usage_error(NULL, "unknown command '%s' (did you mean '%s'?)", name,
		    near);
	usage_error(NULL, "unknown command '%s'", name);
}

/* `p2pchatctl help [COMMAND]` */
static int
help_main(int argc, char **argv)
{
	int c;

	if (argc == 0) {
		help_all();
		return CTL_EXIT_OK;
	}
	if (argc > 1)
		usage_error(NULL, "help takes at most one command");
	if ((c = ctlcmd_lookup(argv[0])) == -1)
		unknown_command(argv[0]);
	help_cmd(&ctl_cmds[c]);
	return CTL_EXIT_OK;
}

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
		usage_error(p->cd, "%s: '%s' is not an integer", a->name, s);
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
		usage_error(p->cd, "%s: '%s' is not a number of seconds",
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
		if (strcmp(s, "-") == 0)
			usage_error(cd, "'-' (read standard input) must be the "
			    "only TEXT");
		join_text(p, &cd->args[p->pos - 1], s);
		return;
	}

	while (p->pos < CTL_MAX_ARGS && cd->args[p->pos].name != NULL &&
	    !is_positional(&cd->args[p->pos]))
		p->pos++;
	if (p->pos == CTL_MAX_ARGS || cd->args[p->pos].name == NULL)
		usage_error(cd, "unexpected argument '%s'", s);
	set_arg(p, &cd->args[p->pos], s);
	if (cd->args[p->pos].type == ARG_TEXT && strcmp(s, "-") != 0)
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
parse_option(struct parse *p, struct globals *g, int argc, char **argv, int i)
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
		usage_error(p->cd, "unknown option --%.*s", (int)len, name);
	if ((pwfile && g->pwfile != NULL) ||
	    (a != NULL && json_object_get(p->args, a->name) != NULL))
		usage_error(p->cd, "option --%.*s given twice", (int)len, name);
	if (eq != NULL && a != NULL && a->type == ARG_FLAG)
		usage_error(p->cd, "option --%.*s takes no value", (int)len, name);
	if (eq != NULL)
		val = eq + 1;
	else if (a != NULL && a->type == ARG_FLAG)
		val = NULL;
	else if (a != NULL && (a->flags & ARGF_OPTVAL)) {
		/* --wait 10 as well as --wait=10: a number right after. */
		if (i + 1 < argc && looks_numeric(argv[i + 1]))
			val = argv[++i];
	} else {
		if (i + 1 >= argc)
			usage_error(p->cd, "option --%.*s needs a value",
			    (int)len, name);
		val = argv[++i];
	}
	if (pwfile)
		g->pwfile = val;
	else
		set_arg(p, a, val);
	return i;
}

/* Every required positional given; an absent TEXT is read from stdin. */
static void
finish_positionals(struct parse *p)
{
	const struct ctl_arg *a;
	int i;

	for (i = 0; i < CTL_MAX_ARGS && p->cd->args[i].name != NULL; i++) {
		a = &p->cd->args[i];
		if (!is_positional(a) || json_object_get(p->args, a->name))
			continue;
		if (a->type == ARG_TEXT)
			set_arg(p, a, "-");
		else if (!(a->flags & ARGF_OPTIONAL))
			usage_error(p->cd, "missing argument '%s'", a->name);
	}
}

static json_t *
parse_cmd(const struct ctl_cmd_desc *cd, struct globals *g, int argc,
    char **argv)
{
	struct parse p = { cd, json_object(), 0, false };
	int i;

	if (g->pwfile != NULL && !(cd->flags & CTLF_PASSWORD))
		usage_error(cd, "--password-file is only for register and login");
	for (i = 0; i < argc; i++) {
		if (!p.endopts && strcmp(argv[i], "--") == 0)
			p.endopts = true;
		else if (!p.endopts && strncmp(argv[i], "--", 2) == 0)
			i = parse_option(&p, g, argc, argv, i);
		else if (!p.endopts && (strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "-s") == 0)) {
			if (i + 1 >= argc)
				usage_error(cd, "option %s needs a value", argv[i]);
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

/* ------------------------------------------------------------- commands */

/* watch: events until the daemon closes the connection or a signal. */
static int
stream_events(struct ctlconn *c)
{
	json_t *ev;

	while ((ev = ctlconn_recv(c)) != NULL) {
		if (json_object_get(ev, "event") != NULL)
			output_event(ev, c->line, c->linelen);
		json_decref(ev);
	}
	if (!ctlconn_stop)
		ctlconn_stream_ended();
	return CTL_EXIT_OK;
}

/* export: JSON records, verbatim, until {"end":true}. */
static int
stream_records(struct ctlconn *c)
{
	json_t *rec;
	bool end = false;

	while (!end && (rec = ctlconn_recv(c)) != NULL) {
		if (!(end = json_is_true(json_object_get(rec, "end"))))
			output_line(c->line, c->linelen);
		json_decref(rec);
	}
	if (!end && !ctlconn_stop)
		ctlconn_stream_ended();
	return CTL_EXIT_OK;
}

static int
run(struct ctlconn *c, int idx, json_t *args)
{
	const struct ctl_cmd_desc *cd = &ctl_cmds[idx];
	json_t *reply, *result, *error;
	json_int_t id;
	int rc = CTL_EXIT_OK;

	if (cd->shape == SHAPE_STREAM)
		ctlconn_catch_signals();
	if ((id = ctlconn_request(c, cd->name, args)) == -1)
		return CTL_EXIT_FAIL;
	reply = ctlconn_recv_reply(c);
	if ((result = ctlconn_reply(reply, id, &error)) == NULL) {
		output_error_result(cd, error);
		rc = output_error(error);
	}
	else if (cd->shape != SHAPE_STREAM)
		output_result(cd, result);
	else if (stream_cmds[idx] != NULL)
		rc = stream_cmds[idx](c);
	else
		rc = stream_events(c);
	json_decref(reply);
	return rc;
}

/*
 * -s SOCKET, else the control_socket of the configuration. Keys p2pchatd
 * would refuse do not stop us: only the socket's path matters here.
 */
static char *
socket_path(const struct globals *g)
{
	struct config *cf;
	char msg[1024], warn[1024];
	char *path;

	if (g->socket != NULL)
		return xstrdup(g->socket);
	if ((cf = config_load_lenient(g->config, warn, sizeof(warn), msg,
	    sizeof(msg))) == NULL)
		report_die(CTL_EXIT_USAGE, "config", "%s", msg);
	if (*warn != '\0')
		report_warn("config", "%s (p2pchatd would refuse this file; "
		    "p2pchatctl only needs the control socket)", warn);
	path = xstrdup(cf->control_socket);
	config_free(cf);
	return path;
}

static int
parse_globals(int argc, char **argv, struct globals *g)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "password-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:c:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			g->config = optarg;
			break;
		case 's':
			g->socket = optarg;
			break;
		case 'j':
			g->json = true;
			break;
		case 'p':
			g->pwfile = optarg;
			break;
		case 'h':
			help_all();
			exit(CTL_EXIT_OK);
		case 'V':
			printf("p2pchatctl %s\n", PACKAGE_VERSION);
			exit(CTL_EXIT_OK);
		case ':':
			usage_error(NULL, "option %s needs a value",
			    argv[optind - 1]);
		default:
			if (optopt != 0)
				usage_error(NULL, "unknown option -%c", optopt);
			usage_error(NULL, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind == argc)
		usage_error(NULL, "no command given");
	return optind;
}

int
main(int argc, char **argv)
{
	struct globals g = { NULL, NULL, NULL, false };
	const struct ctl_cmd_desc *cd;
	struct ctlconn conn;
	json_t *args;
	char *path;
	int i, idx, rc;

	secret_init();
	signal(SIGPIPE, SIG_IGN);
	i = parse_globals(argc, argv, &g);
	if (strcmp(argv[i], "help") == 0)
		return help_main(argc - i - 1, argv + i + 1);
	if ((idx = ctlcmd_lookup(argv[i])) == -1)
		unknown_command(argv[i]);
	cd = &ctl_cmds[idx];
	args = parse_cmd(cd, &g, argc - i - 1, argv + i + 1);
	if (g.config != NULL && g.socket != NULL)
		usage_error(NULL, "-c and -s cannot be used together");
	output_init(g.json);
	/* A stand-in password lets every other argument be checked first. */
	if (cd->flags & CTLF_PASSWORD)
		json_object_set_new(args, "password", json_string("********"));
	if ((rc = ctl_check_args(cd, args)) != 0)
		return rc;
	path = socket_path(&g);
	ctlconn_connect(&conn, path);
	if (cd->flags & CTLF_PASSWORD) {
		secret_add_password(cd, args, g.pwfile);
		if ((rc = ctl_check_args(cd, args)) != 0)
			return rc;
	}
	if (local_cmds[idx] != NULL)
		rc = local_cmds[idx](&conn, args);
	else
		rc = run(&conn, idx, args);
	json_decref(args);
	ctlconn_close(&conn);
	free(path);
	return rc;
}
