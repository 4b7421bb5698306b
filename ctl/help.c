/*
 * Help and usage text for p2pchatctl, generated from the command table
 * (common/ctlcmd.c) and the event formats (output.c), so that it cannot
 * drift from what the commands take and print. A command whose fields
 * depend on the daemon's mode (status, stats) lists both.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "help.h"
#include "output.h"
#include "proto.h"

/* Fields of a key<TAB>value answer that differ by mode. */
static const struct help_fields {
	enum ctl_cmd	 cmd;
	const char	*peer;
	const char	*gestor;
} mode_fields[] = {
	{ CMD_STATUS,
	    "mode user state gestor gestor_state last_heartbeat listen "
	    "advertise fingerprint pending deposited (of those, in their "
	    "recipients' mailboxes) mail_waiting (mail for this account in its "
	    "mailbox at the gestor, - if unknown) mail_held (of those, signed "
	    "with the new key of a verified contact: left there until trust) "
	    "last_seq (the seq of the last "
	    "stored event, for watch --since) relay_use links_direct "
	    "links_relay relay_invites; when there is one: gestor_error (why "
	    "the link is down or the session cannot resume yet: it is kept "
	    "and retried), gestor_retry_in (seconds to the next try), "
	    "store_error and store_failing_since (writes to the store fail)",
	    "mode listen fingerprint users online connections uptime backend "
	    "database database_since database_error cluster (this gestor's "
	    "name in a PostgreSQL cluster) relay (the relay's address, or "
	    "off)" },
	{ CMD_LOOKUP,
	    "user online addr port last_seen fingerprint verified route "
	    "(direct or relay) route_why (why the relay) warning (for "
	    "instance that the key changed)",
	    "user online addr port last_seen fingerprint mail (the key the "
	    "user takes mail for, empty for none)" },
	{ CMD_STATS,
	    "uptime; since this start: sent received delivered failed "
	    "cancelled expired retries duplicates; now: pending held; in the "
	    "whole store (kept across restarts): failed_total cancelled_total "
	    "expired_total; open now: connections_out connections_in; since this "
	    "start: requests_refused mail_deposited mail_fetched mail_dropped",
	    "uptime users online connections registrations logins "
	    "login_failures rate_limited frames_in frames_out "
	    "connections_total db_errors db_reconnects db_timeouts "
	    "cluster_events cluster_refused; relay (yes when it runs) "
	    "relay_invites_out relay_invites_in relay_sessions_active "
	    "relay_sessions_waiting relay_sessions_total relay_refused "
	    "relay_bad_keys relay_expired relay_idle_closed "
	    "relay_one_way_closed relay_stalled relay_evicted relay_not_tls "
	    "relay_bytes "
	    "relay_buffered; lookups lookups_refused watched_names "
	    "watches_refused advertised_refused; hash_queued hashed "
	    "hash_dropped hash_refused; mail_deposits mail_fetched mail_acked "
	    "mail_withdrawn mail_expired mail_refused_quota "
	    "mail_refused_no_user mail_refused_no_mail mail_refused_disabled "
	    "mail_refused_store; now: mail_held mail_bytes_held" },
};

void
help_usage(FILE *f)
{
	fprintf(f, "usage: p2pchatctl [-c FILE | -s SOCKET] [--json] COMMAND "
	    "[ARGS]\n");
}

void
help_cmd_usage(FILE *f, const struct ctl_cmd_desc *cd)
{
	fprintf(f, "%s%s%s%s\n", cd->name, *cd->usage != '\0' ? " " : "",
	    cd->usage, (cd->flags & CTLF_PASSWORD) ?
	    " [--password-file FILE]" : "");
}

static void
help_exit_status(void)
{
	printf("\nexit status: 0 ok; 1 refused or failed (also a message that "
	    "failed, was cancelled or expired); 2 usage; 3 timed out while a "
	    "message is pending, deposited or held; 4 no daemon\n"
	    "errors: one line on stderr, \"p2pchatctl: CODE: message\"\n");
}

