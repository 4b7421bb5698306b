#!/usr/bin/env bash
# The original project's demo, played for real in docker/docker-compose.yml:
# the image built by docker-compose 1.29 (legacy builder) and by BuildKit,
# the containers up and healthy, alice and bob registered from their
# containers, a message from one client subnet to the other through the
# router, erin (profile relay) reached only through the gestor's relay,
# offline delivery across a stop and start of the recipient, the gestor
# moved to 198.18.1.30 with every peer finding it again, messages after the
# move, and the move made permanent with GESTOR_IP as docker/README.md
# says. Both builders must also send the build context .dockerignore
# describes, no more. compose_cluster.sh plays the PostgreSQL cluster.
#
# Needs root and Docker (docker.io, docker-compose, and debootstrap when the
# engine has no debian:12): skipped (77) otherwise, or when another p2pchat
# deployment holds the topology's names. P2PCHAT_DOCKER_TEST=skip skips it
# too: CI runs it once, in the first of its three `make check` trees.
# Starts dockerd when none runs (and stops it again), see tests/docker/lib.sh.
# Everything the test makes goes, also when it fails half-way: containers,
# networks, volumes and the images it tagged. It keeps debian:12 and the
# build cache for the next run (`docker builder prune; docker image prune`
# remove them). Measured on 2 CPUs shared with other work (load 5 to 10):
# 7 minutes with every layer cold (plus 1 for debian:12), 3 to 6 after a
# source change (both builders compile again), 2 with nothing changed.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
. "$(dirname "$TESTS_LIB")/docker/lib.sh"
docker_test_begin docker-compose.yml
src=$SRC
EXTRA_IMAGES=("p2pchat-test:$PROJECT-buildkit")
BK_IMAGE=${EXTRA_IMAGES[0]}
# erin (profile relay) takes part too.
export COMPOSE_PROFILES=relay
NAMES="router gestor alice bob erin"

# ------------------------------------------------------------ build context
# Both builders send what .dockerignore says: a tree with everything that
# must stay out planted in it, and the real tree, listed by both.
[ ! -e "$src/docker/Dockerfile.dockerignore" ] ||
	fail "docker/Dockerfile.dockerignore exists: BuildKit would read it instead of .dockerignore"
BK=$(docker_buildkit_cli) ||
	fail "no docker client here builds with BuildKit (Debian's docker.io 20.10 does)"
context_tree "$TMP/ctx"
# bk_context DIR DOCKERFILE: the files BuildKit sends, copied out by a
# Dockerfile that copies its whole context.
bk_context() {
	rm -rf "$TMP/bk-out"
	printf 'FROM scratch\nCOPY . /\n' >"$2"
	DOCKER_BUILDKIT=1 "$BK" build -q -f "$2" -o "type=local,dest=$TMP/bk-out" "$1" \
	    >"$TMP/bk-ctx.log" 2>&1 ||
		fail "BuildKit could not build the context probe: $(tail -n 5 "$TMP/bk-ctx.log")"
	(cd "$TMP/bk-out" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort)
}
# Here the probe is docker/Dockerfile itself, so BuildKit looks for the
# ignore file where it does for the real one.
bk_context "$TMP/ctx" "$TMP/ctx/docker/Dockerfile" >"$TMP/bk.list"
legacy_context "$TMP/ctx" >"$TMP/legacy.list"
context_check BuildKit "$TMP/bk.list"
context_check docker-compose "$TMP/legacy.list"
# The real tree (read-only in make distcheck): the probe sits outside it,
# and with no docker/Dockerfile.dockerignore BuildKit reads .dockerignore
# for it as for docker/Dockerfile.
mkdir "$TMP/probe"
bk_context "$src" "$TMP/probe/Dockerfile" >"$TMP/bk-real.list"
legacy_context "$src" >"$TMP/legacy-real.list"
diff -u "$TMP/legacy-real.list" "$TMP/bk-real.list" >"$TMP/real.diff" ||
	fail "docker-compose and BuildKit send different contexts (- compose, + BuildKit): $(head -n 40 "$TMP/real.diff")"
