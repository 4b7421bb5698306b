#!/usr/bin/env bash
# The gestor's relay on loopback: relay.use = "always" sends alice's
# messages through it; bob publishes no address (advertise = "none") and
# alice advertises one nobody listens on, so bob ("auto") tries direct,
# fails, and falls back to the relay; the route and why show in lookup
# and pending; the gestor counts sessions and bytes; an idle link is
# closed; a relayed contact that becomes reachable is tried directly in
# the background and left for the direct route; a flood of relay requests from one user is refused while
# others are still relayed; a wrong, used or expired key gets nothing
# from the relay, and the requester's key pairs only with the target's
# (another key, that only the target got); a relay request to an
# offline user is refused clearly.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

need_tools python3 certtool
start_gestor g 'relay = { listen = "127.0.0.1:0"; pairing_timeout = 5.0;
    max_user_sessions = 8; };'
RELAY_PORT=$(field g relay | sed 's/.*://')
[ -n "$RELAY_PORT" ] || fail "the gestor shows no relay address"
start_peer alice g 'relay = { use = "always"; };
advertise = "127.0.0.1:1";'
LIMITS="idle_timeout = 3.0;" start_peer bob g 'advertise = "none";
relay = { direct_retry = 2.0; };'
start_peer carol g 'relay = { use = "never"; };'
register alice >/dev/null
register bob >/dev/null
register carol >/dev/null
wait_for "alice online" 10 gestor_state_is alice online
wait_for "bob online" 10 gestor_state_is bob online
wait_for "carol online" 10 gestor_state_is carol online

# bob publishes no address at all.
ctl g lookup bob >"$TMP/lk"
grep -q "^port	0$" "$TMP/lk" || fail "bob's published port: $(cat "$TMP/lk")"

id1=$(ctl alice send --wait=20 bob "through the relay") || fail "alice -> bob"
id2=$(ctl bob send --wait=20 alice "and back") || fail "bob -> alice"
ctl bob history alice | grep -q "through the relay" || fail "bob's history"
ctl alice history bob | grep -q "and back" || fail "alice's history"
grep -q "connected to bob at relay" "$TMP/alice.log" || fail "alice did not use the relay"
grep -q "connected to alice at relay" "$TMP/bob.log" || fail "bob did not use the relay"

ctl alice lookup bob >"$TMP/lk"
grep -q "^route	relay$" "$TMP/lk" || fail "alice's lookup route: $(cat "$TMP/lk")"
grep -q "^route_why	relay.use = always$" "$TMP/lk" || fail "alice's route_why: $(cat "$TMP/lk")"
ctl bob lookup alice >"$TMP/lk"
grep -q "^route	relay$" "$TMP/lk" || fail "bob's lookup route: $(cat "$TMP/lk")"
grep -q "^route_why	direct failed: connect: Connection refused$" "$TMP/lk" ||
	fail "bob's route_why: $(cat "$TMP/lk")"
ctl g lookup alice | grep -q "^port	1$" || fail "alice's advertised port"

ctl g stats >"$TMP/st"
total=$(awk -F'\t' '$1 == "relay_sessions_total" { print $2 }' "$TMP/st")
bytes=$(awk -F'\t' '$1 == "relay_bytes" { print $2 }' "$TMP/st")
[ "${total:-0}" -ge 2 ] || fail "relay sessions: $(cat "$TMP/st")"
[ "${bytes:-0}" -gt 1000 ] || fail "relay bytes: $(cat "$TMP/st")"

# bob's outgoing link closes once idle (limits.idle_timeout = 3 s), and
# the relay session with it.
wait_for "bob's idle link closed" 10 grep -q "closing the idle link (relay)" "$TMP/bob.log"

# A flood of relay requests from mallory to bob: two unpaired invitations
# per pair at most, the rest refused; alice's messages still go through.
client_cert mallory
p2ptool relay-request "${PORT_OF[g]}" "$TMP/mallory.crt" "$TMP/mallory.key" \
    mallory mallory-pw-1234 bob 50 >"$TMP/flood" || fail "flood: $(cat "$TMP/flood")"
grep -qx "ok=2 refused=48" "$TMP/flood" || fail "flood: $(head -1 "$TMP/flood")"
ctl alice send --wait=20 bob "during the flood" >/dev/null || fail "alice -> bob during the flood"
ctl g stats >"$TMP/st"
refused=$(awk -F'\t' '$1 == "relay_refused" { print $2 }' "$TMP/st")
[ "${refused:-0}" -ge 48 ] || fail "relay_refused: $(cat "$TMP/st")"

