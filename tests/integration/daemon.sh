#!/usr/bin/env bash
# The daemon itself: --check-config, config errors with file:line - key,
# -m, --version, reload (SIGHUP and the command), shutdown, the control
# socket's life cycle, and the permission checks on its files.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

d() { "$P2PCHATD" "$@"; }

# Versions and usage.
d --version | grep -q "^p2pchatd [0-9]" || fail "--version"
"$P2PCHATCTL" --version | grep -q "^p2pchatctl [0-9]" || fail "ctl --version"
expect_exit 2 d --bogus
expect_exit 2 d -m nonsense

# --check-config: good, and every kind of bad names file, line and key.
write_conf cfg peer ""
d -c "$TMP/cfg.conf" --check-config | grep -q "configuration OK" || fail "check-config"
d -c "$TMP/cfg.conf" -m gestor --check-config | grep -q "mode gestor" || fail "-m override"
printf 'mode = "peer";\n\nbogus_key = 1;\n' >"$TMP/bad1.conf"
expect_exit 1 d -c "$TMP/bad1.conf" --check-config
grep -q "bad1.conf:3 - bogus_key: unknown key" "$TMP/err" || fail "unknown key: $(cat "$TMP/err")"
printf 'heartbeat = { interval = "fast"; };\n' >"$TMP/bad2.conf"
expect_exit 1 d -c "$TMP/bad2.conf" --check-config
grep -q "bad2.conf:1 - heartbeat.interval: must be a number" "$TMP/err" || fail "type: $(cat "$TMP/err")"
printf 'limits = { max_connections = 0; };\n' >"$TMP/bad3.conf"
expect_exit 1 d -c "$TMP/bad3.conf" --check-config
grep -q "limits.max_connections: must be between" "$TMP/err" || fail "range: $(cat "$TMP/err")"
printf 'mode = "peer"\nlisten = ;\n' >"$TMP/bad4.conf"
expect_exit 1 d -c "$TMP/bad4.conf" --check-config
grep -q "bad4.conf:2 - " "$TMP/err" || fail "syntax: $(cat "$TMP/err")"
expect_exit 1 d -c "$TMP/missing.conf" --check-config
grep -q "missing.conf" "$TMP/err" || fail "missing file"
printf 'listen = "127.0.0.1:70000";\n' >"$TMP/bad5.conf"
expect_exit 1 d -c "$TMP/bad5.conf" --check-config
grep -q "listen: port 70000 is out of range" "$TMP/err" || fail "port range: $(cat "$TMP/err")"
printf 'gestor = { addresses = [ "g.example:99999" ]; };\n' >"$TMP/bad6.conf"
expect_exit 1 d -c "$TMP/bad6.conf" --check-config
grep -q "gestor.addresses: port 99999 is out of range" "$TMP/err" || fail "gestor port range: $(cat "$TMP/err")"
# --check-config checks the paths start-up checks, creating nothing.
mkdir -m 755 "$TMP/cfg"
expect_exit 1 d -c "$TMP/cfg.conf" --check-config
grep -q "data_dir $TMP/cfg has mode 0755" "$TMP/err" || fail "data_dir mode: $(cat "$TMP/err")"
chmod 700 "$TMP/cfg"
touch "$TMP/cfg/identity.key"; chmod 644 "$TMP/cfg/identity.key"
expect_exit 1 d -c "$TMP/cfg.conf" --check-config
grep -q "identity.key has mode 0644" "$TMP/err" || fail "key mode: $(cat "$TMP/err")"
rm -r "$TMP/cfg"
mkdir -m 777 "$TMP/cfg.ctl"
expect_exit 1 d -c "$TMP/cfg.conf" --check-config
grep -q "control socket directory $TMP/cfg.ctl must be" "$TMP/err" || fail "socket dir mode: $(cat "$TMP/err")"
rmdir "$TMP/cfg.ctl"
d -c "$TMP/cfg.conf" --check-config >/dev/null || fail "check-config of paths yet to be made"
[ ! -e "$TMP/cfg" ] && [ ! -e "$TMP/cfg.ctl" ] || fail "check-config created a directory"

