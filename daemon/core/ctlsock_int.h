/*
 * Between ctlsock.c (clients and requests) and ctlsock_open.c (the
 * listening socket, new clients): ctlsock_open.c calls down into
 * ctlsock.c, never the other way. Nothing else includes this.
 */
#ifndef P2P_CTLSOCK_INT_H
#define P2P_CTLSOCK_INT_H

#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "ctlsock.h"

struct ctlclient;

struct ctlreq {
	TAILQ_ENTRY(ctlreq)	 entry;
	struct ctlclient	*client;	/* NULL once the client is gone */
	json_t			*id;
	enum ctl_cmd		 cmd;
	int			 done;
	int			 subscribe;
	struct evbuffer		*reply;
	struct evbuffer		*tail;		/* streamed lines after the reply */
	int			 fd;		/* passed with it, or -1 */
};

struct ctlclient {
	TAILQ_ENTRY(ctlclient)	 entry;
	struct ctlsock		*cs;
	struct bufferevent	*bev;		/* NULL until the first read */
	struct event		*first;		/* that first read */
	int			 passed_fd;	/* came with it, or -1 */
	TAILQ_HEAD(ctlreq_q, ctlreq) reqs;
	int			 nreqs;		/* in reqs */
	int			 subscribed;
	int			 closing;	/* close once output drains */
	int			 out_full;	/* output over CTL_OUT_HIGH */
	struct evbuffer_cb_entry *out_cb;
	struct event		*stall;		/* over the mark, none read */
};

struct ctlsock {
	struct event_base	*base;
	struct evconnlistener	*listener;
	char			*path;
	unsigned		 mode_bit;
	const ctl_handler	*handlers;
	ctl_hot_send_fn		 hot_send;	/* or NULL */
	void			*ctx;
	size_t			 max_body;
	double			 send_timeout;	/* limits.send_timeout */
	TAILQ_HEAD(, ctlclient)	 clients;
	int			 nclients;
};

#define CTL_MAX_CLIENTS		CTLSOCK_MAX_CLIENTS
#define CTL_MAX_QUEUED		1024	/* unanswered requests per client */
#define CTL_READ_MAX		(256 * 1024)	/* bytes read ahead per callback */
/*
 * Replies and events not yet read by the client: past this, requests
 * are not read (the client reads its replies first); with none of it
 * read for limits.send_timeout (a watch that never reads), it is closed.
 */
#define CTL_OUT_HIGH		(1024 * 1024)
/* The first read, by recvmsg(2): bytes and passed descriptors. */
#define CTL_FIRST_READ		(64 * 1024)
#define CTL_FIRST_FDS		4

/* ctlsock.c: a client's life, for ctlsock_open.c */
void	ctlclient_free(struct ctlclient *);
/* Requests of c not yet answered. */
int	ctlclient_queued(const struct ctlclient *);
void	ctlclient_on_read(struct bufferevent *, void *);
void	ctlclient_on_write(struct bufferevent *, void *);
void	ctlclient_on_event(struct bufferevent *, short, void *);
void	ctlclient_on_out_change(struct evbuffer *,
	    const struct evbuffer_cb_info *, void *);
void	ctlclient_on_stall(evutil_socket_t, short, void *);

#endif
