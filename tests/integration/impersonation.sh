#!/usr/bin/env bash
# Impersonation: a daemon with its own key that claims another user's name
# cannot deliver messages as that user, and a daemon that takes over a
# user's address (with a different key) cannot receive messages meant for
# them. Nothing is stored, the messages wait for the real user, and the
# logs say why.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool

no_chat_with() { ! ctl "$1" chats | cut -f1 | grep -qx "$2"; }

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 online_at_gestor bob online
client_cert mallory
M="$TMP/mallory.crt $TMP/mallory.key"

# --- hello as bob with another key: refused after the gestor's answer,
# and the msg pipelined behind the hello is never stored.
# shellcheck disable=SC2086 # certificate and key
p2ptool impersonate "${PORT_OF[alice]}" $M bob bob alice "IMPERSONATED 1" >"$TMP/out"
grep -q '"code": "key_mismatch"' "$TMP/out" || fail "hello as bob: $(cat "$TMP/out")"
[ "$(tail -n 1 "$TMP/out")" = closed ] || fail "hello as bob: connection not closed"
grep -q "claims to be bob but its key sha256:[0-9a-f]* is not the key the gestor published for bob" \
    "$TMP/alice.log" || fail "alice did not log why she refused the false bob"
# Also once alice knows bob (a contact with a cached key).
ctl bob send --wait=10 alice "hello from the real bob" >/dev/null || fail "bob -> alice"
# shellcheck disable=SC2086
p2ptool impersonate "${PORT_OF[alice]}" $M bob bob alice "IMPERSONATED 2" >"$TMP/out"
grep -q '"code": "key_mismatch"' "$TMP/out" || fail "hello as known bob: $(cat "$TMP/out")"
# And while the gestor is down nobody can be checked, so nobody is believed.
stop g
# shellcheck disable=SC2086
p2ptool impersonate "${PORT_OF[alice]}" $M bob bob alice "IMPERSONATED 3" >"$TMP/out"
grep -q '"t": "error"' "$TMP/out" && [ "$(tail -n 1 "$TMP/out")" = closed ] ||
	fail "hello as bob, gestor down: $(cat "$TMP/out")"
grep -q "cannot check the key of bob" "$TMP/alice.log" || fail "alice did not log the failed check"
start g
wait_for "alice back online" 20 gestor_state_is alice online

# --- an account of its own, then a msg "from" bob on that connection.
# shellcheck disable=SC2086
p2ptool register "${PORT_OF[g]}" $M mallet "mallet-password-1" | grep -q '"t": "ok"' ||
	fail "registering mallet"
# shellcheck disable=SC2086
p2ptool impersonate "${PORT_OF[alice]}" $M mallet bob alice "IMPERSONATED 4" >"$TMP/out"
grep -q '"t": "hello"' "$TMP/out" || fail "mallet's own hello refused: $(cat "$TMP/out")"
grep -q '"code": "bad_frame"' "$TMP/out" && [ "$(tail -n 1 "$TMP/out")" = closed ] ||
	fail "msg from bob on mallet's connection: $(cat "$TMP/out")"
grep -q "message not from this connection's user" "$TMP/alice.log" ||
	fail "alice did not log the forged sender"
ctl alice search IMPERSONATED >"$TMP/found" || true
[ ! -s "$TMP/found" ] || fail "an impersonated message was stored: $(cat "$TMP/found")"
ctl alice history bob | grep -q IMPERSONATED && fail "an impersonated message is in bob's chat"
no_chat_with alice mallet || fail "mallet's forged message made a chat"

# --- bob goes away; mallory's daemon takes over his address and port.
ctl alice send --wait=10 bob "before bob left" >/dev/null || fail "alice -> bob"
stop bob
wait_for "bob offline" 10 online_at_gestor bob offline
PORT_OF[mallory]=${PORT_OF[bob]}
start_peer mallory g
register mallory >/dev/null
[ "${PORT_OF[mallory]}" = "${PORT_OF[bob]}" ] || fail "mallory is not on bob's port"
id1=$(ctl alice send bob "for bob only 1")
wait_for "alice refuses mallory's key" 15 grep -q \
    "has key sha256:[0-9a-f]*, not bob's key sha256:[0-9a-f]*; refusing it" "$TMP/alice.log"
wait_for "the refusal recorded on the message" 10 sh -c \
    "$P2PCHATCTL -c $TMP/alice.conf pending | grep '^$id1' | grep -q 'key mismatch'"
# The same from the cached address while the gestor is down.
stop g
id2=$(ctl alice send bob "for bob only 2")
sleep 2
ctl alice pending | grep -q "^$id2" || fail "message 2 not pending"
[ "$(grep -c "not bob's key" "$TMP/alice.log")" -ge 2 ] || fail "no second refusal logged"
no_chat_with mallory alice || fail "mallory has a chat with alice"
! grep -q "alice connected from" "$TMP/mallory.log" || fail "alice said hello to mallory"

# --- the real bob comes back: both messages reach him, once.
stop mallory
start g
start bob
ctl alice wait "$id1" "$id2" --timeout 20 >/dev/null || fail "messages not delivered to bob"
[ "$(ctl bob history alice | grep -c 'for bob only')" = 2 ] || fail "bob's copies: $(ctl bob history alice)"
log "ok"
