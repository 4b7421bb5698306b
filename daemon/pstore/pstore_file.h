/*
 * Files in the peer's store (table files, peer store migration 10): one
 * row per file sent or received. The bytes are data_dir/files/<sha256>
 * (filecopy.c); this is what is known about each transfer.
 */
#ifndef P2P_PSTORE_FILE_H
#define P2P_PSTORE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pstore.h"

#define PFILE_NAME_MAX	255	/* bytes of a file's name */

struct pfile_store;

struct pfile {
	int64_t	 seq;
	char	 id[P2P_MSGID_HEX + 1];
	char	 peer[P2P_USERNAME_MAX + 1];
	bool	 outgoing;
	char	 name[PFILE_NAME_MAX + 1];
	int64_t	 size;
	char	 sha256[65];
	char	 state[16];
	int64_t	 committed;	/* bytes the recipient has synced */
	int64_t	 ts;		/* unix ms, stored */
	int64_t	 expires;	/* unix ms, 0 never (sent files) */
	char	 reason[256];
};

struct pfile_store *pfile_open(struct pstore *, char **cause);
void		 pfile_close(struct pfile_store *);
/* PSTORE_EXISTS if the id is taken (by any file). */
enum pstore_rc	 pfile_add(struct pfile_store *, const struct pfile *);
enum pstore_rc	 pfile_get(struct pfile_store *, const char *id, struct pfile *);
/* Every file, or peer's (NULL: all), oldest first; fn returning -1 stops. */
enum pstore_rc	 pfile_foreach(struct pfile_store *, const char *peer,
		    int (*fn)(const struct pfile *, void *), void *arg);
/* The oldest outgoing file to peer still to deliver (state pending). */
enum pstore_rc	 pfile_next_out(struct pfile_store *, const char *peer,
		    struct pfile *);
enum pstore_rc	 pfile_set_state(struct pfile_store *, const char *id,
		    const char *state, const char *reason);
/* The recipient wrote and synced the bytes up to off. */
enum pstore_rc	 pfile_set_committed(struct pfile_store *, const char *id,
		    int64_t off);
/* fn for every peer with outgoing files to deliver or cancels to tell. */
enum pstore_rc	 pfile_pending_peers(struct pfile_store *,
		    void (*fn)(const char *peer, void *), void *arg);
/*
 * Outgoing files not delivered by now whose time is up become expired;
 * fn for each. *next: the earliest expiry still ahead, 0 if none.
 */
enum pstore_rc	 pfile_expire(struct pfile_store *, int64_t now,
		    void (*fn)(const struct pfile *, void *), void *arg,
		    int64_t *next);
/* Whether any outgoing file waits for delivery, or any cancel to be told
 * (1 also on error). */
int		 pfile_any_pending(struct pfile_store *);
/*
 * Delete every file sent to or received from peer (chat-delete); the ids
 * received are kept with their state (files_deleted, pfile_deleted).
 */
enum pstore_rc	 pfile_delete_peer(struct pfile_store *, const char *peer,
		    int *deleted);
/* How file id from peer ended if it was deleted; PSTORE_NOTFOUND if not. */
enum pstore_rc	 pfile_deleted(struct pfile_store *, const char *id,
		    const char *peer, char *state, size_t len);
/*
 * An outgoing file cancelled or expired: the recipient is to be told
 * (file_cancels) until it answers (pfile_cancel_told). pfile_expire
 * notes those it expires.
 */
enum pstore_rc	 pfile_cancel_note(struct pfile_store *, const char *id,
		    const char *peer);
enum pstore_rc	 pfile_cancel_told(struct pfile_store *, const char *id,
		    const char *peer);
/* Whether peer is to be told of a cancel (true on an error too). */
bool		 pfile_has_cancels(struct pfile_store *, const char *peer);
/* fn for (at most 256) ids of files to tell peer were cancelled. */
enum pstore_rc	 pfile_cancels(struct pfile_store *, const char *peer,
		    void (*fn)(const char *id, void *), void *arg);
/*
 * Whether name, an entry of data_dir/files, is something no row needs
 * any more: a stored copy no file to send or received file has, or the
 * partial file of no file being received (filesweep.c removes them).
 */
bool		 pfile_unneeded(struct pfile_store *, const char *name);

#endif
