#!/usr/bin/env bash
# docker/docker-compose.yml is a valid compose file (`docker-compose config`,
# Debian's docker-compose package) describing the original topology: the
# gestor at a fixed address of the server subnet, a peer in each client
# subnet, a router on all three, addresses inside 198.18.0.0/15, health
# checks with `p2pchatctl status`. Needs no Docker engine; skipped (77)
# without docker-compose.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
docker=$(cd "$(dirname "$TESTS_LIB")/../docker" && pwd)

for f in Dockerfile docker-compose.yml entrypoint.sh gestor.conf peer.conf README.md \
    gestor-pg.conf peer-cluster.conf postgres-init.sh Dockerfile.postgres \
    peer-relay.conf; do
	[ -f "$docker/$f" ] || fail "docker/$f is missing"
done
sh -n "$docker/entrypoint.sh" || fail "entrypoint.sh: syntax"
sh -n "$docker/postgres-init.sh" || fail "postgres-init.sh: syntax"
# The containers' configs are valid p2pchatd configs.
for c in gestor peer gestor-pg peer-cluster peer-relay; do
	# Their paths are the container's; check only the syntax and values.
	sed -e "s|/var/lib/p2pchat|$TMP/data-$c|" -e "s|/run/p2pchat|$TMP/run-$c|" \
	    "$docker/$c.conf" >"$TMP/$c.conf"
	chmod 600 "$TMP/$c.conf"
	"$P2PCHATD" -c "$TMP/$c.conf" --check-config >/dev/null ||
		fail "docker/$c.conf does not load"
done
grep -q '^FROM debian:12' "$docker/Dockerfile" || fail "Dockerfile: not Debian 12"
[ "$(grep -c '^FROM ' "$docker/Dockerfile")" -ge 2 ] || fail "Dockerfile: not multi-stage"
# Its last stage is the default target, what `docker build` and compose
# (no target) make: p2pchat's image.
awk '/^FROM /{ s = "" } { s = s $0 "\n" } END { printf "%s", s }' "$docker/Dockerfile" |
    grep -q '^ENTRYPOINT \["/usr/local/bin/p2pchat-entrypoint"\]' ||
	fail "Dockerfile: the last stage is not p2pchat's image"
grep -q 'setpriv --reuid=p2pchat' "$docker/entrypoint.sh" || fail "daemon not run as p2pchat"

if ! command -v docker-compose >/dev/null 2>&1; then
	log "SKIP: no docker-compose (apt-get install docker-compose)"
	exit 77
fi

# The build context docker-compose sends (docker-py packs it, reading
# .dockerignore at the top of the tree): a tree with history, demo accounts
# and build output planted in it sends the sources only. The Docker test
# (tests/docker/compose_demo.sh) checks BuildKit's the same way.
. "$(dirname "$TESTS_LIB")/docker/lib.sh"
[ ! -e "$docker/Dockerfile.dockerignore" ] ||
	fail "docker/Dockerfile.dockerignore: BuildKit would read it, docker-compose not"
context_tree "$TMP/ctx"
legacy_context "$TMP/ctx" >"$TMP/ctx.list" || fail "cannot list the build context"
context_check docker-compose "$TMP/ctx.list"

# `config` resolves the file (paths relative to it, variables) and prints
# the result; no engine is contacted. Check it with the default gestor
# address and with the moved one.
cd "$docker"
docker-compose -f docker-compose.yml config >"$TMP/config.yml" 2>"$TMP/config.err" ||
	fail "docker-compose config: $(cat "$TMP/config.err")"
GESTOR_IP=198.18.1.30 docker-compose -f docker-compose.yml config \
    >"$TMP/moved.yml" 2>"$TMP/moved.err" || fail "with GESTOR_IP: $(cat "$TMP/moved.err")"
[ ! -s "$TMP/config.err" ] || fail "docker-compose config warned: $(cat "$TMP/config.err")"

# The resolved file's facts, read with the YAML parser of the Python that
# runs docker-compose.
py=$(sed -n '1s/^#! *//p' "$(command -v docker-compose)")
case $py in */python*) ;; *) py=python3 ;; esac
$py - "$TMP/config.yml" "$TMP/moved.yml" <<'EOF' || fail "topology check failed"
import ipaddress, sys, yaml

