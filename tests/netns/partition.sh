#!/usr/bin/env bash
# Partitions. A client subnet is cut off from everything for longer than
# heartbeat.timeout: the gestor marks its user offline and tells the
# watchers, the user's daemon sees its gestor link down, messages sent on
# both sides during the cut wait (with a reason and a next try) and are
# delivered once it heals, when everyone is online again. Once with drop
# rules in the router, once with the cable pulled (link down). Then the
# asymmetric case: both peers reach the gestor, but not each other; with
# relay.use = "never" the message stays pending and is retried, with the
# default "auto" it goes through the gestor's relay. Last,
# the server subnet is cut off: the peers go on through cached addresses.
set -eu
NETNS_LIB=${TESTS_LIB:+$(dirname "$TESTS_LIB")/netns/lib.sh}
. "${NETNS_LIB:-$(dirname "$0")/lib.sh}"

not_online() { ! gestor_state_is "$1" online; }
# retried FROM USER N: FROM's oldest pending message to USER has had at
# least N attempts, and says why it waits and when it is tried next.
retried() {
	ctl "$1" pending | awk -F'\t' -v u="$2" -v n="$3" '
	    $2 == u { ok = $3 >= n && $4 != "" && $4 != "-" && $5 != "" && $5 != "-"; exit }
	    END { exit !ok }'
}

# says FROM USER TEXT: the reason FROM's pending messages to USER give.
says() {
	ctl "$1" pending | awk -F'\t' -v u="$2" '$2 == u { print $5 }' | grep -q "$3"
}

net_setup
net_gestor g
net_peer alice 2 10
net_peer bob 3 10
for u in alice bob; do register "$u" >/dev/null; done
for u in alice bob; do wait_for "$u online" 10 online_at_gestor "$u" online; done
send_rec alice bob "before the cuts"
send_rec bob alice "before the cuts, back"
for u in alice bob; do wait_for "$u's queue drained" 10 pending_empty "$u"; done
watch_bg alice "$TMP/alice.events"

# cut_then_heal HOW: subnet 3 (bob's) is cut off, by drop rules in the
# router ("rules") or by taking the router's end of bob's cable down
# ("link"), and heals.
cut_then_heal() {
	local how=$1 i offline_events online_events hb
	offline_events=$(grep -c "presence	-	bob	-	offline" "$TMP/alice.events" || true)
	online_events=$(grep -c "presence	-	bob	-	online" "$TMP/alice.events" || true)
	hb=$(field bob last_heartbeat)
	log "cutting subnet 3 off ($how)"
	case $how in
	rules) isolate 3 ;;
	link) ip -n "$ROUTER_NS" link set h-bob down ;;
	esac
	for i in 1 2 3 4; do
		send_rec alice bob "alice, during the $how cut $i"
		send_rec bob alice "bob, during the $how cut $i"
	done
	# Both sides see it.
	wait_for "the gestor marks bob offline" 10 online_at_gestor bob offline
	wait_for "alice told bob is offline" 5 sh -c \
	    "[ \$(grep -c 'presence	-	bob	-	offline' '$TMP/alice.events') -gt $offline_events ]"
	wait_for "bob sees his gestor link down" 10 not_online bob
	gestor_state_is alice online || fail "alice lost the gestor too"
	online_at_gestor alice online || fail "alice offline at the gestor"
	# Both wait, saying why, and retry.
	wait_for "alice retries her messages to bob" 15 retried alice bob 2
	wait_for "alice's pending says bob is offline" 10 says alice bob "recipient offline"
	wait_for "bob retries his messages to alice" 15 retried bob alice 2
	[ -n "$(field bob gestor_error)" ] || fail "bob's status gives no gestor_error"
	[ "$(field bob last_heartbeat)" = "$hb" ] || [ -z "$hb" ] ||
		fail "bob's last_heartbeat moved during the cut"
	log "healing subnet 3"
	case $how in
	rules) rejoin 3 ;;
	link) ip -n "$ROUTER_NS" link set h-bob up ;;
	esac
	wait_for "bob online again" 20 online_at_gestor bob online
	wait_for "bob's gestor link up" 10 gestor_state_is bob online
	wait_for "alice told bob is online" 10 sh -c \
	    "[ \$(grep -c 'presence	-	bob	-	online' '$TMP/alice.events') -gt $online_events ]"
	for i in alice bob; do wait_for "$i's queue drained" 20 pending_empty "$i"; done
	[ "$(field bob last_heartbeat)" != "$hb" ] || fail "bob's last_heartbeat did not move"
}

cut_then_heal rules
cut_then_heal link

# Asymmetric: alice and bob both reach the gestor, not each other. With
# relay.use = "never" alice's messages wait and are retried; back to
# "auto", they go through the gestor's relay while the cut lasts.
log "cutting subnet 2 from subnet 3 only"
write_conf alice peer "gestor = { addresses = [ $GESTOR_ADDRESSES ]; };
relay = { use = \"never\"; };"
ctl alice reload >/dev/null || fail "alice's reload (relay.use = never)"
block 198.18.2.0/24 198.18.3.0/24
block 198.18.3.0/24 198.18.2.0/24
for i in 1 2 3; do send_rec alice bob "alice, asymmetric cut $i"; done
wait_for "alice retries" 20 retried alice bob 3
says alice bob "unreachable" ||
	fail "pending does not say bob is unreachable: $(ctl alice pending)"
for u in alice bob; do
	gestor_state_is "$u" online || fail "$u lost the gestor in the asymmetric cut"
	online_at_gestor "$u" online || fail "$u offline at the gestor in the asymmetric cut"
done
grep -q "peer_msg: bob: unreachable: .*retry [0-9]* in" "$TMP/alice.log" ||
	fail "alice's log does not show the retries with their backoff"
write_conf alice peer "gestor = { addresses = [ $GESTOR_ADDRESSES ]; };"
ctl alice reload >/dev/null || fail "alice's reload (relay.use = auto)"
wait_for "alice's queue drained through the relay during the cut" 30 pending_empty alice
ctl alice lookup bob | grep -q "^route	relay$" || fail "alice's route to bob: $(ctl alice lookup bob)"
unblock 198.18.2.0/24 198.18.3.0/24
unblock 198.18.3.0/24 198.18.2.0/24
wait_for "alice's queue drained after the asymmetric cut" 20 pending_empty alice

# The server subnet cut off: the peers lose the gestor (silently: no
# close, no reset), the gestor loses them, and they go on talking
# through their cached addresses.
log "cutting the server subnet off"
isolate 1
for u in alice bob; do wait_for "$u sees the gestor silent" 10 not_online "$u"; done
for i in 1 2 3; do
	send_rec alice bob "alice, gestor cut off $i"
	send_rec bob alice "bob, gestor cut off $i"
done
for u in alice bob; do wait_for "$u's queue drained without the gestor" 15 pending_empty "$u"; done
rejoin 1
for u in alice bob; do
	wait_for "$u back with the gestor" 20 gestor_state_is "$u" online
	wait_for "$u online at the gestor" 10 online_at_gestor "$u" online
done
ctl alice lookup bob | grep -q "^online	online$" || fail "alice does not see bob online"

check_messages alice bob
check_messages bob alice
log "ok"
