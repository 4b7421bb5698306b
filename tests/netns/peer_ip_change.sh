#!/usr/bin/env bash
# A peer changes address while others hold pending messages for it. Its
# next heartbeat (on a new connection, from the new address) updates the
# gestor, the gestor tells its contacts, and their pending messages
# arrive, once each and in order. Twice: a slow move (gone for longer
# than the heartbeat timeout, so the gestor marks it offline first) and a
# quick one (the address changes between two heartbeats, over
# connections that look established on both sides).
set -eu
NETNS_LIB=${TESTS_LIB:+$(dirname "$TESTS_LIB")/netns/lib.sh}
. "${NETNS_LIB:-$(dirname "$0")/lib.sh}"

at_gestor() { ctl g lookup bob | grep -q "^addr	$1\$"; }
known_at() { ctl "$1" lookup bob | grep -q "^addr	$2\$"; }

net_setup
net_gestor g
net_peer alice 2 10
# bob moves, so he listens on the wildcard of his namespace.
net_peer bob 3 10 "0.0.0.0:$PEER_PORT"
net_peer carol 2 11
for u in alice bob carol; do register "$u" >/dev/null; done
for u in alice bob carol; do
	wait_for "$u online" 10 online_at_gestor "$u" online
done
send_rec alice bob "hello bob"
send_rec carol bob "hello bob, from carol"
send_rec bob alice "hello alice"
for u in alice bob carol; do wait_for "$u's queue drained" 10 pending_empty "$u"; done
at_gestor 198.18.3.10 || fail "bob not at 198.18.3.10"
watch_bg alice "$TMP/alice.events"

# 1. Slow move: bob loses his address; alice and carol queue messages.
drop_addr bob
for i in 1 2 3; do
	send_rec alice bob "alice, bob has no address $i"
	send_rec carol bob "carol, bob has no address $i"
done
wait_for "bob offline at the gestor" 10 online_at_gestor bob offline
wait_for "alice told bob is offline" 5 grep -q "presence	-	bob	-	offline" "$TMP/alice.events"
ctl alice pending | grep -q "	bob	" || fail "alice has nothing pending for bob"
set_addr bob 20
wait_for "the gestor learns bob's new address" 20 at_gestor 198.18.3.20
wait_for "bob online again" 10 online_at_gestor bob online
grep -q "gestor: bob online at 198.18.3.20:$PEER_PORT" "$TMP/g.log" ||
	fail "the gestor did not log bob's new address"
for u in alice carol; do
	wait_for "$u's messages to bob delivered" 20 pending_empty "$u"
	wait_for "$u knows bob's new address" 5 known_at "$u" 198.18.3.20
done
send_rec bob alice "bob from his new address"
wait_for "bob's queue drained" 10 pending_empty bob

# 2. Quick move: the address changes between two heartbeats. The
# connections to and from the old address look fine until they time out.
set_addr bob 30
for i in 1 2 3; do
	send_rec alice bob "alice, quick move $i"
	send_rec carol bob "carol, quick move $i"
	send_rec bob alice "bob, quick move $i"
done
wait_for "the gestor learns bob's newer address" 20 at_gestor 198.18.3.30
for u in alice carol bob; do
	wait_for "$u's queue drained after the quick move" 20 pending_empty "$u"
done
known_at alice 198.18.3.30 || fail "alice does not know bob's address"
online_at_gestor bob online || fail "bob not online"

check_messages alice bob
check_messages carol bob
check_messages bob alice
log "ok"
