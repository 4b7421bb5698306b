/*
 * Protocol constants shared by p2pchatd and p2pchatctl: the ALPN string,
 * the wire protocol version and the fixed input limits from DESIGN.md.
 */
#ifndef P2P_PROTO_H
#define P2P_PROTO_H

#define P2P_ALPN		"p2pchat/1"
#define P2P_PROTO_VERSION	1

#define P2P_USERNAME_MAX	32
#define P2P_PASSWORD_MIN	8
#define P2P_PASSWORD_MAX	1024
#define P2P_MSGID_HEX		32	/* 128-bit ids, hex */
#define P2P_FP_PREFIX		"sha256:"
#define P2P_FP_LEN		(7 + 64)	/* "sha256:" + 64 hex digits */

#define P2P_DEFAULT_GESTOR_PORT	7000
#define P2P_DEFAULT_PEER_PORT	7001
#define P2P_DEFAULT_RELAY_PORT	7002

/*
 * Relay preamble, in clear before the peers' own TLS: each side sends
 * P2P_RELAY_HELLO, its own session key (P2P_RELAY_KEY_HEX lowercase
 * hex digits; the requester's and the target's differ) and a newline;
 * once both sides are there the relay answers each with P2P_RELAY_OK
 * and copies bytes, which must start with a TLS handshake record. A
 * wrong key gets nothing.
 */
#define P2P_RELAY_HELLO		"P2PCHAT-RELAY/1 "
#define P2P_RELAY_KEY_HEX	64		/* 256-bit session keys */
#define P2P_RELAY_REQ_LEN	(sizeof(P2P_RELAY_HELLO) - 1 + P2P_RELAY_KEY_HEX + 1)
#define P2P_RELAY_OK		"P2PCHAT-RELAY/1 OK\n"
#define P2P_RELAY_OK_LEN	(sizeof(P2P_RELAY_OK) - 1)

/*
 * The largest blob (base64 characters) a gestor takes into a mailbox: one
 * mbox-get answer holding it fits in a peer's default frame limit
 * (limits.max_frame_bytes, 1 MiB), so that every deposit can be fetched.
 */
#define P2P_MAIL_BLOB_MAX	1000000

/* Control socket: one JSON object per line; a line longer than this is refused. */
#define P2P_CTL_LINE_MAX	(4 * 1024 * 1024)

/* Exit codes of p2pchatctl. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAIL = 1,
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_TIMEOUT = 3,
	CTL_EXIT_NODAEMON = 4,
};

/*
 * Error codes, the same on the wire ({"t":"error","code":...}) and on the
 * control socket ({"ok":false,"error":{"code":...}}).
 */
#define ERR_BAD_REQUEST		"bad_request"		/* malformed JSON or request */
#define ERR_UNKNOWN_COMMAND	"unknown_command"
#define ERR_UNKNOWN_TYPE	"unknown_type"		/* wire frame type */
#define ERR_BAD_FRAME		"bad_frame"
#define ERR_INVALID_ARGUMENT	"invalid_argument"
#define ERR_UNSUPPORTED		"unsupported"		/* not in this mode/release */
#define ERR_USER_EXISTS		"user_exists"
#define ERR_BAD_CREDENTIALS	"bad_credentials"	/* unknown user or wrong password */
#define ERR_RATE_LIMITED	"rate_limited"
#define ERR_QUOTA_EXCEEDED	"quota_exceeded"	/* peer: a stranger's message requests are full; gestor: a mailbox */
#define ERR_NOT_LOGGED_IN	"not_logged_in"
#define ERR_ALREADY_LOGGED_IN	"already_logged_in"	/* register/login: logout first */
#define ERR_NOT_AUTHENTICATED	"not_authenticated"	/* wire: login/auth first */
#define ERR_KEY_MISMATCH	"key_mismatch"
#define ERR_KEY_TAKEN		"key_taken"		/* register/login: the key is another account's */
#define ERR_WRONG_ACCOUNT	"wrong_account"		/* register/login: the store is another account's */
#define ERR_NOT_MEMBER		"not_member"		/* group: not in its newest list */
#define ERR_ID_TAKEN		"id_taken"		/* peer: the recipient holds another message with this id */
#define ERR_NO_SUCH_USER	"no_such_user"
#define ERR_PENDING_MESSAGES	"pending_messages"	/* chat-delete: --cancel-pending? */
#define ERR_TOO_LATE		"too_late"		/* a message already in flight */
#define ERR_GESTOR_UNAVAILABLE	"gestor_unavailable"
#define ERR_GESTOR_KEY_CHANGED	"gestor_key_changed"
#define ERR_TIMEOUT		"timeout"
#define ERR_BUSY		"busy"
#define ERR_UNAVAILABLE		"unavailable"		/* gestor: its database is unreachable */
#define ERR_INTERNAL		"internal"
#define ERR_OFFLINE		"offline"		/* relay: the target is not online */
#define ERR_RELAY_DISABLED	"relay_disabled"
#define ERR_NO_SPACE		"no_space"		/* peer: the disk holding data_dir is full */
#define ERR_MAILBOX_DISABLED	"mailbox_disabled"	/* gestor: mailbox.enable false */
#define ERR_NO_MAIL		"no_mail"		/* the recipient accepts no mail */

#endif
