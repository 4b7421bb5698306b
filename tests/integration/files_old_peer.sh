#!/usr/bin/env bash
# Capabilities in hello (issue 31): our hello offers the "file" cap, and a
# recipient whose hello offers none (an older daemon, which closes the
# link on a file frame) is sent messages but never a file frame; the
# file waits, pending. The old daemon is tests/p2ptool.py's mute-peer,
# whose hello is {t,v,user}.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

need_tools python3 certtool
start_gestor g
start_peer alice g
register alice >/dev/null

client_cert oldbob
p2ptool mute-peer "$TMP/oldbob.crt" "$TMP/oldbob.key" oldbob "$TMP/oldbob.port" 60 \
    >"$TMP/oldbob.out" &
OLD=$!
wait_for "the old peer" 10 test -s "$TMP/oldbob.port"
p2ptool gestor-session "${PORT_OF[g]}" "$TMP/oldbob.crt" "$TMP/oldbob.key" oldbob \
    pw-oldbob-12345 register "hb:$(cat "$TMP/oldbob.port")" >"$TMP/out"
grep -qx "hb ok" "$TMP/out" || fail "oldbob: $(cat "$TMP/out")"

printf 'a file for an old daemon' >"$TMP/f"
fid=$(ctl alice send-file oldbob "$TMP/f") || fail "send-file"
ctl alice send --wait=30 oldbob "first" >/dev/null || fail "first message"
ctl alice send --wait=30 oldbob "second" >/dev/null || fail "second message"

head -n 1 "$TMP/oldbob.out" | grep -q '"t": "hello".*"caps": \[[^]]*"file"' ||
	fail "alice's hello offers no file cap: $(head -n 1 "$TMP/oldbob.out")"
[ "$(grep -c '"t": "msg"' "$TMP/oldbob.out")" = 2 ] ||
	fail "the old peer did not get both messages: $(cat "$TMP/oldbob.out")"
! grep -q '"t": "file\|"t": "chunk' "$TMP/oldbob.out" ||
	fail "a file frame went to a peer without the file cap: $(cat "$TMP/oldbob.out")"
ctl alice files | awk -F'\t' -v id="$fid" '$5 == id { print $4 }' | grep -qx pending ||
	fail "the file is not pending: $(ctl alice files)"
grep -q 'files to oldbob wait: its daemon takes none' "$TMP/alice.log" ||
	fail "alice's log does not say why the file waits"
kill "$OLD" 2>/dev/null || true
wait "$OLD" 2>/dev/null || true
