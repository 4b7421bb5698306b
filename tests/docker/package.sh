#!/usr/bin/env bash
# The Debian package (debian/), as an administrator meets it: built with
# `dpkg-buildpackage -us -uc -b` from a clean copy of the tree (the files
# git tracks, and new ones it does not ignore), lintian without errors or
# warnings, then in a clean Debian 12 container (debian:12, made with
# debootstrap when missing): installed with the dependencies from the
# mirror, nothing started, modes and owners checked, a gestor and two
# peers started from the packaged binaries and config paths (systemd is
# not PID 1 there), a message sent; an upgrade to the next version (the
# same build repacked as VERSION+next) that keeps the admin's edited
# conffile, the statoverride and the gestor's identity; a purge that
# leaves nothing but the user p2pchat and the users' own data. The steps
# inside the container are tests/docker/package_inside.sh. Then piuparts
# (when installed): install and purge, and an upgrade from the previous
# build, in a chroot made from the same debian:12.
#
# Needs root, Docker, dpkg-dev, debhelper and lintian, and a git checkout:
# skipped (77) otherwise. P2PCHAT_DOCKER_TEST=skip skips it too. About 3
# to 4 minutes on 2 busy CPUs with debian:12 present (build 1, container 1,
# piuparts 1.5).
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
. "$(dirname "$TESTS_LIB")/docker/lib.sh"

[ "${P2PCHAT_DOCKER_TEST:-}" != skip ] ||
	docker_skip "P2PCHAT_DOCKER_TEST=skip (CI runs the Docker tests in one tree only)"
[ "$(id -u)" = 0 ] || docker_skip "needs root (Docker)"
for c in docker dpkg-buildpackage dh lintian git; do
	command -v "$c" >/dev/null 2>&1 ||
		docker_skip "no $c (apt-get install docker.io dpkg-dev debhelper lintian git)"
done
SRC=$(cd "$(dirname "$TESTS_LIB")/.." && pwd)
git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 ||
	docker_skip "$SRC is not a git checkout (the package is built from its files)"
[ -d "$SRC/debian" ] || fail "no debian/ in $SRC"

T0=$(date +%s)
stamp() { log "$(( $(date +%s) - T0 )) s: $*"; }
C=p2pchat-pkgtest-$$

