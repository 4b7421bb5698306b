#!/usr/bin/env bash
# A logged-out daemon speaks for nobody: it never sends a hello without a
# name (one was refused as bad_frame), opens no link to other peers, and
# its queued messages wait, saying why, until a login sends them. Calls
# to it are refused with not_logged_in until then.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer bob g
for u in alice bob; do register "$u" >/dev/null; done
ctl alice lookup bob >/dev/null || fail "alice looks bob up"
ctl bob lookup alice >/dev/null || fail "bob looks alice up"

# bob away: alice's message waits in her queue; then she logs out.
stop bob
ctl alice send bob "queued while bob is away" >/dev/null || fail "send"
ctl alice logout || fail "logout"
start bob
wait_for "bob online" 10 gestor_state_is bob online
# alice knows bob's address, but waits for a login and says so.
wait_for "alice says why her message waits" 10 sh -c \
    "$P2PCHATCTL -c $TMP/alice.conf pending | grep -q 'not logged in'"
# bob writes to alice: refused while she is logged out, kept in his queue.
ctl bob send alice "to a logged-out alice" >/dev/null || fail "bob's send"
wait_for "bob told alice has no account now" 10 sh -c \
    "$P2PCHATCTL -c $TMP/bob.conf pending | grep -q 'not_logged_in'"
grep -q "bad_frame" "$TMP/bob.log" "$TMP/alice.log" && fail "a hello was refused as bad_frame"
grep -q "peer_msg: alice connected from" "$TMP/bob.log" && fail "logged-out alice opened a link to bob"

# A login sends what waited, both ways.
ctl alice login alice --password-file "$(password alice)" >/dev/null || fail "login"
wait_for "bob got alice's queued message" 15 sh -c \
    "$P2PCHATCTL -c $TMP/bob.conf history alice | grep -q 'queued while bob is away'"
wait_for "alice got bob's message" 15 sh -c \
    "$P2PCHATCTL -c $TMP/alice.conf history bob | grep -q 'to a logged-out alice'"
wait_for "alice's queue drained" 10 sh -c "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
log "ok"
