#!/usr/bin/env bash
# send --batch USER: one message per line of standard input from one
# process; ids printed in input order and received in that order; a
# pipelined burst stored in a few group commits, not one per message
# (alice's commit count from /metrics, bob stopped so that no ack
# commits); --jsonl with given ids is idempotent; bad lines are reported
# with their line numbers (exit 1) and the others still sent; a burst to
# an unknown recipient is one lookup at the gestor.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g 'metrics = { listen = "127.0.0.1:0"; };'
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online
ctl alice send --wait=20 bob "first" >/dev/null || fail "first message not delivered"

maddr=$(sed -n 's/.*metrics: serving \/metrics on \([0-9.]*:[0-9]*\).*/\1/p' \
    "$TMP/alice.log" | tail -n 1)
commits() {
	python3 - "$maddr" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=10).read().decode()
print([l.split()[1] for l in body.splitlines()
       if l.startswith("p2pchat_peer_store_commit_seconds_count")][0])
PY
}

# A burst of N sends with bob stopped: only the sends commit at alice.
N=600
seq 1 "$N" | sed 's/^/batch line /' >"$TMP/in"
stop bob
before=$(commits)
ctl alice send --batch bob <"$TMP/in" >"$TMP/ids" 2>"$TMP/err" ||
	fail "send --batch failed: $(cat "$TMP/err")"
after=$(commits)
[ "$(wc -l <"$TMP/ids")" = "$N" ] || fail "$(wc -l <"$TMP/ids") ids for $N lines"
[ "$(grep -cvE '^[0-9a-f]{32}$' "$TMP/ids" || true)" = 0 ] ||
	fail "not an id per line: $(grep -vE '^[0-9a-f]{32}$' "$TMP/ids" | head -3)"
ncommits=${after%.*}
ncommits=$((ncommits - ${before%.*}))
log "$N pipelined sends stored in $ncommits commits"
[ "$ncommits" -le $((N / 8)) ] ||
	fail "$N pipelined sends took $ncommits commits (not grouped per loop turn)"

# Delivered in input order, each id with its own line's text.
start bob
wait_for "the batch delivered" 60 sh -c \
    "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
ctl bob history alice --limit 100000 | awk -F'\t' \
    'index($5, "batch line ") == 1 { print $4 "\t" $5 }' >"$TMP/got"
paste "$TMP/ids" "$TMP/in" | diff - "$TMP/got" >"$TMP/diff" ||
	fail "received ids/texts differ from the batch: $(head -5 "$TMP/diff")"

# --jsonl with given ids: a text with a newline; twice is once.
{
	printf '{"text":"two\\nlines","id":"%032x"}\n' 1
	printf '{"id":"%032x","text":"second"}\n' 2
} >"$TMP/jl"
ctl alice send --batch --jsonl bob <"$TMP/jl" >"$TMP/jids1" || fail "--jsonl failed"
ctl alice send --batch --jsonl bob <"$TMP/jl" >"$TMP/jids2" || fail "--jsonl again failed"
printf '%032x\n%032x\n' 1 2 | diff - "$TMP/jids1" >/dev/null ||
	fail "--jsonl ids: $(cat "$TMP/jids1")"
diff "$TMP/jids1" "$TMP/jids2" >/dev/null || fail "resent ids differ"
wait_for "the --jsonl lines delivered" 30 sh -c \
    "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
[ "$(ctl bob history alice --limit 100000 | grep -c "$(printf '%032x' 2)")" = 1 ] ||
	fail "a resent id was stored twice"
ctl bob history alice --limit 100000 | grep -q 'two\\nlines$' ||
	fail "the two-line text: $(ctl bob history alice --limit 3)"

# Bad lines: reported with their numbers, an empty output line in their
# place, exit 1; the good lines around them are sent.
{
	echo '{"text":"good one"}'
	echo '{"text":""}'
	echo 'not json'
	echo '{"text":"x","id":"zz"}'
	echo '{"text":"x","to":"carol"}'
	echo '{"text":"good two"}'
} >"$TMP/bad"
expect_exit 1 ctl alice send --batch --jsonl bob <"$TMP/bad"
for n in 2 3 4 5; do
	grep -q "invalid_argument: line $n: " "$TMP/err" ||
		fail "line $n not reported: $(cat "$TMP/err")"
done
sed -E 's/^[0-9a-f]{32}$/id/' "$TMP/out" | tr '\n' ' ' | grep -qx 'id     id ' ||
	fail "output lines do not answer input lines: $(cat "$TMP/out")"
printf '\n' | { expect_exit 1 ctl alice send --batch bob; }
grep -q "line 1: argument 'text' must not be empty" "$TMP/err" ||
	fail "empty line: $(cat "$TMP/err")"

# The daemon's refusal carries the line too (--json: one object a line).
printf 'a\nb\n' | { expect_exit 1 ctl alice --json send --batch nosuchuser; }
[ "$(grep -c '"code": *"no_such_user"' "$TMP/out")" = 2 ] ||
	fail "--json errors: $(cat "$TMP/out")"
grep -q '"line": *2' "$TMP/out" || fail "no line in --json error: $(cat "$TMP/out")"
grep -q "no_such_user: line 2: " "$TMP/err" || fail "stderr: $(cat "$TMP/err")"

# A burst to a recipient never heard of asks the gestor once, not once a
# line (it asked 1 026 times for make bench's first 20 000): every send
# behind the first waits for that one answer, here no_such_user for all.
# The gestor is stopped until alice has read all 50 (p2pchatctl writes
# them before it reads an answer): else a line read after the answer
# asks again, as it should, and the count is the timing's.
lookups() { ctl g --json stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["lookups"])'; }
sends_read() { grep -c 'ctlsock: send$' "$TMP/alice.log" || true; }
l0=$(lookups)
s0=$(sends_read)
kill -STOP "${PIDS[g]}"
{ seq 1 50 | { expect_exit 1 ctl alice --json send --batch nosuchuser2; }; } &
batch=$!
wait_for "alice to read the 50 sends" 20 sh -c "[ \$(grep -c 'ctlsock: send\$' '$TMP/alice.log') -ge $((s0 + 50)) ]"
kill -CONT "${PIDS[g]}"
wait "$batch" || fail "send --batch to nobody"
[ "$(grep -c '"code": *"no_such_user"' "$TMP/out")" = 50 ] ||
	fail "50 sends to nobody: $(head -c 600 "$TMP/out")"
l1=$(lookups)
[ $((l1 - l0)) = 1 ] || fail "50 sends to an unknown user: $((l1 - l0)) lookups"

# Usage: no TEXT, --id or --group with --batch; --jsonl only with it.
expect_exit 2 ctl alice send --batch bob hello
expect_exit 2 ctl alice send --batch bob --id "$(printf '%032x' 3)"
expect_exit 2 ctl alice send --jsonl bob hello
log "ok"
