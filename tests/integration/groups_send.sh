#!/usr/bin/env bash
# Group messages (DESIGN.md "Groups"): send --group stores one body and a
# delivery row per member; each member gets each sender's messages once
# and in that sender's order, through a member offline, a member and a
# sender killed with SIGKILL; wait waits for every member; history
# --group, chats (kind), watch (the group's id and title); a removed
# member gets nothing sent after its removal, and a message from someone
# outside the list is refused and never shown.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
for u in alice bob carol dave; do
	start_peer $u g
	register $u >/dev/null
done
for u in alice bob carol dave; do
	wait_for "$u online" 10 gestor_state_is $u online
done
version_at() {
	ctl "$1" groups | awk -F'\t' -v g="$2" '$1 == g { print $5 }'
}
has_version() {
	[ "$(version_at "$1" "$2")" = "$3" ]
}
# count USER GROUP TEXT-PREFIX: messages in USER's group history starting so.
count() {
	ctl "$1" history --group "$2" --limit 1000 | awk -F'\t' -v p="$3" \
	    'index($5, p) == 1' | wc -l
}
has_count() {
	[ "$(count "$1" "$2" "$3")" = "$4" ]
}

gid=$(ctl alice group create team bob carol dave) || fail "group create"
for u in bob carol dave; do
	wait_for "$u has the list" 10 has_version $u "$gid" 1
done
watch_bg carol "$TMP/carol.events" --json

# Delivered to everyone; wait waits for every member.
id1=$(ctl alice send --group team --wait=10 "hello team") || fail "send --group --wait"
for u in bob carol dave; do
	[ "$(count $u team "hello team")" = 1 ] || fail "$u lacks the first message"
done
ctl bob history --group team | grep -q "	alice	received	$id1	hello team$" ||
	fail "bob's group history: $(ctl bob history --group team)"
[ "$(ctl alice history --group team | cut -f2,3)" = "alice	delivered" ] ||
	fail "alice's group history: $(ctl alice history --group team)"
ctl bob chats | grep -q "^team	0	.*	hello team	no	group$" || fail "bob's chats: $(ctl bob chats)"
wait_for "carol's event" 5 grep -q "\"group\": *{\"id\": *\"$gid\", *\"title\": *\"team\"}" "$TMP/carol.events"
ctl bob history alice | grep -q "hello team" && fail "a group message in the direct chat"
# One body at the sender, one small row per member.
[ "$(sqlite3 "$TMP/alice/peer.db" "SELECT count(*) FROM messages WHERE body = 'hello team'")" = 1 ] ||
	fail "the body was stored more than once"

# dave offline: wait times out (3) while he lacks it, then succeeds.
stop dave
id2=$(ctl alice send --group team "while dave is away") || fail "send"
expect_exit 3 ctl alice wait "$id2" --timeout 2
ctl alice group show team | grep -q "^undelivered	dave:1$" ||
	fail "group show: $(ctl alice group show team)"
ctl alice pending | grep -q "^$id2	dave	" || fail "pending: $(ctl alice pending)"
# cancel and --ttl end it for the members not reached, here dave.
idc=$(ctl alice send --group team "cancel me") || fail "send"
idt=$(ctl alice send --group team --ttl 1 "expire me") || fail "send --ttl"
wait_for "bob has both" 10 has_count bob team "expire me" 1
wait_for "carol has both" 10 has_count carol team "expire me" 1
ctl alice cancel "$idc" >"$TMP/cancel" || fail "cancel"
[ "$(cut -f2,3 "$TMP/cancel")" = "cancelled	dave: cancelled by the user" ] ||
	fail "cancel: $(cat "$TMP/cancel")"
expect_exit 1 ctl alice wait "$idt" --timeout 10
grep -q "expired" "$TMP/err" || fail "wait on an expired group message: $(cat "$TMP/err")"
start dave
ctl alice wait "$id2" --timeout 20 >/dev/null || fail "wait after dave is back"

# Several senders, dave killed with SIGKILL in the middle, bob too.
for i in $(seq 1 20); do
	ctl bob send --group team "bob $i" >/dev/null
	ctl carol send --group team "carol $i" >/dev/null
	[ "$i" = 8 ] && stop dave KILL
	[ "$i" = 12 ] && stop bob KILL && start bob
done
start dave
for u in alice carol dave; do
	wait_for "$u has bob's 20" 30 has_count $u team "bob " 20
done
for u in alice bob dave; do
	wait_for "$u has carol's 20" 30 has_count $u team "carol " 20
done
# Each sender's messages arrived in its order, each once (dave's events).
ctl dave watch --since 0 >"$TMP/dave.events" &
wpid=$!
wait_for "dave's replay" 10 sh -c "[ \$(grep -c '	message	.*	bob [0-9]*	' $TMP/dave.events) -ge 20 ]"
kill "$wpid" 2>/dev/null || true
awk -F'\t' '$2 == "message" && $6 == "bob 1" { print $7, $8 }' "$TMP/dave.events" |
    grep -qx "$gid team" || fail "a group message's watch line lacks its group"
for s in bob carol; do
	awk -F'\t' -v s="$s" '$2 == "message" && $4 == s { print $6 }' "$TMP/dave.events" >"$TMP/order.$s"
	seq 1 20 | sed "s/^/$s /" >"$TMP/want.$s"
	diff "$TMP/want.$s" "$TMP/order.$s" >&2 || fail "dave's order of $s's messages"
done

[ "$(count dave team "cancel me")$(count dave team "expire me")" = 00 ] ||
	fail "dave got a cancelled or expired message"

