#!/usr/bin/env bash
# Groups through the mailbox (DESIGN.md "Groups", issue 28 item 2): a
# group message pending for an offline member is sealed and deposited
# for it like a direct one (group show: deposited), also on a clean
# stop; the member, back while the sender is away, gets it once; the
# sender, back, sees it delivered by the member's receipt. A member added
# while offline gets the signed list from the mailbox too and then the
# message. A cancelled message's deposits and a removed member's are
# withdrawn and never shown, and
# the list that removes it reaches it. Forged group blobs (from alice
# signed by another key; from mallory, not a member; a list from
# mallory) change nothing. A member leaving while the admin is away:
# the admin gets it from its mailbox. A member's message that comes
# before the list naming its sender stays in the mailbox until the list
# comes. The gestor's files hold no group id.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool sqlite3 openssl

count() {
	ctl "$1" history --group "$2" --limit 1000 | awk -F'\t' -v p="$3" \
	    'index($5, p) == 1' | wc -l
}
has_count() { [ "$(count "$1" "$2" "$3")" = "$4" ]; }
show() { ctl alice group show team | awk -F'\t' -v k="$1" '$1 == k { print $2 }'; }
shows() { [ "$(show "$1")" = "$2" ]; }
version_at() { ctl "$1" groups | awk -F'\t' -v g="$2" '$1 == g { print $5 }'; }
has_version() { [ "$(version_at "$1" "$2")" = "$3" ]; }
gstat() { ctl g stats | awk -F'\t' -v k="$1" '$1 == k { print $2 }'; }
offline() { stop "$1" TERM; wait_for "$1 offline" 5 online_at_gestor "$1" offline; }

start_gestor g
start_peer alice g "mailbox = { after = 0.3; };"
for u in bob carol dave; do start_peer $u g; done
for u in alice bob carol dave; do register $u >/dev/null; done
for u in bob carol; do wait_for "$u online" 10 online_at_gestor $u online; done
gid=$(ctl alice group create team bob carol) || fail "group create"
for u in bob carol; do wait_for "$u has the list" 10 has_version $u "$gid" 1; done
ctl dave send --wait=10 alice "hi alice" >/dev/null || fail "dave's first message"
offline dave

# bob away: alice's group message reaches carol directly and waits in
# bob's mailbox; wait says so (3), group show names it.
offline bob
id1=$(ctl alice send --group team "while bob is away") || fail "send --group"
wait_for "carol has it" 10 has_count carol team "while bob is away" 1
wait_for "deposited for bob" 15 shows deposited bob:1
[ "$(show undelivered)" = bob:1 ] || fail "group show: $(ctl alice group show team)"
ctl alice pending | grep "^$id1	bob	" | grep -q "deposited" || fail "pending: $(ctl alice pending)"
expect_exit 3 ctl alice wait "$id1" --timeout 0.5
grep -q "1 of 2 members have it; 1 in members' mailboxes at the gestor" "$TMP/err" ||
	fail "wait's reason: $(cat "$TMP/err")"
# A clean stop deposits what waits for less than mailbox.after too.
stop alice TERM
write_conf alice peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[g]}\" ]; };
mailbox = { after = 3600; };"
start alice
id2=$(ctl alice send --group team "just before the stop") || fail "send --group"
wait_for "carol has the second" 10 has_count carol team "just before the stop" 1
stop_clean alice
wait_for "alice offline" 5 online_at_gestor alice offline

# The gestor holds sealed blobs: no text, no message or group id.
for s in "while bob is away" "just before the stop" "$id1" "$id2" "$gid"; do
	! grep -rqa "$s" "$TMP/g" || fail "'$s' in the gestor's files"
done

# bob back while alice is away: both, once, in order, in the group.
start bob
wait_for "bob has both" 20 has_count bob team "just before the stop" 1
[ "$(ctl bob history --group team | cut -f5 | tr '\n' '|')" = "while bob is away|just before the stop|" ] ||
	fail "bob's group history: $(ctl bob history --group team)"
