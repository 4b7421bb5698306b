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
common/config.c common/config.h daemon/main.c docs/PERFORMANCE.md
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