# Keys: the first one mallory got pairs once with bob's daemon (which was
# invited and waits at the relay), then is used up; a wrong key gets
# nothing; the second key expires unpaired (pairing_timeout = 5 s).
key1=$(sed -n 's/^key=//p' "$TMP/flood" | sed -n 1p)
key2=$(sed -n 's/^key=//p' "$TMP/flood" | sed -n 2p)
out=$(p2ptool relay-key "$RELAY_PORT" "$key1" 1)
[ "$out" = "got=19 open" ] || fail "valid key: $out"
out=$(p2ptool relay-key "$RELAY_PORT" "$key1" 3)
[ "$out" = "got=0 closed" ] || fail "reused key: $out"
out=$(p2ptool relay-key "$RELAY_PORT" "$(printf '%064d' 7)" 3)
[ "$out" = "got=0 closed" ] || fail "wrong key: $out"
wait_for "mallory's second session to expire" 10 sh -c "grep -q 'mallory -> bob not paired: the key expired' '$TMP/g.log'"
out=$(p2ptool relay-key "$RELAY_PORT" "$key2" 3)
[ "$out" = "got=0 closed" ] || fail "expired key: $out"

# The requester holds its own key only: presenting it twice does not
# pair two connections of its own (carol, relay.use = never, ignores
# the invitation and never presents hers).
client_cert mallet
p2ptool relay-request "${PORT_OF[g]}" "$TMP/mallet.crt" "$TMP/mallet.key" \
    mallet mallet-pw-1234 carol 1 >"$TMP/one" || fail "mallet: $(cat "$TMP/one")"
key3=$(sed -n 's/^key=//p' "$TMP/one")
[ -n "$key3" ] || fail "mallet got no key: $(cat "$TMP/one")"
p2ptool relay-key "$RELAY_PORT" "$key3" 3 >"$TMP/first" &
first=$!
wait_for "mallet's first connection at the relay" 10 grep -q \
    "the requester of mallet -> carol is here" "$TMP/g.log"
out=$(p2ptool relay-key "$RELAY_PORT" "$key3" 2)
wait "$first"
[ "$out" = "got=0 closed" ] || fail "the requester's key twice, second: $out"
[ "$(cat "$TMP/first")" = "got=0 open" ] || fail "the requester's key twice, first: $(cat "$TMP/first")"

# A relay to an offline user is refused; the message waits, and says why.
stop alice KILL
alice_offline() { ctl g lookup alice | grep -q "^online	offline$"; }
bob_says_offline() { ctl bob pending | grep -q "offline"; }
bob_queue_empty() { [ -z "$(ctl bob pending)" ]; }
wait_for "alice offline" 10 alice_offline
ctl bob send alice "while you were away" >/dev/null
wait_for "bob's pending reason" 10 bob_says_offline
ctl bob pending | cut -f7 | grep -qx relay || fail "pending route: $(ctl bob pending)"
start alice
wait_for "delivered after alice returns" 20 bob_queue_empty
ctl alice history bob | grep -q "while you were away" || fail "queued message"

# The direct route comes back: while bob's link to alice is relayed,
# alice publishes her real address; bob tries it in the background,
# remembers that it works, and leaves the relay for it.
ctl bob send --wait=20 alice "still relayed" >/dev/null || fail "bob -> alice, relayed"
write_conf alice peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[g]}\" ]; };
relay = { use = \"always\"; };"
ctl alice reload >/dev/null || fail "alice's reload"
wait_for "bob to find the direct route again" 15 grep -q \
    "peer_route: alice: the direct route works again" "$TMP/bob.log"
ctl bob lookup alice | grep -q "^route	direct$" || fail "bob's route: $(ctl bob lookup alice)"
ctl bob send --wait=20 alice "direct again" >/dev/null || fail "bob -> alice, direct"
grep -q "connected to alice at 127.0.0.1:${PORT_OF[alice]}" "$TMP/bob.log" ||
	fail "bob did not connect to alice directly"

# A relay address that refuses at once (relay.advertise pointing at a
# closed port): alice's message waits and says why; nothing crashes.
stop g
write_conf g gestor 'relay = { listen = "127.0.0.1:0"; advertise = "127.0.0.1:1"; };'
start g
wait_for "alice back at the gestor" 20 gestor_state_is alice online
ctl alice send bob "to a dead relay" >/dev/null || fail "send"
says_relay_refused() { ctl alice pending | grep -q "relay: Connection refused"; }
wait_for "alice's pending says the relay refused" 20 says_relay_refused
for n in g alice bob; do kill -0 "${PIDS[$n]}" || fail "$n died"; done
log "ok"
