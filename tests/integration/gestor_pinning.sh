#!/usr/bin/env bash
# Gestor key pinning: a gestor whose key does not match
# gestor.fingerprint is refused; without a pin the first key is trusted
# and recorded, and a changed key (the gestor restarted with a new
# identity on the same address) is refused with a message that says how
# to accept it; `status` shows key_refused and the reason. Accepting the
# new key is one deliberate config change.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

ZERO=sha256:0000000000000000000000000000000000000000000000000000000000000000
gconf() { printf 'gestor = { addresses = [ "127.0.0.1:%s" ]; fingerprint = "%s"; };' \
    "${PORT_OF[g]}" "$1"; }
# json_field NAME KEY: a string member of `status --json`.
json_field() {
	ctl "$1" --json status | sed -n "s/.*\"$2\": *\"\([^\"]*\)\".*/\1/p"
}

start_gestor g
GFP=$(field g fingerprint)

# --- a pin that does not match: refused, and status says why. A daemon
# without an account connects when it has a request: register.
write_conf alice peer "$(gconf $ZERO)"
start alice
rc=0
ctl alice register alice --password-file "$(password alice)" >/dev/null 2>"$TMP/err" &
REG=$!
wait_for "alice refuses the gestor" 10 gestor_state_is alice key_refused
json_field alice gestor_error | grep -q "gestor key $GFP does not match gestor.fingerprint" ||
	fail "gestor_error: $(ctl alice --json status)"
ctl alice status | grep -q "^gestor_error	gestor key $GFP does not match" ||
	fail "status does not show gestor_error: $(ctl alice status)"
grep -q "gestor at 127.0.0.1:${PORT_OF[g]} has key $GFP but gestor.fingerprint pins $ZERO; refusing it" \
    "$TMP/alice.log" || fail "alice did not log the refusal"
wait "$REG" || rc=$?
[ "$rc" = 1 ] && grep -q "gestor_unavailable.*does not match gestor.fingerprint" "$TMP/err" ||
	fail "register through a refused gestor: exit $rc, $(cat "$TMP/err")"
! grep -q "registered alice" "$TMP/g.log" || fail "the refused gestor got the registration"

# --- the right pin: accepted after a reload.
write_conf alice peer "$(gconf "$GFP")"
ctl alice reload >/dev/null || fail "reload"
wait_for "alice accepts the pinned gestor" 10 sh -c "! $P2PCHATCTL -c $TMP/alice.conf status | grep -q '^gestor_state	key_refused$'"
register alice >/dev/null || fail "register with the right pin"

# --- trust on first use: recorded, logged.
write_conf bob peer "$(gconf "")"
start bob
register bob >/dev/null || fail "register bob"
grep -q "trusting gestor key $GFP on first use" "$TMP/bob.log" || fail "bob did not log trust on first use"

# --- the gestor comes back with another identity on the same port.
stop g
mv "$TMP/g" "$TMP/g.old"
glines=$(wc -l <"$TMP/g.log")
start g
NEWFP=$(field g fingerprint)
[ "$NEWFP" != "$GFP" ] || fail "the new gestor has the old key"
for p in alice bob; do
	wait_for "$p refuses the new gestor key" 15 gestor_state_is "$p" key_refused
done
grep -q "the gestor's key changed from $GFP to $NEWFP; refusing it. If this change is expected, set gestor.fingerprint = \"$NEWFP\" in $TMP/bob.conf and reload" \
    "$TMP/bob.log" || fail "bob's log does not say how to accept the new key"
json_field bob gestor_error | grep -q "gestor key changed to $NEWFP; set gestor.fingerprint to accept it" ||
	fail "bob's gestor_error: $(ctl bob --json status)"
json_field alice gestor_error | grep -q "does not match gestor.fingerprint" ||
	fail "alice's gestor_error: $(ctl alice --json status)"
# Still refused after a restart of the peer: the first key is on disk.
stop bob
start bob
wait_for "bob still refuses after a restart" 15 gestor_state_is bob key_refused
tail -n +$((glines + 1)) "$TMP/g.log" | grep -qE "(auth|login|registered) (alice|bob)" &&
	fail "a peer authenticated to the gestor it refused"

# --- accepting it deliberately: pin the new key, reload; the new key is
# then the recorded one, so removing the pin keeps it.
write_conf bob peer "$(gconf "$NEWFP")"
ctl bob reload >/dev/null || fail "reload bob"
wait_for "bob accepts the new gestor" 15 sh -c "! $P2PCHATCTL -c $TMP/bob.conf status | grep -q '^gestor_state	key_refused$'"
write_conf bob peer "$(gconf "")"
stop bob
start bob
# The new gestor has no accounts yet: bob registers there again.
ctl bob register bob --password-file "$(password bob)" >/dev/null 2>"$TMP/err" ||
	fail "bob forgot the key he accepted: $(cat "$TMP/err")"
log "ok"
