#!/usr/bin/env bash
# A file whose check passed just before the recipient was killed (found
# by files_chaos.sh): the check moves the partial file's bytes into the
# store (or drops them, the same content being stored already), then the
# loop writes the state received; SIGKILL between the two left the row
# receiving with every byte committed and no partial file. The next
# offer made a new, empty partial file of that size: zeros, which failed
# the check, and the file was `failed` at both sides for good. Here that
# state is made by hand (kill -9 cannot aim at the window): the file is
# then received from what the store holds. A partial file gone mid-way
# (bytes committed, less than all) starts over, never from zeros.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools sqlite3

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 online_at_gestor bob online
ctl bob send --wait=20 alice "send me files" >/dev/null || fail "first send"

state_of() { ctl "$1" files | awk -F'\t' -v id="$2" '$5 == id { print $4 }'; }
delivered() { [ "$(state_of alice "$1")" = delivered ] && [ "$(state_of bob "$1")" = received ]; }
head -c $((6 * 1048576 + 123)) /dev/urandom >"$TMP/f"
sha=$(sha256sum <"$TMP/f" | cut -d' ' -f1)
size=$(stat -c %s "$TMP/f")

# again ID COMMITTED: ID as if bob had been killed with COMMITTED bytes
# of it committed and no partial file, and alice had not heard the end:
# her row pending again, her stored copy back.
again() {
	stop_clean alice
	stop_clean bob
	sqlite3 "$TMP/bob/peer.db" "UPDATE files SET state = 'receiving', committed = $2, reason = '' WHERE id = '$1'"
	sqlite3 "$TMP/alice/peer.db" "UPDATE files SET state = 'pending', reason = '' WHERE id = '$1'"
	cp "$TMP/f" "$TMP/alice/files/$sha"
	rm -f "$TMP/bob/files/.in-$1"
	start bob
	start alice
}

# Every byte committed, the check passed (the bytes are in the store).
id=$(ctl alice send-file bob "$TMP/f")
wait_for "the file delivered" 60 delivered "$id"
again "$id" "$size"
wait_for "the file received again (not failed)" 60 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice.conf files | awk -F'\t' -v id=$id '\$5 == id { print \$4 }')\" != pending ]"
[ "$(state_of bob "$id")" = received ] || fail "bob: $(ctl bob files | grep "$id")"
[ "$(state_of alice "$id")" = delivered ] || fail "alice: $(ctl alice files | grep "$id")"
ctl bob save "$id" "$TMP/out1" && cmp "$TMP/f" "$TMP/out1" || fail "the file differs"

# Part of it committed, the partial file gone: it starts over.
id2=$(ctl alice send-file bob "$TMP/f" --name second)
wait_for "the second delivered" 60 delivered "$id2"
again "$id2" 4194304
wait_for "the second received again (not failed)" 60 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice.conf files | awk -F'\t' -v id=$id2 '\$5 == id { print \$4 }')\" != pending ]"
[ "$(state_of bob "$id2")" = received ] || fail "bob: $(ctl bob files | grep "$id2")"
[ "$(state_of alice "$id2")" = delivered ] || fail "alice: $(ctl alice files | grep "$id2")"
ctl bob save "$id2" "$TMP/out2" && cmp "$TMP/f" "$TMP/out2" || fail "the second differs"
log "ok"
