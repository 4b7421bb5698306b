#!/usr/bin/env bash
# startup.sh: set p2pchat up in one command.
#
#   ./startup.sh          install dependencies (as root), build, and run a
#                         local demo: a gestor and two peers, alice and bob
#   ./startup.sh demo     run the demo with what is built (no install, no build)
#   ./startup.sh stop     stop the demo daemons
#   ./startup.sh check    install dependencies, build, run `make check`
#   ./startup.sh help     this text
#
# Environment: P2PCHAT_DEMO_DIR (default ./demo), P2PCHAT_DEMO_PORT (gestor
# port, default 17000; alice and bob use the next two, the gestor's relay
# the one after). Safe to re-run: the port a demo was started with is
# remembered in its directory (file "port") and used again unless
# P2PCHAT_DEMO_PORT says otherwise; a running demo is never moved to
# another port. The daemons run in a session of their own: a Ctrl-C or a
# signal to the shell's process group does not stop them.
# The demo's directory is 0700 and its logs 0600: they hold usernames,
# addresses and key fingerprints.
set -euo pipefail

PACKAGES=(build-essential autoconf automake libtool pkg-config libevent-dev
	libgnutls28-dev libsqlite3-dev libconfig-dev libjansson-dev libcrypt-dev libsodium-dev
	check libsystemd-dev libpq-dev
	# for make check: network namespaces, the TLS and proxy test helpers,
	# throwaway PostgreSQL servers for the gestor's PostgreSQL backend,
	# NAT routers and the recording of the relay's traffic
	iproute2 procps python3 gnutls-bin postgresql nftables tcpdump)
NAMES=(gestor alice bob)
PEERS=(alice bob)

