#!/usr/bin/env bash
# Messaging between two online peers: send, history, chats, escaping,
# stdin, --json, watch events, send --wait, wait, idempotent --id, and the
# interactive chat driven through pipes.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "alice online" 10 gestor_state_is alice online
wait_for "bob online" 10 gestor_state_is bob online

watch_bg bob "$TMP/bob.events"
watch_bg bob "$TMP/bob.events.json" --json

# A plain send prints the id; --wait returns once delivered.
id1=$(ctl alice send bob "hello bob") || fail "send"
[[ "$id1" =~ ^[0-9a-f]{32}$ ]] || fail "send printed '$id1', not an id"
id2=$(ctl alice send --wait=10 bob "second") || fail "send --wait"
[[ "$id2" =~ ^[0-9a-f]{32}$ ]] || fail "send --wait printed '$id2'"
ctl alice wait "$id1" "$id2" --timeout 10 >"$TMP/wait" || fail "wait"
[ "$(cut -f2 "$TMP/wait" | sort -u)" = delivered ] || fail "wait output: $(cat "$TMP/wait")"

# Text with tabs, newlines and backslashes, from stdin, arrives exact.
printf 'tab\there\nnew line \\ back\n' | ctl alice send --wait=10 bob - >/dev/null || fail "send from stdin"
ctl bob history alice >"$TMP/hist"
[ "$(wc -l <"$TMP/hist")" = 3 ] || fail "history has $(wc -l <"$TMP/hist") lines: $(cat "$TMP/hist")"
[ "$(sed -n 1p "$TMP/hist" | cut -f2-5)" = "in	received	$id1	hello bob" ] ||
	fail "history line 1: $(sed -n 1p "$TMP/hist")"
[ "$(sed -n 3p "$TMP/hist" | cut -f5)" = 'tab\there\nnew line \\ back' ] ||
	fail "escaping: $(sed -n 3p "$TMP/hist" | cut -f5)"
ctl bob --json history alice | tail -1 >"$TMP/hist.json"
grep -q '"text": *"tab\\there\\nnew line \\\\ back"' "$TMP/hist.json" ||
	fail "--json history: $(cat "$TMP/hist.json")"
ctl alice history bob | cut -f2,3 | sort -u >"$TMP/states"
[ "$(cat "$TMP/states")" = "out	delivered" ] || fail "sender states: $(cat "$TMP/states")"
ctl bob history alice --limit 1 | grep -q "tab" || fail "--limit"

# chats: unread counts drop when history is read.
id4=$(ctl alice send --wait=10 bob "unread one")
ctl bob chats >"$TMP/chats"
[ "$(cut -f1,2 "$TMP/chats")" = "alice	1" ] || fail "chats: $(cat "$TMP/chats")"
grep -q "unread one" "$TMP/chats" || fail "chat preview"
ctl bob history alice >/dev/null
[ "$(ctl bob chats | cut -f2)" = 0 ] || fail "unread after reading"

# Events: every message seen once, in order, with its seq.
wait_for "4 message events" 5 sh -c "[ \$(grep -c '	message	' $TMP/bob.events) = 4 ]"
awk -F'\t' '$2 == "message" { print $5 }' "$TMP/bob.events" >"$TMP/ev.ids"
[ "$(sed -n 1p "$TMP/ev.ids")" = "$id1" ] && [ "$(sed -n 4p "$TMP/ev.ids")" = "$id4" ] ||
	fail "event order: $(cat "$TMP/ev.ids")"
awk -F'\t' '$2 == "message" { print $1 }' "$TMP/bob.events" | sort -n -c ||
	fail "event seqs not increasing"
grep -q '"event": *"message"' "$TMP/bob.events.json" || fail "--json watch: $(head -2 "$TMP/bob.events.json")"

# The sender sees delivered events too.
ctl alice watch --since 0 >"$TMP/alice.events" &
wait_for "alice replay" 5 sh -c "[ \$(grep -c '	delivered	' $TMP/alice.events) = 4 ]"

# Idempotent sends: the same --id again is a no-op; another text conflicts.
myid=0123456789abcdef0123456789abcdef
ctl alice send bob "once" --id "$myid" --wait=10 >/dev/null || fail "send --id"
[ "$(ctl alice send bob "once" --id "$myid")" = "$myid" ] || fail "resend --id"
expect_exit 1 ctl alice send bob "other text" --id "$myid"
grep -q id_conflict "$TMP/err" || fail "id conflict message: $(cat "$TMP/err")"
[ "$(ctl bob history alice | grep -c "	once$")" = 1 ] || fail "--id message shown twice"

# Bad input: to self, unknown wait id, empty text, bad id.
expect_exit 1 ctl alice send alice "me"
expect_exit 1 ctl alice wait ffffffffffffffffffffffffffffffff
printf '' | { expect_exit 1 ctl alice send bob -; }
expect_exit 1 ctl alice send bob hi --id XYZ

# Interactive chat through pipes: two lines sent, bob's reply printed.
printf 'from chat 1\nfrom chat 2\n' | ctl alice chat bob >"$TMP/chat.out" ||
	fail "chat exited non-zero"
wait_for "chat lines delivered" 10 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf history alice | grep -c 'from chat') = 2 ]"

# A message bob sends shows up in alice's chat session as it arrives.
mkfifo "$TMP/chat.in"
watches=$(grep -c "ctlsock: watch" "$TMP/alice.log")
ctl alice chat bob <"$TMP/chat.in" >"$TMP/chat2.out" &
CHAT=$!
exec 7>"$TMP/chat.in"
wait_for "chat subscribed" 5 sh -c "[ \$(grep -c 'ctlsock: watch' $TMP/alice.log) -gt $watches ]"
ctl bob send --wait=10 alice "reply from bob" >/dev/null
wait_for "reply shown in chat" 10 grep -q "reply from bob" "$TMP/chat2.out"
exec 7>&-
wait "$CHAT" || fail "chat did not exit 0 at EOF"

# stats count what happened.
ctl alice stats | grep -q "^delivered	" || fail "stats"

# bob freezes (SIGSTOP) with alice's link to him open; alice stops: her
# close_notify is never answered, she exits after the grace period with
# exit status 0 and, in a sanitizer tree, no leak of that connection.
ctl alice send --wait=10 bob "before the freeze" >/dev/null
kill -STOP "${PIDS[bob]}"
stop_clean alice
kill -CONT "${PIDS[bob]}"
grep -q "connections still closing; exiting anyway" "$TMP/alice.log" ||
	fail "alice's link to the frozen bob was not left closing"
log "ok"
