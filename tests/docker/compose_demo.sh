#!/usr/bin/env bash
# The original project's demo, played for real in docker/docker-compose.yml:
# the image built by docker-compose 1.29 (legacy builder) and by BuildKit,
# the four containers up and healthy, two accounts registered from their
# containers, a message from one client subnet to the other through the
# router, offline delivery across a stop and start of the recipient, the
# gestor moved to 198.18.1.30 with both peers finding it again, messages
# after the move, and the move made permanent with GESTOR_IP as
# docker/README.md says. Both builders must also send the build context
# .dockerignore describes, no more.
#
# Needs root and Docker (docker.io, docker-compose, and debootstrap when the
# engine has no debian:12): skipped (77) otherwise, or when another p2pchat
# deployment holds the topology's names. P2PCHAT_DOCKER_TEST=skip skips it
# too: CI runs it once, in the first of its three `make check` trees.
# Starts dockerd when none runs (and stops it again), see tests/docker/lib.sh.
# Everything the test makes goes, also when it fails half-way: containers,
# networks, volumes and the images it tagged. It keeps debian:12 and the
# build cache for the next run (`docker builder prune; docker image prune`
# remove them). Figures on 2 CPUs: about 5 minutes cold, 1.5 warm.
set -eu
TEST_NAME=compose_demo
if [ "${P2PCHAT_DOCKER_TEST:-}" = skip ]; then
	printf '%s: SKIP: P2PCHAT_DOCKER_TEST=skip (CI runs this test in one tree only)\n' \
	    "$TEST_NAME" >&2
	exit 77
fi
if [ "$(id -u)" != 0 ]; then
	printf '%s: SKIP: needs root (to reach or start the Docker engine); run make check as root\n' \
	    "$TEST_NAME" >&2
	exit 77
fi
for c in docker docker-compose; do
	command -v "$c" >/dev/null 2>&1 || {
		printf '%s: SKIP: no %s (apt-get install docker.io docker-compose debootstrap)\n' \
		    "$TEST_NAME" "$c" >&2
		exit 77
	}
done

. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
. "$(dirname "$TESTS_LIB")/docker/lib.sh"
src=$(cd "$(dirname "$TESTS_LIB")/.." && pwd)
compose_file=$src/docker/docker-compose.yml
T0=$(date +%s)
stamp() { log "$(( $(date +%s) - T0 )) s: $*"; }

# One run at a time on a machine: the topology's container names, networks
# and subnets are fixed, and a dockerd started by one run must not be
# stopped under another.
lock=/run/lock/p2pchat-docker-test.lock
[ -d /run/lock ] || lock=/tmp/p2pchat-docker-test.lock
exec 9>"$lock"
flock -w 1500 9 || fail "another run of this test held its lock for 25 minutes"

# A project name of our own: a user's deployment of docker/ (project
# "docker") is never touched, and a run killed half-way is recognised.
PROJECT=p2pchattest$$
IMAGE=p2pchat-test:$PROJECT
BK_IMAGE=p2pchat-test:$PROJECT-buildkit
ENVFILE=$TMP/compose.env
printf 'P2PCHAT_IMAGE=%s\n' "$IMAGE" >"$ENVFILE"
dc() {
	docker-compose --ansi never -p "$PROJECT" -f "$compose_file" \
	    --env-file "$ENVFILE" "$@"
}
TORN_DOWN=

teardown() {
	local rc=$? c
	set +e
	trap - EXIT INT TERM HUP
	if [ -z "$TORN_DOWN" ] && docker_up; then
		if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
			dc ps >&2
			dc logs --no-color --tail 40 >&2
		fi
		dc down -v --remove-orphans --timeout 5 >"$TMP/down.log" 2>&1 ||
			cat "$TMP/down.log" >&2
		for c in "$IMAGE" "$BK_IMAGE"; do
			docker image inspect "$c" >/dev/null 2>&1 &&
				docker rmi --no-prune "$c" >/dev/null
		done
	fi
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -s "$TMP/dockerd.log" ]; then
		printf -- '--- dockerd.log (last 20 lines)\n' >&2
		tail -n 20 "$TMP/dockerd.log" >&2
	fi
	docker_stop
	cleanup
	exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

docker_start
stamp "engine up"

# The names and subnets of the topology must be free. Leftovers of a run of
# this test that was killed are removed; anything else is someone's.
for c in router gestor alice bob; do
	p=$(docker inspect -f '{{index .Config.Labels "com.docker.compose.project"}}' \
	    "p2pchat-$c" 2>/dev/null) || continue
	case $p in
	p2pchattest*)
		log "removing the leftovers of an earlier run ($p)"
		docker-compose --ansi never -p "$p" -f "$compose_file" --env-file "$ENVFILE" \
		    down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true
		;;
	*) docker_skip "container p2pchat-$c (compose project '$p') exists: a p2pchat deployment runs on this engine" ;;
	esac
done
for n in server client-a client-b; do
	if docker network inspect "p2pchat-$n" >/dev/null 2>&1; then
		docker network rm "p2pchat-$n" >/dev/null 2>&1 ||
			docker_skip "network p2pchat-$n exists and is in use"
	fi
done

docker_base_image
stamp "base image ready"

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

healthy() {
	local c
	for c in router gestor alice bob; do
		[ "$(docker inspect -f '{{.State.Health.Status}}' "p2pchat-$c")" = healthy ] ||
			return 1
	done
}
poll "the four containers to be healthy" 180 healthy
stamp "all healthy"

# ------------------------------------------------------------- the demo
# Everything through `docker-compose exec`, as docker/README.md does it
# (-T: no terminal here).
ex() {
	local svc=$1
	shift
	dc exec -T "$svc" "$@" </dev/null
}
# field SVC KEY: one value of `p2pchatctl status` in SVC.
field() {
	ex "$1" p2pchatctl status | awk -F'\t' -v k="$2" '$1 == k { print $2 }'
}
gestor_online() { [ "$(field "$1" gestor_state)" = online ]; }
gestor_lost() { [ "$(field "$1" gestor_state)" != online ]; }
# received SVC FROM ID: message ID from FROM is in SVC's history.
received() {
	ex "$1" p2pchatctl history "$2" | awk -F'\t' -v id="$3" \
	    '$3 == "received" && $4 == id { f = 1 } END { exit !f }'
}
# online_at USER ADDR: the gestor lists USER online at ADDR.
online_at() {
	ex gestor p2pchatctl users | awk -F'\t' -v u="$1" -v a="$2" \
	    '$1 == u && $2 == "online" && $3 == a { f = 1 } END { exit !f }'
}
# send FROM TO TEXT: send, wait for delivery, print the id.
send() {
	local id
	id=$(ex "$1" p2pchatctl send "$2" "$3" --wait=60) ||
		fail "$1 -> $2 \"$3\" not delivered: $id"
	[[ $id =~ ^[0-9a-f]{32}$ ]] || fail "send printed no id: $id"
	echo "$id"
}
forwarded() {
	docker exec p2pchat-router awk '$1 == "Ip:" && $2 ~ /^[0-9]+$/ { print $7 }' \
	    /proc/net/snmp
}

# Register the two users, each from its own container.
out=$(printf 'alice-pass-1\nalice-pass-1\n' | dc exec -T alice p2pchatctl register alice) ||
	fail "register alice: $out"
printf '%s\n' "$out" | grep -q "^user	alice$" || fail "register alice printed: $out"
out=$(printf 'bob-pass-12\nbob-pass-12\n' | dc exec -T bob p2pchatctl register bob) ||
	fail "register bob: $out"
poll "the gestor to list alice and bob online at their subnets' addresses" 60 \
    eval 'online_at alice 198.18.2.10 && online_at bob 198.18.3.10'
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
for p in alice bob; do gestor_online "$p" || fail "$p: gestor not online before the move"; done
docker network disconnect p2pchat-server p2pchat-gestor || fail "network disconnect"
docker network connect --ip 198.18.1.30 p2pchat-server p2pchat-gestor || fail "network connect"
docker exec p2pchat-gestor p2pchat-entrypoint routes 2>/dev/null || fail "entrypoint routes"
for p in alice bob; do
	poll "$p to notice the gestor is gone" 60 gestor_lost "$p"
done
# Without the gestor the peers still reach each other at cached addresses.
id=$(send alice bob "the gestor is moving")
poll "bob to have the message sent while the gestor moved" 30 received bob alice "$id"
for p in alice bob; do
	docker exec "p2pchat-$p" p2pchat-entrypoint set-host gestor 198.18.1.30 2>/dev/null ||
		fail "set-host in $p"
done
for p in alice bob; do
	poll "$p to find the gestor at 198.18.1.30" 60 gestor_online "$p"
done
# The gestor's connections from both peers are at its new address.
gestor_conns() {
	docker exec p2pchat-gestor ss -Htn state established '( sport = :7000 )' |
	    awk '{ print $3, $4 }' | sed 's/:[0-9]*$//' | sort -u
}
want=$(printf '198.18.1.30:7000 198.18.2.10\n198.18.1.30:7000 198.18.3.10')
poll "the gestor to hold both peers' connections at 198.18.1.30" 30 \
    eval '[ "$(gestor_conns)" = "$want" ]'
poll "the gestor to list both online again" 30 \
    eval 'online_at alice 198.18.2.10 && online_at bob 198.18.3.10'
id=$(send bob alice "found the gestor at 198.18.1.30")
poll "alice to have the message after the move" 30 received alice bob "$id"
out=$(ex bob p2pchatctl lookup alice) || fail "lookup alice after the move: $out"
printf '%s\n' "$out" | grep -q "^addr	198.18.2.10$" || fail "lookup alice: $out"
stamp "gestor moved and found again"

# The move made permanent: compose recreates the containers with the gestor
# at GESTOR_IP (README: `echo GESTOR_IP=198.18.1.30 > .env`); the volumes
# keep the accounts.
printf 'GESTOR_IP=198.18.1.30\n' >>"$ENVFILE"
dc up -d >"$TMP/up2.log" 2>&1 || fail "docker-compose up with GESTOR_IP: $(tail -n 20 "$TMP/up2.log")"
poll "the four containers to be healthy again" 180 healthy
ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' p2pchat-gestor)
[ "$ip" = 198.18.1.30 ] || fail "recreated gestor at $ip"
poll "the gestor to list both online after the recreation" 60 \
    eval 'online_at alice 198.18.2.10 && online_at bob 198.18.3.10'
id=$(send alice bob "after the recreation")
poll "bob to have the message after the recreation" 30 received bob alice "$id"
ex bob p2pchatctl history alice | grep -q "are you there?" ||
	fail "bob's history lost messages across the recreation"
stamp "GESTOR_IP kept the new address"

# ------------------------------------------------------------ teardown
dc down -v --remove-orphans --timeout 5 >"$TMP/down.log" 2>&1 ||
	fail "docker-compose down -v: $(cat "$TMP/down.log")"
for c in "$IMAGE" "$BK_IMAGE"; do
	docker rmi --no-prune "$c" >/dev/null || fail "docker rmi $c"
done
TORN_DOWN=1
left=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"
	docker network ls -q --filter "label=com.docker.compose.project=$PROJECT"
	docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT")
[ -z "$left" ] || fail "left behind: $left"
stamp "torn down"
log "ok"
