/*
 * Unit tests for config.c: built-in defaults, a file with every key, the
 * mode override, every kind of error with its "file:line - key: text"
 * line, the search order of config_find, the defaults that depend on the
 * environment and on the mode, and config_split_hostport.
 *
 * Every test runs with HOME and the XDG variables pointing into its own
 * temporary directory and P2PCHAT_CONFIG unset, so nothing of the
 * machine's is read (except /etc/p2pchat/p2pchatd.conf, which the tests
 * that depend on its absence check for).
 */
#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "proto.h"
#include "testutil.h"

#define ETC_CONF	"/etc/p2pchat/p2pchatd.conf"
#define FP	"sha256:" \
	"0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef"

static char dir[64];
static char err[1024];

static void
setup(void)
{
	char p[PATH_MAX];

	strcpy(dir, "/tmp/test_config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setenv("HOME", dir, 1);
	snprintf(p, sizeof(p), "%s/xdgconfig", dir);
	setenv("XDG_CONFIG_HOME", p, 1);
	snprintf(p, sizeof(p), "%s/xdgdata", dir);
	setenv("XDG_DATA_HOME", p, 1);
	snprintf(p, sizeof(p), "%s/run", dir);
	setenv("XDG_RUNTIME_DIR", p, 1);
	unsetenv("P2PCHAT_CONFIG");
	err[0] = '\0';
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown(void)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text to dir/name (creating one level of directory), return the path. */
static const char *
write_file(const char *name, const char *text)
{
	static char path[4][PATH_MAX];
	static int next;
	char *p = path[next++ % 4], *slash;
	FILE *f;

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	for (slash = strchr(p + strlen(dir) + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(p, 0700);
		*slash = '/';
	}
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	return p;
}

static struct config *
load_ok(const char *file, int mode)
{
	struct config *c = config_load(file, mode, err, sizeof(err));

	ck_assert_msg(c != NULL, "config_load: %s", err);
	return c;
}

/*
 * Load a file made of text and expect the error "FILE:LINE - KEY: ...";
 * key NULL for a syntax error ("FILE:LINE - text").
 */
static void
load_fails(const char *text, int line, const char *key)
{
	const char *path = write_file("bad.conf", text);
	char want[PATH_MAX + 128];

	err[0] = '\0';
	ck_assert_msg(config_load(path, CONFIG_MODE_DEFAULT, err,
	    sizeof(err)) == NULL, "config accepted: %s", text);
	if (key != NULL)
		snprintf(want, sizeof(want), "%s:%d - %s: ", path, line, key);
	else
		snprintf(want, sizeof(want), "%s:%d - ", path, line);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "for %s\nerror \"%s\"\nwanted prefix \"%s\"", text, err, want);
	ck_assert_msg(strlen(err) > strlen(want), "no text: %s", err);
}

/* /run/user/UID + tail into out if that directory exists and is ours. */
static bool
user_run_dir(char *out, size_t outlen, const char *tail)
{
	struct stat st;

	snprintf(out, outlen, "/run/user/%u", (unsigned)geteuid());
	if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid())
		return false;
	snprintf(out + strlen(out), outlen - strlen(out), "%s", tail);
	return true;
}

/* Integers libconfig would read modulo 2^32 are refused, with the fix. */
START_TEST(test_wrapping_integers)
{
	struct config *c;

	load_fails("mode = \"peer\";\nfiles = { max_size = 8589934592; };\n", 2,
	    NULL);
	ck_assert_msg(strstr(err, "8589934592L") != NULL, "no fix named: %s", err);
	load_fails("limits = {\n  stranger_bytes = -4294967296; };\n", 2, NULL);
	c = load_ok(write_file("ok.conf", "mode = \"peer\"; # 99999999999\n"
	    "/* 8589934592 */ files = { max_size = 8589934592L; accept_size ="
	    " 2147483647; };\nlog_level = \"info\"; // 4294967296\n"), -1);
	ck_assert_int_eq(c->files_max_size, INT64_C(8589934592));
	ck_assert_int_eq(c->files_accept_size, 2147483647);
	config_free(c);
}
END_TEST

START_TEST(test_defaults_no_file)
{
	struct config *c;
	char want[PATH_MAX];

	if (access(ETC_CONF, F_OK) == 0)
		return;		/* the machine's file would be read */
	c = load_ok(NULL, CONFIG_MODE_DEFAULT);
	ck_assert_ptr_null(c->path);
	ck_assert_int_eq(c->mode, MODE_PEER);
	snprintf(want, sizeof(want), "%s/xdgdata/p2pchat", dir);
	ck_assert_str_eq(c->data_dir, want);
	snprintf(want, sizeof(want), "%s/run/p2pchat/ctl.sock", dir);
	ck_assert_str_eq(c->control_socket, want);
	ck_assert_str_eq(c->listen, "0.0.0.0");
	ck_assert_str_eq(c->advertise, "");
	ck_assert_int_eq(c->log_level, 2);
	ck_assert_uint_eq(c->n_gestor_addresses, 1);
	ck_assert_str_eq(c->gestor_addresses[0], "localhost:7000");
	ck_assert_ptr_null(c->gestor_addresses[1]);
	ck_assert_str_eq(c->gestor_fingerprint, "");
	ck_assert_double_eq(c->hb_interval, 10.0);
	ck_assert_double_eq(c->hb_timeout, 30.0);
	ck_assert_double_eq(c->retry_initial, 1.0);
	ck_assert_double_eq(c->retry_max, 300.0);
	ck_assert_int_eq(c->max_message_bytes, 65536);
	ck_assert_int_eq(c->max_frame_bytes, 1048576);
	ck_assert_int_eq(c->max_connections, 1024);
	ck_assert_int_eq(c->login_attempts_per_minute, 5);
	ck_assert_int_eq(c->login_attempts_per_user, 50);
	ck_assert_int_eq(c->login_attempts_per_address, 20);
	ck_assert_int_eq(c->registrations_per_hour, 10);
	ck_assert_int_eq(c->lookups_per_minute, 120);
	ck_assert_int_eq(c->watch_names_per_hour, 4096);
	ck_assert_int_eq(c->accept_advertise, ADV_NO);
	ck_assert_double_eq(c->max_clock_skew, 300);
	ck_assert_double_eq(c->handshake_timeout, 10.0);
	ck_assert(c->sync_full);
	/* Past 2^31: 64 bits wide on ILP32 too (tests/build32.sh). */
	ck_assert_int_eq(c->files_max_size, INT64_C(4294967296));
	ck_assert_int_eq(c->files_accept_size, 104857600);
	config_free(c);
}
END_TEST

START_TEST(test_defaults_without_xdg)
{
	struct config *c;
	char want[PATH_MAX];

	if (access(ETC_CONF, F_OK) == 0)
		return;
	unsetenv("XDG_DATA_HOME");
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("XDG_CONFIG_HOME");
	c = load_ok(NULL, CONFIG_MODE_DEFAULT);
	ck_assert_ptr_null(c->path);
	snprintf(want, sizeof(want), "%s/.local/share/p2pchat", dir);
	ck_assert_str_eq(c->data_dir, want);
	/* No runtime dir: /run/user/UID if ours, else in data_dir. */
	if (!user_run_dir(want, sizeof(want), "/p2pchat/ctl.sock"))
		snprintf(want, sizeof(want), "%s/.local/share/p2pchat/ctl.sock",
		    dir);
	ck_assert_str_eq(c->control_socket, want);
	config_free(c);

	unsetenv("HOME");
	c = load_ok(NULL, CONFIG_MODE_DEFAULT);
	ck_assert_str_eq(c->data_dir, "/var/lib/p2pchat");
	if (!user_run_dir(want, sizeof(want), "/p2pchat/ctl.sock"))
		snprintf(want, sizeof(want), "/var/lib/p2pchat/ctl.sock");
	ck_assert_str_eq(c->control_socket, want);
	config_free(c);
}
END_TEST

START_TEST(test_control_socket_default)
{
	struct config *c;
	const char *path;
	char want[PATH_MAX];

	/* An explicit data_dir, runtime dir set: the runtime dir wins. */
	path = write_file("a.conf", "data_dir = \"/srv/chat\";\n");
	c = load_ok(path, CONFIG_MODE_DEFAULT);
	snprintf(want, sizeof(want), "%s/run/p2pchat/ctl.sock", dir);
	ck_assert_str_eq(c->control_socket, want);
	config_free(c);
	/* Empty runtime dir counts as unset: /run/user/UID if it is ours,
	 * else data_dir/ctl.sock. */
	if (!user_run_dir(want, sizeof(want), "/p2pchat/ctl.sock"))
		snprintf(want, sizeof(want), "/srv/chat/ctl.sock");
	setenv("XDG_RUNTIME_DIR", "", 1);
	c = load_ok(path, CONFIG_MODE_DEFAULT);
	ck_assert_str_eq(c->data_dir, "/srv/chat");
	ck_assert_str_eq(c->control_socket, want);
	config_free(c);
	unsetenv("XDG_RUNTIME_DIR");
	c = load_ok(path, CONFIG_MODE_DEFAULT);
	ck_assert_str_eq(c->control_socket, want);
	config_free(c);
	/* "" in the file means the default too; an explicit path is kept. */
	path = write_file("b.conf", "data_dir = \"/srv/x\";\n"
	    "control_socket = \"\";\n");
	c = load_ok(path, CONFIG_MODE_DEFAULT);
	if (!user_run_dir(want, sizeof(want), "/p2pchat/ctl.sock"))
		snprintf(want, sizeof(want), "/srv/x/ctl.sock");
	ck_assert_str_eq(c->control_socket, want);
	config_free(c);
	path = write_file("c.conf", "control_socket = \"/tmp/s.sock\";\n");
	c = load_ok(path, CONFIG_MODE_DEFAULT);
	ck_assert_str_eq(c->control_socket, "/tmp/s.sock");
	config_free(c);
}
END_TEST

START_TEST(test_control_socket_too_long)
{
	char text[400];
	struct config *c;

	/* 107 bytes is the most a sun_path holds with its NUL. */
	snprintf(text, sizeof(text), "\ncontrol_socket = \"/%0107d\";\n", 0);
	load_fails(text, 2, "control_socket");
	snprintf(text, sizeof(text), "control_socket = \"/%0106d\";\n", 0);
	c = load_ok(write_file("ok.conf", text), CONFIG_MODE_DEFAULT);
	ck_assert_uint_eq(strlen(c->control_socket), 107);
	config_free(c);
	/* A default too long for a socket is refused as well (no line). */
	memset(text, 'r', 200);
	text[0] = '/';
	text[200] = '\0';
	setenv("XDG_RUNTIME_DIR", text, 1);
	load_fails("", 0, "control_socket");
}
END_TEST

static const char full_conf[] =
    "# every key\n"
    "mode = \"gestor\";\n"
    "data_dir = \"/srv/p2p\";\n"
    "control_socket = \"/run/p2p/ctl.sock\";\n"
    "listen = \"127.0.0.1:9000\";\n"
    "advertise = \"example.org:9001\";\n"
    "accept_advertise = \"names\";\n"
    "log_level = \"debug\";\n"
    "gestor = {\n"
    "  addresses = [ \"g1.example:7100\", \"[::1]:7200\", \"198.18.1.3\" ];\n"
    "  fingerprint = \"" FP "\";\n"
    "};\n"
    "heartbeat = { interval = 2.5; timeout = 7; };\n"
    "retry = { initial = 0.5; max = 60.0; };\n"
    "limits = {\n"
    "  max_message_bytes = 1000;\n"
    "  max_frame_bytes = 5096;\n"
    "  max_connections = 12;\n"
    "  login_attempts_per_minute = 3;\n"
    "  login_attempts_per_user_per_minute = 9;\n"
    "  login_attempts_per_address_per_minute = 7;\n"
    "  registrations_per_address_per_hour = 2;\n"
    "  lookups_per_minute = 30;\n"
    "  watch_names_per_hour = 100;\n"
    "  max_clock_skew = 60.5;\n"
    "  handshake_timeout = 4.5;\n"
    "};\n"
    "storage = { synchronous = \"normal\"; };\n";

START_TEST(test_full_file)
{
	const char *path = write_file("full.conf", full_conf);
	struct config *c = load_ok(path, CONFIG_MODE_DEFAULT);

	ck_assert_str_eq(c->path, path);
	ck_assert_int_eq(c->mode, MODE_GESTOR);
	ck_assert_str_eq(c->data_dir, "/srv/p2p");
	ck_assert_str_eq(c->control_socket, "/run/p2p/ctl.sock");
	ck_assert_str_eq(c->listen, "127.0.0.1:9000");
	ck_assert_str_eq(c->advertise, "example.org:9001");
	ck_assert_int_eq(c->accept_advertise, ADV_NAMES);
	ck_assert_int_eq(c->login_attempts_per_user, 9);
	ck_assert_int_eq(c->login_attempts_per_address, 7);
	ck_assert_int_eq(c->registrations_per_hour, 2);
	ck_assert_int_eq(c->lookups_per_minute, 30);
	ck_assert_int_eq(c->watch_names_per_hour, 100);
	ck_assert_double_eq(c->max_clock_skew, 60.5);
	ck_assert_int_eq(c->log_level, 3);
	ck_assert_uint_eq(c->n_gestor_addresses, 3);
	ck_assert_str_eq(c->gestor_addresses[0], "g1.example:7100");
	ck_assert_str_eq(c->gestor_addresses[1], "[::1]:7200");
	ck_assert_str_eq(c->gestor_addresses[2], "198.18.1.3");
	ck_assert_ptr_null(c->gestor_addresses[3]);
	ck_assert_str_eq(c->gestor_fingerprint, FP);
	ck_assert_double_eq(c->hb_interval, 2.5);
	ck_assert_double_eq(c->hb_timeout, 7.0);	/* an int for a float key */
	ck_assert_double_eq(c->retry_initial, 0.5);
	ck_assert_double_eq(c->retry_max, 60.0);
	ck_assert_int_eq(c->max_message_bytes, 1000);
	ck_assert_int_eq(c->max_frame_bytes, 5096);
	ck_assert_int_eq(c->max_connections, 12);
	ck_assert_int_eq(c->login_attempts_per_minute, 3);
	ck_assert_double_eq(c->handshake_timeout, 4.5);
	ck_assert(!c->sync_full);
	config_free(c);
}
END_TEST

START_TEST(test_example_files)
{
	char path[PATH_MAX + 64], top[PATH_MAX], *slash;
	struct config *c;

	/* The shipped examples load: the source tree is three up from here. */
	snprintf(top, sizeof(top), "%s", __FILE__);
	ck_assert_ptr_nonnull(slash = strstr(top, "tests/unit/test_config.c"));
	*slash = '\0';
	snprintf(path, sizeof(path), "%setc/p2pchatd.conf.example", top);
	ck_assert_msg(access(path, R_OK) == 0, "%s: not found", path);
	c = load_ok(path, CONFIG_MODE_DEFAULT);
	ck_assert_int_eq(c->mode, MODE_PEER);
	config_free(c);
	snprintf(path, sizeof(path), "%setc/gestor.conf.example", top);
	c = load_ok(path, CONFIG_MODE_DEFAULT);
	ck_assert_int_eq(c->mode, MODE_GESTOR);
	config_free(c);
}
END_TEST

START_TEST(test_small_values)
{
	const char *path;
	struct config *c;

	path = write_file("v.conf", "log_level = \"error\";\n"
	    "storage = { synchronous = \"full\"; };\n"
	    "limits = { max_frame_bytes = 67108864;"
	    " max_message_bytes = 16777216; };\n");
	c = load_ok(path, CONFIG_MODE_DEFAULT);
	ck_assert_int_eq(c->log_level, 0);
	ck_assert(c->sync_full);
	ck_assert_int_eq(c->max_message_bytes, 16777216);
	ck_assert_int_eq(c->max_frame_bytes, 67108864);
	config_free(c);
	path = write_file("w.conf", "log_level = \"warn\";\n"
	    "heartbeat = { interval = 0.05; timeout = 0.1; };\n"
	    "retry = { initial = 0.01; max = 0.01; };\n");
	c = load_ok(path, CONFIG_MODE_DEFAULT);
	ck_assert_int_eq(c->log_level, 1);
	ck_assert_double_eq(c->hb_interval, 0.05);
	ck_assert_double_eq(c->retry_max, 0.01);	/* max == initial is fine */
	config_free(c);
	/* An empty file and a file of comments are the defaults. */
	path = write_file("e.conf", "");
	c = load_ok(path, CONFIG_MODE_DEFAULT);
	ck_assert_str_eq(c->path, path);
	ck_assert_double_eq(c->hb_interval, 10.0);
	config_free(c);
	path = write_file("f.conf", "# a\n// b\n/* c */\n");
	config_free(load_ok(path, CONFIG_MODE_DEFAULT));
}
END_TEST

START_TEST(test_mode_override)
{
	const char *peer = write_file("p.conf", "mode = \"peer\";\n");
	const char *gestor = write_file("g.conf", "mode = \"gestor\";\n");
	const char *fixed = write_file("l.conf", "mode = \"gestor\";\n"
	    "listen = \"127.0.0.1:1234\";\n");
	struct config *c;

	c = load_ok(peer, MODE_GESTOR);
	ck_assert_int_eq(c->mode, MODE_GESTOR);
	ck_assert_str_eq(c->listen, "0.0.0.0:7000");
	config_free(c);
	c = load_ok(gestor, MODE_PEER);
	ck_assert_int_eq(c->mode, MODE_PEER);
	ck_assert_str_eq(c->listen, "0.0.0.0");
	config_free(c);
	c = load_ok(gestor, CONFIG_MODE_DEFAULT);
	ck_assert_int_eq(c->mode, MODE_GESTOR);
	ck_assert_str_eq(c->listen, "0.0.0.0:7000");
	config_free(c);
	c = load_ok(peer, CONFIG_MODE_DEFAULT);
	ck_assert_int_eq(c->mode, MODE_PEER);
	ck_assert_str_eq(c->listen, "0.0.0.0");
	config_free(c);
	/* An explicit listen is kept whatever the mode. */
	c = load_ok(fixed, MODE_PEER);
	ck_assert_str_eq(c->listen, "127.0.0.1:1234");
	config_free(c);
	/* And with no file at all. */
	if (access(ETC_CONF, F_OK) != 0) {
		c = load_ok(NULL, MODE_GESTOR);
		ck_assert_int_eq(c->mode, MODE_GESTOR);
		ck_assert_str_eq(c->listen, "0.0.0.0:7000");
		config_free(c);
	}
}
END_TEST

START_TEST(test_error_unknown_keys)
{
	load_fails("mode = \"peer\";\nfoo = 1;\n", 2, "foo");
	load_fails("\n\n\nheartbeat = {\n  interval = 5.0;\n  foo = 1;\n};\n",
	    6, "heartbeat.foo");
	load_fails("limits = { max_connections = 5; };\n"
	    "limits2 = { };\n", 2, "limits2");
	load_fails("gestor = {\n  address = [ \"a:1\" ];\n};\n", 2,
	    "gestor.address");
	load_fails("storage = {\n synchronous = \"full\";\n"
	    " sub = { x = 1; };\n};\n", 3, "storage.sub");
	/* Keys are case-sensitive. */
	load_fails("Mode = \"peer\";\n", 1, "Mode");
	/* A top-level name that is only a nested key. */
	load_fails("interval = 1.0;\n", 1, "interval");
}
END_TEST

START_TEST(test_error_types)
{
	load_fails("mode = 1;\n", 1, "mode");
	load_fails("# x\ndata_dir = 5;\n", 2, "data_dir");
	load_fails("control_socket = true;\n", 1, "control_socket");
	load_fails("listen = 7001;\n", 1, "listen");
	load_fails("advertise = [ \"a:1\" ];\n", 1, "advertise");
	load_fails("log_level = 2;\n", 1, "log_level");
	load_fails("heartbeat = 5;\n", 1, "heartbeat");
	load_fails("gestor = [ \"a:1\" ];\n", 1, "gestor");
	load_fails("heartbeat = {\n  interval = \"10\";\n};\n", 2,
	    "heartbeat.interval");
	load_fails("retry = { initial = true; };\n", 1, "retry.initial");
	load_fails("limits = {\n\n  max_connections = 10.0;\n};\n", 3,
	    "limits.max_connections");
	load_fails("limits = { max_frame_bytes = \"1M\"; };\n", 1,
	    "limits.max_frame_bytes");
	load_fails("storage = { synchronous = 1; };\n", 1,
	    "storage.synchronous");
	load_fails("gestor = { fingerprint = 5; };\n", 1,
	    "gestor.fingerprint");
	load_fails("data_dir = { };\n", 1, "data_dir");
}
END_TEST

START_TEST(test_error_ranges)
{
	load_fails("heartbeat = { interval = 0.01; };\n", 1,
	    "heartbeat.interval");
	load_fails("heartbeat = { interval = 3601; timeout = 86400; };\n", 1,
	    "heartbeat.interval");
	load_fails("heartbeat = { timeout = 86401; };\n", 1,
	    "heartbeat.timeout");
	load_fails("heartbeat = { interval = -1.0; };\n", 1,
	    "heartbeat.interval");
	load_fails("retry = {\n initial = 0.0;\n};\n", 2, "retry.initial");
	load_fails("retry = { max = 86400.5; };\n", 1, "retry.max");
	load_fails("limits = { max_message_bytes = 0; };\n", 1,
	    "limits.max_message_bytes");
	load_fails("limits = { max_message_bytes = 16777217; };\n", 1,
	    "limits.max_message_bytes");
	load_fails("limits = { max_frame_bytes = 1023; };\n", 1,
	    "limits.max_frame_bytes");
	load_fails("limits = { max_frame_bytes = 67108865; };\n", 1,
	    "limits.max_frame_bytes");
	load_fails("limits = { max_connections = 0; };\n", 1,
	    "limits.max_connections");
	load_fails("limits = { max_connections = -5; };\n", 1,
	    "limits.max_connections");
	load_fails("limits = { login_attempts_per_minute = 0; };\n", 1,
	    "limits.login_attempts_per_minute");
	load_fails("limits = { login_attempts_per_minute = 100001; };\n", 1,
	    "limits.login_attempts_per_minute");
	load_fails("limits = { login_attempts_per_address_per_minute = 0; };\n",
	    1, "limits.login_attempts_per_address_per_minute");
	load_fails("limits = { registrations_per_address_per_hour = 0; };\n",
	    1, "limits.registrations_per_address_per_hour");
	load_fails("limits = { lookups_per_minute = 0; };\n", 1,
	    "limits.lookups_per_minute");
	load_fails("\naccept_advertise = \"yes\";\n", 2, "accept_advertise");
	load_fails("accept_advertise = true;\n", 1, "accept_advertise");
	load_fails("limits = { max_clock_skew = 0.5; };\n", 1,
	    "limits.max_clock_skew");
	load_fails("limits = { handshake_timeout = 0.05; };\n", 1,
	    "limits.handshake_timeout");
	load_fails("limits = { handshake_timeout = 601; };\n", 1,
	    "limits.handshake_timeout");
	load_fails("limits = { max_connections = 9999999999L; };\n", 1,
	    "limits.max_connections");
}
END_TEST

START_TEST(test_error_enums)
{
	load_fails("\nmode = \"server\";\n", 2, "mode");
	load_fails("mode = \"Peer\";\n", 1, "mode");
	load_fails("mode = \"\";\n", 1, "mode");
	load_fails("log_level = \"verbose\";\n", 1, "log_level");
	load_fails("log_level = \"INFO\";\n", 1, "log_level");
	load_fails("storage = {\n  synchronous = \"off\";\n};\n", 2,
	    "storage.synchronous");
	load_fails("storage = { synchronous = \"FULL\"; };\n", 1,
	    "storage.synchronous");
	load_fails("storage = {\n  backend = \"mysql\";\n};\n", 2,
	    "storage.backend");
	load_fails("storage = { backend = 1; };\n", 1, "storage.backend");
	load_fails("\ncluster = { name = \"g 1\"; };\n", 2, "cluster.name");
	load_fails("cluster = { name = \"g1\"; port = 1; };\n", 1,
	    "cluster.port");
}
END_TEST

/* The mailbox group: defaults, values, refusals. */
START_TEST(test_mailbox)
{
	struct config *c;

	c = load_ok(write_file("d.conf", "mode = \"gestor\";\n"),
	    CONFIG_MODE_DEFAULT);
	ck_assert(c->mail_enable);
	ck_assert_int_eq(c->mail_quota_messages, 10000);
	ck_assert_int_eq(c->mail_quota_bytes, 67108864);
	ck_assert_int_eq(c->mail_quota_per_sender, 1000);
	ck_assert(c->mail_ttl == 2592000.0);
	config_free(c);
	c = load_ok(write_file("m.conf", "mailbox = { enable = false; "
	    "quota_messages = 5; quota_bytes = 4096; quota_per_sender = 2; "
	    "ttl = 3600.0; };\n"),
	    CONFIG_MODE_DEFAULT);
	ck_assert(!c->mail_enable);
	ck_assert_int_eq(c->mail_quota_messages, 5);
	ck_assert_int_eq(c->mail_quota_bytes, 4096);
	ck_assert_int_eq(c->mail_quota_per_sender, 2);
	ck_assert(c->mail_ttl == 3600.0);
	config_free(c);
	load_fails("mailbox = { enable = 1; };\n", 1, "mailbox.enable");
	load_fails("mailbox = { enable = \"yes\"; };\n", 1, "mailbox.enable");
	load_fails("mailbox = { quota_messages = 0; };\n", 1,
	    "mailbox.quota_messages");
	load_fails("mailbox = { ttl = 0.5; };\n", 1, "mailbox.ttl");
	load_fails("mailbox = { quota = 1; };\n", 1, "mailbox.quota");
}
END_TEST

/* storage.backend, storage.conninfo and cluster.name: defaults, values. */
START_TEST(test_storage_cluster)
{
	struct config *c;

	c = load_ok(write_file("d.conf", "mode = \"gestor\";\n"),
	    CONFIG_MODE_DEFAULT);
	ck_assert_str_eq(c->storage_backend, "sqlite");
	ck_assert_str_eq(c->storage_conninfo, "");
	ck_assert_str_eq(c->cluster_name, "");
	config_free(c);
	c = load_ok(write_file("pg.conf", "storage = { backend = \"postgresql\";"
	    " conninfo = \"host=db1,db2 dbname=p2pchat\"; };\n"
	    "cluster = { name = \"g1.example:7000\"; };\n"),
	    CONFIG_MODE_DEFAULT);
	ck_assert_str_eq(c->storage_backend, "postgresql");
	ck_assert_str_eq(c->storage_conninfo, "host=db1,db2 dbname=p2pchat");
	ck_assert_str_eq(c->cluster_name, "g1.example:7000");
	config_free(c);
	/* PostgreSQL needs to know where the database is. */
	load_fails("storage = { backend = \"postgresql\"; };\n", 0,
	    "storage.conninfo");
}
END_TEST

START_TEST(test_error_single_values)
{
	/* Values checked for syntax: the line is the key's own line. */
	load_fails("# pin\ngestor = {\n  fingerprint = \"sha256:abc\";\n};\n",
	    3, "gestor.fingerprint");
	load_fails("gestor = { fingerprint = \"" FP "0\"; };\n", 1,
	    "gestor.fingerprint");
	load_fails("gestor = { fingerprint = \"SHA256:"
	    "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\"; };\n", 1,
	    "gestor.fingerprint");
	load_fails("\nlisten = \"::1\";\n", 2, "listen");
	load_fails("listen = \"host:70000\";\n", 1, "listen");
	load_fails("listen = \":7001\";\n", 1, "listen");
	load_fails("\n\nadvertise = \"host:\";\n", 3, "advertise");
	load_fails("advertise = \"[::1\";\n", 1, "advertise");
}
END_TEST

START_TEST(test_error_addresses)
{
	load_fails("gestor = {\n  addresses = \"g:7000\";\n};\n", 2,
	    "gestor.addresses");
	load_fails("gestor = {\n  addresses = 7000;\n};\n", 2,
	    "gestor.addresses");
	load_fails("gestor = {\n  addresses = { a = \"g:1\"; };\n};\n", 2,
	    "gestor.addresses");
	load_fails("gestor = {\n  addresses = [ \"g:7000\", \"::1\" ];\n};\n",
	    2, "gestor.addresses");
	load_fails("gestor = { addresses = [ \"g:99999\" ]; };\n", 1,
	    "gestor.addresses");
	load_fails("gestor = { addresses = [ 1, 2 ]; };\n", 1,
	    "gestor.addresses");
	load_fails("gestor = { addresses = ( \"g:1\", 2 ); };\n", 1,
	    "gestor.addresses");
	load_fails("gestor = { addresses = ( \"g:1\", ( \"h:2\" ) ); };\n", 1,
	    "gestor.addresses");
}
END_TEST

START_TEST(test_addresses_list_forms)
{
	const char *path;
	struct config *c;
	char text[4096];
	size_t off;
	int i;

	/* A libconfig list ( ... ) works as well as an array [ ... ]. */
	path = write_file("l.conf", "gestor = { addresses = ( \"a:1\", \"b\" ); };\n");
	c = load_ok(path, CONFIG_MODE_DEFAULT);
	ck_assert_uint_eq(c->n_gestor_addresses, 2);
	ck_assert_str_eq(c->gestor_addresses[0], "a:1");
	ck_assert_str_eq(c->gestor_addresses[1], "b");
	ck_assert_ptr_null(c->gestor_addresses[2]);
	config_free(c);
	/* 64 entries are fine, 65 are not. */
	off = (size_t)snprintf(text, sizeof(text), "gestor = { addresses = [");
	for (i = 0; i < 64; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "%s\"h%d:1\"", i ? "," : "", i);
	snprintf(text + off, sizeof(text) - off, "]; };\n");
	path = write_file("64.conf", text);
	c = load_ok(path, CONFIG_MODE_DEFAULT);
	ck_assert_uint_eq(c->n_gestor_addresses, 64);
	ck_assert_str_eq(c->gestor_addresses[63], "h63:1");
	config_free(c);
	snprintf(text + off, sizeof(text) - off, ",\"h64:1\"]; };\n");
	load_fails(text, 1, "gestor.addresses");
	/* A peer with no gestor to reach is a configuration error. */
	load_fails("gestor = { addresses = []; };\n", 1, "gestor.addresses");
}
END_TEST

START_TEST(test_login_ceiling_default)
{
	struct config *c;

	/* Unset, the per-user ceiling is 10 addresses' worth, at least 50. */
	c = load_ok(write_file("l.conf",
	    "limits = { login_attempts_per_minute = 20; };\n"),
	    CONFIG_MODE_DEFAULT);
	ck_assert_int_eq(c->login_attempts_per_user, 200);
	config_free(c);
	c = load_ok(write_file("l.conf",
	    "limits = { login_attempts_per_minute = 2; };\n"),
	    CONFIG_MODE_DEFAULT);
	ck_assert_int_eq(c->login_attempts_per_user, 50);
	config_free(c);
}
END_TEST

START_TEST(test_error_cross_keys)
{
	/*
	 * Rules between two keys are checked once the file is read and
	 * reported with line 0 (p2pchatd.conf(5)), naming the key.
	 */
	load_fails("heartbeat = { interval = 30.0; timeout = 30.0; };\n", 0,
	    "heartbeat.timeout");
	/* One address alone must not reach the per-user ceiling. */
	load_fails("limits = { login_attempts_per_minute = 50;\n"
	    " login_attempts_per_user_per_minute = 50; };\n", 0,
	    "limits.login_attempts_per_user_per_minute");
	load_fails("limits = { login_attempts_per_minute = 9;\n"
	    " login_attempts_per_user_per_minute = 9; };\n", 0,
	    "limits.login_attempts_per_user_per_minute");
	load_fails("heartbeat = { interval = 40.0; };\n", 0,
	    "heartbeat.timeout");
	load_fails("heartbeat = { timeout = 5.0; };\n", 0,
	    "heartbeat.timeout");
	load_fails("retry = { initial = 10.0; max = 9.99; };\n", 0,
	    "retry.max");
	load_fails("retry = { initial = 301.0; };\n", 0, "retry.max");
	load_fails("limits = { max_message_bytes = 1044481; };\n", 0,
	    "limits.max_message_bytes");
	load_fails("limits = { max_frame_bytes = 5095;"
	    " max_message_bytes = 1000; };\n", 0, "limits.max_message_bytes");
	/* Exactly 4096 bytes of room is enough. */
	config_free(load_ok(write_file("ok.conf", "limits = {"
	    " max_frame_bytes = 5096; max_message_bytes = 1000; };\n"),
	    CONFIG_MODE_DEFAULT));
	config_free(load_ok(write_file("ok2.conf", "heartbeat = {"
	    " interval = 29.99; };\n"), CONFIG_MODE_DEFAULT));
}
END_TEST

START_TEST(test_error_syntax)
{
	load_fails("mode = \"peer\";\nlisten = ;\n", 2, NULL);
	load_fails("mode = \"peer\";\n\n\n= 5;\n", 4, NULL);
	load_fails("heartbeat = {\n interval = 1.0;\n", 3, NULL);
	/* A duplicate key is a parse error in libconfig. */
	load_fails("mode = \"peer\";\nmode = \"gestor\";\n", 2, NULL);
}
END_TEST

START_TEST(test_error_missing_file)
{
	char path[PATH_MAX], want[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/nonexistent.conf", dir);
	ck_assert_ptr_null(config_load(path, CONFIG_MODE_DEFAULT, err,
	    sizeof(err)));
	snprintf(want, sizeof(want), "%s: ", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	/* A directory is not a config file. */
	ck_assert_ptr_null(config_load(dir, CONFIG_MODE_DEFAULT, err,
	    sizeof(err)));
	ck_assert_msg(strncmp(err, dir, strlen(dir)) == 0, "%s", err);
}
END_TEST

START_TEST(test_error_truncated_buffer)
{
	char small[16];

	/* The message is cut to the buffer, never written past it. */
	memset(small, 'x', sizeof(small));
	ck_assert_ptr_null(config_load(write_file("t.conf", "foo = 1;\n"),
	    CONFIG_MODE_DEFAULT, small, sizeof(small)));
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
}
END_TEST

START_TEST(test_find_order)
{
	const char *env, *xdg;
	char *p;
	char home_conf[PATH_MAX];

	if (access(ETC_CONF, F_OK) == 0)
		return;
	/* Nothing anywhere: built-in defaults. */
	ck_assert_ptr_null(config_find());
	/* $XDG_CONFIG_HOME/p2pchat/p2pchatd.conf once it exists. */
	xdg = write_file("xdgconfig/p2pchat/p2pchatd.conf", "mode = \"gestor\";\n");
	ck_assert_ptr_nonnull(p = config_find());
	ck_assert_str_eq(p, xdg);
	free(p);
	/* $P2PCHAT_CONFIG comes first. */
	env = write_file("env.conf", "mode = \"peer\";\n");
	setenv("P2PCHAT_CONFIG", env, 1);
	ck_assert_ptr_nonnull(p = config_find());
	ck_assert_str_eq(p, env);
	free(p);
	/* Loading with no file given reads what config_find chose. */
	{
		struct config *c = load_ok(NULL, CONFIG_MODE_DEFAULT);

		ck_assert_str_eq(c->path, env);
		ck_assert_int_eq(c->mode, MODE_PEER);
		config_free(c);
	}
	/* An empty $P2PCHAT_CONFIG counts as unset. */
	setenv("P2PCHAT_CONFIG", "", 1);
	ck_assert_ptr_nonnull(p = config_find());
	ck_assert_str_eq(p, xdg);
	free(p);
	{
		struct config *c = load_ok(NULL, CONFIG_MODE_DEFAULT);

		ck_assert_str_eq(c->path, xdg);
		ck_assert_int_eq(c->mode, MODE_GESTOR);
		config_free(c);
	}
	/* Without $XDG_CONFIG_HOME: ~/.config/p2pchat/p2pchatd.conf. */
	unsetenv("P2PCHAT_CONFIG");
	unsetenv("XDG_CONFIG_HOME");
	ck_assert_ptr_null(config_find());
	snprintf(home_conf, sizeof(home_conf), "%s",
	    write_file(".config/p2pchat/p2pchatd.conf", ""));
	ck_assert_ptr_nonnull(p = config_find());
	ck_assert_str_eq(p, home_conf);
	free(p);
	/* $XDG_CONFIG_HOME set but empty: also ~/.config. */
	setenv("XDG_CONFIG_HOME", "", 1);
	ck_assert_ptr_nonnull(p = config_find());
	ck_assert_str_eq(p, home_conf);
	free(p);
}
END_TEST

START_TEST(test_find_env_missing_file)
{
	char path[PATH_MAX];

	/* $P2PCHAT_CONFIG naming a missing file is an error, not a fallback. */
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	setenv("P2PCHAT_CONFIG", path, 1);
	write_file("xdgconfig/p2pchat/p2pchatd.conf", "");
	ck_assert_ptr_null(config_load(NULL, CONFIG_MODE_DEFAULT, err,
	    sizeof(err)));
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s", err);
}
END_TEST

/* Split s expecting success with host h and port p. */
static void
split_ok(const char *s, int defport, const char *h, int p)
{
	char host[256];
	int port = -12345;

	ck_assert_msg(config_split_hostport(s, host, sizeof(host), &port,
	    defport) == 0, "refused \"%s\"", s);
	ck_assert_str_eq(host, h);
	ck_assert_int_eq(port, p);
}

static void
split_fails(const char *s)
{
	char host[256];
	int port = -12345;

	ck_assert_msg(config_split_hostport(s, host, sizeof(host), &port,
	    7000) == -1, "accepted \"%s\"", s);
}

/* What reload reports: the keys whose values differ, in schema order. */
START_TEST(test_changed)
{
	struct config *a, *b;
	const char *keys[16];
	size_t n;

	a = load_ok(write_file("c1.conf", "listen = \"127.0.0.1:7001\";\n"
	    "gestor = { addresses = [ \"a:7000\", \"b:7000\" ]; };\n"),
	    CONFIG_MODE_DEFAULT);
	b = load_ok(write_file("c2.conf", "listen = \"127.0.0.1:7001\";\n"
	    "gestor = { addresses = [ \"a:7000\", \"b:7000\" ]; };\n"),
	    CONFIG_MODE_DEFAULT);
	ck_assert_uint_eq(config_changed(a, b, keys, 16), 0);
	config_free(b);
	b = load_ok(write_file("c3.conf", "listen = \"127.0.0.1:7002\";\n"
	    "log_level = \"debug\";\nstorage = { synchronous = \"normal\"; };\n"
	    "gestor = { addresses = [ \"a:7000\" ]; };\n"
	    "heartbeat = { interval = 5.0; };\n"), MODE_GESTOR);
	n = config_changed(a, b, keys, 16);
	ck_assert_uint_eq(n, 6);
	ck_assert_str_eq(keys[0], "mode");
	ck_assert_str_eq(keys[1], "listen");
	ck_assert_str_eq(keys[2], "log_level");
	ck_assert_str_eq(keys[3], "gestor.addresses");
	ck_assert_str_eq(keys[4], "heartbeat.interval");
	ck_assert_str_eq(keys[5], "storage.synchronous");
	/* At most max keys are put. */
	ck_assert_uint_eq(config_changed(a, b, keys, 2), 2);
	config_free(a);
	config_free(b);
	/* 64-bit keys: a change above 2^32 is a change. */
	a = load_ok(write_file("c4.conf", "files = { max_size = 4294967296L; };\n"),
	    CONFIG_MODE_DEFAULT);
	b = load_ok(write_file("c5.conf", "files = { max_size = 8589934592L; };\n"),
	    CONFIG_MODE_DEFAULT);
	ck_assert_uint_eq(config_changed(a, b, keys, 16), 1);
	ck_assert_str_eq(keys[0], "files.max_size");
	config_free(a);
	config_free(b);
}
END_TEST

/* An out-of-range port is named as such, not as a malformed address. */
START_TEST(test_port_range)
{
	load_fails("listen = \"127.0.0.1:65536\";\n", 1, "listen");
	ck_assert_msg(strstr(err, "port 65536 is out of range") != NULL, "%s", err);
	load_fails("advertise = \"[::1]:99999\";\n", 1, "advertise");
	ck_assert_msg(strstr(err, "port 99999 is out of range") != NULL, "%s", err);
	load_fails("listen = \"127.0.0.1:x\";\n", 1, "listen");
	ck_assert_msg(strstr(err, "out of range") == NULL, "%s", err);
	config_free(load_ok(write_file("p.conf",
	    "listen = \"127.0.0.1:65535\";\n"), CONFIG_MODE_DEFAULT));
}
END_TEST

START_TEST(test_split_hostport)
{
	char host[8], longhost[300];
	int port;

	split_ok("h:1", 7000, "h", 1);
	split_ok("example.org:7001", 7000, "example.org", 7001);
	split_ok("127.0.0.1:0", 7000, "127.0.0.1", 0);
	split_ok("h:65535", 7000, "h", 65535);
	split_ok("[::1]:7000", 1, "::1", 7000);
	split_ok("[fe80::1%eth0]:80", 1, "fe80::1%eth0", 80);
	split_ok("[::1]", 7001, "::1", 7001);
	split_ok("h", 7001, "h", 7001);
	split_ok("198.18.1.3", 7000, "198.18.1.3", 7000);
	split_fails("::1");
	split_fails("fe80::1:80");
	split_fails("h:80:90");
	split_fails("h:");
	split_fails("h:70000");
	split_fails("h:65536");
	split_fails("h:-1");
	split_fails("h:80x");
	split_fails("h:0x50");
	split_fails("h:99999999999999999999");
	split_fails(":80");
	split_fails(":");
	split_fails("h: 80");
	split_fails("h:+80");
	split_fails("");
	split_fails("[::1");
	split_fails("[::1]:");
	split_fails("[::1]x");
	split_fails("[::1]80");
	split_fails("[]:80");
	split_fails("[]");
	/* The host must fit the buffer given (with its NUL). */
	ck_assert_int_eq(config_split_hostport("1234567:1", host, sizeof(host),
	    &port, 0), 0);
	ck_assert_str_eq(host, "1234567");
	ck_assert_int_eq(config_split_hostport("12345678:1", host, sizeof(host),
	    &port, 0), -1);
	ck_assert_int_eq(config_split_hostport("[1234:5678]:1", host,
	    sizeof(host), &port, 0), -1);
	memset(longhost, 'a', 256);
	strcpy(longhost + 256, ":80");
	split_fails(longhost);
	longhost[255] = '\0';
	split_ok(longhost, 1, longhost, 1);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults_no_file);
	tcase_add_test(tc, test_wrapping_integers);
	tcase_add_test(tc, test_defaults_without_xdg);
	tcase_add_test(tc, test_control_socket_default);
	tcase_add_test(tc, test_control_socket_too_long);
	tcase_add_test(tc, test_full_file);
	tcase_add_test(tc, test_example_files);
	tcase_add_test(tc, test_small_values);
	tcase_add_test(tc, test_mode_override);
	tcase_add_test(tc, test_error_unknown_keys);
	tcase_add_test(tc, test_error_types);
	tcase_add_test(tc, test_error_ranges);
	tcase_add_test(tc, test_error_enums);
	tcase_add_test(tc, test_mailbox);
	tcase_add_test(tc, test_storage_cluster);
	tcase_add_test(tc, test_error_single_values);
	tcase_add_test(tc, test_error_addresses);
	tcase_add_test(tc, test_addresses_list_forms);
	tcase_add_test(tc, test_error_cross_keys);
	tcase_add_test(tc, test_login_ceiling_default);
	tcase_add_test(tc, test_error_syntax);
	tcase_add_test(tc, test_error_missing_file);
	tcase_add_test(tc, test_error_truncated_buffer);
	tcase_add_test(tc, test_find_order);
	tcase_add_test(tc, test_find_env_missing_file);
	tcase_add_test(tc, test_split_hostport);
	tcase_add_test(tc, test_changed);
	tcase_add_test(tc, test_port_range);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(config_suite(), LOG_LVL_INFO);
}