! grep -E '^(\.git|demo|_build|build[^/]*|autom4te\.cache)/|\.o$|\.log$' \
    "$TMP/legacy-real.list" >"$TMP/leaks" ||
	fail "the build context holds what must stay out: $(head "$TMP/leaks")"
log "build context: $(wc -l <"$TMP/legacy-real.list") files, the same for both builders"
stamp "contexts checked"

# -------------------------------------------------------------- the image
# BuildKit first (nothing to run), then the legacy builder through
# `docker-compose up -d --build`, the first command of docker/README.md.
DOCKER_BUILDKIT=1 "$BK" build -f "$src/docker/Dockerfile" -t "$BK_IMAGE" "$src" \
    >"$TMP/build-buildkit.log" 2>&1 ||
	fail "BuildKit build failed: $(tail -n 30 "$TMP/build-buildkit.log")"
docker run --rm --entrypoint p2pchatd "$BK_IMAGE" --version >/dev/null ||
	fail "the BuildKit image does not run p2pchatd"
stamp "BuildKit build done"
dc up -d --build >"$TMP/up.log" 2>&1 || fail "docker-compose up --build: $(tail -n 30 "$TMP/up.log")"
stamp "legacy build done, containers created"

poll "the containers to be healthy" 180 healthy $NAMES
stamp "all healthy"

# ------------------------------------------------------------- the demo
forwarded() {
	docker exec p2pchat-router awk '$1 == "Ip:" && $2 ~ /^[0-9]+$/ { print $7 }' \
	    /proc/net/snmp
}

# Register the two users, each from its own container.
register alice alice alice-pass-1
register bob bob bob-pass-12
register erin erin erin-pass-1
poll "the gestor to list alice and bob online at their subnets' addresses" 60 \
    eval 'online_at gestor alice 198.18.2.10 && online_at gestor bob 198.18.3.10'
poll "the gestor to list erin online" 60 user_online gestor erin
stamp "registered"

# A message across subnets: the router forwards it (each peer's route to
# the other client subnet goes through it).
docker exec p2pchat-alice ip route get 198.18.3.10 | grep -q ' via 198.18.2.2 ' ||
	fail "alice does not route to bob through the router"
fwd=$(forwarded)
id=$(send alice bob "hello from 198.18.2.10")
poll "bob to have alice's message" 30 received bob alice "$id"
[ "$(forwarded)" -gt "$fwd" ] || fail "the router forwarded nothing"
out=$(ex alice p2pchatctl lookup bob) || fail "lookup bob: $out"
printf '%s\n' "$out" | grep -q "^addr	198.18.3.10$" || fail "lookup bob: $out"
id=$(send bob alice "hello from 198.18.3.10")
poll "alice to have bob's answer" 30 received alice bob "$id"
stamp "chatted across subnets"

# erin publishes no address: alice reaches her, and she alice, only
# through the gestor's relay.
id=$(send alice erin "through the relay")
poll "erin to have alice's message" 30 received erin alice "$id"
id=$(send erin alice "back through the relay")
poll "alice to have erin's message" 30 received alice erin "$id"
out=$(ex alice p2pchatctl lookup erin) || fail "lookup erin: $out"
printf '%s\n' "$out" | grep -q "^route	relay$" || fail "alice -> erin not relayed: $out"
out=$(ex gestor p2pchatctl stats) || fail "gestor stats: $out"
printf '%s\n' "$out" | awk -F'\t' '$1 == "relay_sessions_total" && $2 >= 2 { f = 1 } END { exit !f }' ||
	fail "the gestor's relay counted no sessions: $out"
stamp "relayed"

