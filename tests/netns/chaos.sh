#!/usr/bin/env bash
# Every fault at once (issue 23): one continuous workload while random
# faults of every kind overlap, then everything heals and the run proves
# that nothing was lost, shown twice or reordered, that every message is
# `delivered` at its sender and that every peer's session survived.
#
# Topology: two gestors (ga 198.18.1.10, gb 198.18.1.11), each with its
# relay, on one throwaway PostgreSQL (Unix socket, reached from their
# namespaces by path); alice (198.18.4.x) and bobby (198.18.5.x) behind
# home routers of their own (masquerade, no port forwarding), carol on
# the public subnet. Every peer lists both gestors. Four senders run at
# once, each retrying a send blindly with the same --id until it is
# acknowledged: alice->bobby and bobby->alice (relayed: nobody can
# connect to either), carol->alice (relayed), alice->carol (direct).
#
# Faults, drawn from a seeded schedule and overlapping (at most one at a
# time per daemon): SIGKILL of a peer or a gestor (restarted after a
# while), PostgreSQL crashes (pg_ctl -m immediate, started again), network
# partitions (nftables drop rules in a host's namespace: the host cut off
# from everything, a peer from one gestor, two peers from each other),
# link cuts (the router's end of a cable down), address changes of peers,
# lossy periods (nftables: 5% of the packets dropped at random, both
# ways), SIGSTOP/SIGCONT of peers and gestors.
#
# At the end every fault is healed and the run waits (bounded) until all
# daemons are up, every peer is logged in with its gestor link online and
# every queue is empty, and both gestors see every peer online; nobody
# ever runs `login` after the first `register`. Then per pair:
# tests/netns/check_messages.sh.
#
#   P2PCHAT_CHAOS_SEED=n   replays a fault schedule (the seed is printed)
#   P2PCHAT_CHAOS_FAULTS=n how many faults (default 100; `make chaos`
#                          passes CHAOS_FAULTS, default 1000)
#   P2PCHAT_CHAOS_GAP=ms   mean time between two faults (default 700)
#   P2PCHAT_CHAOS_KINDS="kill_peer stop ..."  only these kinds (to narrow
#                          down a finding; the default is every kind)
# Needs root, nftables and PostgreSQL (exit 77 without them).
set -eu
NETNS_LIB=${TESTS_LIB:+$(dirname "$TESTS_LIB")/netns/lib.sh}
. "${NETNS_LIB:-$(dirname "$0")/lib.sh}"
PGTMP_SH=${TESTS_LIB:+$(dirname "$TESTS_LIB")/pg/pgtmp.sh}
PGTMP_SH=${PGTMP_SH:-$(cd "$(dirname "$0")/../pg" && pwd)/pgtmp.sh}

command -v nft >/dev/null 2>&1 ||
	netns_skip "nftables (nft) is not installed; Debian: apt-get install nftables"
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] ||
	netns_skip "PostgreSQL server binaries not found (apt-get install postgresql)"
id postgres >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1 ||
	netns_skip "no postgres user to run the throwaway PostgreSQL as"
"$P2PCHATD" --version 2>/dev/null | grep -q postgresql ||
	netns_skip "this p2pchatd was built without PostgreSQL (configure --with-postgresql)"
export PGBIN

SEED=${P2PCHAT_CHAOS_SEED:-$(( ($$ + $(date +%s)) % 32768 ))}
FAULTS=${P2PCHAT_CHAOS_FAULTS:-100}
GAP=${P2PCHAT_CHAOS_GAP:-700}
case $SEED$FAULTS$GAP in *[!0-9]*) fail "seed, fault count and gap are numbers" ;; esac
RANDOM=$SEED
log "seed $SEED, $FAULTS faults, one every ~$GAP ms (P2PCHAT_CHAOS_SEED=$SEED to replay the schedule)"

# Slower timers than the other netns tests: seven daemons, PostgreSQL and
# four senders share what may be a loaded 2-core machine.
HB_INTERVAL=${HB_INTERVAL:-0.3}
HB_TIMEOUT=${HB_TIMEOUT:-2.0}
HANDSHAKE_TIMEOUT=3.0

