#!/usr/bin/env bash
# A receiver does not believe a sender's clock, and refusals name their
# real cause (issue 14, items 6 and 8):
#  - a msg dated 2^63-1 ms is stored with the receiver's time (history
#    shows this year), an earlier date is kept (messages wait in queues);
#  - a message to a user the gestor knows no address for waits with that
#    reason, not "gestor unreachable" while the gestor is up;
#  - a msg sent back on a connection the sender opened is refused for
#    that reason, not as "member 'body' must be 1 to 0 bytes";
#  - a peer's refusal cut in the middle of a character when kept does not
#    make the message vanish from pending (invalid UTF-8 made no JSON).
# Raw frames come from tests/p2ptool.py (fake-peer, impersonate).
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool

start_gestor g
start_peer alice g
register alice >/dev/null
client_cert mallory
M="$TMP/mallory.crt $TMP/mallory.key"
GP=${PORT_OF[g]}
year=$(date -u +%Y)

# --- far-future and past timestamps.
# shellcheck disable=SC2086 # certificate and key
p2ptool register "$GP" $M mallory pw-mallory-12345 | grep -q '"t": "ok"' || fail "register mallory"
# shellcheck disable=SC2086
p2ptool impersonate "${PORT_OF[alice]}" $M mallory mallory alice "from the future" \
    9223372036854775807 >"$TMP/out"
grep -q '"t": "ack"' "$TMP/out" || fail "the message was not taken: $(cat "$TMP/out")"
yesterday=$(( ($(date +%s) - 86400) * 1000 ))
# shellcheck disable=SC2086
p2ptool impersonate "${PORT_OF[alice]}" $M mallory mallory alice "from yesterday" \
    "$yesterday" >"$TMP/out"
grep -q '"t": "ack"' "$TMP/out" || fail "yesterday's message was not taken: $(cat "$TMP/out")"
ctl alice history mallory >"$TMP/hist"
grep "from the future" "$TMP/hist" | grep -q "$year-" ||
	fail "a far-future ts was not clamped: $(cat "$TMP/hist")"
grep -q 292278994 "$TMP/hist" && fail "history shows the year 292278994"
grep "from yesterday" "$TMP/hist" | grep -q "$(date -u -d @$((yesterday / 1000)) +%Y-%m-%d)" ||
	fail "an earlier ts was not kept: $(cat "$TMP/hist")"
grep -q "mallory: message [0-9a-f]* is dated [0-9]* s ahead of our clock" "$TMP/alice.log" ||
	fail "the clamp is not logged"
# Ordered by arrival: the clamped message first, yesterday's after it.
[ "$(grep -o 'from the future\|from yesterday' "$TMP/hist" | tr '\n' ,)" = "from the future,from yesterday," ] ||
	fail "history not in arrival order: $(cat "$TMP/hist")"

# --- a recipient the gestor knows no address for (registered, never
# heartbeated): the reason says so while the gestor is up.
# shellcheck disable=SC2086
client_cert ghost	# one key, one account
p2ptool register "$GP" "$TMP/ghost.crt" "$TMP/ghost.key" ghost pw-ghost-12345 |
    grep -q '"t": "ok"' || fail "register ghost"
ctl alice send ghost "are you there" >/dev/null || fail "send to ghost"
reason_ok() { ctl alice pending | grep -q "the gestor has no address for them"; }
wait_for "the real reason in pending" 10 reason_ok
ctl alice pending | grep -q "gestor unreachable" && fail "pending blames the gestor: $(ctl alice pending)"

# --- a msg sent back on alice's own outgoing connection.
client_cert fakebob
FB="$TMP/fakebob.crt $TMP/fakebob.key"
# shellcheck disable=SC2086
p2ptool fake-peer $FB fakebob "$TMP/fb.port" 10 >"$TMP/fb.out" &
FAKE=$!
wait_for "the fake peer" 10 test -s "$TMP/fb.port"
# shellcheck disable=SC2086
p2ptool gestor-session "$GP" $FB fakebob pw-fakebob-1 register "hb:$(cat "$TMP/fb.port")" >"$TMP/out"
grep -qx "hb ok" "$TMP/out" || fail "fakebob: $(cat "$TMP/out")"
ctl alice send fakebob "to the fake" >/dev/null || fail "send to fakebob"
refused() { grep -q "send it on a connection you open" "$TMP/fb.out"; }
wait_for "alice's refusal of the message sent back" 20 refused
grep -q '"code": "unknown_type"' "$TMP/fb.out" || fail "refusal code: $(cat "$TMP/fb.out")"
grep -q "1 to 0 bytes" "$TMP/fb.out" "$TMP/alice.log" && fail "the misleading body-size error is back"
grep -q "fakebob sent a message on the connection we opened" "$TMP/alice.log" ||
	fail "the refusal is not logged"
kill "$FAKE" 2>/dev/null || true
wait "$FAKE" 2>/dev/null || true

# --- a refusal whose text is cut in the middle of a character (60 x
# U+00E9 after "refused: refused: " does not fit the 128 bytes kept): the
# message still shows in pending, with the text cut before that character.
# It starts with ESC [31m, a C1 control (U+009B) and RLO (U+202E), which
# the log must not carry raw.
client_cert fakecarol
FC="$TMP/fakecarol.crt $TMP/fakecarol.key"
# shellcheck disable=SC2086
p2ptool fake-peer $FC fakecarol "$TMP/fc.port" 30 \
    "$(printf '\033[31m\302\233\342\200\256'; printf '\303\251%.0s' $(seq 60))" >"$TMP/fc.out" &
FAKE=$!
wait_for "the refusing fake peer" 10 test -s "$TMP/fc.port"
# shellcheck disable=SC2086
p2ptool gestor-session "$GP" $FC fakecarol pw-fakecarol-1 register "hb:$(cat "$TMP/fc.port")" >"$TMP/out"
grep -qx "hb ok" "$TMP/out" || fail "fakecarol: $(cat "$TMP/out")"
ctl alice send fakecarol "to the refuser" >/dev/null || fail "send to fakecarol"
cut_reason() { ctl alice pending | grep -q "fakecarol.*refused: refused: .*\(é\)\{45,\};"; }
wait_for "the refusal in pending" 20 cut_reason
ctl alice --json pending | python3 -c 'import json, sys; json.load(sys.stdin)' ||
	fail "pending --json: $(ctl alice --json pending)"
grep -qF "fakecarol refused: refused: ?[31m?????é" "$TMP/alice.log" ||
	fail "the refusal is not logged masked: $(grep -a 'fakecarol refused' "$TMP/alice.log" | head -1 | cat -v)"
if LC_ALL=C grep -q $'\033\\|\302\233\\|\342\200\256' "$TMP/alice.log"; then
	fail "raw escape, C1 or bidi override in the log: $(LC_ALL=C grep -a $'\033\\|\302\233' "$TMP/alice.log" | head -2 | cat -v)"
fi
kill "$FAKE" 2>/dev/null || true
wait "$FAKE" 2>/dev/null || true
stop_clean alice
stop_clean g
log "ok"
