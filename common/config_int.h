/*
 * What config.c shares with config_path.c and config_diff.c (the schema
 * and helpers); not for other modules.
 */
#ifndef P2P_CONFIG_INT_H
#define P2P_CONFIG_INT_H

#include <stddef.h>

enum ktype { K_STR, K_DOUBLE, K_LONG, K_INT64, K_LIST, K_GROUP, K_MODE, K_LEVEL, K_SYNC,
    K_ADDR, K_FP, K_SOCK, K_RELAY_USE, K_MAIL_USE, K_ADV,
    K_BACKEND, K_CONNINFO, K_CLUSTER, K_BOOL };

/* One key of the file: its type, where it goes in struct config, its range. */
struct key {
	const char	*path;		/* dotted path */
	enum ktype	 type;
	size_t		 off;		/* offset in struct config */
	double		 min, max;	/* numbers: inclusive range */
};

/* Every key, groups included (config_schema.c). */
extern const struct key	config_schema[];
extern const size_t	config_schema_len;
/* The defaults of every key (config_schema.c). */
struct config;
void	config_set_defaults(struct config *);

/* a followed by b, malloc'd. */
char	*config_path_join(const char *a, const char *b);
/* $XDG_RUNTIME_DIR, else /run/user/UID if it is ours; NULL if neither. */
char	*config_runtime_dir(void);
/*
 * Why address v did not parse: "port N is out of range ..." when its port
 * is past 65535, else shape. The text is static.
 */
const char *config_address_error(const char *v, const char *shape);
/* relay.listen's default for a gestor listening on listen. */
char	*config_relay_default(const char *listen);
/*
 * config_scan.c: an integer literal libconfig would wrap (2^31 or more
 * without the L suffix) is an error "FILE:LINE - ..."; 0, or -1.
 */
int	 config_scan_ints(const char *file, char *err, size_t errlen);

#endif