# Every ctl call is bounded: a SIGSTOPped daemon holds its socket's
# callers, and a hung one must show as a failure, not as a hung test.
ctl() {
	local name=$1
	shift
	timeout -k 2 30 "$P2PCHATCTL" -c "$TMP/$name.conf" "$@"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ------------------------------------------------------------ PostgreSQL
PGDIR=$(mktemp -d /tmp/p2pchat-chaos-pg.XXXXXX)
chmod 755 "$PGDIR"
PG_UP=0
chaos_cleanup() {
	local rc=$?
	local ns pid
	set +e
	[ -z "${SENDERS:-}" ] || kill $SENDERS 2>/dev/null
	# Whatever runs in our namespaces is ours, whether PIDS knows it or
	# not (lib.sh's cleanup waits for every child).
	for ns in "${NETNS_LIST[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -CONT "$pid" 2>/dev/null
			kill -KILL "$pid" 2>/dev/null
		done
	done
	"$PGTMP_SH" rm "$PGDIR/db" >/dev/null 2>&1
	rm -rf "$PGDIR"
	(exit "$rc")
	netns_cleanup
}
trap chaos_cleanup EXIT
CONNINFO=$("$PGTMP_SH" start "$PGDIR/db") || fail "cannot start a throwaway PostgreSQL"
PG_UP=1

# ---------------------------------------------------------------- network
net_setup
net_nat nat1 2 254 4
net_nat nat2 3 254 5
GESTORS="ga gb"
PEERS="alice bobby carol"
GESTOR_ADDRESSES='"198.18.1.10:7000", "198.18.1.11:7000"'
declare -A HOST_OF=([ga]=10 [gb]=11)

gestor_conf() {
	write_conf "$1" gestor "storage = { backend = \"postgresql\"; conninfo = \"$CONNINFO\"; };
cluster = { name = \"$1\"; };
relay = { advertise = \"${ADDR_OF[$1]}:7002\"; };"
}

for g in $GESTORS; do
	add_host "$g" 1 "${HOST_OF[$g]}"
	LISTEN_OF[$g]=${ADDR_OF[$g]}:$GESTOR_PORT
	gestor_conf "$g"
	# One directory to the peers, which pin its key: gb gets ga's.
	if [ "$g" != ga ]; then
		mkdir -p -m 700 "$TMP/$g"
		cp -p "$TMP/ga/identity.key" "$TMP/$g/identity.key"
	fi
	start "$g"
done
# Peers move, so each listens on the wildcard of its own namespace.
net_peer alice 4 10 "0.0.0.0:$PEER_PORT"
net_peer bobby 5 10 "0.0.0.0:$PEER_PORT"
net_peer carol 1 20 "0.0.0.0:$PEER_PORT"
# bobby's router drops what nobody asked for: a direct try times out.
ip netns exec "${NS_OF[nat2]}" nft -f - <<'NFT'
table ip fw {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "wan0" ct state new drop
	}
}
NFT
for u in $PEERS; do register "$u" >/dev/null || fail "register $u"; done
online_anywhere() { online_at_gestor "$1" online; }
for u in $PEERS; do GESTOR=ga wait_for "$u online" 20 online_anywhere "$u"; done

PAIRS="alice:bobby bobby:alice carol:alice alice:carol"

# ---------------------------------------------------------------- senders
# sender FROM TO N: send "FROM->TO k" for k = 1, 2, ... until $TMP/stop
# exists, each with its own id, retried with that same id until send
# acknowledges it; the acknowledged ids go to $TMP/sent.FROM.TO in order.
# Refusals are counted by their code in $TMP/errors.FROM.TO. Once
# $TMP/give-up exists, an unacknowledged send is recorded as such.
sender() {
	local from=$1 to=$2 n=$3 k=0 id code
	while [ ! -e "$TMP/stop" ]; do
		k=$((k + 1))
		printf -v id '%02x%030x' "$n" "$k"
		until ctl "$from" send --id "$id" "$to" "$from->$to $k" \
		    >/dev/null 2>"$TMP/send.err.$n"; do
			code=$(sed -n 's/^p2pchatctl: \([a-z_]*\):.*/\1/p' "$TMP/send.err.$n" | head -n 1)
			printf '%s\n' "${code:-exit}" >>"$TMP/errors.$from.$to"
			if [ -e "$TMP/give-up" ]; then
				printf '%s\n' "$id" >>"$TMP/unacked.$from.$to"
				return 1
			fi
			sleep 0.1
		done
		printf '%s\n' "$id" >>"$TMP/sent.$from.$to"
		sleep 0.02
	done
}

# ---------------------------------------------------------- the schedule
# A fault is "START KIND TARGET DURATION ARG": START and DURATION in ms
# from the start of the run. Drawn from the seed alone, before anything
# runs, so that a seed replays the same faults in the same order (the
# timing follows the machine). A daemon carries one kill or stop at a
# time; a peer one address change a second.
KINDS=${P2PCHAT_CHAOS_KINDS:-kill_peer kill_gestor pg_crash partition link_cut addr_change lossy stop}
# Weights, as in the issue's independent run (per thousand faults).
declare -A WEIGHT=([kill_peer]=222 [kill_gestor]=127 [pg_crash]=50
    [partition]=110 [link_cut]=85 [addr_change]=90 [lossy]=137 [stop]=179)
declare -A BUSY=() COUNT=()
for k in $KINDS; do
	[ -n "${WEIGHT[$k]:-}" ] || fail "unknown fault kind $k"
	COUNT[$k]=0
done
# rnd A B: a random number in [A, B] in R (no subshell: the sequence
# must follow the seed).
rnd() { R=$(( $1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1) )); }
pick() { local a=("$@"); R=${a[RANDOM % ${#a[@]}]}; }
# free RESOURCE T: nothing holds RESOURCE at T.
free() { [ "${BUSY[$1]:-0}" -le "$2" ]; }

SCHEDULE=()
t=2000
total_weight=0
for k in $KINDS; do total_weight=$(( total_weight + WEIGHT[$k] )); done
while [ ${#SCHEDULE[@]} -lt "$FAULTS" ]; do
	rnd $(( GAP / 4 )) $(( GAP * 7 / 4 )); t=$(( t + R ))
	rnd 0 $(( total_weight - 1 )); w=$R
	for kind in $KINDS; do
		w=$(( w - WEIGHT[$kind] ))
		[ "$w" -ge 0 ] || break
	done
	arg=-
	case $kind in
	kill_peer)	pick $PEERS; target=$R; rnd 0 3000; dur=$R; res=proc:$target ;;
	kill_gestor)	pick $GESTORS; target=$R; rnd 300 5000; dur=$R; res=proc:$target ;;
	pg_crash)	target=pg; rnd 500 6000; dur=$R; res=proc:pg ;;
	partition)
		pick host peer-gestor peer-peer; arg=$R
		case $arg in
		host) pick $PEERS $GESTORS; target=$R ;;
		peer-gestor) pick $PEERS; target=$R; pick $GESTORS; arg=$R ;;
		peer-peer) pick alice:bobby alice:carol bobby:carol; target=$R ;;
		esac
		rnd 500 6000; dur=$R; res=cut:$target:$arg ;;
	link_cut)	pick $PEERS $GESTORS; target=$R; rnd 300 5000; dur=$R; res=link:$target ;;
	addr_change)	pick $PEERS; target=$R; dur=1000; res=addr:$target; rnd 20 250; arg=$R ;;
	lossy)		pick $PEERS $GESTORS nat1 nat2; target=$R; rnd 2000 10000; dur=$R; res=loss:$target ;;
	stop)		pick $PEERS $GESTORS; target=$R; rnd 200 4000; dur=$R; res=proc:$target ;;
	esac
	free "$res" "$t" || continue
	BUSY[$res]=$(( t + dur ))
	SCHEDULE+=("$t $kind $target $dur $arg")
