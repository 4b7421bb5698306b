/*
 * Configuration: the libconfig file described in p2pchatd.conf(5), read
 * through one schema table into an immutable struct. p2pchatd loads it at
 * start and on SIGHUP; p2pchatctl reads it to find the control socket.
 */
#ifndef P2P_CONFIG_H
#define P2P_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum p2p_mode { MODE_PEER, MODE_GESTOR };

struct config {
	char		*path;		/* file read, or NULL for built-in defaults */
	enum p2p_mode	 mode;
	char		*data_dir;
	char		*control_socket;
	char		*listen;	/* "host:port" */
	char		*advertise;	/* "" or "host:port" */
	int		 log_level;	/* enum log_level */
	char		**gestor_addresses;
	size_t		 n_gestor_addresses;
	char		*gestor_fingerprint;	/* "" or "sha256:..." */
	double		 hb_interval;
	double		 hb_timeout;
	double		 retry_initial;
	double		 retry_max;
	double		 retry_ttl;	/* default send --ttl, 0 = none */
	long		 max_message_bytes;
	long		 max_frame_bytes;
	long		 max_connections;
	long		 login_attempts_per_minute;	/* one user, one address */
	long		 login_attempts_per_user;	/* one user, all addresses */
	long		 login_attempts_per_address;	/* one address, all users */
	long		 registrations_per_hour;	/* per source address */
	long		 lookups_per_minute;	/* per account and connection */
	long		 watch_names_per_hour;	/* newly watched names, same */
	/* peer: message requests (senders not written to, not trusted) */
	long		 stranger_messages;	/* stored per sender */
	int64_t		 stranger_bytes;	/* stored per sender */
	long		 stranger_per_minute;	/* stored per sender a minute */
	long		 group_members;	/* peer: members of a group we admin */
	int		 accept_advertise;	/* enum config_advertise */
	double		 max_clock_skew;	/* s a sender's ts may be ahead */
	double		 handshake_timeout;
	double		 send_timeout;	/* unsent output over the mark, unread */
	double		 idle_timeout;	/* peer: close idle outgoing links; 0 never */
	bool		 sync_full;
	/* files (peer): largest file sent or received */
	int64_t		 files_max_size;
	int64_t		 files_accept_size;	/* larger offers wait for accept */
	/* relay (gestor): splice two outgoing peer connections */
	char		*relay_listen;	/* "" disables */
	char		*relay_advertise;	/* "" = the address peers reached */
	long		 relay_max_sessions;
	long		 relay_max_user_sessions;
	long		 relay_max_source_sessions;	/* per IPv4 address, IPv6 /64 */
	long		 relay_session_rate;	/* bytes/s per session */
	double		 relay_pairing_timeout;
	double		 relay_idle_timeout;
	/* relay (peer) */
	int		 relay_use;	/* enum relay_use */
	double		 relay_direct_timeout;	/* auto: direct connect attempt */
	double		 relay_direct_retry;	/* auto: try direct again after */
	char		*storage_backend;	/* "sqlite" | "postgresql" */
	char		*storage_conninfo;	/* libpq conninfo, "" if unset */
	char		*cluster_name;		/* "" = host:port, see gestor */
	char		*cluster_key_file;	/* "" = the key in the database */
	char		*metrics_listen;	/* GET /metrics; "" disables */
	/* mailbox (gestor): sealed mail held for offline recipients */
	bool		 mail_enable;
	long		 mail_quota_messages;	/* per recipient */
	int64_t		 mail_quota_bytes;	/* per recipient */
	long		 mail_quota_per_sender;	/* per sender per recipient */
	double		 mail_ttl;
	/* mailbox (peer): deposit for offline recipients, take mail */
	bool		 mail_use;	/* "auto" (true) | "never" */
	double		 mail_after;	/* seconds pending before a deposit */
};

enum relay_use { RELAY_AUTO, RELAY_ALWAYS, RELAY_NEVER };
/* Gestor: which advertised addresses (hb "addr") it publishes. */
enum config_advertise { ADV_NO, ADV_ADDRESSES, ADV_NAMES };

#define CONFIG_MODE_DEFAULT	(-1)

/*
 * The file p2pchatd and p2pchatctl would read when none is given: the
 * first of $P2PCHAT_CONFIG, $XDG_CONFIG_HOME/p2pchat/p2pchatd.conf (or
 * ~/.config/...), /etc/p2pchat/p2pchatd.conf that exists. Caller frees;
 * NULL means built-in defaults.
 */
char	*config_find(void);
/*
 * Load FILE (NULL: config_find()), applying mode (CONFIG_MODE_DEFAULT or
 * an enum p2p_mode) over the file's. Returns NULL with "file:line - text"
 * in err on any unknown key, bad type or out-of-range value.
 */
struct config *config_load(const char *file, int mode, char *err, size_t errlen);
void	config_free(struct config *);
/*
 * For p2pchatctl, which only needs the control socket's path: keys
 * p2pchatd would refuse are skipped and the first such error is put in
 * warn (empty if none); NULL with err only when the file cannot be
 * parsed or the socket's own keys (control_socket, data_dir) are bad.
 */
struct config *config_load_lenient(const char *file, char *warn,
	    size_t warnlen, char *err, size_t errlen);
/*
 * p2pchatd's check of the file it was configured from (NULL: defaults,
 * fine): a file other users may change could point the daemon at a
 * hostile gestor or unpin the gestor's key, and one they may read tells
 * them where the account's data and socket live. Refused unless owned by
 * the effective uid or root and not writable by group or others nor
 * readable by others (0600 or 0640). 0, or -1 with the reason in err.
 * p2pchatctl does not check: it only reads the socket path.
 */
int	config_check_perms(const char *file, char *err, size_t errlen);
/*
 * The keys (dotted paths, as in the file) whose values differ between a
 * and b, in the schema's order: at most max of them in keys, which point
 * into static storage. Returns how many were put.
 */
size_t	config_changed(const struct config *a, const struct config *b,
	    const char **keys, size_t max);
/* Split "host:port" or "[v6]:port"; 0 or -1. host buffer >= 256. */
int	config_split_hostport(const char *, char *host, size_t hostlen,
	    int *port, int default_port);

#endif
