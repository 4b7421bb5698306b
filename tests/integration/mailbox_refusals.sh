#!/usr/bin/env bash
# Nothing is lost when the mailbox cannot take or keep a message (issue
# 28): a deposit altered at rest in the gestor's database is dropped by
# bob and alice's message stays pending until it goes directly; while the
# gestor is unreachable, and while its mailbox is off, alice's messages
# stay pending and pending says why; a deposit the gestor lets expire
# (mailbox.ttl) is deleted there, pending again at alice, and deposited
# again. At the end bob has every message once, in order.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 sqlite3

gstat() { ctl g stats | awk -F'\t' -v k="$1" '$1 == k { print $2 }'; }
deposited_is() { [ "$(field alice deposited)" = "$1" ]; }
reason_of() { ctl alice pending | awk -F'\t' -v id="$1" '$1 == id { print $5 }'; }
restart_gestor() {	# restart_gestor EXTRA: g again, on its port
	stop g TERM
	write_conf g gestor "$1
relay = { listen = \"127.0.0.1:0\"; };"
	start g
	wait_for "alice back at the gestor" 15 gestor_state_is alice online
}

start_gestor g
start_peer alice g "mailbox = { after = 0.3; };"
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 online_at_gestor bob online
ctl alice send --wait=10 bob "first contact" >/dev/null || fail "first send"
echo "first contact" >"$TMP/want"
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline

# 1. A deposit altered in the gestor's database: bob drops it; alice's
# copy stays pending, then goes directly.
id=$(ctl alice send bob "altered at rest")
wait_for "deposited" 15 deposited_is 1
db=$(find "$TMP/g" -name '*.db' | head -1)
python3 - "$db" <<'PY' || fail "cannot alter the deposit"
import base64, sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
i, b = c.execute("SELECT id, blob FROM mailbox WHERE sender = 'alice'").fetchone()
b = bytearray(b)      # its bytes (the gestor answers them in base64)
b[len(b) // 2] ^= 1
c.execute("UPDATE mailbox SET blob = ? WHERE id = ?", (bytes(b), i))
c.commit()
PY
stop alice TERM
start bob
wait_for "bob dropped it" 20 grep -q 'peer_mail: dropped deposit' "$TMP/bob.log"
ctl bob history alice | grep -q "altered at rest" && fail "an altered deposit was shown"
wait_for "the mailbox emptied" 10 sh -c "[ \$(sqlite3 $db 'SELECT count(*) FROM mailbox') = 0 ]"
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline
start alice
ctl alice pending | grep -q "^$id	" || fail "alice's copy is not pending: $(ctl alice history bob)"
start bob
ctl alice wait "$id" --timeout 20 >/dev/null || fail "not delivered directly: $(ctl alice pending)"
echo "altered at rest" >>"$TMP/want"
[ "$(ctl bob history alice | grep -c '^.*	altered at rest$')" = 1 ] ||
	fail "bob's history: $(ctl bob history alice)"
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline

# 2. The gestor unreachable: pending, and pending says so.
stop g TERM
id=$(ctl alice send bob "while the gestor is away")
echo "while the gestor is away" >>"$TMP/want"
wait_for "the reason: unreachable" 15 sh -c "$P2PCHATCTL -c $TMP/alice.conf pending | grep -q 'not deposited: the gestor is not reachable'"
start g
wait_for "deposited once the gestor is back" 20 deposited_is 1

# 3. The gestor's mailbox off: pending with that reason; deposited once on.
restart_gestor "mailbox = { enable = false; };"
id=$(ctl alice send bob "while the mailbox is off")
echo "while the mailbox is off" >>"$TMP/want"
wait_for "the reason: mailbox off" 15 sh -c "$P2PCHATCTL -c $TMP/alice.conf pending | grep -q 'the gestor keeps no mail'"
expect_exit 3 ctl alice wait "$id" --timeout 0.2
grep -q "pending: mailbox: the gestor keeps no mail" "$TMP/err" || fail "wait's reason: $(cat "$TMP/err")"
[ "$(field alice deposited)" = 1 ] || fail "deposited while off: $(ctl alice pending)"
restart_gestor ""
wait_for "deposited once the mailbox is on" 20 deposited_is 2

# 4. Expiry: the gestor keeps deposits 2 s; it deletes them, alice's
# message is pending again and deposited again.
restart_gestor "mailbox = { ttl = 2; };"
deps=$(gstat mail_deposits)
id=$(ctl alice send bob "outlives its deposit")
echo "outlives its deposit" >>"$TMP/want"
wait_for "deposited" 15 sh -c "[ \"\$($P2PCHATCTL -c $TMP/g.conf stats | awk -F'\t' '\$1 == \"mail_deposits\" { print \$2 }')\" -ge 1 ]"
wait_for "expired at the gestor" 15 sh -c "[ \"\$($P2PCHATCTL -c $TMP/g.conf stats | awk -F'\t' '\$1 == \"mail_expired\" { print \$2 }')\" -ge 1 ]"
wait_for "pending again at alice" 15 grep -q "peer_mail: [0-9]* deposits expired at the gestor" "$TMP/alice.log"
wait_for "deposited again" 15 sh -c "[ \"\$($P2PCHATCTL -c $TMP/g.conf stats | awk -F'\t' '\$1 == \"mail_deposits\" { print \$2 }')\" -gt $((deps + 1)) ]"
restart_gestor ""

# bob: everything once, in order; alice: all delivered.
start bob
wait_for "alice's queue empty" 30 sh -c "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
ctl bob history alice | cut -f5 >"$TMP/got"
diff "$TMP/want" "$TMP/got" >"$TMP/diff" || fail "bob's history: $(tr '\n' '|' <"$TMP/got")"
log "ok"
