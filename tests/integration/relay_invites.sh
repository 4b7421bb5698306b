#!/usr/bin/env bash
# Relay invitations at their target (bob, who publishes no address, so
# everyone reaches him through the gestor's relay):
#   - relayed hellos are charged to the account that asked for the
#     session, not to the relay's address that they all share: mallory's
#     ten relayed hellos under made-up names are refused at once (the
#     gestor told bob the session was mallory's), and alice, new to bob,
#     still gets through;
#   - invitations from contacts always find a place: 34 strangers ask
#     for two sessions each with bob (68 invitations, more than all of
#     his places), and alice, whom bob has written to, is still relayed.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

need_tools python3 certtool
LIMITS="registrations_per_address_per_hour = 100;" start_gestor g \
    'relay = { listen = "127.0.0.1:0"; pairing_timeout = 10.0; };'
LIMITS="idle_timeout = 1.0;" start_peer alice g 'relay = { use = "always"; };'
start_peer bob g 'advertise = "none"; relay = { use = "always"; };'
register alice >/dev/null
register bob >/dev/null
wait_for "alice online" 10 gestor_state_is alice online
wait_for "bob online" 10 gestor_state_is bob online

# Ten made-up names through the relay, in sessions mallory asked for.
client_cert mallory
p2ptool relay-hellos "${PORT_OF[g]}" "$TMP/mallory.crt" "$TMP/mallory.key" \
    mallory mallory-pw-1234 bob f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 >"$TMP/hellos" ||
	fail "relay-hellos: $(cat "$TMP/hellos")"
[ "$(grep -c ': not_authenticated$' "$TMP/hellos")" = 10 ] ||
	fail "made-up names through mallory's sessions: $(cat "$TMP/hellos")"
# alice is new to bob: her key is looked up, and not refused.
ctl alice send --wait=20 bob "first words" >/dev/null || fail "alice -> bob after mallory"
! grep -q "too many hellos to verify" "$TMP/bob.log" ||
	fail "bob refused a hello: $(grep "too many hellos" "$TMP/bob.log")"

# bob writes back: alice is his contact now. Her link to him closes when
# idle (1 s), so her next message needs a new invitation.
ctl bob send --wait=20 alice "welcome" >/dev/null || fail "bob -> alice"
wait_for "alice's link to bob to close" 10 grep -q \
    "peer_msg: bob: closing the idle link" "$TMP/alice.log"
# 34 strangers, two invitations each: more than all of bob's places.
for i in $(seq 1 34); do client_cert "s$i"; done
p2ptool relay-strangers "${PORT_OF[g]}" "$TMP" s 34 bob 2 >"$TMP/strangers" ||
	fail "relay-strangers: $(cat "$TMP/strangers")"
grep -qx "ok=68 refused=0" "$TMP/strangers" || fail "strangers: $(cat "$TMP/strangers")"
wait_for "bob to turn strangers away" 10 grep -q \
    "ignoring a relay invitation from s" "$TMP/bob.log"
# While the strangers' invitations wait (pairing_timeout = 10 s), alice's
# finds a place.
ctl alice send --wait=8 bob "through the crowd" >/dev/null ||
	fail "alice -> bob while strangers hold bob's invitations"
! grep -q "ignoring a relay invitation from alice" "$TMP/bob.log" ||
	fail "bob ignored alice: $(grep "invitation from alice" "$TMP/bob.log")"
log "ok"
