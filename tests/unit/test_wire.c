/*
 * Unit tests for wire.c: every frame type parses into the right struct,
 * every required member missing or of the wrong type is refused with
 * "bad_frame", an unknown type with "unknown_type", and the syntax checks
 * of each member (names, ids, ports, addresses, bodies, keys) hold at
 * their boundaries.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proto.h"
#include "wire.h"
#include "testutil.h"

#define ID1	"0123456789abcdef0123456789abcdef"
#define FP	"sha256:" \
	"0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef"
#define MAXBODY	64

static struct wire_msg m;
static const char *code;
static char err[256];
static json_t *frame;

static void
teardown(void)
{
	json_decref(frame);
	frame = NULL;
}

/* Parse a frame from JSON text; the frame lives until the next call. */
static int
parse_max(const char *json, size_t max)
{
	json_error_t jerr;

	json_decref(frame);
	frame = json_loads(json, 0, &jerr);
	ck_assert_msg(frame != NULL, "bad test JSON %s: %s", json, jerr.text);
	code = NULL;
	err[0] = '\0';
	return wire_parse(frame, &m, max, &code, err, sizeof(err));
}

static int
parse(const char *json)
{
	return parse_max(json, MAXBODY);
}

/* Parse an already built frame (reference taken). */
static int
parse_obj(json_t *f)
{
	json_decref(frame);
	frame = f;
	code = NULL;
	err[0] = '\0';
	return wire_parse(frame, &m, MAXBODY, &code, err, sizeof(err));
}

#define PARSES(j) do { \
	ck_assert_msg(parse(j) == 0, "refused %s: %s", (j), err); \
	ck_assert_ptr_eq(m.frame, frame); \
} while (0)
#define BAD_FRAME(j) do { \
	ck_assert_msg(parse(j) == -1, "accepted %s", (j)); \
	ck_assert_msg(code != NULL && strcmp(code, ERR_BAD_FRAME) == 0, \
	    "%s: code %s", (j), code != NULL ? code : "(null)"); \
	ck_assert_msg(err[0] != '\0', "%s: no message", (j)); \
} while (0)

#define FID	"\"id\":\"0123456789abcdef0123456789abcdef\""
#define FSHA	"\"sha256\":\"" \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\""

/* Files: an offer, a chunk, the recipient's word; each member checked. */
START_TEST(test_files)
{
	PARSES("{\"t\":\"file\"," FID ",\"from\":\"alice\",\"to\":\"bob\","
	    "\"name\":\"../../etc/passwd\",\"size\":0," FSHA ",\"ts\":1}");
	ck_assert_int_eq(m.type, W_FILE);
	ck_assert_str_eq(m.u.file.name, "../../etc/passwd");
	ck_assert_int_eq(m.u.file.size, 0);
	BAD_FRAME("{\"t\":\"file\"," FID ",\"from\":\"alice\",\"to\":\"bob\","
	    "\"name\":\"x\",\"size\":-1," FSHA ",\"ts\":1}");
	BAD_FRAME("{\"t\":\"file\"," FID ",\"from\":\"alice\",\"to\":\"bob\","
	    "\"name\":\"\",\"size\":1," FSHA ",\"ts\":1}");
	BAD_FRAME("{\"t\":\"file\"," FID ",\"from\":\"alice\",\"to\":\"bob\","
	    "\"name\":\"x\",\"size\":1,\"sha256\":\"E3B0\",\"ts\":1}");
	BAD_FRAME("{\"t\":\"file\",\"id\":\"../x\",\"from\":\"alice\","
	    "\"to\":\"bob\",\"name\":\"x\",\"size\":1," FSHA ",\"ts\":1}");
	PARSES("{\"t\":\"chunk\"," FID ",\"off\":4,\"data\":\"ZXZpbA==\"}");
	ck_assert_int_eq(m.u.chunk.off, 4);
	BAD_FRAME("{\"t\":\"chunk\"," FID ",\"off\":4,\"data\":\"\"}");
	BAD_FRAME("{\"t\":\"chunk\"," FID ",\"off\":-4,\"data\":\"ZXZpbA==\"}");
	PARSES("{\"t\":\"file-pos\"," FID ",\"state\":\"receiving\",\"off\":7}");
	ck_assert_str_eq(m.u.fpos.reason, "");
	BAD_FRAME("{\"t\":\"file-pos\"," FID ",\"state\":\"shown\",\"off\":7}");
}
END_TEST

START_TEST(test_type_names)
{
	static const char *const names[W__MAX] = {
		[W_OK] = "ok", [W_ERROR] = "error", [W_REGISTER] = "register",
		[W_LOGIN] = "login", [W_AUTH] = "auth", [W_HB] = "hb",
		[W_LOOKUP] = "lookup", [W_WATCH] = "watch",
		[W_PRESENCE] = "presence", [W_HELLO] = "hello",
		[W_MSG] = "msg", [W_ACK] = "ack", [W_RELAY] = "relay",
		[W_RELAY_INVITE] = "relay-invite", [W_GMSG] = "gmsg",
		[W_GMEMBERS] = "gmembers", [W_GLEAVE] = "gleave",
		[W_MBOX_PUT] = "mbox-put",
		[W_MBOX_GET] = "mbox-get", [W_MBOX_ACK] = "mbox-ack",
		[W_MBOX_WITHDRAW] = "mbox-withdraw",
		[W_MBOX_COUNT] = "mbox-count", [W_MBOX] = "mbox",
		[W_FILE] = "file", [W_CHUNK] = "chunk", [W_FILE_POS] = "file-pos",
		[W_FILE_CANCEL] = "file-cancel", [W_ACKS] = "acks",
	};
	int i;

	for (i = 0; i < W__MAX; i++)
		ck_assert_str_eq(wire_type_name((enum wire_type)i), names[i]);
	ck_assert_str_eq(wire_type_name(W__MAX), "?");
}
END_TEST

START_TEST(test_unknown_type)
{
	static const char *const frames[] = {
		"{\"t\":\"nosuch\"}",
		"{\"t\":\"\"}",
		"{\"t\":\"OK\"}",
		"{\"t\":\"msg \"}",
		"{\"t\":5}",
		"{\"t\":null}",
		"{\"t\":[\"msg\"]}",
		"{\"type\":\"msg\"}",
		"{}",
	};
	size_t i;

	for (i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		ck_assert_int_eq(parse(frames[i]), -1);
		ck_assert_msg(code != NULL && strcmp(code, ERR_UNKNOWN_TYPE) == 0,
		    "%s: code %s", frames[i], code);
		ck_assert(err[0] != '\0');
	}
}
END_TEST

