#!/usr/bin/env bash
# The mailbox's fetch in several pages (issue 28): 1 300 messages wait
# for bob (six pages of 256, each asked for while the one before is
# opened and stored) while alice is away, so that nothing but the
# mailbox can bring them, and bob has never met her (see below). Bob
# stores every one, once and in order, and
# the gestor keeps none: a page that came early was once added to the
# queue's batch while that batch was being walked after its commit, and
# dropped with it, yet acknowledged. Bob's receipts wait in alice's
# mailbox, one per message.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

N=1300
gstat() { ctl g stats | awk -F'\t' -v k="$1" '$1 == k { print $2 }'; }
start_gestor g "mailbox = { quota_per_sender = 10000; };"
start_peer alice g "mailbox = { after = 0.2; };"
# bob has never met alice: her first deposit has him look her key up,
# and the rest of that page is handled when the answer comes, after the
# next page has arrived. (Her messages are message requests to him, which
# lib.sh lets through.)
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 online_at_gestor bob online
stop bob TERM
wait_for "bob offline" 10 online_at_gestor bob offline
seq 1 "$N" | sed 's/^/line /' | ctl alice send --batch bob >/dev/null
wait_for "$N deposited" 60 sh -c "[ \$($P2PCHATCTL -c $TMP/alice.conf pending | cut -f5 | grep -c '^deposited') = $N ]"
stop_clean alice
wait_for "alice offline" 10 online_at_gestor alice offline
held=$(gstat mail_held)
[ "$held" = "$N" ] || fail "the gestor holds $held deposits, not $N"
start bob
wait_for "bob has all $N" 60 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf history alice --limit 100000 | grep -c '	line ') -ge $N ]"
ctl bob history alice --limit 100000 | cut -f5 | grep '^line ' >"$TMP/got"
seq 1 "$N" | sed 's/^/line /' | cmp -s - "$TMP/got" ||
	fail "bob's lines are not 1..$N once each, in order"
# Every deposit acknowledged; what the gestor holds now is bob's
# receipts, one per message, in alice's mailbox.
wait_for "bob's mailbox emptied" 20 sh -c "[ \"\$($P2PCHATCTL -c $TMP/g.conf stats | awk -F'\t' '\$1 == \"mail_acked\" { print \$2 }')\" -ge $N ]"
wait_for "bob's receipts" 20 sh -c "[ \"\$($P2PCHATCTL -c $TMP/g.conf stats | awk -F'\t' '\$1 == \"mail_held\" { print \$2 }')\" = $N ]"
