/*
 * Between the files of the peer's message store: pstore_msg.c (open,
 * close, the statements, the message writes), pstore_queue.c (the queue's
 * queries) and pstore_history.c (history, chats, events). The two call
 * the helpers below; pstore_msg.c calls neither. Nothing else includes
 * this.
 */
#ifndef P2P_PSTORE_MSG_INT_H
#define P2P_PSTORE_MSG_INT_H

#include <sqlite3.h>

#include "pstore_msg.h"

enum stmt {
	S_INSERT,
	S_GET,
	S_RECEIVE,
	S_DELIVERED,
	S_SEQ_OF,
	S_GDELIVERED,
	S_GSEQ_OF,
	S_FAILED,
	S_PENDING_FOR,
	S_PENDING_ALL,
	S_PENDING_PEERS,
	S_PENDING_NOTE,
	S_COUNT,
	S_COUNT_QUEUED,
	S_COUNT_ENDED,
	S_HOLD,
	S_RELEASE,
	S_FINISH,
	S_NEXT_EXPIRY,
	S_EXPIRED,
	S_HISTORY,
	S_GROUP_PUT,
	S_GROUP_HISTORY,
	S_GROUP_STATE,
	S_GROUP_BAD,
	S_GROUP_FINISH,
	S_SEALABLE,
	S_SAME_IN,
	S__MAX
};

struct pmsg_store {
	struct pstore	*ps;
	int64_t		 queued_seq;	/* of the last pmsg_queue_in */
	sqlite3		*db;
	sqlite3_stmt	*st[S__MAX];
	struct pchat	*chat;		/* chats, written once per commit */
	struct pevent	*ev;		/* the event log */
};

/* The statement, reset and unbound, ready for new parameters. */
sqlite3_stmt	*pmsg_st(struct pmsg_store *, enum stmt);
/* Log the store's error for what; PSTORE_ERR. */
enum pstore_rc	 pmsg_fail(struct pmsg_store *, const char *what);
/* Run a statement that returns no rows. */
enum pstore_rc	 pmsg_run(struct pmsg_store *, sqlite3_stmt *, const char *what);
void		 pmsg_bind(sqlite3_stmt *, int i, const char *v);
/* fn for each row of s (MCOLS); stops when fn returns -1. */
enum pstore_rc	 pmsg_each(struct pmsg_store *, sqlite3_stmt *, pmsg_fn, void *);

#endif