START_TEST(test_ok_error)
{
	PARSES("{\"t\":\"ok\"}");
	ck_assert_int_eq(m.type, W_OK);
	PARSES("{\"t\":\"ok\",\"extra\":[1,2]}");	/* extra members ignored */
	ck_assert_int_eq(m.type, W_OK);
	PARSES("{\"t\":\"error\",\"code\":\"bad_credentials\","
	    "\"message\":\"wrong password\"}");
	ck_assert_int_eq(m.type, W_ERROR);
	ck_assert_str_eq(m.u.error.code, "bad_credentials");
	ck_assert_str_eq(m.u.error.message, "wrong password");
	PARSES("{\"t\":\"error\",\"code\":\"x\"}");
	ck_assert_str_eq(m.u.error.message, "");
	PARSES("{\"t\":\"error\",\"code\":\"x\",\"message\":5}");
	ck_assert_str_eq(m.u.error.message, "");
	BAD_FRAME("{\"t\":\"error\"}");
	BAD_FRAME("{\"t\":\"error\",\"code\":5}");
	BAD_FRAME("{\"t\":\"error\",\"code\":null,\"message\":\"m\"}");
	/* id: the message refused (id_taken), optional, strictly checked */
	ck_assert_ptr_null(m.u.error.id);
	PARSES("{\"t\":\"error\",\"code\":\"id_taken\",\"id\":"
	    "\"0123456789abcdef0123456789abcdef\"}");
	ck_assert_str_eq(m.u.error.id, "0123456789abcdef0123456789abcdef");
	PARSES("{\"t\":\"error\",\"code\":\"x\"}");
	ck_assert_ptr_null(m.u.error.id);
	BAD_FRAME("{\"t\":\"error\",\"code\":\"id_taken\",\"id\":"
	    "\"0123456789ABCDEF0123456789abcdef\"}");
	BAD_FRAME("{\"t\":\"error\",\"code\":\"id_taken\",\"id\":\"2a\"}");
	BAD_FRAME("{\"t\":\"error\",\"code\":\"id_taken\",\"id\":42}");
}
END_TEST

START_TEST(test_cred)
{
	char pw[P2P_PASSWORD_MAX + 2];
	json_t *f;

	PARSES("{\"t\":\"register\",\"user\":\"alice\",\"password\":\"secret123\"}");
	ck_assert_int_eq(m.type, W_REGISTER);
	ck_assert_str_eq(m.u.cred.user, "alice");
	ck_assert_str_eq(m.u.cred.password, "secret123");
	ck_assert_uint_eq(m.u.cred.password_len, 9);
	PARSES("{\"t\":\"login\",\"user\":\"bob\",\"password\":\"12345678\"}");
	ck_assert_int_eq(m.type, W_LOGIN);
	ck_assert_str_eq(m.u.cred.user, "bob");
	ck_assert_uint_eq(m.u.cred.password_len, 8);
	BAD_FRAME("{\"t\":\"login\",\"user\":\"bob\",\"password\":\"1234567\"}");
	BAD_FRAME("{\"t\":\"login\",\"user\":\"bob\",\"password\":\"\"}");
	BAD_FRAME("{\"t\":\"login\",\"user\":\"bob\"}");
	BAD_FRAME("{\"t\":\"login\",\"user\":\"bob\",\"password\":12345678}");
	BAD_FRAME("{\"t\":\"login\",\"password\":\"12345678\"}");
	BAD_FRAME("{\"t\":\"register\",\"user\":\"Bob\",\"password\":\"12345678\"}");
	BAD_FRAME("{\"t\":\"register\",\"user\":5,\"password\":\"12345678\"}");
	memset(pw, 'p', sizeof(pw));
	pw[P2P_PASSWORD_MAX] = '\0';
	f = json_pack("{s:s,s:s,s:s}", "t", "login", "user", "bob",
	    "password", pw);
	ck_assert_int_eq(parse_obj(f), 0);
	ck_assert_uint_eq(m.u.cred.password_len, P2P_PASSWORD_MAX);
	pw[P2P_PASSWORD_MAX] = 'p';
	pw[P2P_PASSWORD_MAX + 1] = '\0';
	f = json_pack("{s:s,s:s,s:s}", "t", "login", "user", "bob",
	    "password", pw);
	ck_assert_int_eq(parse_obj(f), -1);
	ck_assert_str_eq(code, ERR_BAD_FRAME);
	/* A password with a NUL inside (if JSON ever carried one). */
	f = json_pack("{s:s,s:s,s:s#}", "t", "login", "user", "bob",
	    "password", "pass\0word", (int)9);
	ck_assert_int_eq(parse_obj(f), -1);
	ck_assert_str_eq(code, ERR_BAD_FRAME);
}
END_TEST

START_TEST(test_user_frames)
{
	PARSES("{\"t\":\"auth\",\"user\":\"carol\"}");
	ck_assert_int_eq(m.type, W_AUTH);
	ck_assert_str_eq(m.u.user.user, "carol");
	PARSES("{\"t\":\"lookup\",\"user\":\"d.e_f-9\"}");
	ck_assert_int_eq(m.type, W_LOOKUP);
	ck_assert_str_eq(m.u.user.user, "d.e_f-9");
	PARSES("{\"t\":\"lookup\",\"user\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
	BAD_FRAME("{\"t\":\"lookup\",\"user\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
	BAD_FRAME("{\"t\":\"auth\"}");
	BAD_FRAME("{\"t\":\"auth\",\"user\":\"\"}");
	BAD_FRAME("{\"t\":\"auth\",\"user\":\"_x\"}");
	BAD_FRAME("{\"t\":\"auth\",\"user\":[\"x\"]}");
	BAD_FRAME("{\"t\":\"lookup\",\"user\":null}");
	BAD_FRAME("{\"t\":\"lookup\",\"user\":\"a/b\"}");
}
END_TEST

START_TEST(test_hb)
{
	PARSES("{\"t\":\"hb\",\"port\":7001}");
	ck_assert_int_eq(m.type, W_HB);
	ck_assert_int_eq(m.u.hb.port, 7001);
	ck_assert_ptr_null(m.u.hb.addr);
	PARSES("{\"t\":\"hb\",\"port\":0}");
	ck_assert_int_eq(m.u.hb.port, 0);
	PARSES("{\"t\":\"hb\",\"port\":65535,\"addr\":\"198.18.0.5\"}");
	ck_assert_int_eq(m.u.hb.port, 65535);
	ck_assert_str_eq(m.u.hb.addr, "198.18.0.5");
	PARSES("{\"t\":\"hb\",\"port\":1,\"addr\":\"Host-1.Example.org\"}");
	ck_assert_str_eq(m.u.hb.addr, "Host-1.Example.org");
	PARSES("{\"t\":\"hb\",\"port\":1,\"addr\":\"fe80::1\"}");
	ck_assert_str_eq(m.u.hb.addr, "fe80::1");
	/* 63 bytes is the longest address. */
	PARSES("{\"t\":\"hb\",\"port\":1,\"addr\":\""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
	ck_assert_uint_eq(strlen(m.u.hb.addr), 63);
	BAD_FRAME("{\"t\":\"hb\",\"port\":1,\"addr\":\""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":1,\"addr\":\"\"}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":1,\"addr\":\"a b\"}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":1,\"addr\":\"[::1]\"}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":1,\"addr\":\"host_name\"}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":1,\"addr\":\"h;rm -rf\"}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":1,\"addr\":\"h\\n\"}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":1,\"addr\":\"caf\\u00e9\"}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":1,\"addr\":5}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":1,\"addr\":null}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":1,\"addr\":[\"h\"]}");
	BAD_FRAME("{\"t\":\"hb\"}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":-1}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":65536}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":7001.0}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":\"7001\"}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":true}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":null}");
	BAD_FRAME("{\"t\":\"hb\",\"port\":4294974297}");
}
END_TEST

