#!/usr/bin/env bash
# Forged deposits sent by hand (issue 28, "how it will be checked"):
# mallory, logged in with a key of her own, fills offline bob's mailbox
# with a replay of alice's captured deposit, a message and a receipt
# signed with her key that claim to be alice's, a receipt of her own for
# a message bob deposited for alice, boxes that name another recipient or
# are sealed for another key, garbage (base64 of random bytes; the
# captured blob cut short, or one byte longer; the largest deposit the
# gestor takes, 1 000 000 characters), and one message of her own (shown,
# as a message request: the tool forges well enough); an operator's row
# that is not base64 too. The gestor refuses what is not base64, an empty
# blob and one past the largest, and does not crash. bob shows none of
# the forgeries, logs each one dropped with its reason and acks them; his
# deposit for alice is still his (a receipt not from alice made him
# forget it: shown pending, deposited again, and a `cancel` withdrew only
# the new copy, so alice got a cancelled message): `cancel` withdraws it,
# and alice never gets it.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool sqlite3 openssl

FORGE="$P2PCHAT_BUILDDIR/tests/tools/mailforge"
db="$TMP/g/gestor.db"
count_in() { ctl "$1" history "$2" --limit 100000 | wc -l; }
deposited_is() { [ "$(field "$1" deposited)" = "$2" ]; }
dropped() { grep -c "peer_mail: dropped deposit" "$TMP/bob.log" || true; }
hexkey() {	# hexkey PEM pub|priv: the raw Ed25519 key, 64 hex digits
	if [ "$2" = pub ]; then
		openssl pkey -in "$1" -pubout -outform DER
	else
		openssl pkey -in "$1" -outform DER
	fi | tail -c 32 | od -An -tx1 | tr -d ' \n'
}

start_gestor g
start_peer alice g "mailbox = { after = 0.2; };"
start_peer bob g "mailbox = { after = 0.2; };"
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 online_at_gestor bob online
ctl alice send --wait=20 bob "first contact" >/dev/null || fail "alice's first send"
ctl bob send --wait=20 alice "first contact" >/dev/null || fail "bob's first send"

# alice deposits for offline bob: the blob mallory captures.
stop bob TERM
wait_for "bob offline" 10 online_at_gestor bob offline
ctl alice send bob "the real one" >/dev/null
wait_for "alice's deposit" 20 deposited_is alice 1
# (the gestor keeps a blob's bytes and answers them in base64)
blob=$(sqlite3 "$db" "SELECT hex(blob) FROM mailbox WHERE sender = 'alice'" |
    python3 -c 'import sys,base64; print(base64.b64encode(bytes.fromhex(sys.stdin.read().strip())).decode())')
[ -n "$blob" ] || fail "no deposit of alice's in the gestor's database"
stop_clean alice
wait_for "alice offline" 10 online_at_gestor alice offline
# bob fetches it, then deposits for offline alice: the message mallory's
# receipt is about.
start bob
wait_for "bob has the real one" 20 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf history alice | grep -c 'the real one') = 1 ]"
mine=$(ctl bob send alice "not for mallory to settle")
wait_for "bob's deposit" 20 deposited_is bob 1
stop_clean bob
wait_for "bob offline" 10 online_at_gestor bob offline
sqlite3 "$db" "SELECT count(*) FROM mailbox WHERE rcpt = 'bob'" | grep -qx 0 ||
	fail "bob's mailbox is not empty before mallory: $(sqlite3 "$db" 'SELECT id, sender FROM mailbox')"

# mallory's deposits.
client_cert mallory ed25519
client_cert carol ed25519
BOB=$(hexkey "$TMP/bob/identity.key" pub)
MAL=$(hexkey "$TMP/mallory.key" pub)
SEED=$(hexkey "$TMP/mallory.key" priv)
CAROL=$(hexkey "$TMP/carol.key" pub)
b64() { python3 -c 'import sys, base64; print(base64.b64encode(sys.stdin.buffer.read()).decode())'; }
forged_msg=$("$FORGE" -s "$SEED" alice bob "$BOB" "forged words")
forged_rcpt=$("$FORGE" -s "$SEED" -r -i "$mine" alice bob "$BOB" -)
own_rcpt=$("$FORGE" -s "$SEED" -r -i "$mine" mallory bob "$BOB" -)
misaddressed=$("$FORGE" -s "$SEED" mallory carol "$BOB" "for carol really")
for_carol=$("$FORGE" -s "$SEED" mallory bob "$CAROL" "sealed for carol")
random=$(head -c 300 /dev/urandom | b64)
cut=${blob:0:100}
longer=$(printf '%s' "$blob" | python3 -c 'import sys, base64; print(base64.b64encode(base64.b64decode(sys.stdin.read()) + b"\0").decode())')
own=$("$FORGE" -s "$SEED" mallory bob "$BOB" "hello from mallory")
# Taken by the gestor: 11 (it reads nothing but the size), of which bob
# must drop all but the receipt of mallory's own (which he takes, and
# which must settle nothing) and her own message. Refused by the gestor:
# what is not base64, nothing, and one character past the largest.
p2ptool gestor-session "${PORT_OF[g]}" "$TMP/mallory.crt" "$TMP/mallory.key" \
    mallory pw-mallory-1 "mailkey:$MAL" register \
    "put:bob:$blob" "put:bob:$forged_msg" "put:bob:$forged_rcpt" \
    "put:bob:$own_rcpt" "put:bob:$misaddressed" "put:bob:$for_carol" \
    "put:bob:$random" "put:bob:$cut" "put:bob:$longer" \
    "putsize:bob:1000000" "put:bob:!!not base64!!" "put:bob:" \
    "putsize:bob:1000004" "put:bob:$own" >"$TMP/out" ||
	fail "mallory's session: $(cat "$TMP/out")"
