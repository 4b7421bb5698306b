/*
 * Unit tests for ctlcmd.c: the control command table is complete and
 * consistent, ctlcmd_lookup and ctlcmd_arg find what is there and nothing
 * else, and ctlcmd_check_args refuses every kind of bad argument object
 * while accepting good ones.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctlcmd.h"
#include "proto.h"
#include "testutil.h"

#define ID1	"0123456789abcdef0123456789abcdef"
#define ID2	"fedcba9876543210fedcba9876543210"
#define FP	"sha256:" \
	"0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef"
#define MAXBODY	100

static char err[512];

/* The commands DESIGN.md lists, at their enum index. */
static const struct {
	enum ctl_cmd	 cmd;
	const char	*name;
	unsigned	 modes;
} design[] = {
	{ CMD_REGISTER, "register", CTL_MODE_PEER },
	{ CMD_LOGIN, "login", CTL_MODE_PEER },
	{ CMD_LOGOUT, "logout", CTL_MODE_PEER },
	{ CMD_STATUS, "status", CTL_MODE_PEER | CTL_MODE_GESTOR },
	{ CMD_SEND, "send", CTL_MODE_PEER },
	{ CMD_CHATS, "chats", CTL_MODE_PEER },
	{ CMD_HISTORY, "history", CTL_MODE_PEER },
	{ CMD_PENDING, "pending", CTL_MODE_PEER },
	{ CMD_LOOKUP, "lookup", CTL_MODE_PEER | CTL_MODE_GESTOR },
	{ CMD_FINGERPRINT, "fingerprint", CTL_MODE_PEER },
	{ CMD_TRUST, "trust", CTL_MODE_PEER },
	{ CMD_WATCH, "watch", CTL_MODE_PEER },
	{ CMD_CHAT, "chat", CTL_MODE_PEER },
	{ CMD_WAIT, "wait", CTL_MODE_PEER },
	{ CMD_CANCEL, "cancel", CTL_MODE_PEER },
	{ CMD_SEARCH, "search", CTL_MODE_PEER },
	{ CMD_EXPORT, "export", CTL_MODE_PEER },
	{ CMD_IMPORT, "import", CTL_MODE_PEER },
	{ CMD_USERS, "users", CTL_MODE_GESTOR },
	{ CMD_STATS, "stats", CTL_MODE_PEER | CTL_MODE_GESTOR },
	{ CMD_RELOAD, "reload", CTL_MODE_PEER | CTL_MODE_GESTOR },
	{ CMD_SHUTDOWN, "shutdown", CTL_MODE_PEER | CTL_MODE_GESTOR },
	{ CMD_VERSION, "version", CTL_MODE_PEER | CTL_MODE_GESTOR },
	{ CMD_CHAT_DELETE, "chat-delete", CTL_MODE_PEER },
	{ CMD_GROUP_CREATE, "group create", CTL_MODE_PEER },
	{ CMD_GROUP_ADD, "group add", CTL_MODE_PEER },
	{ CMD_GROUP_REMOVE, "group remove", CTL_MODE_PEER },
	{ CMD_GROUP_RENAME, "group rename", CTL_MODE_PEER },
	{ CMD_GROUP_LEAVE, "group leave", CTL_MODE_PEER },
	{ CMD_GROUP_SHOW, "group show", CTL_MODE_PEER },
	{ CMD_GROUPS, "groups", CTL_MODE_PEER },
	{ CMD_SEND_FILE, "send-file", CTL_MODE_PEER },
	{ CMD_FILES, "files", CTL_MODE_PEER },
	{ CMD_SAVE, "save", CTL_MODE_PEER },
	{ CMD_ACCEPT, "accept", CTL_MODE_PEER },
	{ CMD_REJECT, "reject", CTL_MODE_PEER },
};

static const struct ctl_cmd_desc *
cmd(enum ctl_cmd c)
{
	return &ctl_cmds[c];
}

/* Check args given as JSON text (NULL: no args object at all). */
static int
check(enum ctl_cmd c, const char *json)
{
	json_t *args = NULL;
	json_error_t jerr;
	int rc;

	if (json != NULL) {
		args = json_loads(json, JSON_DECODE_ANY, &jerr);
		ck_assert_msg(args != NULL, "bad test JSON %s: %s", json,
		    jerr.text);
	}
	err[0] = '\0';
	rc = ctlcmd_check_args(cmd(c), args, MAXBODY, err, sizeof(err));
	json_decref(args);
	return rc;
}