teardown() {
	local rc=$?
	set +e
	trap - EXIT INT TERM HUP
	if docker_up && docker inspect "$C" >/dev/null 2>&1; then
		if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
			for f in gestor alice bob dpkg apt; do
				printf -- '--- container: /root/%s.log (last 20 lines)\n' "$f" >&2
				docker exec "$C" tail -n 20 "/root/$f.log" >&2 2>/dev/null
			done
		fi
		docker rm -f "$C" >/dev/null 2>&1
	fi
	docker rm -f "$C-base" >/dev/null 2>&1
	docker_stop
	cleanup
	exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ------------------------------------------------------------- build, lint
mkdir -p "$TMP/pkg/p2pchat"
git -C "$SRC" ls-files -z --cached --others --exclude-standard |
	(cd "$SRC" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
	tar -xf - -C "$TMP/pkg/p2pchat"
# nocheck: debian/rules runs the unit tests, which make check runs anyway
# (in CI from the same tree): once is enough, and it saves a minute.
(cd "$TMP/pkg/p2pchat" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) \
    >"$TMP/build.log" 2>&1 ||
	fail "dpkg-buildpackage: $(tail -n 30 "$TMP/build.log")"
stamp "built"
version=$(cd "$TMP/pkg/p2pchat" && dpkg-parsechangelog -S Version)
ac=$(sed -n '/^AC_INIT/{s/[^,]*, *\[//;s/\].*//;p;}' "$SRC/configure.ac")
[ "${version%-*}" = "$ac" ] || fail "debian/changelog $version, configure.ac $ac"
changes=$(ls "$TMP/pkg/"*.changes)
lintian --fail-on error,warning "$changes" >"$TMP/lintian.log" 2>&1 ||
	fail "lintian: $(cat "$TMP/lintian.log")"
grep -q '^[EW]:' "$TMP/lintian.log" && fail "lintian: $(cat "$TMP/lintian.log")"
stamp "lintian clean"

# The next version: the same files, the version raised (an upgrade runs
# the maintainer scripts of both).
mkdir -p "$TMP/debs/next"
cp "$TMP/pkg/p2pchat_${version}_"*.deb "$TMP/pkg/p2pchat-gestor_${version}_all.deb" "$TMP/debs/"
next="$version+next"
for d in "$TMP/debs/"*.deb; do
	rm -rf "$TMP/repack"
	dpkg-deb -R "$d" "$TMP/repack"
	sed -i "s/^Version: .*/Version: $next/" "$TMP/repack/DEBIAN/control"
	dpkg-deb -b "$TMP/repack" "$TMP/debs/next/$(basename "$d" | sed "s/_${version}_/_${next}_/")" >/dev/null
done
echo "$next" >"$TMP/debs/next/version"
chmod -R a+rX "$TMP/debs"

# --------------------------------------------------------------- container
lock=/run/lock/p2pchat-docker-test.lock
[ -d /run/lock ] || lock=/tmp/p2pchat-docker-test.lock
exec 9>"$lock"
flock -w 1500 9 || fail "another Docker test held $lock for 25 minutes"
docker_start
docker_base_image
stamp "engine and debian:12 ready"
docker run -d --name "$C" -v "$TMP/debs:/pkg:ro" \
    -v "$SRC/tests/docker/package_inside.sh:/inside.sh:ro" \
    debian:12 sleep infinity >/dev/null || fail "docker run"
inside() { docker exec "$C" bash /inside.sh "$@" || fail "inside the container: $1"; }
inside deps
stamp "dependencies installed from the mirror"
# From here the container has its own namespace with only loopback.
docker network disconnect bridge "$C" || fail "network disconnect"
inside install
inside run
inside upgrade
inside purge
stamp "installed, used, upgraded and purged"
docker rm -f "$C" >/dev/null 2>&1 || true

# ----------------------------------------------------------------- piuparts
# Install and purge, and an upgrade from the previous build (the same files
# as VERSION-0~prev in a local repository) and purge, in a chroot made from
# the same debian:12. Leftovers of systemd itself (pulled in for sysusers
# and tmpfiles, and purged again) are not ours: ignored by name.
if ! command -v piuparts >/dev/null 2>&1; then
	log "piuparts is not installed (apt-get install piuparts): not run"
	log "PASS"
	exit 0
fi
docker create --name "$C-base" debian:12 true >/dev/null || fail "docker create"
docker export "$C-base" | gzip -1 >"$TMP/base.tgz" || fail "docker export"
docker rm "$C-base" >/dev/null
prev="${version%-*}-0~prev"
mkdir -p "$TMP/repo"
for d in "$TMP/debs/"*.deb; do
	rm -rf "$TMP/repack"
	dpkg-deb -R "$d" "$TMP/repack"
	sed -i -e "s/^Version: .*/Version: $prev/" \
	    -e "s/p2pchat (>= $version)/p2pchat (>= $prev)/" "$TMP/repack/DEBIAN/control"
	dpkg-deb -b "$TMP/repack" "$TMP/repo/$(basename "$d" | sed "s/_${version}_/_${prev}_/")" >/dev/null
done
(cd "$TMP/repo" && dpkg-scanpackages . /dev/null >Packages 2>/dev/null)
piuparts -b "$TMP/base.tgz" -d bookworm -m "${P2PCHAT_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
    --bindmount "$TMP/repo" --extra-repo="deb [trusted=yes] file://$TMP/repo ./" \
    -i /root/.ssh/ -i /var/cache/private/ -i /var/lib/private/ \
    -i /var/lib/systemd/coredump/ -i /var/lib/systemd/pstore/ -i /var/log/private/ \
    "$TMP/debs/"p2pchat_*.deb "$TMP/debs/"p2pchat-gestor_*.deb >"$TMP/piuparts.log" 2>&1 ||
	fail "piuparts: $(grep -E 'ERROR|FAIL' "$TMP/piuparts.log" | head -n 20)"
grep -q 'PASS: Installation, upgrade and purging tests' "$TMP/piuparts.log" ||
	fail "piuparts ran no upgrade test: $(grep -E 'PASS|ERROR' "$TMP/piuparts.log")"
stamp "piuparts: install, purge, upgrade from the previous build: PASS"
log "PASS"
