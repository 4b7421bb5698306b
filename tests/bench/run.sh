#!/usr/bin/env bash
# make bench: measure p2pchat against the limits of this machine, measured
# in the same run. Starts real daemons on 127.0.0.1 (port 0, temporary
# directories, default timers and durability), runs each benchmark
# BENCH_RUNS times, prints a table (median, min, max) and writes
# bench/results.json in the build directory. See docs/PERFORMANCE.md.
#
# Environment: BENCH_RUNS (3), BENCH_ONLY (space-separated subset of:
# refs throughput latency relay flush memory gestor startup cluster group mailbox
# mailbox_e2e ctlsend wire files), BENCH_GESTOR_NS
# ("1000 10000 100000"; a size needs that many descriptors per process and
# is skipped where the hard limit is lower), BENCH_GESTOR_SECS (65), BENCH_QUICK=1 (smaller, for
# trying the suite out; the numbers are then not comparable), KEEP_TMP=1.
set -eu
umask 077	# p2pchatd refuses config files others may read

BUILD=${BENCH_BUILD:-$(pwd)}
P2PCHATD=${P2PCHATD:-$BUILD/p2pchatd}
P2PCHATCTL=${P2PCHATCTL:-$BUILD/p2pchatctl}
BIN=${BENCH_BIN:-$BUILD/tests/bench}
OUT=${BENCH_OUT:-$BUILD/bench}
RUNS=${BENCH_RUNS:-3}
ONLY=${BENCH_ONLY:-refs throughput latency relay flush memory gestor startup cluster group mailbox mailbox_e2e ctlsend wire files}
QUICK=${BENCH_QUICK:-0}

N_MSGS=20000		# throughput
N_PENDING=10000		# pending flush, memory
N_LAT=300		# latency samples
LAT_INTERVAL_MS=20
N_STORE=1000000		# start-up with a big store
N_CONNS=100		# memory: open peer connections
GROUP_N=100		# group: members (in-process, bench_group)
N_GROUP_MSGS=500	# group: messages to the group
N_MAIL=10000		# mailbox: messages deposited, then drained
N_CTL_ONE=300		# ctlsend: sends, one p2pchatctl process each
N_CTL_BATCH=5000	# ctlsend: sends in one send --batch
FILE_MIB=1024		# files: the file sent (MiB)
GESTOR_NS=${BENCH_GESTOR_NS:-1000 10000 100000}
GESTOR_SECS=${BENCH_GESTOR_SECS:-65}
if [ "$QUICK" = 1 ]; then
	N_MSGS=2000 N_PENDING=1000 N_LAT=50 N_STORE=20000 N_CONNS=10
	N_GROUP_MSGS=100 N_MAIL=2000 N_CTL_ONE=50 N_CTL_BATCH=1000 FILE_MIB=128
	GESTOR_NS=${BENCH_GESTOR_NS:-200} GESTOR_SECS=${BENCH_GESTOR_SECS:-12}
fi

for f in "$P2PCHATD" "$P2PCHATCTL" "$BIN/bench_ctl" "$BIN/bench_tls" \
    "$BIN/bench_sqlite" "$BIN/bench_gestor" "$BIN/bench_group" \
    "$BIN/bench_mailbox" "$BIN/bench_wire"; do
	[ -x "$f" ] || { echo "run.sh: $f is missing; run 'make bench'" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "run.sh: jq is needed" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "run.sh: sqlite3 is needed" >&2; exit 1; }

mkdir -p "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/p2pchat-bench.XXXXXX")
chmod 700 "$TMP"
KEYS=$OUT/keys		# load-generator identities, kept between runs
mkdir -p "$KEYS"
chmod 700 "$KEYS"
SAMPLES=$TMP/samples.jsonl	# {"name":..,"value":..,"unit":..} per run
: >"$SAMPLES"
declare -A PIDS=() PORT_OF=()

log() { printf 'bench: %s\n' "$*" >&2; }

