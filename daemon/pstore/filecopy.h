/*
 * Files into the daemon's store, off the event loop: a thread per copy
 * reads a descriptor a client passed (a regular file, a pipe), writes it
 * to DIR/.part-XXXXXX while hashing it with SHA-256, syncs it and renames
 * it to DIR/<sha256 in hex> (or drops it when that file is already there:
 * a file is stored once however often it is sent). The same threads
 * check a received file, copy one out, or sync a partial one. The
 * callback runs on the loop's thread. Used by peer_file.c and
 * peer_frx.c; calls nothing of the peer.
 */
#ifndef P2P_FILECOPY_H
#define P2P_FILECOPY_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#define FILECOPY_HEX	64	/* SHA-256 in hex */
#define FILECOPY_MAX	16	/* copies at once */

struct filecopy_pool;
struct filecopy;

/*
 * ok: sha256 (hex) and size of what was stored; else code (an ERR_*) and
 * why, sha256 and size undefined.
 */
typedef void (*filecopy_cb)(const char *code, const char *why,
		    const char *sha256, int64_t size, void *arg);

struct filecopy_pool *filecopy_pool_new(struct event_base *, const char *dir);
/* Copies running (or done, their callbacks not yet run). */
int		 filecopy_pool_busy(const struct filecopy_pool *);
/* Cancels every copy (callbacks not called) and waits for the threads. */
void		 filecopy_pool_free(struct filecopy_pool *);
/*
 * Copy fd (taken: closed by the copy) of at most max bytes. NULL with
 * why (static) when FILECOPY_MAX copies are running or no thread starts.
 */
struct filecopy	*filecopy_start(struct filecopy_pool *, int fd, int64_t max,
		    filecopy_cb, void *arg, const char **why);
/*
 * Check the file at path against expect (hex): if its SHA-256 is that,
 * sync it and rename it to DIR/<sha256> (removed if that is there
 * already); if not, remove it and report ERR_BAD_FRAME. The callback's
 * code is NULL only when the file is in the store. With hashed, the
 * caller has hashed every byte of it as it wrote them (filecopy_hash) and
 * found expect: the file is not read again.
 */
struct filecopy	*filecopy_verify(struct filecopy_pool *, const char *path,
		    const char *expect, bool hashed, filecopy_cb, void *arg,
		    const char **why);
/*
 * A SHA-256 taken as a file's bytes are written, in order (a file being
 * received: its check at the end then needs no second pass over it).
 * new: NULL if GnuTLS cannot hash; is: whether the bytes so far are
 * expect (hex).
 */
struct filecopy_hash;
struct filecopy_hash *filecopy_hash_new(void);
void		 filecopy_hash_add(struct filecopy_hash *, const void *, size_t);
bool		 filecopy_hash_is(struct filecopy_hash *, const char *expect);
void		 filecopy_hash_free(struct filecopy_hash *);
/*
 * Copy the stored DIR/<sha256> into dst (taken: closed by the copy), a
 * file or a pipe; size is what was written.
 */
struct filecopy	*filecopy_out(struct filecopy_pool *, const char *sha256,
		    int dst, filecopy_cb, void *arg, const char **why);
/*
 * fdatasync a file off the loop: a descriptor of its own (a dup of fd,
 * which the caller keeps and may close at once); code NULL once the
 * file's data written before the call is on disk. reserve > 0: first
 * allocate its blocks up to reserve bytes, size unchanged (best effort:
 * blocks allocated by the kernel's writeback as the data comes made
 * every other fsync on the file system, a message's commit too, wait
 * for that data in ext4's journal). Once synced, the pages of
 * [drop_from, drop_to) (written before the call) leave the page cache
 * (best effort): a file received is written once and not read again,
 * and the next bytes written reuse the pages rather than take new ones
 * (under a hypervisor that takes freed memory back, a page never used
 * or given back costs far more to write than one just freed).
 */
struct filecopy	*filecopy_sync(struct filecopy_pool *, int fd, int64_t reserve,
		    int64_t drop_from, int64_t drop_to, filecopy_cb,
		    void *arg, const char **why);
/* The callback will not be called; the partial file is removed. NULL: none. */
void		 filecopy_cancel(struct filecopy *);

#endif
