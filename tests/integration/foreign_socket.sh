#!/usr/bin/env bash
# p2pchatctl sends nothing to a control socket held by another user: in a
# directory others may write to, another user's fake "daemon" waiting for
# a login's password is refused (exit 1, foreign_socket) before a byte is
# written. As root, the owner of a directory no one else may write to (a
# service account's daemon) is trusted.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

[ "$(id -u)" = 0 ] || { log "not root: skipping (needs a second uid)"; exit 77; }
command -v python3 >/dev/null || { log "no python3: skipping"; exit 77; }
other=$(id -u nobody)
group=$(id -g nobody)

# fake DIR: another uid listens at DIR/ctl.sock, records what it gets in
# DIR/got and answers a canned error; FAKE_PID.
fake() {
	rm -f "$1/ctl.sock" "$1/got"
	python3 -c '
import socket, sys, os
d = sys.argv[1]
os.setgroups([]); os.setgid(int(sys.argv[3])); os.setuid(int(sys.argv[2]))
s = socket.socket(socket.AF_UNIX)
s.bind(d + "/ctl.sock"); s.listen(1)
open(d + "/ready", "w").close()
c, _ = s.accept(); c.settimeout(10)
got = b""
try:
    while not got.endswith(b"\n"):
        b = c.recv(4096)
        if not b: break
        got += b
    if got:
        c.sendall(b"{\"id\":1,\"ok\":false,\"error\":{\"code\":\"fake\",\"message\":\"a fake daemon\"}}\n")
except OSError:
    pass
open(d + "/got", "wb").write(got)
' "$1" "$other" "$group" >>"$TMP/fake.log" 2>&1 &
	FAKE_PID=$!
	PIDS[fake]=$FAKE_PID
	wait_for "the fake listener" 10 test -e "$1/ready"
	rm -f "$1/ready"
}

# A loosened directory (1777): anyone may put a socket there.
loose=$TMP/loose
mkdir -m 1777 "$loose"
chmod 711 "$TMP"
umask 077
printf 'pw-secret-%s\n' "$RANDOM$RANDOM" >"$TMP/pw"
fake "$loose"
expect_exit 1 "$P2PCHATCTL" -s "$loose/ctl.sock" login alice --password-file "$TMP/pw"
grep -q "^p2pchatctl: foreign_socket: .*uid $other" "$TMP/err" || fail "no foreign_socket error: $(cat "$TMP/err")"
wait "$FAKE_PID" || true
[ -e "$loose/got" ] || fail "the fake listener did not finish"
[ ! -s "$loose/got" ] || fail "p2pchatctl sent to a foreign socket: $(cat "$loose/got")"
# A plain command: refused the same way, nothing sent.
fake "$loose"
expect_exit 1 "$P2PCHATCTL" -s "$loose/ctl.sock" status
grep -q "foreign_socket" "$TMP/err" || fail "status: $(cat "$TMP/err")"
wait "$FAKE_PID" || true
[ ! -s "$loose/got" ] || fail "status sent to a foreign socket"

# Root and a service account's own directory (0700, owned by it): trusted.
svc=$TMP/svc
mkdir -m 700 "$svc"
chown "$other:$group" "$svc"
fake "$svc"
expect_exit 1 "$P2PCHATCTL" -s "$svc/ctl.sock" status
grep -q "^p2pchatctl: fake: a fake daemon" "$TMP/err" || fail "service account's socket refused: $(cat "$TMP/err")"
wait "$FAKE_PID" || true
unset "PIDS[fake]"
log "ok"
