#!/usr/bin/env bash
# How files end (issue 29): a stored copy in data_dir/files/ is removed
# once no file needs it: the sender's when every file with that content
# is delivered, rejected, cancelled or expired; the recipient's when the
# chat is deleted (chat-delete), not before. What a crash left behind goes
# at the next start. A file cancelled while its recipient is offline is
# cancelled there too when it comes back.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer bob g "files = { accept_size = 100000; };"
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online
ctl bob send --wait=20 alice "send me files" >/dev/null

state_of() { ctl "$1" files | awk -F'\t' -v id="$2" '$5 == id { print $4 }'; }
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }
sha() { sha256sum <"$1" | cut -d' ' -f1; }
stored() { [ -e "$TMP/$1/files/$2" ]; }
gone() { ! stored "$1" "$2"; }

# Delivered: the sender's copy goes, the recipient's stays.
head -c 50000 /dev/urandom >"$TMP/a"
id=$(ctl alice send-file --wait=30 bob "$TMP/a") || fail "send-file a"
wait_for "alice's copy of a removed" 10 gone alice "$(sha "$TMP/a")"
stored bob "$(sha "$TMP/a")" || fail "bob's copy of a is gone"
expect_exit 1 ctl alice save "$id" "$TMP/a.out"
grep -q '^p2pchatctl: not_stored: ' "$TMP/err" || fail "save of a sent file: $(cat "$TMP/err")"
ctl bob save "$id" - | cmp - "$TMP/a" || fail "bob's save of a"

no_cancels() {
	[ "$(python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM file_cancels").fetchone()[0])' \
	    "$TMP/alice/peer.db")" = 0 ]
}

# Cancelled while bob is away: told when he is back; his answer ends
# alice's notice (it is not sent again).
head -c 200000 /dev/urandom >"$TMP/big"
big=$(sha "$TMP/big")
id1=$(ctl alice send-file bob "$TMP/big")
wait_for "the first waiting at bob" 30 state_is bob "$id1" waiting
stop bob TERM
ctl alice cancel "$id1" >/dev/null
wait_for "alice's copy of big removed" 10 gone alice "$big"
start bob
wait_for "the cancel reaches bob" 30 state_is bob "$id1" cancelled
ctl bob files alice | grep -q "cancelled by the sender" || fail "bob's reason: $(ctl bob files alice)"
wait_for "alice's notice answered" 10 no_cancels

# One content sent twice: the copy stays while one of them still goes.
# The second expires (--ttl) while bob is away: told when he is back.
id2=$(ctl alice send-file bob "$TMP/big")
id3=$(ctl alice send-file --ttl 6 bob "$TMP/big")
wait_for "the second waiting at bob" 30 state_is bob "$id2" waiting
ctl alice cancel "$id2" >/dev/null
wait_for "the third waiting at bob" 30 state_is bob "$id3" waiting
stored alice "$big" || fail "alice's copy went while $id3 still goes"
stop bob TERM
wait_for "the third expired" 20 state_is alice "$id3" expired
wait_for "alice's copy of big removed again" 10 gone alice "$big"
start bob
wait_for "the expiry reaches bob" 30 state_is bob "$id3" cancelled
wait_for "alice's notices answered" 10 no_cancels

# chat-delete removes the chat's files and, then, their stored copies; a
# file still under way counts as pending. One cancelled so while alice is
# away is not taken again when she offers it anew: she is told it ended.
id4=$(ctl alice send-file bob "$TMP/big")
wait_for "the fourth waiting at bob" 30 state_is bob "$id4" waiting
stop alice TERM
expect_exit 1 ctl bob chat-delete alice --yes
grep -q "^p2pchatctl: pending_messages: " "$TMP/err" || fail "chat-delete, a file under way: $(cat "$TMP/err")"
ctl bob chat-delete alice --yes --cancel-pending >"$TMP/del" || fail "chat-delete: $(cat "$TMP/del")"
[ -z "$(ctl bob files alice)" ] || fail "bob's files left: $(ctl bob files alice)"
[ -z "$(ctl bob history alice)" ] || fail "bob's history left: $(ctl bob history alice)"
wait_for "bob's copy of a removed" 10 gone bob "$(sha "$TMP/a")"
start alice
wait_for "alice told the fourth ended" 30 state_is alice "$id4" cancelled
[ -z "$(ctl bob files alice)" ] || fail "the fourth came again: $(ctl bob files alice)"

# What a crash left: a copy no file names, a partial copy, a partial
# receipt of no file; all gone at the next start.
stop alice KILL
zero=$(printf '%064d' 0)
: >"$TMP/alice/files/$zero"
: >"$TMP/alice/files/.part-AbCdEf"
: >"$TMP/alice/files/.gone-7-$zero"
: >"$TMP/alice/files/.in-0123456789abcdef0123456789abcdef"
start alice
wait_for "the leftovers removed" 10 sh -c "[ -z \"\$(ls -A '$TMP/alice/files')\" ]"
stop_clean alice
stop_clean bob
log "PASS"
