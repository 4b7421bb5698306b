/*
 * File transfers, the recipient's side: a file ended or let through by
 * someone's word: the user's accept, reject or cancel (peer_file.c,
 * peer_ftx.c), the sender's file-cancel (peer_in.c). Calls peer_frx.c,
 * which has the transfer itself.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <string.h>

#include <unistd.h>
#undef W_OK		/* access(2)'s; wire.h has a frame type of that name */

#include "log.h"
#include "peer_ftx_int.h"
#include "pstore_file.h"

/* End an incoming file by the user's word (rejected, cancelled). */
void
pm_frx_end(struct peer_msgs *pm, const struct pfile *f, const char *state,
    const char *reason)
{
	struct frx *fr = pm_frx_find(pm->ftx, f->id);
	char path[4200];

	pfile_set_state(pm->files, f->id, state, reason);
	pm_frx_partial(pm->ftx, f->id, path, sizeof(path));
	if (fr != NULL) {
		pm_frx_pos(fr->c, f->id, state, 0, reason);
		pm_frx_free(pm->ftx, fr);
	}
	unlink(path);
	log_info("file %s from %s: %s", f->id, f->peer, state);
}

int
pm_frx_decide(struct peer_msgs *pm, const char *id, bool accept,
    char *state, size_t len, const char **why)
{
	struct frx *fr;
	struct pfile f;

	if (pfile_get(pm->files, id, &f) != PSTORE_OK || f.outgoing) {
		*why = "no file received with this id";
		return -1;
	}
	if (strcmp(f.state, "waiting") != 0 &&
	    (accept || strcmp(f.state, "receiving") != 0)) {
		snprintf(state, len, "%s", f.state);
		if (strcmp(f.state, "receiving") == 0 ||
		    strcmp(f.state, "received") == 0 ||
		    strcmp(f.state, "rejected") == 0)
			return accept == (strcmp(f.state, "rejected") != 0) ? 0 :
			    (*why = "already decided", -1);
		*why = "it is not waiting for an answer";
		return -1;
	}
	if (!accept) {
		pm_frx_end(pm, &f, "rejected", "rejected by the recipient");
		snprintf(state, len, "rejected");
		return 0;
	}
	if (pfile_set_state(pm->files, id, "receiving", NULL) != PSTORE_OK) {
		*why = "cannot store the change";
		return -1;
	}
	snprintf(state, len, "receiving");
	if ((fr = pm_frx_find(pm->ftx, id)) != NULL && fr->waiting) {
		snprintf(fr->f.state, sizeof(fr->f.state), "receiving");
		if (fr->c != NULL)
			pm_frx_open(pm, fr);
		else
			pm_frx_free(pm->ftx, fr);	/* the next offer goes on */
	}
	return 0;
}

/*
 * The sender gave the file id up (file-cancel on its connection c, also
 * when it comes back after cancelling while we were away). Answered
 * with the file's state, so that the sender stops telling us.
 */
void
pm_frx_cancelled(struct peer_msgs *pm, struct conn *c, const char *from,
    const char *id)
{
	struct frx *fr;
	struct pfile f;

	if (pfile_get(pm->files, id, &f) != PSTORE_OK || f.outgoing ||
	    strcmp(f.peer, from) != 0) {
		pm_frx_pos(c, id, "cancelled", 0, NULL);	/* nothing of it here */
		return;
	}
	if (strcmp(f.state, "waiting") != 0 && strcmp(f.state, "receiving") != 0 &&
	    strcmp(f.state, "paused") != 0) {
		pm_frx_pos(c, id, f.state, 0, NULL);
		return;
	}
	if ((fr = pm_frx_find(pm->ftx, id)) != NULL && fr->verify != NULL)
		return;		/* all here: the check's answer says so */
	if (fr == NULL || fr->c != c)
		pm_frx_pos(c, id, "cancelled", 0, NULL);	/* else pm_frx_end does */
	pm_frx_end(pm, &f, "cancelled", "cancelled by the sender");
}
