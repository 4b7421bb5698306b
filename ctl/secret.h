/*
 * p2pchatctl's password handling: reading it without echo or from a file
 * or standard input, and zeroing every copy once sent.
 */
#ifndef P2P_CTL_SECRET_H
#define P2P_CTL_SECRET_H

#include <jansson.h>

#include "ctlcmd.h"

/* Make jansson zero every allocation it frees; call before any JSON. */
void	secret_init(void);
/*
 * Read the password for command cd (from file if not NULL, else the
 * terminal, else standard input) and set it as args' "password"; exits
 * on failure.
 */
void	secret_add_password(const struct ctl_cmd_desc *, json_t *,
	    const char *);

#endif
