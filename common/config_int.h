/*
 * Helpers config.c shares with config_path.c; not for other modules.
 */
#ifndef P2P_CONFIG_INT_H
#define P2P_CONFIG_INT_H

/* a followed by b, malloc'd. */
char	*config_path_join(const char *a, const char *b);
/* $XDG_RUNTIME_DIR, else /run/user/UID if it is ours; NULL if neither. */
char	*config_runtime_dir(void);
/* relay.listen's default for a gestor listening on listen. */
char	*config_relay_default(const char *listen);

#endif
