#!/usr/bin/env bash
# What the recipient of a file enforces and shows (issue 29, item 3): its
# own files.max_size (a larger offer is rejected, nothing of it kept);
# file-progress events in watch while a file arrives; a sender's name is
# only a name (a path or control characters are shown escaped, never used
# as a path).
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer bob g "files = { max_size = 8000000; accept_size = 8000000; };"
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online
ctl bob send --wait=20 alice "send me files" >/dev/null

state_of() { ctl "$1" files | awk -F'\t' -v id="$2" '$5 == id { print $4 }'; }
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }
row() { ctl "$1" files | awk -F'\t' -v id="$2" '$5 == id'; }

# Larger than bob's files.max_size (alice's is larger): rejected by bob.
head -c 9000000 /dev/zero >"$TMP/huge"
id=$(ctl alice send-file bob "$TMP/huge")
wait_for "rejected by bob" 30 state_is alice "$id" rejected
row alice "$id" | grep -q "larger than the recipient's files.max_size" ||
	fail "alice's reason: $(row alice "$id")"
[ -z "$(row bob "$id")" ] || fail "bob kept a row: $(row bob "$id")"
[ -z "$(ls -A "$TMP/bob/files")" ] || fail "bob kept bytes: $(ls -A "$TMP/bob/files")"

# file-progress while a 6 MiB file arrives (one commit before its end).
watch_bg bob "$TMP/ev"
head -c $((6 * 1048576)) /dev/urandom >"$TMP/six"
id=$(ctl alice send-file --wait=60 bob "$TMP/six") || fail "send-file six"
wait_for "bob's file event" 10 grep -q "	file	.*$id" "$TMP/ev"
grep "file-progress" "$TMP/ev" | grep -q "$id" || fail "no file-progress: $(cat "$TMP/ev")"

# Names: a path and control characters arrive as names, escaped.
printf 'x' >"$TMP/one"
id=$(ctl alice send-file bob "$TMP/one" --name '../../etc/passwd')
wait_for "the path-named file" 30 state_is bob "$id" received
[ "$(row bob "$id" | cut -f9)" = "../../etc/passwd" ] || fail "path name at bob: $(row bob "$id")"
id=$(ctl alice send-file bob "$TMP/one" --name $'evil\e[2J\tname\n')
wait_for "the control-named file" 30 state_is bob "$id" received
row bob "$id" | cut -f9 | grep -qxF 'evil\x1b[2J\tname\n' ||
	fail "control name at bob: $(row bob "$id" | od -c | head)"
ctl bob history alice | grep -F "$id" | grep -qF '[file] evil\x1b[2J\tname\n (1 bytes)' ||
	fail "history at bob: $(ctl bob history alice | od -c | tail)"
[ "$(find "$TMP" -name passwd | wc -l)" = 0 ] || fail "a file named by the sender was written"
[ "$(ls -A "$TMP/bob/files" | grep -cv '^[0-9a-f]\{64\}$')" = 0 ] ||
	fail "bob's store holds other names: $(ls -A "$TMP/bob/files")"
stop_clean bob
log "PASS"