# cancel leaves alone a member the message was sent to and that has not
# acknowledged it yet (mute: a hand-made peer that never acks a gmsg).
need_tools python3 certtool
client_cert mute
p2ptool mute-peer "$TMP/mute.crt" "$TMP/mute.key" mute "$TMP/mute.port" 60 >"$TMP/mute.out" &
MUTE=$!
wait_for "the mute peer" 10 test -s "$TMP/mute.port"
p2ptool gestor-session "${PORT_OF[g]}" "$TMP/mute.crt" "$TMP/mute.key" mute pw-mute-12345 \
    register "hb:$(cat "$TMP/mute.port")" >"$TMP/out"
grep -qx "hb ok" "$TMP/out" || fail "mute: $(cat "$TMP/out")"
ctl alice group create quiet bob mute >/dev/null || fail "group with mute"
idm=$(ctl alice send --group quiet "to the mute") || fail "send to quiet"
wait_for "mute holds it" 20 grep -q '"t": "gmsg"' "$TMP/mute.out"
wait_for "bob has it" 20 has_count bob quiet "to the mute" 1
expect_exit 1 ctl alice cancel "$idm"
grep -q "too_late.*already sent to some members" "$TMP/err" || fail "cancel in flight: $(cat "$TMP/err")"
ctl alice group show quiet | grep -q "^undelivered	mute:1$" || fail "mute's row: $(ctl alice group show quiet)"
kill "$MUTE" 2>/dev/null || true
wait "$MUTE" 2>/dev/null || true

# carol removed: nothing sent after the removal reaches her.
ctl alice group remove team carol >/dev/null || fail "remove carol"
wait_for "bob has version 2" 10 has_version bob "$gid" 2
wait_for "carol has version 2" 10 has_version carol "$gid" 2
ctl bob send --group team --wait=10 "after carol left" >/dev/null || fail "send after removal"
expect_exit 1 ctl carol send --group team "carol is out"
grep -q not_member "$TMP/err" || fail "carol's send: $(cat "$TMP/err")"
[ "$(count carol team "after carol left")" = 0 ] || fail "carol got a message after her removal"

# A new member gets a message before it has the list that names it (the
# admin is down): it refuses it (not_member), the sender keeps it, and
# it arrives once the admin's list has. (Killed: a clean stop would put
# the list in fred's mailbox, tests/integration/mailbox_group.sh.)
start_peer fred g
register fred >/dev/null
stop fred
ctl alice group add team fred >/dev/null || fail "add fred"
wait_for "bob has version 3" 10 has_version bob "$gid" 3
stop alice KILL
ctl bob send --group team "hello fred" >/dev/null || fail "send to fred"
start fred
wait_for "fred refuses it" 30 grep -q "refused .* from bob: bob is not a member of group $gid" "$TMP/fred.log"
[ "$(count fred team "hello fred" 2>/dev/null)" = 0 ] || fail "fred took a message before the list"
start alice
wait_for "fred has the list" 30 has_version fred "$gid" 3
wait_for "fred has bob's message" 30 has_count fred team "hello fred" 1

# A gmsg made by hand from carol (no longer a member) is refused by bob.
need_tools python3 certtool
printf 'cn = "carol"\nexpiration_days = 2\nsigning_key\ntls_www_client\n' >"$TMP/carol.tmpl"
certtool --generate-self-signed --load-privkey "$TMP/carol/identity.key" \
    --template "$TMP/carol.tmpl" --no-text --outfile "$TMP/carol.crt" >/dev/null 2>&1
python3 -c 'import json,os,sys,time; print(json.dumps({"t": "gmsg", "id": os.urandom(16).hex(),
    "group": sys.argv[1], "from": "carol", "ts": int(time.time() * 1000),
    "body": "FORGED from a non-member"}))' "$gid" >"$TMP/gmsg"
p2ptool peer-frames "${PORT_OF[bob]}" "$TMP/carol.crt" "$TMP/carol/identity.key" carol \
    "$TMP/gmsg" >"$TMP/gmsg.out"
grep -q '"code": "not_member"' "$TMP/gmsg.out" || fail "non-member gmsg: $(cat "$TMP/gmsg.out")"
ctl bob history --group team --limit 1000 | grep -q FORGED && fail "a non-member's message is shown"
true

# search --group; export and import keep group messages and their ids, and
# importing twice adds nothing.
ctl bob search --group team "carol 7" | grep -q "	carol 7$" || fail "search --group"
[ "$(ctl bob search "carol 7" | wc -l)" = 1 ] || fail "search finds a group message once"
[ -z "$(ctl bob search --group team "no such words")" ] || fail "search --group found nothing to find"
ctl bob export >"$TMP/bob.jsonl" || fail "export"
[ "$(grep -c "\"group\": *\"$gid\"" "$TMP/bob.jsonl")" -ge 43 ] || fail "export lacks group messages"
grep -q '"user": *"dave"' "$TMP/bob.jsonl" && fail "export has a member's delivery row"
start_peer erin g
register erin >/dev/null
ctl erin import "$TMP/bob.jsonl" >"$TMP/imp1" || fail "import"
ctl erin import "$TMP/bob.jsonl" >"$TMP/imp2" || fail "import again"
grep -q "^imported	0$" "$TMP/imp2" || fail "second import: $(cat "$TMP/imp2")"
[ "$(sqlite3 "$TMP/erin/peer.db" "SELECT count(*) FROM messages WHERE grp = '$gid'")" = \
  "$(grep -c "\"group\": *\"$gid\"" "$TMP/bob.jsonl")" ] || fail "imported group messages"
ctl erin export | grep "\"id\": *\"$id1\"" | grep -q "\"group\": *\"$gid\"" || fail "id or group lost"
true
# Deleting the direct chat with carol leaves her group messages alone.
ctl bob chat-delete carol --yes >/dev/null || fail "chat-delete"
[ "$(count bob team "carol ")" = 20 ] || fail "chat-delete took carol's group messages"