# A gestor; reload by SIGHUP and by command; a broken file keeps the old.
start_gestor g
kill -HUP "${PIDS[g]}"
wait_for "SIGHUP reload logged" 5 grep -q "configuration reloaded" "$TMP/g.log"
ctl g reload || fail "reload command"
cp "$TMP/g.conf" "$TMP/g.conf.good"
printf 'bogus = 1;\n' >>"$TMP/g.conf"
expect_exit 1 "$P2PCHATCTL" -s "$TMP/g.ctl/ctl.sock" reload
grep -q "bogus: unknown key" "$TMP/err" || fail "reload error: $(cat "$TMP/err")"
# p2pchatctl still finds the socket in the broken file, with a warning.
ctl g status >/dev/null 2>"$TMP/err" || fail "status with a key p2pchatd refuses"
grep -q "^p2pchatctl: config: .*bogus: unknown key" "$TMP/err" || fail "no warning: $(cat "$TMP/err")"
grep -q "g.conf:[0-9]* - bogus: unknown key" "$TMP/err" || fail "ctl config error: $(cat "$TMP/err")"
"$P2PCHATCTL" -s "$TMP/g.ctl/ctl.sock" status >/dev/null || fail "gestor died after a bad reload"
cp "$TMP/g.conf.good" "$TMP/g.conf"
sed -i -e 's/log_level = "debug"/log_level = "warn"/' \
    -e 's/^listen = .*/listen = "127.0.0.1:1";/' "$TMP/g.conf"
ctl g reload >"$TMP/out" || fail "reload after fixing"
[ "$(cat "$TMP/out")" = "listen	restart_needed
log_level	applied" ] || fail "gestor reload output: $(cat "$TMP/out")"
[ "$(ctl g reload)" = "listen	restart_needed" ] || fail "second reload: $(ctl g reload)"
grep -q "reload: listen changes need a restart" "$TMP/g.log" || fail "restart not logged"
cp "$TMP/g.conf.good" "$TMP/g.conf"
ctl g version | grep -q "^[0-9]" || fail "version command"

# A second daemon on a live control socket is refused; the first serves on.
expect_exit 1 d -c "$TMP/g.conf"
grep -q "another p2pchatd (pid ${PIDS[g]}) is using data_dir" "$TMP/err" || fail "second daemon: $(cat "$TMP/err")"
ctl g status >/dev/null || fail "first daemon disturbed"

# shutdown: exit 0, socket gone.
pid=${PIDS[g]}
ctl g shutdown || fail "shutdown command"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "exit status $rc after shutdown"
unset "PIDS[g]"
[ ! -e "$TMP/g.ctl/ctl.sock" ] || fail "socket left behind"
expect_exit 4 ctl g status

# After SIGKILL the stale socket is replaced on the next start.
start g
stop g KILL
[ -e "$TMP/g.ctl/ctl.sock" ] || fail "no stale socket to test with"
start g

# Control socket directory 0700 and socket 0600; key and db 0600.
[ "$(stat -c %a "$TMP/g.ctl")" = 700 ] || fail "socket dir mode"
[ "$(stat -c %a "$TMP/g.ctl/ctl.sock")" = 600 ] || fail "socket mode"
[ "$(stat -c %a "$TMP/g/identity.key")" = 600 ] || fail "key mode"
[ "$(stat -c %a "$TMP/g/gestor.db")" = 600 ] || fail "db mode"
head -1 "$TMP/g/identity.key" | grep -q "BEGIN PRIVATE KEY" || fail "key not PKCS#8 PEM"

# Unsafe permissions are refused with a clear message.
stop g TERM
chmod 644 "$TMP/g/identity.key"
expect_exit 1 d -c "$TMP/g.conf"
grep -q "identity.key has mode 0644" "$TMP/err" || fail "key mode message: $(cat "$TMP/err")"
chmod 600 "$TMP/g/identity.key"
chmod 755 "$TMP/g"
expect_exit 1 d -c "$TMP/g.conf"
grep -q "must be a directory with mode 0700" "$TMP/err" || fail "data_dir message: $(cat "$TMP/err")"
chmod 700 "$TMP/g"
start g
log "ok"
