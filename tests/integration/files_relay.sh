#!/usr/bin/env bash
# A file through the gestor's relay (issue 29): alice has relay.use =
# "always", so the file travels on the relayed link messages take, and
# arrives byte for byte, checked; alice's lookup says the route was the
# relay.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g 'relay = { listen = "127.0.0.1:0"; session_rate = 8388608; };'
start_peer alice g 'relay = { use = "always"; };'
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online
ctl bob send --wait=20 alice "send me files" >/dev/null

head -c $((3 * 1048576 + 12345)) /dev/urandom >"$TMP/f"
id=$(ctl alice send-file --wait=60 bob "$TMP/f") || fail "send-file through the relay"
ctl alice lookup bob >"$TMP/lk"
grep -q "^route	relay$" "$TMP/lk" || fail "alice's route: $(cat "$TMP/lk")"
ctl bob save "$id" "$TMP/f.out" || fail "save"
cmp "$TMP/f" "$TMP/f.out" || fail "differs through the relay"
stop_clean alice
log "PASS"
