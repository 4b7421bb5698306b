#!/usr/bin/env bash
# Crashes: alice streams messages to bob (and bob some back) while the
# sender, the receiver and the gestor are killed with SIGKILL at random
# moments, a killer firing 0-300 ms after it is armed while the stream
# goes on; twice the receiver stays down for a while, once with the
# gestor down too, and once sender and receiver die together; then the
# receiver is killed twice while a backlog flushes in. A send
# that a crash interrupted is retried blindly with the same --id. After
# the restarts, the checker proves that every message `send`
# acknowledged is in the receiver's history exactly once, in order, and
# delivered at the sender.
#   SEED=n  replays the same kill schedule; N=n sets the stream length.
set -eu
NETNS_LIB=${TESTS_LIB:+$(dirname "$TESTS_LIB")/netns/lib.sh}
. "${NETNS_LIB:-$(dirname "$0")/lib.sh}"

SEED=${SEED:-$(( $$ % 32768 ))}
N=${N:-150}
RANDOM=$SEED
log "seed $SEED, $N messages (SEED=$SEED N=$N to replay)"

new_id() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
# between A B: a random number in [A, B] in R (no subshell: the
# sequence must follow SEED).
between() { R=$(( $1 + RANDOM % ($2 - $1 + 1) )); }

# kill_soon NAME...: SIGKILL these daemons 0-300 ms from now, in the
# background, while the stream goes on.
kill_soon() {
	local pids="" name delay
	for name in "$@"; do pids="$pids ${PIDS[$name]}"; done
	delay=$(printf '0.%03d' $(( RANDOM % 300 )))
	log "SIGKILL $* in $delay s"
	( sleep "$delay"; kill -KILL $pids 2>/dev/null ) &
	KILLERS+=($!)
}
KILLERS=()

# revive NAME: if NAME's daemon is dead, reap it and start it again.
revive() {
	alive "$1" && return 0
	stop "$1" KILL
	log "restarting $1"
	start "$1"
}

# send_id FROM TO TEXT: send with a fresh id, retrying the same id after
# a crash of FROM until send acknowledges it; then record the id.
send_id() {
	local from=$1 to=$2 text=$3 id tries=0
	id=$(new_id)
	until ctl "$from" send --id "$id" "$to" "$text" >/dev/null 2>"$TMP/send.err"; do
		tries=$((tries + 1))
		[ "$tries" -le 20 ] || fail "send by $from keeps failing: $(cat "$TMP/send.err")"
		if alive "$from"; then
			sleep 0.05
		else
			revive "$from"
		fi
	done
	printf '%s\n' "$id" >>"$TMP/sent.$from.$to"
}

net_setup
net_gestor g
net_peer alice 2 10
net_peer bob 3 10
for u in alice bob; do register "$u" >/dev/null; done
for u in alice bob; do wait_for "$u online" 10 online_at_gestor "$u" online; done
send_id alice bob "first"
send_id bob alice "first, back"
for u in alice bob; do wait_for "$u's queue drained" 10 pending_empty "$u"; done

# The schedule: message numbers at which a killer is armed.
[ "$N" -ge 60 ] || fail "N must be at least 60"
q=$(( N / 6 ))
between 5 "$q"; kill_bob=$R			# the receiver, back soon after
between 3 10; bob_back=$(( kill_bob + R ))
between $(( q + 1 )) $(( q * 2 )); kill_alice=$R	# the sender
between $(( q * 2 + 1 )) $(( q * 3 )); kill_g=$R	# the gestor, down a while
between 2 6; kill_bob2=$(( kill_g + R ))		# the receiver, gestor down
between 3 10; bob_back2=$(( kill_bob2 + R ))
between 3 10; g_back=$(( bob_back2 + R ))
between $(( q * 4 + 1 )) $(( q * 5 )); kill_both=$R	# sender and receiver
log "kills: bob@$kill_bob..$bob_back alice@$kill_alice g@$kill_g..$g_back" \
    "bob@$kill_bob2..$bob_back2 alice+bob@$kill_both"

for i in $(seq 1 "$N"); do
	case $i in
	"$kill_bob" | "$kill_bob2") kill_soon bob ;;
	"$kill_alice") kill_soon alice ;;
	"$kill_g") kill_soon g ;;
	"$kill_both") kill_soon alice bob ;;
	esac
	if [ "$i" -ge "$bob_back" ] && { [ "$i" -lt "$kill_bob2" ] ||
	    [ "$i" -ge "$bob_back2" ]; }; then
		revive bob
	fi
	[ "$i" -lt "$g_back" ] || revive g
	send_id alice bob "stream $i"
	if [ $(( i % 5 )) = 0 ] && alive bob; then
		send_id bob alice "back $i"
	fi
done

wait "${KILLERS[@]}" 2>/dev/null || true
for u in g alice bob; do revive "$u"; done

# A backlog, and the receiver killed while it flushes in, twice.
stop bob TERM
for i in $(seq 1 $(( N / 2 ))); do send_id alice bob "backlog $i"; done
for round in 1 2; do
	start bob
	kill_soon bob
	wait "${KILLERS[@]}" 2>/dev/null || true
	stop bob KILL
done
start bob

# Everyone back; everything acknowledged is delivered.
for u in alice bob; do wait_for "$u online again" 20 online_at_gestor "$u" online; done
for u in alice bob; do wait_for "$u's queue drained" 60 pending_empty "$u"; done
check_messages alice bob
check_messages bob alice
for u in alice bob; do
	! ctl "$u" history "$([ "$u" = alice ] && echo bob || echo alice)" --limit 1000000 |
	    awk -F'\t' '$2 == "out" && $3 != "delivered"' | grep -q . ||
		fail "$u has sent messages that are not delivered"
done
log "ok"
