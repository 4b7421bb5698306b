#!/usr/bin/env bash
# A full disk at the recipient pauses a file (issue 29): what was not
# committed is dropped, the state says paused and why, the sender stops;
# once there is room again it resumes from the committed offset and the
# file arrives byte for byte. bob's data_dir/files is a small tmpfs (root),
# and so is alice's at first: storing a file there says no_space.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

if [ "$(id -u)" != 0 ]; then
	log "SKIP: needs root (mounts a tmpfs)"
	exit 77
fi
mkdir -m 700 "$TMP/bob" "$TMP/bob/files" "$TMP/alice" "$TMP/alice/files"
mount -t tmpfs -o size=6m,mode=0700 tmpfs "$TMP/bob/files" 2>/dev/null || {
	log "SKIP: cannot mount a tmpfs"
	exit 77
}
trap 'umount "$TMP/bob/files" "$TMP/alice/files" 2>/dev/null || true; cleanup' EXIT
mount -t tmpfs -o size=2m,mode=0700 tmpfs "$TMP/alice/files" ||
	fail "cannot mount alice's tmpfs"

start_gestor g
start_peer alice g
start_peer bob g "files = { accept_size = 1073741824; };"
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online
ctl bob send --wait=20 alice "send me files" >/dev/null

state_of() { ctl "$1" files | awk -F'\t' -v id="$2" '$5 == id { print $4 }'; }
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }

head -c $((12 * 1048576)) /dev/urandom >"$TMP/big"
# The sender's disk full while it stores the file: no_space, nothing left.
expect_exit 1 ctl alice send-file bob "$TMP/big"
grep -q '^p2pchatctl: no_space: ' "$TMP/err" || fail "alice's full disk: $(cat "$TMP/err")"
[ -z "$(ls -A "$TMP/alice/files")" ] || fail "a partial copy left: $(ls -A "$TMP/alice/files")"
[ -z "$(ctl alice files)" ] || fail "a row for a file not stored: $(ctl alice files)"
mount -o remount,size=40m "$TMP/alice/files"
id=$(ctl alice send-file bob "$TMP/big")
wait_for "paused at bob" 60 state_is bob "$id" paused
ctl bob files | grep "$id" | grep -q 'No space left on device' ||
	fail "no reason: $(ctl bob files)"
wait_for "the sender told" 30 sh -c "grep -q 'file $id to bob: paused by the recipient' '$TMP/alice.log'"
off=$(ctl bob files | awk -F'\t' -v id="$id" '$5 == id { print $7 }')
[ "$off" -gt 0 ] || fail "nothing committed before the disk filled"
state_is alice "$id" pending || fail "alice: $(state_of alice "$id")"
# Room again: it goes on from the committed offset, not from zero.
mount -o remount,size=40m "$TMP/bob/files"
wait_for "received after the pause" 60 state_is bob "$id" received
grep -q "file $id from alice: room again; resuming at $off" "$TMP/bob.log" ||
	fail "did not resume at $off: $(grep "$id" "$TMP/bob.log")"
wait_for "delivered" 30 state_is alice "$id" delivered
cmp "$TMP/big" "$TMP/bob/files/$(sha256sum <"$TMP/big" | cut -d' ' -f1)" ||
	fail "differs after the pause"
stop_clean bob
log "PASS"
