/*
 * p2pchatctl's help and usage text, generated from the command table;
 * what a script needs besides: the events and their fields, the fields
 * of status and stats in each mode, the exit status.
 */
#ifndef P2P_CTL_HELP_H
#define P2P_CTL_HELP_H

#include <stdio.h>

#include "ctlcmd.h"

void	help_usage(FILE *);
void	help_cmd_usage(FILE *, const struct ctl_cmd_desc *);
void	help_all(void);
void	help_cmd(const struct ctl_cmd_desc *);
void	help_group(void);

#endif
