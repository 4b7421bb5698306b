#!/usr/bin/env bash
# The gestor goes down. Peers that know each other keep exchanging
# messages through their cached addresses, even across a restart of one
# of them; a message to someone never met waits, saying why. Their
# status shows the link down, why, and the time of the last heartbeat;
# their logs show each reconnect round with its growing backoff. When
# the gestor comes back, everyone reconnects by themselves, presence is
# right again, and what waited is delivered.
set -eu
NETNS_LIB=${TESTS_LIB:+$(dirname "$TESTS_LIB")/netns/lib.sh}
. "${NETNS_LIB:-$(dirname "$0")/lib.sh}"

not_online() { ! gestor_state_is "$1" online; }
# backed_off NAME: NAME's log shows reconnect rounds whose wait grew
# from retry.initial (0.1 s) to at least 0.4 s.
backed_off() {
	awk '/peer_gestor: no gestor reachable, retrying in/ {
		for (i = 1; i <= NF; i++) if ($i == "in") d = $(i + 1) + 0
		n++; if (n == 1) first = d; if (d > max) max = d }
	    END { exit !(n >= 3 && first <= 0.1 && max >= 0.4) }' "$TMP/$1.log"
}
ts_ok() { [[ "$1" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]; }

net_setup
net_gestor g
net_peer alice 2 10
net_peer bob 3 10
net_peer carol 2 11
for u in alice bob carol; do register "$u" >/dev/null; done
for u in alice bob carol; do wait_for "$u online" 10 online_at_gestor "$u" online; done
send_rec alice bob "hello bob"
send_rec bob alice "hello alice"
send_rec carol alice "hello alice, from carol"
for u in alice bob carol; do wait_for "$u's queue drained" 10 pending_empty "$u"; done
watch_bg alice "$TMP/alice.events"
hb=$(field alice last_heartbeat)
ts_ok "$hb" || fail "alice's last_heartbeat is '$hb'"

log "stopping the gestor"
stop g TERM
for u in alice bob carol; do wait_for "$u sees the gestor down" 10 not_online "$u"; done
[ -n "$(field alice gestor_error)" ] || fail "alice's status gives no gestor_error"
hb=$(field alice last_heartbeat)
ts_ok "$hb" || fail "alice's last_heartbeat is '$hb' with the gestor down"

# Known contacts: cached addresses.
for i in 1 2 3; do
	send_rec alice bob "gestor down, alice to bob $i"
	send_rec bob alice "gestor down, bob to alice $i"
	send_rec alice carol "gestor down, alice to carol $i"
done
for u in alice bob; do wait_for "$u's queue drained, gestor down" 15 pending_empty "$u"; done

# bob restarts: still reachable at his cached address, and he still
# knows alice's.
stop bob TERM
send_rec alice bob "while bob restarts"
start bob
send_rec bob alice "bob restarted, gestor still down"
for u in alice bob; do wait_for "$u's queue drained after bob's restart" 15 pending_empty "$u"; done

# bob never met carol: that one must wait for the gestor.
send_rec bob carol "bob to carol, never met"
wait_for "bob's message to carol waits with a reason" 10 sh -c \
    "$P2PCHATCTL -c '$TMP/bob.conf' pending | awk -F'\t' '\$2 == \"carol\" && \$5 != \"\" && \$5 != \"-\"' | grep -q ."

wait_for "alice's log shows the reconnect backoff" 15 backed_off alice
[ "$(field alice last_heartbeat)" = "$hb" ] || fail "last_heartbeat moved with the gestor down"

log "starting the gestor again"
start g
for u in alice bob carol; do
	wait_for "$u reconnects by itself" 20 gestor_state_is "$u" online
	wait_for "$u online at the gestor" 10 online_at_gestor "$u" online
done
wait_for "alice told bob is online" 10 grep -q "presence	-	bob	-	online" "$TMP/alice.events"
wait_for "alice told carol is online" 10 grep -q "presence	-	carol	-	online" "$TMP/alice.events"
ctl alice lookup bob | grep -q "^online	online$" || fail "alice does not see bob online"
wait_for "bob's message to carol delivered" 20 pending_empty bob
# The first heartbeat after the resume comes one interval later: the
# checks above can all finish before it is answered.
hb_moved() { [ "$(field alice last_heartbeat)" != "$hb" ]; }
wait_for "alice's last_heartbeat moves" 10 hb_moved
[ -z "$(field alice gestor_error)" ] || fail "gestor_error still shown while online"

check_messages alice bob
check_messages bob alice
check_messages alice carol
check_messages carol alice
check_messages bob carol
log "ok"
