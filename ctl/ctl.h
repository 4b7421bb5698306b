/*
 * Declarations shared by the parts of p2pchatctl: argument checking
 * (args.c), usage errors (help.c) and the interactive chat (chat.c).
 * The control connection lives in conn.h, the password in secret.h,
 * output in output.h.
 */
#ifndef P2P_CTL_H
#define P2P_CTL_H

#include <stdbool.h>

#include <jansson.h>

#include "conn.h"
#include "ctlcmd.h"

/* Options that are not a command's own, given anywhere on the line. */
struct ctl_globals {
	const char	*config;
	const char	*socket;
	const char	*pwfile;
	bool		 json;
};

/* Largest message body p2pchatctl checks for; the daemon enforces its own. */
#define CTL_MAXBODY	(16u * 1024 * 1024)
/* args.c: check args against the table; 0, or the exit code after reporting. */
int		 ctl_check_args(const struct ctl_cmd_desc *, const json_t *);

/* help.c: print "p2pchatctl: usage: ...", the usage of cd (or all), exit 2. */
void		 ctl_usage_error(const struct ctl_cmd_desc *, const char *, ...)
		    __attribute__((__noreturn__, __format__(__printf__, 2, 3)));
/* help.c: the same report without exiting; returns 2 (CTL_EXIT_USAGE). */
int		 ctl_usage_report(const struct ctl_cmd_desc *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
/* args.c: the request's "args" for command cd from argv (exits on usage). */
json_t		*args_parse(const struct ctl_cmd_desc *, struct ctl_globals *,
		    int argc, char **argv);

/* run.c: one request: its reply printed, a stream read to its end. */
int		 ctl_run(struct ctlconn *, int idx, json_t *args);
/* local.c: send (--wait), send-file (--wait), save: the exit code. */
int		 local_send(struct ctlconn *, json_t *);
int		 local_send_file(struct ctlconn *, json_t *);
int		 local_save(struct ctlconn *, json_t *);

/* batch.c: send --batch USER [--jsonl]: returns the exit code. */
int		 send_batch(struct ctlconn *, json_t *);
/* chat USER: returns the exit code. */
int		 chat_main(struct ctlconn *, json_t *);

#endif
