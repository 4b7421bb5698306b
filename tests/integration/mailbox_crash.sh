#!/usr/bin/env bash
# The mailbox through crashes (issue 28): the gestor killed with SIGKILL
# while alice deposits 300 messages for offline bob, then restarted; alice
# goes on (what was not answered is deposited again) and stops; bob logs
# in and has every message exactly once, in order. Then alice herself is
# killed with SIGKILL mid-deposit and restarted: the same; and again,
# three times at random moments.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

deposited_at_least() { [ "$(field alice deposited)" -ge "$1" ]; }

start_gestor g
start_peer alice g "mailbox = { after = 0.2; };"
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 online_at_gestor bob online
ctl alice send --wait=10 bob "first contact" >/dev/null || fail "first send"
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline

seq 1 300 | sed 's/^/crash /' | ctl alice send bob --batch >/dev/null
wait_for "deposits under way" 30 deposited_at_least 10
stop g KILL
at=$(field alice deposited)
start g
wait_for "all deposited" 60 deposited_at_least 300
log "the gestor killed after $at of 300 deposits"
stop_clean alice
start bob
wait_for "bob has them" 60 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf history alice --limit 100000 | wc -l) -ge 301 ]"
{ echo "first contact"; seq 1 300 | sed 's/^/crash /'; } >"$TMP/want"
ctl bob history alice --limit 100000 | cut -f5 >"$TMP/got"
diff "$TMP/want" "$TMP/got" >"$TMP/diff" || fail "bob's history: $(head -5 "$TMP/diff")"

stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline
start alice
wait_for "alice's queue empty (receipts)" 30 sh -c "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
seq 1 300 | sed 's/^/sender crash /' | ctl alice send bob --batch >/dev/null
wait_for "deposits under way" 30 deposited_at_least 10
stop alice KILL
start alice
wait_for "all deposited after the restart" 60 deposited_at_least 300
stop_clean alice
start bob
wait_for "bob has them all" 60 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf history alice --limit 100000 | wc -l) -ge 601 ]"
seq 1 300 | sed 's/^/sender crash /' >>"$TMP/want"
ctl bob history alice --limit 100000 | cut -f5 >"$TMP/got"
diff "$TMP/want" "$TMP/got" >"$TMP/diff" || fail "bob's history after alice's crash: $(head -5 "$TMP/diff")"

# alice killed with SIGKILL three times at random moments of her
# deposits (the moments are logged): the same.
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline
start alice
wait_for "alice's queue empty (receipts again)" 30 sh -c "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
seq 1 200 | sed 's/^/random crash /' | ctl alice send bob --batch >/dev/null
moments=""
for k in 1 2 3; do
	wait_for "deposits under way ($k)" 30 deposited_at_least $((k * 5))
	ms=$((RANDOM % 300))
	moments="$moments${moments:+,} $ms"
	sleep "0.$(printf '%03d' "$ms")"	# the random moment, not a wait
	stop alice KILL
	start alice
done
log "alice killed at${moments} ms after deposits were under way"
wait_for "all 200 deposited" 60 deposited_at_least 200
stop_clean alice
start bob
wait_for "bob has the 200" 60 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf history alice --limit 100000 | wc -l) -ge 801 ]"
seq 1 200 | sed 's/^/random crash /' >>"$TMP/want"
ctl bob history alice --limit 100000 | cut -f5 >"$TMP/got"
diff "$TMP/want" "$TMP/got" >"$TMP/diff" || fail "bob's history after random kills (${moments} ms): $(head -5 "$TMP/diff")"
log "ok"
