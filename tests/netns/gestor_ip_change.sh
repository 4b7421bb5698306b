#!/usr/bin/env bash
# The gestor changes address while peers are logged in and messages are
# pending: its address in the server subnet is removed and a new one
# added. The peers find it again by themselves, with no command:
#  - variant "hosts": they name it "gestor" and that name is re-resolved
#    on every attempt from the hosts file, which the test rewrites;
#  - variant "list": gestor.addresses lists the old and the new address,
#    and they move on to the next entry when the first stops answering.
# Presence and delivery resume: the messages queued for a user who was
# offline during the move arrive, every acknowledged message once and in
# order.
set -eu

if [ -z "${VARIANT:-}" ]; then
	for v in hosts list; do
		rc=0
		VARIANT=$v "${BASH:-bash}" "$0" || rc=$?
		[ "$rc" = 0 ] || exit "$rc"
	done
	exit 0
fi

case $VARIANT in
hosts) GESTOR_ADDRESSES='"gestor:7000"' ;;
list) GESTOR_ADDRESSES='"198.18.1.10:7000", "198.18.1.20:7000"' ;;
*) echo "unknown VARIANT $VARIANT" >&2; exit 2 ;;
esac
NETNS_LIB=${TESTS_LIB:+$(dirname "$TESTS_LIB")/netns/lib.sh}
. "${NETNS_LIB:-$(dirname "$0")/lib.sh}"
TEST_NAME="$TEST_NAME[$VARIANT]"

auths() { grep -c "gestor: auth $1 from" "$TMP/g.log" || true; }
reconnected() { [ "$(auths "$1")" -gt "$2" ] && gestor_state_is "$1" online; }

net_setup
# The gestor moves, so it listens on the wildcard of its namespace.
net_gestor g "0.0.0.0:$GESTOR_PORT"
net_peer alice 2 10
net_peer bob 3 10
net_peer carol 2 11
for u in alice bob carol; do register "$u" >/dev/null; done
for u in alice bob carol; do
	wait_for "$u online" 10 online_at_gestor "$u" online
done

# Everyone knows everyone.
send_rec alice bob "hello bob"
send_rec bob alice "hello alice"
send_rec alice carol "hello carol"
send_rec bob carol "carol, hi"
for u in alice bob; do wait_for "$u's queue drained" 10 pending_empty "$u"; done
watch_bg alice "$TMP/alice.events"

# carol goes away; alice and bob queue messages for her.
stop carol TERM
wait_for "carol offline" 5 online_at_gestor carol offline
for i in 1 2 3; do
	send_rec alice carol "from alice while away $i"
	send_rec bob carol "from bob while away $i"
done
ctl alice pending | grep -q "	carol	" || fail "nothing pending for carol"

# The move, while alice and bob are logged in and messages wait.
a0=$(auths alice) b0=$(auths bob)
log "moving the gestor from 198.18.1.10 to 198.18.1.20"
set_addr g 20
if [ "$VARIANT" = hosts ]; then
	for u in alice bob carol; do hosts_set "$u" "198.18.1.20	gestor"; done
fi
# Delivery between peers that know each other does not wait for it.
for i in 1 2 3; do
	send_rec alice bob "during the move $i"
	send_rec bob alice "during the move, back $i"
done

wait_for "alice found the moved gestor" 30 reconnected alice "$a0"
wait_for "bob found the moved gestor" 30 reconnected bob "$b0"
grep -q "gestor: auth alice from 198.18.2.10" "$TMP/g.log" || fail "no auth from alice"
if [ "$VARIANT" = list ]; then
	for u in alice bob; do
		grep -q "peer_gestor: online as $u via 198.18.1.20:$GESTOR_PORT" \
		    "$TMP/$u.log" || fail "$u did not move on to the second address"
		[ "$(field "$u" gestor)" = "198.18.1.20:$GESTOR_PORT" ] ||
			fail "$u's status names gestor $(field "$u" gestor)"
	done
fi
[ -n "$(field alice last_heartbeat)" ] || fail "no last_heartbeat"

# carol comes back, at a gestor she never saw at this address.
start carol
wait_for "carol online" 20 online_at_gestor carol online
wait_for "alice told carol is online" 10 grep -q "presence	-	carol	-	online" "$TMP/alice.events"
for u in alice bob; do wait_for "$u's queue drained" 20 pending_empty "$u"; done
for u in alice bob carol; do
	online_at_gestor "$u" online || fail "$u not online at the gestor"
done
ctl alice lookup bob | grep -q "^online	online$" || fail "alice does not see bob online"

# After the move, everything still works, both ways.
send_rec carol alice "carol after the move"
send_rec alice carol "alice after the move"
for u in alice carol; do wait_for "$u's queue drained" 10 pending_empty "$u"; done

check_messages alice bob
check_messages bob alice
check_messages alice carol
check_messages bob carol
check_messages carol alice
log "ok"