START_TEST(test_watch)
{
	json_t *f, *users;
	char name[16];
	int i;

	PARSES("{\"t\":\"watch\",\"users\":[\"alice\",\"bob\"]}");
	ck_assert_int_eq(m.type, W_WATCH);
	ck_assert_ptr_eq(m.u.watch.users, json_object_get(frame, "users"));
	ck_assert_uint_eq(json_array_size(m.u.watch.users), 2);
	ck_assert_str_eq(json_string_value(json_array_get(m.u.watch.users, 1)),
	    "bob");
	PARSES("{\"t\":\"watch\",\"users\":[]}");
	ck_assert_uint_eq(json_array_size(m.u.watch.users), 0);
	BAD_FRAME("{\"t\":\"watch\"}");
	BAD_FRAME("{\"t\":\"watch\",\"users\":\"alice\"}");
	BAD_FRAME("{\"t\":\"watch\",\"users\":{\"alice\":1}}");
	BAD_FRAME("{\"t\":\"watch\",\"users\":null}");
	BAD_FRAME("{\"t\":\"watch\",\"users\":[\"alice\",\"Bob\"]}");
	BAD_FRAME("{\"t\":\"watch\",\"users\":[\"alice\",\"\"]}");
	BAD_FRAME("{\"t\":\"watch\",\"users\":[\"alice\",5]}");
	BAD_FRAME("{\"t\":\"watch\",\"users\":[[\"alice\"]]}");
	BAD_FRAME("{\"t\":\"watch\",\"users\":[null]}");
	/* WIRE_MAX_WATCH names are fine, one more is not. */
	users = json_array();
	for (i = 0; i < WIRE_MAX_WATCH; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		json_array_append_new(users, json_string(name));
	}
	f = json_pack("{s:s,s:O}", "t", "watch", "users", users);
	ck_assert_msg(parse_obj(f) == 0, "%s", err);
	ck_assert_uint_eq(json_array_size(m.u.watch.users), WIRE_MAX_WATCH);
	json_array_append_new(users, json_string("onemore"));
	f = json_pack("{s:s,s:O}", "t", "watch", "users", users);
	ck_assert_int_eq(parse_obj(f), -1);
	ck_assert_str_eq(code, ERR_BAD_FRAME);
	json_decref(users);
}
END_TEST

START_TEST(test_presence)
{
	PARSES("{\"t\":\"presence\",\"user\":\"bob\",\"online\":true,"
	    "\"addr\":\"198.18.0.5\",\"port\":7001,\"key\":\"" FP "\","
	    "\"last_seen\":1700000000}");
	ck_assert_int_eq(m.type, W_PRESENCE);
	ck_assert_str_eq(m.u.presence.user, "bob");
	ck_assert(m.u.presence.online);
	ck_assert_str_eq(m.u.presence.addr, "198.18.0.5");
	ck_assert_int_eq(m.u.presence.port, 7001);
	ck_assert_str_eq(m.u.presence.key, FP);
	ck_assert_int_eq(m.u.presence.last_seen, 1700000000);
	/* Offline, nothing known, no last_seen. */
	PARSES("{\"t\":\"presence\",\"user\":\"bob\",\"online\":false,"
	    "\"addr\":\"\",\"port\":0,\"key\":\"\"}");
	ck_assert(!m.u.presence.online);
	ck_assert_str_eq(m.u.presence.addr, "");
	ck_assert_str_eq(m.u.presence.key, "");
	ck_assert_int_eq(m.u.presence.port, 0);
	ck_assert_int_eq(m.u.presence.last_seen, 0);
	/* Bad key. */
	BAD_FRAME("{\"t\":\"presence\",\"user\":\"bob\",\"online\":true,"
	    "\"addr\":\"a\",\"port\":1,\"key\":\"sha256:abc\"}");
	BAD_FRAME("{\"t\":\"presence\",\"user\":\"bob\",\"online\":true,"
	    "\"addr\":\"a\",\"port\":1,\"key\":\"" FP "0\"}");
	BAD_FRAME("{\"t\":\"presence\",\"user\":\"bob\",\"online\":true,"
	    "\"addr\":\"a\",\"port\":1,\"key\":\"SHA256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}");
	BAD_FRAME("{\"t\":\"presence\",\"user\":\"bob\",\"online\":true,"
	    "\"addr\":\"a\",\"port\":1,\"key\":5}");
	/* Address too long; port out of range; online not a boolean. */
	BAD_FRAME("{\"t\":\"presence\",\"user\":\"bob\",\"online\":true,"
	    "\"addr\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	    "\"port\":1,\"key\":\"\"}");
	BAD_FRAME("{\"t\":\"presence\",\"user\":\"bob\",\"online\":true,"
	    "\"addr\":\"a\",\"port\":70000,\"key\":\"\"}");
	BAD_FRAME("{\"t\":\"presence\",\"user\":\"bob\",\"online\":1,"
	    "\"addr\":\"a\",\"port\":1,\"key\":\"\"}");
	BAD_FRAME("{\"t\":\"presence\",\"user\":\"bob\",\"online\":\"true\","
	    "\"addr\":\"a\",\"port\":1,\"key\":\"\"}");
	BAD_FRAME("{\"t\":\"presence\",\"user\":\"Bob\",\"online\":true,"
	    "\"addr\":\"a\",\"port\":1,\"key\":\"\"}");
}
END_TEST

