#!/usr/bin/env bash
# What the gestor answers is untrusted input to a peer: a lookup answer
# whose fingerprint is not one, whose address is not a host (300
# characters), whose port is out of range, that answers for another user
# or lacks a field is refused whole (bad_frame, logged), and nothing of it
# is stored; a well-formed answer is taken. (Presence pushes and relay
# invitations are checked by wire_parse: test_wire.)
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool

start_gestor g
start_peer alice g
register alice >/dev/null || fail "register alice"
wait_for "alice online" 10 gestor_state_is alice online
# A scripted gestor with the real gestor's key: the peer's pin holds.
printf 'ok\n' >"$TMP/script"
fake_gestor g
wait_for "alice resumed with the scripted gestor" 20 grep -q "^auth alice ok$" "$TMP/fake.out"
wait_for "alice online" 10 gestor_state_is alice online

fp=sha256:$(printf '%064d' 5)
long=$(printf 'a%.0s' $(seq 300))
# answer JSON: what the scripted gestor answers to the next lookup.
answer() { printf '%s\n' "$1" >"$TMP/script.lookup.new"; mv "$TMP/script.lookup.new" "$TMP/script.lookup"; }
refused() {
	answer "$1"
	expect_exit 1 "$P2PCHATCTL" -c "$TMP/alice.conf" lookup bob
	grep -q "^p2pchatctl: bad_frame: the gestor's answer to lookup is malformed" "$TMP/err" ||
		fail "answer $1 not refused: $(cat "$TMP/out" "$TMP/err")"
	grep -q "not-a-fingerprint\|$long" "$TMP/out" && fail "the refused answer shown: $(cat "$TMP/out")"
	return 0
}
ok='"online":true,"port":7001,"last_seen":1700000000'
refused '{"user":"bob","fingerprint":"not-a-fingerprint","addr":"127.0.0.1",'"$ok"'}'
grep -q "peer_gestor: the gestor's answer to lookup bob refused: member 'fingerprint' is not a fingerprint" \
    "$TMP/alice.log" || fail "no log line for the fingerprint"
refused '{"user":"bob","fingerprint":"'"$fp"'","addr":"'"$long"'",'"$ok"'}'
refused '{"user":"bob","fingerprint":"'"$fp"'","addr":"a b;c",'"$ok"'}'
refused '{"user":"bob","fingerprint":"'"$fp"'","addr":"127.0.0.1","online":true,"port":70000,"last_seen":0}'
refused '{"user":"mallory","fingerprint":"'"$fp"'","addr":"127.0.0.1",'"$ok"'}'
refused '{"user":"bob","fingerprint":"'"$fp"'","addr":"127.0.0.1","port":7001,"last_seen":0}'
# Nothing was stored: no key known for bob.
expect_exit 1 "$P2PCHATCTL" -c "$TMP/alice.conf" fingerprint bob
# A well-formed answer is taken.
answer '{"user":"bob","fingerprint":"'"$fp"'","addr":"127.0.0.1",'"$ok"'}'
ctl alice lookup bob >"$TMP/out" || fail "a good answer refused: $(cat "$TMP/out")"
grep -q "^fingerprint	$fp$" "$TMP/out" || fail "lookup: $(cat "$TMP/out")"
grep -q "^port	7001$" "$TMP/out" || fail "lookup port: $(cat "$TMP/out")"
log "ok"