done
log "schedule: ${#SCHEDULE[@]} faults over $(( t / 1000 )) s"

# ------------------------------------------------------------ the faults
declare -A DOWN=()	# daemon (or pg) -> "killed" or "stopped" while a fault holds it
STARTUP_EXITS=0
CRASHES=()

# launch NAME: start NAME's daemon in its namespace without waiting.
launch() {
	ip netns exec "${NS_OF[$1]}" "$P2PCHATD" -c "$TMP/$1.conf" \
	    >>"$TMP/$1.log" 2>&1 &
	PIDS[$1]=$!
}

# revive NAME: start NAME again and wait until it serves its control
# socket. A gestor that exits at startup (its database down: issue 23
# item 3) is counted and fails the revive, which is tried again a second
# later; a peer that does is a failure.
revive() {
	local name=$1
	launch "$name"
	wait_for "$name to serve its control socket" 20 started "$name"
	alive "$name" && return 0
	wait "${PIDS[$name]}" 2>/dev/null || true
	case " $GESTORS " in
	*" $name "*)
		STARTUP_EXITS=$((STARTUP_EXITS + 1))
		log "$name exited at startup: $(tail -n 1 "$TMP/$name.log")"
		return 1 ;;
	esac
	fail "$name exited at startup: $(tail -n 3 "$TMP/$name.log")"
}

