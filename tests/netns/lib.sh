# Helpers for the network-namespace tests: a router namespace joins a
# server subnet and two client subnets inside 198.18.0.0/15, every daemon
# runs in a namespace of its own, and everything is torn down on exit.
# Source it from a test under tests/netns; set -eu is expected.
#
#   198.18.1.0/24  server subnet    br1 in the router is 198.18.1.1
#   198.18.2.0/24  client subnet 2  br2 in the router is 198.18.2.1
#   198.18.3.0/24  client subnet 3  br3 in the router is 198.18.3.1
#
#   net_nat adds home subnets (198.18.4.0/24, ...) behind NAT routers of
#   their own: see "NAT routers" below.
#
# Each host namespace has one veth (eth0) plugged into its subnet's bridge
# in the router namespace (or in its NAT router's), a default route via the router, IPv6 off (no
# link-local chatter) and its own /etc/netns/NS/{hosts,resolv.conf}: ip
# netns exec bind-mounts them over /etc, so "gestor" is a per-namespace
# name that a test moves by rewriting the file in place. The resolver
# points at 127.0.0.1, so no name ever leaves the namespace. No address
# outside 198.18.0.0/15 and 127.0.0.0/8 is ever configured or contacted.
#
# Daemons are started with `ip netns exec NS p2pchatd -c CONF`; the
# p2pchatctl calls reach them from the root namespace through their Unix
# control sockets (a path, not a network address).

netns_skip() {
	printf '%s: SKIP: %s\n' "$(basename "$0" .sh)" "$*" >&2
	exit 77
}

if [ "$(id -u)" != 0 ]; then
	netns_skip "network-namespace tests need root (ip netns, veth, bridges); run 'make check' as root to include them"
fi
command -v ip >/dev/null 2>&1 || netns_skip "the 'ip' command (iproute2) is not installed"

# A short id, unique per run: pid + random, so parallel or aborted runs
# never collide. Namespace names stay within 15 characters.
for _try in 1 2 3 4 5 6 7 8; do
	NETNS_ID=$(printf '%05x%02x' $(( $$ % 1048576 )) $(( RANDOM % 256 )))
	[ -e "/run/netns/p2${NETNS_ID}r" ] || break
done
unset _try
NETNS_PREFIX="p2${NETNS_ID}"
ROUTER_NS="${NETNS_PREFIX}r"
NETNS_LIST=()

netns_cleanup() {
	local rc=$? ns pid name
	set +e
	trap - EXIT INT TERM HUP
	if declare -F cleanup >/dev/null; then
		for name in "${!PIDS[@]}"; do
			kill -CONT "${PIDS[$name]}" 2>/dev/null
		done
		# lib.sh's cleanup: SIGKILL every daemon, wait, remove TMP.
		cleanup
	fi
	for ns in "${NETNS_LIST[@]}"; do
		# Anything still running inside our own namespaces is ours.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	exit "$rc"
}

# A probe: some containers refuse new namespaces even to root.
if ! ip netns add "$ROUTER_NS" 2>/dev/null; then
	netns_skip "cannot create a network namespace here (ip netns add failed)"
fi
NETNS_LIST+=("$ROUTER_NS")
trap netns_cleanup EXIT

. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# lib.sh set its own EXIT trap: ours calls it, then removes the namespaces.
trap netns_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

GESTOR_PORT=7000
PEER_PORT=7001
HANDSHAKE_TIMEOUT=${HANDSHAKE_TIMEOUT:-2.0}
declare -A NS_OF=() ADDR_OF=() LISTEN_OF=() SUBNET_OF=()
# Which namespace holds subnet N's bridge brN (default: the router).
declare -A ROUTER_OF=()
# What a peer's config names the gestor by (a libconfig list body).
GESTOR_ADDRESSES=${GESTOR_ADDRESSES:-'"gestor:7000"'}

no_ipv6() {
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
	    net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
}

# net_setup: the router and its three bridges.
net_setup() {
	local n
	no_ipv6 "$ROUTER_NS"
	ip -n "$ROUTER_NS" link set lo up
	ip netns exec "$ROUTER_NS" sysctl -qw net.ipv4.ip_forward=1
	for n in 1 2 3; do
		ip -n "$ROUTER_NS" link add "br$n" type bridge
		ip -n "$ROUTER_NS" addr add "198.18.$n.1/24" dev "br$n"
		ip -n "$ROUTER_NS" link set "br$n" up
	done
}

