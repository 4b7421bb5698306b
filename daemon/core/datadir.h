/*
 * data_dir and the control socket's directory as start-up needs them:
 * made and checked (datadir_prepare), locked to one daemon
 * (datadir_lock), or only checked, creating nothing (datadir_check, for
 * p2pchatd --check-config).
 */
#ifndef P2P_DATADIR_H
#define P2P_DATADIR_H

#include "config.h"

/* Create dir (0700, with parents) or refuse one others can enter; 0/-1. */
int	datadir_prepare(const char *dir, char **cause);
/*
 * One daemon per data_dir: an exclusive lock on dir/p2pchatd.lock, held
 * until exit, with our pid in it for the error message. The descriptor
 * (kept open), or -1.
 */
int	datadir_lock(const char *dir, char **cause);
/*
 * What start-up would refuse in c's paths, creating nothing: data_dir and
 * the control socket's directory 0700 (or creatable by this user),
 * identity.key 0600. 0, or -1 with *cause.
 */
int	datadir_check(const struct config *c, char **cause);

#endif
