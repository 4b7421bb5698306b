#!/bin/bash
# Run inside the clean Debian 12 container by tests/docker/package.sh, one
# phase per call, as root: what an administrator does with the packages in
# /pkg (and the repacked next version in /pkg/next). systemd is not PID 1
# here, so the daemons start from the packaged binaries and config paths,
# as the units would start them (the gestor as the user p2pchat with
# /etc/p2pchat/gestor.conf; each peer as its user with
# ~/.config/p2pchat/p2pchatd.conf). Everything talks on 127.0.0.1 inside
# the container's own network namespace.
set -eu
export DEBIAN_FRONTEND=noninteractive

fail() { echo "inside: FAIL: $*" >&2; exit 1; }
say() { echo "inside: $*" >&2; }

# wait_for DESCRIPTION SECONDS COMMAND...
wait_for() {
	local what=$1 limit=$2 i=0
	shift 2
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le $((limit * 10)) ] || fail "timed out after ${limit}s: $what"
		sleep 0.1
	done
}

# mode_owner PATH: "MODE USER GROUP" as stat prints them.
mode_owner() { stat -c '%a %U %G' "$1"; }
expect_mode() {
	local got
	got=$(mode_owner "$1") || fail "$1 is missing"
	[ "$got" = "$2" ] || fail "$1 is '$got', not '$2'"
}

# Every file outside the kernel's and apt's own, for the purge check.
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /pkg \
	    -o -path /run -o -path /tmp -o -path /var/cache -o -path /var/log \
	    -o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /root \) \
	    -prune -o -print | sort
}

# as USER COMMAND...: run COMMAND as USER in that user's environment.
as() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --init-groups env HOME="/home/$u" \
	    XDG_RUNTIME_DIR="/run/user/$(id -u "$u")" "$@"
}

