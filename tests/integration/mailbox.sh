#!/usr/bin/env bash
# The mailbox between peers (issue 28): alice writes to bob while he is
# offline; after mailbox.after seconds her messages are sealed and
# deposited at the gestor (state deposited: pending's reason, wait exits
# 3, a watch event), and the rest when she stops cleanly. Bob comes back
# while she is away: he fetches everything once and in order, and his
# receipts wait in her mailbox; alice returns and sees them delivered.
# bob back while alice is online: the fetch and her link race, and
# each message is shown once.
# The gestor's database holds neither text nor message ids.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

texts() { ctl "$1" history "$2" --limit 100000 | cut -f5; }
deposited() { ctl alice pending | cut -f5 | grep -c "^deposited" || true; }
gstat() { ctl g stats | awk -F'\t' -v k="$1" '$1 == k { print $2 }'; }

start_gestor g
start_peer alice g "mailbox = { after = 0.3; };"
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 online_at_gestor bob online
ctl alice send --wait=10 bob "first contact" >/dev/null || fail "first send"

# bob away: after 0.3 s alice's messages go to his mailbox.
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline
watch_bg alice "$TMP/watch"
watch_bg alice "$TMP/watch.json" --json
for i in 1 2 3; do ctl alice send bob "secret words $i" >>"$TMP/ids"; done
wait_for "3 deposited" 15 sh -c "[ \$($P2PCHATCTL -c $TMP/alice.conf pending | cut -f5 | grep -c '^deposited') = 3 ]"
wait_for "deposited events" 5 sh -c "[ \$(grep -c '\"event\":\"deposited\"' $TMP/watch.json) = 3 ]"
wait_for "deposited lines" 5 sh -c "[ \$(grep -c '	deposited	.*	bob	' $TMP/watch) = 3 ]"
expect_exit 3 ctl alice wait "$(head -1 "$TMP/ids")" --timeout 0.5
ctl alice history bob | grep -c "	deposited	" | grep -qx 3 || fail "history: $(ctl alice history bob)"
[ "$(field alice deposited)" = 3 ] || fail "status deposited: $(field alice deposited)"
# chat on a terminal marks them so in its backlog.
if command -v script >/dev/null 2>&1; then
	printf '\004' | TERM=dumb script -qec "$P2PCHATCTL -c $TMP/alice.conf chat bob" \
	    /dev/null >"$TMP/chat.tty" 2>&1 || true
	[ "$(grep -c '(in the mailbox)' "$TMP/chat.tty")" = 3 ] ||
		fail "chat's backlog: $(tr '\r\n' '  ' <"$TMP/chat.tty")"
fi
# cancel withdraws a deposit: bob never sees it.
gone=$(ctl alice send bob "never to be read")
wait_for "4 deposited" 15 sh -c "[ \$($P2PCHATCTL -c $TMP/alice.conf pending | cut -f5 | grep -c '^deposited') = 4 ]"
ctl alice cancel "$gone" >/dev/null || fail "cancel of a deposit"
wait_for "withdrawn at the gestor" 10 sh -c "[ \"\$($P2PCHATCTL -c $TMP/g.conf stats | awk -F'\t' '\$1 == \"mail_withdrawn\" { print \$2 }')\" = 1 ]"

# With a long mailbox.after, two more wait in the queue; a clean stop
# deposits them.
stop alice TERM
write_conf alice peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[g]}\" ]; };
mailbox = { after = 3600; };"
start alice
for i in 4 5; do ctl alice send bob "secret words $i" >>"$TMP/ids"; done
[ "$(deposited)" = 3 ] || fail "deposited before the stop: $(ctl alice pending)"
t0=$(date +%s%N)
stop_clean alice
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 2500 ] || fail "the stop with deposits took $ms ms"
wait_for "alice offline" 5 online_at_gestor alice offline

# The gestor's store: sealed blobs only.
for i in 1 2 3 4 5; do
	! grep -rqa "secret words $i" "$TMP/g" || fail "message text in the gestor's files"
done
while read -r id; do
	! grep -rqa "$id" "$TMP/g" || fail "message id $id in the gestor's files"
done <"$TMP/ids"

# bob comes back while alice is away: all five, once, in order.
start bob
{ echo "first contact"; for i in 1 2 3 4 5; do echo "secret words $i"; done; } >"$TMP/want"
wait_for "bob has all five" 20 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf history alice | wc -l) -ge 6 ]"
texts bob alice >"$TMP/got"
diff "$TMP/want" "$TMP/got" >/dev/null || fail "bob's history: $(tr '\n' '|' <"$TMP/got")"

# alice returns while bob is away: the receipts from her mailbox make
# them delivered.
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline
start alice
while read -r id; do
	ctl alice wait "$id" --timeout 20 >/dev/null || fail "$id not delivered: $(ctl alice pending)"
