#!/usr/bin/env bash
# A file being received reserves disk blocks ahead of its bytes (the sync
# thread's fallocate, so that ext4 need not allocate them at writeback),
# but only about as many as have come: a contact that offers a large
# file and sends 4 MiB of it does not hold the whole size offered on the
# recipient's disk (it did, from the first sync on, for as long as the
# file stayed unfinished; and an offer larger than the free space took
# every free block at once, ext4 keeping what a failed fallocate got).
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

need_tools python3 certtool
start_gestor g
start_peer bob g "files = { accept_size = 1073741824; };"
register bob >/dev/null
client_cert mal
p2ptool gestor-session "${PORT_OF[g]}" "$TMP/mal.crt" "$TMP/mal.key" mal \
    "pw-mal-12345" register >"$TMP/mal.gs"
grep -qx "register ok" "$TMP/mal.gs" || fail "mal: $(cat "$TMP/mal.gs")"
ctl bob lookup mal >/dev/null
ctl bob trust mal >/dev/null	# files only from contacts

# An offer of 256 MiB, then 4 MiB and 64 KiB of it in binary chunks.
id=0123456789abcdef0123456789abcdef
size=$((256 * 1048576))
sha=$(printf x | sha256sum | cut -d' ' -f1)
python3 - "$id" "$size" "$sha" >"$TMP/frames" <<'PY'
import json, sys
fid, size, sha = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print(json.dumps({"t": "file", "id": fid, "from": "mal", "to": "bob",
                  "name": "big", "size": size, "sha256": sha, "ts": 1}))
for k in range(65):
    print(json.dumps({"bin": 1, "id": fid, "off": k * 65536,
                      "data": "a" * 65536}))
PY
P2PTOOL_QUIET=60 p2ptool peer-frames "${PORT_OF[bob]}" "$TMP/mal.crt" \
    "$TMP/mal.key" mal "$TMP/frames" file,file-bin >"$TMP/mal.out" &
tool=$!
committed() { ctl bob files | awk -F'\t' -v id="$id" '$5 == id { print $7 }'; }
# Once an offset is committed, the first sync (and its reservation) is done.
wait_for "4 MiB committed at bob" 60 sh -c "[ \"\$($P2PCHATCTL -c $TMP/bob.conf files | awk -F'\t' '\$5 == \"$id\" { print \$7 }')\" -ge 4194304 ]"
part="$TMP/bob/files/.in-$id"
held=$(( $(stat -c '%b * %B' "$part") ))
kill "$tool" 2>/dev/null || true
wait "$tool" 2>/dev/null || true
log "the partial file holds $held bytes of disk for $(committed) committed"
[ "$held" -le $((64 * 1048576)) ] ||
	fail "4 MiB received hold $held bytes of bob's disk (offered: $size)"
log "PASS"