/* Check {"name": v} for a one-member object with v owned by this call. */
static int
check_one(enum ctl_cmd c, json_t *base, const char *name, json_t *v)
{
	json_t *args = base != NULL ? base : json_object();
	int rc;

	json_object_set_new(args, name, v);
	err[0] = '\0';
	rc = ctlcmd_check_args(cmd(c), args, MAXBODY, err, sizeof(err));
	json_decref(args);
	return rc;
}

/* The JSON text for messages, "(null)" for no args object. */
static const char *
show(const char *json)
{
	return json != NULL ? json : "(null)";
}

#define OK(c, j) \
	ck_assert_msg(check((c), (j)) == 0, "refused %s: %s", show(j), err)
#define BAD(c, j, what) do { \
	ck_assert_msg(check((c), (j)) == -1, "accepted %s", show(j)); \
	ck_assert_msg(strstr(err, (what)) != NULL, \
	    "for %s: \"%s\" lacks \"%s\"", show(j), err, (what)); \
} while (0)

START_TEST(test_table_entries)
{
	int i, j, n;

	for (i = 0; i < CMD__MAX; i++) {
		const struct ctl_cmd_desc *cd = &ctl_cmds[i];

		ck_assert_msg(cd->name != NULL && *cd->name != '\0',
		    "entry %d has no name", i);
		ck_assert_msg(cd->usage != NULL, "%s: no usage", cd->name);
		ck_assert_msg(cd->summary != NULL && *cd->summary != '\0',
		    "%s: no summary", cd->name);
		ck_assert_msg(cd->modes != 0 && (cd->modes &
		    ~(unsigned)(CTL_MODE_PEER | CTL_MODE_GESTOR)) == 0,
		    "%s: modes 0x%x", cd->name, cd->modes);
		for (n = 0; n < CTL_MAX_ARGS && cd->args[n].name != NULL; n++)
			;
		for (j = n; j < CTL_MAX_ARGS; j++)
			ck_assert_msg(cd->args[j].name == NULL,
			    "%s: argument after the end of the list", cd->name);
		/* Shapes that print columns have some. */
		if (cd->shape == SHAPE_VALUE || cd->shape == SHAPE_KV ||
		    cd->shape == SHAPE_LIST)
			ck_assert_msg(cd->columns[0] != NULL,
			    "%s: no columns", cd->name);
	}
}
END_TEST

START_TEST(test_table_matches_design)
{
	size_t i;

	ck_assert_uint_eq(sizeof(design) / sizeof(design[0]), CMD__MAX);
	for (i = 0; i < sizeof(design) / sizeof(design[0]); i++) {
		ck_assert_str_eq(ctl_cmds[design[i].cmd].name, design[i].name);
		ck_assert_msg(ctl_cmds[design[i].cmd].modes == design[i].modes,
		    "%s: modes 0x%x, expected 0x%x", design[i].name,
		    ctl_cmds[design[i].cmd].modes, design[i].modes);
	}
}
END_TEST

