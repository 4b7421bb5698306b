/*
 * Message requests in the peer's store: the peers this account accepted
 * (wrote to, or trusted: table accepted, peer store migration 8) and, for
 * everyone else, what their messages take of the store (table requests),
 * so that a stranger's messages can be limited (peer_queue.c) and shown
 * as requests in `chats`.
 */
#ifndef P2P_PSTORE_REQUEST_H
#define P2P_PSTORE_REQUEST_H

#include <stdint.h>

#include "pstore.h"

struct preq_store;

/* What a stranger's stored messages take. */
struct preq_use {
	long	 messages;
	int64_t	 bytes;
	long	 recent;	/* stored in the current window */
};

struct preq_store *preq_open(struct pstore *, char **cause);
void		 preq_close(struct preq_store *);
/* peer becomes a contact: its messages are no longer requests (and its
 * counts are forgotten). */
enum pstore_rc	 preq_accept(struct preq_store *, const char *peer);
/* 1 accepted (or a verified contact), 0 a stranger, -1 error. */
int		 preq_accepted(struct preq_store *, const char *peer);
/* 1 if a message with this id is stored, 0 if not, -1 error. */
int		 preq_has(struct preq_store *, const char *id);
/* A stranger's use; recent counts the window (ms long) current at now. */
enum pstore_rc	 preq_use(struct preq_store *, const char *peer, int64_t now,
		    int64_t window, struct preq_use *);
/* One more message of bytes from a stranger stored at now. */
enum pstore_rc	 preq_note(struct preq_store *, const char *peer,
		    int64_t bytes, int64_t now, int64_t window);

#endif