cleanup() {
	local name
	for name in "${!PIDS[@]}"; do
		kill -KILL "${PIDS[$name]}" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

fail() {
	local f
	log "FAIL: $*"
	for f in "$TMP"/*.log; do
		[ -e "$f" ] && { printf -- '--- %s\n' "$f" >&2; tail -n 20 "$f" >&2; }
	done
	exit 1
}

now_ns() { date +%s%N; }

# sample NAME VALUE UNIT: record one measurement.
sample() {
	jq -cn --arg n "$1" --argjson v "$2" --arg u "$3" \
	    '{name:$n, value:$v, unit:$u}' >>"$SAMPLES"
}

# ---------------------------------------------------------------- daemons

ctl() { local name=$1; shift; "$P2PCHATCTL" -c "$TMP/$name.conf" "$@"; }
field() { ctl "$1" status | awk -F'\t' -v k="$2" '$1 == k { print $2 }'; }

write_conf() {
	local name=$1 mode=$2 extra=${3:-}
	cat >"$TMP/$name.conf" <<CONF
mode = "$mode";
data_dir = "$TMP/$name";
control_socket = "$TMP/$name.ctl/ctl.sock";
listen = "127.0.0.1:${PORT_OF[$name]:-0}";
$extra
CONF
}

# wait_for WHAT SECONDS COMMAND...: poll (bounded) until COMMAND succeeds.
wait_for() {
	local what=$1 limit=$2 deadline
	shift 2
	deadline=$(( $(now_ns) + limit * 1000000000 ))
	until "$@" >/dev/null 2>&1; do
		[ "$(now_ns)" -lt "$deadline" ] || fail "timed out waiting for $what"
		sleep 0.02
	done
}

start() {
	local name=$1
	"$P2PCHATD" -c "$TMP/$name.conf" >>"$TMP/$name.log" 2>&1 &
	PIDS[$name]=$!
	wait_for "$name's control socket" 30 ctl "$name" version
}

stop() {
	local name=$1 pid=${PIDS[$1]:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "PIDS[$name]"
}

# The simulated peers all come from 127.0.0.x and log in together; the
# bench measures the steady state, not the abuse limits (issue 14), so
# those are raised past anything the load generator does.
gestor_limits() {
	printf '%s' "login_attempts_per_minute = 100000;" \
	    " login_attempts_per_user_per_minute = 1000000;" \
	    " login_attempts_per_address_per_minute = 1000000;" \
	    " lookups_per_minute = 1000000;"
}

start_gestor() {
	local name=$1
	write_conf "$name" gestor "${2:-}"
	start "$name"
	PORT_OF[$name]=$(field "$name" listen | sed 's/.*://')
	write_conf "$name" gestor "${2:-}"
}

start_peer() {
	local name=$1 gestor=$2
	write_conf "$name" peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[$gestor]}\" ]; };
${3:-}"
	start "$name"
}

register() {
	local f="$TMP/$1.password"
	( umask 077; printf 'pw-%s-%s\n' "$1" "$RANDOM$RANDOM" >"$f" )
	ctl "$1" register "$1" --password-file "$f" >/dev/null
	wait_for "$1 online" 20 sh -c "[ \"\$('$P2PCHATCTL' -c '$TMP/$1.conf' status | awk -F'\t' '\$1 == \"gestor_state\" { print \$2 }')\" = online ]"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# PSS and USS (private pages): RSS counts every shared library page.
pss_kib() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }
uss_kib() { awk '/^Private_(Clean|Dirty):/ { n += $2 } END { print n }' "/proc/$1/smaps_rollup"; }

# A fresh gestor and two registered, online peers alice and bob; with
# relay set, alice sends everything through the gestor's relay (its
# per-session byte rate raised out of the way: the relay's own cost is
# what is measured).
setup_pair() {
	local extra=""
	[ -z "${1:-}" ] || extra='relay = { use = "always"; };'
	rm -rf "$TMP"/g "$TMP"/alice "$TMP"/bob "$TMP"/*.ctl
	PORT_OF=()
	start_gestor g "relay = { listen = \"127.0.0.1:0\"; session_rate = 1073741824; };
limits = { $(gestor_limits) };"
	start_peer alice g "$extra"
	start_peer bob g "files = { accept_size = 4294967296L; };"
	register alice
	register bob
	# bob accepts alice: a stranger's messages are limited (message
	# requests), and bob never writes back.
	ctl bob lookup alice >/dev/null
	ctl bob trust alice >/dev/null
}

teardown() {
	local name
	for name in "${!PIDS[@]}"; do stop "$name"; done
}

sock() { printf '%s\n' "$TMP/$1.ctl/ctl.sock"; }

# ------------------------------------------------------------- benchmarks

bench_refs() {
	local r
	r=$("$BIN/bench_tls" -n 200000 -w 256 -s 200 "$TMP/tlskeys") ||
	    fail "bench_tls"
	sample ref_tls_records_per_s "$(jq .rate <<<"$r")" "records/s"
	rm -f "$TMP"/ref*.db*
	r=$("$BIN/bench_sqlite" -n 50000 -b 256 -y full rows "$TMP/ref.db") ||
	    fail "bench_sqlite rows"
	sample ref_sqlite_rows_per_s "$(jq .rate <<<"$r")" "rows/s"
	r=$("$BIN/bench_sqlite" -n 1000 -b 1 -y full rows "$TMP/ref1.db") ||
	    fail "bench_sqlite rows 1"
	sample ref_sqlite_rows_1_per_txn_per_s "$(jq .rate <<<"$r")" "rows/s"
	sample ref_sqlite_commit_p50_ms "$(jq .commit_p50_ms <<<"$r")" ms
	sample ref_sqlite_commit_p99_ms "$(jq .commit_p99_ms <<<"$r")" ms
	r=$("$BIN/bench_sqlite" -n 50000 -b 256 -y full store "$TMP/refs.db") ||
	    fail "bench_sqlite store"
	sample store_receive_per_s "$(jq .rate <<<"$r")" "rows/s"
	r=$("$BIN/bench_sqlite" -n 50000 -b 256 -y full ack "$TMP/refa.db") ||
	    fail "bench_sqlite ack"
	sample store_ack_per_s "$(jq .rate <<<"$r")" "rows/s"
	r=$("$BIN/bench_sqlite" -n 1000 -y full queue "$TMP/refq.db") ||
	    fail "bench_sqlite queue"
	sample store_queue_1_per_txn_per_s "$(jq .rate <<<"$r")" "rows/s"
}

# The mailbox at the gestor's store (SQLite, synchronous=full): seal and
# open at a peer, deposit, fetch and ack at the gestor, the time to drain
# N_MAIL waiting messages, bytes held per message (tests/bench/bench_mailbox.c).
bench_mailbox() {
	local r
	rm -rf "$TMP/mailbox"
	r=$("$BIN/bench_mailbox" -n "$N_MAIL" -s 200 "$TMP/mailbox") ||
	    fail "bench_mailbox"
	sample mailbox_seal_per_s "$(jq .seal_per_s <<<"$r")" "msg/s"
	sample mailbox_open_per_s "$(jq .open_per_s <<<"$r")" "msg/s"
	sample mailbox_deposit_per_s "$(jq .deposit_per_s <<<"$r")" "msg/s"
	sample mailbox_fetch_per_s "$(jq .fetch_per_s <<<"$r")" "msg/s"
	sample mailbox_ack_per_s "$(jq .ack_per_s <<<"$r")" "msg/s"
	sample mailbox_drain_secs "$(jq .drain_secs <<<"$r")" s
	sample mailbox_bytes_per_msg "$(jq .bytes_per_msg <<<"$r")" "B/msg"
	rm -rf "$TMP/mailbox"
}

# The mailbox end to end (issue 28), real daemons: alice's direct rate to
# bob first (bench_ctl feed, the comparison), then bob away: alice sends
# N_MAIL (one `send --batch`, 200-byte bodies) with mailbox.after = 0.2 s;
# the deposit rate is N_MAIL over the time from the batch to the last
# deposit at the gestor (its mail_deposits). bob starts: the time from his
# daemon's start to his login (gestor_state online; the fetch may have
# begun) and to the last message fetched and stored (his received), and
# the fetch rate over the latter. Bytes held at the gestor per message: its mail_bytes_held
# (blobs) and the growth of gestor.db (pages in use, WAL included) over
# N_MAIL.
gestor_db_bytes() {
	local q="SELECT (p.page_count - f.freelist_count) * s.page_size"
	q="$q FROM pragma_page_count p, pragma_freelist_count f, pragma_page_size s"
	sqlite3 "$TMP/g/gestor.db" "$q"
}
gstat_json() { ctl g --json stats | jq -r ".$1"; }

bench_mailbox_e2e() {
	local r t0 t1 d0 db0 db1 held
	rm -rf "$TMP"/g "$TMP"/alice "$TMP"/bob "$TMP"/*.ctl
	PORT_OF=()
	start_gestor g "limits = { $(gestor_limits) };
mailbox = { quota_messages = 1000000; quota_per_sender = 1000000;
    quota_bytes = 1073741824L; };"
	start_peer alice g "mailbox = { after = 0.2; };"
	start_peer bob g
	register alice
	register bob
	ctl bob lookup alice >/dev/null
	ctl bob trust alice >/dev/null
	r=$("$BIN/bench_ctl" feed "$(sock alice)" bob "$N_MAIL" 200 300) ||
	    fail "direct feed"
	sample mailbox_e2e_direct_msgs_per_s "$(jq .rate <<<"$r")" "msg/s"
	stop bob
	wait_for "bob offline" 20 sh -c "'$P2PCHATCTL' -c '$TMP/g.conf' lookup bob | grep -q '^online	offline\$'"
	d0=$(gstat_json mail_deposits)
	db0=$(gestor_db_bytes)
	head -c $((N_MAIL * 150)) /dev/urandom | base64 -w 200 |
	    head -n "$N_MAIL" >"$TMP/mail.in"
	[ "$(wc -l <"$TMP/mail.in")" = "$N_MAIL" ] || fail "mail.in"
	t0=$(now_ns)
	ctl alice send --batch bob <"$TMP/mail.in" >/dev/null || fail "send --batch"
	wait_for "$N_MAIL deposited" 600 sh -c "[ \"\$('$P2PCHATCTL' -c '$TMP/g.conf' --json stats | jq .mail_deposits)\" -ge $((d0 + N_MAIL)) ]"
	t1=$(now_ns)
	sample mailbox_e2e_deposit_per_s \
	    "$(jq -n "$N_MAIL / (($t1 - $t0) / 1e9)")" "msg/s"
	held=$(gstat_json mail_bytes_held)
	db1=$(gestor_db_bytes)
	sample mailbox_e2e_blob_bytes_per_msg \
	    "$(jq -n "$held / $N_MAIL")" "B/msg"
	sample mailbox_e2e_db_bytes_per_msg \
	    "$(jq -n "($db1 - $db0) / $N_MAIL")" "B/msg"
	[ "$(gstat_json mail_held)" = "$N_MAIL" ] ||
	    fail "the gestor holds $(gstat_json mail_held), not $N_MAIL"
	# bob's counters start at 0 with his daemon: received counts what
	# was fetched and stored.
	t0=$(now_ns)
	start bob
	wait_for "bob online" 60 sh -c "[ \"\$('$P2PCHATCTL' -c '$TMP/bob.conf' status | awk -F'\t' '\$1 == \"gestor_state\" { print \$2 }')\" = online ]"
	sample mailbox_e2e_login_secs "$(jq -n "($(now_ns) - $t0) / 1e9")" s
	wait_for "bob stored $N_MAIL" 600 sh -c "[ \"\$('$P2PCHATCTL' -c '$TMP/bob.conf' --json stats | jq .received)\" -ge $N_MAIL ]"
	t1=$(now_ns)
	sample mailbox_e2e_login_fetch_secs "$(jq -n "($t1 - $t0) / 1e9")" s
	sample mailbox_e2e_fetch_per_s \
	    "$(jq -n "$N_MAIL / (($t1 - $t0) / 1e9)")" "msg/s"
	# alice is online: her link races the fetch and may deliver some
	# first (their deposits withdrawn): how many came by the mailbox.
	sample mailbox_e2e_fetched_msgs "$(ctl bob --json stats | jq .mail_fetched)" msgs
	teardown
}

bench_throughput() {
	local r a0 a1 b0 b1
	setup_pair
	a0=$(cpu_secs "${PIDS[alice]}")
	b0=$(cpu_secs "${PIDS[bob]}")
	r=$("$BIN/bench_ctl" feed "$(sock alice)" bob "$N_MSGS" 200 300) ||
	    fail "feed"
	a1=$(cpu_secs "${PIDS[alice]}")
	b1=$(cpu_secs "${PIDS[bob]}")
	sample throughput_msgs_per_s "$(jq .rate <<<"$r")" "msg/s"
	sample send_accept_per_s "$(jq .accept_rate <<<"$r")" "msg/s"
	# The event loops' CPU per message over the feed (issue 31).
	sample sender_cpu_us_per_msg \
	    "$(jq -n "($a1 - $a0) * 1e6 / $N_MSGS")" "us/msg"
	sample recipient_cpu_us_per_msg \
	    "$(jq -n "($b1 - $b0) * 1e6 / $N_MSGS")" "us/msg"
	[ "$(ctl bob --json stats | jq .received)" = "$N_MSGS" ] ||
	    fail "bob received $(ctl bob --json stats | jq .received), not $N_MSGS"
	teardown
}

bench_latency() {
	local r
	setup_pair
	# One message first so that the connection is up, as in a chat.
	ctl alice send --wait=10 bob warm-up >/dev/null || fail "warm-up"
	r=$("$BIN/bench_ctl" latency "$(sock alice)" "$(sock bob)" bob "$N_LAT" \
	    "$LAT_INTERVAL_MS") || fail "latency"
	sample latency_p50_ms "$(jq .p50_ms <<<"$r")" ms
	sample latency_p99_ms "$(jq .p99_ms <<<"$r")" ms
	sample latency_max_ms "$(jq .max_ms <<<"$r")" ms
	teardown
}

# FILE_MIB over the time from T0 to T1 (ns).
mib_per_s() {
	jq -n --argjson a "$1" --argjson b "$2" --argjson m "$FILE_MIB" \
	    '$m / (($b - $a) / 1e9)'
}

# A FILE_MIB file from alice to bob (issue 29), direct then relayed (the
# relay's session_rate is raised out of the way in setup_pair): the rate
# of the transfer (after send-file stored it) beside the raw TLS rate of
# 64 KiB binary records in the same run (bench_tls -b: TLS and framing,
# no JSON; the JSON records' rate, the reference before binary chunks,
# beside it), both daemons' highest RSS during it, and the latency of
# chat messages sent meanwhile.
bench_files() {
	local size id t0 t1 t2 maxa maxb a b r lat route
	size=$((FILE_MIB * 1048576))
	r=$("$BIN/bench_tls" -b -n 4000 -w 64 -s 65536 "$TMP/tlskeys") ||
	    fail "bench_tls -b 64 KiB"
	sample ref_tls_mib_per_s "$(jq '.rate * 65536 / 1048576' <<<"$r")" "MiB/s"
	r=$("$BIN/bench_tls" -n 4000 -w 64 -s 65536 "$TMP/tlskeys") ||
	    fail "bench_tls 64 KiB"
	sample ref_tls_json_mib_per_s "$(jq '.rate * 65536 / 1048576' <<<"$r")" "MiB/s"
	head -c "$size" /dev/urandom >"$TMP/file.bin"
	for route in direct relay; do
		if [ "$route" = relay ]; then setup_pair relay; else setup_pair; fi
		ctl alice send --wait=10 bob warm-up >/dev/null || fail "files warm-up"
		t0=$(now_ns)
		id=$(ctl alice send-file bob "$TMP/file.bin") || fail "send-file"
		t1=$(now_ns)
		lat=""
		if [ "$route" = direct ]; then
			"$BIN/bench_ctl" latency "$(sock alice)" "$(sock bob)" bob 50 \
			    100 >"$TMP/files_lat.json" &
			lat=$!
		fi
		maxa=0 maxb=0
		until ctl bob files alice | awk -F'\t' -v id="$id" \
		    '$5 == id && $4 == "received" { f = 1 } END { exit !f }'; do
			a=$(rss_kib "${PIDS[alice]}") b=$(rss_kib "${PIDS[bob]}")
			[ "$a" -le "$maxa" ] || maxa=$a
			[ "$b" -le "$maxb" ] || maxb=$b
			sleep 0.1
		done
		t2=$(now_ns)
		if [ -n "$lat" ]; then
			wait "$lat" || fail "latency during the transfer"
			sample files_chat_latency_p50_ms "$(jq .p50_ms "$TMP/files_lat.json")" ms
			sample files_chat_latency_p99_ms "$(jq .p99_ms "$TMP/files_lat.json")" ms
		fi
		if [ "$route" = direct ]; then
			sample files_store_mib_per_s "$(mib_per_s "$t0" "$t1")" "MiB/s"
			sample files_mib_per_s "$(mib_per_s "$t1" "$t2")" "MiB/s"
			sample files_rss_max_sender_kib "$maxa" KiB
			sample files_rss_max_recipient_kib "$maxb" KiB
		else
			sample files_relay_mib_per_s "$(mib_per_s "$t1" "$t2")" "MiB/s"
		fi
		teardown
	done
	rm -f "$TMP/file.bin"
}

# CPU seconds a process's main thread (the event loop) has used: the
# scheduler's nanosecond count where the kernel keeps one, else clock ticks.
cpu_secs() {
	if [ -r "/proc/$1/schedstat" ]; then
		awk '{ printf "%.6f\n", $1 / 1e9 }' "/proc/$1/schedstat"
	else
		awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' \
		    "/proc/$1/stat"
	fi
}

# The same throughput and latency runs with alice relayed through the
# gestor, and the gestor's CPU per relayed MiB.
bench_relay() {
	local r c0 c1 b0 b1
	setup_pair relay
	ctl alice send --wait=10 bob warm-up >/dev/null || fail "relay warm-up"
	grep -q "connected to bob at relay" "$TMP/alice.log" || fail "alice not relayed"
	c0=$(cpu_secs "${PIDS[g]}")
	b0=$(ctl g --json stats | jq .relay_bytes)
	r=$("$BIN/bench_ctl" feed "$(sock alice)" bob "$N_MSGS" 200 300) ||
	    fail "relayed feed"
	c1=$(cpu_secs "${PIDS[g]}")
	b1=$(ctl g --json stats | jq .relay_bytes)
	sample relay_throughput_msgs_per_s "$(jq .rate <<<"$r")" "msg/s"
	sample relay_gestor_cpu_ms_per_mib \
	    "$(jq -n --argjson c0 "$c0" --argjson c1 "$c1" --argjson b "$((b1 - b0))" \
	    'if $b > 0 then ($c1 - $c0) * 1000 / ($b / 1048576) else 0 end')" "ms/MiB"
	sample relay_bytes_per_msg "$(jq -n --argjson b "$((b1 - b0))" \
	    --argjson n "$N_MSGS" '$b / $n')" "B/msg"
	[ "$(ctl bob --json stats | jq .received)" -ge "$N_MSGS" ] ||
	    fail "bob received $(ctl bob --json stats | jq .received) through the relay"
	r=$("$BIN/bench_ctl" latency "$(sock alice)" "$(sock bob)" bob "$N_LAT" \
	    "$LAT_INTERVAL_MS") || fail "relayed latency"
	sample relay_latency_p50_ms "$(jq .p50_ms <<<"$r")" ms
	sample relay_latency_p99_ms "$(jq .p99_ms <<<"$r")" ms
	teardown
}

# Queue N_PENDING for bob while he is down; with N_CONNS open peer
# connections into alice, measure her RSS; then time bob's start to the
# last delivery.
bench_flush() {
	local r last t0 wpid pid
	setup_pair
	sample rss_idle_peer_kib "$(rss_kib "${PIDS[alice]}")" KiB
	sample pss_idle_peer_kib "$(pss_kib "${PIDS[alice]}")" KiB
	sample uss_idle_peer_kib "$(uss_kib "${PIDS[alice]}")" KiB
	stop bob
	r=$("$BIN/bench_ctl" feed "$(sock alice)" bob "$N_PENDING" 200 0) ||
	    fail "feed pending"
	last=$(jq -r .last_id <<<"$r")
	# The peer checks at most 10 unknown keys a minute per source address
	# (PM_VERIFY_BURST, issue 14): 8 connections per 127.0.0.x source.
	"$BIN/bench_gestor" peers --db "$TMP/g/gestor.db" --keys "$KEYS" \
	    --n "$N_CONNS" --sources $(((N_CONNS + 7) / 8)) --addr "127.0.0.1:$(field alice listen | sed 's/.*://')" \
	    --hold 60 >"$TMP/peers.out" 2>"$TMP/peers.log" &
	pid=$!
	wait_for "$N_CONNS peer connections" 60 grep -q ready "$TMP/peers.out"
	sample rss_peer_pending_conns_kib "$(rss_kib "${PIDS[alice]}")" KiB
	sample uss_peer_pending_conns_kib "$(uss_kib "${PIDS[alice]}")" KiB
	[ "$(ctl alice --json stats | jq .connections_in)" -ge "$N_CONNS" ] ||
	    fail "alice has $(ctl alice --json stats | jq .connections_in) connections in"
	kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
	"$BIN/bench_ctl" wait "$(sock alice)" "$last" 120 >"$TMP/wait.out" &
	wpid=$!
	sleep 0.2	# the waiter is registered
	t0=$(now_ns)
	start bob
	wait "$wpid" || fail "pending messages not delivered"
	sample pending_flush_secs "$(jq --argjson t0 "$t0" '(.wall_ns - $t0) / 1e9' \
	    "$TMP/wait.out")" s
	teardown
}

# The gestor and the load generator each hold n connections: raise the
# descriptor limit (the hard one only with the privilege to), or skip n.
# The gestor's budget, which p2pchatd checks at start, is max_connections
# (n + 1000) + 256 control clients + 64; its relay is off for the load.
nofile_for() {
	local need=$(( $1 + 1400 )) hard
	hard=$(ulimit -Hn)
	if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
		ulimit -Hn "$need" 2>/dev/null || return 1
	fi
	[ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$need" ] &&
	    ulimit -Sn "$need"
	return 0
}

bench_gestor() {
	local n=$1 r
	if ! nofile_for "$n"; then
		log "gestor load, $n peers: SKIPPED: needs $(( n + 1400 )) descriptors" \
		    "per process, the hard limit is $(ulimit -Hn) and cannot be raised here"
		return 0
	fi
	rm -rf "$TMP/gl" "$TMP/gl.ctl"
	PORT_OF=()
	start_gestor gl "limits = { max_connections = $(( n + 1000 )); $(gestor_limits) };
relay = { listen = \"\"; };"
	r=$("$BIN/bench_gestor" load --addr "127.0.0.1:${PORT_OF[gl]}" \
	    --db "$TMP/gl/gestor.db" --keys "$KEYS" --n "$n" --interval 10 \
	    --lookups 1 --duration "$GESTOR_SECS" --pid "${PIDS[gl]}" \
	    2>>"$TMP/loadgen.log") || fail "bench_gestor load $n: $r"
	printf '%s\n' "$r" >>"$OUT/gestor_runs.jsonl"
	sample "gestor_${n}_cpu_pct" "$(jq '.cpu_share * 100' <<<"$r")" "% of a core"
	sample "gestor_${n}_rss_mib" "$(jq '.rss_kib / 1024' <<<"$r")" MiB
	sample "gestor_${n}_lookup_p50_ms" "$(jq .lookup_p50_ms <<<"$r")" ms
	sample "gestor_${n}_lookup_p99_ms" "$(jq .lookup_p99_ms <<<"$r")" ms
	sample "gestor_${n}_hb_p99_ms" "$(jq .hb_p99_ms <<<"$r")" ms
	sample "gestor_${n}_kib_per_peer" \
	    "$(jq '(.rss_kib - .rss_idle_kib) / .peers' <<<"$r")" KiB
	sample "gestor_${n}_lookups_per_s" "$(jq '.lookups / .window_secs' <<<"$r")" "/s"
	sample "gestor_${n}_setup_secs" "$(jq .setup_secs <<<"$r")" s
	sample "gestor_${n}_setup_cpu_ms_per_peer" \
	    "$(jq '.setup_cpu_secs * 1000 / .peers' <<<"$r")" ms
	stop gl
}

# Data directories for the start-up benchmark, made once per suite run.
make_startup_dirs() {
	local name
	for name in sp_empty sp_big; do
		write_conf "$name" peer 'gestor = { addresses = [ "127.0.0.1:9" ]; };'
	done
	for name in sg_empty sg_big; do
		write_conf "$name" gestor ""
	done
	for name in sp_empty sp_big sg_empty sg_big; do
		"$BIN/bench_ctl" startup "$(sock $name)" "$TMP/$name.log" \
		    "$P2PCHATD" -c "$TMP/$name.conf" >/dev/null || fail "first start of $name"
	done
	log "filling a $N_STORE-message peer store"
	sqlite3 "$TMP/sp_big/peer.db" <<SQL || fail "filling the peer store"
BEGIN;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $N_STORE)
INSERT INTO messages (id, peer, direction, body, ts_sent, ts_received, state)
SELECT printf('%032x', i), 'user' || (i % 100), CASE i % 2 WHEN 0 THEN 'in' ELSE 'out' END,
    'message number ' || i || ' of the benchmark store, some words to index ' || (i * 7919 % 100003),
    1700000000000 + i * 1000, 1700000000500 + i * 1000,
    CASE i % 2 WHEN 0 THEN 'received' ELSE 'delivered' END FROM c;
INSERT INTO events (type, data) SELECT CASE direction WHEN 'in' THEN 'message' ELSE 'delivered' END,
    json_object('id', id, 'user', peer, 'ts', ts_sent) FROM messages ORDER BY seq;
INSERT INTO chats (peer, last_activity) SELECT peer, max(ts_sent) FROM messages GROUP BY peer;
INSERT INTO contacts (name) SELECT peer FROM chats;
COMMIT;
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
SQL
	# The daemon indexes at commit (schema 3); rebuild did it here.
	if [ -n "$(sqlite3 "$TMP/sp_big/peer.db" \
	    "SELECT name FROM sqlite_master WHERE name = 'fts_pending'")" ]; then
		sqlite3 "$TMP/sp_big/peer.db" "DELETE FROM fts_pending" ||
		    fail "clearing fts_pending"
	fi
	log "filling a $N_STORE-user gestor store"
	sqlite3 "$TMP/sg_big/gestor.db" <<SQL || fail "filling the gestor store"
BEGIN;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $N_STORE)
INSERT INTO users (name, hash, fingerprint, created, last_seen, addr, port)
SELECT printf('u%07d', i), '!bench', 'sha256:' || printf('%064x', i), 1700000000,
    1700000000 + i, '127.0.0.1', 7001 FROM c;
COMMIT;
SQL
}

bench_startup() {
	local name r
	for name in sp_empty sp_big sg_empty sg_big; do
		r=$("$BIN/bench_ctl" startup "$(sock $name)" "$TMP/$name.log" \
		    "$P2PCHATD" -c "$TMP/$name.conf") || fail "start-up of $name"
		sample "startup_${name}_ms" "$(jq '.ready_secs * 1000' <<<"$r")" ms
	done
}

# ------------------------------------------------------------------ report

# The table: one line per measurement, median min max over the runs.
summarise() {
	jq -s 'group_by(.name) | map({name: .[0].name, unit: .[0].unit,
	    samples: map(.value), n: length,
	    median: (map(.value) | sort | .[(length - 1) / 2 | floor]),
	    min: (map(.value) | min), max: (map(.value) | max)})
	    | INDEX(.name)' "$SAMPLES"
}

# The issue's targets, read from the medians (met: true/false/null).
targets() {
	jq '. as $r |
	def m(n): $r[n].median // null;
	def t(desc; v; op; lim): {target: desc, value: v, limit: lim,
	    met: (if v == null then null elif op == "<" then v < lim else v >= lim end)};
	[
	  t("throughput >= 50% of the lower reference (TLS, SQLite rows)";
	    (if m("throughput_msgs_per_s") and m("ref_tls_records_per_s") and m("ref_sqlite_rows_per_s")
	     then m("throughput_msgs_per_s") / ([m("ref_tls_records_per_s"), m("ref_sqlite_rows_per_s")] | min)
	     else null end); ">="; 0.5),
	  t("latency p99 < 5 ms"; m("latency_p99_ms"); "<"; 5),
	  t("relayed throughput >= 50% of direct";
	    (if m("relay_throughput_msgs_per_s") and m("throughput_msgs_per_s")
	     then m("relay_throughput_msgs_per_s") / m("throughput_msgs_per_s") else null end); ">="; 0.5),
	  t("relayed latency p99 < 2x direct p99";
	    (if m("relay_latency_p99_ms") and m("latency_p99_ms")
	     then m("relay_latency_p99_ms") / m("latency_p99_ms") else null end); "<"; 2),
	  t("10 000 pending flushed < 1 s"; m("pending_flush_secs"); "<"; 1),
	  t("mailbox: 10 000 waiting fetched on login < 2 s"; m("mailbox_e2e_login_fetch_secs"); "<"; 2),
	  t("gestor 10 000 peers: CPU < 15% of a core"; m("gestor_10000_cpu_pct"); "<"; 15),
	  t("gestor 10 000 peers: p99 lookup < 10 ms"; m("gestor_10000_lookup_p99_ms"); "<"; 10),
	  t("gestor 10 000 peers: RSS < 64 MiB"; m("gestor_10000_rss_mib"); "<"; 64),
	  t("gestor 100 000 peers: CPU < 50% of a core"; m("gestor_100000_cpu_pct"); "<"; 50),
	  t("gestor 100 000 peers: p99 lookup < 10 ms"; m("gestor_100000_lookup_p99_ms"); "<"; 10),
	  t("gestor 100 000 peers: <= 16 KiB per connected peer"; m("gestor_100000_kib_per_peer"); "<"; 16.01),
	  t("gestor 100 000 peers: all online < 120 s"; m("gestor_100000_setup_secs"); "<"; 120),
	  t("idle peer RSS < 8 MiB"; (if m("rss_idle_peer_kib") then m("rss_idle_peer_kib") / 1024 else null end); "<"; 8),
	  t("idle peer private memory (USS) < 2 MiB"; (if m("uss_idle_peer_kib") then m("uss_idle_peer_kib") / 1024 else null end); "<"; 2),
	  t("peer start-up, 1 000 000-message store < 200 ms"; m("startup_sp_big_ms"); "<"; 200),
	  t("2 gestors on PostgreSQL, 10 000 peers: p99 lookup < 10 ms"; m("cluster_pg_lookup_p99_ms"); "<"; 10),
	  t("2 gestors on PostgreSQL: cross-gestor presence p99 < 10 ms"; m("cluster_presence_p99_ms"); "<"; 10),
	  t("file transfer >= 50% of the raw TLS rate";
	    (if m("files_mib_per_s") and m("ref_tls_mib_per_s")
	     then m("files_mib_per_s") / m("ref_tls_mib_per_s") else null end); ">="; 0.5),
	  t("file transfer: RSS of both daemons < 32 MiB";
	    (if m("files_rss_max_sender_kib") and m("files_rss_max_recipient_kib")
	     then ([m("files_rss_max_sender_kib"), m("files_rss_max_recipient_kib")] | max) / 1024
	     else null end); "<"; 32),
	  t("chat during a file transfer: p99 < 50 ms"; m("files_chat_latency_p99_ms"); "<"; 50),
	  t("group fan-out deliveries/s >= 50% of one-to-one msg/s";
	    (if m("group_fanout_deliveries_per_s") and m("group_one_to_one_msgs_per_s")
	     then m("group_fanout_deliveries_per_s") / m("group_one_to_one_msgs_per_s") else null end); ">="; 0.5)
	]'
}

print_table() {
	local results=$1
	printf '\n%-36s %12s %12s %12s  %s\n' measurement median min max unit
	jq -r 'to_entries[] | .value | [.name, .median, .min, .max, .unit] | @tsv' \
	    "$results" | while IFS=$'\t' read -r name med min max unit; do
		printf '%-36s %12.2f %12.2f %12.2f  %s\n' "$name" "$med" "$min" "$max" "$unit"
	done
	printf '\n%-60s %10s %8s  %s\n' target value limit met
	jq -r '.[] | [.target, (.value // "n/a"), .limit, (if .met == null then "n/a" else .met end)] | @tsv' \
	    "$OUT/targets.json" | while IFS=$'\t' read -r t v l m; do
		[[ "$v" =~ ^[0-9.e+-]+$ ]] && v=$(printf '%.3f' "$v")
		printf '%-60s %10s %8s  %s\n' "$t" "$v" "$l" "$m"
	done
}

# Fan-out to a GROUP_N-member group (issue 27): alice is a real daemon,
# the members are in-process peers (bench_group: accounts, listeners and
# acks in one process, as bench_gestor makes its peers). Measured in the
# same run: deliveries per second to every member (messages per second
# times GROUP_N) beside one-to-one messages per second to bob, and alice's
# store growth (pages in use in peer.db, WAL included) per group message
# and per one-to-one message.
store_bytes() {
	sqlite3 "$TMP/$1/peer.db" "SELECT (p.page_count - f.freelist_count) *"\
" s.page_size FROM pragma_page_count p, pragma_freelist_count f,"\
" pragma_page_size s"
}

bench_group() {
	local r b0 b1 members
	setup_pair
	"$BIN/bench_group" members --addr "127.0.0.1:${PORT_OF[g]}" \
	    --db "$TMP/g/gestor.db" --keys "$KEYS" --n "$GROUP_N" --hold 900 \
	    >"$TMP/members.out" 2>"$TMP/members.log" &
	PIDS[members]=$!
	wait_for "the group's members online" 120 grep -q ready "$TMP/members.out"
	members=$(seq -f 'g%05g' 0 $((GROUP_N - 1)))
	# shellcheck disable=SC2086 # one word per member
	ctl alice group create fan $members >/dev/null || fail "group create"
	wait_for "the list at every member" 120 sh -c \
	    "[ -z \"\$('$P2PCHATCTL' -c '$TMP/alice.conf' pending)\" ]"
	b0=$(store_bytes alice)
	r=$("$BIN/bench_ctl" feed "$(sock alice)" group:fan "$N_GROUP_MSGS" 200 \
	    600) || fail "group feed"
	b1=$(store_bytes alice)
	sample group_fanout_deliveries_per_s \
	    "$(jq --argjson n "$GROUP_N" '.rate * $n' <<<"$r")" "deliveries/s"
	sample group_msgs_per_s "$(jq .rate <<<"$r")" "msg/s"
	sample group_store_bytes_per_msg \
	    "$(( (b1 - b0) / N_GROUP_MSGS ))" "bytes"
	b0=$(store_bytes alice)
	r=$("$BIN/bench_ctl" feed "$(sock alice)" bob "$N_GROUP_MSGS" 200 300) ||
	    fail "one-to-one feed"
	b1=$(store_bytes alice)
	sample group_one_to_one_msgs_per_s "$(jq .rate <<<"$r")" "msg/s"
	sample one_to_one_store_bytes_per_msg \
	    "$(( (b1 - b0) / N_GROUP_MSGS ))" "bytes"
	teardown
}

# Sends per second from a shell script through p2pchatctl (issue 31):
# one process per message, beside one `send --batch` for many; the time
# until every id is printed (stored at alice, not yet delivered).
bench_ctlsend() {
	local t0 t1 i
	setup_pair
	ctl alice send --wait=10 bob warm-up >/dev/null || fail "warm-up"
	t0=$(now_ns)
	for i in $(seq 1 "$N_CTL_ONE"); do
		ctl alice send bob "one process, message $i" >/dev/null ||
		    fail "send $i"
	done
	t1=$(now_ns)
	sample ctl_send_one_process_per_s \
	    "$(jq -n "$N_CTL_ONE / (($t1 - $t0) / 1e9)")" "msg/s"
	seq 1 "$N_CTL_BATCH" | sed 's/^/one batch, message /' >"$TMP/batch.in"
	t0=$(now_ns)
	ctl alice send --batch bob <"$TMP/batch.in" >"$TMP/batch.ids" ||
	    fail "send --batch"
	t1=$(now_ns)
	[ "$(wc -l <"$TMP/batch.ids")" = "$N_CTL_BATCH" ] ||
	    fail "send --batch printed $(wc -l <"$TMP/batch.ids") ids"
	sample ctl_send_batch_per_s \
	    "$(jq -n "$N_CTL_BATCH / (($t1 - $t0) / 1e9)")" "msg/s"
	teardown
}

# Reading one hot frame (issue 31): jansson's tree and wire_parse beside
# the hot reader (daemon/wire_hot.c), alternating in one process.
bench_wire() {
	local r
	r=$("$BIN/bench_wire" -n 200000 -s 200) || fail "bench_wire"
	sample wire_msg_jansson_ns "$(jq .msg_jansson_ns <<<"$r")" "ns/frame"
	sample wire_msg_hot_ns "$(jq .msg_hot_ns <<<"$r")" "ns/frame"
	sample wire_ack_jansson_ns "$(jq .ack_jansson_ns <<<"$r")" "ns/frame"
	sample wire_ack_hot_ns "$(jq .ack_hot_ns <<<"$r")" "ns/frame"
	sample wire_acks_jansson_ns_per_id "$(jq .acks_jansson_ns_per_id <<<"$r")" "ns/id"
	sample wire_acks_hot_ns_per_id "$(jq .acks_hot_ns_per_id <<<"$r")" "ns/id"
	sample wire_send_jansson_ns "$(jq .send_jansson_ns <<<"$r")" "ns/line"
	sample wire_send_hot_ns "$(jq .send_hot_ns <<<"$r")" "ns/line"
}

# ------------------------------------------------------------------- main

on() { [[ " $ONLY " == *" $1 "* ]]; }

: >"$OUT/gestor_runs.jsonl"
: >"$OUT/cluster_runs.jsonl"
. "$(dirname "$0")/cluster.sh"
mkdir -p "$TMP/tlskeys" && chmod 700 "$TMP/tlskeys"
if on startup; then make_startup_dirs; fi
for run in $(seq 1 "$RUNS"); do
	log "run $run of $RUNS"
	if on refs; then log "references"; bench_refs; fi
	if on throughput; then log "throughput"; bench_throughput; fi
	if on latency; then log "latency"; bench_latency; fi
	if on relay; then log "relayed throughput and latency"; bench_relay; fi
	if on flush || on memory; then log "pending flush and memory"; bench_flush; fi
	if on startup; then log "start-up"; bench_startup; fi
	if on mailbox; then log "mailbox ($N_MAIL messages)"; bench_mailbox; fi
	if on mailbox_e2e; then log "mailbox end to end ($N_MAIL messages)"; bench_mailbox_e2e; fi
	if on gestor; then
		for n in $GESTOR_NS; do log "gestor load, $n peers"; bench_gestor "$n"; done
	fi
	if on cluster; then log "two gestors on PostgreSQL, $CLUSTER_N peers"; bench_cluster; fi
	if on group; then log "group fan-out, $GROUP_N members"; bench_group; fi
	if on ctlsend; then log "sends through p2pchatctl"; bench_ctlsend; fi
	if on wire; then log "reading hot frames"; bench_wire; fi
	if on files; then log "a $FILE_MIB MiB file, direct and relayed"; bench_files; fi
done

summarise >"$TMP/results.json"
targets <"$TMP/results.json" >"$OUT/targets.json"
jq -n --slurpfile r "$TMP/results.json" --slurpfile t "$OUT/targets.json" \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg kernel "$(uname -r)" \
    --arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
    --argjson nproc "$(nproc)" --argjson runs "$RUNS" --argjson quick "$QUICK" \
    --arg commit "$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    '{date: $date, commit: $commit, machine: {cpu: $cpu, nproc: $nproc, kernel: $kernel},
      runs: $runs, quick: ($quick == 1), results: $r[0], targets: $t[0]}' >"$OUT/results.json"
print_table "$TMP/results.json"
log "wrote $OUT/results.json"
