#!/usr/bin/env bash
# The mailbox between peers under attack and load (issue 28): mallory
# deposits for bob a copy of alice's sealed message (a replay, and a claim
# to be alice) and a tampered one, and a row written straight into the
# gestor's database (what its operator could do) holds a message from
# alice signed with another key: bob shows none and drops them. A
# gestor quota leaves alice's other messages pending with the reason, and
# they arrive directly once bob is back. kill -9 of bob while he fetches
# 1 000 messages: afterwards each once, in order.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool sqlite3 openssl

count() { ctl "$1" history "$2" --limit 100000 | wc -l; }
ndeposited() { field alice deposited; }

start_gestor g "mailbox = { quota_per_sender = 1000; };"
start_peer alice g "mailbox = { after = 0.2; };"
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 online_at_gestor bob online
ctl alice send --wait=10 bob "first contact" >/dev/null || fail "first send"
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline

# One deposit of alice's, copied from the gestor's database as mallory
# would have it, then fetched by bob.
ctl alice send bob "the real one" >/dev/null
wait_for "deposited" 15 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice.conf status | awk -F'\t' '\$1 == \"deposited\" { print \$2 }')\" = 1 ]"
db=$(find "$TMP/g" -name '*.db' | head -1)
# (the gestor keeps a blob's bytes and answers them in base64)
blob=$(sqlite3 "$db" "SELECT hex(blob) FROM mailbox WHERE sender = 'alice'" |
    python3 -c 'import sys,base64; print(base64.b64encode(bytes.fromhex(sys.stdin.read().strip())).decode())')
[ -n "$blob" ] || fail "no deposit in the gestor's database"
start bob
wait_for "bob has it" 20 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf history alice | wc -l) = 2 ]"

# While bob is online, mallory replays it and tampers with a copy (a byte
# of the box changed): the gestor's push makes bob fetch and drop both.
client_cert mallory ed25519
tampered=$(printf '%s' "$blob" | python3 -c 'import sys,base64; b=bytearray(base64.b64decode(sys.stdin.read())); b[60]^=1; print(base64.b64encode(bytes(b)).decode())')
p2ptool gestor-session "${PORT_OF[g]}" "$TMP/mallory.crt" "$TMP/mallory.key" \
    mallory pw-mallory-1 register "put:bob:$blob" "put:bob:$tampered" >"$TMP/out"
[ "$(grep -c '^put ok' "$TMP/out")" = 2 ] || fail "mallory's deposits: $(cat "$TMP/out")"
wait_for "bob dropped both on the push" 20 sh -c "[ \$(grep -c 'peer_mail: dropped deposit' $TMP/bob.log) = 2 ]"
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline
# The operator's forgery: from alice, sealed for bob, signed by another key.
bobkey=$(openssl pkey -in "$TMP/bob/identity.key" -pubout -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n')
forged=$("$P2PCHAT_BUILDDIR/tests/tools/mailforge" alice bob "$bobkey" "forged words")
now=$(( $(date +%s) * 1000 ))
sqlite3 "$db" "INSERT INTO mailbox (rcpt, sender, ts, expires, size, blob) VALUES ('bob', 'alice', $now, $now + 86400000, 300, '$forged')"
start bob
wait_for "bob dropped all three" 20 sh -c "[ \$(grep -c 'peer_mail: dropped deposit' $TMP/bob.log) -ge 3 ]"
grep -q "dropped deposit .* (from alice .*not signed with the sender's key" "$TMP/bob.log" ||
	fail "the forgery was not dropped for its signature"
ctl bob history alice | grep -q "forged words" && fail "the forgery was shown"
[ "$(count bob alice)" = 2 ] || fail "a forged or replayed deposit was shown: $(ctl bob history alice)"
[ "$(count bob mallory 2>/dev/null || echo 0)" = 0 ] || fail "mallory's deposit shown"
wait_for "the mailbox emptied" 10 sh -c "[ \$(sqlite3 $db 'SELECT count(*) FROM mailbox WHERE rcpt = \"bob\"') = 0 ]"
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline

# The quota: bob's mailbox takes 1 000 from alice (it is empty again), so
# of 1 003 messages 1 000 are deposited and 3 wait with the reason.
seq 1 1003 | sed 's/^/bulk /' | ctl alice send bob --batch >"$TMP/ids"
wait_for "1 000 deposited" 60 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice.conf status | awk -F'\t' '\$1 == \"deposited\" { print \$2 }')\" = 1000 ]"
wait_for "the quota's reason" 20 sh -c "[ \$($P2PCHATCTL -c $TMP/alice.conf pending | cut -f5 | grep -c 'quota_exceeded') = 3 ]"
stop alice TERM

# bob fetches, killed with SIGKILL mid-way; then everything once, in order.
start bob
wait_for "bob fetching" 30 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf history alice --limit 100000 | wc -l) -gt 100 ]"
got=$(count bob alice)
stop bob KILL
start bob
wait_for "bob has the 1 000" 60 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf history alice --limit 100000 | wc -l) -ge 1002 ]"
log "killed with $got of 1 005 in the history"
# alice back: the last 3 go directly.
start alice
wait_for "all delivered" 60 sh -c "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
{ echo "first contact"; echo "the real one"; seq 1 1003 | sed 's/^/bulk /'; } >"$TMP/want"
ctl bob history alice --limit 100000 | cut -f5 >"$TMP/got"
diff "$TMP/want" "$TMP/got" >"$TMP/diff" || fail "bob's history: $(head -5 "$TMP/diff")"
log "ok"
