/*
 * Declarations shared by the parts of p2pchatctl: argument checking
 * (p2pchatctl.c) and the interactive chat (chat.c). The control
 * connection lives in conn.h, the password in secret.h, output in
 * output.h.
 */
#ifndef P2P_CTL_H
#define P2P_CTL_H

#include <jansson.h>

#include "conn.h"
#include "ctlcmd.h"

/* Largest message body p2pchatctl checks for; the daemon enforces its own. */
#define CTL_MAXBODY	(16u * 1024 * 1024)
/* Validate args against the table; 0, or the exit code after reporting. */
int		 ctl_check_args(const struct ctl_cmd_desc *, const json_t *);

/* chat USER: returns the exit code. */
int		 chat_main(struct ctlconn *, json_t *);

#endif
