#!/usr/bin/env bash
# Secrets and local users: the data directory is 0700, keys and databases
# 0600; a configuration or key file other users may read or change is
# refused with a clear error, at start and on reload; no core dumps; a
# password is never taken from argv, never logged, and not left in the
# daemons' memory after use.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

# Long heartbeats: nothing overwrites buffers between login and the scan.
HB_INTERVAL=5 HB_TIMEOUT=15
mode_of() { stat -c %a "$1"; }
expect_mode() {
	[ "$(mode_of "$2")" = "$1" ] || fail "$2 has mode $(mode_of "$2"), not $1"
}

start_gestor g
start_peer alice g
register alice >/dev/null
ctl alice lookup alice >/dev/null

# --- files on disk.
for d in alice g; do
	expect_mode 700 "$TMP/$d"
	expect_mode 600 "$TMP/$d/identity.key"
	expect_mode 700 "$TMP/$d.ctl"
	expect_mode 600 "$TMP/$d.ctl/ctl.sock"
done
expect_mode 600 "$TMP/alice/peer.db"
expect_mode 600 "$TMP/g/gestor.db"
for f in "$TMP"/alice/peer.db-* "$TMP"/g/gestor.db-*; do
	[ -e "$f" ] && expect_mode 600 "$f"
done

# --- no core dumps from a process that holds keys and passwords.
for d in alice g; do
	grep -Eq '^Max core file size +0 +0 ' "/proc/${PIDS[$d]}/limits" ||
		fail "$d may dump core: $(grep 'core file' "/proc/${PIDS[$d]}/limits")"
done

# --- passwords: not in argv, not in logs, not left in memory.
PW=$(cat "$(password alice)")
expect_exit 2 ctl alice login alice "$PW"
expect_exit 2 ctl alice login alice --password "$PW"
start_peer alice2 g
ctl alice2 login alice --password-file "$(password alice)" >/dev/null || fail "login"
if command -v python3 >/dev/null; then
	for d in g alice alice2; do
		out=$(p2ptool memscan "${PIDS[$d]}" "$PW")
		# Copies in GnuTLS's decrypted-record buffers are out of our
		# reach (SECURITY.md, known limits): counted, not failed.
		case $out in
		"copies=0 tls_records=0") ;;
		"copies=0 tls_records="*) log "$d: $out (in GnuTLS's buffers)" ;;
		unreadable:*) log "cannot read $d's memory ($out): scan skipped" ;;
		*) fail "$d still holds the password after login: $out" ;;
		esac
	done
fi
stop alice2
! grep -qF "$PW" "$TMP"/*.log || fail "a password is in a log"

# --- unsafe configuration files are refused, with the fix in the message.
check_conf() {
	"$P2PCHATD" -c "$TMP/alice.conf" --check-config >"$TMP/out" 2>"$TMP/err"
}
for m in 644 604 620 602 666; do
	chmod "$m" "$TMP/alice.conf"
	rc=0
	check_conf || rc=$?
	[ "$rc" = 1 ] || fail "config mode $m: exit $rc"
	grep -q "has mode 0$m: other users may .* it; p2pchatd refuses it (chmod 600 $TMP/alice.conf)" "$TMP/err" ||
		fail "config mode $m: $(cat "$TMP/err")"
done
for m in 600 640 400; do
	chmod "$m" "$TMP/alice.conf"
	check_conf || fail "config mode $m refused: $(cat "$TMP/err")"
done
chmod 600 "$TMP/alice.conf"
if [ "$(id -u)" = 0 ]; then
	chown 65534 "$TMP/alice.conf"
	rc=0
	check_conf || rc=$?
	[ "$rc" = 1 ] && grep -q "is owned by uid 65534; it must belong to uid 0" "$TMP/err" ||
		fail "config owned by another uid: exit $rc, $(cat "$TMP/err")"
	chown 0 "$TMP/alice.conf"
fi
# p2pchatctl only reads the socket path from it: a readable file is fine.
chmod 644 "$TMP/alice.conf"
ctl alice status >/dev/null || fail "p2pchatctl with a 0644 config"
# A reload from an unsafe file is refused and the daemon keeps running.
rc=0
ctl alice reload >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -q "chmod 600" "$TMP/err" || fail "reload of a 0644 config: exit $rc, $(cat "$TMP/err")"
grep -q "reload failed, keeping the running configuration" "$TMP/alice.log" || fail "reload refusal not logged"
chmod 600 "$TMP/alice.conf"
ctl alice reload >/dev/null || fail "reload after chmod 600"

# --- a key file or data directory others may read is refused at start.
stop alice
chmod 644 "$TMP/alice/identity.key"
rc=0
timeout 10 "$P2PCHATD" -c "$TMP/alice.conf" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -q "identity.key has mode 0644; must be 0600" "$TMP/err" ||
	fail "key file 0644: exit $rc, $(cat "$TMP/err")"
chmod 600 "$TMP/alice/identity.key"
chmod 755 "$TMP/alice"
rc=0
timeout 10 "$P2PCHATD" -c "$TMP/alice.conf" >"$TMP/out" 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -q "data_dir $TMP/alice has mode 0755" "$TMP/err" ||
	fail "data_dir 0755: exit $rc, $(cat "$TMP/err")"
chmod 700 "$TMP/alice"
start alice
ctl alice status >/dev/null || fail "alice after the fixes"
log "ok"