done <"$TMP/ids"
start bob
texts bob alice >"$TMP/got"
diff "$TMP/want" "$TMP/got" >/dev/null || fail "bob's history after: $(tr '\n' '|' <"$TMP/got")"

# Both online: direct delivery only, nothing deposited, shown once.
deps=$(gstat mail_deposits)
ctl alice send --wait=10 bob "both online" >/dev/null || fail "direct send"
[ "$(gstat mail_deposits)" = "$deps" ] || fail "a deposit while both were online"
[ "$(texts bob alice | grep -c '^both online$')" = 1 ] || fail "direct shown other than once"
echo "both online" >>"$TMP/want"

# kill -9 of alice right after her deposits: bob gets them, once, and
# alice, back, sees them delivered.
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline
stop alice TERM
write_conf alice peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[g]}\" ]; };
mailbox = { after = 0.3; };"
start alice
: >"$TMP/ids"
for i in 6 7; do ctl alice send bob "secret words $i" >>"$TMP/ids"; echo "secret words $i" >>"$TMP/want"; done
wait_for "2 deposited" 15 sh -c "[ \$($P2PCHATCTL -c $TMP/alice.conf pending | cut -f5 | grep -c '^deposited') = 2 ]"
stop alice KILL
start bob
wait_for "bob has 6 and 7" 20 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf history alice | wc -l) -ge 9 ]"
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline
start alice
while read -r id; do
	ctl alice wait "$id" --timeout 20 >/dev/null || fail "$id not delivered after kill -9: $(ctl alice pending)"
done <"$TMP/ids"
start bob
texts bob alice >"$TMP/got"
diff "$TMP/want" "$TMP/got" >/dev/null || fail "bob's history at the end: $(tr '\n' '|' <"$TMP/got")"
grep -q "never to be read" "$TMP/got" && fail "a withdrawn deposit was shown"

# bob logs in while alice is online, her messages in his mailbox: his
# fetch and her link race; each is shown once, in order, and delivered,
# and nothing is left in his mailbox.
stop bob TERM
wait_for "bob offline" 5 online_at_gestor bob offline
: >"$TMP/ids"
for i in 8 9 10; do ctl alice send bob "secret words $i" >>"$TMP/ids"; echo "secret words $i" >>"$TMP/want"; done
wait_for "3 deposited" 15 sh -c "[ \$($P2PCHATCTL -c $TMP/alice.conf pending | cut -f5 | grep -c '^deposited') = 3 ]"
start bob
while read -r id; do
	ctl alice wait "$id" --timeout 20 >/dev/null || fail "$id not delivered with both online: $(ctl alice pending)"
done <"$TMP/ids"
texts bob alice >"$TMP/got"
diff "$TMP/want" "$TMP/got" >/dev/null || fail "bob's history with both online: $(tr '\n' '|' <"$TMP/got")"
wait_for "bob's mailbox empty" 10 sh -c "[ \"\$($P2PCHATCTL -c $TMP/g.conf stats | awk -F'\t' '\$1 == \"mail_held\" { print \$2 }')\" = 0 ]"

# carol takes no mail (use "never"): nothing is deposited for her, and
# alice's pending says why.
start_peer carol g 'mailbox = { use = "never"; };'
register carol >/dev/null
stop carol TERM
wait_for "carol offline" 5 online_at_gestor carol offline
ctl alice send carol "not for a mailbox" >/dev/null
wait_for "the reason" 15 sh -c "$P2PCHATCTL -c $TMP/alice.conf pending | cut -f5 | grep -q 'carol does not take mail'"
[ "$(field alice deposited)" = 0 ] || fail "deposited for carol: $(ctl alice pending)"

# A direct delivery that wins withdraws the deposit: dave comes back
# taking no mail (he does not fetch); alice's link delivers directly.
start_peer dave g
register dave >/dev/null
ctl alice send --wait=10 dave "hello dave" >/dev/null || fail "send to dave"
stop dave TERM
wait_for "dave offline" 5 online_at_gestor dave offline
wd=$(gstat mail_withdrawn)
id=$(ctl alice send dave "the direct way")
wait_for "deposited for dave" 15 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice.conf status | awk -F'\t' '\$1 == \"deposited\" { print \$2 }')\" = 1 ]"
write_conf dave peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[g]}\" ]; };
mailbox = { use = \"never\"; };"
start dave
ctl alice wait "$id" --timeout 20 >/dev/null || fail "not delivered directly to dave"
wait_for "the deposit withdrawn" 10 sh -c "[ \"\$($P2PCHATCTL -c $TMP/g.conf stats | awk -F'\t' '\$1 == \"mail_withdrawn\" { print \$2 }')\" = $((wd + 1)) ]"
[ "$(texts dave alice | grep -c '^the direct way$')" = 1 ] || fail "dave's history"
log "ok"
