# Helpers for the integration tests: start real gestors and peers on
# 127.0.0.1 with port 0 and temporary directories, drive them only through
# p2pchatctl, and always clean up. Source it; set -eu is expected.

: "${P2PCHATD:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/p2pchatd}"
: "${P2PCHATCTL:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/p2pchatctl}"
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/p2pchat-$TEST_NAME.XXXXXX")
chmod 700 "$TMP"
declare -A PIDS=()
# Short timers so that heartbeat timeouts and retries happen in seconds.
HB_INTERVAL=${HB_INTERVAL:-0.2}
HB_TIMEOUT=${HB_TIMEOUT:-1.5}

log() { printf '%s: %s\n' "$TEST_NAME" "$*" >&2; }

cleanup() {
	local name
	for name in "${!PIDS[@]}"; do
		kill -KILL "${PIDS[$name]}" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if grep -qs . "$TMP"/*.vg.* 2>/dev/null; then
		for name in "$TMP"/*.vg.*; do
			[ -s "$name" ] || continue
			printf -- '--- valgrind: %s\n' "$name" >&2
			head -n 40 "$name" >&2
		done
		log "FAIL: valgrind reported errors or definite leaks"
		KEEP_TMP=1 VG_FAILED=1
	fi
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		log "kept $TMP"
	else
		rm -rf "$TMP"
	fi
	[ -z "${VG_FAILED:-}" ] || exit 1
}
trap cleanup EXIT

dump_logs() {
	local f
	for f in "$TMP"/*.log; do
		[ -e "$f" ] || continue
		printf -- '--- %s (last 30 lines)\n' "$f" >&2
		tail -n 30 "$f" >&2
	done
}

fail() {
	log "FAIL: $*"
	dump_logs
	exit 1
}

# wait_for DESCRIPTION SECONDS COMMAND...: poll COMMAND until it succeeds.
wait_for() {
	local what=$1 limit=$2 deadline
	shift 2
	deadline=$(( $(date +%s%N) / 1000000 + ${limit%.*} * 1000 ))
	until "$@" >/dev/null 2>&1; do
		if [ $(( $(date +%s%N) / 1000000 )) -ge "$deadline" ]; then
			fail "timed out after ${limit}s waiting for: $what"
		fi
		sleep 0.05
	done
}

ctl() {
	local name=$1
	shift
	"$P2PCHATCTL" -c "$TMP/$name.conf" "$@"
}

# field NAME KEY: one value from `status` (tab-separated key/value lines).
field() {
	ctl "$1" status | awk -F'\t' -v k="$2" '$1 == k { print $2 }'
}

# Message requests (limits.stranger_*) are tested by message_requests.sh;
# elsewhere a first message to someone who never wrote back is no abuse,
# and tests send hundreds: raised out of the way unless LIMITS sets them.
stranger_limits() {
	case ${LIMITS:-} in
	*stranger_*) ;;
	*) printf '%s' "stranger_messages = 100000000; stranger_bytes = 1000000000;" \
	    " stranger_messages_per_minute = 1000000;" ;;
	esac
}

write_conf() {
	local name=$1 mode=$2 extra=$3
	cat >"$TMP/$name.conf" <<CONF
mode = "$mode";
data_dir = "$TMP/$name";
control_socket = "$TMP/$name.ctl/ctl.sock";
listen = "127.0.0.1:${PORT_OF[$name]:-0}";
log_level = "debug";
heartbeat = { interval = $HB_INTERVAL; timeout = $HB_TIMEOUT; };
retry = { initial = 0.1; max = 1.0; ${RETRY:-} };
limits = { handshake_timeout = ${HANDSHAKE_TIMEOUT:-5.0}; ${LIMITS:-} $(stranger_limits) };
$extra
CONF
	chmod 600 "$TMP/$name.conf"	# p2pchatd refuses a config others may read
}

declare -A PORT_OF=()

# start NAME: (re)start the daemon of an existing config; wait until ready.
# P2PCHAT_VALGRIND=1 runs every daemon under valgrind's memcheck: memory
# errors and definite leaks go to $TMP/NAME.vg.PID and fail the test when
# it ends (see cleanup).
start() {
	local name=$1
	if [ "${P2PCHAT_VALGRIND:-0}" = 1 ]; then
		valgrind --quiet --leak-check=full --show-leak-kinds=definite \
		    --errors-for-leak-kinds=definite --error-exitcode=99 \
		    --log-file="$TMP/$name.vg.%p" \
		    "$P2PCHATD" -c "$TMP/$name.conf" >>"$TMP/$name.log" 2>&1 &
	else
		"$P2PCHATD" -c "$TMP/$name.conf" >>"$TMP/$name.log" 2>&1 &
	fi
	PIDS[$name]=$!
	wait_for "$name to serve its control socket" 20 ctl "$name" status
}

# start_gestor NAME [EXTRA CONFIG]: a gestor on 127.0.0.1, port chosen by
# the kernel. Its relay listens on a port the kernel chooses too, also
# after a restart (its default, port 7002 once the gestor's port is fixed,
# would collide between tests), unless EXTRA sets a relay group itself.
start_gestor() {
	local name=$1 extra=${2:-}
	case $extra in
	*relay*) ;;
	*) extra="$extra
relay = { listen = \"127.0.0.1:0\"; };" ;;
	esac
	write_conf "$name" gestor "$extra"
	start "$name"
	PORT_OF[$name]=$(field "$name" listen | sed 's/.*://')
	# Restarts keep the same port, so peers find it again.
	write_conf "$name" gestor "$extra"
}

# start_peer NAME GESTOR [EXTRA CONFIG]: a peer using that gestor.
start_peer() {
	local name=$1 gestor=$2
	write_conf "$name" peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[$gestor]}\" ]; };
${3:-}"
	start "$name"
	PORT_OF[$name]=$(field "$name" listen | sed 's/.*://')
	write_conf "$name" peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[$gestor]}\" ]; };
${3:-}"
}

# stop NAME [SIGNAL]: stop a daemon and wait for it to exit.
stop() {
	local name=$1 sig=${2:-TERM} pid=${PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "PIDS[$name]"
}

# password NAME: a password file for NAME's account (0600).
password() {
	local f="$TMP/$1.password"
	[ -e "$f" ] || { umask 077; printf 'pw-%s-%s\n' "$1" "$RANDOM$RANDOM" >"$f"; }
	printf '%s\n' "$f"
}

register() {
	ctl "$1" register "$1" --password-file "$(password "$1")"
}

gestor_state_is() {
	[ "$(field "$1" gestor_state)" = "$2" ]
}

# online_at_gestor USER yes|no: the gestor g's lookup of USER says so.
online_at_gestor() {
	ctl g lookup "$1" | grep -q "^online	$2\$"
}

# expect_exit CODE COMMAND...: run COMMAND, require that exit status.
expect_exit() {
	local want=$1 rc=0
	shift
	"$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ "$rc" = "$want" ] || fail "expected exit $want, got $rc from: $* (stderr: $(cat "$TMP/err"))"
}

# watch_bg NAME FILE [WATCH ARGS...]: `watch` in the background into FILE,
# returning once the daemon has taken the subscription; pid in WATCH_PID.
watch_bg() {
	local name=$1 file=$2 before
	shift 2
	before=$(grep -c "ctlsock: watch" "$TMP/$name.log" || true)
	ctl "$name" "$@" watch >"$file" &
	WATCH_PID=$!
	wait_for "$name's watch subscription" 5 sh -c \
	    "[ \$(grep -c 'ctlsock: watch' '$TMP/$name.log') -gt $before ]"
}

# ------------------------------------------------- hostile-client helpers
P2PTOOL="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/p2ptool.py"

# need_tools CMD...: skip the test (exit 77) unless every CMD is installed.
need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 && continue
		log "SKIP: needs $t (Debian: python3, gnutls-bin)"
		exit 77
	done
}

p2ptool() {
	python3 "$P2PTOOL" "$@"
}

# fake_gestor NAME: stop the gestor NAME and put p2ptool's scripted
# fake-gestor in its place (its port, its key: the peers' pin holds),
# answering from $TMP/script; its pid in FAKE (killed at exit), what it
# saw appended to $TMP/fake.out. Called again, it starts the fake again.
fake_gestor() {
	if [ ! -f "$TMP/fg.crt" ]; then
		FAKE_PORT=${PORT_OF[$1]}
		stop "$1"
		printf 'cn = "gestor"\nexpiration_days = 2\nsigning_key\ntls_www_server\n' \
		    >"$TMP/fg.tmpl"
		certtool --generate-self-signed --load-privkey \
		    "$TMP/$1/identity.key" --template "$TMP/fg.tmpl" --no-text \
		    --outfile "$TMP/fg.crt" >/dev/null 2>&1 || fail "certtool"
		trap 'kill $FAKE 2>/dev/null || true; cleanup' EXIT
	fi
	python3 "$P2PTOOL" fake-gestor "$TMP/fg.crt" "$TMP/$1/identity.key" \
	    "$FAKE_PORT" "$TMP/script" 60 >>"$TMP/fake.out" 2>>"$TMP/fake.err" &
	FAKE=$!
}

# client_cert NAME [KEY TYPE]: a throwaway self-signed certificate for raw
# TLS clients, as $TMP/NAME.crt and $TMP/NAME.key (ecdsa, or ed25519...).
client_cert() {
	printf 'cn = "%s"\nexpiration_days = 2\nsigning_key\ntls_www_client\n' \
	    "$1" >"$TMP/$1.tmpl"
	certtool --generate-privkey --key-type="${2:-ecdsa}" --no-text \
	    --outfile "$TMP/$1.key" >/dev/null 2>&1
	certtool --generate-self-signed --load-privkey "$TMP/$1.key" \
	    --template "$TMP/$1.tmpl" --no-text --outfile "$TMP/$1.crt" \
	    >/dev/null 2>&1
}

# rss_kb NAME: resident memory of NAME's daemon, in KiB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/${PIDS[$1]}/status"
}

# sanitized: true if the daemons run under a memory checker, which makes
# RSS grow by design and checks leaks itself at exit: a p2pchatd built
# with AddressSanitizer, or P2PCHAT_VALGRIND=1.
sanitized() {
	[ "${P2PCHAT_VALGRIND:-0}" = 1 ] ||
	    { ldd "$P2PCHATD" 2>/dev/null | grep -q libasan; } ||
	    nm "$P2PCHATD" 2>/dev/null | grep -q __asan_init
}

# stop_clean NAME: SIGTERM, and fail unless the daemon exits 0 (under the
# sanitizers a leak or an error report makes the exit status non-zero).
stop_clean() {
	local pid=${PIDS[$1]} rc=0
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	unset "PIDS[$1]"
	[ "$rc" = 0 ] || fail "$1 exited $rc after SIGTERM (see $1.log)"
}
