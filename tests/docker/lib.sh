# Helpers for the Docker tests (tests/docker): a Docker engine to talk to
# (the running one, or a dockerd started here and stopped again), the
# debian:12 base image made with debootstrap where it is missing, and
# polling. Source it after tests/lib.sh; set -eu is expected.
#
# The engine: when none answers, docker_start runs Debian's dockerd as root
# with every network it makes inside 198.18.0.0/15 (the default bridge at
# 198.19.255.1/24, new networks from 198.19.0.0/16), its own session and
# its log in $TMP, with the default data root (/var/lib/docker) so that the
# base image and the build cache outlive the run: the next run is warm.
# docker_stop stops it again (only a dockerd started here), puts back the
# policy of the host's FORWARD chain and ip_forward, which dockerd changes,
# and leaves the rest of its iptables chains to the next dockerd.
#
# The base image: Docker Hub may be out of reach (it is on the CI machines),
# so when debian:12 is missing it is made as Debian's own images are, from
# `debootstrap --variant=minbase bookworm` (about 1 minute), imported, and
# tagged debian:12-slim too. It stays in the engine's store for later runs;
# the debootstrap tree is made in /var/tmp and removed. A test harness
# detail: users pull the real images.

DOCKER_STARTED_PID=
DOCKER_FORWARD_POLICY=
DOCKER_IP_FORWARD=

docker_skip() {
	printf '%s: SKIP: %s\n' "$TEST_NAME" "$*" >&2
	exit 77
}

# poll DESCRIPTION SECONDS COMMAND...: run COMMAND every half second until
# it succeeds; fail after SECONDS. For commands that cost a process start
# or a round trip to the engine (lib.sh's wait_for polls every 50 ms).
poll() {
	local what=$1 limit=$2 deadline
	shift 2
	deadline=$(( $(date +%s) + limit ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] ||
			fail "timed out after ${limit}s waiting for: $what"
		sleep 0.5
	done
}

docker_up() {
	docker info >/dev/null 2>&1
}

# docker_start: make sure an engine answers; start dockerd when none runs.
docker_start() {
	local pid
	if docker_up; then
		log "using the running Docker engine"
		return 0
	fi
	# A dockerd that is running but not answering yet (starting up): wait
	# for it rather than start a second one on the same data root.
	if pid=$(cat /var/run/docker.pid 2>/dev/null) && [ -n "$pid" ] &&
	    kill -0 "$pid" 2>/dev/null; then
		log "dockerd $pid is starting; waiting for it"
		poll "the running dockerd ($pid) to answer" 120 docker_up
		return 0
	fi
	command -v dockerd >/dev/null 2>&1 ||
		docker_skip "no Docker engine answers and there is no dockerd to start (apt-get install docker.io)"
	DOCKER_FORWARD_POLICY=$(iptables -S FORWARD 2>/dev/null | awk '$1 == "-P" { print $3; exit }') || true
	DOCKER_IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)
	log "starting dockerd (log: $TMP/dockerd.log)"
	# Its own session: the signals make sends to the test's process
	# group do not reach it; docker_stop ends it.
	setsid dockerd --bip 198.19.255.1/24 \
	    --default-address-pool base=198.19.0.0/16,size=24 \
	    </dev/null >"$TMP/dockerd.log" 2>&1 &
	DOCKER_STARTED_PID=$!
	local deadline=$(( $(date +%s) + 120 ))
	until docker_up; do
		if ! kill -0 "$DOCKER_STARTED_PID" 2>/dev/null; then
			DOCKER_STARTED_PID=
			tail -n 20 "$TMP/dockerd.log" >&2
			docker_skip "dockerd does not start here (its log is above)"
		fi
		[ "$(date +%s)" -lt "$deadline" ] ||
			fail "dockerd did not answer within 120 s: $(tail -n 5 "$TMP/dockerd.log")"
		sleep 0.5
	done
}