START_TEST(test_hello)
{
	PARSES("{\"t\":\"hello\",\"v\":1,\"user\":\"alice\"}");
	ck_assert_int_eq(m.type, W_HELLO);
	ck_assert_int_eq(m.u.hello.v, 1);
	ck_assert_str_eq(m.u.hello.user, "alice");
	PARSES("{\"t\":\"hello\",\"v\":1000,\"user\":\"alice\"}");
	ck_assert_int_eq(m.u.hello.v, 1000);
	BAD_FRAME("{\"t\":\"hello\",\"v\":0,\"user\":\"alice\"}");
	BAD_FRAME("{\"t\":\"hello\",\"v\":1001,\"user\":\"alice\"}");
	BAD_FRAME("{\"t\":\"hello\",\"v\":-1,\"user\":\"alice\"}");
	BAD_FRAME("{\"t\":\"hello\",\"v\":1.0,\"user\":\"alice\"}");
	BAD_FRAME("{\"t\":\"hello\",\"v\":\"1\",\"user\":\"alice\"}");
	BAD_FRAME("{\"t\":\"hello\",\"user\":\"alice\"}");
	BAD_FRAME("{\"t\":\"hello\",\"v\":1}");
	BAD_FRAME("{\"t\":\"hello\",\"v\":1,\"user\":\"ALICE\"}");
}
END_TEST

#define HELLO_CAPS(caps) "{\"t\":\"hello\",\"v\":1,\"user\":\"alice\"," \
	"\"caps\":" caps "}"

/* caps: absent is none, known names are bits, unknown ones ignored. */
START_TEST(test_hello_caps)
{
	char big[2048];
	size_t n;
	int i;

	PARSES("{\"t\":\"hello\",\"v\":1,\"user\":\"alice\"}");
	ck_assert_uint_eq(m.u.hello.caps, 0);
	PARSES(HELLO_CAPS("[]"));
	ck_assert_uint_eq(m.u.hello.caps, 0);
	PARSES(HELLO_CAPS("[\"file\"]"));
	ck_assert_uint_eq(m.u.hello.caps, 1u << WCAP_FILE);
	PARSES(HELLO_CAPS("[\"x-future-2\",\"file\",\"file\",\"0\"]"));
	ck_assert_uint_eq(m.u.hello.caps, 1u << WCAP_FILE);
	PARSES(HELLO_CAPS("[\"files\",\"fil\"]"));
	ck_assert_uint_eq(m.u.hello.caps, 0);
	PARSES(HELLO_CAPS("[\"acks\",\"file\"]"));
	ck_assert_uint_eq(m.u.hello.caps, 1u << WCAP_FILE | 1u << WCAP_ACKS);
	/* Not an array of strings. */
	BAD_FRAME(HELLO_CAPS("\"file\""));
	BAD_FRAME(HELLO_CAPS("{\"file\":true}"));
	BAD_FRAME(HELLO_CAPS("null"));
	BAD_FRAME(HELLO_CAPS("1"));
	BAD_FRAME(HELLO_CAPS("[1]"));
	BAD_FRAME(HELLO_CAPS("[\"file\",null]"));
	BAD_FRAME(HELLO_CAPS("[[\"file\"]]"));
	/* Bad names: empty, upper case, other characters, NUL, too long. */
	BAD_FRAME(HELLO_CAPS("[\"\"]"));
	BAD_FRAME(HELLO_CAPS("[\"File\"]"));
	BAD_FRAME(HELLO_CAPS("[\"file_2\"]"));
	BAD_FRAME(HELLO_CAPS("[\"fi le\"]"));
	/* A NUL (frame.c refuses it already; built here by hand). */
	ck_assert_int_eq(parse_obj(json_pack("{s:s,s:i,s:s,s:[o]}", "t", "hello",
	    "v", 1, "user", "alice", "caps", json_stringn("file\0", 5))), -1);
	ck_assert_str_eq(code, ERR_BAD_FRAME);
	BAD_FRAME(HELLO_CAPS("[\"f\u00e9\"]"));
	PARSES(HELLO_CAPS("[\"" "0123456789abcdef0123456789abcdef" "\"]"));
	BAD_FRAME(HELLO_CAPS("[\"" "0123456789abcdef0123456789abcdef0" "\"]"));
	/* WIRE_MAX_CAPS names pass, one more does not. */
	for (i = 0; i <= WIRE_MAX_CAPS; i++) {
		n = (size_t)snprintf(big, sizeof(big), "{\"t\":\"hello\",\"v\":1,"
		    "\"user\":\"alice\",\"caps\":[\"file\"");
		for (int j = 1; j < i + 1; j++)
			n += (size_t)snprintf(big + n, sizeof(big) - n, ",\"c%d\"", j);
		snprintf(big + n, sizeof(big) - n, "]}");
		if (i + 1 <= WIRE_MAX_CAPS) {
			PARSES(big);
			ck_assert_uint_eq(m.u.hello.caps, 1u << WCAP_FILE);
		} else
			BAD_FRAME(big);
	}
}
END_TEST

