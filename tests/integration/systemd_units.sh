#!/usr/bin/env bash
# The systemd units `make install` ships pass `systemd-analyze verify`
# without a single complaint, are Type=notify when p2pchatd sends READY=1,
# reload with SIGHUP, keep the promised hardening, and name man pages that
# exist, whose FILES follow the configured prefix. Skipped (77) without
# systemd-analyze.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
top_srcdir=$(cd "$(dirname "$TESTS_LIB")/.." && pwd)
top_builddir=$(cd "$(dirname "$P2PCHATD")" && pwd)
units=$top_builddir/etc/systemd

for u in p2pchatd.service p2pchat-gestor.service; do
	[ -f "$units/$u" ] || fail "$units/$u was not generated"
	grep -q '@[a-zA-Z_]*@' "$units/$u" && fail "$u: unsubstituted: $(grep '@[a-zA-Z_]*@' "$units/$u")"
	grep -q '^ExecStart=/.*/p2pchatd\( \|$\)' "$units/$u" || fail "$u: ExecStart"
	grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$units/$u" || fail "$u: ExecReload"
	for k in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
	    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
	    SystemCallFilter=@system-service LimitCORE=0; do
		grep -qx "$k" "$units/$u" || fail "$u: no $k"
	done
	for m in $(sed -n 's/^Documentation=//p' "$units/$u"); do
		page=${m#man:}
		name=${page%(*}
		sect=${page#*(}
		sect=${sect%)}
		[ -f "$top_srcdir/man/$name.$sect" ] ||
			[ -f "$top_srcdir/man/$name.$sect.in" ] || fail "$u: no man page $page"
	done
done
# The man pages that name installed paths were made for this build: no
# marker left, the unit and examples paths under the configured prefix.
for page in p2pchatd.8 p2pchatd.conf.5; do
	f=$top_builddir/man/$page
	[ -f "$f" ] || fail "man/$page was not generated"
	grep -q '@[a-zA-Z_]*@' "$f" && fail "$page: unsubstituted: $(grep '@[a-zA-Z_]*@' "$f")"
done
prefix=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")
grep -q "^\.It Pa $prefix/.*/p2pchatd\.service$" "$top_builddir/man/p2pchatd.8" ||
	fail "p2pchatd(8) FILES do not follow the prefix $prefix"
grep -q "^\.It Pa $prefix/share/doc/p2pchat/examples/$" "$top_builddir/man/p2pchatd.conf.5" ||
	fail "p2pchatd.conf(5) FILES do not follow the prefix $prefix"
# Type=notify exactly when p2pchatd was built to send READY=1.
type=exec
ldd "$P2PCHATD" 2>/dev/null | grep -q libsystemd && type=notify
for u in p2pchatd.service p2pchat-gestor.service; do
	grep -qx "Type=$type" "$units/$u" || fail "$u: not Type=$type"
done
grep -qx 'User=p2pchat' "$units/p2pchat-gestor.service" || fail "gestor: own user"
sysusers=$top_srcdir/etc/systemd/sysusers.d/p2pchat.conf
grep -q '^u p2pchat ' "$sysusers" || fail "sysusers.d does not create p2pchat"
grep -q '^ExecStart=.* -c /etc/p2pchat/gestor.conf$' "$units/p2pchat-gestor.service" ||
	fail "gestor: config file"
# The gestor's example config names the unit's directories.
sd=$(sed -n 's/^StateDirectory=//p' "$units/p2pchat-gestor.service")
rd=$(sed -n 's/^RuntimeDirectory=//p' "$units/p2pchat-gestor.service")
grep -q "^data_dir = \"/var/lib/$sd\";" "$top_srcdir/etc/gestor.conf.example" ||
	fail "gestor.conf.example: data_dir is not /var/lib/$sd"
grep -q "^control_socket = \"/run/$rd/ctl.sock\";" "$top_srcdir/etc/gestor.conf.example" ||
	fail "gestor.conf.example: control_socket is not in /run/$rd"
# The user unit uses the default config lookup: no -c.
grep -q '^ExecStart=[^ ]*p2pchatd$' "$units/p2pchatd.service" || fail "user unit: ExecStart"
grep -qx 'WantedBy=default.target' "$units/p2pchatd.service" || fail "user unit: WantedBy"

if ! command -v systemd-analyze >/dev/null 2>&1; then
	log "SKIP: no systemd-analyze"
	exit 77
fi

# Copies that run the p2pchatd just built, so that verify checks the
# command too (the installed path need not exist yet).
mkdir -p "$TMP/units" "$TMP/xdg-runtime"
chmod 700 "$TMP/xdg-runtime"
for u in p2pchatd.service p2pchat-gestor.service; do
	sed "s|^\(ExecStart=\)[^ ]*/p2pchatd|\1$P2PCHATD|" "$units/$u" >"$TMP/units/$u"
done

verify() {
	local rc=0
	"$@" >"$TMP/verify.out" 2>&1 || rc=$?
	if [ "$rc" != 0 ] || [ -s "$TMP/verify.out" ]; then
		fail "$* (exit $rc): $(cat "$TMP/verify.out")"
	fi
}
verify systemd-analyze --man=no verify "$TMP/units/p2pchat-gestor.service"
verify env XDG_RUNTIME_DIR="$TMP/xdg-runtime" \
    systemd-analyze --man=no --user verify "$TMP/units/p2pchatd.service"

# The user the gestor runs as is created by systemd-sysusers.
mkdir -p "$TMP/root"
verify_sysusers() {
	systemd-sysusers --dry-run --root="$TMP/root" "$sysusers" >"$TMP/sysusers.out" 2>&1 ||
		fail "systemd-sysusers: $(cat "$TMP/sysusers.out")"
	grep -q "Creating user 'p2pchat'" "$TMP/sysusers.out" ||
		fail "systemd-sysusers: $(cat "$TMP/sysusers.out")"
}
if command -v systemd-sysusers >/dev/null 2>&1 &&
    systemd-sysusers --help 2>&1 | grep -q -- --dry-run; then
	verify_sysusers
fi

# The check itself notices a mistake.
sed 's/^PrivateTmp=/PrivateTmpp=/' "$TMP/units/p2pchat-gestor.service" \
    >"$TMP/bad.service"
systemd-analyze --man=no verify "$TMP/bad.service" 2>&1 | grep -q PrivateTmpp ||
	fail "systemd-analyze verify did not notice an unknown key"
log "ok"