# docker_stop: stop the dockerd docker_start started, if it did.
docker_stop() {
	local pid=$DOCKER_STARTED_PID deadline
	[ -n "$pid" ] || return 0
	DOCKER_STARTED_PID=
	kill -TERM "$pid" 2>/dev/null || return 0
	deadline=$(( $(date +%s) + 60 ))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			log "dockerd $pid did not stop within 60 s; killing it"
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.2
	done
	wait "$pid" 2>/dev/null || true
	if [ "$DOCKER_FORWARD_POLICY" = ACCEPT ]; then
		iptables -P FORWARD ACCEPT 2>/dev/null || true
	fi
	if [ -n "$DOCKER_IP_FORWARD" ]; then
		echo "$DOCKER_IP_FORWARD" >/proc/sys/net/ipv4/ip_forward 2>/dev/null || true
	fi
	log "stopped the dockerd this test started"
}

# docker_base_image: debian:12 and debian:12-slim, made when missing.
docker_base_image() {
	local root
	if ! docker image inspect debian:12 >/dev/null 2>&1; then
		command -v debootstrap >/dev/null 2>&1 ||
			docker_skip "debian:12 is not in the engine's store and debootstrap is not installed to make it (apt-get install debootstrap)"
		root=$(mktemp -d /var/tmp/p2pchat-debootstrap.XXXXXX)
		log "making debian:12 with debootstrap in $root"
		if ! debootstrap --variant=minbase bookworm "$root" \
		    >"$TMP/debootstrap.log" 2>&1; then
			rm -rf "$root"
			fail "debootstrap failed: $(tail -n 5 "$TMP/debootstrap.log")"
		fi
		tar -C "$root" -c . | docker import \
		    --message "debootstrap --variant=minbase bookworm (p2pchat tests/docker)" \
		    --change 'CMD ["bash"]' - debian:12 >/dev/null ||
			{ rm -rf "$root"; fail "docker import of the debootstrap tree failed"; }
		rm -rf "$root"
	fi
	docker image inspect debian:12-slim >/dev/null 2>&1 ||
		docker tag debian:12 debian:12-slim
}

# docker_buildkit_cli: a docker client that builds with BuildKit. Docker
# 23's client needs the buildx plugin for that; Debian 12's 20.10 client
# has BuildKit built in.
docker_buildkit_cli() {
	local c major
	for c in docker /usr/bin/docker; do
		command -v "$c" >/dev/null 2>&1 || continue
		if "$c" buildx version >/dev/null 2>&1; then
			echo "$c"
			return 0
		fi
		major=$("$c" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)
		if [ -n "$major" ] && [ "$major" -lt 23 ] 2>/dev/null; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# ---------------------------------------------------------- build context
# context_tree DIR: a small source tree with everything .dockerignore must
# keep out planted in it: history, demo accounts, build trees, autotools
# and build output. CONTEXT_KEEP lists the files a build must see.
CONTEXT_KEEP=".dockerignore Makefile.am configure.ac startup.sh m4/.keep
common/config.c common/config.h daemon/core/main.c docs/PERFORMANCE.md
docker/Dockerfile docker/entrypoint.sh docker/README.md
tests/unit/test_config.c tests/bench/bench_ctl.c tests/bench/bench.h
tests/fuzz/frame_fuzz.c tests/fuzz/corpus/frame/seed"
CONTEXT_DROP=".git/HEAD .git/objects/ab/cdef .gitignore demo/alice/identity.key
demo/gestor.db build/p2pchatd build-asan/Makefile build-aux/compile
_build/sub/Makefile p2pchat-0.1.0/README.md p2pchat-0.1.0.tar.gz
autom4te.cache/output.0 aclocal.m4 configure config.status config.log
libtool stamp-h1 Makefile Makefile.in p2pchatd p2pchatctl libcommon.a
common/config.o common/.deps/config.Po common/.dirstamp daemon/main.o
tests/unit/test_config tests/unit/test_config.log tests/unit/test_config.trs
tests/bench/bench_ctl tests/fuzz/frame_fuzz test-suite.log bench/out.txt
README.md~"
context_tree() {
	local dir=$1 f
	for f in $CONTEXT_KEEP $CONTEXT_DROP; do
		mkdir -p "$dir/$(dirname "$f")"
		echo "$f" >"$dir/$f"
	done
	cp "$(dirname "$TESTS_LIB")/../.dockerignore" "$dir/.dockerignore"
}

# compose_python: the interpreter that runs docker-compose (and so the
# docker-py that packs its build contexts).
compose_python() {
	local py
	py=$(sed -n '1s/^#! *//p' "$(command -v docker-compose)")
	case $py in */python*) echo "$py" ;; *) echo python3 ;; esac
}