# hosts_set NAME LINE...: rewrite NAME's hosts file in place (the bind
# mount of a running daemon keeps pointing at the same inode).
hosts_set() {
	local ns=${NS_OF[$1]}
	shift
	{
		printf '127.0.0.1\tlocalhost\n'
		printf '%s\n' "$@"
	} >"/etc/netns/$ns/hosts"
}

# add_host NAME SUBNET HOST: namespace for NAME at 198.18.SUBNET.HOST.
add_host() {
	local name=$1 subnet=$2 host=$3 ns="${NETNS_PREFIX}-$1"
	[ ${#ns} -le 15 ] || fail "namespace name $ns is too long (host names: 5 characters at most)"
	ip netns add "$ns"
	NETNS_LIST+=("$ns")
	NS_OF[$name]=$ns
	SUBNET_OF[$name]=$subnet
	mkdir -p "/etc/netns/$ns"
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
	    >"/etc/netns/$ns/resolv.conf"
	hosts_set "$name" "198.18.1.10	gestor"
	no_ipv6 "$ns"
	ip -n "$ns" link set lo up
	local router=${ROUTER_OF[$subnet]:-$ROUTER_NS}
	ip link add eth0 netns "$ns" type veth peer name "h-$name" \
	    netns "$router"
	ip -n "$router" link set "h-$name" master "br$subnet" up
	ip -n "$ns" link set eth0 up
	set_addr "$name" "$host"
}

# set_addr NAME HOST: give NAME the address 198.18.SUBNET.HOST instead of
# the one it has. Removing the last address also removes the default
# route, so it is put back.
set_addr() {
	local name=$1 ns=${NS_OF[$1]} new="198.18.${SUBNET_OF[$1]}.$2"
	if [ -n "${ADDR_OF[$name]:-}" ]; then
		ip -n "$ns" addr del "${ADDR_OF[$name]}/24" dev eth0
	fi
	ip -n "$ns" addr add "$new/24" dev eth0
	ip -n "$ns" route replace default via "198.18.${SUBNET_OF[$name]}.1"
	ADDR_OF[$name]=$new
}

# drop_addr NAME: remove NAME's address (and so its default route).
drop_addr() {
	ip -n "${NS_OF[$1]}" addr del "${ADDR_OF[$1]}/24" dev eth0
	ADDR_OF[$1]=
}

write_conf() {
	local name=$1 mode=$2 extra=$3
	cat >"$TMP/$name.conf" <<CONF
mode = "$mode";
data_dir = "$TMP/$name";
control_socket = "$TMP/$name.ctl/ctl.sock";
listen = "${LISTEN_OF[$name]}";
log_level = "debug";
heartbeat = { interval = $HB_INTERVAL; timeout = $HB_TIMEOUT; };
retry = { initial = 0.1; max = 1.0; };
limits = { handshake_timeout = $HANDSHAKE_TIMEOUT; $(stranger_limits) };
$extra
CONF
	chmod 600 "$TMP/$name.conf"	# p2pchatd refuses a config others may read
}

# start NAME: (re)start NAME's daemon in its namespace; wait until ready.
start() {
	local name=$1
	ip netns exec "${NS_OF[$name]}" "$P2PCHATD" -c "$TMP/$name.conf" \
	    >>"$TMP/$name.log" 2>&1 &
	PIDS[$name]=$!
	wait_for "$name to serve its control socket" 20 started "$name"
	alive "$name" ||
		fail "$name's daemon exited at startup: $(tail -n 3 "$TMP/$name.log")"
}

# started NAME: ready, or dead (no use waiting then).
started() {
	! alive "$1" || ctl "$1" status
}

# net_gestor NAME [LISTEN]: a gestor host at 198.18.1.10. A gestor that
# will move listens on the wildcard of its own namespace ("0.0.0.0:7000",
# which only ever holds its 198.18.1.x address and loopback).
net_gestor() {
	local name=$1
	add_host "$name" 1 10
	LISTEN_OF[$name]=${2:-198.18.1.10:$GESTOR_PORT}
	write_conf "$name" gestor ""
	start "$name"
}

# net_peer NAME SUBNET HOST [LISTEN]: a peer host in a client subnet.
net_peer() {
	local name=$1
	add_host "$name" "$2" "$3"
	LISTEN_OF[$name]=${4:-${ADDR_OF[$name]}:$PEER_PORT}
	write_conf "$name" peer "gestor = { addresses = [ $GESTOR_ADDRESSES ]; };"
	start "$name"
}

# ------------------------------------------------------------ NAT routers
# net_nat NAME WAN_SUBNET WAN_HOST LAN_SUBNET: a home router namespace
# with its WAN side (wan0) at 198.18.WAN_SUBNET.WAN_HOST and a LAN bridge
# brLAN_SUBNET at 198.18.LAN_SUBNET.1. nftables masquerades what leaves
# wan0; nothing is forwarded in (no port forwarding), and the main router
# has no route to the LAN: hosts added to LAN_SUBNET can connect out,
# nobody can connect to them. Needs nft (exits 77 without it).
net_nat() {
	local name=$1 wan=$2 host=$3 lan=$4 ns="${NETNS_PREFIX}-$1"
	command -v nft >/dev/null 2>&1 ||
		netns_skip "nftables (nft) is not installed; Debian: apt-get install nftables"
	[ ${#ns} -le 15 ] || fail "namespace name $ns is too long"
	ip netns add "$ns"
	NETNS_LIST+=("$ns")
	NS_OF[$name]=$ns
	ROUTER_OF[$lan]=$ns
	no_ipv6 "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
	ip link add wan0 netns "$ns" type veth peer name "n-$name" \
	    netns "$ROUTER_NS"
	ip -n "$ROUTER_NS" link set "n-$name" master "br$wan" up
	ip -n "$ns" addr add "198.18.$wan.$host/24" dev wan0
	ip -n "$ns" link set wan0 up
	ip -n "$ns" route add default via "198.18.$wan.1"
	ip -n "$ns" link add "br$lan" type bridge
	ip -n "$ns" addr add "198.18.$lan.1/24" dev "br$lan"
	ip -n "$ns" link set "br$lan" up
	ip netns exec "$ns" nft -f - <<NFT || fail "nft: cannot set up NAT in $ns"
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan0" masquerade
	}
}
table ip filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		iifname "br$lan" oifname "wan0" accept
		iifname "wan0" oifname "br$lan" ct state established,related accept
	}
}
NFT
}