START_TEST(test_table_args)
{
	int i, j, k;

	for (i = 0; i < CMD__MAX; i++) {
		const struct ctl_cmd_desc *cd = &ctl_cmds[i];
		bool has_password = false, seen_multi = false;

		for (j = 0; j < CTL_MAX_ARGS && cd->args[j].name != NULL; j++) {
			const struct ctl_arg *a = &cd->args[j];
			char opt[64];

			ck_assert_msg(*a->name != '\0', "%s: empty arg", cd->name);
			/* Names unique within a command, found by ctlcmd_arg. */
			for (k = j + 1; k < CTL_MAX_ARGS &&
			    cd->args[k].name != NULL; k++)
				ck_assert_msg(strcmp(a->name, cd->args[k].name),
				    "%s: argument %s twice", cd->name, a->name);
			ck_assert_ptr_eq(ctlcmd_arg(cd, a->name), a);
			if (a->type == ARG_PASSWORD) {
				has_password = true;
				ck_assert_msg(a->flags & ARGF_HIDDEN,
				    "%s: password not hidden", cd->name);
			}
			if (a->flags & ARGF_OPTVAL)
				ck_assert_msg(a->flags & ARGF_OPTION,
				    "%s: --%s[=V] is not an option", cd->name,
				    a->name);
			/* Options appear in the usage line as --name. */
			if ((a->flags & ARGF_OPTION) && !(a->flags & ARGF_HIDDEN)) {
				snprintf(opt, sizeof(opt), "--%s", a->name);
				/* --send-pending for send_pending */
				for (k = 2; opt[k] != '\0'; k++)
					if (opt[k] == '_')
						opt[k] = '-';
				ck_assert_msg(strstr(cd->usage, opt) != NULL,
				    "%s: usage \"%s\" lacks %s", cd->name,
				    cd->usage, opt);
			}
			/* A MULTI positional takes the rest: no positional after. */
			if (!(a->flags & (ARGF_OPTION | ARGF_HIDDEN)))
				ck_assert_msg(!seen_multi, "%s: %s after MULTI",
				    cd->name, a->name);
			if (a->flags & ARGF_MULTI)
				seen_multi = true;
		}
		ck_assert_msg(has_password == !!(cd->flags & CTLF_PASSWORD),
		    "%s: CTLF_PASSWORD and password argument disagree",
		    cd->name);
		ck_assert_ptr_null(ctlcmd_arg(cd, "no-such-arg"));
		ck_assert_ptr_null(ctlcmd_arg(cd, ""));
	}
	ck_assert_ptr_null(ctlcmd_arg(cmd(CMD_SEND), "User"));
	ck_assert_ptr_nonnull(ctlcmd_arg(cmd(CMD_SEND), "wait"));
}
END_TEST

START_TEST(test_lookup)
{
	char upper[32];
	int i, j;

	for (i = 0; i < CMD__MAX; i++) {
		ck_assert_int_eq(ctlcmd_lookup(ctl_cmds[i].name), i);
		for (j = i + 1; j < CMD__MAX; j++)
			ck_assert_msg(strcmp(ctl_cmds[i].name, ctl_cmds[j].name),
			    "command %s twice", ctl_cmds[i].name);
	}
	ck_assert_int_eq(ctlcmd_lookup("nosuch"), -1);
	ck_assert_int_eq(ctlcmd_lookup(""), -1);
	ck_assert_int_eq(ctlcmd_lookup("sen"), -1);
	ck_assert_int_eq(ctlcmd_lookup("sendx"), -1);
	ck_assert_int_eq(ctlcmd_lookup("send "), -1);
	snprintf(upper, sizeof(upper), "SEND");
	ck_assert_int_eq(ctlcmd_lookup(upper), -1);
	ck_assert_int_eq(ctlcmd_lookup("send"), CMD_SEND);
	ck_assert_int_eq(ctlcmd_lookup("users"), CMD_USERS);
}
END_TEST

START_TEST(test_args_object)
{
	BAD(CMD_STATUS, "[]", "object");
	BAD(CMD_STATUS, "\"user\"", "object");
	BAD(CMD_STATUS, "5", "object");
	BAD(CMD_STATUS, "null", "object");
	BAD(CMD_SEND, "[\"bob\", \"hi\"]", "object");
	OK(CMD_STATUS, "{}");
	OK(CMD_STATUS, NULL);
}
END_TEST

START_TEST(test_null_args)
{
	int i, j;

	/* NULL args: fine exactly when nothing is required. */
	for (i = 0; i < CMD__MAX; i++) {
		const struct ctl_cmd_desc *cd = &ctl_cmds[i];
		bool required = false;

		for (j = 0; j < CTL_MAX_ARGS && cd->args[j].name != NULL; j++)
			if (!(cd->args[j].flags & ARGF_OPTIONAL) ||
			    (cd->args[j].flags & ARGF_EITHER))
				required = true;
		err[0] = '\0';
		ck_assert_msg(ctlcmd_check_args(cd, NULL, MAXBODY, err,
		    sizeof(err)) == (required ? -1 : 0), "%s: %s", cd->name,
		    err);
		if (required)
			ck_assert_ptr_nonnull(strstr(err, "missing"));
	}
	OK(CMD_FINGERPRINT, NULL);
	OK(CMD_WATCH, NULL);
	OK(CMD_EXPORT, NULL);
	BAD(CMD_SEND, NULL, "missing argument 'user'");
	BAD(CMD_WAIT, NULL, "missing argument 'ids'");
}
END_TEST

