#!/usr/bin/env bash
# Fetched mail from a verified contact whose key changed (issue 28): bob
# verified alice's key; alice deposits a message for him while he is
# offline, then logs in from a new device and writes to him again, so
# that deposit is signed with her new key. Bob's fetch takes the first
# (the key he verified) and holds the second (left in the mailbox, not
# shown, counted in status: mail_waiting and mail_held 1; the key change
# recorded), also once the change is recorded and at every later fetch,
# until bob trusts the new key: then it is shown once, and alice's new
# daemon sees it delivered.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

nheld() { grep -c 'peer_mail: .* held in the mailbox' "$TMP/bob.log" || true; }

start_gestor g
start_peer alice g "mailbox = { after = 0.2; };"
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 online_at_gestor bob online
ctl alice send --wait=10 bob "first contact" >/dev/null || fail "first send"
ctl bob trust alice "$(field alice fingerprint)" >/dev/null || fail "trust"
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline
# Deposited with the key bob verified, before the change: taken.
ctl alice send bob "from the verified key" >/dev/null
wait_for "deposited (verified key)" 15 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice.conf status | awk -F'\t' '\$1 == \"deposited\" { print \$2 }')\" = 1 ]"
stop alice TERM

# alice on a new device: a new key; her message goes to bob's mailbox.
start_peer alice2 g "mailbox = { after = 0.2; };"
ctl alice2 login alice --password-file "$(password alice)" >/dev/null ||
	fail "alice2 login"
id=$(ctl alice2 send bob "from the new key")
wait_for "deposited" 15 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice2.conf status | awk -F'\t' '\$1 == \"deposited\" { print \$2 }')\" = 1 ]"
fp2=$(field alice2 fingerprint)
stop alice2 TERM

# bob's fetch holds it, and says why.
start bob
wait_for "held at the fetch" 20 sh -c "[ \$(grep -c 'peer_mail: .* held in the mailbox' $TMP/bob.log) -ge 1 ]"
ctl bob history alice | grep -q "from the new key" && fail "shown before trust"
wait_for "the verified key's message taken" 10 sh -c "$P2PCHATCTL -c $TMP/bob.conf history alice | grep -q 'from the verified key'"
grep -q "peer: the key of alice changed" "$TMP/bob.log" ||
	fail "the key change was not recorded"
ctl bob lookup alice | grep -q "^warning	key changed" ||
	fail "no key-changed warning: $(ctl bob lookup alice)"
[ "$(field bob mail_held)" = 1 ] || fail "status mail_held: $(ctl bob status)"
wait_for "mail_waiting 1" 10 sh -c "[ \"\$($P2PCHATCTL -c $TMP/bob.conf status | awk -F'\t' '\$1 == \"mail_waiting\" { print \$2 }')\" = 1 ]"

# The change is recorded now; a fetch at the next login still holds it.
n=$(nheld)
stop bob TERM
start bob
wait_for "held again" 20 sh -c "[ \$(grep -c 'peer_mail: .* held in the mailbox' $TMP/bob.log) -gt $n ]"
ctl bob history alice | grep -q "from the new key" && fail "shown once the change was recorded"

# trust releases it: shown once.
ctl bob trust alice "$fp2" >/dev/null || fail "trust the new key"
wait_for "shown after trust" 20 sh -c "$P2PCHATCTL -c $TMP/bob.conf history alice | grep -q 'from the new key'"
[ "$(ctl bob history alice | grep -c 'from the new key')" = 1 ] || fail "shown twice"
wait_for "mail_waiting 0" 10 sh -c "[ \"\$($P2PCHATCTL -c $TMP/bob.conf status | awk -F'\t' '\$1 == \"mail_waiting\" { print \$2 }')\" = 0 ]"
[ "$(field bob mail_held)" = 0 ] || fail "status mail_held after trust: $(ctl bob status)"

# alice's new daemon: delivered (by bob's receipt or its own link).
start alice2
ctl alice2 wait "$id" --timeout 20 >/dev/null || fail "not delivered: $(ctl alice2 pending)"
log "ok"
