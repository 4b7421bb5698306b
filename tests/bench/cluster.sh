# make bench, part "cluster" (sourced by tests/bench/run.sh): the gestor
# load benchmark against two gestors sharing one throwaway PostgreSQL
# (tests/pg/pgtmp.sh: Unix socket only), N peers spread over them, beside
# the same load on one gestor on SQLite in the same run; presence across
# the two gestors under that load (bench_presence); CPU of each gestor and
# of PostgreSQL. Skipped, with a message, where PostgreSQL cannot run.

PGTMP_SH=$(cd "$(dirname "${BASH_SOURCE[0]}")/../pg" && pwd)/pgtmp.sh
CLUSTER_N=${BENCH_CLUSTER_N:-10000}
[ "$QUICK" = 1 ] && CLUSTER_N=${BENCH_CLUSTER_N:-400}

# CPU seconds used so far by every process of the database's owner.
pg_cpu_ticks() {
	local owner=postgres
	[ "$(id -u)" = 0 ] || owner=$(id -un)
	ps -u "$owner" -o pid= -o comm= | awk '$2 ~ /^postgres/ { print $1 }' |
	    while read -r pid; do
		awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || true
	done | awk '{ s += $1 } END { print s + 0 }'
}

# cluster_load NAME FIRST N DB: one load generator against gestor NAME.
cluster_load() {
	"$BIN/bench_gestor" load --addr "127.0.0.1:${PORT_OF[$1]}" \
	    --db "$4" --keys "$KEYS" --n "$3" --first "$2" \
	    --lookup-range "$CLUSTER_N" --interval 10 --lookups 1 \
	    --duration "$GESTOR_SECS" --pid "${PIDS[$1]}" 2>>"$TMP/loadgen.log"
}

bench_cluster() {
	local n=$CLUSTER_N half ci pgtop pg r ra rb rp t0 t1 hz rc=0
	if [ ! -x "$BIN/bench_presence" ]; then
		log "cluster: SKIPPED: p2pchatd built without PostgreSQL"
		return 0
	fi
	if ! nofile_for "$n"; then
		log "cluster: SKIPPED: needs $(( n + 1400 )) descriptors per process"
		return 0
	fi
	half=$(( n / 2 ))
	# The server runs as another user: its directory is outside $TMP.
	pgtop=$(mktemp -d /tmp/p2pchat-benchpg.XXXXXX)
	chmod 755 "$pgtop"
	pg=$pgtop/db
	rm -rf "$TMP/cs" "$TMP/cs.ctl" "$TMP/ca" "$TMP/ca.ctl" "$TMP/cb" "$TMP/cb.ctl"
	ci=$("$PGTMP_SH" start "$pg" 2>>"$TMP/pg.log") || rc=$?
	if [ "$rc" = 77 ]; then
		log "cluster: SKIPPED: PostgreSQL cannot run here"
		rm -rf "$pgtop"
		return 0
	fi
	[ "$rc" = 0 ] || fail "cannot start PostgreSQL: $(tail -n 5 "$TMP/pg.log")"
	CLUSTER_PG=$pg
	trap 'cluster_cleanup; cleanup' EXIT
	PORT_OF=()

	# One gestor on SQLite, the whole load. The simulated peers come from
	# a few loopback addresses: the per-address limits would refuse them.
	local lim="limits = { max_connections = $(( n + 1000 ));
  login_attempts_per_minute = 100000; login_attempts_per_user_per_minute = 1000000;
  login_attempts_per_address_per_minute = 1000000; lookups_per_minute = 1000000;
  watch_names_per_hour = 100000000; };