START_TEST(test_unknown_and_missing)
{
	BAD(CMD_STATUS, "{\"verbose\":true}", "unknown argument 'verbose'");
	BAD(CMD_SEND, "{\"user\":\"bob\",\"text\":\"hi\",\"to\":\"x\"}",
	    "unknown argument 'to'");
	BAD(CMD_SEND, "{\"User\":\"bob\",\"text\":\"hi\"}", "unknown");
	BAD(CMD_HISTORY, "{\"user\":\"bob\",\"password\":\"12345678\"}",
	    "unknown argument 'password'");
	/* send --batch and --jsonl are p2pchatctl's: never in a request. */
	BAD(CMD_SEND, "{\"user\":\"bob\",\"text\":\"hi\",\"batch\":true}",
	    "argument 'batch' is p2pchatctl's own");
	BAD(CMD_SEND, "{\"user\":\"bob\",\"text\":\"hi\",\"jsonl\":false}",
	    "argument 'jsonl' is p2pchatctl's own");
	BAD(CMD_SEND, "{\"text\":\"hi\"}", "missing argument 'user'");
	BAD(CMD_SEND, "{\"user\":\"bob\"}", "missing argument 'text'");
	BAD(CMD_SEND, "{\"user\":\"bob\",\"group\":\"team\",\"text\":\"hi\"}",
	    "cannot both be given");
	OK(CMD_SEND, "{\"group\":\"team\",\"text\":\"hi\"}");
	BAD(CMD_HISTORY, "{}", "missing argument 'user'");
	OK(CMD_HISTORY, "{\"group\":\"team\"}");
	BAD(CMD_REGISTER, "{\"user\":\"bob\"}", "missing argument 'password'");
	BAD(CMD_LOGIN, "{\"password\":\"secret123\"}", "missing argument 'user'");
	BAD(CMD_TRUST, "{}", "missing argument 'user'");
	BAD(CMD_IMPORT, "{}", "missing argument 'data'");
	BAD(CMD_SEARCH, "{\"user\":\"bob\"}", "missing argument 'text'");
	/* Optional ones may be left out. */
	OK(CMD_SEND, "{\"user\":\"bob\",\"text\":\"hi\"}");
	OK(CMD_HISTORY, "{\"user\":\"bob\"}");
	OK(CMD_TRUST, "{\"user\":\"bob\"}");
	OK(CMD_WAIT, "{\"ids\":[\"" ID1 "\"]}");
	OK(CMD_SEARCH, "{\"text\":\"hello\"}");
	OK(CMD_REGISTER, "{\"user\":\"bob\",\"password\":\"secret123\"}");
	/* Every optional one given at once. */
	OK(CMD_SEND, "{\"user\":\"bob\",\"text\":\"hi\",\"wait\":5,"
	    "\"id\":\"" ID1 "\"}");
	OK(CMD_SEARCH, "{\"text\":\"hi\",\"user\":\"bob\",\"limit\":3}");
}
END_TEST

START_TEST(test_type_user)
{
	char name[40];

	OK(CMD_LOOKUP, "{\"user\":\"bob\"}");
	OK(CMD_LOOKUP, "{\"user\":\"a.b_c-9\"}");
	memset(name, 'a', 32);
	name[32] = '\0';
	ck_assert_int_eq(check_one(CMD_LOOKUP, NULL, "user", json_string(name)), 0);
	name[32] = 'a';
	name[33] = '\0';
	ck_assert_int_eq(check_one(CMD_LOOKUP, NULL, "user", json_string(name)), -1);
	ck_assert_ptr_nonnull(strstr(err, "'user'"));
	BAD(CMD_LOOKUP, "{\"user\":\"Bob\"}", "'user'");
	BAD(CMD_LOOKUP, "{\"user\":\"\"}", "'user'");
	BAD(CMD_LOOKUP, "{\"user\":\".bob\"}", "'user'");
	BAD(CMD_LOOKUP, "{\"user\":\"b b\"}", "'user'");
	BAD(CMD_LOOKUP, "{\"user\":5}", "'user'");
	BAD(CMD_LOOKUP, "{\"user\":null}", "'user'");
	BAD(CMD_LOOKUP, "{\"user\":[\"bob\"]}", "'user'");
	BAD(CMD_FINGERPRINT, "{\"user\":\"-x\"}", "'user'");
	BAD(CMD_SEARCH, "{\"text\":\"x\",\"user\":\"X\"}", "'user'");
	/* An embedded NUL is not part of any valid name. */
	ck_assert_int_eq(check_one(CMD_LOOKUP, NULL, "user",
	    json_stringn("bob\0evil", 8)), -1);
}
END_TEST