log "mallory's deposits: $(tr '\n' '|' <"$TMP/out")"
sed 's/ id=[0-9]*//' "$TMP/out" >"$TMP/outcomes"
printf '%s\n' "register ok" "put ok" "put ok" "put ok" "put ok" "put ok" "put ok" \
    "put ok" "put ok" "put ok" "put ok" "put bad_frame reason=None" \
    "put bad_frame reason=None" "put quota_exceeded reason=size" "put ok" >"$TMP/want"
diff "$TMP/want" "$TMP/outcomes" >/dev/null || fail "the gestor's answers: $(tr '\n' '|' <"$TMP/out")"
# What an operator could write where the gestor would not: not base64.
now=$(( $(date +%s) * 1000 ))
sqlite3 "$db" "INSERT INTO mailbox (rcpt, sender, ts, expires, size, blob) VALUES ('bob', 'mallory', $now, $now + 86400000, 10, '!!not base64!!')"
DROPS=10
ctl g status >/dev/null || fail "the gestor died"

# bob comes back: one message of mallory's shown, every other dropped.
start bob
wait_for "mallory's own message" 30 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf history mallory 2>/dev/null | grep -c 'hello from mallory') = 1 ]"
wait_for "the rest dropped" 30 sh -c "[ \$(grep -c 'peer_mail: dropped deposit' '$TMP/bob.log') -ge $DROPS ]"
sqlite_left() { [ "$(sqlite3 "$db" "SELECT count(*) FROM mailbox WHERE rcpt = 'bob'")" = 0 ]; }
wait_for "bob's mailbox emptied (each acked)" 20 sqlite_left
grep "peer_mail: dropped deposit" "$TMP/bob.log" | sed 's/.*dropped deposit/dropped deposit/' >"$TMP/drops"
log "bob: $(tr '\n' '|' <"$TMP/drops")"
[ "$(dropped)" = $DROPS ] || fail "$(dropped) dropped of $DROPS forged"
for want in "its sender is not the account that deposited it" "not base64"; do
	grep -q "$want" "$TMP/drops" || fail "no drop logged for: $want"
done
ctl bob history alice >"$TMP/h"
grep -q "forged words" "$TMP/h" && fail "the forgery was shown"
[ "$(grep -c "the real one" "$TMP/h")" = 1 ] || fail "the replay was shown again: $(cat "$TMP/h")"
[ "$(count_in bob alice)" = 4 ] || fail "bob's history of alice: $(cat "$TMP/h")"
[ "$(count_in bob mallory)" = 1 ] || fail "bob's history of mallory: $(ctl bob history mallory)"
ctl g status >/dev/null || fail "the gestor died"

# bob's deposit for alice is still his: no receipt of mallory's (nor one
# claiming alice's name) settled it; his cancel withdraws it.
[ "$(ctl bob history alice | awk -F'\t' -v id="$mine" '$4 == id { print $3 }')" = deposited ] ||
	fail "bob's message to alice: $(ctl bob history alice | grep "$mine")"
deposited_is bob 1 || fail "bob's deposits: $(field bob deposited)"
# (bob's receipt for the real one waits there too.)
for_alice() { sqlite3 "$db" "SELECT count(*) FROM mailbox WHERE rcpt = 'alice' AND sender = 'bob'"; }
before=$(for_alice)
ctl bob cancel "$mine" >/dev/null
wait_for "withdrawn" 20 grep -q "peer_mail: $mine withdrawn from the mailbox" "$TMP/bob.log"
[ "$(for_alice)" = $((before - 1)) ] ||
	fail "bob's deposits for alice: $before before the cancel, $(for_alice) after"
start alice
wait_for "alice's fetch done, nothing left waiting" 20 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice.conf status | awk -F'\t' '\$1 == \"mail_waiting\" { print \$2 }')\" = 0 ]"
! ctl alice history bob | grep -q "not for mallory" || fail "alice got the cancelled message"
log "ok"
