#!/usr/bin/env bash
# A clean stop deposits every pending message for an offline recipient
# (issue 28), however many: 3 000 wait at alice (mailbox.after is an
# hour, so only the stop deposits them) when she gets SIGTERM. The stop
# waits for the gestor's answers as long as they come (it stopped after
# its 1.5 s grace before, some 1 300 deposits on an idle machine, fewer
# under load), so afterwards the gestor holds all 3 000, alice shows
# them all deposited, and bob, back while she is away, has each once
# and in order. Then a stop with a second SIGTERM at once: the daemon
# ends then, and nothing is lost: what was not deposited is pending
# still, and the next stop deposits it.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

N=3000
gstat() { ctl g stats | awk -F'\t' -v k="$1" '$1 == k { print $2 }'; }
count_state() { ctl alice history bob --limit 100000 | cut -f3 | grep -c "^$1\$" || true; }

start_gestor g "mailbox = { quota_messages = 100000; quota_per_sender = 100000;
    quota_bytes = 1073741824L; };"
start_peer alice g "mailbox = { after = 3600; };"
start_peer bob g
register alice >/dev/null
register bob >/dev/null
ctl bob lookup alice >/dev/null
ctl bob trust alice >/dev/null
ctl alice send --wait=10 bob "before" >/dev/null || fail "first send"
stop bob TERM
wait_for "bob offline" 10 online_at_gestor bob offline

seq -f "line %g" 1 "$N" >"$TMP/in"
ctl alice send --batch bob <"$TMP/in" >"$TMP/ids" || fail "send --batch"
[ "$(wc -l <"$TMP/ids")" = "$N" ] || fail "ids: $(wc -l <"$TMP/ids")"
[ "$(gstat mail_held)" = 0 ] || fail "deposited before the stop: $(gstat mail_held)"
stop_clean alice
[ "$(gstat mail_held)" = "$N" ] ||
	fail "the stop deposited $(gstat mail_held) of $N"
grep -q "main: the stop's deposits" "$TMP/alice.log" &&
	fail "the stop gave up: $(grep "main: the stop's" "$TMP/alice.log")"

start alice
[ "$(count_state deposited)" = "$N" ] ||
	fail "deposited at alice: $(count_state deposited) of $N"
stop_clean alice

start bob
wait_for "bob has $N" 120 sh -c "[ \$('$P2PCHATCTL' -c '$TMP/bob.conf' history alice --limit 100000 | grep -c '	line ') -ge $N ]"
ctl bob history alice --limit 100000 | cut -f5 | grep '^line ' >"$TMP/got"
cmp -s "$TMP/got" "$TMP/in" || fail "bob's lines differ: $(diff "$TMP/in" "$TMP/got" | head -5)"
stop bob TERM
wait_for "bob offline" 10 online_at_gestor bob offline

# A second SIGTERM, once the stop has begun, ends it at once (the
# signal's default action); what it did not deposit stays pending, and
# the next clean stop deposits it.
more_in() { ctl alice history bob --limit 100000 | awk -F'\t' -v s="$1" '$5 ~ /^more / && $3 == s' | wc -l; }
start alice
wait_for "alice online" 10 gestor_state_is alice online
# bob's receipts waited in alice's mailbox: she takes them now, and the
# gestor then holds nothing (counted below).
wait_for "bob's receipts taken" 60 sh -c "[ \"\$('$P2PCHATCTL' -c '$TMP/g.conf' stats | awk -F'\t' '\$1 == \"mail_held\" { print \$2 }')\" = 0 ]"
seq -f "more %g" 1 "$N" >"$TMP/in2"
ctl alice send --batch bob <"$TMP/in2" >/dev/null || fail "send --batch 2"
stops=$(grep -c "main: shutting down" "$TMP/alice.log")
kill -TERM "${PIDS[alice]}"
wait_for "the stop to begin" 10 sh -c "[ \$(grep -c 'main: shutting down' '$TMP/alice.log') -gt $stops ]"
kill -TERM "${PIDS[alice]}" 2>/dev/null || true
rc=0
wait "${PIDS[alice]}" || rc=$?
unset "PIDS[alice]"
log "alice exited $rc after two signals; the gestor held $(gstat mail_held) of $N"
start alice
[ "$(($(more_in deposited) + $(more_in pending)))" = "$N" ] ||
	fail "after two signals: $(more_in deposited) deposited, $(more_in pending) pending, of $N"
stop_clean alice
start alice
[ "$(more_in deposited)" = "$N" ] ||
	fail "after the next stop: $(more_in deposited) deposited of $N"
stop_clean alice
[ "$(gstat mail_held)" = "$N" ] ||
	fail "the gestor holds $(gstat mail_held), not $N"
log "ok"
