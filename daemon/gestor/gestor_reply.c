/*
 * The gestor's replies to a peer's requests: ok and error frames echoing
 * the request's "n" (the hot ones printed with jsonw), a store failure
 * as "unavailable" or "internal", and a request that waits for the store
 * (its connection's frames wait with it, so replies keep their order).
 * Every frame handler (gestor_auth.c, gestor_presence.c, gestor_relay.c,
 * gestor_mail.c) and gestor.c answer through these.
 */
#include <stdio.h>

#include "gestor_int.h"
#include "jsonw.h"
#include "util.h"
#include "wire.h"

static json_t *
reply_new(json_t *req, const char *t)
{
	json_t *o = json_pack("{s:s}", "t", t), *n = json_object_get(req, "n");

	if (n != NULL)
		json_object_set(o, "n", n);
	return o;
}

/*
 * The hot replies (heartbeats, lookups) are printed with jsonw instead
 * of a jansson tree each: {"t":"ok","n":N, ...fields} opened here.
 */
void
gestor_reply_open(struct jsonw *w, json_t *req)
{
	jsonw_init(w);
	jsonw_open(w, NULL);
	jsonw_str(w, "t", "ok");
	if (json_object_get(req, "n") != NULL)
		jsonw_json(w, "n", json_object_get(req, "n"));
}

void
gestor_reply_send(struct gconn *gc, struct jsonw *w)
{
	jsonw_close(w);
	if (jsonw_ok(w) == 0)
		conn_send_text(gc->c, jsonw_data(w), jsonw_len(w));
	jsonw_free(w);
	gc->g->stats.frames_out++;
}

void
gestor_reply(struct gconn *gc, json_t *req, json_t *o)
{
	json_t *n = json_object_get(req, "n");

	if (n != NULL)
		json_object_set(o, "n", n);
	conn_send(gc->c, o);
	json_decref(o);
	gc->g->stats.frames_out++;
}

/* Send {"t":"ok",...extra} echoing the request's "n"; extra is stolen. */
void
gestor_reply_ok(struct gconn *gc, json_t *req, json_t *extra)
{
	json_t *o;
	struct jsonw w;

	if (extra == NULL) {
		gestor_reply_open(&w, req);
		gestor_reply_send(gc, &w);
		return;
	}
	o = reply_new(req, "ok");
	if (extra != NULL) {
		json_object_update(o, extra);
		json_decref(extra);
	}
	conn_send(gc->c, o);
	json_decref(o);
	gc->g->stats.frames_out++;
}

void
gestor_reply_err(struct gconn *gc, json_t *req, const char *code, const char *msg)
{
	json_t *o = reply_new(req, "error");

	json_object_set_new(o, "code", json_string(code));
	json_object_set_new(o, "message", json_string(msg));
	conn_send(gc->c, o);
	json_decref(o);
	gc->g->stats.frames_out++;
}

/* A store failure: "unavailable" when the database cannot be reached. */
void
gestor_reply_store_err(struct gconn *gc, json_t *req, enum gstore_rc rc,
    const char *what)
{
	char msg[160];

	if (rc == GSTORE_UNAVAILABLE) {
		snprintf(msg, sizeof(msg), "the gestor's database is unavailable; "
		    "cannot %s now, try again later", what);
		gestor_reply_err(gc, req, ERR_UNAVAILABLE, msg);
		return;
	}
	snprintf(msg, sizeof(msg), "cannot %s", what);
	gestor_reply_err(gc, req, ERR_INTERNAL, msg);
}

/*
 * A request that waits for the store or the hashing thread: frames of
 * the connection wait too (replies keep their order), and the request
 * frame is kept for its "n".
 */
void
gestor_req_start(struct gconn *gc, struct wire_msg *m)
{
	conn_pause(gc->c, true);
	gc->req = json_incref(m->frame);
}

void
gestor_req_end(struct gconn *gc)
{
	conn_pause(gc->c, false);
	json_decref(gc->req);
	gc->req = NULL;
	util_zero(&gc->job_user, sizeof(gc->job_user));
}
