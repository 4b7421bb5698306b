#!/bin/sh
# The 32-bit build. debian/ is Architecture: any, so p2pchat must build
# and work where long, size_t and pointers are 32 bits (i386, armhf): this
# builds the checkout (its tracked files as they are in the working tree)
# with -Werror in a Debian 12 i386 chroot made with debootstrap, then runs
# the unit tests there (test_gstore_pg skips: no PostgreSQL server in it).
#
#	tests/build32.sh [CHROOT]
#
# Root, debootstrap and the Debian archive are needed. Without CHROOT the
# chroot is made in /var/tmp and removed at the end (about 2 minutes to
# make it, 1 to build and test); a CHROOT given is made if missing and
# kept, so a second run takes only the minute. Not in `make check` (root
# and the archive); .ci/run runs it.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-}
keep=yes
if [ -z "$root" ]; then
	root=$(mktemp -d /var/tmp/p2pchat-i386.XXXXXX)
	keep=no
fi
mounted=no
cleanup() {
	[ "$mounted" = no ] || umount "$root/proc" || true
	if [ "$keep" = no ] && ! mountpoint -q "$root/proc"; then
		rm -rf --one-file-system "$root"
	fi
}
trap cleanup EXIT INT TERM

if [ ! -x "$root/usr/bin/autoreconf" ]; then
	echo "build32: making a Debian 12 i386 chroot in $root"
	debootstrap --arch=i386 --variant=minbase --include=build-essential,\
autoconf,automake,libtool,pkg-config,libevent-dev,libgnutls28-dev,\
libsqlite3-dev,libconfig-dev,libjansson-dev,libcrypt-dev,libsodium-dev,\
check,libpq-dev,python3,procps bookworm "$root" >"$root.log" 2>&1 || {
		tail -n 20 "$root.log" >&2
		echo "build32: debootstrap failed (log: $root.log)" >&2
		exit 1
	}
	rm -f "$root.log"
fi

rm -rf "$root/src"
mkdir "$root/src"
(cd "$src" && git ls-files -z | tar --null -T - --ignore-failed-read -cf -) |
	tar -xf - -C "$root/src"
mount -t proc proc "$root/proc"
mounted=yes
chroot "$root" /bin/sh -ec '
	cd /src
	autoreconf -fi >/dev/null 2>&1
	mkdir b && cd b
	../configure >/dev/null
	echo "build32: $(dpkg --print-architecture), long is $(getconf LONG_BIT) bits"
	make -j"$(nproc)" >make.log 2>&1 || { grep -B2 -A6 "error" make.log >&2; exit 1; }
	make check TESTS="\$(UNIT_TESTS)" >check.log 2>&1 || {
		cat check.log test-suite.log >&2; exit 1; }
	grep -E "^(PASS|FAIL|SKIP|ERROR|# [A-Z]+:)" check.log'
echo "build32: built with -Werror and passed the unit tests on i386"