here=$PWD
top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
demo=${P2PCHAT_DEMO_DIR:-$here/demo}
[[ $demo == /* ]] || demo=$here/$demo
base_port=${P2PCHAT_DEMO_PORT:-17000}

say() { printf '%s\n' "$*"; }
die() { printf 'startup.sh: %s\n' "$*" >&2; exit 1; }

usage() {
	sed -n '2,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# ---------------------------------------------------------------- (a) deps

install_deps() {
	local missing=() p

	if ! command -v dpkg >/dev/null 2>&1; then
		say "startup.sh: no dpkg: not Debian; make sure these (or their" \
		    "equivalents) are installed: ${PACKAGES[*]}" >&2
		return 0
	fi
	for p in "${PACKAGES[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	if ((EUID != 0)); then
		say "startup.sh: missing packages: ${missing[*]}" >&2
		say "Install them with:" >&2
		say "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
	say "==> installing ${missing[*]}"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

# ---------------------------------------------------------------- (b) build

build() {
	cd "$top"
	if [[ ! -x configure ]]; then
		say "==> autoreconf -fi"
		mkdir -p m4
		autoreconf -fi
	fi
	if [[ ! -f Makefile ]]; then
		say "==> ./configure"
		./configure
	fi
	say "==> make"
	make -j"$(nproc)" || die "the build failed; see the errors above"
}

# ---------------------------------------------------------------- (c) demo

conf_of() { printf '%s/%s.conf' "$demo" "$1"; }
log_of() { printf '%s/%s.log' "$demo" "$1"; }
pidfile_of() { printf '%s/%s.pid' "$demo" "$1"; }
sock_of() { printf '%s/%s/ctl.sock' "$demo" "$1"; }

port_of() {
	case $1 in
	gestor) echo "$base_port" ;;
	alice) echo $((base_port + 1)) ;;
	bob) echo $((base_port + 2)) ;;
	relay) echo $((base_port + 3)) ;;
	esac
}

ctl() {
	"$top/p2pchatctl" -c "$(conf_of "$1")" "${@:2}"
}

# The pid recorded for NAME, if that process is still a p2pchatd.
running_pid() {
	local pf pid
	pf=$(pidfile_of "$1")
	[[ -f $pf ]] || return 1
	pid=$(<"$pf")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	grep -q p2pchatd "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

healthy() {
	[[ -S $(sock_of "$1") ]] && ctl "$1" status >/dev/null 2>&1
}

# Value of FIELD in `status` (tab-separated key/value lines), or "".
status_field() {
	ctl "$1" status 2>/dev/null | awk -F'\t' -v k="$2" '$1 == k { print $2 }'
}

write_conf() {
	local name=$1 mode=peer fp=${2:-}

	[[ $name == gestor ]] && mode=gestor
	{
		say "# p2pchat demo: $name (written by startup.sh; see p2pchatd.conf(5))"
		say "mode = \"$mode\";"
		say "data_dir = \"$demo/$name\";"
		say "control_socket = \"$(sock_of "$name")\";"
		say "listen = \"127.0.0.1:$(port_of "$name")\";"
		say "log_level = \"info\";"
		if [[ $mode == peer ]]; then
			say "gestor = {"
			say "  addresses = [ \"127.0.0.1:$base_port\" ];"
			say "  fingerprint = \"$fp\";"
			say "};"
		else
			say "# The relay for peers behind NAT, on the port after bob's"
			say "# (P2PCHAT_DEMO_PORT + 3)."
			say "relay = { listen = \"127.0.0.1:$(port_of relay)\"; };"
		fi
		say "# Short timers so that presence and retries show quickly."
		say "heartbeat = { interval = 2.0; timeout = 6.0; };"
		say "retry = { initial = 0.5; max = 10.0; };"
	} >"$(conf_of "$name").tmp"
	chmod 600 "$(conf_of "$name").tmp"	# p2pchatd refuses one others may read
	mv "$(conf_of "$name").tmp" "$(conf_of "$name")"
}

# Poll every 0.1 s until NAME answers `status`; give up after 20 s.
wait_ready() {
	local name=$1 pid=$2 i

	for ((i = 0; i < 200; i++)); do
		healthy "$name" && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			say "startup.sh: $name (pid $pid) exited; end of $(log_of "$name"):" >&2
			tail -n 20 "$(log_of "$name")" >&2 || true
			exit 1
		fi
		sleep 0.1
	done
	say "startup.sh: $name not ready after 20 s; end of $(log_of "$name"):" >&2
	tail -n 20 "$(log_of "$name")" >&2 || true
	exit 1
}

start_one() {
	local name=$1 fp=${2:-} pid

	if pid=$(running_pid "$name"); then
		wait_ready "$name" "$pid"
		say "    $name already running (pid $pid)"
		return 0
	fi
	write_conf "$name" "$fp"
	# Others may not read the log (also one left 0644 by an older run).
	: >>"$(log_of "$name")"
	chmod 600 "$(log_of "$name")"
	# A session of its own (setsid: not a process group leader here, so
	# it execs without a fork and $! stays the daemon's pid): a Ctrl-C or
	# a signal to the caller's process group does not stop the demo.
	nohup setsid "$top/p2pchatd" -c "$(conf_of "$name")" \
	    >>"$(log_of "$name")" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$(pidfile_of "$name")"
	wait_ready "$name" "$pid"
	say "    $name started (pid $pid, 127.0.0.1:$(port_of "$name"))"
}

new_password() {
	local pw
	pw="$demo/$1.password"
	[[ -s $pw ]] && return 0
	(umask 077 && head -c 18 /dev/urandom | base64 >"$pw")
	chmod 600 "$pw"
}

# register or login NAME; retried for up to 10 s while the daemon is still
# reaching the gestor. Prints p2pchatctl's error on failure.
try_account() {
	local cmd=$1 name=$2 err i

	for ((i = 0; i < 100; i++)); do
		if err=$(ctl "$name" "$cmd" "$name" \
		    --password-file "$demo/$name.password" 2>&1 >/dev/null); then
			return 0
		fi
		[[ $err == *gestor_unavailable* ]] || break
		sleep 0.1
	done
	printf '%s\n' "$err"
	return 1
}

# Register NAME, or log in if the account already exists.
account() {
	local name=$1 err

	if [[ $(status_field "$name" user) == "$name" ]]; then
		say "    $name already logged in"
		return 0
	fi
	new_password "$name"
	if err=$(try_account register "$name"); then
		say "    $name registered"
		return 0
	fi
	[[ $err == *user_exists* ]] || die "register $name failed: $err"
	err=$(try_account login "$name") ||
		die "login $name failed: $err (remove $demo to start the demo afresh)"
	say "    $name logged in"
}

# How to reach PATH from the user's directory: relative when it is below it.
shown() {
	case $1 in
	"$here"/*) printf '%s' "${1#"$here"/}" ;;
	*) printf '%s' "$1" ;;
	esac
}

instructions() {
	local c a b s
	c=$(shown "$top/p2pchatctl")
	[[ $c == */* ]] || c=./$c
	s=$(shown "$top/startup.sh")
	[[ $s == */* ]] || s=./$s
	a=$(shown "$(conf_of alice)")
	b=$(shown "$(conf_of bob)")
	cat <<EOF

p2pchat demo is running in $demo
  gestor 127.0.0.1:$base_port, alice 127.0.0.1:$((base_port + 1)), bob 127.0.0.1:$((base_port + 2))
  logs: $demo/NAME.log   passwords: $demo/NAME.password

Try:
  $c -c $a send bob "hello"
  $c -c $b history alice
  $c -c $b chats
  $c -c $b watch            (events as they come; Ctrl-C stops)
  $c -c $b chat alice       (interactive; Ctrl-D leaves)
  $c -c $a status
  $c -c $a lookup bob
  $c -c $(shown "$(conf_of gestor)") users

Stop it with: $s stop
EOF
}

# The port the demo in $demo was started with, "" if none.
remembered_port() {
	local p
	[[ -s $demo/port ]] || return 0
	p=$(<"$demo/port")
	[[ $p =~ ^[0-9]{1,5}$ ]] && echo "$p"
}

# P2PCHAT_DEMO_PORT, else the port remembered, else 17000; never a port
# other than the one the running demo uses.
choose_port() {
	local saved name
	saved=$(remembered_port)
	if [[ -z ${P2PCHAT_DEMO_PORT:-} ]]; then
		[[ -n $saved ]] && base_port=$saved
		return 0
	fi
	[[ -n $saved && $saved != "$P2PCHAT_DEMO_PORT" ]] || return 0
	for name in "${NAMES[@]}"; do
		running_pid "$name" >/dev/null &&
			die "the demo in $demo runs on port $saved; stop it first ($0 stop) or unset P2PCHAT_DEMO_PORT"
	done
	return 0
}

check_demo_paths() {
	local name s
	choose_port
	if ! [[ $base_port =~ ^[0-9]{1,5}$ ]] ||
	    ((10#$base_port < 1 || 10#$base_port > 65532)); then
		die "P2PCHAT_DEMO_PORT must be a port number from 1 to 65532 (the demo uses it and the three after it)"
	fi
	base_port=$((10#$base_port))
	for name in "${NAMES[@]}"; do
		s=$(sock_of "$name")
		((${#s} < 108)) ||
			die "socket path $s is too long for a Unix socket; set P2PCHAT_DEMO_DIR to a shorter directory"
	done
}

demo_start() {
	local fp name

	umask 077
	mkdir -p "$demo"
	chmod 700 "$demo"
	echo "$base_port" >"$demo/port"
	say "==> starting the demo in $demo"
	start_one gestor
	fp=$(status_field gestor fingerprint)
	[[ $fp == sha256:* ]] || fp=""
	for name in "${PEERS[@]}"; do
		start_one "$name" "$fp"
	done
	say "==> accounts"
	for name in "${PEERS[@]}"; do
		account "$name"
	done
	instructions
}

demo_stop() {
	local name pid i failed=0 found=0

	for name in bob alice gestor; do
		if ! pid=$(running_pid "$name"); then
			rm -f "$(pidfile_of "$name")"
			continue
		fi
		found=1
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "$name (pid $pid) did not exit within 5 s; kill -9 $pid forces it" >&2
			failed=1
		else
			say "stopped $name (pid $pid)"
			rm -f "$(pidfile_of "$name")"
		fi
	done
	((found)) || say "no demo daemons running in $demo"
	return "$failed"
}

# ---------------------------------------------------------------- check

run_check() {
	install_deps
	build
	cd "$top"
	# One test per CPU at a time: each spends most of its time
	# waiting on daemons, networks and containers, not computing.
	say "==> make -j$(nproc) check"
	if ! make -j"$(nproc)" check; then
		if [[ -f test-suite.log ]]; then
			say "startup.sh: make check failed; end of test-suite.log:" >&2
			tail -n 60 test-suite.log >&2
		else
			say "startup.sh: make check failed before the tests ran;" \
			    "see the errors above" >&2
		fi
		exit 1
	fi
}

case ${1:-} in
"")
	check_demo_paths
	install_deps
	build
	demo_start
	;;
demo)
	check_demo_paths
	demo_start
	;;
stop) demo_stop ;;
check) run_check ;;
help | -h | --help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac
