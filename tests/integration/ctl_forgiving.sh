#!/usr/bin/env bash
# p2pchatctl forgives what people type: options anywhere on the line,
# --wait=10 (and `--wait 10` refused: words of a message are never an
# option's value), the words of a message joined, "did you
# mean" for a mistyped command or config key; errors always read
# "p2pchatctl: CODE: message", usage errors exit 2.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online

# Global options after the command.
ctl alice status --json | grep -q '"mode": *"peer"' || fail "status --json"
"$P2PCHATCTL" status -c "$TMP/alice.conf" | grep -q "^user	alice$" || fail "status -c FILE"
"$P2PCHATCTL" status -s "$TMP/alice.ctl/ctl.sock" | grep -q "^user	alice$" || fail "status -s SOCK"
expect_exit 2 "$P2PCHATCTL" -c "$TMP/alice.conf" status -s "$TMP/alice.ctl/ctl.sock"

# --wait=10, --wait alone; words joined by one space. `--wait 3 beers`
# is refused (is 3 the wait or the text?) with the fix, and sends nothing.
id=$(ctl alice send bob --wait=10 hello   there,  bob) || fail "send --wait=10"
ctl bob history alice | tail -1 | cut -f5 | grep -qx "hello there, bob" || fail "words: $(ctl bob history alice | tail -1)"
expect_exit 2 ctl alice send bob --wait 3 beers tonight
grep -q "^p2pchatctl: usage: --wait 3 is ambiguous .*: write --wait=3 for the value, or --wait -- 3 ... for the text" "$TMP/err" || fail "ambiguous --wait: $(cat "$TMP/err")"
expect_exit 2 ctl alice send bob beers --wait 3
ctl alice send bob --wait -- 3 beers >/dev/null || fail "--wait -- 3 beers"
ctl bob history alice | cut -f5 | grep -q "beers tonight" && fail "the ambiguous send was sent"
ctl bob history alice | tail -1 | cut -f5 | grep -qx "3 beers" || fail "--wait -- 3 beers: $(ctl bob history alice | tail -1)"
ctl alice send --wait=10 bob one >/dev/null || fail "--wait=10"
ctl alice send bob two --wait >/dev/null || fail "--wait"
ctl alice send bob 42 >/dev/null || fail "a number as the text"
ctl bob history alice | tail -1 | cut -f5 | grep -qx 42 || fail "42 was taken for --wait's value"
expect_exit 2 ctl alice send bob hi - there
# A text that starts with a dash, after --.
ctl alice send bob -- --not-an-option >/dev/null || fail "send -- --text"

# Did you mean: commands and config keys.
expect_exit 2 ctl alice sned bob hi
grep -q "^p2pchatctl: usage: unknown command 'sned' (did you mean 'send'?)" "$TMP/err" || fail "did you mean: $(cat "$TMP/err")"
expect_exit 2 ctl alice help staus
grep -q "did you mean 'status'" "$TMP/err" || fail "help did you mean: $(cat "$TMP/err")"
cp "$TMP/alice.conf" "$TMP/typo.conf"
echo 'retry2 = { initail = 1.0; };' >>"$TMP/typo.conf"
sed -i 's/^log_level/log_levle/' "$TMP/typo.conf"
"$P2PCHATD" --check-config -c "$TMP/typo.conf" >"$TMP/out" 2>&1 && fail "p2pchatd took the typo"
grep -q "log_levle: unknown key (did you mean 'log_level'?)" "$TMP/out" || fail "config did you mean: $(cat "$TMP/out")"

# Errors read "p2pchatctl: CODE: message".
expect_exit 4 "$P2PCHATCTL" -s "$TMP/none.sock" status
grep -q "^p2pchatctl: no_daemon: no daemon at $TMP/none.sock" "$TMP/err" || fail "no daemon: $(cat "$TMP/err")"
expect_exit 1 ctl alice import "$TMP/no-such-file"
grep -q "^p2pchatctl: io_error: " "$TMP/err" || fail "io error: $(cat "$TMP/err")"
expect_exit 2 ctl alice frobnicate
grep -q "^p2pchatctl: usage: " "$TMP/err" || fail "usage: $(cat "$TMP/err")"

