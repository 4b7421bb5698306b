/*
 * The control command table, shared by p2pchatd (dispatch and argument
 * checks) and p2pchatctl (command-line parsing, help and output columns).
 * Adding a command is one entry here plus one handler in the daemon.
 */
#ifndef P2P_CTLCMD_H
#define P2P_CTLCMD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum ctl_cmd {
	CMD_REGISTER,
	CMD_LOGIN,
	CMD_LOGOUT,
	CMD_STATUS,
	CMD_SEND,
	CMD_CHATS,
	CMD_HISTORY,
	CMD_PENDING,
	CMD_LOOKUP,
	CMD_FINGERPRINT,
	CMD_TRUST,
	CMD_WATCH,
	CMD_CHAT,
	CMD_WAIT,
	CMD_CANCEL,
	CMD_SEARCH,
	CMD_EXPORT,
	CMD_IMPORT,
	CMD_USERS,
	CMD_STATS,
	CMD_RELOAD,
	CMD_SHUTDOWN,
	CMD_VERSION,
	CMD_CHAT_DELETE,
	CMD_GROUP_CREATE,
	CMD_GROUP_ADD,
	CMD_GROUP_REMOVE,
	CMD_GROUP_RENAME,
	CMD_GROUP_LEAVE,
	CMD_GROUP_SHOW,
	CMD_GROUPS,
	CMD_SEND_FILE,
	CMD_FILES,
	CMD_SAVE,
	CMD_ACCEPT,
	CMD_REJECT,
	CMD__MAX
};

/* Which daemon modes serve a command. */
#define CTL_MODE_PEER	0x1
#define CTL_MODE_GESTOR	0x2

enum ctl_argtype {
	ARG_STR,	/* any non-empty UTF-8 string */
	ARG_USER,	/* a valid username */
	ARG_UINT,	/* a non-negative integer */
	ARG_SECONDS,	/* a non-negative number of seconds */
	ARG_MSGID,	/* 32 hex digits */
	ARG_FP,		/* sha256:<64 hex> */
	ARG_TEXT,	/* message body; "-" or absent: read from stdin */
	ARG_PASSWORD,	/* never on the command line; read by p2pchatctl */
	ARG_DATA,	/* FILE or "-": p2pchatctl sends the content (may be empty) */
	ARG_FLAG,	/* --name alone: true */
	ARG_SINCE,	/* a non-negative integer, or "now" */
};

#define ARGF_OPTION	0x01	/* given as --name VALUE, not positionally */
#define ARGF_OPTIONAL	0x02	/* may be absent */
#define ARGF_MULTI	0x04	/* all remaining positionals, as a JSON array */
#define ARGF_OPTVAL	0x08	/* option whose value is optional: --wait[=N] */
#define ARGF_HIDDEN	0x10	/* not from argv (password) */
#define ARGF_WORDS	0x20	/* the words that follow joined, as TEXT's */
/*
 * One of the arguments so marked, exactly (send and history: USER or
 * --group GROUP); each is also ARGF_OPTIONAL. Missing both names the
 * first.
 */
#define ARGF_EITHER	0x40
/* p2pchatctl's own (send --batch): never in a request, refused in one */
#define ARGF_LOCAL	0x80

struct ctl_arg {
	const char		*name;	/* JSON member and option name */
	enum ctl_argtype	 type;
	unsigned		 flags;
};

/* How p2pchatctl prints a result. */
enum ctl_shape {
	SHAPE_NONE,	/* nothing on success */
	SHAPE_VALUE,	/* the first column's value alone */
	SHAPE_KV,	/* one "key<TAB>value" line per column present */
	SHAPE_LIST,	/* result.items: one line per item, columns tab-separated */
	SHAPE_STREAM,	/* event lines until the connection closes */
};

#define CTLF_PASSWORD	0x1	/* p2pchatctl reads a password */
#define CTLF_LOCAL	0x2	/* implemented by p2pchatctl over other commands */
#define CTLF_CONFIRM	0x4	/* p2pchatctl asks twice on a terminal, or --yes */

#define CTL_MAX_ARGS	8
#define CTL_MAX_COLS	10

struct ctl_cmd_desc {
	const char		*name;
	unsigned		 modes;
	unsigned		 flags;
	const char		*usage;
	const char		*summary;
	struct ctl_arg		 args[CTL_MAX_ARGS];
	enum ctl_shape		 shape;
	const char		*columns[CTL_MAX_COLS];
};

extern const struct ctl_cmd_desc ctl_cmds[CMD__MAX];

/* Index of the named command, or -1. */
int	ctlcmd_lookup(const char *);
/*
 * Check a request's "args" object against the table: every member known,
 * of the right type, required ones present. Returns 0, or -1 with a
 * message in err.
 */
int	ctlcmd_check_args(const struct ctl_cmd_desc *, const json_t *,
	    unsigned maxbody, char *err, size_t errlen);
/* Find an argument description by name, or NULL. */
const struct ctl_arg *ctlcmd_arg(const struct ctl_cmd_desc *, const char *);

#endif