START_TEST(test_type_uint)
{
	OK(CMD_HISTORY, "{\"user\":\"bob\",\"limit\":0}");
	OK(CMD_HISTORY, "{\"user\":\"bob\",\"limit\":50}");
	OK(CMD_WATCH, "{\"since\":9007199254740993}");
	BAD(CMD_HISTORY, "{\"user\":\"bob\",\"limit\":-1}", "'limit'");
	BAD(CMD_HISTORY, "{\"user\":\"bob\",\"limit\":1.5}", "'limit'");
	BAD(CMD_HISTORY, "{\"user\":\"bob\",\"limit\":1.0}", "'limit'");
	BAD(CMD_HISTORY, "{\"user\":\"bob\",\"limit\":\"5\"}", "'limit'");
	BAD(CMD_HISTORY, "{\"user\":\"bob\",\"limit\":true}", "'limit'");
	BAD(CMD_HISTORY, "{\"user\":\"bob\",\"limit\":null}", "'limit'");
	BAD(CMD_WATCH, "{\"since\":-9223372036854775807}", "'since'");
	BAD(CMD_WATCH, "{\"since\":1e3}", "'since'");
}
END_TEST

START_TEST(test_type_seconds)
{
	OK(CMD_WAIT, "{\"ids\":[\"" ID1 "\"],\"timeout\":0}");
	OK(CMD_WAIT, "{\"ids\":[\"" ID1 "\"],\"timeout\":2.5}");
	OK(CMD_WAIT, "{\"ids\":[\"" ID1 "\"],\"timeout\":1e9}");
	OK(CMD_SEND, "{\"user\":\"bob\",\"text\":\"x\",\"wait\":30}");
	BAD(CMD_WAIT, "{\"ids\":[\"" ID1 "\"],\"timeout\":-1}", "'timeout'");
	BAD(CMD_WAIT, "{\"ids\":[\"" ID1 "\"],\"timeout\":-0.001}", "'timeout'");
	BAD(CMD_WAIT, "{\"ids\":[\"" ID1 "\"],\"timeout\":1e300}", "'timeout'");
	BAD(CMD_WAIT, "{\"ids\":[\"" ID1 "\"],\"timeout\":9223372036854775807}",
	    "'timeout'");
	BAD(CMD_WAIT, "{\"ids\":[\"" ID1 "\"],\"timeout\":\"5\"}", "'timeout'");
	BAD(CMD_SEND, "{\"user\":\"bob\",\"text\":\"x\",\"wait\":true}",
	    "'wait'");
	BAD(CMD_SEND, "{\"user\":\"bob\",\"text\":\"x\",\"wait\":null}",
	    "'wait'");
}
END_TEST

START_TEST(test_type_msgid)
{
	OK(CMD_SEND, "{\"user\":\"bob\",\"text\":\"x\",\"id\":\"" ID1 "\"}");
	BAD(CMD_SEND, "{\"user\":\"bob\",\"text\":\"x\","
	    "\"id\":\"0123456789ABCDEF0123456789abcdef\"}", "'id'");
	BAD(CMD_SEND, "{\"user\":\"bob\",\"text\":\"x\","
	    "\"id\":\"0123456789abcdef0123456789abcde\"}", "'id'");
	BAD(CMD_SEND, "{\"user\":\"bob\",\"text\":\"x\","
	    "\"id\":\"0123456789abcdef0123456789abcdef0\"}", "'id'");
	BAD(CMD_SEND, "{\"user\":\"bob\",\"text\":\"x\",\"id\":\"\"}", "'id'");
	BAD(CMD_SEND, "{\"user\":\"bob\",\"text\":\"x\",\"id\":12}", "'id'");
	ck_assert_int_eq(check_one(CMD_SEND, json_pack("{s:s,s:s}", "user",
	    "bob", "text", "x"), "id", json_stringn(ID1 "\0zz", 35)), -1);
}
END_TEST