/* acks {ids}: 1 to WIRE_MAX_ACKS ids of 32 lowercase hex digits. */
START_TEST(test_acks)
{
	char big[WIRE_MAX_ACKS * 40 + 64];
	size_t n;
	int i, k;

	PARSES("{\"t\":\"acks\",\"ids\":[\"" ID1 "\"]}");
	ck_assert_int_eq(m.type, W_ACKS);
	ck_assert_uint_eq(m.u.acks.n, 1);
	ck_assert_str_eq(wire_acks_id(&m.u.acks, 0), ID1);
	PARSES("{\"t\":\"acks\",\"ids\":[\"" ID1 "\",\"ffffffffffffffff"
	    "ffffffffffffffff\"]}");
	ck_assert_uint_eq(m.u.acks.n, 2);
	ck_assert_str_eq(wire_acks_id(&m.u.acks, 1),
	    "ffffffffffffffffffffffffffffffff");
	BAD_FRAME("{\"t\":\"acks\"}");
	BAD_FRAME("{\"t\":\"acks\",\"ids\":[]}");
	BAD_FRAME("{\"t\":\"acks\",\"ids\":\"" ID1 "\"}");
	BAD_FRAME("{\"t\":\"acks\",\"ids\":{\"a\":\"" ID1 "\"}}");
	BAD_FRAME("{\"t\":\"acks\",\"ids\":null}");
	BAD_FRAME("{\"t\":\"acks\",\"ids\":[\"" ID1 "\",5]}");
	BAD_FRAME("{\"t\":\"acks\",\"ids\":[[\"" ID1 "\"]]}");
	BAD_FRAME("{\"t\":\"acks\",\"ids\":[\"0123456789ABCDEF0123456789abcdef\"]}");
	BAD_FRAME("{\"t\":\"acks\",\"ids\":[\"0123456789abcdef0123456789abcde\"]}");
	BAD_FRAME("{\"t\":\"acks\",\"ids\":[\"0123456789abcdef0123456789abcdef0\"]}");
	BAD_FRAME("{\"t\":\"acks\",\"ids\":[\"0123456789abcdef0123456789abcdeg\"]}");
	/* WIRE_MAX_ACKS ids pass, one more does not. */
	for (k = WIRE_MAX_ACKS; k <= WIRE_MAX_ACKS + 1; k++) {
		n = (size_t)snprintf(big, sizeof(big), "{\"t\":\"acks\",\"ids\":[");
		for (i = 0; i < k; i++)
			n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"%032x\"",
			    i ? "," : "", i);
		snprintf(big + n, sizeof(big) - n, "]}");
		if (k == WIRE_MAX_ACKS) {
			PARSES(big);
			ck_assert_uint_eq(m.u.acks.n, WIRE_MAX_ACKS);
			ck_assert_str_eq(wire_acks_id(&m.u.acks, 255),
			    "000000000000000000000000000000ff");
		} else
			BAD_FRAME(big);
	}
}
END_TEST

/* Our own hello parses back with every cap we know. */
START_TEST(test_hello_ours)
{
	json_t *h = wire_hello_new("alice");
	char *text = json_dumps(h, JSON_COMPACT);

	PARSES(text);
	ck_assert_str_eq(m.u.hello.user, "alice");
	ck_assert_uint_eq(m.u.hello.caps, (1u << WCAP__MAX) - 1);
	ck_assert_str_eq(wire_cap_name(WCAP_FILE), "file");
	ck_assert_str_eq(wire_cap_name(WCAP_ACKS), "acks");
	free(text);
	json_decref(h);
}
END_TEST

struct member {
	const char	*name;
	const char	*good;		/* JSON text of a valid value */
	const char	*const *wrong;	/* JSON texts of invalid ones, NULL-ended */
};

static const char *const w_str[] = { "5", "true", "null", "[]", "{}", NULL };
static const char *const w_user[] = { "5", "true", "null", "[]", "{}", "\"\"",
	"\"Bob\"", "\"-x\"", NULL };
static const char *const w_int[] = { "\"1\"", "true", "null", "[]", "{}", "1.5",
	"-1", NULL };
static const char *const w_bool[] = { "1", "\"true\"", "null", "[]", NULL };
static const char *const w_id[] = { "5", "null", "\"\"", "[]",
	"\"0123456789ABCDEF0123456789abcdef\"", NULL };

/*
 * Parse a frame of type t whose members are ms[0..n), except that member
 * is given the JSON text val instead of its good value (NULL: left out).
 */
static int
parse_with(const char *t, const struct member *ms, size_t n,
    const char *member, const char *val)
{
	char json[1024];
	size_t i, off;

	off = (size_t)snprintf(json, sizeof(json), "{\"t\":\"%s\"", t);
	for (i = 0; i < n; i++) {
		const char *v = strcmp(ms[i].name, member) == 0 ? val :
		    ms[i].good;

		if (v != NULL)
			off += (size_t)snprintf(json + off, sizeof(json) - off,
			    ",\"%s\":%s", ms[i].name, v);
	}
	ck_assert_uint_lt(off, sizeof(json) - 1);
	snprintf(json + off, sizeof(json) - off, "}");
	return parse(json);
}

/* The frame parses as given; each member missing or wrong is bad_frame. */
static void
check_members(const char *t, enum wire_type type, const struct member *ms,
    size_t n)
{
	size_t i, j;

	ck_assert_msg(parse_with(t, ms, n, "", NULL) == 0, "%s: %s", t, err);
	ck_assert_int_eq(m.type, type);
	for (i = 0; i < n; i++) {
		if (ms[i].wrong == NULL)
			continue;	/* optional member */
		ck_assert_msg(parse_with(t, ms, n, ms[i].name, NULL) == -1,
		    "%s without %s accepted", t, ms[i].name);
		ck_assert_str_eq(code, ERR_BAD_FRAME);
		for (j = 0; ms[i].wrong[j] != NULL; j++) {
			ck_assert_msg(parse_with(t, ms, n, ms[i].name,
			    ms[i].wrong[j]) == -1, "%s with %s = %s accepted",
			    t, ms[i].name, ms[i].wrong[j]);
			ck_assert_str_eq(code, ERR_BAD_FRAME);
		}
	}
	/* Back to the good frame, so callers can look at its fields. */
	ck_assert_int_eq(parse_with(t, ms, n, "", NULL), 0);
}

static const struct member msg_members[] = {
	{ "id", "\"" ID1 "\"", w_id },
	{ "from", "\"alice\"", w_user },
	{ "to", "\"bob\"", w_user },
	{ "ts", "1700000000123", w_int },
	{ "body", "\"hi\"", w_str },
};
#define NMSG	(sizeof(msg_members) / sizeof(msg_members[0]))

static int
parse_msg_with(const char *member, const char *val)
{
	return parse_with("msg", msg_members, NMSG, member, val);
}

