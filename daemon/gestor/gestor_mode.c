/*
 * The gestor mode as main sees it (gestor.h): start, reload, stop, free.
 * This is where the gestor's parts are put together: the directory
 * (gestor.c) and its store, whose callbacks are the cluster's
 * (gestor_cluster.c); the `relay` frame, handled by gestor_relay.c; the
 * relay; the control requests still waiting at shutdown (gestor_ctl.c).
 * The files below it never name a function of the ones above: gestor.c
 * dispatches frames through the table here (gestor->frames): register,
 * login and auth (gestor_auth.c), heartbeat, lookup and watch
 * (gestor_presence.c), relay (gestor_relay.c), the mailbox's
 * (gestor_mail.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gestor.h"
#include "gestor_int.h"
#include "listener.h"
#include "log.h"
#include "relay.h"
#include "util.h"

/* Frames a connection may send, and whether it must be authenticated. */
static const struct gframe gestor_frames[W__MAX] = {
	[W_REGISTER] = { gestor_on_register, false },
	[W_LOGIN] = { gestor_on_login, false },
	[W_AUTH] = { gestor_on_auth, false },
	[W_HB] = { gestor_on_hb, true },
	[W_LOOKUP] = { gestor_on_lookup, true },
	[W_WATCH] = { gestor_on_watch, true },
	[W_RELAY] = { gestor_relay_request, true },
	[W_MBOX_PUT] = { gestor_mail_frame, true },
	[W_MBOX_GET] = { gestor_mail_frame, true },
	[W_MBOX_ACK] = { gestor_mail_frame, true },
	[W_MBOX_WITHDRAW] = { gestor_mail_frame, true },
	[W_MBOX_COUNT] = { gestor_mail_frame, true },
};

int
gestor_start(struct daemon *d, char **cause)
{
	struct gestor *g = xcalloc(1, sizeof(*g));
	struct gstore_opts o;
	char path[4096];

	g->d = d;
	g->frames = gestor_frames;
	TAILQ_INIT(&g->conns);
	TAILQ_INIT(&g->ctlops);
	TAILQ_INIT(&g->hints);
	snprintf(path, sizeof(path), "%s/gestor.db", d->cfg->data_dir);
	memset(&o, 0, sizeof(o));
	o.base = d->base;
	o.backend = d->cfg->storage_backend;
	o.path = path;
	o.sync_full = d->cfg->sync_full;
	o.conninfo = d->cfg->storage_conninfo;
	gestor_cluster_name(d->cfg, g->cluster, sizeof(g->cluster));
	o.cluster = g->cluster;
	o.hb_interval = d->cfg->hb_interval;
	/* A killed gestor's users are offline within heartbeat.timeout. */
	o.hb_timeout = d->cfg->hb_timeout - d->cfg->hb_interval;
	if (o.hb_timeout < 2 * d->cfg->hb_interval)
		o.hb_timeout = 2 * d->cfg->hb_interval;
	o.request_timeout = d->cfg->hb_timeout / 3 < 5.0 ?
	    d->cfg->hb_timeout / 3 : 5.0;
	o.on_notify = gestor_cluster_notify;
	o.on_state = gestor_cluster_state;
	o.sessions = gestor_cluster_sessions;
	o.arg = g;
	o.cluster_key_file = d->cfg->cluster_key_file;
	if ((g->store = gstore_open(&o, cause)) == NULL) {
		free(g);
		return -1;
	}
	g->limits = glimits_new(d->cfg->max_connections);
	if ((g->hashpool = hashpool_new(d->base, cause)) == NULL)
		return -1;
	d->gestor = g;
	g->listener = listener_open(d->base, d->cfg->listen,
	    P2P_DEFAULT_GESTOR_PORT, gestor_accept, g, g->listen_addr,
	    sizeof(g->listen_addr), cause);
	if (g->listener == NULL)
		return -1;
	log_info("gestor: listening on %s", g->listen_addr);
	if (gestor_mail_start(g) != 0) {
		if (asprintf(cause, "cannot make the mailbox's timer") < 0)
			*cause = NULL;
		return -1;
	}
	if (*d->cfg->relay_listen != '\0' &&
	    (g->relay = relay_open(d, cause)) == NULL)
		return -1;
	return 0;
}

void
gestor_reload(struct daemon *d)
{
	gestor_conns_reload(d->gestor);
}

void
gestor_stop(struct daemon *d)
{
	struct gestor *g = d->gestor;
	struct gconn *gc;

	if (g == NULL)
		return;
	if (g->listener != NULL) {
		listener_close(g->listener);
		g->listener = NULL;
	}
	while ((gc = TAILQ_FIRST(&g->conns)) != NULL)
		gestor_drop(gc, "gestor shutting down");
	gestor_ctl_abort(g);
	gestor_mail_stop(g);
	relay_close(g->relay);
	g->relay = NULL;
}

void
gestor_free(struct daemon *d)
{
	struct gestor *g = d->gestor;

	if (g == NULL)
		return;
	gestor_stop(d);
	hashpool_free(g->hashpool);
	gstore_close(g->store);
	gestor_cluster_free(g);
	glimits_free(g->limits);
	free(g);
	d->gestor = NULL;
}
