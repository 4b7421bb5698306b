#!/usr/bin/env bash
# Two senders, one message id (`send --id` lets scripts choose ids, and
# a counter is an obvious choice; or mallory, who guesses alice's next
# one): bob stored the first and took the second for a resend of it,
# acknowledged it, and never showed it: alice saw `delivered` for a
# message bob never had. A message whose id bob holds for another sender
# is now refused (id_taken, the error naming the id): alice's message
# fails with bob's reason (every resend would be refused too; before, it
# stayed pending and was sent again and again, blocking her next messages
# and refusing `cancel` as "already sent" whenever a resend was in
# flight), and her next messages go; a resend from the same sender is
# still acknowledged and shown once.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer bob g
start_peer mallory g
for u in alice bob mallory; do register "$u" >/dev/null; done
wait_for "bob online" 10 online_at_gestor bob online
ctl bob send --wait=20 alice "hello alice" >/dev/null || fail "bob's first send"

X=0000000000000000000000000000002a
ctl mallory send --wait=20 --id "$X" bob "mallory was first" >/dev/null ||
	fail "mallory's send"
ctl bob history mallory | grep -q "mallory was first" || fail "bob lacks mallory's"

rc=0
ctl alice send --wait=5 --id "$X" bob "alice's own" >/dev/null 2>"$TMP/err" || rc=$?
state() { ctl alice history bob | awk -F'\t' -v id="$X" '$4 == id { print $3 }'; }
if ctl bob history alice | grep -q "alice's own"; then
	:	# shown: then delivered is the truth
else
	[ "$(state)" != delivered ] ||
		fail "alice's message is delivered, but bob never showed it (send exit $rc)"
	[ "$rc" = 1 ] || fail "send --wait: exit $rc, not 1 ($(cat "$TMP/err"))"
	grep -q id_taken "$TMP/err" || fail "send --wait's error: $(cat "$TMP/err")"
	[ "$(state)" = failed ] || fail "alice's message is $(state), not failed"
	grep -q "refused $X from alice: bob holds another message" "$TMP/bob.log" || fail "bob did not log it"
fi
ctl bob history alice | grep -q "mallory was first" && fail "mallory's text shown as alice's"
ctl alice send --wait=20 bob "the next one" >/dev/null || fail "alice's next message: $(ctl alice pending)"
[ "$(ctl bob history alice | grep -c "the next one")" = 1 ] || fail "the next one at bob"
[ "$(ctl bob history mallory | grep -c "mallory was first")" = 1 ] || fail "mallory's at bob"
log "ok"