START_TEST(test_members_required)
{
	static const struct member cred[] = {
		{ "user", "\"alice\"", w_user },
		{ "password", "\"secret123\"", w_str },
	};
	static const struct member user[] = {
		{ "user", "\"alice\"", w_user },
	};
	static const struct member hb[] = {
		{ "port", "7001", w_int },
		{ "addr", "\"h\"", NULL },
	};
	static const char *const w_users[] = { "5", "true", "null", "{}",
		"\"a\"", "[5]", "[\"A\"]", NULL };
	static const struct member watch[] = {
		{ "users", "[\"a\"]", w_users },
	};
	static const struct member presence[] = {
		{ "user", "\"bob\"", w_user },
		{ "online", "true", w_bool },
		{ "addr", "\"h\"", w_str },
		{ "port", "1", w_int },
		{ "key", "\"\"", w_str },
		{ "last_seen", "5", NULL },
	};
	static const struct member hello[] = {
		{ "v", "1", w_int },
		{ "user", "\"alice\"", w_user },
	};
	static const struct member ack[] = {
		{ "id", "\"" ID1 "\"", w_id },
	};
	static const struct member error[] = {
		{ "code", "\"x\"", w_str },
		{ "message", "\"m\"", NULL },
	};

	check_members("register", W_REGISTER, cred, 2);
	check_members("login", W_LOGIN, cred, 2);
	check_members("auth", W_AUTH, user, 1);
	check_members("lookup", W_LOOKUP, user, 1);
	check_members("hb", W_HB, hb, 2);
	check_members("watch", W_WATCH, watch, 1);
	check_members("presence", W_PRESENCE, presence, 6);
	check_members("hello", W_HELLO, hello, 2);
	check_members("msg", W_MSG, msg_members, NMSG);
	check_members("ack", W_ACK, ack, 1);
	check_members("error", W_ERROR, error, 2);
}
END_TEST

START_TEST(test_msg)
{
	ck_assert_msg(parse_msg_with("", NULL) == 0, "%s", err);
	ck_assert_int_eq(m.type, W_MSG);
	ck_assert_str_eq(m.u.msg.id, ID1);
	ck_assert_str_eq(m.u.msg.from, "alice");
	ck_assert_str_eq(m.u.msg.to, "bob");
	ck_assert_int_eq(m.u.msg.ts, 1700000000123LL);
	ck_assert_str_eq(m.u.msg.body, "hi");
	ck_assert_uint_eq(m.u.msg.body_len, 2);
	ck_assert_int_eq(parse_msg_with("ts", "\"1700000000123\""), -1);
	ck_assert_int_eq(parse_msg_with("ts", "1.5"), -1);
	ck_assert_int_eq(parse_msg_with("ts", "-1"), -1);
	ck_assert_str_eq(code, ERR_BAD_FRAME);
	ck_assert_int_eq(parse_msg_with("ts", "0"), 0);
	ck_assert_int_eq(m.u.msg.ts, 0);
	ck_assert_int_eq(parse_msg_with("ts", "9223372036854775807"), 0);
	ck_assert_int_eq(m.u.msg.ts, INT64_MAX);
	/* Ids: 32 lowercase hex digits only. */
	ck_assert_int_eq(parse_msg_with("id",
	    "\"0123456789ABCDEF0123456789abcdef\""), -1);
	ck_assert_str_eq(code, ERR_BAD_FRAME);
	ck_assert_int_eq(parse_msg_with("id",
	    "\"0123456789abcdef0123456789abcde\""), -1);
	ck_assert_int_eq(parse_msg_with("id",
	    "\"0123456789abcdef0123456789abcdef0\""), -1);
	ck_assert_int_eq(parse_msg_with("id",
	    "\"0123456789abcdef0123456789abcdeg\""), -1);
	/* Names. */
	ck_assert_int_eq(parse_msg_with("from", "\"Alice\""), -1);
	ck_assert_int_eq(parse_msg_with("to", "\"b b\""), -1);
	ck_assert_str_eq(code, ERR_BAD_FRAME);
}
END_TEST

START_TEST(test_msg_body)
{
	char body[MAXBODY + 2], val[MAXBODY + 8];

	/* Exactly max_body bytes are fine, one more is not. */
	memset(body, 'b', sizeof(body));
	body[MAXBODY] = '\0';
	snprintf(val, sizeof(val), "\"%s\"", body);
	ck_assert_msg(parse_msg_with("body", val) == 0, "%s", err);
	ck_assert_uint_eq(m.u.msg.body_len, MAXBODY);
	body[MAXBODY] = 'b';
	body[MAXBODY + 1] = '\0';
	snprintf(val, sizeof(val), "\"%s\"", body);
	ck_assert_int_eq(parse_msg_with("body", val), -1);
	ck_assert_str_eq(code, ERR_BAD_FRAME);
	/* The bound is in bytes: 16 four-byte emoji fill 64 bytes. */
	ck_assert_int_eq(parse_msg_with("body", "\""
	    "\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00"
	    "\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00"
	    "\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00"
	    "\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\""), 0);
	ck_assert_uint_eq(m.u.msg.body_len, 64);
	ck_assert_int_eq(parse_msg_with("body", "\"x"
	    "\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00"
	    "\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00"
	    "\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00"
	    "\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\""), -1);
	/* Tabs, newlines and backslashes are ordinary text. */
	ck_assert_int_eq(parse_msg_with("body", "\"a\\tb\\nc\\\\d\""), 0);
	ck_assert_str_eq(m.u.msg.body, "a\tb\nc\\d");
	ck_assert_uint_eq(m.u.msg.body_len, 7);
	/* Empty body refused; max_body of the caller is what bounds it. */
	ck_assert_int_eq(parse_msg_with("body", "\"\""), -1);
	ck_assert_int_eq(parse_max("{\"t\":\"msg\",\"id\":\"" ID1 "\","
	    "\"from\":\"a\",\"to\":\"b\",\"ts\":1,\"body\":\"hello\"}", 4), -1);
	ck_assert_str_eq(code, ERR_BAD_FRAME);
	ck_assert_int_eq(parse_max("{\"t\":\"msg\",\"id\":\"" ID1 "\","
	    "\"from\":\"a\",\"to\":\"b\",\"ts\":1,\"body\":\"hello\"}", 5), 0);
	/* A NUL in a body (if JSON ever carried one) is refused. */
	ck_assert_int_eq(parse_obj(json_pack("{s:s,s:s,s:s,s:s,s:I,s:s#}",
	    "t", "msg", "id", ID1, "from", "a", "to", "b", "ts",
	    (json_int_t)1, "body", "a\0b", (int)3)), -1);
	ck_assert_str_eq(code, ERR_BAD_FRAME);
}
END_TEST

START_TEST(test_ack)
{
	PARSES("{\"t\":\"ack\",\"id\":\"" ID1 "\"}");
	ck_assert_int_eq(m.type, W_ACK);
	ck_assert_str_eq(m.u.ack.id, ID1);
	BAD_FRAME("{\"t\":\"ack\"}");
	BAD_FRAME("{\"t\":\"ack\",\"id\":5}");
	BAD_FRAME("{\"t\":\"ack\",\"id\":\"\"}");
	BAD_FRAME("{\"t\":\"ack\",\"id\":\"0123456789ABCDEF0123456789abcdef\"}");
	BAD_FRAME("{\"t\":\"ack\",\"id\":\"0123456789abcdef\"}");
}
END_TEST

