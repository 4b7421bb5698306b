#!/usr/bin/env bash
# chat-delete USER deletes a chat with its history (messages both ways,
# their events, search index, unread count), asked twice on a terminal or
# --yes; it refuses while messages to USER wait for delivery unless
# --cancel-pending, which cancels them as `cancel` does (never delivered).
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools script python3

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online
ctl alice send --wait=10 bob "one" >/dev/null
ctl bob send --wait=10 alice "two zebra" >/dev/null

# Not a terminal and no --yes: a usage error, nothing deleted.
expect_exit 2 ctl alice chat-delete bob
grep -q "add --yes to confirm" "$TMP/err" || fail "no --yes: $(cat "$TMP/err")"
[ "$(ctl alice history bob | wc -l)" = 2 ] || fail "deleted without --yes"

# A message still to go to bob: refused, and it says what to do.
stop bob TERM
wait_for "bob offline" 10 sh -c "$P2PCHATCTL -c $TMP/alice.conf lookup bob | grep -q '^online	offline'"
id=$(ctl alice send bob "queued for bob")
expect_exit 1 ctl alice chat-delete bob --yes
grep -q "^p2pchatctl: pending_messages: 1 message to bob still waits for delivery.*--cancel-pending" "$TMP/err" ||
	fail "pending: $(cat "$TMP/err")"
ctl alice pending | grep -q "^$id	" || fail "the queued message is gone: $(ctl alice pending)"

# --cancel-pending: cancelled (watchers are told), then all of it deleted.
watch_bg alice "$TMP/ev"
ctl alice chat-delete bob --yes --cancel-pending >"$TMP/out" || fail "chat-delete"
grep -q "^deleted	3$" "$TMP/out" && grep -q "^cancelled	1$" "$TMP/out" ||
	fail "chat-delete output: $(cat "$TMP/out")"
wait_for "cancelled event" 10 grep -q "	cancelled	.*	$id	" "$TMP/ev"
[ -z "$(ctl alice history bob)" ] || fail "history left: $(ctl alice history bob)"
ctl alice chats | grep -q "^bob	" && fail "chat left: $(ctl alice chats)"
[ -z "$(ctl alice search zebra)" ] || fail "search still finds it"
[ -z "$(ctl alice pending)" ] || fail "pending left: $(ctl alice pending)"
ctl alice export | grep -q '"bob"' && fail "export still has bob's messages"
python3 - "$TMP/alice/peer.db" <<'PY' || fail "the store still holds the chat"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
left = db.execute("SELECT (SELECT count(*) FROM messages WHERE peer = 'bob')"
    " + (SELECT count(*) FROM events WHERE msg IS NULL AND data LIKE '%bob%')"
    " + (SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'zebra')"
    " + (SELECT count(*) FROM sqlite_master WHERE name = 'messages_ad_events')"
    " - 1").fetchone()[0]
sys.exit(0 if left == 0 else 1)
PY
ctl alice fingerprint bob >/dev/null || fail "the contact's key went with the chat"

# The cancelled message never reaches bob; a new chat starts as usual.
start bob
ctl alice send --wait=20 bob "after" >/dev/null || fail "send after chat-delete"
ctl bob history alice | grep -q "queued for bob" && fail "a cancelled message was delivered"
[ "$(ctl alice history bob | cut -f5)" = "after" ] || fail "new chat: $(ctl alice history bob)"

# On a terminal: asked twice, the second time for the name.
printf 'y\nbobby\n' | TERM=dumb script -qec \
    "$P2PCHATCTL -c $TMP/alice.conf chat-delete bob" /dev/null >"$TMP/tty1" 2>&1 || true
grep -q "Delete the chat with bob" "$TMP/tty1" && grep -q "not_confirmed: nothing deleted" "$TMP/tty1" ||
	fail "wrong name: $(cat "$TMP/tty1")"
[ "$(ctl alice history bob | wc -l)" = 1 ] || fail "deleted on a wrong name"
printf 'y\nbob\n' | TERM=dumb script -qec \
    "$P2PCHATCTL -c $TMP/alice.conf chat-delete bob" /dev/null >"$TMP/tty2" 2>&1 || true
grep -q "Type bob to delete the chat" "$TMP/tty2" || fail "second question: $(cat "$TMP/tty2")"
[ -z "$(ctl alice history bob)" ] || fail "not deleted after two yeses: $(cat "$TMP/tty2")"
log "ok"