# A daemon that has exited (PID 1 here does not reap: a zombie counts).
gone() {
	[ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

no_daemon() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" != p2pchatd ] && continue
		gone "${p#/proc/}" ||
			{ say "running: ${p#/proc/} $(tr '\0' ' ' <"$p/cmdline")"; return 1; }
	done
	return 0
}

start_gestor() {
	setpriv --reuid=p2pchat --regid=p2pchat --init-groups \
	    /usr/sbin/p2pchatd -m gestor -c /etc/p2pchat/gestor.conf \
	    >>/root/gestor.log 2>&1 &
	echo $! >/root/gestor.pid
	wait_for "the gestor's control socket" 30 \
	    p2pchatctl -c /etc/p2pchat/gestor.conf status
}

start_peer() {
	# Not through as(): a function in the background is a subshell.
	setpriv --reuid="$1" --regid="$1" --init-groups env HOME="/home/$1" \
	    XDG_RUNTIME_DIR="/run/user/$(id -u "$1")" /usr/sbin/p2pchatd \
	    >>"/root/$1.log" 2>&1 &
	echo $! >"/root/$1.pid"
	wait_for "$1's control socket" 30 as "$1" p2pchatctl status
}

stop_all() {
	local f pid
	for f in /root/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null || true
		wait_for "pid $pid ($f) to exit" 15 gone "$pid"
		rm -f "$f"
	done
	no_daemon || fail "a p2pchatd outlived its stop"
}

peer_field() {
	as "$1" p2pchatctl status | awk -F'\t' -v k="$2" '$1 == k { print $2 }'
}

online() { [ "$(peer_field "$1" gestor_state)" = online ]; }

chat() {
	local n=$1 text=$2
	as alice p2pchatctl send --wait=20 bob "$text" >/dev/null ||
		fail "alice could not send '$text': $(tail -n 5 /root/alice.log)"
	as bob p2pchatctl history alice | cut -f5 | grep -qx "$text" ||
		fail "bob's history lacks '$text': $(as bob p2pchatctl history alice)"
	[ "$(as bob p2pchatctl history alice | wc -l)" = "$n" ] ||
		fail "bob has $(as bob p2pchatctl history alice | wc -l) messages, not $n"
}

case $1 in
deps)
	# The packages' dependencies from the mirror, and two users; then the
	# snapshot the purge is compared with.
	apt-get update -q >/dev/null
	deps=$(for d in /pkg/*.deb; do dpkg-deb -f "$d" Depends; done |
	    tr ',' '\n' | grep -v '^ *p2pchat\b' | sed 's/^ *//' | paste -sd, -)
	say "dependencies: $deps"
	apt-get satisfy -y -q --no-install-recommends "$deps" >/root/apt.log 2>&1 ||
		{ tail -n 20 /root/apt.log >&2; fail "apt-get satisfy"; }
	for u in alice bob; do
		useradd -m -s /bin/bash "$u"
		install -d -m 0700 -o "$u" -g "$u" "/run/user/$(id -u "$u")"
	done
	snapshot >/root/before.list
	;;
install)
	dpkg -i /pkg/p2pchat_*.deb /pkg/p2pchat-gestor_*.deb >/root/dpkg.log 2>&1 ||
		{ cat /root/dpkg.log >&2; fail "dpkg -i"; }
	# Nothing runs after installation.
	no_daemon || fail "a p2pchatd runs after installation"
	getent passwd p2pchat >/dev/null || fail "no user p2pchat (sysusers.d)"
	expect_mode /usr/sbin/p2pchatd "755 root root"
	expect_mode /usr/bin/p2pchatctl "755 root root"
	expect_mode /etc/p2pchat/gestor.conf "640 root p2pchat"
	expect_mode /var/lib/p2pchat-gestor "700 p2pchat p2pchat"
	expect_mode /run/p2pchat-gestor "700 p2pchat p2pchat"
	expect_mode /lib/systemd/system/p2pchat-gestor.service "644 root root"
	expect_mode /usr/lib/systemd/user/p2pchatd.service "644 root root"
	expect_mode /usr/lib/sysusers.d/p2pchat.conf "644 root root"
	expect_mode /usr/lib/tmpfiles.d/p2pchat-gestor.conf "644 root root"
	expect_mode /usr/share/bash-completion/completions/p2pchatctl "644 root root"
	for m in man1/p2pchatctl.1 man5/p2pchatd.conf.5 man8/p2pchatd.8; do
		expect_mode "/usr/share/man/$m.gz" "644 root root"
	done
	grep -qx /etc/p2pchat/gestor.conf /var/lib/dpkg/info/p2pchat-gestor.conffiles ||
		fail "gestor.conf is not a conffile"
	# Not enabled: no unit symlink anywhere.
	[ -z "$(find /etc/systemd -name 'p2pchat*' 2>/dev/null)" ] ||
		fail "a unit is enabled: $(find /etc/systemd -name 'p2pchat*')"
	# The packaged configuration passes its own check.
	setpriv --reuid=p2pchat --regid=p2pchat --init-groups p2pchatd --check-config -c /etc/p2pchat/gestor.conf ||
		fail "p2pchatd --check-config refuses the packaged gestor.conf"
	;;
