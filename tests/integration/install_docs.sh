#!/usr/bin/env bash
# `make install` puts the guides for people who run p2pchat (docs/SCALING.md,
# SESSIONS.md, PERFORMANCE.md) under share/doc/p2pchat/docs, beside
# README.md, whose links to them then work where it is installed.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
[ -n "${P2PCHAT_BUILDDIR:-}" ] || { log "SKIP: no build directory"; exit 77; }
# Only the documentation's install targets: the rest of the build is not
# touched while make check runs.
make -s -C "$P2PCHAT_BUILDDIR" install-dist_docDATA install-dist_docsDATA \
    DESTDIR="$TMP/root" >"$TMP/out" 2>&1 || fail "make install: $(cat "$TMP/out")"
readme=$(find "$TMP/root" -path '*/share/doc/p2pchat/README.md')
[ -n "$readme" ] || fail "no README.md under share/doc/p2pchat: $(find "$TMP/root" -type f)"
doc=$(dirname "$readme")
for f in docs/SCALING.md docs/SESSIONS.md docs/PERFORMANCE.md docs/OPERATIONS.md; do
	[ -s "$doc/$f" ] || fail "$f not installed: $(find "$TMP/root" -type f)"
done
# Every docs/ link of the installed README leads to an installed file.
grep -o '(docs/[A-Za-z]*\.md)' "$readme" | tr -d '()' | sort -u | while read -r f; do
	[ "$f" = docs/ARCHITECTURE.md ] && continue	# for developers, in the tree
	[ -s "$doc/$f" ] || fail "README links to $f, not installed"
done
log "ok"
