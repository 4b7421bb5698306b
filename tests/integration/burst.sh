#!/usr/bin/env bash
# A burst of 1000 messages arrives complete, in order, without duplicates:
# undisturbed, with the receiver killed (SIGKILL) and restarted mid-burst,
# and with the sender killed and restarted mid-burst. Body limits: Unicode,
# the maximum size, oversize and empty bodies.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

N=${BURST:-1000}

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online

# send_burst TAG COUNT [KILL_AT WHO]: ids acknowledged by send, in order.
send_burst() {
	local tag=$1 n=$2 kill_at=${3:-0} who=${4:-} i id
	: >"$TMP/$tag.ids"
	for i in $(seq 1 "$n"); do
		if ! id=$(ctl alice send bob "$tag $i" 2>/dev/null); then
			# The sender is down: this message was never acknowledged.
			continue
		fi
		printf '%s\n' "$id" >>"$TMP/$tag.ids"
		if [ "$i" = "$kill_at" ]; then
			stop "$who" KILL
			start "$who"
		fi
	done
}

# check TAG: every acknowledged id at bob exactly once, in send order,
# and delivered at alice.
check() {
	local tag=$1
	wait_for "$tag drained" 60 sh -c "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
	ctl bob history alice --limit 1000000 | awk -F'\t' -v t="$tag" \
	    'index($5, t " ") == 1 { print $4 }' >"$TMP/$tag.got"
	diff "$TMP/$tag.ids" "$TMP/$tag.got" >"$TMP/$tag.diff" ||
		fail "$tag: received ids differ from acknowledged ids: $(head -5 "$TMP/$tag.diff")"
	ctl alice history bob --limit 1000000 | awk -F'\t' -v t="$tag" \
	    'index($5, t " ") == 1 && $3 != "delivered"' >"$TMP/$tag.undelivered"
	[ ! -s "$TMP/$tag.undelivered" ] || fail "$tag: not delivered: $(head -3 "$TMP/$tag.undelivered")"
	log "$tag: $(wc -l <"$TMP/$tag.ids") messages, all once, in order"
}

send_burst plain "$N"
check plain
send_burst rxkill "$N" $((N / 2)) bob
check rxkill
send_burst txkill "$N" $((N / 3)) alice
check txkill

# Bodies: Unicode and the size limit (65536 bytes by default).
ctl alice send --wait=10 bob "héllo wörld ✓ 你好 🎉" >/dev/null || fail "unicode"
ctl bob history alice --limit 1 | grep -q "héllo wörld ✓ 你好 🎉$" || fail "unicode round trip"
head -c 65536 /dev/zero | tr '\0' 'x' >"$TMP/max"
ctl alice send --wait=10 bob - <"$TMP/max" >/dev/null || fail "a max-size body was refused"
[ "$(ctl bob history alice --limit 1 | cut -f5 | tr -d '\n' | wc -c)" = 65536 ] || fail "max-size body changed"
head -c 65537 /dev/zero | tr '\0' 'x' >"$TMP/over"
expect_exit 1 ctl alice send bob - <"$TMP/over"
grep -q invalid_argument "$TMP/err" || fail "oversize message: $(cat "$TMP/err")"
expect_exit 1 ctl alice send bob ""
printf '\n' | { expect_exit 1 ctl alice send bob -; }
log "ok"
