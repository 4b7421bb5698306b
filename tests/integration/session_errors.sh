#!/usr/bin/env bash
# A resumed session ends only for a permanent answer (docs/SESSIONS.md):
# a scripted gestor with the real gestor's key answers the peer's auth
# with each transient code (the peer keeps its session, says why in
# status, retries with backoff), pushes session_replaced (the peer
# resumes) and refuses a heartbeat as not_authenticated (the peer
# resumes), then answers key_mismatch (the session ends, for good).
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool

start_gestor g
start_peer alice g
register alice >/dev/null || fail "register alice"
wait_for "alice online" 10 gestor_state_is alice online
# A scripted gestor with the real gestor's key: the peer's pin holds.
printf 'unavailable\n' >"$TMP/script"
fake_gestor g

auths() { grep -c "^auth alice $1\$" "$TMP/fake.out" || true; }
# set_script CODE...: the fake's answers from now on.
set_script() { printf '%s\n' "$@" >"$TMP/script.new"; mv "$TMP/script.new" "$TMP/script"; }
logged_in() { [ "$(field alice state)" = logged_in ]; }

# Every transient answer: retried, the session kept, status says why.
status_says() { ctl alice status | grep -q "^gestor_error	.*: $1: scripted"; }
for code in unavailable rate_limited internal busy bad_frame not_authenticated timeout; do
	set_script "$code"
	wait_for "status names $code" 15 status_says "$code"
	logged_in || fail "the session ended after $code: $(ctl alice status)"
done
# unavailable (the issue's case) again: retried, not tried once.
set_script unavailable
n=$(auths unavailable)
wait_for "two more auths answered unavailable" 15 sh -c "[ \$(grep -c '^auth alice unavailable\$' '$TMP/fake.out') -ge $((n + 2)) ]"
logged_in || fail "the session ended after unavailable"
retry_shown() { ctl alice status | grep -q "^gestor_retry_in	[0-9][0-9]*$"; }
wait_for "status shows gestor_retry_in between tries" 10 retry_shown
grep -q "ended the session" "$TMP/alice.log" && fail "the peer ended its session on a transient answer"
# Backoff: at most retry.max (1 s) between tries, not a tight loop.
n=$(grep -c "^auth " "$TMP/fake.out")
[ "$n" -lt 60 ] || fail "$n auths in a few seconds: no backoff"

# Answered, the session is live again with no command typed. Then the
# gestor goes silent (stopped: heartbeats unanswered past
# heartbeat.timeout), loses the session on the link (a heartbeat refused
# as not_authenticated) and says another login replaced it: each time the
# peer resumes, and the auth after it decides.
set_script ok+silent ok+unauth ok+replace ok
wait_for "the gestor fell silent" 15 grep -q "^silent$" "$TMP/fake.out"
wait_for "a heartbeat refused" 15 grep -q "^hb not_authenticated$" "$TMP/fake.out"
wait_for "session_replaced pushed" 15 grep -q "^pushed session_replaced$" "$TMP/fake.out"
wait_for "alice resumed after both" 15 grep -q "^auth alice ok$" "$TMP/fake.out"
wait_for "alice online" 10 gestor_state_is alice online
logged_in || fail "session_replaced ended the session"

# A permanent answer ends it: the key is no longer the account's. The
# gestor restarts (a dropped link, transient) and then refuses the key.
kill $FAKE; wait $FAKE 2>/dev/null || true
set_script key_mismatch
fake_gestor g
wait_for "alice logged out by key_mismatch" 15 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice.conf status | awk -F'\t' '\$1==\"state\"{print \$2}')\" = logged_out ]"
grep -q "ended the session of alice: key_mismatch" "$TMP/alice.log" || fail "no log of the end"
# ... and it stays ended across a restart, without asking again.
stop alice
n=$(grep -c "^auth " "$TMP/fake.out")
start alice
[ "$(field alice state)" = logged_out ] || fail "a restart brought the ended session back"
[ "$(grep -c "^auth " "$TMP/fake.out")" = "$n" ] || fail "a logged-out peer tried auth"
log "ok"
