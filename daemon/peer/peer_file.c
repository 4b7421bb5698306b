/*
 * Files: the control commands send-file and files (issue 29). send-file
 * takes the descriptor p2pchatctl passed over the control socket
 * (ctlreq_take_fd), has filecopy.c copy it into data_dir/files/ off the
 * loop, records the file in the store (pstore_file.c) and only then
 * answers with its id. A file's name is the sender's word for it: it is
 * stored and shown (escaped by the JSON and by p2pchatctl), never used as
 * a path.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/util.h>
#include <gnutls/crypto.h>

#include "filecopy.h"
#include "log.h"
#include "peer_group.h"
#include "peer_msg.h"
#include "pstore_file.h"
#include "util.h"

/* A send-file whose copy is running. */
struct fsend {
	TAILQ_ENTRY(fsend)	 entry;
	struct peer_msgs	*pm;
	struct ctlreq		*r;
	struct filecopy		*copy;
	struct pfile		 f;
	json_t			*members;	/* --group: who gets a copy */
};

int
pm_files_start(struct peer_msgs *pm, char **cause)
{
	char dir[4096];

	TAILQ_INIT(&pm->fsends);
	snprintf(dir, sizeof(dir), "%s/files", pm->p->d->cfg->data_dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		if (asprintf(cause, "cannot create %s: %s", dir,
		    strerror(errno)) < 0)
			*cause = NULL;
		return -1;
	}
	if ((pm->files = pfile_open(pm->p->store, cause)) == NULL)
		return -1;
	pm->fcopy = filecopy_pool_new(pm->p->d->base, dir);
	return 0;
}

/* Shutdown: copies in progress stop, their requests are told. */
void
pm_files_stop(struct peer_msgs *pm)
{
	struct fsend *fs;

	while ((fs = TAILQ_FIRST(&pm->fsends)) != NULL) {
		TAILQ_REMOVE(&pm->fsends, fs, entry);
		filecopy_cancel(fs->copy);
		ctlreq_error(fs->r, ERR_UNAVAILABLE, "the daemon is stopping; "
		    "nothing was stored");
		json_decref(fs->members);
		free(fs);
	}
}

void
pm_files_free(struct peer_msgs *pm)
{
	if (pm->fcopy == NULL)
		return;
	pm_files_stop(pm);
	filecopy_pool_free(pm->fcopy);
	pfile_close(pm->files);
	pm->fcopy = NULL;
	pm->files = NULL;
}

static json_t *
file_result(const struct pfile *f)
{
	return json_pack("{s:s,s:s,s:I,s:s}", "id", f->id, "sha256", f->sha256,
	    "size", (json_int_t)f->size, "state", f->state);
}

/*
 * An id given again (--id): the file stored under it if it is this
 * peer's, else an error. Returns true if r was answered.
 */
static bool
id_taken(struct peer_msgs *pm, struct ctlreq *r, const struct pfile *want)
{
	struct pfile f;
	struct pmsg m;
	enum pstore_rc rc;

	if ((rc = pfile_get(pm->files, want->id, &f)) == PSTORE_OK) {
		if (!f.outgoing || strcmp(f.peer, want->peer) != 0)
			ctlreq_error(r, ERR_INVALID_ARGUMENT, "id %s is another "
			    "file's", want->id);
		else
			ctlreq_reply(r, file_result(&f));
		return true;
	}
	if (rc == PSTORE_ERR) {
		ctlreq_error(r, ERR_INTERNAL, "cannot read the store");
		return true;
	}
	if (pmsg_get(pm->ms, want->id, &m, NULL) == PSTORE_OK) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "id %s is a message's",
		    want->id);
		return true;
	}
	return false;
}

static int
add_member(const char *user, void *arg)
{
	json_array_append_new(arg, json_string(user));
	return 0;
}

/*
 * A member's id for a file sent to a group: the first 32 hex digits of
 * SHA-256(id "/" member), so that --id stays idempotent for each.
 */
static void
member_id(const char *id, const char *member, char *out)
{
	unsigned char md[32];
	char buf[P2P_MSGID_HEX + P2P_USERNAME_MAX + 2];

	snprintf(buf, sizeof(buf), "%s/%s", id, member);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, strlen(buf), md);
	util_hex(md, P2P_MSGID_HEX / 2, out);
}