START_TEST(test_type_fp)
{
	OK(CMD_TRUST, "{\"user\":\"bob\",\"fingerprint\":\"" FP "\"}");
	BAD(CMD_TRUST, "{\"user\":\"bob\",\"fingerprint\":\"sha256:abc\"}",
	    "'fingerprint'");
	BAD(CMD_TRUST, "{\"user\":\"bob\",\"fingerprint\":\"" FP "0\"}",
	    "'fingerprint'");
	BAD(CMD_TRUST, "{\"user\":\"bob\",\"fingerprint\":"
	    "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}",
	    "'fingerprint'");
	BAD(CMD_TRUST, "{\"user\":\"bob\",\"fingerprint\":\"\"}",
	    "'fingerprint'");
	BAD(CMD_TRUST, "{\"user\":\"bob\",\"fingerprint\":false}",
	    "'fingerprint'");
	ck_assert_int_eq(check_one(CMD_TRUST, json_pack("{s:s}", "user", "bob"),
	    "fingerprint", json_stringn(FP "\0x", 73)), -1);
}
END_TEST

START_TEST(test_type_text)
{
	char body[MAXBODY + 2];

	OK(CMD_SEND, "{\"user\":\"bob\",\"text\":\"hi\"}");
	OK(CMD_SEND, "{\"user\":\"bob\",\"text\":\"tab\\tnl\\n\\u00e9\\ud83d\\ude00\"}");
	BAD(CMD_SEND, "{\"user\":\"bob\",\"text\":\"\"}", "'text'");
	BAD(CMD_SEND, "{\"user\":\"bob\",\"text\":5}", "'text'");
	BAD(CMD_SEND, "{\"user\":\"bob\",\"text\":null}", "'text'");
	/* Bounded by the maxbody given, in bytes. */
	memset(body, 'x', sizeof(body));
	body[MAXBODY] = '\0';
	ck_assert_int_eq(check_one(CMD_SEND, json_pack("{s:s}", "user", "bob"),
	    "text", json_string(body)), 0);
	body[MAXBODY] = 'x';
	body[MAXBODY + 1] = '\0';
	ck_assert_int_eq(check_one(CMD_SEND, json_pack("{s:s}", "user", "bob"),
	    "text", json_string(body)), -1);
	ck_assert_ptr_nonnull(strstr(err, "'text'"));
	/* 25 four-byte emoji are 100 bytes, 26 are too many. */
	{
		char emoji[4 * 26 + 1];
		int i;

		for (i = 0; i < 26; i++)
			memcpy(emoji + 4 * i, "\xf0\x9f\x98\x80", 4);
		emoji[4 * 25] = '\0';
		ck_assert_int_eq(check_one(CMD_SEND, json_pack("{s:s}", "user",
		    "bob"), "text", json_string(emoji)), 0);
		emoji[4 * 25] = '\xf0';
		emoji[4 * 26] = '\0';
		ck_assert_int_eq(check_one(CMD_SEND, json_pack("{s:s}", "user",
		    "bob"), "text", json_string(emoji)), -1);
	}
	/* NUL inside a body is refused. */
	ck_assert_int_eq(check_one(CMD_SEND, json_pack("{s:s}", "user", "bob"),
	    "text", json_stringn("a\0b", 3)), -1);
}
END_TEST

START_TEST(test_type_password)
{
	char pw[P2P_PASSWORD_MAX + 2];

	OK(CMD_LOGIN, "{\"user\":\"bob\",\"password\":\"12345678\"}");
	BAD(CMD_LOGIN, "{\"user\":\"bob\",\"password\":\"1234567\"}",
	    "'password'");
	BAD(CMD_LOGIN, "{\"user\":\"bob\",\"password\":\"\"}", "'password'");
	BAD(CMD_LOGIN, "{\"user\":\"bob\",\"password\":12345678}", "'password'");
	memset(pw, 'p', sizeof(pw));
	pw[P2P_PASSWORD_MAX] = '\0';
	ck_assert_int_eq(check_one(CMD_REGISTER, json_pack("{s:s}", "user",
	    "bob"), "password", json_string(pw)), 0);
	pw[P2P_PASSWORD_MAX] = 'p';
	pw[P2P_PASSWORD_MAX + 1] = '\0';
	ck_assert_int_eq(check_one(CMD_REGISTER, json_pack("{s:s}", "user",
	    "bob"), "password", json_string(pw)), -1);
	ck_assert_int_eq(check_one(CMD_REGISTER, json_pack("{s:s}", "user",
	    "bob"), "password", json_stringn("pass\0word", 9)), -1);
}
END_TEST