ctl bob history alice | grep -q "bob is away" && fail "a group message in bob's direct chat"
offline bob
# alice back: bob's receipts in her mailbox make both delivered.
write_conf alice peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[g]}\" ]; };
mailbox = { after = 0.3; };"
start alice
ctl alice wait "$id1" "$id2" --timeout 20 >/dev/null || fail "not delivered: $(ctl alice pending)"
[ "$(show undelivered)" = - ] && [ "$(show deposited)" = - ] ||
	fail "group show after the receipts: $(ctl alice group show team)"
start bob
[ "$(count bob team "while bob is away")" = 1 ] || fail "shown twice at bob"

# dave, offline, is added: the signed list and the message both wait in
# his mailbox; alice stops; dave comes back and has the group and the
# message.
ctl alice group add team dave >/dev/null || fail "group add"
wait_for "bob has version 2" 10 has_version bob "$gid" 2
id3=$(ctl alice send --group team "welcome dave") || fail "send to dave"
wait_for "deposited for dave" 15 shows deposited dave:1
stop_clean alice
wait_for "alice offline" 5 online_at_gestor alice offline
start dave
wait_for "dave has the group" 20 has_version dave "$gid" 2
wait_for "dave has the message" 20 has_count dave team "welcome dave" 1
offline dave
start alice
ctl alice wait "$id3" --timeout 20 >/dev/null || fail "welcome not delivered: $(ctl alice pending)"

# carol away (dave too): a message deposited for both and cancelled is
# withdrawn from both mailboxes. Another one deposited for carol, then
# she is removed: the deposit is withdrawn, she never shows either, and
# the list that removes her reaches her mailbox.
offline carol
wd=$(gstat mail_withdrawn)
idc=$(ctl alice send --group team "cancel me") || fail "send"
wait_for "deposited for carol and dave" 15 shows deposited "carol:1 dave:1"
wait_for "bob has it" 10 shows undelivered "carol:1 dave:1"
ctl alice cancel "$idc" >/dev/null || fail "cancel: $(ctl alice group show team)"
wait_for "both withdrawn" 10 sh -c "[ \"\$($P2PCHATCTL -c $TMP/g.conf stats | awk -F'\t' '\$1 == \"mail_withdrawn\" { print \$2 }')\" = $((wd + 2)) ]"
[ "$(show deposited)" = - ] || fail "group show after the cancel: $(ctl alice group show team)"
ctl alice send --group team "not for carol after all" >/dev/null || fail "send"
wait_for "deposited for carol" 15 shows deposited "carol:1 dave:1"
ctl alice group remove team carol >/dev/null || fail "group remove"
wait_for "carol's deposit withdrawn" 10 sh -c "[ \"\$($P2PCHATCTL -c $TMP/g.conf stats | awk -F'\t' '\$1 == \"mail_withdrawn\" { print \$2 }')\" = $((wd + 3)) ]"
[ "$(show deposited)" = dave:1 ] || fail "group show after the removal: $(ctl alice group show team)"
stop_clean alice
start carol
wait_for "carol has version 3" 20 has_version carol "$gid" 3
[ "$(ctl carol groups | awk -F'\t' -v g="$gid" '$1 == g { print $6 }')" = no ] ||
	fail "carol still a member: $(ctl carol groups)"
[ "$(count carol team "not for carol")" = 0 ] || fail "a withdrawn deposit shown to carol"
[ "$(count carol team "cancel me")" = 0 ] || fail "a cancelled message shown to carol"

# Forgeries for bob, offline: a group message from alice signed with
# another key, one from mallory (not a member) signed with her own key,
# and a list of the group from mallory. bob shows none, and his group
# stays as alice made it.
offline bob
client_cert mallory ed25519
p2ptool gestor-session "${PORT_OF[g]}" "$TMP/mallory.crt" "$TMP/mallory.key" \
    mallory pw-mallory-1 register >/dev/null