/* The stored file, once for the group: one row (one transfer) a member. */
static void
group_rows(struct fsend *fs)
{
	struct peer_msgs *pm = fs->pm;
	json_t *ids = json_array(), *res, *v;
	struct pfile f;
	enum pstore_rc rc;
	size_t i;

	pm_ftx_stored(pm);	/* before the kicks: they look for it */
	json_array_foreach(fs->members, i, v) {
		f = fs->f;
		snprintf(f.peer, sizeof(f.peer), "%s", json_string_value(v));
		member_id(fs->f.id, f.peer, f.id);
		if ((rc = pfile_add(pm->files, &f)) == PSTORE_ERR) {
			json_decref(ids);
			ctlreq_error(fs->r, ERR_INTERNAL, "cannot store the file "
			    "(see the daemon's log)");
			return;
		}
		json_array_append_new(ids, json_pack("{s:s,s:s}", "user", f.peer,
		    "id", f.id));
		if (rc == PSTORE_OK)
			pm_kick(pm, f.peer, true);
	}
	log_info("file %s to %zu members stored: %lld bytes, sha256 %s",
	    fs->f.id, json_array_size(fs->members), (long long)fs->f.size,
	    fs->f.sha256);
	res = file_result(&fs->f);
	json_object_set_new(res, "ids", ids);
	ctlreq_reply(fs->r, res);
	if (fs->f.expires > 0)
		pm_ftx_expiry_arm(pm);
}

static void
on_copied(const char *code, const char *why, const char *sha256, int64_t size,
    void *arg)
{
	struct fsend *fs = arg;
	struct peer_msgs *pm = fs->pm;
	enum pstore_rc rc;

	TAILQ_REMOVE(&pm->fsends, fs, entry);
	if (code != NULL) {
		ctlreq_error(fs->r, code, "%s", why);
		json_decref(fs->members);
		free(fs);
		return;
	}
	snprintf(fs->f.sha256, sizeof(fs->f.sha256), "%s", sha256);
	fs->f.size = size;
	fs->f.ts = util_now_ms();
	if (fs->members != NULL) {
		group_rows(fs);
		json_decref(fs->members);
		free(fs);
		return;
	}
	if ((rc = pfile_add(pm->files, &fs->f)) == PSTORE_EXISTS) {
		/* The same --id sent twice at once: the first one won. */
		if (!id_taken(pm, fs->r, &fs->f))
			ctlreq_error(fs->r, ERR_INTERNAL, "cannot store the file");
	} else if (rc != PSTORE_OK)
		ctlreq_error(fs->r, ERR_INTERNAL, "cannot store the file (see "
		    "the daemon's log)");
	else {
		log_info("file %s to %s stored: %lld bytes, sha256 %s", fs->f.id,
		    fs->f.peer, (long long)size, sha256);
		ctlreq_reply(fs->r, file_result(&fs->f));
		pm_ftx_stored(pm);
		if (fs->f.expires > 0)
			pm_ftx_expiry_arm(pm);
		pm_kick(pm, fs->f.peer, true);
	}
	free(fs);
}

/*
 * The members of group but this peer's user into *members (a new
 * array); -1 (r answered) if it is not one's group or has no one else.
 */
static int
group_recipients(struct peer_msgs *pm, struct ctlreq *r, const char *group,
    json_t **members)
{
	struct pgroup g;
	size_t i;
	json_t *v;

	if (pg_find_group(pm, r, group, &g) != 0)
		return -1;
	if (!g.member) {
		ctlreq_error_obj(r, "not_member", json_pack("{s:s}", "group",
		    g.id), "you are not a member of group %s (%s)", g.id,
		    g.title);
		return -1;
	}
	*members = json_array();
	if (pgroup_members(pm->groups, g.id, add_member, *members) !=
	    PSTORE_OK) {
		ctlreq_error(r, ERR_INTERNAL, "cannot read the group");
		goto fail;
	}
	json_array_foreach(*members, i, v)
		if (strcmp(json_string_value(v), pm->p->user) == 0) {
			json_array_remove(*members, i);
			break;
		}
	if (json_array_size(*members) == 0) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "group %s has no other "
		    "member", g.title);
		goto fail;
	}
	return 0;