void
help_all(void)
{
	static const char *modes[] = { "", " [peer]", " [gestor]", "" };
	int i;

	help_usage(stdout);
	printf("       p2pchatctl help [COMMAND] | COMMAND --help | --version\n"
	    "\noptions (before or after the command):\n"
	    "  -c FILE               read the control socket's path from FILE\n"
	    "  -s SOCKET             connect to SOCKET\n"
	    "  --json                print results and events as JSON lines\n"
	    "  --password-file FILE  register, login: read the password from "
	    "FILE\n"
	    "  -h, --help            print this help\n"
	    "  --version             print p2pchatctl's version\n"
	    "\ncommands ([peer] or [gestor]: served only by that mode):\n");
	for (i = 0; i < CMD__MAX; i++) {
		printf("  ");
		help_cmd_usage(stdout, &ctl_cmds[i]);
		printf("        %s%s\n", ctl_cmds[i].summary,
		    modes[ctl_cmds[i].modes & 3]);
	}
	help_exit_status();
	output_flush();
}

/* help group, group --help: each group command's help. */
void
help_group(void)
{
	int i, n = 0;

	for (i = 0; i < CMD__MAX; i++) {
		if (strncmp(ctl_cmds[i].name, "group ", 6) != 0)
			continue;
		if (n++ > 0)
			printf("\n");
		help_cmd(&ctl_cmds[i]);
	}
}

/* watch and chat: every event line and its fields. */
static void
help_events(void)
{
	const char *name, *fields[16];
	size_t i, j;

	printf("output: one line per event, tab-separated (--json: one JSON "
	    "object, \"event\" naming it):\n");
	for (i = 0; output_event_format(i, &name, fields, 16); i++) {
		printf("  %-12s", name);
		for (j = 0; fields[j] != NULL; j++)
			printf(" %s", fields[j]);
		printf("\n");
	}
	printf("the first five columns are the same for every event: seq event ts "
	    "user id, '-' where an event has none (user: who sent a message, "
	    "else whom it concerns); seq: stored events only ('-' for "
	    "presence); --since SEQ replays the stored events after SEQ, "
	    "--since now none; ts: ISO 8601 UTC; a group message's message "
	    "and delivered lines end with two more: the group's id and "
	    "title\n");
}

void
help_cmd(const struct ctl_cmd_desc *cd)
{
	static const char *shapes[] = {
		[SHAPE_VALUE] = "",
		[SHAPE_KV] = "key<TAB>value lines:",
		[SHAPE_LIST] = "one line per item, tab-separated:",
	};
	size_t k;
	int i;

	printf("usage: p2pchatctl ");
	help_cmd_usage(stdout, cd);
	printf("%s\n", cd->summary);
	for (k = 0; k < sizeof(mode_fields) / sizeof(mode_fields[0]); k++) {
		if (cd != &ctl_cmds[mode_fields[k].cmd])
			continue;
		printf("output: key<TAB>value lines\n  from a peer: %s\n"
		    "  from a gestor: %s\n", mode_fields[k].peer,
		    mode_fields[k].gestor);
		output_flush();
		return;
	}
	if (cd == &ctl_cmds[CMD_WATCH])
		help_events();
	else if (cd->columns[0] != NULL && shapes[cd->shape] != NULL) {
		printf("output: %s", shapes[cd->shape]);
		for (i = 0; i < CTL_MAX_COLS && cd->columns[i] != NULL; i++) {
			printf("%s%s", i > 0 || *shapes[cd->shape] ? " " : "",
			    cd->columns[i]);
			if (cd->shape == SHAPE_VALUE)
				break;
		}
		printf("\n");
	}
	if (cd == &ctl_cmds[CMD_SEND] || cd == &ctl_cmds[CMD_WAIT])
		printf("exit: 0 delivered (or queued, without --wait); 1 failed, "
		    "cancelled or expired; 3 still pending, deposited or held at the "
		    "timeout (the reason on stderr); the id%s is printed "
		    "whatever the outcome\n", cd == &ctl_cmds[CMD_WAIT] ?
		    " and state of each message" : "");
	output_flush();
}

static void usage_v(const struct ctl_cmd_desc *, const char *, va_list)
    __attribute__((__format__(__printf__, 2, 0)));

static void
usage_v(const struct ctl_cmd_desc *cd, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("p2pchatctl: usage: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (cd == NULL)
		help_usage(stderr);
	else {
		fprintf(stderr, "usage: p2pchatctl ");
		help_cmd_usage(stderr, cd);
	}
}

int
ctl_usage_report(const struct ctl_cmd_desc *cd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	usage_v(cd, fmt, ap);
	va_end(ap);
	return CTL_EXIT_USAGE;
}

void
ctl_usage_error(const struct ctl_cmd_desc *cd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	usage_v(cd, fmt, ap);
	va_end(ap);
	exit(CTL_EXIT_USAGE);
}