run)
	start_gestor
	fp=$(p2pchatctl -c /etc/p2pchat/gestor.conf status |
	    awk -F'\t' '$1 == "fingerprint" { print $2 }')
	echo "$fp" >/root/gestor.fp
	port=7101
	for u in alice bob; do
		install -d -m 0700 -o "$u" -g "$u" "/home/$u/.config/p2pchat"
		sed -e "s|^listen = .*|listen = \"127.0.0.1:$port\";|" \
		    -e "s|^  fingerprint = .*|  fingerprint = \"$fp\";|" \
		    -e 's|"localhost:7000"|"127.0.0.1:7000"|' \
		    /usr/share/doc/p2pchat/examples/p2pchatd.conf.example \
		    >"/home/$u/.config/p2pchat/p2pchatd.conf"
		chown "$u:$u" "/home/$u/.config/p2pchat/p2pchatd.conf"
		chmod 600 "/home/$u/.config/p2pchat/p2pchatd.conf"
		port=$((port + 1))
		start_peer "$u"
		printf 'pw-%s-%s\n' "$u" "$RANDOM$RANDOM" >"/home/$u/.pw"
		chown "$u:$u" "/home/$u/.pw"
		chmod 600 "/home/$u/.pw"
		as "$u" p2pchatctl register "$u" --password-file "/home/$u/.pw" >/dev/null ||
			fail "register $u: $(tail -n 5 "/root/$u.log")"
	done
	wait_for "alice online" 30 online alice
	wait_for "bob online" 30 online bob
	chat 1 "hello from the package"
	# Files the daemons made: modes and owners.
	expect_mode /var/lib/p2pchat-gestor/identity.key "600 p2pchat p2pchat"
	expect_mode /var/lib/p2pchat-gestor/gestor.db "600 p2pchat p2pchat"
	expect_mode /run/p2pchat-gestor/ctl.sock "600 p2pchat p2pchat"
	for u in alice bob; do
		expect_mode "/home/$u/.local/share/p2pchat" "700 $u $u"
		expect_mode "/home/$u/.local/share/p2pchat/identity.key" "600 $u $u"
		expect_mode "/run/user/$(id -u "$u")/p2pchat" "700 $u $u"
	done
	;;
upgrade)
	# The admin edited the conffile; the next version comes.
	stop_all
	sed -i 's/^log_level = "info";/log_level = "warn";/' /etc/p2pchat/gestor.conf
	dpkg -i /pkg/next/p2pchat_*.deb /pkg/next/p2pchat-gestor_*.deb >/root/dpkg.log 2>&1 ||
		{ cat /root/dpkg.log >&2; fail "upgrade"; }
	[ "$(dpkg-query -W -f '${Version}' p2pchat-gestor)" = "$(cat /pkg/next/version)" ] ||
		fail "not upgraded: $(dpkg-query -W -f '${Version}' p2pchat-gestor)"
	grep -q '^log_level = "warn";' /etc/p2pchat/gestor.conf ||
		fail "the upgrade overwrote the admin's gestor.conf"
	expect_mode /etc/p2pchat/gestor.conf "640 root p2pchat"
	no_daemon || fail "the upgrade started a daemon"
	start_gestor
	[ "$(p2pchatctl -c /etc/p2pchat/gestor.conf status |
	    awk -F'\t' '$1 == "fingerprint" { print $2 }')" = "$(cat /root/gestor.fp)" ] ||
		fail "the gestor's identity changed across the upgrade"
	start_peer alice
	start_peer bob
	wait_for "alice online again" 30 online alice
	wait_for "bob online again" 30 online bob
	chat 2 "after the upgrade"
	;;
purge)
	stop_all
	dpkg --purge p2pchat-gestor p2pchat >/root/dpkg.log 2>&1 ||
		{ cat /root/dpkg.log >&2; fail "dpkg --purge"; }
	! dpkg-statoverride --list /etc/p2pchat/gestor.conf >/dev/null ||
		fail "the statoverride outlived the purge"
	for p in /run/p2pchat-gestor /var/lib/p2pchat-gestor /etc/p2pchat; do
		[ ! -e "$p" ] || fail "$p is left after purge"
	done
	snapshot >/root/after.list
	# Left on purpose: the user p2pchat (in /etc/passwd and friends, and
	# their backups), and what the users' own daemons made in their homes.
	comm -13 /root/before.list /root/after.list |
	    grep -v -e '^/home/alice\(/\|$\)' -e '^/home/bob\(/\|$\)' \
	    -e '^/etc/\(passwd\|group\|shadow\|gshadow\)-$' >/root/left || true
	[ ! -s /root/left ] || fail "left after purge: $(cat /root/left)"
	left=$(find / -xdev \( -path /proc -o -path /sys \) -prune -o \
	    -user p2pchat -print 2>/dev/null)
	[ -z "$left" ] || fail "files of the user p2pchat left: $left"
	;;
*)
	fail "no phase $1"
	;;
esac
say "$1: ok"