def check(path, gestor_ip):
    c = yaml.safe_load(open(path))
    s, n = c["services"], c["networks"]
    block = ipaddress.ip_network("198.18.0.0/15")
    # The profile "postgresql" (a database, two gestors sharing it, two
    # peers that list both) only starts when asked for.
    pg = {"db", "gestor1", "gestor2", "carol", "dave"}
    relay = {"erin"}
    assert set(s) == {"router", "gestor", "alice", "bob"} | pg | relay, sorted(s)
    for name in s:
        assert (s[name].get("profiles") == ["postgresql"]) == (name in pg), name
        assert (s[name].get("profiles") == ["relay"]) == (name in relay), name
    subnets = {}
    for name, net in n.items():
        sub = ipaddress.ip_network(net["ipam"]["config"][0]["subnet"])
        assert sub.subnet_of(block), (name, sub)
        subnets[name] = sub
    where = {"gestor": "server", "alice": "client_a", "bob": "client_b",
             "erin": "client_b"}
    for svc, net in where.items():
        nets = s[svc]["networks"]
        assert list(nets) == [net], (svc, nets)
        ip = ipaddress.ip_address(nets[net]["ipv4_address"])
        assert ip in subnets[net], (svc, ip)
        hc = s[svc]["healthcheck"]["test"]
        assert "p2pchatctl" in hc and "status" in hc, (svc, hc)
        assert "P2PCHAT_ROUTES" in s[svc]["environment"], svc
    assert s["gestor"]["environment"]["P2PCHAT_CONFIG"] == "/etc/p2pchat/gestor.conf"
    assert s["gestor"]["networks"]["server"]["ipv4_address"] == gestor_ip
    for peer in ("alice", "bob", "erin"):
        assert "gestor:" + gestor_ip in s[peer]["extra_hosts"], s[peer]["extra_hosts"]
        assert s[peer]["depends_on"]["gestor"]["condition"] == "service_healthy"
    assert set(s["router"]["networks"]) == set(n), s["router"]["networks"]
    assert s["router"]["sysctls"]["net.ipv4.ip_forward"] in ("1", 1)
    pgwhere = {"db": "server", "gestor1": "server", "gestor2": "server",
               "carol": "client_a", "dave": "client_b"}
    for svc, net in pgwhere.items():
        ip = ipaddress.ip_address(s[svc]["networks"][net]["ipv4_address"])
        assert ip in subnets[net], (svc, ip)
    assert s["db"]["build"]["dockerfile"] == "docker/Dockerfile.postgres"
    assert "target" not in s["alice"]["build"], s["alice"]["build"]
    assert s["erin"]["environment"]["P2PCHAT_CONFIG"] == "/etc/p2pchat/peer-relay.conf"
    for g in ("gestor1", "gestor2"):
        assert s[g]["environment"]["P2PCHAT_CONFIG"] == "/etc/p2pchat/gestor-pg.conf"
        assert s[g]["healthcheck"]["test"][-1] == "status"
    assert s["gestor1"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert s["gestor2"]["environment"]["P2PCHAT_KEY_FROM"] == "/seed/identity.key"
    for peer in ("carol", "dave"):
        assert s[peer]["environment"]["P2PCHAT_CONFIG"] == "/etc/p2pchat/peer-cluster.conf"
        assert "gestor1:198.18.1.21" in s[peer]["extra_hosts"], s[peer]["extra_hosts"]

check(sys.argv[1], "198.18.1.3")
check(sys.argv[2], "198.18.1.30")
EOF
# Every address in the docker files is inside 198.18.0.0/15.
grep -ohE '\b[0-9]{1,3}(\.[0-9]{1,3}){3}\b' "$docker"/docker-compose.yml \
    "$docker"/*.conf "$docker"/*.sh "$docker"/README.md | sort -u | while read -r a; do
	case $a in
	198.18.* | 198.19.* | 0.0.0.0 | 127.0.0.1) ;;
	*) fail "address $a outside 198.18.0.0/15" ;;
	esac
done
log "ok"
