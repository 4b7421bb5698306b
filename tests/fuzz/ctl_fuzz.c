/*
 * Fuzz target: the control socket's request path, from a line of bytes to
 * a command whose arguments passed the table's checks
 * (ctlsock_parse_request -> ctlcmd_lookup -> ctlcmd_check_args). The
 * input is split into lines at LF as the daemon splits its input; each
 * line is tried in peer and in gestor mode. An accepted request must name
 * a command of that mode, and each argument present must hold a value of
 * its declared type.
 */
#include <string.h>

#include <jansson.h>

#include "ctlcmd.h"
#include "ctlsock.h"
#include "fuzz.h"
#include "proto.h"
#include "valid.h"

#define MAX_BODY	65536

static void
check_value(const struct ctl_arg *a, const json_t *v)
{
	const char *s = json_string_value(v);

	switch (a->type) {
	case ARG_UINT:
		FUZZ_CHECK(json_is_integer(v) && json_integer_value(v) >= 0);
		break;
	case ARG_SECONDS:
		FUZZ_CHECK(json_is_number(v) && json_number_value(v) >= 0 &&
		    json_number_value(v) <= 1e9);
		break;
	case ARG_USER:
		FUZZ_CHECK(valid_username(s));
		break;
	case ARG_MSGID:
		FUZZ_CHECK(valid_msgid(s));
		break;
	case ARG_FP:
		FUZZ_CHECK(valid_fingerprint(s));
		break;
	case ARG_PASSWORD:
		FUZZ_CHECK(s != NULL && valid_password(s, json_string_length(v)));
		break;
	case ARG_TEXT:
		FUZZ_CHECK(s != NULL && valid_body(s, json_string_length(v),
		    MAX_BODY));
		break;
	case ARG_STR:
		FUZZ_CHECK(s != NULL && json_string_length(v) > 0 &&
		    valid_utf8(s, json_string_length(v)));
		break;
	case ARG_DATA:
		FUZZ_CHECK(s != NULL && valid_utf8(s, json_string_length(v)));
		break;
	case ARG_FLAG:
		FUZZ_CHECK(json_is_boolean(v));
		break;
	case ARG_SINCE:
		FUZZ_CHECK((json_is_integer(v) && json_integer_value(v) >= 0) ||
		    (s != NULL && strcmp(s, "now") == 0));
		break;
	}
}

static void
check_accepted(json_t *msg, json_t *id, int cmd, unsigned mode)
{
	const struct ctl_cmd_desc *cd;
	json_t *args, *v, *item;
	const char *key;
	size_t i;
	int n;

	FUZZ_CHECK(cmd >= 0 && cmd < CMD__MAX);
	cd = &ctl_cmds[cmd];
	FUZZ_CHECK((cd->modes & mode) && !(cd->flags & CTLF_LOCAL));
	FUZZ_CHECK(id == json_object_get(msg, "id"));
	FUZZ_CHECK(id == NULL || json_is_integer(id) || json_is_string(id));
	args = json_object_get(msg, "args");
	FUZZ_CHECK(args == NULL || json_is_object(args));
	json_object_foreach(args, key, v) {
		const struct ctl_arg *a = ctlcmd_arg(cd, key);

		FUZZ_CHECK(a != NULL);
		if (!(a->flags & ARGF_MULTI)) {
			check_value(a, v);
			continue;
		}
		FUZZ_CHECK(json_array_size(v) > 0);
		json_array_foreach(v, i, item)
			check_value(a, item);
	}
	for (n = 0; n < CTL_MAX_ARGS && cd->args[n].name != NULL; n++)
		FUZZ_CHECK((cd->args[n].flags & ARGF_OPTIONAL) ||
		    json_object_get(args, cd->args[n].name) != NULL);
}

static void
parse_line(const char *line, size_t len, unsigned mode)
{
	const char *code = NULL;
	json_t *msg, *id;
	char err[256] = "";
	int cmd;

	if (ctlsock_parse_request(line, len, mode, MAX_BODY, &msg, &id, &cmd,
	    &code, err, sizeof(err)) == 0)
		check_accepted(msg, id, cmd, mode);
	else {
		FUZZ_CHECK(code != NULL && *err != '\0');
		FUZZ_CHECK(strcmp(code, ERR_BAD_REQUEST) == 0 ||
		    strcmp(code, ERR_UNKNOWN_COMMAND) == 0 ||
		    strcmp(code, ERR_INVALID_ARGUMENT) == 0);
		FUZZ_CHECK(id == NULL || id == json_object_get(msg, "id"));
		FUZZ_CHECK(msg != NULL || id == NULL);
	}
	json_decref(msg);
}

int
fuzz_ctl(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl > p) {
			parse_line(p, (size_t)(nl - p), CTL_MODE_PEER);
			parse_line(p, (size_t)(nl - p), CTL_MODE_GESTOR);
		}
		p = nl + 1;
	}
	return 0;
}

FUZZ_ENTRY(fuzz_ctl)
