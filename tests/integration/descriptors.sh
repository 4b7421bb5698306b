#!/usr/bin/env bash
# The descriptor budget: a configuration that cannot fit under the
# descriptor limit (max_connections, the relay's connections, control
# clients, a reserve) is refused with a clear error; one that fits starts.
# And when accept() fails anyway (EMFILE: the limit lowered under a
# running gestor), the listener pauses with backoff and logs once instead
# of spinning, and accepts again once descriptors are free.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools prlimit timeout

# --- the budget: 1024 + relay 4 x 8 + 256 + 64 does not fit under 400.
write_conf big gestor 'relay = { listen = "127.0.0.1:0"; max_sessions = 8; };'
rc=0
(ulimit -n 400 && exec timeout 20 "$P2PCHATD" -c "$TMP/big.conf") >"$TMP/big.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "a config over the descriptor limit: exit $rc, $(cat "$TMP/big.out")"
grep -q "needs up to 1376 open descriptors (limits.max_connections 1024 + relay 32 + control clients 256 + .*) but the descriptor limit (RLIMIT_NOFILE, hard) is 400" "$TMP/big.out" ||
	fail "refusal message: $(cat "$TMP/big.out")"
rc=0
(ulimit -n 400 && exec timeout 20 "$P2PCHATD" -c "$TMP/big.conf" --check-config) >"$TMP/big.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "needs up to 1376 open descriptors" "$TMP/big.out" ||
	fail "--check-config over the limit: exit $rc, $(cat "$TMP/big.out")"

# 20 + 32 + 256 + 64 = 372 fits under 400: it starts and serves.
LIMITS="max_connections = 20;"
write_conf g gestor 'relay = { listen = "127.0.0.1:0"; max_sessions = 8; };'
(ulimit -n 400 && exec "$P2PCHATD" -c "$TMP/g.conf") >>"$TMP/g.log" 2>&1 &
PIDS[g]=$!
wait_for "the gestor to serve" 20 ctl g status
PORT_OF[g]=$(field g listen | sed 's/.*://')
G=${PORT_OF[g]} pid=${PIDS[g]}

# --- EMFILE: lower the running gestor's soft limit to what it holds now.
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }	# ticks
open_fds=$(ls "/proc/$pid/fd" | wc -l)
prlimit --pid "$pid" --nofile="$open_fds:400" ||
	{ log "SKIP: cannot lower a process's descriptor limit here"; exit 77; }
cpu0=$(cpu)
for i in 1 2 3 4 5; do
	exec {fd}<>"/dev/tcp/127.0.0.1/$G"	# waits in the backlog
	eval "exec_$i=$fd"
done
wait_for "the accept error to be logged" 10 grep -q "Too many open files" "$TMP/g.log"
sleep 2	# the window in which a busy loop would burn a core: measured below
cpu1=$(cpu)
ticks=$((cpu1 - cpu0)) hz=$(getconf CLK_TCK)
n=$(grep -c "Too many open files" "$TMP/g.log")
log "EMFILE for 2 s: $n log lines, $ticks CPU ticks (${hz}/s)"
[ "$n" = 1 ] || fail "the accept error was logged $n times"
[ "$ticks" -lt $((hz / 2)) ] || fail "the gestor used $ticks CPU ticks in 2 s at EMFILE (spinning)"

# Descriptors back: the connections in the backlog and new ones are served.
prlimit --pid "$pid" --nofile=400:400
wait_for "the gestor to accept again" 15 grep -q "listener: .*accepting again" "$TMP/g.log"
wait_for "the control socket" 10 ctl g status
client_cert mallory
out=$(p2ptool tls-probe "$G" "$TMP/mallory.crt" "$TMP/mallory.key")
case $out in accepted*) ;; *) fail "a client after the EMFILE episode: $out" ;; esac
stop_clean g
log "ok"
