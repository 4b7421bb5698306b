/*
 * Between peer_gestor.c (the link's state machine) and peer_gestor_req.c
 * (requests, the gestor's key check, what the link tells the rest of the
 * peer): peer_gestor.c calls down into peer_gestor_req.c, never the other
 * way. Nothing else includes this.
 */
#ifndef P2P_PEER_GESTOR_INT_H
#define P2P_PEER_GESTOR_INT_H

#include <sys/queue.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "conn.h"
#include "peer_gestor.h"

struct pg_req {
	TAILQ_ENTRY(pg_req)	 entry;
	json_t			*frame;
	bool			 need_session;
	pg_reply_cb		 cb;
	void			*arg;
	json_int_t		 n;
	double			 deadline;
};
TAILQ_HEAD(pg_reqq, pg_req);

struct pgestor {
	struct daemon		*d;
	struct pstore		*ps;
	struct pgestor_cbs	 cbs;
	void			*arg;
	struct evdns_base	*dns;
	struct evdns_getaddrinfo_request *dnsreq;
	struct conn		*c;
	enum pg_state		 state;
	size_t			 idx;		/* address being tried */
	int			 rounds;	/* failed rounds in a row */
	char			 addr[300];
	char			 account[P2P_USERNAME_MAX + 1];
	int			 port;
	char			 adv[64];
	json_t			*watch;
	struct event		*retry_ev, *hb_ev, *tick_ev;
	struct pg_reqq		 queue, inflight;
	json_int_t		 next_n;
	int64_t			 last_hb;
	double			 last_rx;
	char			 last_error[768];
	double			 retry_at;	/* util_mono() of the next try */
	double			 online_since;	/* util_mono() */
	int			 replaced;	/* session_replaced in a row */
	bool			 stopped;
	char			 mailkey[65];
	int			 mbox_put;	/* deposits in one mbox-put */
};

/* After link_down: the next address now, the first one soon, or the
 * first one after the round's backoff. */
enum pg_next { PG_NEXT_ADDRESS, PG_NEXT_SOON, PG_NEXT_BACKOFF };

/* peer_gestor_req.c */
/* Requests may carry a password: overwrite it before freeing. */
void	pg_req_free(struct pg_req *);
/* Answer every request of q with code and msg, and free it. */
void	pg_reqs_fail(struct pgestor *, struct pg_reqq *, const char *code,
	    const char *msg);
/* Send a frame now, numbered, with its reply expected in order. */
void	pg_req_send(struct pgestor *, struct pg_req *);
/* A request of the link itself (auth, hb, watch): cb gets pg. */
void	pg_req_internal(struct pgestor *, json_t *frame, pg_reply_cb cb);
/* Send the queued requests the link's state allows. */
void	pg_reqs_flush(struct pgestor *);
/* Expire queued requests; true when the one awaiting its reply is late. */
bool	pg_reqs_expire(struct pgestor *, double now);
/* A lookup's reply that is not one (logged); true: refuse it. */
bool	pg_bad_lookup(struct pg_req *, json_t *reply);
/* The gestor's key is the pinned one (or trusted on first use). */
bool	pg_gestor_key_ok(struct pgestor *, const char *fp);
/* What the session's answer says the gestor takes (mbox_put). */
void	pg_session_caps(struct pgestor *, json_t *reply);

#endif
