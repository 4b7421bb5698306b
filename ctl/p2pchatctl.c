/*
 * p2pchatctl: the command-line client of p2pchatd's control socket.
 *
 * Global options come first (or anywhere), then a command from the shared
 * command table (common/ctlcmd.c), whose entry drives everything here: its
 * positional arguments and --options are parsed generically into the
 * request's "args" object (args.c) and checked with the daemon's own
 * rules; its help text is printed from it (help.c); its output shape tells
 * output.c how to print the result. A request is one JSON line over the
 * Unix socket and the reply is one JSON line back; stream commands then
 * keep reading lines (run.c). The commands p2pchatctl runs itself are
 * chat.c, batch.c and local.c; the connection itself is conn.c; the
 * password, secret.c.
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

typedef int (*local_fn)(struct ctlconn *, json_t *);

/* Commands p2pchatctl implements itself over other commands. */
static const local_fn local_cmds[CMD__MAX] = {
	[CMD_CHAT] = chat_main,
	[CMD_SEND] = local_send,
	[CMD_SEND_FILE] = local_send_file,
	[CMD_SAVE] = local_save,
};

/* ---------------------------------------------------------------- help */

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
		ctl_usage_error(NULL, "unknown command '%s' (did you mean '%s'?)", name,
		    near);
	ctl_usage_error(NULL, "unknown command '%s'", name);
}

/*
 * The command at argv[*i]: "group VERB" is one command of two words
 * (*i then moves to VERB). -1 if unknown; "group --help" prints every
 * group command's help; "group" without a known verb is a usage error
 * naming the verbs.
 */
static int
lookup_cmd(int argc, char **argv, int *i)
{
	char name[64], verbs[128] = "";
	int c;

	if (strcmp(argv[*i], "group") != 0)
		return ctlcmd_lookup(argv[*i]);
	if (*i + 1 < argc) {
		snprintf(name, sizeof(name), "group %s", argv[*i + 1]);
		if ((c = ctlcmd_lookup(name)) != -1) {
			(*i)++;
			return c;
		}
	}
	for (c = 0; c < CMD__MAX; c++)
		if (strncmp(ctl_cmds[c].name, "group ", 6) == 0)
			snprintf(verbs + strlen(verbs), sizeof(verbs) - strlen(verbs),
			    "%s%s", *verbs ? ", " : "", ctl_cmds[c].name + 6);
	if (*i + 1 < argc && (strcmp(argv[*i + 1], "--help") == 0 ||
	    strcmp(argv[*i + 1], "-h") == 0)) {
		help_group();
		exit(CTL_EXIT_OK);
	}
	if (*i + 1 < argc)
		ctl_usage_error(NULL, "unknown group command '%s' (one of: %s)",
		    argv[*i + 1], verbs);
	ctl_usage_error(NULL, "group needs a command: one of %s", verbs);
}

/* `p2pchatctl help [COMMAND]` */
static int
help_main(int argc, char **argv)
{
	int c, i = 0;

	if (argc == 0) {
		help_all();
		return CTL_EXIT_OK;
	}
	if (argc == 1 && strcmp(argv[0], "group") == 0) {
		help_group();
		return CTL_EXIT_OK;
	}
	if ((c = lookup_cmd(argc, argv, &i)) == -1)
		unknown_command(argv[0]);
	if (argc > i + 1)
		ctl_usage_error(NULL, "help takes at most one command");
	help_cmd(&ctl_cmds[c]);
	return CTL_EXIT_OK;
}

/* ------------------------------------------------------------- commands */

/* A line typed at the terminal, without its end; false at end of input. */
static bool
ask(const char *question, char *line, size_t len)
{
	fputs(question, stderr);
	if (fgets(line, (int)len, stdin) == NULL)
		return false;
	line[strcspn(line, "\n")] = '\0';
	return true;
}

/*
 * A command that destroys (chat-delete): asked twice on a terminal, the
 * second time by the user's name; without a terminal only --yes does.
 * "yes" is p2pchatctl's, not sent. Returns 0 to go on, else the exit code
 * (reported), so that the caller frees what it holds before exiting.
 */
