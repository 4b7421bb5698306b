#!/usr/bin/env bash
# Presence: a peer killed with SIGKILL is offline after the heartbeat
# timeout, one stopped with SIGTERM at once; watchers are told; the
# control socket refuses other users.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 online_at_gestor bob online

# alice watches bob once bob is a contact (lookup makes him one).
ctl alice lookup bob >"$TMP/lookup" || fail "lookup"
grep -q "^online	online$" "$TMP/lookup" || fail "lookup output: $(cat "$TMP/lookup")"
grep -q "^fingerprint	$(field bob fingerprint)$" "$TMP/lookup" || fail "lookup fingerprint"
watch_bg alice "$TMP/events"
WATCH=$WATCH_PID

# SIGTERM: offline at once (well within the heartbeat timeout).
t0=$(date +%s%N)
kill -TERM "${PIDS[bob]}"
wait_for "bob offline after SIGTERM" 5 online_at_gestor bob offline
t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -lt 1000 ] || fail "SIGTERM offline took $(( (t1 - t0) / 1000000 )) ms"
rc=0
wait "${PIDS[bob]}" || rc=$?
[ "$rc" = 0 ] || fail "bob exited $rc after SIGTERM"
t2=$(date +%s%N)
[ $(( (t2 - t0) / 1000000 )) -lt 2000 ] || fail "bob took $(( (t2 - t0) / 1000000 )) ms to exit"
unset "PIDS[bob]"
wait_for "alice told bob is offline" 5 grep -q "presence	-	bob	-	offline" "$TMP/events"

# SIGKILL: offline after heartbeat.timeout, not before the beats stop.
start bob
wait_for "bob back" 10 online_at_gestor bob online
wait_for "alice told bob is online" 5 grep -q "presence	-	bob	-	online" "$TMP/events"
stop bob KILL
wait_for "bob offline after SIGKILL" 10 online_at_gestor bob offline

# A frozen peer keeps its TCP connection: only the heartbeat timeout
# (1.5 s here) can tell. SIGSTOP models a host that vanished.
start bob
wait_for "bob back" 10 online_at_gestor bob online
kill -STOP "${PIDS[bob]}"
online_at_gestor bob online || fail "bob offline at once after SIGSTOP: the gestor cannot know yet"
wait_for "bob offline after the heartbeat timeout" 10 online_at_gestor bob offline
grep -q "bob missed heartbeats" "$TMP/g.log" || fail "the gestor did not log the timeout"
kill -CONT "${PIDS[bob]}"
stop bob KILL

# The gestor's status and stats.
[ "$(field g online)" = 1 ] || fail "gestor online count: $(field g online)"
ctl g stats | grep -q "^logins	" || fail "gestor stats"

# Another uid may not use the control socket (needs root to switch uid).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$TMP" "$TMP/alice.ctl"
	chmod 644 "$TMP/alice.conf"
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$P2PCHATCTL" -s "$TMP/alice.ctl/ctl.sock" status >/dev/null 2>"$TMP/err" || rc=$?
	[ "$rc" = 1 ] || fail "uid 65534 got exit $rc from the control socket"
	grep -q "^p2pchatctl: permission_denied: access to the control socket" "$TMP/err" ||
		fail "EACCES reported as: $(cat "$TMP/err")"
	chmod 700 "$TMP/alice.ctl"
	chmod 777 "$TMP/alice.ctl"; chmod 666 "$TMP/alice.ctl/ctl.sock"
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$P2PCHATCTL" -s "$TMP/alice.ctl/ctl.sock" status >/dev/null 2>"$TMP/err" || rc=$?
	[ "$rc" = 1 ] || fail "uid 65534 was served by alice's daemon (exit $rc)"
	grep -q "^p2pchatctl: permission_denied: this daemon runs as uid" "$TMP/err" ||
		fail "daemon refusal reported as: $(cat "$TMP/err")"
	grep -q "refused connection from uid 65534" "$TMP/alice.log" || fail "refusal not logged"
	chmod 700 "$TMP/alice.ctl"; chmod 600 "$TMP/alice.ctl/ctl.sock"
else
	log "not root: skipping the second-uid control socket check"
fi

# watch ends with 1 when the daemon stops (stream_exit.sh has the rest).
stop alice TERM
rc=0; wait "$WATCH" || rc=$?
[ "$rc" = 1 ] || fail "watch exited $rc when the daemon stopped"
log "ok"
