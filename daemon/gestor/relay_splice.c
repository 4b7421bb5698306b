/*
 * Splicing a paired session: each side's bytes go to the other side's
 * output. The first five bytes from each side must start a TLS handshake
 * record (the relay carries the peers' TLS and nothing else), a side is
 * not read from while the other side's output holds RELAY_HIGH bytes and
 * reads at most RELAY_READ at once (so a session buffers at most
 * 2 * (RELAY_HIGH + RELAY_READ) bytes however its ends behave), and a
 * side that then reads none of its output for limits.send_timeout
 * closes the session (as conn.c does for every other connection); both
 * directions share a token bucket (relay.session_rate), and each
 * direction must carry a byte every relay.idle_timeout. When one side
 * ends, the other gets what it still has to receive (for RELAY_DRAIN
 * seconds at most), then the session ends through relay->end.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "relay_int.h"
#include "util.h"

static void	on_splice_read(struct bufferevent *, void *);
static void	on_splice_write(struct bufferevent *, void *);
static void	on_splice_event(struct bufferevent *, short, void *);

static struct rconn *
other(struct rconn *rc)
{
	return rc->s->side[rc->side == RS_REQUESTER ? RS_TARGET : RS_REQUESTER];
}

/*
 * Whether h (5 bytes) starts a TLS handshake record: content type 22,
 * version 3.1 to 3.3 (TLS 1.3 says 3.1 or 3.3 there), a length a
 * plaintext record may have. The requester's ClientHello and the
 * target's ServerHello both start so.
 */
static bool
tls_handshake_record(const unsigned char *h)
{
	unsigned len = (unsigned)h[3] << 8 | h[4];

	return h[0] == 22 && h[1] == 3 && h[2] >= 1 && h[2] <= 3 && len > 0 &&
	    len <= 16384;
}

/* Both sides are here: forget the keys, say OK to each, copy bytes. */
void
relay_splice_pair(struct rsession *s)
{
	struct relay *r = s->r;
	struct timeval tv = daemon_tv(r->d->cfg->relay_idle_timeout);
	struct rconn *rc;
	int i;

	util_zero(s->key, sizeof(s->key));
	s->paired = true;
	s->last[0] = s->last[1] = util_mono();
	r->st.waiting--;
	r->st.active++;
	r->st.total++;
	s->rl = bufferevent_rate_limit_group_new(r->d->base, r->bucket);
	for (i = 0; i < 2; i++) {
		rc = s->side[i];
		rc->state = RC_SPLICE;
		if (s->rl != NULL)
			bufferevent_add_to_rate_limit_group(rc->bev, s->rl);
		bufferevent_setwatermark(rc->bev, EV_READ, 0, 0);
		bufferevent_setwatermark(rc->bev, EV_WRITE, RELAY_HIGH / 2, 0);
		bufferevent_set_max_single_read(rc->bev, RELAY_READ);
		bufferevent_setcb(rc->bev, on_splice_read, NULL, on_splice_event,
		    rc);
		bufferevent_write(rc->bev, P2P_RELAY_OK, P2P_RELAY_OK_LEN);
		bufferevent_enable(rc->bev, EV_READ | EV_WRITE);
	}
	evtimer_add(s->timer, &tv);
	log_info("relay: session %s -> %s paired (%s, %s)", s->from, s->to,
	    s->side[0]->addr, s->side[1]->addr);
}