static int
confirm(const struct ctl_cmd_desc *cd, json_t *args)
{
	const char *user = json_string_value(json_object_get(args, "user"));
	bool yes = json_is_true(json_object_get(args, "yes"));
	char line[128], q[256];

	json_object_del(args, "yes");
	if (yes)
		return 0;
	if (isatty(STDIN_FILENO) != 1)
		return ctl_usage_report(cd, "%s deletes the chat with %s and its "
		    "messages for good: add --yes to confirm (standard input is "
		    "not a terminal to ask on)", cd->name, user);
	snprintf(q, sizeof(q), "Delete the chat with %s and all its messages, "
	    "for good? [y/N] ", user);
	if (!ask(q, line, sizeof(line)) || (strcmp(line, "y") != 0 &&
	    strcmp(line, "yes") != 0))
		goto refused;
	snprintf(q, sizeof(q), "Type %s to delete the chat: ", user);
	if (!ask(q, line, sizeof(line)) || strcmp(line, user) != 0)
		goto refused;
	return 0;
refused:
	report_warn("not_confirmed", "nothing deleted");
	return CTL_EXIT_FAIL;
}

/*
 * send --batch USER [--ttl S] [--jsonl]: TEXT, --group, --id and --wait
 * belong to one message (an id comes on its --jsonl line). The per-line
 * arguments are checked as each line is read; 0 or the exit code.
 */
static int
batch_check(const struct ctl_cmd_desc *cd, json_t *args)
{
	static const char *const one[] = { "text", "group", "id", "wait" };
	json_t *probe;
	size_t i;
	int rc;

	if (json_object_get(args, "batch") == NULL) {
		if (json_object_get(args, "jsonl") != NULL)
			return ctl_usage_report(cd, "--jsonl is for send --batch");
		return ctl_check_args(cd, args);
	}
	for (i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if (json_object_get(args, one[i]) != NULL)
			return ctl_usage_report(cd, "send --batch reads its "
			    "messages from standard input, one a line: %s is "
			    "not for --batch%s",
			    strcmp(one[i], "text") == 0 ? "TEXT" : one[i],
			    strcmp(one[i], "id") == 0 ? " (give ids on --jsonl "
			    "lines: {\"text\":...,\"id\":...})" : "");
	probe = json_deep_copy(args);
	json_object_del(probe, "batch");
	json_object_del(probe, "jsonl");
	json_object_set_new(probe, "text", json_string("-"));
	rc = ctl_check_args(cd, probe);
	json_decref(probe);
	return rc;
}

/*
 * -s SOCKET, else the control_socket of the configuration. Keys p2pchatd
 * would refuse do not stop us: only the socket's path matters here.
 */
static char *
socket_path(const struct ctl_globals *g)
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
parse_globals(int argc, char **argv, struct ctl_globals *g)
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
			ctl_usage_error(NULL, "option %s needs a value",
			    argv[optind - 1]);
		default:
			if (optopt != 0)
				ctl_usage_error(NULL, "unknown option -%c", optopt);
			ctl_usage_error(NULL, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind == argc)
		ctl_usage_error(NULL, "no command given");
	return optind;
}

int
main(int argc, char **argv)
{
	struct ctl_globals g = { NULL, NULL, NULL, false };
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
	if ((idx = lookup_cmd(argc, argv, &i)) == -1)
		unknown_command(argv[i]);
	cd = &ctl_cmds[idx];
	args = args_parse(cd, &g, argc - i - 1, argv + i + 1);
	if (g.config != NULL && g.socket != NULL)
		ctl_usage_error(NULL, "-c and -s cannot be used together");
	output_init(g.json);
	/* A stand-in password lets every other argument be checked first. */
	if (cd->flags & CTLF_PASSWORD)
		json_object_set_new(args, "password", json_string("********"));
	if ((rc = idx == CMD_SEND ? batch_check(cd, args) :
	    ctl_check_args(cd, args)) != 0) {
		json_decref(args);
		return rc;
	}
	path = socket_path(&g);
	ctlconn_connect(&conn, path);
	if (cd->flags & CTLF_PASSWORD) {
		secret_add_password(cd, args, g.pwfile);
		if ((rc = ctl_check_args(cd, args)) != 0)
			goto out;
	}
	if ((cd->flags & CTLF_CONFIRM) && (rc = confirm(cd, args)) != 0)
		goto out;
	if (local_cmds[idx] != NULL)
		rc = local_cmds[idx](&conn, args);
	else
		rc = ctl_run(&conn, idx, args);
out:
	json_decref(args);
	ctlconn_close(&conn);
	free(path);
	return rc;
}