START_TEST(test_type_str_data)
{
	OK(CMD_SEARCH, "{\"text\":\"h\"}");
	BAD(CMD_SEARCH, "{\"text\":\"\"}", "'text'");
	BAD(CMD_SEARCH, "{\"text\":[]}", "'text'");
	OK(CMD_IMPORT, "{\"data\":\"{\\\"id\\\":1}\\n\"}");
	/* An empty file imports nothing, and that is no error. */
	OK(CMD_IMPORT, "{\"data\":\"\"}");
	BAD(CMD_IMPORT, "{\"data\":5}", "'data'");
	OK(CMD_IMPORT, "{\"data\":\"\",\"send_pending\":true}");
	BAD(CMD_IMPORT, "{\"data\":\"\",\"send_pending\":1}", "'send_pending'");
	OK(CMD_WATCH, "{\"since\":\"now\"}");
	OK(CMD_WATCH, "{\"since\":0}");
	BAD(CMD_WATCH, "{\"since\":\"later\"}", "'since'");
	BAD(CMD_WATCH, "{\"since\":-1}", "'since'");
	BAD(CMD_IMPORT, "{\"data\":{}}", "'data'");
	/* A search text is not bounded by maxbody. */
	{
		char big[MAXBODY * 3];

		memset(big, 's', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		ck_assert_int_eq(check_one(CMD_SEARCH, NULL, "text",
		    json_string(big)), 0);
	}
}
END_TEST

START_TEST(test_multi)
{
	OK(CMD_WAIT, "{\"ids\":[\"" ID1 "\"]}");
	OK(CMD_WAIT, "{\"ids\":[\"" ID1 "\",\"" ID2 "\"]}");
	BAD(CMD_WAIT, "{\"ids\":[]}", "non-empty array");
	BAD(CMD_WAIT, "{\"ids\":\"" ID1 "\"}", "non-empty array");
	BAD(CMD_WAIT, "{\"ids\":{}}", "non-empty array");
	BAD(CMD_WAIT, "{\"ids\":null}", "non-empty array");
	BAD(CMD_WAIT, "{\"ids\":[\"" ID1 "\",\"nothex\"]}", "'ids'");
	BAD(CMD_WAIT, "{\"ids\":[\"" ID1 "\",5]}", "'ids'");
	BAD(CMD_WAIT, "{\"ids\":[[\"" ID1 "\"]]}", "'ids'");
	BAD(CMD_WAIT, "{\"ids\":[\"" ID1 "\",null]}", "'ids'");
}
END_TEST

START_TEST(test_err_truncated)
{
	char small[8];
	json_t *args = json_pack("{s:s}", "nosuchargumentwithalongname", "x");

	memset(small, 'z', sizeof(small));
	ck_assert_int_eq(ctlcmd_check_args(cmd(CMD_STATUS), args, MAXBODY,
	    small, sizeof(small)), -1);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	json_decref(args);
}
END_TEST

static Suite *
ctlcmd_suite(void)
{
	Suite *s = suite_create("ctlcmd");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_table_entries);
	tcase_add_test(tc, test_table_matches_design);
	tcase_add_test(tc, test_table_args);
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_args_object);
	tcase_add_test(tc, test_null_args);
	tcase_add_test(tc, test_unknown_and_missing);
	tcase_add_test(tc, test_type_user);
	tcase_add_test(tc, test_type_uint);
	tcase_add_test(tc, test_type_seconds);
	tcase_add_test(tc, test_type_msgid);
	tcase_add_test(tc, test_type_fp);
	tcase_add_test(tc, test_type_text);
	tcase_add_test(tc, test_type_password);
	tcase_add_test(tc, test_type_str_data);
	tcase_add_test(tc, test_multi);
	tcase_add_test(tc, test_err_truncated);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(ctlcmd_suite(), LOG_LVL_INFO);
}
