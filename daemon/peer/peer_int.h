/*
 * Peer internals shared by peer.c (lifecycle, account, control commands)
 * and peer_msg.c (direct connections and delivery).
 */
#ifndef P2P_PEER_INT_H
#define P2P_PEER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/listener.h>

#include "daemon.h"
#include "peer.h"
#include "peer_gestor.h"
#include "pstore.h"
#include "wire.h"

struct peer_msgs;

struct peer {
	struct daemon		*d;
	struct pstore		*store;
	struct pgestor		*pg;
	struct evconnlistener	*listener;
	char			 listen_addr[80];
	int			 listen_port;
	char			 user[P2P_USERNAME_MAX + 1];	/* "" = logged out */
	struct peer_msgs	*msgs;
};

/* peer_contact.c */
/*
 * Record what the gestor says of a contact. A key different from the
 * pinned one is a key change: remembered, logged, announced as a
 * "key-changed" event. Returns 1 on a key change, 0 otherwise, -1 on a
 * store error.
 */
int	peer_contact_update(struct peer *, const char *user, const char *fp,
	    const char *addr, int port, int64_t last_seen);
/* A contact was added: subscribe to its presence too. */
void	peer_msgs_contacts_changed(struct peer *);

/* peer_event.c */
/* "2026-11-25T18:30:00Z" for unix seconds, or null for 0 (unknown). */
json_t	*peer_iso(int64_t secs);
/* Send an event line to every `watch` subscriber (borrowed). */
void	peer_event(struct peer *, const json_t *event);
/* The same, printed already (compact JSON, no newline). */
void	peer_event_text(struct peer *, const char *line, size_t len);
/* Whether anybody watches: events nobody reads need not be printed. */
bool	peer_watched(const struct peer *);
/* Store an event (data borrowed) and send it to watch subscribers. */
void	peer_msgs_event(struct peer *, const char *type, json_t *data);

/* peer_msg.c (lifecycle), peer_in.c (accept), peer_link.c (presence) */
int	peer_msgs_start(struct peer *, char **cause);
void	peer_msgs_stop(struct peer *);
void	peer_msgs_free(struct peer *);
/* relayed_for: who asked the gestor for this relayed connection, or NULL. */
void	peer_msgs_accept(struct peer *, int fd, const struct sockaddr *,
	    socklen_t, const char *relayed_for);
void	peer_msgs_presence(struct peer *, const struct w_presence *);
void	peer_msgs_online(struct peer *);
/* Mail may wait at the gestor: fetch it. */
void	peer_msgs_mail(struct peer *);
/* Stopping: deposit what waits for offline recipients; true while the
 * deposits are in flight (done(arg) follows). */
bool	peer_msgs_mail_stop(struct peer *, void (*done)(void *), void *arg);
/* pm_mail_stopping. */
bool	peer_msgs_mail_stopping(struct peer *);
/* The account session ended: close every link to other peers. */
void	peer_msgs_logged_out(struct peer *);
long	peer_msgs_pending_count(struct peer *);
/* The seq of the last stored event, 0 if none (watch --since now). */
int64_t	peer_msgs_last_seq(struct peer *);
/* status's fields of the mailbox (mail_held). */
json_t	*peer_msgs_mail_status(struct peer *);

/* peer_ctl.c, peer_state.c, peer_wait.c: control commands for messages */
void	peer_ctl_send(struct ctlreq *, json_t *, void *);
void	peer_ctl_wait(struct ctlreq *, json_t *, void *);
void	peer_ctl_cancel(struct ctlreq *, json_t *, void *);
void	peer_ctl_history(struct ctlreq *, json_t *, void *);
void	peer_ctl_chats(struct ctlreq *, json_t *, void *);
void	peer_ctl_pending(struct ctlreq *, json_t *, void *);
void	peer_ctl_trust(struct ctlreq *, json_t *, void *);
void	peer_ctl_watch(struct ctlreq *, json_t *, void *);
void	peer_ctl_stats(struct ctlreq *, json_t *, void *);
/* peer_ctl_group.c */
void	peer_ctl_group_create(struct ctlreq *, json_t *, void *);
void	peer_ctl_group_add(struct ctlreq *, json_t *, void *);
void	peer_ctl_group_remove(struct ctlreq *, json_t *, void *);
void	peer_ctl_group_rename(struct ctlreq *, json_t *, void *);
void	peer_ctl_group_leave(struct ctlreq *, json_t *, void *);
void	peer_ctl_group_show(struct ctlreq *, json_t *, void *);
void	peer_ctl_groups(struct ctlreq *, json_t *, void *);
/* peer_archive.c */
void	peer_ctl_search(struct ctlreq *, json_t *, void *);
void	peer_ctl_export(struct ctlreq *, json_t *, void *);
void	peer_ctl_import(struct ctlreq *, json_t *, void *);
void	peer_ctl_chat_delete(struct ctlreq *, json_t *, void *);
/* peer_file.c */
void	peer_ctl_send_file(struct ctlreq *, json_t *, void *);
void	peer_ctl_files(struct ctlreq *, json_t *, void *);
void	peer_ctl_save(struct ctlreq *, json_t *, void *);
void	peer_ctl_accept(struct ctlreq *, json_t *, void *);
void	peer_ctl_reject(struct ctlreq *, json_t *, void *);

#endif
