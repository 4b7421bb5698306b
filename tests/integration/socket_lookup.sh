#!/usr/bin/env bash
# p2pchatctl finds the socket its daemon uses from cron's empty
# environment as from a login shell (XDG_RUNTIME_DIR unset: /run/user/UID),
# and a configuration p2pchatd would refuse does not stop it from finding
# the socket: it warns and goes on, unless the socket's path itself cannot
# be read.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g

# A key p2pchatd refuses: p2pchatctl warns and still reaches alice.
cp "$TMP/alice.conf" "$TMP/odd.conf"
echo 'retry2 = { initail = 1.0; };' >>"$TMP/odd.conf"
"$P2PCHATCTL" -c "$TMP/odd.conf" status >"$TMP/out" 2>"$TMP/err" || fail "odd config: $(cat "$TMP/err")"
grep -q "^mode	peer$" "$TMP/out" || fail "odd config status: $(cat "$TMP/out")"
grep -q "^p2pchatctl: config: .*retry2: unknown key" "$TMP/err" || fail "no warning: $(cat "$TMP/err")"
# A bad value elsewhere: the same.
sed 's/^log_level = .*/log_level = "loud";/' "$TMP/alice.conf" >"$TMP/odd2.conf"
"$P2PCHATCTL" -c "$TMP/odd2.conf" status >/dev/null 2>"$TMP/err" || fail "bad value: $(cat "$TMP/err")"
grep -q "^p2pchatctl: config: .*log_level" "$TMP/err" || fail "no warning for log_level: $(cat "$TMP/err")"
# The socket's own path unreadable: exit 2, say why.
sed 's/^control_socket = .*/control_socket = 42;/' "$TMP/alice.conf" >"$TMP/bad.conf"
expect_exit 2 "$P2PCHATCTL" -c "$TMP/bad.conf" status
grep -q "^p2pchatctl: config: .*control_socket" "$TMP/err" || fail "bad socket key: $(cat "$TMP/err")"
echo 'this is not libconfig' >"$TMP/garbage.conf"
expect_exit 2 "$P2PCHATCTL" -c "$TMP/garbage.conf" status

# The default socket without XDG_RUNTIME_DIR: /run/user/UID, as systemd's
# user session has it; needs that directory (made here as root if absent).
run=/run/user/$(id -u)
made=
if [ ! -d "$run" ] && [ "$(id -u)" = 0 ]; then
	mkdir -p -m 700 "$run" && made=$run
fi
if [ ! -d "$run" ] || [ -e "$run/p2pchat/ctl.sock" ]; then
	log "no free $run: skipping the XDG_RUNTIME_DIR fallback check"
	log "ok"
	exit 0
fi
cleanup_run() { rm -rf "$run/p2pchat"; [ -z "$made" ] || rmdir "$made"; cleanup; }
trap cleanup_run EXIT
grep -v '^control_socket' "$TMP/alice.conf" >"$TMP/cron.conf"
sed -i "s|^data_dir = .*|data_dir = \"$TMP/cron\";|; s|^listen = .*|listen = \"127.0.0.1:0\";|" "$TMP/cron.conf"
chmod 600 "$TMP/cron.conf"
# The daemon as a systemd user unit runs it: XDG_RUNTIME_DIR set.
env XDG_RUNTIME_DIR="$run" "$P2PCHATD" -c "$TMP/cron.conf" >>"$TMP/cron.log" 2>&1 &
PIDS[cron]=$!
# p2pchatctl as cron runs it: an empty environment.
wait_for "the daemon's socket from cron's environment" 20 \
    env -i "$P2PCHATCTL" -c "$TMP/cron.conf" status
env -i "$P2PCHATCTL" -c "$TMP/cron.conf" status | grep -q "^mode	peer$" || fail "cron status"
[ -S "$run/p2pchat/ctl.sock" ] || fail "the socket is not under $run"
stop cron TERM
log "ok"