# legacy_context DIR: the files docker-compose 1.29 sends when it builds
# docker/Dockerfile from DIR, one a line, sorted.
legacy_context() {
	"$(compose_python)" "$(dirname "$TESTS_LIB")/docker/context_list.py" \
	    "$1" docker/Dockerfile | grep -v '/$' | LC_ALL=C sort
}

# context_check NAME LISTING: LISTING (a file) of the planted tree holds
# exactly CONTEXT_KEEP.
context_check() {
	local name=$1 listing=$2
	printf '%s\n' $CONTEXT_KEEP | LC_ALL=C sort >"$listing.want"
	diff -u "$listing.want" "$listing" >"$listing.diff" ||
		fail "$name's build context is not what .dockerignore says (- missing, + leaked): $(cat "$listing.diff")"
}

# ------------------------------------------------------- a compose project
# docker_test_begin FILE...: skip where the test cannot run, take the
# machine's lock, start the engine, make sure the topology's names are
# free, make the base image, and set up `dc` (docker-compose with FILEs of
# docker/, a project name of our own and an env file of our own) and a
# teardown that removes everything the project made, on any exit.
# One run at a time on a machine: the topology's container names, networks
# and subnets are fixed, and a dockerd started by one run must not be
# stopped under another.
COMPOSE_NAMES="router gestor gestor1 gestor2 db alice bob carol dave erin"
docker_test_begin() {
	local f c p n lock
	if [ "${P2PCHAT_DOCKER_TEST:-}" = skip ]; then
		docker_skip "P2PCHAT_DOCKER_TEST=skip (CI runs the Docker tests in one tree only)"
	fi
	[ "$(id -u)" = 0 ] ||
		docker_skip "needs root (to reach or start the Docker engine); run make check as root"
	for c in docker docker-compose; do
		command -v "$c" >/dev/null 2>&1 ||
			docker_skip "no $c (apt-get install docker.io docker-compose debootstrap)"
	done
	DOCKER_DIR=$(cd "$(dirname "$TESTS_LIB")/../docker" && pwd)
	SRC=$(dirname "$DOCKER_DIR")
	COMPOSE_ARGS=()
	for f in "$@"; do
		COMPOSE_ARGS+=(-f "$DOCKER_DIR/$f")
	done
	T0=$(date +%s)
	lock=/run/lock/p2pchat-docker-test.lock
	[ -d /run/lock ] || lock=/tmp/p2pchat-docker-test.lock
	exec 9>"$lock"
	flock -w 1500 9 || fail "another Docker test held $lock for 25 minutes"

	# A project name of our own: a user's deployment of docker/ (project
	# "docker") is never touched, and a run killed half-way is recognised.
	PROJECT=p2pchattest$$
	IMAGE=p2pchat-test:$PROJECT
	DB_IMAGE=p2pchat-test:$PROJECT-postgres
	EXTRA_IMAGES=()
	ENVFILE=$TMP/compose.env
	printf 'P2PCHAT_IMAGE=%s\nP2PCHAT_DB_IMAGE=%s\n' "$IMAGE" "$DB_IMAGE" >"$ENVFILE"
	TORN_DOWN=
	trap docker_teardown EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP

	docker_start
	stamp "engine up"
	# Leftovers of a killed run of these tests are removed; anything else
	# holding the names is someone's deployment.
	for c in $COMPOSE_NAMES; do
		p=$(docker inspect -f '{{index .Config.Labels "com.docker.compose.project"}}' \
		    "p2pchat-$c" 2>/dev/null) || continue
		case $p in
		p2pchattest*)
			log "removing the leftovers of an earlier run ($p)"
			docker rm -f -v "p2pchat-$c" >/dev/null 2>&1 || true
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
	for c in $COMPOSE_NAMES; do
		p=$(docker volume inspect -f '{{index .Labels "com.docker.compose.project"}}' \
		    "p2pchat-$c-data" 2>/dev/null) || continue
		case $p in
		p2pchattest*) docker volume rm "p2pchat-$c-data" >/dev/null 2>&1 || true ;;
		*) docker_skip "volume p2pchat-$c-data (compose project '$p') exists: a p2pchat deployment's data" ;;
		esac
	done
	docker_base_image
	stamp "base image ready"
}

