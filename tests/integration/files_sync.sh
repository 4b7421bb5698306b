#!/usr/bin/env bash
# The recipient syncs a file being received off its event loop (issue 29):
# an fdatasync of the partial file on the loop held every frame behind it,
# chat lines too, for up to hundreds of ms under load. Every fdatasync of
# the partial file must come from another thread than the loop's (strace
# -f of bob), and the offset bob commits is one such a sync covered:
# after kill -9 the transfer goes on from it (files_transfer.sh). And the
# SHA-256 is taken as the chunks come: the partial file is never read
# back (its check at the end was a second pass over the whole file, ~0.8 s
# a GiB after the last byte).
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

need_tools strace
start_gestor g
start_peer alice g
start_peer bob g "files = { accept_size = 1073741824; };"
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online
ctl bob send --wait=20 alice "send me files" >/dev/null

state_of() { ctl "$1" files | awk -F'\t' -v id="$2" '$5 == id { print $4 }'; }
delivered() { [ "$(state_of alice "$1")" = delivered ]; }

head -c $((24 * 1048576)) /dev/urandom >"$TMP/f"
bob=${PIDS[bob]}
strace -f -y -qq -e trace=fdatasync,read,pread64,fallocate -o "$TMP/strace" -p "$bob" 2>"$TMP/strace.err" &
st=$!
# strace prints nothing until attached: wait for it to have a thread.
wait_for "strace attached" 10 sh -c "grep -q TracerPid:.[1-9] /proc/$bob/status"
id=$(ctl alice send-file bob "$TMP/f")
wait_for "the file delivered" 60 delivered "$id"
kill "$st" 2>/dev/null || true
wait "$st" 2>/dev/null || true
n=$(grep -c "fdatasync([0-9]*<[^>]*/\.in-$id>" "$TMP/strace" || true)
[ "$n" -ge 2 ] || fail "only $n syncs of the partial file seen: $(cat "$TMP/strace" "$TMP/strace.err")"
on_loop=$(awk -v pid="$bob" '$1 == pid' "$TMP/strace" | grep "/\.in-$id>" || true)
[ -z "$on_loop" ] || fail "the partial file synced on the event loop: $on_loop"
# Its blocks reserved for the whole size at the first sync, on the thread:
# else ext4 allocated them as writeback went, and every message commit's
# fsync waited for file data in the journal (chat p99 during 1 GiB 36-59
# ms before, 25-37 after, 3 alternated pairs at load 9-10).
grep -qE "^[0-9]+ +fallocate\([0-9]*<[^>]*/\.in-$id>, FALLOC_FL_KEEP_SIZE, 0, $((24 * 1048576))\)" "$TMP/strace" ||
	fail "no reservation of the partial file: $(grep fallocate "$TMP/strace")"
! awk -v pid="$bob" '$1 == pid' "$TMP/strace" | grep -q fallocate ||
	fail "fallocate on the event loop"
reads=$(grep -E "^[0-9]+ +p?read(64)?\([0-9]*<[^>]*/\.in-$id>" "$TMP/strace" | head -3 || true)
[ -z "$reads" ] || fail "the partial file read back: $reads"
log "PASS: $n syncs of the partial file, none on the loop, no read, reserved"