fail:
	json_decref(*members);
	*members = NULL;
	return -1;
}

/* True (r answered) if name or the file at fd cannot be sent. */
static bool
file_unfit(struct peer_msgs *pm, struct ctlreq *r, json_t *name, int fd)
{
	struct stat st;

	if (name == NULL || json_string_length(name) > PFILE_NAME_MAX ||
	    strlen(json_string_value(name)) != json_string_length(name)) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "'name' must be 1 to %d "
		    "bytes of UTF-8 without NUL", PFILE_NAME_MAX);
		return true;
	}
	if (fstat(fd, &st) == -1 || S_ISDIR(st.st_mode)) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "not a file that can be read");
		return true;
	}
	if (S_ISREG(st.st_mode) && st.st_size > pm->p->d->cfg->files_max_size) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "%lld bytes: larger than "
		    "files.max_size (%" PRId64 " bytes)", (long long)st.st_size,
		    pm->p->d->cfg->files_max_size);
		return true;
	}
	return false;
}

void
peer_ctl_send_file(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	const char *user = json_string_value(json_object_get(args, "user"));
	const char *group = json_string_value(json_object_get(args, "group"));
	json_t *name = json_object_get(args, "name"), *ttl, *members = NULL;
	int fd = ctlreq_take_fd(r);
	double secs;
	const char *why;
	struct fsend *fs;

	if (fd == -1) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "send-file needs the file "
		    "itself: p2pchatctl passes it over the control socket "
		    "(SCM_RIGHTS) with the request");
		return;
	}
	if (*pm->p->user == '\0') {
		ctlreq_error(r, ERR_NOT_LOGGED_IN, "not logged in; run login first");
		goto fail;
	}
	if ((user == NULL) == (group == NULL)) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "send-file takes a USER or "
		    "--group GROUP");
		goto fail;
	}
	if (group != NULL) {
		if (group_recipients(pm, r, group, &members) != 0)
			goto fail;
		user = pm->p->user;	/* one row a member */
	} else if (strcmp(user, pm->p->user) == 0) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "cannot send to yourself");
		goto fail;
	}
	if (file_unfit(pm, r, name, fd)) {
		json_decref(members);
		goto fail;
	}
	fs = xcalloc(1, sizeof(*fs));
	fs->pm = pm;
	fs->r = r;
	fs->members = members;
	members = NULL;
	if (json_object_get(args, "id") != NULL)
		snprintf(fs->f.id, sizeof(fs->f.id), "%s",
		    json_string_value(json_object_get(args, "id")));
	else
		pg_new_id(fs->f.id);
	snprintf(fs->f.peer, sizeof(fs->f.peer), "%s", user);
	fs->f.outgoing = true;
	snprintf(fs->f.name, sizeof(fs->f.name), "%s", json_string_value(name));
	snprintf(fs->f.state, sizeof(fs->f.state), "pending");
	ttl = json_object_get(args, "ttl");
	secs = ttl != NULL ? json_number_value(ttl) : pm->p->d->cfg->retry_ttl;
	if (secs > 0)
		fs->f.expires = util_now_ms() + (int64_t)ceil(secs * 1000);
	if (fs->members == NULL && json_object_get(args, "id") != NULL &&
	    id_taken(pm, r, &fs->f)) {
		free(fs);
		goto fail;
	}
	if ((fs->copy = filecopy_start(pm->fcopy, fd, pm->p->d->cfg->files_max_size,
	    on_copied, fs, &why)) == NULL) {
		ctlreq_error(r, ERR_BUSY, "%s", why);
		json_decref(fs->members);
		free(fs);
		return;		/* filecopy_start closed fd */
	}
	TAILQ_INSERT_TAIL(&pm->fsends, fs, entry);
	return;
fail:
	evutil_closesocket(fd);	/* close(2); unistd.h's W_OK is wire.h's */
}

static int
add_file(const struct pfile *f, void *arg)
{
	json_t *row = json_pack("{s:o,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s}",
	    "ts", peer_iso(f->ts / 1000), "user", f->peer,
	    "direction", f->outgoing ? "out" : "in", "state", f->state,
	    "id", f->id, "size", (json_int_t)f->size, "offset",
	    (json_int_t)f->committed, "sha256", f->sha256, "name", f->name);

	if (*f->reason != '\0')
		json_object_set_new(row, "reason", json_string(f->reason));
	json_array_append_new(arg, row);
	return 0;
}

