#!/usr/bin/env bash
# The scripts in examples/ work as their comments say: the echo bot answers
# every message once (also across its own restarts, and its daemon's death
# between a message and the reply), notify.sh runs a
# command with sender and text, send-lines.sh never sends a line twice,
# send-to-oncall.sh sends a file to the first on the rota who is online and
# waits until it is delivered.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
examples=$(cd "$(dirname "$TESTS_LIB")/../examples" && pwd)
export P2PCHATCTL

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online
wait_for "alice online" 10 gestor_state_is alice online

# count NAME USER DIRECTION TEXT: messages in NAME's chat with USER whose
# text, as history prints it (\t, \n, \\ escaped), is TEXT.
count() {
	ctl "$1" history "$2" --limit 1000 |
	    D=$3 T=$4 awk -F'\t' '$2 == ENVIRON["D"] && $5 == ENVIRON["T"]' | wc -l
}

# has N NAME USER DIRECTION TEXT: count is N.
has() {
	[ "$(count "$2" "$3" "$4" "$5")" = "$1" ]
}

# The p2pchatctl watch an example runs (it has no -c, unlike lib.sh's).
example_watch_running() {
	command -v pgrep >/dev/null 2>&1 || return 1	# procps missing: skip
	pgrep -f "^$P2PCHATCTL watch" >/dev/null
}

# bg_script NAME PIDVAR SCRIPT ARGS...: run an example for NAME's daemon in
# the background; return once its watch is subscribed.
bg_script() {
	local name=$1 before
	shift
	before=$(grep -c "ctlsock: watch" "$TMP/$name.log" || true)
	P2PCHAT_CONFIG=$TMP/$name.conf "$@" 2>>"$TMP/$name-script.err" &
	BG_PID=$!
	wait_for "$name's script to watch" 5 sh -c \
	    "[ \$(grep -c 'ctlsock: watch' '$TMP/$name.log') -gt $before ]"
}

stop_script() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------- echo-bot
bg_script bob bash "$examples/echo-bot.sh" "$TMP/bot.seq"
BOT=$BG_PID
ctl alice send bob 'hello	bot \ one' >/dev/null
wait_for "the echo" 10 has 1 alice bob in 'echo: hello\tbot \\ one'
stop_script "$BOT"
wait_for "the bot's watch to end" 5 eval '! example_watch_running'
[ -s "$TMP/bot.seq" ] || fail "bot kept no state"

# Messages that come while the bot is down are answered when it is back,
# and the earlier one is not answered again.
ctl alice send --wait=10 bob "while you were out" >/dev/null
bg_script bob bash "$examples/echo-bot.sh" "$TMP/bot.seq"
BOT=$BG_PID
wait_for "the late echo" 10 has 1 alice bob in "echo: while you were out"
# Forget the state: a fresh bot starts from now (status's last_seq), so
# nothing old is answered again.
stop_script "$BOT"
rm -f "$TMP/bot.seq"
last=$(field bob last_seq)
bg_script bob bash "$examples/echo-bot.sh" "$TMP/bot.seq"
BOT=$BG_PID
wait_for "the fresh bot's state" 10 test -s "$TMP/bot.seq"
[ "$(cat "$TMP/bot.seq")" = "$last" ] || fail "a fresh bot starts at $(cat "$TMP/bot.seq"), not at the last seq $last"
ctl alice send --wait=10 bob "third" >/dev/null
wait_for "the third echo" 10 has 1 alice bob in "echo: third"
sleep 0.5
stop_script "$BOT"
n=$(ctl alice history bob --limit 1000 | grep -c '	in	.*echo: ' || true)
[ "$n" = 3 ] || fail "alice got $n echoes, want 3: $(ctl alice history bob)"

# The daemon dies between an incoming message and the reply: the bot stops
# (non-zero) without saving that message's seq; restarted, it answers it,
# once.
cat >"$TMP/ctl-dies" <<EOF
#!/bin/sh
# p2pchatctl, but a send first kills bob's daemon.
[ "\$1" = send ] && kill -KILL ${PIDS[bob]}
exec "$P2PCHATCTL" "\$@"
EOF
chmod +x "$TMP/ctl-dies"
before=$(cat "$TMP/bot.seq")
bg_script bob env P2PCHATCTL="$TMP/ctl-dies" bash "$examples/echo-bot.sh" "$TMP/bot.seq"
BOT=$BG_PID
ctl alice send bob "answer me once" >/dev/null
rc=0; wait "$BOT" || rc=$?
[ "$rc" != 0 ] || fail "echo-bot.sh exited 0 after a reply failed"
stop bob KILL
[ "$(cat "$TMP/bot.seq")" = "$before" ] ||
	fail "the bot saved seq $(cat "$TMP/bot.seq") (was $before) for a message it did not answer"
start bob
bg_script bob bash "$examples/echo-bot.sh" "$TMP/bot.seq"
BOT=$BG_PID
wait_for "the echo after the crash" 20 has 1 alice bob in "echo: answer me once"
ctl alice send --wait=10 bob "after the crash" >/dev/null
wait_for "the next echo" 10 has 1 alice bob in "echo: after the crash"
stop_script "$BOT"
has 1 alice bob in "echo: answer me once" || fail "answered twice"

