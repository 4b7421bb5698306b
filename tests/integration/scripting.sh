#!/usr/bin/env bash
# Scripting guarantees: resumable events (watch --since), wait, search,
# export/import with ids kept, peer stats.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online

# A consumer that records the last seq it handled misses nothing and sees
# nothing twice, though it is down while messages arrive.
for i in 1 2 3; do ctl alice send --wait=10 bob "batch one $i" >/dev/null; done
ctl bob --json watch --since 0 >"$TMP/c1" &
C=$!
wait_for "three replayed" 5 sh -c "[ \$(grep -c '\"message\"' $TMP/c1) = 3 ]"
kill "$C"; wait "$C" 2>/dev/null || true
last=$(grep '"message"' "$TMP/c1" | tail -1 | sed 's/.*"seq": *\([0-9]*\).*/\1/')
[ -n "$last" ] || fail "no seq in events: $(head -2 "$TMP/c1")"
for i in 1 2; do ctl alice send --wait=10 bob "batch two $i" >/dev/null; done
ctl bob --json watch --since "$last" >"$TMP/c2" &
C=$!
wait_for "resumed" 5 sh -c "[ \$(grep -c '\"message\"' $TMP/c2) = 2 ]"
ctl alice send --wait=10 bob "live one" >/dev/null
wait_for "live after replay" 5 sh -c "[ \$(grep -c '\"message\"' $TMP/c2) = 3 ]"
kill "$C"; wait "$C" 2>/dev/null || true
grep -q "batch one" "$TMP/c2" && fail "replayed an event from before --since"
grep -o '"seq": *[0-9]*' "$TMP/c2" | grep -o '[0-9]*' >"$TMP/seqs"
sort -n -u -c "$TMP/seqs" || fail "seqs repeat or go back: $(cat "$TMP/seqs")"

# The same after the daemon itself was killed.
stop bob KILL
start bob
ctl bob --json watch --since 0 >"$TMP/c3" &
C=$!
wait_for "all six replayed after SIGKILL" 5 sh -c "[ \$(grep -c '\"message\"' $TMP/c3) = 6 ]"
kill "$C"; wait "$C" 2>/dev/null || true

# wait: 0 delivered, 3 on timeout (printing what is pending), 1 unknown.
wait_for "bob back online" 10 gestor_state_is bob online
id=$(ctl alice send bob "to wait for")
ctl alice wait "$id" --timeout 10 >"$TMP/w" || fail "wait"
[ "$(cat "$TMP/w")" = "$id	delivered	-" ] || fail "wait output: $(cat "$TMP/w")"
stop bob TERM
id2=$(ctl alice send bob "never yet")
expect_exit 3 ctl alice wait "$id" "$id2" --timeout 0.3
grep -q "$id2" "$TMP/err" || fail "timeout message lacks the pending id: $(cat "$TMP/err")"
grep -q "$id\b" "$TMP/err" && fail "timeout message lists a delivered id"
expect_exit 1 ctl alice wait 00000000000000000000000000000000
grep -q unknown_id "$TMP/err" || fail "unknown id message"
start bob
ctl alice wait "$id2" --timeout 15 >/dev/null || fail "queued message not delivered"

# search: FTS5, newest first, --user, syntax errors are clear.
ctl alice send --wait=10 bob "the quick brown fox" >/dev/null
ctl alice search fox >"$TMP/s"
[ "$(wc -l <"$TMP/s")" = 1 ] && grep -q "^bob	.*	the quick brown fox$" "$TMP/s" || fail "search: $(cat "$TMP/s")"
[ "$(ctl alice search batch --limit 2 | wc -l)" = 2 ] || fail "search --limit"
ctl alice search 'batch' | head -1 | grep -q "batch two 2" || fail "search order"
[ -z "$(ctl alice search fox --user carol)" ] || fail "search --user"
# Plain text is words, literally: punctuation is never FTS5 syntax.
ctl alice send --wait=10 bob "lunch at one? it's bob: \"quoted\" NOT AND" >/dev/null
for q in "lunch at one?" "it's" "bob:" '"quoted"' "NOT" "at AND one" \
    'one? "quoted' '"unbalanced'; do
	out=$(ctl alice search "$q") || fail "search '$q' failed: $(ctl alice search "$q" 2>&1)"
	[ "$q" = '"unbalanced' ] && { [ -z "$out" ] || fail "search '$q' found: $out"; continue; }
	echo "$out" | grep -q "lunch at one" || fail "search '$q' found nothing"
done
[ -z "$(ctl alice search "lunch dinner")" ] || fail "search: one word missing still matched"
ctl alice search lunch at one --limit 1 | grep -q "lunch at one" || fail "search: words as arguments"
# --fts: FTS5's syntax, whose errors are clear.
ctl alice search --fts 'lunch AND (one OR zebra)' | grep -q "lunch at one" || fail "search --fts"
ctl alice search --fts 'lunc*' | grep -q "lunch at one" || fail "search --fts prefix"
expect_exit 1 ctl alice search --fts '"unbalanced'
grep -q "bad --fts query" "$TMP/err" || fail "fts syntax error: $(cat "$TMP/err")"

# export / import: ids kept, twice adds nothing, bad lines refused whole.
ctl alice export >"$TMP/export"
n=$(wc -l <"$TMP/export")
[ "$n" -ge 8 ] || fail "export has $n lines"
start_peer carol g
ctl carol import "$TMP/export" >"$TMP/imp" || fail "import"
grep -q "^imported	$n$" "$TMP/imp" || fail "import: $(cat "$TMP/imp")"
ctl carol import - <"$TMP/export" >"$TMP/imp" || fail "import from stdin"
grep -q "^imported	0$" "$TMP/imp" && grep -q "^skipped	$n$" "$TMP/imp" || fail "second import: $(cat "$TMP/imp")"
[ "$(ctl carol history bob --limit 1000 | wc -l)" = "$n" ] || fail "imported history"
{ head -2 "$TMP/export"; echo '{"id":"zz"}'; } | sed 's/0/1/g' >"$TMP/bad"
expect_exit 1 ctl carol import "$TMP/bad"
grep -q "line 3" "$TMP/err" || fail "bad line not named: $(cat "$TMP/err")"
[ "$(ctl carol history bob --limit 1000 | wc -l)" = "$n" ] || fail "half an import stayed"
ctl alice export bob | grep -c '"user":"bob"' >/dev/null || fail "export USER"

# stats.
ctl alice stats >"$TMP/st"
for k in sent received delivered pending held retries; do
	grep -q "^$k	[0-9]" "$TMP/st" || fail "stats lacks $k: $(cat "$TMP/st")"
done
log "ok"
