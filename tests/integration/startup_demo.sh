#!/usr/bin/env bash
# startup.sh's demo keeps its files private: under a umask of 022, the
# demo directory is 0700 and every log (usernames, addresses, key
# fingerprints) 0600, including a log an older run left 0644. The relay
# listens on P2PCHAT_DEMO_PORT + 3; the daemons run in sessions of their
# own, out of reach of a signal to the caller's process group.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3
top=$(cd "$(dirname "$TESTS_LIB")/.." && pwd)
if [ ! -x "$top/p2pchatd" ] || [ ! -x "$top/p2pchatctl" ]; then
	log "SKIP: startup.sh runs the daemons built in the source tree; none at $top"
	exit 77
fi
# Four consecutive free ports on 127.0.0.1 for gestor, alice, bob, relay.
port=$(python3 -c '
import random, socket
for _ in range(200):
    b = random.randint(20000, 60000)
    try:
        ss = []
        for p in (b, b + 1, b + 2, b + 3):
            s = socket.socket(); s.bind(("127.0.0.1", p)); ss.append(s)
        print(b); break
    except OSError:
        pass
    finally:
        for s in ss: s.close()
')
demo_stop() { P2PCHAT_DEMO_DIR="$TMP/demo" "$top/startup.sh" stop >/dev/null 2>&1 || true; }
trap 'demo_stop; cleanup' EXIT
mkdir -p "$TMP/demo"
chmod 755 "$TMP/demo"
: >"$TMP/demo/alice.log"
chmod 644 "$TMP/demo/alice.log"
(umask 022 && P2PCHAT_DEMO_DIR="$TMP/demo" P2PCHAT_DEMO_PORT=$port \
    "$top/startup.sh" demo) >"$TMP/out" 2>&1 || fail "startup.sh demo: $(cat "$TMP/out")"
grep -q "p2pchat demo is running" "$TMP/out" || fail "no demo: $(cat "$TMP/out")"
[ "$(stat -c %a "$TMP/demo")" = 700 ] || fail "demo directory is $(stat -c %a "$TMP/demo")"
n=0
for f in "$TMP"/demo/*.log; do
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f is $(stat -c %a "$f")"
	n=$((n + 1))
done
[ "$n" = 3 ] || fail "$n logs, not 3"
grep -q "registered alice" "$TMP/demo/gestor.log" || fail "the gestor's log is not the demo's"
relay=$("$top/p2pchatctl" -c "$TMP/demo/gestor.conf" status | awk -F'\t' '$1 == "relay" { print $2 }')
[ "$relay" = "127.0.0.1:$((port + 3))" ] || fail "relay at $relay, not P2PCHAT_DEMO_PORT + 3"
for name in gestor alice bob; do
	pid=$(cat "$TMP/demo/$name.pid")
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ] ||
		fail "$name (pid $pid) is not in a session of its own: $(ps -o pid,pgid,sid,comm -p "$pid")"
	grep -q p2pchatd "/proc/$pid/cmdline" || fail "$name.pid is not the daemon's"
done
# A re-run without P2PCHAT_DEMO_PORT keeps the port it used (remembered in
# the demo's directory) and leaves the configs alone; another port while
# the demo runs is refused.
[ "$(cat "$TMP/demo/port")" = "$port" ] || fail "port not remembered: $(cat "$TMP/demo/port")"
cp "$TMP/demo/alice.conf" "$TMP/alice.conf.before"
(P2PCHAT_DEMO_DIR="$TMP/demo" "$top/startup.sh" demo) >"$TMP/out" 2>&1 || fail "re-run: $(cat "$TMP/out")"
grep -q "alice already running" "$TMP/out" || fail "re-run restarted alice: $(cat "$TMP/out")"
grep -q "127.0.0.1:$port" "$TMP/out" || fail "re-run names another port: $(cat "$TMP/out")"
cmp -s "$TMP/demo/alice.conf" "$TMP/alice.conf.before" || fail "re-run rewrote alice.conf"
rc=0
(P2PCHAT_DEMO_DIR="$TMP/demo" P2PCHAT_DEMO_PORT=$((port + 10)) "$top/startup.sh" demo) >"$TMP/out" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q "runs on port $port" "$TMP/out" || fail "another port accepted: $(cat "$TMP/out")"
P2PCHAT_DEMO_DIR="$TMP/demo" "$top/startup.sh" stop >"$TMP/out" 2>&1 || fail "stop: $(cat "$TMP/out")"
log "ok"
