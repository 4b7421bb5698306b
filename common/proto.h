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

#endif
