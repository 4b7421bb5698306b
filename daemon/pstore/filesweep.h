/*
 * Removing what the file store (data_dir/files/) no longer needs, without
 * stalling the event loop: an unlink of a large file frees its blocks and
 * can take half a second (1 GiB on ext4). On the loop each entry the
 * caller calls unneeded is renamed (metadata only, quick) to .gone-*, so
 * that it is out of the store's names at once (a new copy of the same
 * content is a new file); a thread then unlinks the .gone-* entries, a
 * large one given back 64 MiB at a time first (each step synced: one
 * journal commit freeing 1 GiB held every fsync meanwhile).
 * Used by peer_ftx.c; calls nothing of the peer.
 */
#ifndef P2P_FILESWEEP_H
#define P2P_FILESWEEP_H

#include <stdbool.h>

struct filesweep;

struct filesweep *filesweep_new(const char *dir);
/* Waits for the thread if it runs. */
void		 filesweep_free(struct filesweep *);
/*
 * Sweep: entries for which unneeded(name, arg) says true are moved out
 * and unlinked off the loop; with parts, copies' leftovers (.part-*)
 * too, which only a start may say (no copy runs). .gone-* left by a
 * crash always go. The number moved out, or -1 when the previous
 * sweep's thread still runs (the caller tries again later).
 */
int		 filesweep_run(struct filesweep *, bool parts,
		    bool (*unneeded)(const char *name, void *), void *arg);

#endif