pg_up() {
	[ "$PG_UP" = 0 ] || return 0
	"$PGTMP_SH" restart "$PGDIR/db" || fail "PostgreSQL does not restart"
	PG_UP=1
}

# nft_in NAME TABLE RULES...: a table in NAME's namespace whose input and
# output (or, in a router, forward) chains hold RULES.
nft_in() {
	local name=$1 table=$2 hooks=${NFT_HOOKS:-input output} h r
	shift 2
	{
		printf 'table ip %s {\n' "$table"
		for h in $hooks; do
			printf '\tchain %s {\n\t\ttype filter hook %s priority -20; policy accept;\n' "$h" "$h"
			for r in "$@"; do
				printf '\t\t%s\n' "${r//@DIR@/$([ "$h" = output ] && echo daddr || echo saddr)}"
			done
			printf '\t}\n'
		done
		printf '}\n'
	} | ip netns exec "${NS_OF[$name]}" nft -f - || fail "nft in $name ($table)"
}

nft_del() {
	ip netns exec "${NS_OF[$1]}" nft delete table ip "$2" ||
		fail "nft: cannot delete table $2 in $1"
}

# public NAME: where others see NAME (its NAT's WAN address behind NAT).
public() {
	case $1 in
	alice) echo 198.18.2.254 ;;
	bobby) echo 198.18.3.254 ;;
	*) echo "${ADDR_OF[$1]}" ;;
	esac
}

# router_of NAME: the namespace holding the other end of NAME's cable.
router_of() {
	local r=${ROUTER_OF[${SUBNET_OF[$1]}]:-}
	echo "${r:-$ROUTER_NS}"
}

# inject SEQ KIND TARGET DURATION ARG: start a fault (planned at $start)
# and queue its heal.
HEALS=()
inject() {
	local seq=$1 kind=$2 target=$3 dur=$4 arg=$5 heal a b
	case $kind in
	kill_* | stop)
		if [ -n "${DOWN[$target]:-}" ]; then
			log "fault $seq skipped: $target is down already"
			return 0
		fi ;;
	esac
	case $kind in
	kill_peer | kill_gestor)
		kill -KILL "${PIDS[$target]}"
		wait "${PIDS[$target]}" 2>/dev/null || true
		DOWN[$target]=killed
		heal="revive $target" ;;
	pg_crash)
		"$PGTMP_SH" stop "$PGDIR/db" immediate || fail "pg_ctl stop -m immediate"
		PG_UP=0
		heal="pg_up" ;;
	partition)
		case $arg in
		host)
			nft_in "$target" "c$seq" 'iifname "eth0" drop' 'oifname "eth0" drop'
			heal="nft_del $target c$seq" ;;
		ga | gb)
			nft_in "$target" "c$seq" "ip @DIR@ ${ADDR_OF[$arg]} drop"
			heal="nft_del $target c$seq" ;;
		peer-peer)
			a=${target%:*} b=${target#*:}
			nft_in "$a" "c$seq" "ip @DIR@ $(public "$b") drop"
			nft_in "$b" "c$seq" "ip @DIR@ $(public "$a") drop"
			heal="nft_del $a c$seq; nft_del $b c$seq" ;;
		esac ;;
	link_cut)
		ip -n "$(router_of "$target")" link set "h-$target" down
		heal="ip -n $(router_of "$target") link set h-$target up" ;;
	addr_change)
		set_addr "$target" "$arg"
		heal=: ;;
	lossy)
		case $target in
		nat*) NFT_HOOKS=forward nft_in "$target" "l$seq" 'numgen random mod 100 < 5 drop' ;;
		*) nft_in "$target" "l$seq" 'numgen random mod 100 < 5 drop' ;;
		esac
		heal="nft_del $target l$seq" ;;
	stop)
		kill -STOP "${PIDS[$target]}"
		DOWN[$target]=stopped
		heal="kill -CONT ${PIDS[$target]}" ;;
	esac
	COUNT[$kind]=$(( COUNT[$kind] + 1 ))
	a=$(( $(now_ms) - t0 ))
	[ "$arg" = - ] && b= || b=" $arg"
	log "fault $seq at $(( a / 1000 )).$(( a % 1000 / 100 )) s: $kind $target$b for $dur ms"
	# A heal names the daemon it brings back ("-": none), whose DOWN
	# it clears.
	case $kind in
	kill_* | stop) a=$target ;;
	*) a=- ;;
	esac
	# Healed at the time the schedule planned (its start + DURATION), not
	# DURATION after a late start: the schedule gives each daemon one
	# fault at a time, which a late heal would break.
	HEALS+=("$(( t0 + start + dur )) $a $heal")
}

