/*
 * The configuration's schema: every key the file may hold, with its type,
 * where it goes in struct config and its range (config.c walks the file
 * through it), and the defaults of struct config. A new key is one entry
 * here, its field in config.h, its default below if it is not 0, and its
 * rules with other keys in config.c's finish().
 */
#include <stddef.h>

#include "config.h"
#include "config_int.h"

#define O(f)	offsetof(struct config, f)

const struct key config_schema[] = {
	{ "mode", K_MODE, O(mode), 0, 0 },
	{ "data_dir", K_STR, O(data_dir), 0, 0 },
	{ "control_socket", K_SOCK, O(control_socket), 0, 0 },
	{ "listen", K_ADDR, O(listen), 0, 0 },
	{ "advertise", K_ADDR, O(advertise), 0, 0 },
	{ "accept_advertise", K_ADV, O(accept_advertise), 0, 0 },
	{ "log_level", K_LEVEL, O(log_level), 0, 0 },
	{ "gestor", K_GROUP, 0, 0, 0 },
	{ "gestor.addresses", K_LIST, O(gestor_addresses), 0, 0 },
	{ "gestor.fingerprint", K_FP, O(gestor_fingerprint), 0, 0 },
	{ "heartbeat", K_GROUP, 0, 0, 0 },
	{ "heartbeat.interval", K_DOUBLE, O(hb_interval), 0.05, 3600 },
	{ "heartbeat.timeout", K_DOUBLE, O(hb_timeout), 0.1, 86400 },
	{ "retry", K_GROUP, 0, 0, 0 },
	{ "retry.initial", K_DOUBLE, O(retry_initial), 0.01, 3600 },
	{ "retry.max", K_DOUBLE, O(retry_max), 0.01, 86400 },
	{ "retry.ttl", K_DOUBLE, O(retry_ttl), 0, 1e9 },
	{ "limits", K_GROUP, 0, 0, 0 },
	{ "limits.max_message_bytes", K_LONG, O(max_message_bytes), 1, 16777216 },
	{ "limits.max_frame_bytes", K_LONG, O(max_frame_bytes), 1024, 67108864 },
	{ "limits.max_connections", K_LONG, O(max_connections), 1, 1000000 },
	{ "limits.login_attempts_per_minute", K_LONG,
	    O(login_attempts_per_minute), 1, 100000 },
	{ "limits.login_attempts_per_user_per_minute", K_LONG,
	    O(login_attempts_per_user), 2, 1000000 },
	{ "limits.login_attempts_per_address_per_minute", K_LONG,
	    O(login_attempts_per_address), 1, 1000000 },
	{ "limits.registrations_per_address_per_hour", K_LONG,
	    O(registrations_per_hour), 1, 1000000 },
	{ "limits.lookups_per_minute", K_LONG, O(lookups_per_minute), 1,
	    1000000 },
	{ "limits.watch_names_per_hour", K_LONG, O(watch_names_per_hour), 1,
	    100000000 },
	{ "limits.stranger_messages", K_LONG, O(stranger_messages), 0,
	    100000000 },
	{ "limits.stranger_bytes", K_INT64, O(stranger_bytes), 0, 1099511627776 },
	{ "limits.stranger_messages_per_minute", K_LONG, O(stranger_per_minute), 0,
	    1000000 },
	{ "limits.group_members", K_LONG, O(group_members), 2, 1024 },
	{ "limits.max_clock_skew", K_DOUBLE, O(max_clock_skew), 1, 31536000 },
	{ "limits.handshake_timeout", K_DOUBLE, O(handshake_timeout), 0.1, 600 },
	{ "limits.idle_timeout", K_DOUBLE, O(idle_timeout), 0, 86400 },
	{ "limits.send_timeout", K_DOUBLE, O(send_timeout), 0.1, 3600 },
	{ "files", K_GROUP, 0, 0, 0 },
	{ "files.max_size", K_INT64, O(files_max_size), 0, 1099511627776 },
	{ "files.accept_size", K_INT64, O(files_accept_size), 0, 1099511627776 },
	{ "relay", K_GROUP, 0, 0, 0 },
	{ "relay.listen", K_ADDR, O(relay_listen), 0, 0 },
	{ "relay.advertise", K_ADDR, O(relay_advertise), 0, 0 },
	{ "relay.max_sessions", K_LONG, O(relay_max_sessions), 1, 1000000 },
	{ "relay.max_user_sessions", K_LONG, O(relay_max_user_sessions), 1,
	    1000000 },
	{ "relay.max_source_sessions", K_LONG, O(relay_max_source_sessions), 1,
	    1000000 },
	{ "relay.session_rate", K_LONG, O(relay_session_rate), 1024, 1073741824 },
	{ "relay.pairing_timeout", K_DOUBLE, O(relay_pairing_timeout), 0.1, 600 },
	{ "relay.idle_timeout", K_DOUBLE, O(relay_idle_timeout), 1, 86400 },
	{ "relay.use", K_RELAY_USE, O(relay_use), 0, 0 },
	{ "relay.direct_timeout", K_DOUBLE, O(relay_direct_timeout), 0.1, 600 },
	{ "relay.direct_retry", K_DOUBLE, O(relay_direct_retry), 1, 86400 },
	{ "storage", K_GROUP, 0, 0, 0 },
	{ "storage.synchronous", K_SYNC, O(sync_full), 0, 0 },
	{ "storage.backend", K_BACKEND, O(storage_backend), 0, 0 },
	{ "storage.conninfo", K_CONNINFO, O(storage_conninfo), 0, 0 },
	{ "cluster", K_GROUP, 0, 0, 0 },
	{ "cluster.name", K_CLUSTER, O(cluster_name), 0, 0 },
	{ "cluster.key_file", K_STR, O(cluster_key_file), 0, 0 },
	{ "metrics", K_GROUP, 0, 0, 0 },
	{ "metrics.listen", K_ADDR, O(metrics_listen), 0, 0 },
	{ "mailbox", K_GROUP, 0, 0, 0 },
	{ "mailbox.enable", K_BOOL, O(mail_enable), 0, 0 },
	{ "mailbox.quota_messages", K_LONG, O(mail_quota_messages), 1,
	    100000000 },
	{ "mailbox.quota_bytes", K_INT64, O(mail_quota_bytes), 1024,
	    1099511627776 },
	{ "mailbox.quota_per_sender", K_LONG, O(mail_quota_per_sender), 1,
	    100000000 },
	{ "mailbox.ttl", K_DOUBLE, O(mail_ttl), 1, 31536000 },
	{ "mailbox.use", K_MAIL_USE, O(mail_use), 0, 0 },
	{ "mailbox.after", K_DOUBLE, O(mail_after), 0, 31536000 },
};
#define NKEYS	(sizeof(config_schema) / sizeof(config_schema[0]))
const size_t config_schema_len = NKEYS;