static void
on_splice_read(struct bufferevent *bev, void *arg)
{
	struct rconn *rc = arg, *o;
	struct evbuffer *in = bufferevent_get_input(bev), *out;
	size_t n = evbuffer_get_length(in);
	struct timeval stall;
	unsigned char h[5];

	if (rc->state != RC_SPLICE || (o = other(rc))->state != RC_SPLICE) {
		evbuffer_drain(in, n);
		return;
	}
	if (!rc->tls_seen) {
		/* A generic pipe no more: TLS first, or nothing. */
		if (n < sizeof(h))
			return;
		evbuffer_copyout(in, h, sizeof(h));
		if (!tls_handshake_record(h)) {
			log_warnx_from(rc->addr, "relay: %s: the %s's first "
			    "bytes are not a TLS handshake record; closing",
			    rc->addr,
			    rc->side == RS_REQUESTER ? "requester" : "target");
			rc->s->r->st.not_tls++;
			rc->s->r->end(rc->s, "not TLS");
			return;
		}
		rc->tls_seen = true;
	}
	out = bufferevent_get_output(o->bev);
	evbuffer_add_buffer(out, in);
	rc->s->bytes += n;
	rc->s->r->st.bytes += n;
	rc->s->last[rc->side] = util_mono();
	if (evbuffer_get_length(out) >= RELAY_HIGH) {
		/*
		 * Backpressure: resume when the other side has drained, which
		 * must take it less than limits.send_timeout without a byte.
		 */
		stall = daemon_tv(rc->r->d->cfg->send_timeout);
		bufferevent_disable(bev, EV_READ);
		bufferevent_set_timeouts(o->bev, NULL, &stall);
		bufferevent_setcb(o->bev, on_splice_read, on_splice_write,
		    on_splice_event, o);
	}
}

/* o's output fell below the low watermark: its source may read again. */
static void
on_splice_write(struct bufferevent *bev, void *arg)
{
	struct rconn *o = arg, *src = other(o);

	if (o->state == RC_DRAIN) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			o->s->r->end(o->s, "closed");
		return;
	}
	bufferevent_set_timeouts(bev, NULL, NULL);
	bufferevent_setcb(bev, on_splice_read, NULL, on_splice_event, o);
	if (src->state == RC_SPLICE)
		bufferevent_enable(src->bev, EV_READ);
}

/* One side ended: flush what the other side still has to receive, then close. */
static void
on_splice_event(struct bufferevent *bev, short what, void *arg)
{
	struct rconn *rc = arg, *o = other(rc);
	struct rsession *s = rc->s;
	struct timeval tv = { RELAY_DRAIN, 0 };

	if (rc->state == RC_SPLICE && (what & BEV_EVENT_TIMEOUT) != 0) {
		log_info("relay: %s: read none of its %zu bytes for %.0f s "
		    "(limits.send_timeout); closing", rc->addr,
		    evbuffer_get_length(bufferevent_get_output(bev)),
		    s->r->d->cfg->send_timeout);
		s->r->st.stalled++;
		s->r->end(s, "stalled");
		return;
	}
	if (rc->state == RC_DRAIN || o->state != RC_SPLICE ||
	    (what & BEV_EVENT_EOF) == 0 ||
	    evbuffer_get_length(bufferevent_get_output(o->bev)) == 0) {
		s->r->end(s, (what & BEV_EVENT_EOF) ? "closed" : "error");
		return;
	}
	/* rc is gone; o keeps its output until it is written or RELAY_DRAIN. */
	if (s->rl != NULL)
		bufferevent_remove_from_rate_limit_group(rc->bev);
	bufferevent_free(rc->bev);
	rc->bev = NULL;
	rc->state = RC_DRAIN;
	o->state = RC_DRAIN;
	bufferevent_disable(o->bev, EV_READ);
	bufferevent_setwatermark(o->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(o->bev, NULL, &tv);
	bufferevent_setcb(o->bev, NULL, on_splice_write, on_splice_event, o);
}

/*
 * Paired: each direction must carry a byte every relay.idle_timeout. A
 * session in use has both (the peers acknowledge what they receive);
 * one that carries nothing either way is idle, one that streams one way
 * only is not a chat.
 */
void
relay_splice_timer(struct rsession *s)
{
	double idle = s->r->d->cfg->relay_idle_timeout, now = util_mono();
	double q0 = now - s->last[0], q1 = now - s->last[1];
	double quiet = q0 > q1 ? q0 : q1;
	struct timeval tv;

	if (quiet < idle) {
		tv = daemon_tv(idle - quiet);
		evtimer_add(s->timer, &tv);
		return;
	}
	if (q0 >= idle && q1 >= idle) {
		s->r->st.idle_closed++;
		s->r->end(s, "idle");
	} else {
		s->r->st.one_way_closed++;
		s->r->end(s, q0 >= idle ? "one-way (the requester sent "
		    "nothing)" : "one-way (the target sent nothing)");
	}
}
