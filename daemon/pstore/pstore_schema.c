/*
 * The peer store's schema: the numbered migrations that take
 * data_dir/peer.db from PRAGMA user_version 0 to the current version,
 * one transaction each (sqlutil_open applies them). Schema 11 (7 below;
 * accepted and requests in 8, groups in 9, files in 10, 11: a group
 * delivery row neither in the full-text index nor in messages_group):
 *
 *   settings, contacts          account settings and the pinned keys
 *   messages                    every message in and out, by seq (the
 *                               AUTOINCREMENT order of storing), id
 *                               unique; state pending | sent | delivered |
 *                               held | failed | received | cancelled |
 *                               expired (sent is never written)
 *     messages_queue            partial index (state, peer, seq) of the
 *                               pending and held messages: the queue
 *     messages_ended            partial index of failed, cancelled, expired
 *     messages_expires          partial index of messages with a ttl
 *   queue_retry                 per peer: attempts, next try, why it waits
 *   chats                       per peer: last activity, unread count
 *   events                      the log `watch --since` replays: JSON, or
 *                               (msg) the seq of the message it is about
 *   messages_fts, fts_pending   full-text index, filled at each commit
 *   routes                      the route each contact was last reached by
 *   pending_messages            a view of the queue, for sqlite3 readers
 *   accepted, requests          message requests (schema 8)
 *   groups, group_members       groups and their signed lists (schema 9);
 *                               messages.grp and .ref: group messages
 */
#include <stddef.h>

#include "pstore.h"

/*
 * Migration i takes user_version from i to i + 1, in its own
 * transaction. To change the schema, append one string (it may hold
 * several statements); never edit a migration that has shipped. The
 * chats and messages tables used by pstore_msg.c are migration 2.
 * pstore_migrations_for_test() lets the unit tests build an old store.
 */
/*
 * The full-text triggers from migration 3 on: a stored message is noted
 * for its commit's indexing, a deleted one leaves the index unless it
 * was never indexed. Migrations 5 and 6 rebuild messages and recreate
 * them with this same text.
 */
#define FTS_TRIGGERS \
	"CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN" \
	"  INSERT INTO fts_pending (seq) VALUES (new.seq);" \
	"END;" \
	"CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN" \
	"  INSERT INTO messages_fts (messages_fts, rowid, body)" \
	"    SELECT 'delete', old.seq, old.body WHERE NOT EXISTS" \
	"    (SELECT 1 FROM fts_pending WHERE seq = old.seq);" \
	"  DELETE FROM fts_pending WHERE seq = old.seq;" \
	"END;"

