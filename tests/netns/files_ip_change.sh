#!/usr/bin/env bash
# A recipient changes address in the middle of a file (issue 29): the
# sender's connection to the old address goes quiet, is given up, and the
# file goes on at the new address from the offset the recipient committed
# (not from zero), arriving byte for byte.
set -eu
NETNS_LIB=${TESTS_LIB:+$(dirname "$TESTS_LIB")/netns/lib.sh}
. "${NETNS_LIB:-$(dirname "$0")/lib.sh}"

at_gestor() { ctl g lookup bob | grep -q "^addr	$1\$"; }
state_of() { ctl "$1" files | awk -F'\t' -v id="$2" '$5 == id { print $4 }'; }
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }
past() {
	local o
	o=$(ctl bob files | awk -F'\t' -v id="$1" '$5 == id { print $7 }')
	[ -n "$o" ] && [ "$o" -ge "$2" ]
}

net_setup
net_gestor g
net_peer alice 2 10
net_peer bob 3 10 "0.0.0.0:$PEER_PORT"	# bob moves: the wildcard
for u in alice bob; do register "$u" >/dev/null; done
for u in alice bob; do wait_for "$u online" 10 online_at_gestor "$u" online; done
send_rec bob alice "send me the file"	# alice becomes bob's contact
wait_for "bob's message delivered" 20 pending_empty bob

head -c $((64 * 1048576)) /dev/urandom >"$TMP/f"
id=$(ctl alice send-file bob "$TMP/f")
# The sender is frozen as soon as bob has committed a part (a file goes
# at ~300 MiB/s now), bob moves, and the sender goes on.
freeze_past() { past "$@" && kill -STOP "${PIDS[alice]}"; }
wait_for "a part committed at bob" 60 freeze_past "$id" 1
set_addr bob 20
wait_for "the gestor learns bob's new address" 30 at_gestor 198.18.3.20
kill -CONT "${PIDS[alice]}"
wait_for "the file at bob" 120 state_is bob "$id" received
wait_for "delivered at alice" 30 state_is alice "$id" delivered
grep -q "file $id to bob: resuming at [1-9]" "$TMP/alice.log" ||
	fail "not resumed from the committed offset: $(grep "$id" "$TMP/alice.log")"
cmp "$TMP/f" "$TMP/bob/files/$(sha256sum <"$TMP/f" | cut -d' ' -f1)" ||
	fail "differs after the move"
log "ok"