# register while logged in: its own code, asked without a password typed.
expect_exit 1 ctl alice register alice2 --password-file "$(password alice)"
grep -q "^p2pchatctl: already_logged_in: already logged in as alice" "$TMP/err" || fail "register while logged in: $(cat "$TMP/err")"

# Help tells what a script needs.
ctl alice watch --help >"$TMP/h"
for e in message delivered presence key-changed failed cancelled expired held error; do
	grep -q "^  $e " "$TMP/h" || fail "watch --help lacks $e: $(cat "$TMP/h")"
	# One column order: seq event ts user id, whatever the event.
	grep -q "^  $e  *seq event ts \(user\|from\) id\b" "$TMP/h" ||
		fail "watch columns of $e: $(grep "^  $e " "$TMP/h")"
done
ctl alice stats --help | grep -q "from a peer: .*failed cancelled expired" || fail "stats --help"
ctl alice status --help | grep -q "from a gestor: " || fail "status --help"

# watch --since now replays nothing (bob has messages stored), and status
# names the last seq, from which a new consumer can start.
last=$(field bob last_seq)
[ "${last:-0}" -gt 0 ] || fail "status last_seq: $(ctl bob status)"
before=$(grep -c 'ctlsock: watch' "$TMP/bob.log" || true)
ctl bob --json watch --since now >"$TMP/now" &
W=$!
wait_for "bob's watch" 10 sh -c "[ \$(grep -c 'ctlsock: watch' '$TMP/bob.log') -gt $before ]"
ctl alice send --wait=10 bob "after now" >/dev/null
wait_for "the live event" 10 grep -q '"after now"' "$TMP/now"
kill "$W"; wait "$W" 2>/dev/null || true
[ "$(grep -c '"event": *"message"' "$TMP/now")" = 1 ] || fail "--since now replayed: $(cat "$TMP/now")"
grep -q "\"seq\": *$((last + 1))\b" "$TMP/now" || fail "seq after last_seq $last: $(cat "$TMP/now")"

# Passwords at a terminal (script(1)'s pty; each line typed only once its
# prompt is shown, as a person would): the length is checked before the
# second prompt; two that differ are a usage error.
# pw_session FILE LINE...: register carol at a pty, one LINE per prompt.
pw_session() {
	local out=$1 line n=0 rc=0
	shift
	rm -f "$TMP/pwin"
	mkfifo "$TMP/pwin"
	TERM=dumb script -qec "$P2PCHATCTL -c $TMP/carol.conf register carol" \
	    /dev/null <"$TMP/pwin" >"$out" 2>&1 &
	PW=$!
	exec 5>"$TMP/pwin"
	for line in "$@"; do
		n=$((n + 1))
		wait_for "prompt $n" 10 sh -c "[ \$(grep -o 'assword: ' '$out' | wc -l) -ge $n ]"
		printf '%s\n' "$line" >&5
	done
	wait "$PW" || rc=$?
	exec 5>&-
	return "$rc"
}
if command -v script >/dev/null 2>&1; then
	start_peer carol g
	rc=0; pw_session "$TMP/pw1" short || rc=$?
	[ "$rc" = 1 ] || fail "short password: exit $rc ($(cat "$TMP/pw1"))"
	grep -q "invalid_argument: a password must be 8 to 1024 bytes" "$TMP/pw1" || fail "short password: $(cat "$TMP/pw1")"
	grep -q "Retype" "$TMP/pw1" && fail "asked again for a short password"
	rc=0; pw_session "$TMP/pw2" "long enough one" "long enough two" || rc=$?
	[ "$rc" = 2 ] || fail "passwords that differ: exit $rc ($(cat "$TMP/pw2"))"
	grep -q "p2pchatctl: usage: the passwords typed do not match" "$TMP/pw2" || fail "mismatch: $(cat "$TMP/pw2")"
else
	log "no script(1): skipping the terminal password checks"
fi

# One JSON type for "online": a boolean in lookup as in presence events.
ctl alice --json lookup bob | grep -q '"online": *true' || fail "lookup online: $(ctl alice --json lookup bob)"
ctl g --json lookup bob | grep -q '"online": *true' || fail "gestor lookup online"
ctl alice lookup bob | grep -q "^online	online$" || fail "lookup TSV online"
log "ok"