void
peer_ctl_files(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	json_t *items = json_array();

	if (pfile_foreach(pm->files, json_string_value(json_object_get(args,
	    "user")), add_file, items) != PSTORE_OK) {
		json_decref(items);
		ctlreq_error(r, ERR_INTERNAL, "cannot read the store");
		return;
	}
	ctlreq_reply(r, json_pack("{s:o}", "items", items));
}

/* ------------------------------------------------------ save, accept, reject */

static void
on_saved(const char *code, const char *why, const char *sha256, int64_t size,
    void *arg)
{
	struct fsend *fs = arg;

	(void)sha256;
	TAILQ_REMOVE(&fs->pm->fsends, fs, entry);
	if (code != NULL)
		ctlreq_error(fs->r, code, "%s", why);
	else
		ctlreq_reply(fs->r, json_pack("{s:s,s:I}", "id", fs->f.id, "size",
		    (json_int_t)size));
	free(fs);
}

/*
 * save ID: p2pchatctl opened the destination (it alone knows the path)
 * and passed it; the stored bytes are copied into it off the loop.
 */
void
peer_ctl_save(struct ctlreq *r, json_t *args, void *ctx)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	const char *id = json_string_value(json_object_get(args, "id"));
	int fd = ctlreq_take_fd(r);
	const char *why;
	struct fsend *fs;

	if (fd == -1) {
		ctlreq_error(r, ERR_INVALID_ARGUMENT, "save needs the file to write: "
		    "p2pchatctl passes it over the control socket (SCM_RIGHTS)");
		return;
	}
	fs = xcalloc(1, sizeof(*fs));
	fs->pm = pm;
	fs->r = r;
	if (pfile_get(pm->files, id, &fs->f) != PSTORE_OK) {
		ctlreq_error_obj(r, "unknown_id", json_pack("{s:s}", "id", id),
		    "no file with id %s", id);
		goto fail;
	}
	if (!fs->f.outgoing && strcmp(fs->f.state, "received") != 0) {
		ctlreq_error_obj(r, "not_received", json_pack("{s:s,s:s}", "id", id,
		    "state", fs->f.state), "file %s is not here whole and checked "
		    "(state %s)", id, fs->f.state);
		goto fail;
	}
	if (fs->f.outgoing && strcmp(fs->f.state, "pending") != 0 &&
	    strcmp(fs->f.state, "waiting") != 0) {
		ctlreq_error_obj(r, "not_stored", json_pack("{s:s,s:s}", "id", id,
		    "state", fs->f.state), "file %s was sent and is %s: the "
		    "sender keeps its copy only until the file is delivered, "
		    "rejected, cancelled or expired", id, fs->f.state);
		goto fail;
	}
	if ((fs->copy = filecopy_out(pm->fcopy, fs->f.sha256, fd, on_saved, fs,
	    &why)) == NULL) {
		ctlreq_error(r, ERR_INTERNAL, "%s", why);
		free(fs);
		return;		/* fd closed */
	}
	TAILQ_INSERT_TAIL(&pm->fsends, fs, entry);
	return;
fail:
	free(fs);
	evutil_closesocket(fd);
}

static void
decide(struct ctlreq *r, json_t *args, void *ctx, bool accept)
{
	struct peer_msgs *pm = pm_of_ctx(ctx);
	const char *id = json_string_value(json_object_get(args, "id"));
	const char *why = NULL;
	char state[16];

	if (pm_frx_decide(pm, id, accept, state, sizeof(state), &why) == -1)
		ctlreq_error_obj(r, "unknown_id", json_pack("{s:s}", "id", id),
		    "%s: %s", id, why);
	else
		ctlreq_reply(r, json_pack("{s:s,s:s}", "id", id, "state", state));
}

void
peer_ctl_accept(struct ctlreq *r, json_t *args, void *ctx)
{
	decide(r, args, ctx, true);
}

void
peer_ctl_reject(struct ctlreq *r, json_t *args, void *ctx)
{
	decide(r, args, ctx, false);
}
