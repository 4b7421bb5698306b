#!/usr/bin/env bash
# import never speaks for the user: outgoing lines marked pending (here a
# hostile export addressed to a user never contacted) are stored failed
# with the reason "imported" and never sent, unless --send-pending asks.
# Every bad line is named (also lines not UTF-8), and then nothing is
# imported; an empty file
# imports nothing and succeeds.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer victim g
register alice >/dev/null
register victim >/dev/null
wait_for "victim online" 10 gestor_state_is victim online

hex() { printf '%032x' "$1"; }
{
	for i in 1 2 3; do
		printf '{"id":"%s","user":"victim","direction":"out","ts":%d,"received":0,"state":"pending","text":"sent in your name %d"}\n' "$(hex $i)" "$i" "$i"
	done
	printf '{"id":"%s","user":"victim","direction":"out","ts":4,"received":0,"state":"held","text":"held too"}\n' "$(hex 4)"
	printf '{"id":"%s","user":"victim","direction":"in","ts":5,"received":6,"state":"received","text":"an old reply"}\n' "$(hex 5)"
} >"$TMP/hostile"
ctl alice import "$TMP/hostile" >"$TMP/imp" || fail "import"
grep -q "^imported	5$" "$TMP/imp" && grep -q "^not_sent	4$" "$TMP/imp" || fail "import: $(cat "$TMP/imp")"
[ -z "$(ctl alice pending)" ] || fail "imported lines queued: $(ctl alice pending)"
ctl alice export victim | grep '"direction":"out"' >"$TMP/out_lines"
[ "$(grep -c '"state":"failed"' "$TMP/out_lines")" = 4 ] &&
	[ "$(grep -c '"reason":"imported"' "$TMP/out_lines")" = 4 ] || fail "export: $(cat "$TMP/out_lines")"
# Delivery is in order per pair: once a later message arrived, nothing
# imported was sent before it.
ctl alice send --wait=15 victim "a real message" >/dev/null || fail "real message"
[ "$(ctl victim history alice | cut -f5)" = "a real message" ] ||
	fail "the victim received: $(ctl victim history alice | cut -f5)"

# --send-pending: the user asks, so it is sent.
printf '{"id":"%s","user":"victim","direction":"out","ts":7,"received":0,"state":"pending","text":"really mine"}\n' "$(hex 7)" >"$TMP/mine"
ctl alice import --send-pending "$TMP/mine" >"$TMP/imp" || fail "import --send-pending"
grep -q "^not_sent	0$" "$TMP/imp" || fail "import --send-pending: $(cat "$TMP/imp")"
ctl alice wait "$(hex 7)" --timeout 15 >/dev/null || fail "--send-pending line not delivered"

# Every bad line named (not only the first); nothing imported.
{
	printf '{"id":"%s","user":"victim","direction":"in","ts":8,"state":"received","text":"good"}\n' "$(hex 8)"
	echo 'not json'
	printf '{"id":"zz","user":"victim","direction":"in","ts":9,"state":"received","text":"x"}\n'
	printf '{"id":"%s","user":"victim","direction":"sideways","ts":9,"state":"received","text":"x"}\n' "$(hex 9)"
} >"$TMP/bad"
expect_exit 1 ctl alice import "$TMP/bad"
for l in 2 3 4; do
	grep -q "line $l: " "$TMP/err" || fail "line $l not named: $(cat "$TMP/err")"
done
grep -q "3 bad lines" "$TMP/err" || fail "count of bad lines: $(cat "$TMP/err")"
expect_exit 1 ctl alice --json import "$TMP/bad"
grep -q '"bad_lines": *3' "$TMP/out" || fail "--json bad_lines: $(cat "$TMP/out")"
ctl alice export | grep -q "$(hex 8)" && fail "a good line of a bad file was imported"
# Times in the future (beyond limits.max_clock_skew) are refused, as
# from a peer: 2^63-1 showed the year 292278994 and kept its chat first.
{
	printf '{"id":"%s","user":"victim","direction":"in","ts":9223372036854775807,"state":"received","text":"x"}\n' "$(hex 11)"
	printf '{"id":"%s","user":"victim","direction":"in","ts":1,"received":%d,"state":"received","text":"x"}\n' "$(hex 12)" $(( ($(date +%s) + 3600) * 1000 ))
	printf '{"id":"%s","user":"victim","direction":"in","ts":%d,"state":"received","text":"x"}\n' "$(hex 13)" $(( ($(date +%s) + 60) * 1000 ))
} >"$TMP/future"
expect_exit 1 ctl alice import "$TMP/future"
grep -q "2 bad lines.*line 1: .* future.*line 2: .* future" "$TMP/err" ||
	fail "future times not refused: $(cat "$TMP/err")"
ctl alice export | grep -q "$(hex 13)" && fail "a good line of a file with future times was imported"
# Lines that are not UTF-8 (or hold a NUL byte) are named too.
{
	printf '{"id":"%s","user":"victim","direction":"in","ts":8,"state":"received","text":"good"}\n' "$(hex 8)"
	printf '{"id":"%s","user":"victim","direction":"in","ts":9,"state":"received","text":"\377"}\n' "$(hex 9)"
	printf '{"id":"%s","user":"victim","direction":"in","ts":9,"state":"received","text":"x\000"}\n' "$(hex 10)"
} >"$TMP/notutf8"
expect_exit 1 ctl alice import "$TMP/notutf8"
grep -q "2 bad lines, nothing imported: line 2: not UTF-8.*; line 3: not UTF-8" "$TMP/err" ||
	fail "lines not UTF-8 not named: $(cat "$TMP/err")"
ctl alice export | grep -q "$(hex 8)" && fail "a good line of a file with bytes not UTF-8 was imported"

# An empty file: nothing imported, no error.
: >"$TMP/empty"
ctl alice import "$TMP/empty" >"$TMP/imp" || fail "empty import failed"
grep -q "^imported	0$" "$TMP/imp" || fail "empty import: $(cat "$TMP/imp")"
log "ok"