stamp() { log "$(( $(date +%s) - T0 )) s: $*"; }

dc() {
	docker-compose --ansi never -p "$PROJECT" "${COMPOSE_ARGS[@]}" \
	    --env-file "$ENVFILE" "$@"
}

docker_teardown() {
	local rc=$? c
	set +e
	trap - EXIT INT TERM HUP
	if [ -z "$TORN_DOWN" ] && [ -n "${PROJECT:-}" ] && docker_up; then
		if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
			dc ps >&2
			dc logs --no-color --tail 40 >&2
		fi
		compose_down || cat "$TMP/down.log" >&2
	fi
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -s "$TMP/dockerd.log" ]; then
		printf -- '--- dockerd.log (last 20 lines)\n' >&2
		tail -n 20 "$TMP/dockerd.log" >&2
	fi
	docker_stop
	cleanup
	exit "$rc"
}

# compose_down: the project's containers, networks and volumes, and the
# images it tagged; the layers stay as build cache for the next run.
compose_down() {
	local c ok=0
	dc down -v --remove-orphans --timeout 5 >"$TMP/down.log" 2>&1 || ok=1
	for c in "$IMAGE" "$DB_IMAGE" "${EXTRA_IMAGES[@]}"; do
		if docker image inspect "$c" >/dev/null 2>&1; then
			docker rmi --no-prune "$c" >>"$TMP/down.log" 2>&1 || ok=1
		fi
	done
	return "$ok"
}

# compose_done: tear down now and check that nothing of the project is left.
compose_done() {
	local left
	compose_down || fail "tearing down: $(cat "$TMP/down.log")"
	TORN_DOWN=1
	left=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"
		docker network ls -q --filter "label=com.docker.compose.project=$PROJECT"
		docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT"
		docker images -q --filter "reference=p2pchat-test:$PROJECT*")
	[ -z "$left" ] || fail "left behind: $left"
	stamp "torn down"
}

# healthy NAME...: containers p2pchat-NAME are all healthy.
healthy() {
	local c
	for c in "$@"; do
		[ "$(docker inspect -f '{{.State.Health.Status}}' "p2pchat-$c")" = healthy ] ||
			return 1
	done
}

# ex SERVICE COMMAND...: `docker-compose exec` without a terminal (-T) or
# input, as docker/README.md's commands do it.
ex() {
	local svc=$1
	shift
	dc exec -T "$svc" "$@" </dev/null
}
# register SERVICE USER PASSWORD: the password typed twice, on stdin.
register() {
	local out
	out=$(printf '%s\n%s\n' "$3" "$3" | dc exec -T "$1" p2pchatctl register "$2") ||
		fail "register $2 in $1: $out"
	printf '%s\n' "$out" | grep -q "^user	$2$" || fail "register $2 printed: $out"
}
# field SERVICE KEY: one value of `p2pchatctl status` in SERVICE.
field() {
	ex "$1" p2pchatctl status | awk -F'\t' -v k="$2" '$1 == k { print $2 }'
}
gestor_online() { [ "$(field "$1" gestor_state)" = online ]; }
gestor_lost() { [ "$(field "$1" gestor_state)" != online ]; }
# received SERVICE FROM ID: message ID from FROM is in SERVICE's history.
received() {
	ex "$1" p2pchatctl history "$2" | awk -F'\t' -v id="$3" \
	    '$3 == "received" && $4 == id { f = 1 } END { exit !f }'
}
# online_at GESTOR USER ADDR: GESTOR lists USER online at ADDR.
online_at() {
	ex "$1" p2pchatctl users | awk -F'\t' -v u="$2" -v a="$3" \
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
# user_online GESTOR USER: GESTOR lists USER online (at whatever address).
user_online() {
	ex "$1" p2pchatctl users | awk -F'\t' -v u="$2" \
	    '$1 == u && $2 == "online" { f = 1 } END { exit !f }'
}
