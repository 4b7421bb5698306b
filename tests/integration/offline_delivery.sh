#!/usr/bin/env bash
# Offline delivery: messages to an offline user wait in the queue and
# arrive, once and in order, when the user comes back; delivery goes on to
# cached addresses while the gestor is down; SIGKILL of the receiver in
# the middle of a stream loses and repeats nothing; send --wait prints the
# id before its daemon can die in the wait; key changes are
# announced and hold messages to verified contacts.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

delivered_count() { ctl "$1" history "$2" --limit 100000 | awk -F'\t' -v d="$3" '$2==d' | wc -l; }

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 online_at_gestor bob online
ctl alice send --wait=10 bob "first contact" >/dev/null || fail "first send"

# bob goes away; alice queues three messages.
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline
for i in 1 2 3; do ctl alice send bob "queued $i" >/dev/null; done
ctl alice pending >"$TMP/pending"
[ "$(wc -l <"$TMP/pending")" = 3 ] || fail "pending: $(cat "$TMP/pending")"
[ "$(cut -f2 "$TMP/pending" | sort -u)" = bob ] || fail "pending users"
[ "$(field alice pending)" = 3 ] || fail "status pending"
expect_exit 3 ctl alice send --wait=0.5 bob "queued 4"
wait_for "a retry recorded" 10 sh -c "$P2PCHATCTL -c $TMP/alice.conf pending | awk -F'\t' '\$3 > 0' | grep -q ."
ctl alice pending | head -1 | cut -f5 | grep -q "^recipient offline" ||
	fail "pending reason: $(ctl alice pending | head -1)"
ctl alice pending | head -1 | cut -f4 | grep -q "^20[0-9-]*T" || fail "pending next_try"

# bob comes back: everything arrives at once, in order, once.
start bob
wait_for "queue drained" 15 sh -c "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
ctl bob history alice | cut -f5 >"$TMP/got"
printf 'first contact\nqueued 1\nqueued 2\nqueued 3\nqueued 4\n' >"$TMP/want"
diff "$TMP/want" "$TMP/got" >/dev/null || fail "order/dups: $(cat "$TMP/got")"

# send --wait whose daemon is killed during the wait: the id was printed
# once the message was stored, exit 4; after the restart it is delivered
# once, and a retry with --id sends nothing twice.
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline
ctl alice send bob --wait=60 "across a crash" >"$TMP/sw" 2>"$TMP/swerr" &
SW=$!
wait_for "send --wait printed the id" 10 grep -Eqx '[0-9a-f]{32}' "$TMP/sw"
stop alice KILL
rc=0; wait "$SW" || rc=$?
[ "$rc" = 4 ] || fail "send --wait, daemon killed: exit $rc ($(cat "$TMP/swerr"))"
crash=$(cat "$TMP/sw")
grep -q "^p2pchatctl: daemon_gone: .*--id $crash" "$TMP/swerr" || fail "daemon_gone: $(cat "$TMP/swerr")"
start alice
[ "$(ctl alice send bob "across a crash" --id "$crash")" = "$crash" ] || fail "retry with --id"
start bob
ctl alice wait "$crash" --timeout 20 >/dev/null || fail "not delivered after the restart"
[ "$(ctl bob history alice | cut -f5 | grep -c '^across a crash$')" = 1 ] ||
	fail "delivered other than once: $(ctl bob history alice | tail -3)"

# The gestor goes down: the cached address still works.
stop g TERM
wait_for "alice sees the gestor down" 10 sh -c "! $P2PCHATCTL -c $TMP/alice.conf status | grep -q '^gestor_state	online$'"
ctl alice send --wait=10 bob "gestor is down" >/dev/null || fail "delivery without the gestor"
start g
wait_for "alice back online" 20 gestor_state_is alice online

# The cache survives a restart of the sender.
stop alice TERM
stop g TERM
start alice
ctl alice send --wait=10 bob "cached after restart" >/dev/null ||
	fail "cached address lost across a restart"
start g
wait_for "bob back online" 20 gestor_state_is bob online
wait_for "alice back online" 20 gestor_state_is alice online

# A stream of messages while the receiver is killed with SIGKILL.
N=150
for i in $(seq 1 $N); do
	ctl alice send bob "stream $i" >/dev/null || fail "send $i"
	if [ "$i" = 50 ] || [ "$i" = 100 ]; then
		stop bob KILL
		start bob
	fi
done
wait_for "stream drained" 30 sh -c "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
ctl bob history alice --limit 100000 | cut -f5 | grep '^stream ' >"$TMP/got"
seq 1 $N | sed 's/^/stream /' >"$TMP/want"
diff "$TMP/want" "$TMP/got" >"$TMP/diff" || fail "stream after SIGKILL: $(head "$TMP/diff")"
[ "$(ctl alice history bob --limit 100000 | cut -f3 | sort -u)" = delivered ] ||
	fail "not every sent message is delivered"

# Key change: bob logs in from a new daemon. alice trusted the old key.
ctl alice trust bob "$(field bob fingerprint)" >/dev/null || fail "trust"
watch_bg alice "$TMP/alice.events"
stop bob TERM
start_peer bob2 g
printf '%s\n' "$(cat "$(password bob)")" | ctl bob2 login bob >/dev/null || fail "bob2 login"
wait_for "bob2 online" 10 online_at_gestor bob online
ctl alice lookup bob >"$TMP/lookup"
grep -q "^warning	key changed" "$TMP/lookup" || fail "lookup warning: $(cat "$TMP/lookup")"
wait_for "key-changed event" 5 grep -q "key-changed	-	bob" "$TMP/alice.events"
held=$(ctl alice send bob "to the new key")
wait_for "message held" 10 sh -c "$P2PCHATCTL -c $TMP/alice.conf pending | grep -q '^$held.*held'"
ctl alice history bob | tail -1 | cut -f3 | grep -q held || fail "history state held"
expect_exit 1 ctl alice trust bob sha256:0000000000000000000000000000000000000000000000000000000000000000
ctl alice trust bob "$(field bob2 fingerprint)" >/dev/null || fail "trust new key"
ctl alice wait "$held" --timeout 10 >/dev/null || fail "held message not released"
ctl bob2 history alice | grep -q "to the new key" || fail "bob2 did not get it"
log "ok"
