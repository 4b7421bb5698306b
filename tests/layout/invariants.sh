#!/bin/sh
# The rules between the parts of the code (docs/ARCHITECTURE.md,
# "Invariants"), read from the sources: which folder's files may include
# which folder's headers, and which file alone may send and receive TLS
# records. A broken rule prints the file and line and fails.
#
#   invariants.sh [SRCDIR]      (make check runs it with the source tree)
#
# It proves itself first on a small tree it makes, with one file that
# breaks a rule, so that a broken check cannot pass a broken tree.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=${1:-$(cd "$here/../.." && pwd)}

# forbidden FOLDER HEADERS_FROM...: no file under FOLDER includes a header
# that lives in one of the other folders. Prints "file:line: include".
forbidden() {
	root=$1
	from=$2
	shift 2
	# A header of the folder's own (ctl/conn.h) is its own, whatever the
	# other folders hold by that name.
	own=$(cd "$root/$from" && ls -- *.h 2>/dev/null | sort -u || true)
	names=$(for d in "$@"; do
		[ -d "$root/$d" ] && (cd "$root/$d" && ls -- *.h 2>/dev/null)
	done | sort -u)
	if [ -n "$own" ] && [ -n "$names" ]; then
		names=$(printf '%s\n' "$names" | grep -vxF "$own" || true)
	fi
	[ -n "$names" ] || return 0
	pat=$(printf '%s\n' $names | sed 's/\./\\./g' | paste -sd'|' -)
	grep -nE "^#[[:space:]]*include[[:space:]]+\"($pat)\"" \
	    $(find "$root/$from" -name '*.[ch]' | sort) 2>/dev/null |
	    sed "s|^$root/||" || true
}

check() {
	root=$1
	bad=0
	out=
	# Stores know no network and no mode: they include no header of net,
	# peer or gestor.
	for f in daemon/pstore daemon/gstore; do
		out=$(forbidden "$root" "$f" daemon/net daemon/peer daemon/gestor)
		[ -z "$out" ] || { echo "a store includes a header of net, peer or gestor:"; echo "$out"; bad=1; }
	done
	# Peer and gestor code never include each other (nor each other's store).
	out=$(forbidden "$root" daemon/peer daemon/gestor daemon/gstore)
	[ -z "$out" ] || { echo "peer code includes a gestor header:"; echo "$out"; bad=1; }
	out=$(forbidden "$root" daemon/gestor daemon/peer daemon/pstore)
	[ -z "$out" ] || { echo "gestor code includes a peer header:"; echo "$out"; bad=1; }
	# The network layer knows no mode and no store.
	out=$(forbidden "$root" daemon/net daemon/peer daemon/gestor daemon/pstore daemon/gstore)
	[ -z "$out" ] || { echo "net includes a header of a mode or a store:"; echo "$out"; bad=1; }
	# common/ and ctl/ never include the daemon's headers; common/ no ctl/.
	for f in common ctl; do
		out=$(forbidden "$root" "$f" daemon/core daemon/net daemon/peer daemon/pstore daemon/gestor daemon/gstore)
		[ -z "$out" ] || { echo "$f includes a daemon header:"; echo "$out"; bad=1; }
	done
	out=$(forbidden "$root" common ctl)
	[ -z "$out" ] || { echo "common includes a ctl header:"; echo "$out"; bad=1; }
	# Only conn_io.c sends or receives TLS records.
	out=$(grep -rnE 'gnutls_record_(send|recv)' "$root/daemon" "$root/common" "$root/ctl" 2>/dev/null |
	    sed "s|^$root/||" | grep -v '^daemon/net/conn_io\.c:' || true)
	[ -z "$out" ] || { echo "TLS records sent or received outside daemon/net/conn_io.c:"; echo "$out"; bad=1; }
	return $bad
}

# The check on a tree with one broken rule (a store including wire.h).
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/daemon/net" "$t/daemon/pstore" "$t/daemon/peer" "$t/daemon/gestor" "$t/daemon/gstore" "$t/daemon/core" "$t/common" "$t/ctl"
: >"$t/daemon/net/wire.h"
printf '#include "wire.h"\n' >"$t/daemon/peer/peer.c"
printf '#include <stdio.h>\n' >"$t/daemon/pstore/pstore.c"
if ! check "$t" >/dev/null; then
	echo "invariants: FAIL: a tree that keeps every rule was refused"
	exit 99
fi
printf '#include "wire.h"\n' >>"$t/daemon/pstore/pstore.c"
if check "$t" >/dev/null; then
	echo "invariants: FAIL: a store that includes wire.h was not caught"
	exit 99
fi

[ -d "$src/daemon/core" ] || { echo "invariants: no $src/daemon/core"; exit 99; }
if check "$src"; then
	echo "invariants: PASS"
else
	echo "invariants: FAIL (docs/ARCHITECTURE.md, \"Invariants\")"
	exit 1
fi
