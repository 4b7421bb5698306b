#!/usr/bin/env bash
# One version everywhere: configure.ac's AC_INIT, the first release of
# CHANGELOG.md and debian/changelog's upstream part (debian/rules refuses
# to build on a mismatch too; this says so at every make check). The
# release tarball carries no debian/: skipped there.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
src=$(cd "$(dirname "$TESTS_LIB")/.." && pwd)
[ -f "$src/debian/changelog" ] || { log "SKIP: no debian/ (a release tarball)"; exit 77; }
ac=$(sed -n '/^AC_INIT/{s/[^,]*, *\[//;s/\].*//;p;}' "$src/configure.ac")
cl=$(sed -n 's/^## \([0-9][0-9.]*\).*/\1/p' "$src/CHANGELOG.md" | head -n 1)
deb=$(sed -n '1s/^p2pchat (\([^)]*\)).*/\1/p' "$src/debian/changelog")
[ -n "$ac" ] || fail "no version in configure.ac's AC_INIT"
[ "$cl" = "$ac" ] || fail "CHANGELOG.md's first release is '$cl', configure.ac says $ac"
[ "${deb%-*}" = "$ac" ] || fail "debian/changelog is '$deb', configure.ac says $ac"
log "ok: $ac (Debian $deb)"