# nat_lossy NAME PERCENT: NAME's NAT router drops PERCENT % of the
# packets it forwards, both ways, at random.
nat_lossy() {
	ip netns exec "${NS_OF[$1]}" nft -f - <<NFT
table ip loss {
	chain forward {
		type filter hook forward priority -10; policy accept;
		numgen random mod 100 < $2 drop
	}
}
NFT
}

nat_lossless() {
	ip netns exec "${NS_OF[$1]}" nft delete table ip loss
}

# ------------------------------------------------------------- partitions
# Drop rules inside the router namespace (policy routing "blackhole":
# packets vanish silently, like a cut cable, with no ICMP to help).

# block FROM TO: drop forwarded packets from prefix FROM to prefix TO.
block() {
	ip -n "$ROUTER_NS" rule add from "$1" to "$2" blackhole
}

unblock() {
	ip -n "$ROUTER_NS" rule del from "$1" to "$2" blackhole
}

# isolate N / rejoin N: cut client subnet N off from everyone, and back.
isolate() {
	ip -n "$ROUTER_NS" rule add from "198.18.$1.0/24" blackhole
	ip -n "$ROUTER_NS" rule add to "198.18.$1.0/24" blackhole
}

rejoin() {
	ip -n "$ROUTER_NS" rule del from "198.18.$1.0/24" blackhole
	ip -n "$ROUTER_NS" rule del to "198.18.$1.0/24" blackhole
}

# ---------------------------------------------------------------- checks

online_at_gestor() {
	ctl "$GESTOR" lookup "$1" | grep -q "^online	$2\$"
}

# pending_empty NAME: NAME's daemon answers, and nothing waits there.
pending_empty() {
	local out
	out=$(ctl "$1" pending) && [ -z "$out" ]
}

# send_rec FROM TO TEXT: send, and record the id if send acknowledged it.
send_rec() {
	local id
	id=$(ctl "$1" send "$2" "$3") || fail "send $1 -> $2 ($3) failed"
	printf '%s\n' "$id" >>"$TMP/sent.$1.$2"
}

# alive NAME: NAME's daemon runs (a killed one not yet reaped is a
# zombie: kill -0 would still succeed).
alive() {
	local pid=${PIDS[$1]:-} st
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
	st=$(sed 's/.*) \(.\).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

GESTOR=${GESTOR:-g}

. "$(dirname "${BASH_SOURCE[0]}")/check_messages.sh"