#define KEY64	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* The mailbox's frames and the mail key of login and auth. */
START_TEST(test_mbox)
{
	PARSES("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blob\":\"aGVsbG8=\"}");
	ck_assert_int_eq(m.type, W_MBOX_PUT);
	ck_assert_str_eq(m.u.mbox.to, "bob");
	ck_assert_int_eq(m.u.mbox.size, 5);
	PARSES("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blob\":\"aGVsbA==\"}");
	ck_assert_int_eq(m.u.mbox.size, 4);
	BAD_FRAME("{\"t\":\"mbox-put\",\"to\":\"Bob\",\"blob\":\"aGVsbA==\"}");
	BAD_FRAME("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blob\":\"\"}");
	BAD_FRAME("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blob\":\"aGVsb\"}");
	BAD_FRAME("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blob\":\"aG!sbA==\"}");
	BAD_FRAME("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blob\":\"a===\"}");
	BAD_FRAME("{\"t\":\"mbox-put\",\"to\":\"bob\"}");
	ck_assert_ptr_null(m.u.mbox.blobs);
	/* Several at once, each with a distinct dedup key. */
	PARSES("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blobs\":["
	    "{\"blob\":\"aGVsbG8=\",\"key\":\"0123456789abcdef\"},"
	    "{\"blob\":\"aGVsbA==\",\"key\":\"0123456789abcdee\"}]}");
	ck_assert_int_eq(json_array_size(m.u.mbox.blobs), 2);
	ck_assert_int_eq(m.u.mbox.size, 9);
	BAD_FRAME("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blobs\":[]}");
	BAD_FRAME("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blobs\":["
	    "{\"blob\":\"aGVsbG8=\",\"key\":\"0123456789abcdef\"},"
	    "{\"blob\":\"aGVsbA==\",\"key\":\"0123456789abcdef\"}]}");
	BAD_FRAME("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blobs\":["
	    "{\"blob\":\"aGVsbG8=\"}]}");
	BAD_FRAME("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blobs\":["
	    "{\"blob\":\"aGVsbG8=\",\"key\":\"0123456789ABCDEF\"}]}");
	BAD_FRAME("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blobs\":["
	    "{\"blob\":\"aGVsb\",\"key\":\"0123456789abcdef\"}]}");
	BAD_FRAME("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blobs\":["
	    "\"aGVsbG8=\"]}");
	BAD_FRAME("{\"t\":\"mbox-put\",\"to\":\"bob\",\"blobs\":{}}");
	{
		/* At most WIRE_MAX_PUT. */
		json_t *many = json_array();
		char k[WIRE_MBOX_KEY + 1];
		int i;

		for (i = 0; i <= WIRE_MAX_PUT; i++) {
			snprintf(k, sizeof(k), "%016x", i);
			json_array_append_new(many, json_pack("{s:s,s:s}", "blob",
			    "aGVsbG8=", "key", k));
		}
		ck_assert_int_eq(parse_obj(json_pack("{s:s,s:s,s:O}", "t",
		    "mbox-put", "to", "bob", "blobs", many)), -1);
		json_array_remove(many, 0);
		ck_assert_int_eq(parse_obj(json_pack("{s:s,s:s,s:O}", "t",
		    "mbox-put", "to", "bob", "blobs", many)), 0);
		ck_assert_int_eq(json_array_size(m.u.mbox.blobs), WIRE_MAX_PUT);
		json_decref(many);
	}
	PARSES("{\"t\":\"mbox-get\",\"after\":0}");
	ck_assert_int_eq(m.u.mbox.limit, WIRE_MAX_MBOX);
	PARSES("{\"t\":\"mbox-get\",\"after\":7,\"limit\":3}");
	ck_assert_int_eq(m.u.mbox.after, 7);
	ck_assert_int_eq(m.u.mbox.limit, 3);
	BAD_FRAME("{\"t\":\"mbox-get\"}");
	BAD_FRAME("{\"t\":\"mbox-get\",\"after\":-1}");
	BAD_FRAME("{\"t\":\"mbox-get\",\"after\":0,\"limit\":0}");
	BAD_FRAME("{\"t\":\"mbox-get\",\"after\":0,\"limit\":257}");
	PARSES("{\"t\":\"mbox-ack\",\"ids\":[1,2,3]}");
	ck_assert_int_eq(json_array_size(m.u.mbox.ids), 3);
	BAD_FRAME("{\"t\":\"mbox-ack\",\"ids\":[]}");
	BAD_FRAME("{\"t\":\"mbox-ack\",\"ids\":[0]}");
	BAD_FRAME("{\"t\":\"mbox-ack\",\"ids\":[\"1\"]}");
	BAD_FRAME("{\"t\":\"mbox-ack\",\"ids\":1}");
	PARSES("{\"t\":\"mbox-withdraw\",\"id\":9}");
	ck_assert_int_eq(m.u.mbox.id, 9);
	BAD_FRAME("{\"t\":\"mbox-withdraw\",\"id\":0}");
	PARSES("{\"t\":\"mbox\"}");
	PARSES("{\"t\":\"auth\",\"user\":\"bob\",\"mail\":\"" KEY64 "\"}");
	ck_assert_str_eq(m.u.user.mail, KEY64);
	PARSES("{\"t\":\"auth\",\"user\":\"bob\"}");
	ck_assert_ptr_null(m.u.user.mail);
	PARSES("{\"t\":\"login\",\"user\":\"bob\",\"password\":\"12345678\","
	    "\"mail\":\"\"}");
	ck_assert_str_eq(m.u.cred.mail, "");
	BAD_FRAME("{\"t\":\"auth\",\"user\":\"bob\",\"mail\":true}");
	BAD_FRAME("{\"t\":\"auth\",\"user\":\"bob\",\"mail\":\"00\"}");
	BAD_FRAME("{\"t\":\"login\",\"user\":\"bob\",\"password\":\"12345678\","
	    "\"mail\":\"" "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff" "\"}");
}
END_TEST

/* The gestor's answer to lookup: every field checked, refused whole. */
static int
lookup(const char *j, const char *user)
{
	json_t *f = json_loads(j, 0, NULL);
	int rc;

	ck_assert_ptr_nonnull(f);
	err[0] = '\0';
	rc = wire_lookup_reply(f, user, err, sizeof(err));
	json_decref(f);
	return rc;
}

#define LOOKUP_TAIL	"\"online\":true,\"port\":7001,\"last_seen\":1700000000}"

