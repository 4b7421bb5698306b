#!/usr/bin/env bash
# Binary chunks (issue 29, docs/PROTOCOL.md): a recipient whose hello
# offers "file-bin" gets a file's bytes in binary chunks of 64 KiB (no
# base64, no JSON), each whole and in order; one that offers only "file"
# (a daemon from before them) still gets base64 in JSON chunks. The
# recipients are tests/p2ptool.py's mute-peer with those caps, which
# print every frame they get. (A real recipient's side: files_transfer.sh.)
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

need_tools python3 certtool jq
start_gestor g
start_peer alice g
register alice >/dev/null

# fake NAME CAPS: a recipient NAME offering CAPS, online at the gestor.
fake() {
	client_cert "$1"
	p2ptool mute-peer "$TMP/$1.crt" "$TMP/$1.key" "$1" "$TMP/$1.port" 60 "$2" \
	    >"$TMP/$1.out" &
	wait_for "$1 listening" 10 test -s "$TMP/$1.port"
	p2ptool gestor-session "${PORT_OF[g]}" "$TMP/$1.crt" "$TMP/$1.key" "$1" \
	    "pw-$1-12345" register "hb:$(cat "$TMP/$1.port")" >"$TMP/$1.gs"
	grep -qx "hb ok" "$TMP/$1.gs" || fail "$1: $(cat "$TMP/$1.gs")"
}
state_of() { ctl alice files | awk -F'\t' -v id="$1" '$5 == id { print $4 }'; }
delivered() { [ "$(state_of "$1")" = delivered ]; }

head -c 150000 /dev/urandom >"$TMP/f"
fake newbob file,file-bin
fake oldbob file
for who in newbob oldbob; do
	id=$(ctl alice send-file "$who" "$TMP/f") || fail "send-file to $who"
	wait_for "the file delivered to $who" 30 delivered "$id"
done
# newbob: three binary chunks, 64 KiB each but the last, nothing in JSON.
bins=$(grep '"bin": 1' "$TMP/newbob.out" | jq -c '[.off, .len, .bytes]' | paste -sd' ')
[ "$bins" = "[0,65536,65536] [65536,65536,65536] [131072,18928,18928]" ] ||
	fail "newbob's chunks: $bins; got: $(cat "$TMP/newbob.out")"
! grep -q '"t": "chunk"' "$TMP/newbob.out" || fail "JSON chunks to newbob"
# oldbob: base64 in JSON chunks (96 KiB), no binary frame.
! grep -q '"bin"' "$TMP/oldbob.out" || fail "a binary frame to oldbob: $(cat "$TMP/oldbob.out")"
chunks=$(grep '"t": "chunk"' "$TMP/oldbob.out" | jq -c '[.off, .data]' | paste -sd' ')
[ "$chunks" = "[0,131072] [98304,68928]" ] || fail "oldbob's chunks: $chunks"
log "PASS"
