#!/usr/bin/env bash
# send-file --group (issue 29, item 4): one stored copy at the sender, one
# transfer (one row, one id) per other member, each on that member's own
# link: a member online gets it at once, one offline when it is back; the
# copy stays until the last member has it, then goes.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer bob g
start_peer carol g
for u in alice bob carol; do register $u >/dev/null; done
wait_for "carol online" 10 gestor_state_is carol online
ctl bob send --wait=20 alice "files welcome" >/dev/null
ctl carol send --wait=20 alice "files welcome" >/dev/null

state_of() { ctl "$1" files | awk -F'\t' -v id="$2" '$5 == id { print $4 }'; }
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }

gid=$(ctl alice group create team bob carol)
wait_for "carol has the group" 20 sh -c "'$P2PCHATCTL' -c '$TMP/carol.conf' groups | grep -q team"
stop carol TERM

head -c 300000 /dev/urandom >"$TMP/f"
sha=$(sha256sum <"$TMP/f" | cut -d' ' -f1)
ctl alice --json send-file --group "$gid" "$TMP/f" >"$TMP/out" || fail "send-file --group"
ids=$(grep -o '"ids": *\[[^]]*\]' "$TMP/out")
to_bob=$(printf '%s' "$ids" | grep -o '"user": *"bob", *"id": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{32\}')
to_carol=$(printf '%s' "$ids" | grep -o '"user": *"carol", *"id": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{32\}')
[ -n "$to_bob" ] && [ -n "$to_carol" ] && [ "$to_bob" != "$to_carol" ] ||
	fail "one id per member: $(cat "$TMP/out")"
wait_for "bob's copy" 30 state_is bob "$to_bob" received
wait_for "delivered to bob" 20 state_is alice "$to_bob" delivered
state_is alice "$to_carol" pending || fail "alice's row for carol: $(ctl alice files)"
# One copy in alice's store (not one per member), kept for carol.
[ "$(ls "$TMP/alice/files")" = "$sha" ] || fail "alice's store: $(ls -A "$TMP/alice/files")"

start carol
wait_for "carol's copy" 30 state_is carol "$to_carol" received
wait_for "delivered to carol" 20 state_is alice "$to_carol" delivered
cmp "$TMP/f" "$TMP/bob/files/$sha" || fail "bob's copy differs"
cmp "$TMP/f" "$TMP/carol/files/$sha" || fail "carol's copy differs"
wait_for "alice's copy removed after the last member" 10 \
    sh -c "[ -z \"\$(ls -A '$TMP/alice/files')\" ]"
stop_clean alice
log "PASS"