START_TEST(test_lookup_reply)
{
	ck_assert_int_eq(lookup("{\"t\":\"ok\",\"user\":\"bob\",\"fingerprint\":\""
	    FP "\",\"addr\":\"198.18.0.5\"," LOOKUP_TAIL, "bob"), 0);
	ck_assert_int_eq(lookup("{\"user\":\"bob\",\"fingerprint\":\"" FP "\","
	    "\"addr\":\"\",\"online\":false,\"port\":0,\"last_seen\":0}", "bob"),
	    0);
	ck_assert_int_eq(lookup("{\"user\":\"bob\",\"fingerprint\":"
	    "\"not-a-fingerprint\",\"addr\":\"a\"," LOOKUP_TAIL, "bob"), -1);
	ck_assert_ptr_nonnull(strstr(err, "fingerprint"));
	ck_assert_int_eq(lookup("{\"user\":\"bob\",\"addr\":\"a\"," LOOKUP_TAIL,
	    "bob"), -1);
	ck_assert_int_eq(lookup("{\"user\":\"eve\",\"fingerprint\":\"" FP "\","
	    "\"addr\":\"a\"," LOOKUP_TAIL, "bob"), -1);
	ck_assert_int_eq(lookup("{\"user\":\"Bob!\",\"fingerprint\":\"" FP "\","
	    "\"addr\":\"a\"," LOOKUP_TAIL, NULL), -1);
	ck_assert_int_eq(lookup("{\"user\":\"bob\",\"fingerprint\":\"" FP "\","
	    "\"addr\":\"a b\"," LOOKUP_TAIL, "bob"), -1);
	ck_assert_int_eq(lookup("{\"user\":\"bob\",\"fingerprint\":\"" FP "\","
	    "\"addr\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	    LOOKUP_TAIL, "bob"), -1);
	ck_assert_int_eq(lookup("{\"user\":\"bob\",\"fingerprint\":\"" FP "\","
	    "\"addr\":\"a\",\"online\":true,\"port\":65536,\"last_seen\":0}",
	    "bob"), -1);
	ck_assert_int_eq(lookup("{\"user\":\"bob\",\"fingerprint\":\"" FP "\","
	    "\"addr\":\"a\",\"online\":1,\"port\":1,\"last_seen\":0}", "bob"),
	    -1);
	ck_assert_int_eq(lookup("{\"user\":\"bob\",\"fingerprint\":\"" FP "\","
	    "\"addr\":\"a\",\"online\":true,\"port\":1,\"last_seen\":-5}",
	    "bob"), -1);
}
END_TEST

START_TEST(test_relay)
{
	struct w_relay r;

	PARSES("{\"t\":\"relay\",\"user\":\"bob\"}");
	ck_assert_int_eq(m.type, W_RELAY);
	ck_assert_str_eq(m.u.user.user, "bob");
	BAD_FRAME("{\"t\":\"relay\",\"user\":\"Bob!\"}");
	BAD_FRAME("{\"t\":\"relay\"}");

	PARSES("{\"t\":\"relay-invite\",\"from\":\"alice\",\"addr\":\"198.18.1.10\","
	    "\"port\":7002,\"key\":\"" KEY64 "\"}");
	ck_assert_int_eq(m.type, W_RELAY_INVITE);
	ck_assert_str_eq(m.u.relay.from, "alice");
	ck_assert_str_eq(m.u.relay.addr, "198.18.1.10");
	ck_assert_int_eq(m.u.relay.port, 7002);
	ck_assert_str_eq(m.u.relay.key, KEY64);
	/* Keys are exactly 64 lowercase hex digits; ports 1..65535. */
	BAD_FRAME("{\"t\":\"relay-invite\",\"from\":\"alice\",\"addr\":\"h\","
	    "\"port\":7002,\"key\":\"" KEY64 "0\"}");
	BAD_FRAME("{\"t\":\"relay-invite\",\"from\":\"alice\",\"addr\":\"h\","
	    "\"port\":7002,\"key\":\"00112233445566778899AABBCCDDEEFF0011223344556677"
	    "8899aabbccddeeff\"}");
	BAD_FRAME("{\"t\":\"relay-invite\",\"from\":\"alice\",\"addr\":\"h\","
	    "\"port\":0,\"key\":\"" KEY64 "\"}");
	BAD_FRAME("{\"t\":\"relay-invite\",\"from\":\"alice\",\"addr\":\"a b\","
	    "\"port\":1,\"key\":\"" KEY64 "\"}");
	BAD_FRAME("{\"t\":\"relay-invite\",\"addr\":\"h\",\"port\":1,\"key\":\""
	    KEY64 "\"}");

	/* The ok reply to relay carries the same offer, without from. */
	ck_assert_int_eq(parse("{\"t\":\"ok\",\"addr\":\"h\",\"port\":9,"
	    "\"key\":\"" KEY64 "\"}"), 0);
	ck_assert_int_eq(wire_relay_offer(frame, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.from, "");
	ck_assert_int_eq(r.port, 9);
	ck_assert_int_eq(parse("{\"t\":\"ok\",\"addr\":\"h\",\"port\":9}"), 0);
	ck_assert_int_eq(wire_relay_offer(frame, &r, err, sizeof(err)), -1);
	ck_assert_str_ne(err, "");
}
END_TEST

START_TEST(test_struct_cleared)
{
	/* A parse starts from a clean struct: no field left from before. */
	PARSES("{\"t\":\"hb\",\"port\":1,\"addr\":\"h\"}");
	ck_assert_ptr_nonnull(m.u.hb.addr);
	PARSES("{\"t\":\"hb\",\"port\":2}");
	ck_assert_ptr_null(m.u.hb.addr);
	ck_assert_int_eq(m.u.hb.port, 2);
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_type_names);
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_ok_error);
	tcase_add_test(tc, test_cred);
	tcase_add_test(tc, test_user_frames);
	tcase_add_test(tc, test_hb);
	tcase_add_test(tc, test_watch);
	tcase_add_test(tc, test_presence);
	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_hello_caps);
	tcase_add_test(tc, test_hello_ours);
	tcase_add_test(tc, test_acks);
	tcase_add_test(tc, test_members_required);
	tcase_add_test(tc, test_msg);
	tcase_add_test(tc, test_msg_body);
	tcase_add_test(tc, test_mbox);
	tcase_add_test(tc, test_ack);
	tcase_add_test(tc, test_struct_cleared);
	tcase_add_test(tc, test_relay);
	tcase_add_test(tc, test_lookup_reply);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(wire_suite(), LOG_LVL_INFO);
}