bobkey=$(openssl pkey -in "$TMP/bob/identity.key" -pubout -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n')
mseed=$(openssl pkey -in "$TMP/mallory.key" -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n')
forged=$("$P2PCHAT_BUILDDIR/tests/tools/mailforge" -g "$gid" alice bob "$bobkey" "forged by a stranger")
own=$("$P2PCHAT_BUILDDIR/tests/tools/mailforge" -s "$mseed" -g "$gid" mallory bob "$bobkey" "mallory was here")
list="{\"group\":\"$gid\",\"title\":\"team\",\"admin\":\"alice\",\"key\":\"00\",\"version\":99,\"members\":[\"alice\",\"bob\",\"mallory\"]}"
mlist=$("$P2PCHAT_BUILDDIR/tests/tools/mailforge" -s "$mseed" -l abcd mallory bob "$bobkey" "$list")
db=$(find "$TMP/g" -name '*.db' | head -1)
now=$(( $(date +%s) * 1000 ))
sqlite3 "$db" "INSERT INTO mailbox (rcpt, sender, ts, expires, size, blob) VALUES ('bob', 'alice', $now, $now + 86400000, 300, '$forged')"
p2ptool gestor-session "${PORT_OF[g]}" "$TMP/mallory.crt" "$TMP/mallory.key" \
    mallory pw-mallory-1 login "put:bob:$own" "put:bob:$mlist" >"$TMP/out"
[ "$(grep -c '^put ok' "$TMP/out")" = 2 ] || fail "mallory's deposits: $(cat "$TMP/out")"
start bob
wait_for "the forgery dropped" 20 grep -q "dropped deposit .* (from alice .*not signed with the sender's key" "$TMP/bob.log"
wait_for "mallory's message refused" 20 grep -q "peer_mail: group message or list .* from mallory refused" "$TMP/bob.log"
wait_for "mallory's list refused" 20 grep -q "refused a group list from mallory" "$TMP/bob.log"
for s in "forged by a stranger" "mallory was here"; do
	[ "$(count bob team "$s")" = 0 ] || fail "shown at bob: $s"
done
has_version bob "$gid" 3 || fail "bob's group changed: $(ctl bob groups)"

# bob leaves while alice, the admin, is away: his gleave waits in her
# mailbox (his clean stop deposits it); alice, back, takes him off.
ctl bob group leave team >/dev/null || fail "group leave"
stop_clean bob
wait_for "bob offline" 5 online_at_gestor bob offline
start alice
wait_for "bob off the list" 20 shows members "alice dave"
[ "$(version_at alice "$gid")" = 4 ] || fail "alice's list: $(ctl alice groups)"

# erin, offline, is added, and alice's list for her stays with alice
# (mailbox.after long, then killed); dave writes to the group and his
# clean stop deposits it for erin. erin, back, has no list naming dave:
# she leaves his message in her mailbox; alice's list then comes
# directly, and erin fetches again and takes it.
start_peer erin g
register erin >/dev/null
offline erin
stop alice TERM
write_conf alice peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[g]}\" ]; };
mailbox = { after = 3600; };"
start alice
start dave
wait_for "dave has version 4" 20 has_version dave "$gid" 4
ctl alice group add team erin >/dev/null || fail "group add erin"
wait_for "dave has version 5" 10 has_version dave "$gid" 5
stop alice KILL
wait_for "alice offline" 5 online_at_gestor alice offline
ctl dave send --group team "hello erin" >/dev/null || fail "dave's send"
stop_clean dave
start erin
wait_for "erin leaves it in her mailbox" 20 grep -q "peer_mail: group message or list .* from dave refused" "$TMP/erin.log"
[ -z "$(version_at erin "$gid")" ] || fail "erin has the group already: $(ctl erin groups)"
start alice
wait_for "erin has the list" 20 has_version erin "$gid" 5
wait_for "erin has dave's message" 20 has_count erin team "hello erin" 1
log "ok"
