#!/usr/bin/env bash
# chat for people (on a terminal, through script(1)'s pty): it opens with
# the last messages and says whether the contact is online, shows text as
# written (a tab and a backslash, not \t and \\), says a line is queued
# while the contact is offline. Piped chat returns once what it sent is
# delivered. Tables on a terminal are aligned. A key change shows at
# once, and a line to the changed key is shown held.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools script

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online

# Piped: returns once delivered (no waiting needed afterwards).
printf 'piped line\n' | ctl alice chat bob >"$TMP/p.out" || fail "piped chat"
ctl bob history alice | grep -q "	piped line$" || fail "piped chat returned before delivery"
grep -q "^delivered	" "$TMP/p.out" || fail "piped chat output: $(cat "$TMP/p.out")"

ctl bob send --wait=10 alice "$(printf 'tab\there \\ back\nsecond line')" >/dev/null

# send with no text on a terminal says it reads standard input; piped, not.
printf 'from a terminal\n\004' | TERM=dumb script -qec \
    "$P2PCHATCTL -c $TMP/alice.conf send bob" /dev/null >"$TMP/send.tty" 2>&1 || true
grep -q "^p2pchatctl: reading the message from standard input; end it with Ctrl-D" "$TMP/send.tty" ||
	fail "send from a terminal: $(cat "$TMP/send.tty")"
grep -Eq "^[0-9a-f]{32}" "$TMP/send.tty" || fail "send from a terminal sent nothing: $(cat "$TMP/send.tty")"
echo piped | ctl alice send bob >/dev/null 2>"$TMP/send.err"
[ ! -s "$TMP/send.err" ] || fail "piped send printed: $(cat "$TMP/send.err")"
stop bob TERM
wait_for "bob offline" 10 sh -c "$P2PCHATCTL -c $TMP/alice.conf lookup bob | grep -q '^online	offline'"

mkfifo "$TMP/in"
TERM=dumb script -qfec "$P2PCHATCTL -c $TMP/alice.conf chat bob" /dev/null \
    <"$TMP/in" >"$TMP/tty.out" 2>&1 &
S=$!
exec 3>"$TMP/in"
wait_for "the chat's opening" 10 grep -q "^-- chat with bob (offline" "$TMP/tty.out"
grep -q "] me: piped line" "$TMP/tty.out" || fail "no backlog: $(cat "$TMP/tty.out")"
grep -q "] bob: tab	here \\\\ back" "$TMP/tty.out" || fail "text not as written: $(cat -A "$TMP/tty.out")"
grep -q "^ *second line" "$TMP/tty.out" || fail "second line: $(cat "$TMP/tty.out")"
grep -q 'tab\\there' "$TMP/tty.out" && fail "escapes shown on a terminal"
printf 'while you are away\n' >&3
wait_for "queued notice" 10 grep -q "queued: bob is offline" "$TMP/tty.out"
exec 3>&-
wait "$S" || true

# Tables on a terminal line up; piped they stay tab-separated.
wait_for "the queued line" 10 sh -c "$P2PCHATCTL -c $TMP/alice.conf pending | grep -q 'while you are away'"
TERM=dumb script -qec "$P2PCHATCTL -c $TMP/alice.conf pending" /dev/null | tr -d '\r' >"$TMP/table"
head -1 "$TMP/table" | grep -q "^ID  *USER  *ATTEMPTS" || fail "table header: $(cat "$TMP/table")"
grep -q '	' "$TMP/table" && fail "tabs in a terminal's table: $(cat -A "$TMP/table")"
hdr=$(head -1 "$TMP/table") row=$(sed -n 2p "$TMP/table")
h=${hdr%%USER*} r=${row%%bob*}
[ "${#h}" = "${#r}" ] || fail "USER column not aligned: $(cat "$TMP/table")"
ctl alice pending | grep -q "	bob	" || fail "piped pending is not tab-separated"
TERM=dumb script -qec "$P2PCHATCTL -c $TMP/alice.conf status" /dev/null | tr -d '\r' >"$TMP/kv"
grep -q "^user  *alice$" "$TMP/kv" || fail "status on a terminal: $(cat -A "$TMP/kv")"

# A verified contact's key changes while the chat is open: a notice at
# once, and a line typed then is held, with the command that releases it.
# A line half typed survives a message printed meanwhile; what the chat
# shows is marked read.
start bob
wait_for "bob online" 10 gestor_state_is bob online
ctl alice trust bob "$(field bob fingerprint)" >/dev/null || fail "trust"
mkfifo "$TMP/in2"
TERM=dumb script -qfec "$P2PCHATCTL -c $TMP/alice.conf chat bob" /dev/null \
    <"$TMP/in2" >"$TMP/tty2.out" 2>&1 &
S=$!
exec 4>"$TMP/in2"
wait_for "the second chat's opening" 10 grep -q "^-- chat with bob (online" "$TMP/tty2.out"
# A message that comes while a line is half typed is printed above it,
# and the half line is drawn again below, where typing goes on.
printf 'half typ' >&4
wait_for "the half line echoed" 10 grep -q "half typ" "$TMP/tty2.out"
ctl bob send --wait=10 alice "hello there" >/dev/null
wait_for "the message shown" 10 grep -q "] bob: hello there" "$TMP/tty2.out"
screen() { sed 's/\r$//' "$1" | awk -F'\r' '{ print $NF }'; }
wait_for "the half line redrawn" 10 sh -c "sed 's/\r\$//' $TMP/tty2.out | awk -F'\r' '{ print \$NF }' | grep -A1 'bob: hello there' | grep -q '^half typ\$'"
screen "$TMP/tty2.out" | grep -q '^\[[0-9:]*\] bob: hello there' ||
	fail "message printed into the typed line: $(screen "$TMP/tty2.out" | grep 'hello there')"
printf 'ed\n' >&4
wait_for "the line sent whole" 10 sh -c "$P2PCHATCTL -c $TMP/bob.conf history alice | grep -q '	half typed\$'"
# Editing: Ctrl-W erases a word, Backspace a character (a whole UTF-8 one).
printf 'oops \027fixé\177e\n' >&4
wait_for "the edited line sent" 10 sh -c "$P2PCHATCTL -c $TMP/bob.conf history alice | grep -q '	fixe\$'"
# What an open chat shows is read.
wait_for "shown messages read" 10 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice.conf chats | awk -F'\t' '\$1 == \"bob\" { print \$2 }')\" = 0 ]"
stop bob TERM
start_peer bob2 g
printf '%s\n' "$(cat "$(password bob)")" | ctl bob2 login bob >/dev/null || fail "bob2 login"
wait_for "key-changed notice" 20 grep -q "bob's key changed.*p2pchatctl trust bob" "$TMP/tty2.out"
printf 'to the new key\n' >&4
wait_for "held notice" 10 grep -q "held: key changed.*p2pchatctl trust bob" "$TMP/tty2.out"
# One "offline" notice (bob stopped); the key change's presence event,
# still offline, is not another.
[ "$(grep -c "bob is offline" "$TMP/tty2.out")" = 1 ] ||
	fail "offline notices: $(grep "bob is" "$TMP/tty2.out")"
exec 4>&-
# script(1) does not always pass the end of its input on: hang up instead.
kill "$S" 2>/dev/null || true
wait "$S" 2>/dev/null || true
log "ok"