# heal_due [all]: heal the faults whose time has come (or all of them);
# a heal that fails (a gestor that cannot start yet) is tried again a
# second later.
heal_due() {
	local now i due target rest kept=()
	now=$(now_ms)
	for i in "${!HEALS[@]}"; do
		read -r due target rest <<<"${HEALS[$i]}"
		if [ "${1:-}" = all ] || [ "$due" -le "$now" ]; then
			if eval "$rest"; then
				[ "$target" = - ] || unset "DOWN[$target]"
			else
				kept+=("$(( now + 1000 )) $target $rest")
			fi
		else
			kept+=("${HEALS[$i]}")
		fi
	done
	HEALS=("${kept[@]}")
}

# check_crashes: a daemon that died without a fault of ours crashed.
check_crashes() {
	local name
	for name in $GESTORS $PEERS; do
		[ -z "${DOWN[$name]:-}" ] || continue
		alive "$name" && continue
		CRASHES+=("$name")
		log "CRASH: $name died on its own: $(tail -n 5 "$TMP/$name.log" | tr '\n' '|')"
		KEEP_TMP=1
		wait "${PIDS[$name]}" 2>/dev/null || true
		if ! revive "$name"; then
			DOWN[$name]=killed
			HEALS+=("$(( $(now_ms) + 1000 )) $name revive $name")
		fi
	done
}

# ------------------------------------------------------------------ run
SENDERS=
n=0
for pair in $PAIRS; do
	n=$((n + 1))
	sender "${pair%:*}" "${pair#*:}" "$n" &
	SENDERS="$SENDERS $!"
done

t0=$(now_ms)
for f in "${SCHEDULE[@]}"; do
	read -r start kind target dur arg <<<"$f"
	seq=$(( ${seq:-0} + 1 ))
	while [ $(( $(now_ms) - t0 )) -lt "$start" ]; do
		heal_due
		check_crashes
		sleep 0.05
	done
	heal_due
	check_crashes
	inject "$seq" "$kind" "$target" "$dur" "$arg"
	[ $(( seq % 25 )) != 0 ] ||
		log "$seq faults in $(( ($(now_ms) - t0) / 1000 )) s, $(cat "$TMP"/sent.* 2>/dev/null | wc -l) messages acknowledged"