relay = { listen = \"\"; };"
	start_gestor cs "$lim"
	r=$("$BIN/bench_gestor" load --addr "127.0.0.1:${PORT_OF[cs]}" \
	    --db "$TMP/cs/gestor.db" --keys "$KEYS" --n "$n" --interval 10 \
	    --lookups 1 --duration "$GESTOR_SECS" --pid "${PIDS[cs]}" \
	    2>>"$TMP/loadgen.log") || fail "cluster: sqlite load: $r"
	sample "cluster_sqlite_cpu_pct" "$(jq '.cpu_share * 100' <<<"$r")" "% of a core"
	sample "cluster_sqlite_lookup_p50_ms" "$(jq .lookup_p50_ms <<<"$r")" ms
	sample "cluster_sqlite_lookup_p99_ms" "$(jq .lookup_p99_ms <<<"$r")" ms
	stop cs

	# Two gestors on PostgreSQL, the same accounts, half the peers each.
	local pgconf="storage = { backend = \"postgresql\"; conninfo = \"$ci\"; };
$lim"
	start_gestor ca "$pgconf cluster = { name = \"ca\"; };"
	mkdir -p -m 700 "$TMP/cb"
	cp -p "$TMP/ca/identity.key" "$TMP/cb/identity.key"
	start_gestor cb "$pgconf cluster = { name = \"cb\"; };"
	sqlite3 -csv "$TMP/cs/gestor.db" \
	    "SELECT name, hash, fingerprint, created FROM users" |
	    "$PGTMP_SH" sql "$pg" "\\copy users (name, hash, fingerprint, created) FROM STDIN WITH (FORMAT csv)" \
	    >/dev/null || fail "cluster: copying the accounts"
	for x in a b; do
		sqlite3 "$TMP/scratch_$x.db" "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, hash TEXT, fingerprint TEXT, created INTEGER)"
	done
	hz=$(getconf CLK_TCK)
	t0=$(pg_cpu_ticks)
	cluster_load ca 0 "$half" "$TMP/scratch_a.db" >"$TMP/ra.json" &
	local pa=$!
	cluster_load cb "$half" "$half" "$TMP/scratch_b.db" >"$TMP/rb.json" &
	local pb=$!
	# Presence across the gestors, under the load once everyone is on.
	wait_for "cluster peers online" 300 cluster_online "$n" "$pa" "$pb"
	rp=$("$BIN/bench_presence" --at "127.0.0.1:${PORT_OF[ca]}" \
	    --watch "127.0.0.1:${PORT_OF[cb]}" --conninfo "$ci" --keys "$KEYS" \
	    --n 200 2>>"$TMP/loadgen.log") || fail "cluster: bench_presence: $rp"
	wait "$pa" || fail "cluster: load on ca: $(cat "$TMP/ra.json")"
	wait "$pb" || fail "cluster: load on cb: $(cat "$TMP/rb.json")"
	t1=$(pg_cpu_ticks)
	ra=$(cat "$TMP/ra.json") rb=$(cat "$TMP/rb.json")
	printf '%s\n%s\n%s\n' "$ra" "$rb" "$rp" >>"$OUT/cluster_runs.jsonl"
	sample "cluster_pg_a_cpu_pct" "$(jq '.cpu_share * 100' <<<"$ra")" "% of a core"
	sample "cluster_pg_b_cpu_pct" "$(jq '.cpu_share * 100' <<<"$rb")" "% of a core"
	sample "cluster_postgres_cpu_pct" "$(jq -n --argjson d "$(( t1 - t0 ))" \
	    --argjson hz "$hz" --argjson w "$(jq .window_secs <<<"$ra")" \
	    '$d / $hz / ($w + 10) * 100')" "% of a core"
	sample "cluster_pg_lookup_p50_ms" "$(jq -n --argjson a "$ra" --argjson b "$rb" \
	    '[$a.lookup_p50_ms, $b.lookup_p50_ms] | max')" ms
	sample "cluster_pg_lookup_p99_ms" "$(jq -n --argjson a "$ra" --argjson b "$rb" \
	    '[$a.lookup_p99_ms, $b.lookup_p99_ms] | max')" ms
	sample "cluster_pg_hb_p99_ms" "$(jq -n --argjson a "$ra" --argjson b "$rb" \
	    '[$a.hb_p99_ms, $b.hb_p99_ms] | max')" ms
	sample "cluster_presence_p50_ms" "$(jq .online_p50_ms <<<"$rp")" ms
	sample "cluster_presence_p99_ms" "$(jq .online_p99_ms <<<"$rp")" ms
	sample "cluster_offline_p99_ms" "$(jq .offline_p99_ms <<<"$rp")" ms
	stop ca
	stop cb
	cluster_cleanup
	trap cleanup EXIT
}

# The database server is not a child of this shell: stop it on any exit.
cluster_cleanup() {
	[ -n "${CLUSTER_PG:-}" ] || return 0
	"$PGTMP_SH" rm "$CLUSTER_PG" || true
	rm -rf "$(dirname "$CLUSTER_PG")"
	CLUSTER_PG=
}

# cluster_online N PID...: the two PostgreSQL gestors hold N sessions
# together, or a load generator has given up (its result says why).
cluster_online() {
	local n=$1 p
	shift
	for p in "$@"; do kill -0 "$p" 2>/dev/null || return 0; done
	[ $(( $(field ca online) + $(field cb online) )) -ge "$n" ]
}