# Offline delivery: bob stopped, alice's message waits, then arrives.
dc stop bob >/dev/null 2>&1 || fail "docker-compose stop bob"
id=$(ex alice p2pchatctl send bob "are you there?") || fail "send to stopped bob: $id"
ex alice p2pchatctl pending | grep -q "^$id	bob	" || fail "not pending: $id"
dc start bob >/dev/null 2>&1 || fail "docker-compose start bob"
poll "the message to bob to be delivered once bob is back" 90 received bob alice "$id"
poll "alice's pending list to empty" 30 \
    eval '[ -z "$(ex alice p2pchatctl pending | tail -n +2)" ]'
stamp "offline delivery"

# The gestor moved to 198.18.1.30, as docker/README.md does it.
for p in alice bob erin; do gestor_online "$p" || fail "$p: gestor not online before the move"; done
docker network disconnect p2pchat-server p2pchat-gestor || fail "network disconnect"
docker network connect --ip 198.18.1.30 p2pchat-server p2pchat-gestor || fail "network connect"
docker exec p2pchat-gestor p2pchat-entrypoint routes 2>/dev/null || fail "entrypoint routes"
for p in alice bob erin; do
	poll "$p to notice the gestor is gone" 60 gestor_lost "$p"
done
# Without the gestor the peers still reach each other at cached addresses.
id=$(send alice bob "the gestor is moving")
poll "bob to have the message sent while the gestor moved" 30 received bob alice "$id"
for p in alice bob erin; do
	docker exec "p2pchat-$p" p2pchat-entrypoint set-host gestor 198.18.1.30 2>/dev/null ||
		fail "set-host in $p"
done
for p in alice bob erin; do
	poll "$p to find the gestor at 198.18.1.30" 60 gestor_online "$p"
done
# The gestor's connections from every peer are at its new address.
gestor_conns() {
	docker exec p2pchat-gestor ss -Htn state established '( sport = :7000 )' |
	    awk '{ print $3, $4 }' | sed 's/:[0-9]*$//' | sort -u
}
want=$(printf '198.18.1.30:7000 %s\n' 198.18.2.10 198.18.3.10 198.18.3.20)
poll "the gestor to hold every peer's connection at 198.18.1.30" 30 \
    eval '[ "$(gestor_conns)" = "$want" ]'
poll "the gestor to list every peer online again" 30 \
    eval 'online_at gestor alice 198.18.2.10 && online_at gestor bob 198.18.3.10 &&
	user_online gestor erin'
id=$(send bob alice "found the gestor at 198.18.1.30")
poll "alice to have the message after the move" 30 received alice bob "$id"
id=$(send erin bob "relayed by the moved gestor")
poll "bob to have erin's message after the move" 30 received bob erin "$id"
out=$(ex bob p2pchatctl lookup alice) || fail "lookup alice after the move: $out"
printf '%s\n' "$out" | grep -q "^addr	198.18.2.10$" || fail "lookup alice: $out"
stamp "gestor moved and found again"

# The move made permanent: compose recreates the containers with the gestor
# at GESTOR_IP (README: `echo GESTOR_IP=198.18.1.30 > .env`); the volumes
# keep the accounts.
printf 'GESTOR_IP=198.18.1.30\n' >>"$ENVFILE"
dc up -d >"$TMP/up2.log" 2>&1 || fail "docker-compose up with GESTOR_IP: $(tail -n 20 "$TMP/up2.log")"
poll "the containers to be healthy again" 180 healthy $NAMES
ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' p2pchat-gestor)
[ "$ip" = 198.18.1.30 ] || fail "recreated gestor at $ip"
poll "the gestor to list both online after the recreation" 60 \
    eval 'online_at gestor alice 198.18.2.10 && online_at gestor bob 198.18.3.10'
id=$(send alice bob "after the recreation")
poll "bob to have the message after the recreation" 30 received bob alice "$id"
ex bob p2pchatctl history alice | grep -q "are you there?" ||
	fail "bob's history lost messages across the recreation"
stamp "GESTOR_IP kept the new address"

compose_done
log "ok"
