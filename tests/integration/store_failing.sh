#!/usr/bin/env bash
# A store that cannot be written (here: a full file system) shows in
# status (store_error, store_failing_since), not only in the log, and
# clears once a write succeeds again. Needs root (a small tmpfs).
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

if [ "$(id -u)" != 0 ]; then
	log "SKIP: needs root to mount a small tmpfs"
	exit 77
fi
mkdir -p "$TMP/alice"
if ! mount -t tmpfs -o size=4m,mode=0700 tmpfs "$TMP/alice" 2>/dev/null; then
	log "SKIP: cannot mount a tmpfs here"
	exit 77
fi
umount_cleanup() { stop alice KILL; umount "$TMP/alice" 2>/dev/null || true; cleanup; }
trap umount_cleanup EXIT

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
ctl alice send --wait=10 bob "before" >/dev/null || fail "first send"
ctl alice status | grep -q "^store_error" && fail "store_error while all is well"

# Fill the file system, then send until a write fails.
dd if=/dev/zero of="$TMP/alice/fill" bs=64k 2>/dev/null || true
i=0
until ! ctl alice send bob "$(head -c 3000 /dev/zero | tr '\0' x) $i" >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -lt 200 ] || fail "200 sends fit on a full file system"
done
ctl alice status >"$TMP/st"
grep -q "^store_error	" "$TMP/st" || fail "no store_error: $(cat "$TMP/st")"
grep -q "^store_failing_since	20" "$TMP/st" || fail "no store_failing_since: $(cat "$TMP/st")"
grep -q "^store_error	.*full" "$TMP/st" || fail "store_error does not say full: $(cat "$TMP/st")"

# Room again: the next write succeeds and the error goes.
rm -f "$TMP/alice/fill"
ctl alice send bob "after" >/dev/null || fail "send after freeing space"
ctl alice status | grep -q "^store_error" && fail "store_error stayed: $(ctl alice status)"
log "ok"
