#!/usr/bin/env bash
# Peers behind NAT: alice (198.18.4.10) and bobby (198.18.5.10) each sit
# behind a home router of their own (nftables masquerade, no port
# forwarding; bobby's router also drops unsolicited packets silently),
# carol and the gestor are on the public subnet. Nobody can connect to
# alice or bobby, so:
#   - alice <-> bobby chat both ways through the gestor's relay ("direct
#     failed" first, then the relay; the route and why show in lookup);
#   - alice -> carol goes direct, carol -> alice through the relay;
#   - the relay's traffic, recorded with tcpdump, holds no message text
#     and no username, only TLS records after the key preamble;
#   - a file from alice to bobby goes through the relay, byte for byte;
#   - a message queued while bobby is down is relayed when he returns;
#   - kill -9 of the gestor (and its relay) in the middle of a stream of
#     messages: after the restart every one is delivered once, in order;
#   - 5% random loss on alice's home link: still exactly once, in order.
#   N=n sets the stream length (default 1000).
set -eu
NETNS_LIB=${TESTS_LIB:+$(dirname "$TESTS_LIB")/netns/lib.sh}
. "${NETNS_LIB:-$(dirname "$0")/lib.sh}"
command -v tcpdump >/dev/null 2>&1 ||
	netns_skip "tcpdump is not installed; Debian: apt-get install tcpdump"

N=${N:-1000}
net_setup
net_nat nat1 2 254 4
net_nat nat2 3 254 5
# bobby's router drops what nobody asked for (no RST): direct times out.
ip netns exec "${NS_OF[nat2]}" nft -f - <<'NFT'
table ip fw {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "wan0" ct state new drop
	}
}
NFT
net_gestor g
net_peer alice 4 10
net_peer bobby 5 10
net_peer carol 1 20
for u in alice bobby carol; do
	ctl "$u" register "$u" --password-file "$(password "$u")" >/dev/null ||
		fail "register $u"
done
for u in alice bobby carol; do wait_for "$u online" 10 online_at_gestor "$u" online; done
# The gestor sees the home routers' WAN addresses, nothing behind them.
ctl g lookup alice | grep -q "^addr	198.18.2.254$" || fail "alice's address: $(ctl g lookup alice)"

# route_is NAME USER ROUTE: NAME's lookup of USER shows that route.
route_is() {
	ctl "$1" lookup "$2" | grep -q "^route	$3\$"
}

# ------------------------------------------------------------ both ways
# The relay's traffic is recorded in the gestor's namespace.
ip netns exec "${NS_OF[g]}" tcpdump -i eth0 -n -U -s 0 -w "$TMP/relay.pcap" \
    tcp port 7002 2>"$TMP/tcpdump.err" &
TCPDUMP=$!
wait_for "tcpdump to listen" 10 grep -q "listening on" "$TMP/tcpdump.err"
send_rec alice bobby "hello bobby, from behind my NAT"
send_rec bobby alice "hello alice, from behind mine"
send_rec alice carol "hello carol"
send_rec carol alice "hello alice, from the public side"
for i in 1 2 3; do
	send_rec alice bobby "secret-text-a2b-$i"
	send_rec bobby alice "secret-text-b2a-$i"
done
for p in alice bobby carol; do wait_for "$p's queue to drain" 60 pending_empty "$p"; done
check_messages alice bobby
check_messages bobby alice
check_messages alice carol
check_messages carol alice
kill -INT "$TCPDUMP"
wait "$TCPDUMP" || true

route_is alice bobby relay || fail "alice -> bobby: $(ctl alice lookup bobby)"
route_is bobby alice relay || fail "bobby -> alice: $(ctl bobby lookup alice)"
route_is alice carol direct || fail "alice -> carol: $(ctl alice lookup carol)"
route_is carol alice relay || fail "carol -> alice: $(ctl carol lookup alice)"
ctl carol lookup alice | grep -q "^route_why	direct failed: connect: Connection refused$" ||
	fail "carol's route_why: $(ctl carol lookup alice)"
ctl alice lookup bobby | grep -q "^route_why	direct failed: handshake timeout$" ||
	fail "alice's route_why: $(ctl alice lookup bobby)"

# The recording: the preamble in clear, then only ciphertext.
[ "$(stat -c %s "$TMP/relay.pcap")" -gt 2000 ] || fail "nothing recorded"
grep -aq "P2PCHAT-RELAY/1 " "$TMP/relay.pcap" || fail "no relay preamble recorded"
for s in secret-text alice bobby carol hello; do
	! grep -aq "$s" "$TMP/relay.pcap" || fail "'$s' readable in the relay's traffic"
done
log "relay traffic: $(stat -c %s "$TMP/relay.pcap") bytes recorded, no text, no name"

# ---------------------------------------------------------------- a file
# A file takes the relayed link too (issue 29), byte for byte, checked.
head -c $((1536 * 1024 + 4321)) /dev/urandom >"$TMP/f"
ctl alice send-file --wait=120 bobby "$TMP/f" >/dev/null ||
	fail "send-file through the relay: $(ctl alice files bobby)"
cmp "$TMP/f" "$TMP/bobby/files/$(sha256sum <"$TMP/f" | cut -d' ' -f1)" ||
	fail "the file differs through the relay"
route_is alice bobby relay || fail "the file's route: $(ctl alice lookup bobby)"

# ------------------------------------------------------------- offline
stop bobby KILL
wait_for "bobby offline" 10 online_at_gestor bobby offline
send_rec alice bobby "queued while bobby was away"
start bobby
wait_for "alice's queue to drain" 60 pending_empty alice
check_messages alice bobby
grep -q "relay paired for alice" "$TMP/bobby.log" || fail "not relayed"

# ----------------------------------------------- gestor killed mid-stream
: >"$TMP/sent.alice.bobby"
half=$((N / 2))
for i in $(seq 1 "$N"); do
	send_rec alice bobby "stream $i"
	if [ "$i" = "$half" ]; then
		log "SIGKILL the gestor and its relay at message $i"
		stop g KILL
	fi
	if [ "$i" = $((half + N / 10)) ]; then
		start g
	fi
done
alive g || start g
wait_for "the stream to drain" 180 pending_empty alice
check_messages alice bobby
ctl g stats | grep -q "^relay_sessions_total	[1-9]" || fail "relay stats: $(ctl g stats)"

# ------------------------------------------------------------ lossy link
nat_lossy nat1 5
: >"$TMP/sent.alice.bobby"
: >"$TMP/sent.bobby.alice"
for i in $(seq 1 100); do
	send_rec alice bobby "lossy a2b $i"
	send_rec bobby alice "lossy b2a $i"
done
wait_for "alice's queue to drain over the lossy link" 180 pending_empty alice
wait_for "bobby's queue to drain over the lossy link" 180 pending_empty bobby
nat_lossless nat1
check_messages alice bobby
check_messages bobby alice
log "ok"