static const char *const pstore_migrations[] = {
	/* 0 -> 1: settings and contacts */
	"CREATE TABLE settings ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	");"
	"CREATE TABLE contacts ("
	"  name TEXT PRIMARY KEY,"
	"  fingerprint TEXT NOT NULL DEFAULT '',"
	"  verified INTEGER NOT NULL DEFAULT 0,"
	"  addr TEXT NOT NULL DEFAULT '',"
	"  port INTEGER NOT NULL DEFAULT 0,"
	"  last_seen INTEGER NOT NULL DEFAULT 0,"
	"  prev_fingerprint TEXT NOT NULL DEFAULT ''"
	");",
	/* 1 -> 2: chats, messages, the delivery queue, events, full text */
	"CREATE TABLE messages ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  id TEXT NOT NULL UNIQUE,"
	"  peer TEXT NOT NULL,"
	"  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),"
	"  body TEXT NOT NULL,"
	"  ts_sent INTEGER NOT NULL,"
	"  ts_received INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'delivered',"
	"    'held', 'failed', 'received'))"
	");"
	"CREATE INDEX messages_peer ON messages (peer, seq);"
	"CREATE TABLE pending_messages ("
	"  id TEXT PRIMARY KEY REFERENCES messages (id),"
	"  peer TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX pending_peer ON pending_messages (peer, seq);"
	"CREATE TABLE chats ("
	"  peer TEXT PRIMARY KEY,"
	"  last_activity INTEGER NOT NULL,"
	"  unread INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE events ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  type TEXT NOT NULL,"
	"  data TEXT NOT NULL"
	");"
	"CREATE VIRTUAL TABLE messages_fts USING fts5 (body, content='messages',"
	"  content_rowid='seq');"
	"CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN"
	"  INSERT INTO messages_fts (rowid, body) VALUES (new.seq, new.body);"
	"END;"
	"CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN"
	"  INSERT INTO messages_fts (messages_fts, rowid, body)"
	"    VALUES ('delete', old.seq, old.body);"
	"END;",
	/*
	 * 2 -> 3: full-text indexing once per transaction. FTS5 flushes
	 * its pending terms at every statement's savepoint, so a trigger
	 * that indexed each row wrote an index segment per message (a third
	 * of a message's storage cost). The trigger now only notes the row;
	 * pstore_commit indexes the noted rows in one statement.
	 */
	"DROP TRIGGER messages_ai;"
	"DROP TRIGGER messages_ad;"
	"CREATE TABLE fts_pending (seq INTEGER PRIMARY KEY);"
	FTS_TRIGGERS,
	/* 3 -> 4: the route each contact was last reached by (relay) */
	"CREATE TABLE routes ("
	"  user TEXT PRIMARY KEY,"
	"  route TEXT NOT NULL DEFAULT '' CHECK (route IN ('', 'direct', 'relay')),"
	"  why TEXT NOT NULL DEFAULT '',"
	"  updated INTEGER NOT NULL DEFAULT 0,"
	"  direct_failed INTEGER NOT NULL DEFAULT 0"
	");",
	/*
	 * 4 -> 5: the message states of a send that did not go through:
	 * failed (with a reason), held (with a reason), cancelled, expired;
	 * and an expiry time (send --ttl). The CHECK on state can only
	 * change by rebuilding the table: every row is copied with its seq,
	 * the AUTOINCREMENT counter carried over, and pending_messages
	 * rebuilt on the new table first so that no foreign key ever points
	 * at a dropped one. The FTS index keys on seq, which is kept.
	 */
	"CREATE TABLE messages_v4 ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  id TEXT NOT NULL UNIQUE,"
	"  peer TEXT NOT NULL,"
	"  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),"
	"  body TEXT NOT NULL,"
	"  ts_sent INTEGER NOT NULL,"
	"  ts_received INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'delivered',"
	"    'held', 'failed', 'received', 'cancelled', 'expired')),"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  expires INTEGER NOT NULL DEFAULT 0"
	");"
	"INSERT INTO messages_v4 (seq, id, peer, direction, body, ts_sent,"
	"  ts_received, state) SELECT seq, id, peer, direction, body, ts_sent,"
	"  ts_received, state FROM messages ORDER BY seq;"
	"DELETE FROM sqlite_sequence WHERE name = 'messages_v4';"
	"INSERT INTO sqlite_sequence (name, seq) SELECT 'messages_v4', seq"
	"  FROM sqlite_sequence WHERE name = 'messages';"
	"CREATE TABLE pending_v4 ("
	"  id TEXT PRIMARY KEY REFERENCES messages_v4 (id),"
	"  peer TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT NOT NULL DEFAULT ''"
	");"
	"INSERT INTO pending_v4 SELECT id, peer, seq, attempts, next_try, reason"
	"  FROM pending_messages;"
	"DROP TABLE pending_messages;"
	"DROP TABLE messages;"
	"ALTER TABLE messages_v4 RENAME TO messages;"
	"ALTER TABLE pending_v4 RENAME TO pending_messages;"
	"CREATE INDEX messages_peer ON messages (peer, seq);"
	"CREATE INDEX messages_open ON messages (state) WHERE state IN"
	"  ('pending', 'held', 'failed', 'cancelled', 'expired');"
	"CREATE INDEX messages_expires ON messages (expires) WHERE expires > 0;"
	"CREATE INDEX pending_peer ON pending_messages (peer, seq);"
	FTS_TRIGGERS,
	/*
	 * 5 -> 6: the same tables with the state tests written as ORs of
	 * equalities. SQLite evaluates "state IN (list of 3 or more)" in a
	 * CHECK or a partial index's WHERE through an ephemeral b-tree that
	 * it opens, fills and frees in every INSERT or UPDATE of a message
	 * (a quarter of the recipient's CPU in make bench, with a malloc
	 * trim and brk() each time). The copy is migration 5's: every row
	 * with its seq, the AUTOINCREMENT counter, the queue's foreign key.
	 */
	"CREATE TABLE messages_v6 ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  id TEXT NOT NULL UNIQUE,"
	"  peer TEXT NOT NULL,"
	"  direction TEXT NOT NULL CHECK (direction = 'in' OR direction = 'out'),"
	"  body TEXT NOT NULL,"
	"  ts_sent INTEGER NOT NULL,"
	"  ts_received INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL CHECK (state = 'pending' OR state = 'sent' OR"
	"    state = 'delivered' OR state = 'held' OR state = 'failed' OR"
	"    state = 'received' OR state = 'cancelled' OR state = 'expired'),"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  expires INTEGER NOT NULL DEFAULT 0"
	");"
	"INSERT INTO messages_v6 (seq, id, peer, direction, body, ts_sent,"
	"  ts_received, state, reason, expires) SELECT seq, id, peer, direction,"
	"  body, ts_sent, ts_received, state, reason, expires FROM messages"
	"  ORDER BY seq;"
	"DELETE FROM sqlite_sequence WHERE name = 'messages_v6';"
	"INSERT INTO sqlite_sequence (name, seq) SELECT 'messages_v6', seq"
	"  FROM sqlite_sequence WHERE name = 'messages';"
	"CREATE TABLE pending_v6 ("
	"  id TEXT PRIMARY KEY REFERENCES messages_v6 (id),"
	"  peer TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT NOT NULL DEFAULT ''"
	");"
	"INSERT INTO pending_v6 SELECT id, peer, seq, attempts, next_try, reason"
	"  FROM pending_messages;"
	"DROP TABLE pending_messages;"
	"DROP TABLE messages;"
	"ALTER TABLE messages_v6 RENAME TO messages;"
	"ALTER TABLE pending_v6 RENAME TO pending_messages;"
	"CREATE INDEX messages_peer ON messages (peer, seq);"
	"CREATE INDEX messages_open ON messages (state) WHERE (state = 'pending' OR"
	"  state = 'held' OR state = 'failed' OR state = 'cancelled' OR"
	"  state = 'expired');"
	"CREATE INDEX messages_expires ON messages (expires) WHERE expires > 0;"
	"CREATE INDEX pending_peer ON pending_messages (peer, seq);"
	FTS_TRIGGERS,
	/*
	 * 6 -> 7: fewer rows written per message (issue 18); no table is
	 * copied, so every message keeps its row, its seq and the counter.
	 * - The queue is the messages themselves: pending_messages, a
	 *   second table keyed by a random id (an insert and a delete in
	 *   two b-trees per message), gives way to the partial index
	 *   messages_queue over the messages in state pending or held. The
	 *   retry bookkeeping pmsg_pending_note wrote into every queued row
	 *   of a peer is one row per peer in queue_retry, which applies to
	 *   the messages that were queued when it was written (seq <= upto),
	 *   as the old per-row update did. A view keeps the old name for
	 *   anyone who reads the store with sqlite3.
	 * - messages_open becomes messages_ended (failed, cancelled,
	 *   expired): the queued states are counted through messages_queue,
	 *   so queueing and delivering touch one partial index, not two.
	 * - events.msg: a message or delivered event refers to its message
	 *   by seq and stores no JSON; pmsg_events_since prints the JSON
	 *   from the message row, which neither changes once the event is
	 *   written (a received message is never updated, a delivered one
	 *   never again). Older rows keep their JSON (msg NULL). Nothing in
	 *   p2pchatd deletes a message; if a row is deleted anyway, the
	 *   events that refer to it get their JSON written first.
	 */
	"CREATE TABLE queue_retry ("
	"  peer TEXT PRIMARY KEY,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  upto INTEGER NOT NULL DEFAULT 0"
	");"
	/* Every note updated all of a peer's rows: the oldest has the last. */
	"INSERT INTO queue_retry (peer, attempts, next_try, reason, upto)"
	"  SELECT f.peer, f.attempts, f.next_try, f.reason, (SELECT max(g.seq)"
	"  FROM pending_messages g WHERE g.peer = f.peer AND"
	"  g.attempts = f.attempts AND g.next_try = f.next_try AND"
	"  g.reason = f.reason) FROM pending_messages f WHERE f.seq ="
	"  (SELECT min(h.seq) FROM pending_messages h WHERE h.peer = f.peer)"
	"  AND (f.attempts <> 0 OR f.next_try <> 0 OR f.reason <> '');"
	"DROP TABLE pending_messages;"
	"DROP INDEX messages_open;"
	"CREATE INDEX messages_queue ON messages (state, peer, seq) WHERE "
	PSTORE_QUEUED ";"
	"CREATE INDEX messages_ended ON messages (state) WHERE " PSTORE_ENDED ";"
	"CREATE VIEW pending_messages AS SELECT m.id, m.peer, m.seq,"
	"  CASE WHEN m.seq <= r.upto THEN r.attempts ELSE 0 END AS attempts,"
	"  CASE WHEN m.seq <= r.upto THEN r.next_try ELSE 0 END AS next_try,"
	"  CASE WHEN m.seq <= r.upto THEN r.reason ELSE '' END AS reason"
	"  FROM messages m LEFT JOIN queue_retry r ON r.peer = m.peer"
	"  WHERE m.state = 'pending' OR m.state = 'held';"
	"ALTER TABLE events ADD COLUMN msg INTEGER;"
	"CREATE TRIGGER messages_ad_events AFTER DELETE ON messages BEGIN"
	"  UPDATE events SET msg = NULL, data = CASE type WHEN 'message' THEN"
	"    json_object('from', old.peer, 'id', old.id, 'ts', old.ts_sent,"
	"    'text', old.body) ELSE json_object('user', old.peer, 'id', old.id,"
	"    'ts', old.ts_received) END WHERE msg = old.seq;"
	"END;",
	/*
	 * 7 -> 8: message requests. The peers this account accepted (wrote
	 * to, or trusted); messages from anyone else are requests, limited
	 * by limits.stranger_* (counted in requests, one row per stranger)
	 * and shown so in chats. Everyone already written to or verified is
	 * accepted.
	 */
	"CREATE TABLE accepted (peer TEXT PRIMARY KEY) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO accepted (peer) SELECT DISTINCT peer FROM"
	"  messages WHERE direction = 'out';"
	"INSERT OR IGNORE INTO accepted (peer) SELECT name FROM contacts"
	"  WHERE verified <> 0;"
	"CREATE TABLE requests ("
	"  peer TEXT PRIMARY KEY,"
	"  messages INTEGER NOT NULL DEFAULT 0,"
	"  bytes INTEGER NOT NULL DEFAULT 0,"
	"  window_start INTEGER NOT NULL DEFAULT 0,"
	"  window_count INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"INSERT INTO requests (peer, messages, bytes) SELECT peer, count(*),"
	"  sum(length(CAST(body AS BLOB))) FROM messages WHERE direction = 'in'"
	"  AND peer NOT IN (SELECT peer FROM accepted) GROUP BY peer;",
	/*
	 * 8 -> 9: groups (pstore_group.c). A group is its newest signed
	 * membership list (list, sig: as signed by the admin) and the
	 * members it names; member says whether this account is one of
	 * them. A group message is one row of messages with grp set (the
	 * body, ref 0: sent by us with peer = our name, or received from
	 * peer), and at the sender one delivery row per member in the queue
	 * (grp, ref = the body's seq, peer = the member, body empty, id =
	 * the message's id, '/', the member). A row with ref -1 delivers the
	 * group's newest list to peer. Direct messages have grp ''.
	 */
	"CREATE TABLE groups ("
	"  id TEXT PRIMARY KEY,"
	"  title TEXT NOT NULL,"
	"  admin TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  list TEXT NOT NULL,"
	"  sig TEXT NOT NULL,"
	"  member INTEGER NOT NULL DEFAULT 1,"
	"  updated INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"CREATE TABLE group_members ("
	"  grp TEXT NOT NULL,"
	"  user TEXT NOT NULL,"
	"  PRIMARY KEY (grp, user)"
	") WITHOUT ROWID;"
	"ALTER TABLE messages ADD COLUMN grp TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE messages ADD COLUMN ref INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX messages_group ON messages (grp, seq) WHERE grp <> '';",
	/*
	 * 9 -> 10: files (issue 29). One row per file sent or received, by
	 * seq in the order stored; the content is data_dir/files/<sha256>,
	 * shared by every row with that sha256. committed: the bytes the
	 * recipient has written and synced (resumes start there). state
	 * (out) pending | delivered | failed | cancelled; (in) as
	 * peer_file.c writes them. name is the sender's, never a path.
	 */
	"CREATE TABLE files ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  id TEXT NOT NULL UNIQUE,"
	"  peer TEXT NOT NULL,"
	"  direction TEXT NOT NULL CHECK (direction = 'in' OR direction = 'out'),"
	"  name TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  committed INTEGER NOT NULL DEFAULT 0,"
	"  ts INTEGER NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX files_peer ON files (peer, seq);",
	/*
	 * 10 -> 11: a member's delivery row of a group message (ref <> 0)
	 * costs less (make bench, group: ~320 bytes a member): it is neither
	 * noted for the full-text index (its body is empty: a docsize row
	 * and an FTS pass each for nothing) nor in messages_group, which
	 * only the group's own messages (ref 0) need; the rows that deliver
	 * are found through the queue's index. A row never indexed is never
	 * deleted from the index either.
	 */
	"DROP INDEX messages_group;"
	"CREATE INDEX messages_group ON messages (grp, seq) WHERE grp <> '' AND"
	"  ref = 0;"
	"DROP TRIGGER messages_ai;"
	"DROP TRIGGER messages_ad;"
	"CREATE TRIGGER messages_ai AFTER INSERT ON messages WHEN new.ref = 0"
	"  BEGIN"
	"  INSERT INTO fts_pending (seq) VALUES (new.seq);"
	"END;"
	"CREATE TRIGGER messages_ad AFTER DELETE ON messages WHEN old.ref = 0"
	"  BEGIN"
	"  INSERT INTO messages_fts (messages_fts, rowid, body)"
	"    SELECT 'delete', old.seq, old.body WHERE NOT EXISTS"
	"    (SELECT 1 FROM fts_pending WHERE seq = old.seq);"
	"  DELETE FROM fts_pending WHERE seq = old.seq;"
	"END;",
	/*
	 * 11 -> 12: send-file --ttl. expires: unix ms after which a file not
	 * yet delivered is given up (expired), 0 for never.
	 */
	"ALTER TABLE files ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;",
	/*
	 * 12 -> 13: the mailbox (peer_mail.c, issue 28). One row per message
	 * of ours deposited at the gestor for an offline recipient (deposit:
	 * the gestor's id), or refused (deposit 0, reason why, ts when: tried
	 * again later). A pending message with a deposit shows as
	 * 'deposited'; the recipient's receipt makes it delivered.
	 */
	"CREATE TABLE mail_out ("
	"  id TEXT PRIMARY KEY,"
	"  peer TEXT NOT NULL,"
	"  deposit INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  ts INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;",
	/*
	 * 13 -> 14: files that end (issue 29). file_cancels: an outgoing
	 * file cancelled or expired that the recipient has not yet answered
	 * for (it may have been offline): a file-cancel goes to it each time
	 * its link comes up until it does. files_sha: which rows still need
	 * a stored copy (data_dir/files/<sha256> is removed once none does).
	 */
	"CREATE TABLE file_cancels ("
	"  id TEXT PRIMARY KEY,"
	"  peer TEXT NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX files_sha ON files (sha256);",
	/*
	 * 14 -> 15: files received, then deleted with their chat
	 * (chat-delete): their ids and how they ended, so that a sender
	 * that offers one again (it never heard the end) is answered with
	 * that end instead of the file coming again.
	 */
	"CREATE TABLE files_deleted ("
	"  id TEXT PRIMARY KEY,"
	"  peer TEXT NOT NULL,"
	"  state TEXT NOT NULL"
	") WITHOUT ROWID;",
	/*
	 * 15 -> 16: when a deposit expires at the gestor (issue 28), by our
	 * clock (the gestor says how long it keeps it); 0 unknown. Once it
	 * has, the message is pending again (peer_mail_out.c).
	 */
	"ALTER TABLE mail_out ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;",
};
#define PSTORE_VERSION \
	((int)(sizeof(pstore_migrations) / sizeof(pstore_migrations[0])))


const char *const *
pstore_schema(int *n)
{
	*n = PSTORE_VERSION;
	return pstore_migrations;
}

const char *const *
pstore_migrations_for_test(int *n)
{
	return pstore_schema(n);
}