# ---------------------------------------------------------------- notify
cat >"$TMP/record.sh" <<'EOF'
#!/bin/sh
# record.sh FILE SENDER TEXT
printf '[%s] [%s]\n' "$2" "$3" >>"$1"
EOF
bg_script bob bash "$examples/notify.sh" sh "$TMP/record.sh" "$TMP/notes"
NOTIFY=$BG_PID
ctl alice send bob "first note" >/dev/null
printf 'two\nlines' | ctl alice send bob - >/dev/null
wait_for "two notes" 10 sh -c "[ \$(grep -c '^\[alice\]' '$TMP/notes') = 2 ]"
# A group message's line has two more columns (the group's id and title),
# which are not part of the text.
ctl alice group create team bob >/dev/null
ctl alice send --group team "to the team" >/dev/null
wait_for "three notes" 10 sh -c "[ \$(grep -c '^\[alice\]' '$TMP/notes') = 3 ]"
stop_script "$NOTIFY"
printf '[alice] [first note]\n[alice] [two\nlines]\n[alice] [to the team]\n' |
    cmp -s - "$TMP/notes" ||
	fail "notify.sh ran: $(cat "$TMP/notes")"
expect_exit 2 bash "$examples/notify.sh"

# ---------------------------------------------------------------- send-lines
printf 'alpha\n\nbeta with \\ and\ttab\ngamma (no newline)' >"$TMP/lines.txt"
P2PCHAT_CONFIG=$TMP/alice.conf bash "$examples/send-lines.sh" bob "$TMP/lines.txt" \
    >"$TMP/sl1" || fail "send-lines.sh"
[ "$(wc -l <"$TMP/sl1")" = 3 ] || fail "send-lines printed: $(cat "$TMP/sl1")"
cut -f1 "$TMP/sl1" | grep -qvE '^[0-9a-f]{32}$' && fail "ids: $(cat "$TMP/sl1")"
ctl alice wait $(cut -f1 "$TMP/sl1") --timeout 10 >/dev/null || fail "lines not delivered"
# Again, from another directory and with one more line: only that is new.
printf '\ndelta\n' >>"$TMP/lines.txt"
(cd / && P2PCHAT_CONFIG=$TMP/alice.conf bash "$examples/send-lines.sh" bob \
    "${TMP#/}/lines.txt") >"$TMP/sl2" || fail "send-lines.sh again"
[ "$(head -3 "$TMP/sl2" | cut -f1)" = "$(cut -f1 "$TMP/sl1")" ] ||
	fail "ids changed: $(cat "$TMP/sl1") / $(cat "$TMP/sl2")"
head -3 "$TMP/sl2" | cut -f2 | grep -qv delivered && fail "resent: $(cat "$TMP/sl2")"
ctl alice wait $(cut -f1 "$TMP/sl2") --timeout 10 >/dev/null || fail "delta not delivered"
for t in alpha 'beta with \\ and\ttab' 'gamma (no newline)' delta; do
	has 1 bob alice in "$t" || fail "bob has $(count bob alice in "$t") of '$t'"
done
# A line changed after it was sent is refused; the others still go.
sed -i 's/^alpha$/alpha, edited/' "$TMP/lines.txt"
printf 'epsilon\n' >>"$TMP/lines.txt"
expect_exit 1 env P2PCHAT_CONFIG="$TMP/alice.conf" bash "$examples/send-lines.sh" \
    bob "$TMP/lines.txt"
grep -q id_conflict "$TMP/err" || fail "no id_conflict: $(cat "$TMP/err")"
[ "$(wc -l <"$TMP/out")" = 4 ] || fail "send-lines printed: $(cat "$TMP/out")"
ctl alice wait $(cut -f1 "$TMP/out") --timeout 10 >/dev/null || fail "epsilon not delivered"
has 1 bob alice in epsilon || fail "epsilon"
has 0 bob alice in "alpha, edited" || fail "edited line sent"
expect_exit 2 bash "$examples/send-lines.sh" bob

# ---------------------------------------------------------- send-to-oncall
# carol is first on the rota but not online: the file goes to bob, who is
# online, and the script returns once bob has it whole and checked.
ctl bob send --wait=20 alice "on call this week" >/dev/null	# alice: a contact
head -c 300000 /dev/urandom >"$TMP/report.bin"
P2PCHAT_CONFIG=$TMP/alice.conf bash "$examples/send-to-oncall.sh" "$TMP/report.bin" \
    carol bob >"$TMP/oc" || fail "send-to-oncall.sh: $(cat "$TMP/oc")"
oc_id=$(cut -f1 "$TMP/oc")
[ "$(cut -f2 "$TMP/oc")" = bob ] || fail "sent to: $(cat "$TMP/oc")"
ctl bob files alice | awk -F'\t' -v id="$oc_id" '$5 == id { print $4 }' | grep -qx received ||
	fail "bob does not have it: $(ctl bob files alice)"
ctl bob save "$oc_id" "$TMP/report.out" && cmp "$TMP/report.bin" "$TMP/report.out" ||
	fail "the file bob got differs"
expect_exit 2 bash "$examples/send-to-oncall.sh" "$TMP/report.bin"

# ------------------------------------------------------- the daemon goes away
# The bots fail (exit 1), so that Restart=on-failure brings them back.
bg_script bob bash "$examples/echo-bot.sh" "$TMP/bot.seq"
BOT=$BG_PID
bg_script bob bash "$examples/notify.sh" sh "$TMP/record.sh" "$TMP/notes"
NOTIFY=$BG_PID
stop bob TERM
rc=0; wait "$BOT" || rc=$?
[ "$rc" = 1 ] || fail "echo-bot.sh after the daemon stopped: exit $rc"
rc=0; wait "$NOTIFY" || rc=$?
[ "$rc" = 1 ] || fail "notify.sh after the daemon stopped: exit $rc"
log "ok"
