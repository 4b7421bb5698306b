#!/usr/bin/env bash
# A ready link sends from memory what the group commit stored (the
# window is not refilled by a store query each time: peer_window.c).
# That memory must never send what the store no longer has pending:
# messages cancelled or expired while they sit in it (the window full,
# the recipient stopped) are never delivered, the others are, once and
# in order; past the memory's bound the store takes over; and a flood
# of 20 000 messages with the recipient killed and restarted mid-flow
# arrives complete, once each, in order.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

# The link must outlive the stop below (no "no answer" drop).
HB_INTERVAL=1 HB_TIMEOUT=60
N=${WINDOW_FLOOD:-20000}

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online
ctl alice send --wait=20 bob "first" >/dev/null || fail "first send"

# stopped TAG HOW: bob stops answering; 300 messages are sent: 256 go out
# unacknowledged (the window), the rest wait in alice's memory, and the
# 280th ends there (HOW: cancel, or expire by --ttl). Then bob resumes:
# he gets all the others, once each, in order, and never the 280th.
stopped() {
	local tag=$1 how=$2 i id gone last
	kill -STOP "${PIDS[bob]}"
	: >"$TMP/$tag.ids"
	for i in $(seq 1 300); do
		if [ "$i" = 280 ] && [ "$how" = expire ]; then
			id=$(ctl alice send --ttl 0.5 bob "$tag $i") || fail "send $i"
		else
			id=$(ctl alice send bob "$tag $i") || fail "send $i"
		fi
		printf '%s\n' "$id" >>"$TMP/$tag.ids"
	done
	gone=$(sed -n 280p "$TMP/$tag.ids")
	if [ "$how" = cancel ]; then
		ctl alice cancel "$gone" >"$TMP/c" || fail "cancel a message not yet sent: $(cat "$TMP/c")"
		grep -q "	cancelled" "$TMP/c" || fail "cancel: $(cat "$TMP/c")"
		expect_exit 1 ctl alice cancel "$(sed -n 10p "$TMP/$tag.ids")"
		grep -q "already sent" "$TMP/err" || fail "cancel in flight: $(cat "$TMP/err")"
	else
		expect_exit 1 ctl alice wait "$gone" --timeout 20
		grep -q "expired" "$TMP/err" || fail "ttl: $(cat "$TMP/err")"
	fi
	last=$(sed -n 300p "$TMP/$tag.ids")
	kill -CONT "${PIDS[bob]}"
	ctl alice wait "$last" --timeout 60 >/dev/null || fail "$tag: not delivered after the stop"
	wait_for "alice's queue drained" 60 sh -c "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
	! grep -q "no answer from" "$TMP/alice.log" || fail "the link was dropped during the stop"
	seq 1 300 | grep -vx 280 | sed "s/^/$tag /" >"$TMP/want"
	ctl bob history alice --limit 1000 | cut -f5 | grep "^$tag " >"$TMP/got" || true
	diff "$TMP/want" "$TMP/got" >"$TMP/diff" || fail "$tag: bob got: $(head -5 "$TMP/diff")"
	[ "$(ctl alice history bob --limit 1000 | awk -F'\t' -v id="$gone" '$4 == id { print $3 }')" != delivered ] ||
		fail "$tag: the 280th was delivered"
	log "$tag: the 280th never sent, the 299 others once each, in order"
}

stopped c cancel
stopped e expire

# The memory's bound (PM_WQ_BYTES, 16 MiB for all links) passed while bob
# is stopped: what does not fit stays in the store, and is sent from
# there, in its place.
kill -STOP "${PIDS[bob]}"
head -c 60000 /dev/zero | tr '\0' x >"$TMP/big"
for i in $(seq 1 600); do
	{ printf 'o %d ' "$i"; cat "$TMP/big"; } | ctl alice send bob - >"$TMP/last" ||
		fail "big send $i"
done
kill -CONT "${PIDS[bob]}"
ctl alice wait "$(cat "$TMP/last")" --timeout 120 >/dev/null || fail "big: not delivered"
ctl bob history alice --limit 1000 | cut -f5 | awk '$1 == "o" { print $2 }' >"$TMP/got"
seq 1 600 | diff - "$TMP/got" >"$TMP/diff" || fail "big: bob got: $(head -5 "$TMP/diff")"
log "600 messages of 60 kB past the memory's bound: once each, in order"

# A flood over one control connection; bob killed and restarted mid-flow.
seq 1 "$N" | sed 's/^/f /' >"$TMP/flood"
ctl alice chat bob <"$TMP/flood" >/dev/null 2>"$TMP/chat.err" &
chat=$!
wait_for "bob receiving the flood" 120 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf stats | awk -F'\t' '\$1 == \"received\" { print \$2 }') -ge $((1200 + N / 4)) ]"
stop bob KILL
start bob
wait "$chat" || true
wait_for "the flood drained" 300 sh -c "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
ctl bob history alice --limit 1000000 | cut -f5 | grep '^f ' >"$TMP/got"
diff "$TMP/flood" "$TMP/got" >"$TMP/diff" ||
	fail "flood: bob's messages differ from what was sent: $(head -5 "$TMP/diff") ($(wc -l <"$TMP/got") lines)"
log "ok: cancel and expiry in memory, $N messages through a restart, once each, in order"
