#!/usr/bin/env bash
# watch and chat end with exit 1 and a message when the daemon goes away
# (kill -9, shutdown), so that a bot under Restart=on-failure is
# restarted; exit 0 only on their own clean end (a signal to p2pchatctl,
# end of input). A watch whose reader left ends by SIGPIPE.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
register alice >/dev/null

# watch, daemon killed: 1, "daemon_gone" on stderr.
watch_bg alice "$TMP/w1" 2>"$TMP/w1.err"
stop alice KILL
rc=0; wait "$WATCH_PID" || rc=$?
[ "$rc" = 1 ] || fail "watch after kill -9: exit $rc"
grep -q "^p2pchatctl: daemon_gone: " "$TMP/w1.err" || fail "watch stderr: $(cat "$TMP/w1.err")"

# watch, daemon shut down: 1 as well.
start alice
watch_bg alice "$TMP/w2" 2>"$TMP/w2.err"
ctl alice shutdown
rc=0; wait "$WATCH_PID" || rc=$?
[ "$rc" = 1 ] || fail "watch after shutdown: exit $rc"
wait "${PIDS[alice]}" 2>/dev/null || true
unset "PIDS[alice]"

# watch, SIGTERM to p2pchatctl itself: its own clean end, 0.
start alice
before=$(grep -c "ctlsock: watch" "$TMP/alice.log" || true)
"$P2PCHATCTL" -c "$TMP/alice.conf" watch >"$TMP/w3" 2>"$TMP/w3.err" &
W=$!
wait_for "watch subscribed" 10 sh -c "[ \$(grep -c 'ctlsock: watch' '$TMP/alice.log') -gt $before ]"
kill -TERM "$W"
rc=0; wait "$W" || rc=$?
[ "$rc" = 0 ] || fail "watch after SIGTERM: exit $rc ($(cat "$TMP/w3.err"))"

# chat, daemon killed while it waits for input: 1.
mkfifo "$TMP/in"
before=$(grep -c "ctlsock: watch" "$TMP/alice.log" || true)
"$P2PCHATCTL" -c "$TMP/alice.conf" chat bob <"$TMP/in" >"$TMP/c1" 2>"$TMP/c1.err" &
C=$!
exec 3>"$TMP/in"
wait_for "chat subscribed" 10 sh -c "[ \$(grep -c 'ctlsock: watch' '$TMP/alice.log') -gt $before ]"
stop alice KILL
rc=0; wait "$C" || rc=$?
exec 3>&-
[ "$rc" = 1 ] || fail "chat after kill -9: exit $rc"
grep -q "^p2pchatctl: daemon_gone: " "$TMP/c1.err" || fail "chat stderr: $(cat "$TMP/c1.err")"

# chat, end of input: 0.
start alice
rc=0; ctl alice chat bob </dev/null >/dev/null 2>"$TMP/c2.err" || rc=$?
[ "$rc" = 0 ] || fail "chat at end of input: exit $rc ($(cat "$TMP/c2.err"))"

# watch whose reader went away: ends by SIGPIPE at its next event, like
# every filter (141 under pipefail), instead of exit 0.
start_peer bob g
register bob >/dev/null
wait_for "alice online" 10 gestor_state_is alice online
(set -o pipefail; rc=0; ctl alice watch --since now | head -n 1 >/dev/null ||
    rc=$?; echo "$rc" >"$TMP/wrc") &
wait_for "watch gone with its reader" 20 sh -c "$P2PCHATCTL -c $TMP/bob.conf \
    send --wait=10 alice 'to a reader that left' >/dev/null; [ -s $TMP/wrc ]"
[ "$(cat "$TMP/wrc")" = 141 ] || fail "watch without a reader: exit $(cat "$TMP/wrc")"
log "ok"