done
log "all $FAULTS faults injected in $(( ($(now_ms) - t0) / 1000 )) s; healing"
pg_up
for try in 1 2 3 4 5 6 7 8 9 10; do
	heal_due all
	[ ${#HEALS[@]} != 0 ] || break
	sleep 1
done
[ ${#HEALS[@]} = 0 ] || fail "cannot heal: ${HEALS[*]}"
check_crashes

# --------------------------------------------------------------- settle
touch "$TMP/stop"
t_heal=$(now_ms)
settled() {
	local g u
	for g in $GESTORS; do db_is "$g" connected || return 1; done
	for u in $PEERS; do
		[ "$(field "$u" state)" = logged_in ] &&
		    [ "$(field "$u" user)" = "$u" ] &&
		    [ "$(field "$u" gestor_state)" = online ] || return 1
	done
}
db_is() { [ "$(field "$1" database)" = "$2" ]; }
SESSIONS_OK=1
deadline=$(( $(now_ms) + 90000 ))
until settled; do
	if [ "$(now_ms)" -ge "$deadline" ]; then
		SESSIONS_OK=0
		for u in $PEERS; do
			log "after 90 s: $u: $(ctl "$u" status | grep -E '^(state|user|gestor|gestor_state|gestor_error)	' | tr '\t\n' '= ')"
		done
		break
	fi
	check_crashes
	sleep 0.2
done
[ "$SESSIONS_OK" = 0 ] || log "every peer logged in and online $(( ($(now_ms) - t_heal) / 1000 )) s after the heal"

# Both gestors agree that everyone is online (presence reconciled after
# the crashes of the gestors and of the database).
seen_online() {
	local g u
	for g in $GESTORS; do
		for u in $PEERS; do
			ctl "$g" lookup "$u" | grep -q "^online	online$" || return 1
		done
	done
}
PRESENCE_OK=1
deadline=$(( $(now_ms) + 30000 ))
until seen_online; do
	if [ "$(now_ms)" -ge "$deadline" ]; then
		PRESENCE_OK=0
		for g in $GESTORS; do
			for u in $PEERS; do
				log "after 30 s: $g: lookup $u: $(ctl "$g" lookup "$u" | grep -E '^(online|addr|gestor)' | tr '\t\n' '= ')"
			done
		done
		break
	fi
	sleep 0.2
done

# The senders finish the send in flight; a send still refused 60 s
# after the heal is recorded as unacknowledged.
deadline=$(( $(now_ms) + 60000 ))
for pid in $SENDERS; do
	while kill -0 "$pid" 2>/dev/null && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.1; done
done
touch "$TMP/give-up"
for pid in $SENDERS; do wait "$pid" 2>/dev/null || true; done
SENDERS=

drained() {
	local u
	for u in $PEERS; do pending_empty "$u" || return 1; done
}
DRAINED=1
deadline=$(( $(now_ms) + 120000 ))
until drained; do
	if [ "$(now_ms)" -ge "$deadline" ]; then
		DRAINED=0
		for u in $PEERS; do
			log "after 120 s, $u still has $(ctl "$u" pending | wc -l) pending: $(ctl "$u" pending | head -n 2 | tr '\t\n' ' |')"
		done
		break
	fi
	check_crashes
	sleep 0.2
done
[ "$DRAINED" = 0 ] || log "every queue drained $(( ($(now_ms) - t_heal) / 1000 )) s after the heal"

# -------------------------------------------------------------- summary
ENDED=0
for u in $PEERS; do
	ENDED=$(( ENDED + $(grep -c "the gestor ended the session" "$TMP/$u.log" || true) ))
done
line=
for k in $KINDS; do line="$line $k ${COUNT[$k]},"; done
log "SUMMARY seed $SEED: faults:${line%,}"
tot_a=0 tot_r=0 tot_d=0
for pair in $PAIRS; do
	from=${pair%:*} to=${pair#*:}
	: >>"$TMP/sent.$from.$to"
	a=$(wc -l <"$TMP/sent.$from.$to")
	r=$(ctl "$to" history "$from" --limit 1000000 | awk -F'\t' '$2 == "in"' | wc -l)
	d=$(ctl "$from" history "$to" --limit 1000000 | awk -F'\t' '$2 == "out" && $3 == "delivered"' | wc -l)
	e=$(sort "$TMP/errors.$from.$to" 2>/dev/null | uniq -c | awk '{ print $2 " " $1 }' | paste -sd, - | sed 's/,/, /g')
	route=$(ctl "$from" lookup "$to" | awk -F'\t' '$1 == "route" { print $2 }')
	log "SUMMARY $from->$to: accepted $a, received $r, delivered $d; refused sends: ${e:-none}; route at the end: ${route:-none}"
	tot_a=$((tot_a + a)) tot_r=$((tot_r + r)) tot_d=$((tot_d + d))
done
log "SUMMARY total: accepted $tot_a, received $tot_r, delivered $tot_d;" \
    "sessions ended by a gestor $ENDED; gestor exits at startup $STARTUP_EXITS;" \
    "crashes ${#CRASHES[@]}"

# ---------------------------------------------------------------- checks
[ ${#CRASHES[@]} = 0 ] || fail "daemons died without a fault: ${CRASHES[*]}"
# A build with the sanitizers reports what it finds in the daemons' logs.
for name in $GESTORS $PEERS; do
	! grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error: " "$TMP/$name.log" ||
		fail "$name: $(grep -m 1 "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error: " "$TMP/$name.log")"
done
for pair in $PAIRS; do
	[ ! -s "$TMP/unacked.${pair%:*}.${pair#*:}" ] ||
		fail "${pair%:*} still refuses to send to ${pair#*:} 60 s after the heal"
done
[ "$SESSIONS_OK" = 1 ] || fail "not every peer is logged in and online 90 s after the heal"
[ "$PRESENCE_OK" = 1 ] || fail "the gestors do not both see every peer online 30 s after the heal"
[ "$ENDED" = 0 ] || fail "a gestor ended peers' sessions $ENDED times (nobody logged out)"
[ "$DRAINED" = 1 ] || fail "queues not drained 120 s after the heal"
for pair in $PAIRS; do check_messages "${pair%:*}" "${pair#*:}"; done
[ "$STARTUP_EXITS" = 0 ] ||
	fail "a gestor exited at startup $STARTUP_EXITS times instead of waiting for its database"
log "ok"