void
config_set_defaults(struct config *c)
{
	c->mode = MODE_PEER;
	c->log_level = 2;	/* info */
	c->hb_interval = 10.0;
	c->hb_timeout = 30.0;
	c->retry_initial = 1.0;
	c->retry_max = 300.0;
	c->max_message_bytes = 65536;
	c->max_frame_bytes = 1048576;
	c->max_connections = 1024;
	c->login_attempts_per_minute = 5;
	c->login_attempts_per_user = 0;	/* unset: see finish() */
	c->login_attempts_per_address = 20;
	c->registrations_per_hour = 10;
	c->lookups_per_minute = 120;
	c->watch_names_per_hour = 4096;
	c->stranger_messages = 100;
	c->stranger_bytes = 1048576;
	c->stranger_per_minute = 20;
	c->group_members = 256;
	c->accept_advertise = ADV_NO;
	c->max_clock_skew = 300;
	c->handshake_timeout = 10.0;
	c->send_timeout = 30.0;
	c->sync_full = true;
	c->idle_timeout = 120.0;
	c->files_max_size = INT64_C(4294967296);	/* 4 GiB */
	c->files_accept_size = INT64_C(104857600);	/* 100 MiB */
	c->relay_max_sessions = 1024;
	c->relay_max_user_sessions = 16;
	c->relay_max_source_sessions = 256;
	c->relay_session_rate = 1048576;
	c->relay_pairing_timeout = 15.0;
	c->relay_idle_timeout = 300.0;
	c->relay_use = RELAY_AUTO;
	c->relay_direct_timeout = 3.0;
	c->relay_direct_retry = 300.0;
	c->mail_enable = true;
	c->mail_quota_messages = 10000;
	c->mail_quota_bytes = 67108864;
	c->mail_quota_per_sender = 1000;
	c->mail_ttl = 2592000.0;
	c->mail_use = true;
	c->mail_after = 30.0;
}
