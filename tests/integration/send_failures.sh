#!/usr/bin/env bash
# A send that cannot be delivered says so: no_such_user at once when the
# gestor can answer (nothing stored), failed later when it could not;
# wait and send --wait report failed (exit 1) and held (exit 3, with the
# command that releases it), print the id on stdout whatever the outcome,
# and --json errors carry id, state and reason as fields; failed events
# are stored with a seq and counted by stats.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

stat_of() { ctl "$1" stats | awk -F'\t' -v k="$2" '$1 == k { print $2 }'; }

# No relay: a restarted gestor would take the fixed relay port 7002.
start_gestor g 'relay = { listen = ""; };'
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "alice online" 10 gestor_state_is alice online

# 1. The gestor answers: refused at once, nothing stored.
expect_exit 1 ctl alice send ghost "hello?"
grep -q "^p2pchatctl: no_such_user: " "$TMP/err" || fail "no_such_user: $(cat "$TMP/err")"
[ ! -s "$TMP/out" ] || fail "a refused send printed an id: $(cat "$TMP/out")"
[ -z "$(ctl alice pending)" ] || fail "a refused send was queued"
[ -z "$(ctl alice history ghost)" ] || fail "a refused send was stored"
expect_exit 1 ctl alice --json send ghost "hello?"
grep -q '"code": *"no_such_user"' "$TMP/out" && grep -q '"user": *"ghost"' "$TMP/out" ||
	fail "--json error fields: $(cat "$TMP/out")"
grep -q '"message": *"{' "$TMP/out" && fail "JSON inside a string: $(cat "$TMP/out")"
# A known user still works, and words are joined as echo does.
id=$(ctl alice send --wait=10 bob hello there) || fail "send to bob"
ctl bob history alice | grep -q "	hello there$" || fail "words not joined"

# 2. The gestor cannot answer: queued; failed once it says no such user.
watch_bg alice "$TMP/ev"
stop g TERM
wait_for "alice lost the gestor" 10 sh -c "! $P2PCHATCTL -c $TMP/alice.conf status | grep -q '^gestor_state	online'"
id1=$(ctl alice send ghost "queued for nobody") || fail "queued send"
[ "$(ctl alice pending | cut -f1)" = "$id1" ] || fail "not queued: $(ctl alice pending)"
ctl alice send --wait=60 ghost "waited for nobody" >"$TMP/sw" 2>"$TMP/swerr" &
SW=$!
wait_for "second message queued" 10 sh -c "[ \$($P2PCHATCTL -c $TMP/alice.conf pending | wc -l) = 2 ]"
start g
rc=0; wait "$SW" || rc=$?
[ "$rc" = 1 ] || fail "send --wait on a failed message: exit $rc ($(cat "$TMP/swerr"))"
grep -Eq '^[0-9a-f]{32}$' "$TMP/sw" || fail "send --wait printed no id: $(cat "$TMP/sw")"
grep -q "failed: no such user" "$TMP/swerr" || fail "send --wait reason: $(cat "$TMP/swerr")"
expect_exit 1 ctl alice wait "$id1" --timeout 10
grep -q "^$id1	failed	no such user" "$TMP/out" || fail "wait stdout: $(cat "$TMP/out")"
grep -q "^p2pchatctl: failed: $id1 failed: no such user" "$TMP/err" || fail "wait stderr: $(cat "$TMP/err")"
expect_exit 1 ctl alice --json wait "$id1" "$id" --timeout 10
grep -q '"ids": *\["'"$id1"'"\]' "$TMP/out" && grep -q '"state": *"failed"' "$TMP/out" ||
	fail "wait --json fields: $(cat "$TMP/out")"
wait_for "failed events" 10 sh -c "[ \$(grep -c '	failed	' $TMP/ev) = 2 ]"
# Columns as for every event: seq event ts user id reason.
awk -F'\t' -v id="$id1" '$2 == "failed" && $5 == id && $6 == "no such user"' "$TMP/ev" | grep -q . ||
	fail "failed event columns: $(grep '	failed	' "$TMP/ev")"
ctl alice --json watch --since 0 >"$TMP/replay" &
R=$!
wait_for "failed events replayed" 10 sh -c "[ \$(grep -c '\"failed\"' $TMP/replay) = 2 ]"
kill "$R"; wait "$R" 2>/dev/null || true
grep '"failed"' "$TMP/replay" | grep -q '"seq": *[0-9]' || fail "failed event without seq"
grep '"failed"' "$TMP/replay" | grep -q '"reason": *"no such user' || fail "failed event without reason"
[ "$(stat_of alice failed)" = 2 ] || fail "stats failed: $(ctl alice stats)"
[ -z "$(ctl alice pending)" ] || fail "failed messages still pending"

# 3. Held: a verified contact's key changed.
wait_for "alice online again" 10 gestor_state_is alice online
ctl alice trust bob "$(field bob fingerprint)" >/dev/null || fail "trust"
stop bob TERM
start_peer bob2 g
printf '%s\n' "$(cat "$(password bob)")" | ctl bob2 login bob >/dev/null || fail "bob2 login"
ctl alice lookup bob >/dev/null
expect_exit 3 ctl alice send --wait=1 bob "to the new key"
held=$(cat "$TMP/out")
grep -Eq '^[0-9a-f]{32}$' "$TMP/out" || fail "held send --wait printed no id: $(cat "$TMP/out")"
grep -q "held: key changed.*p2pchatctl trust bob" "$TMP/err" || fail "held reason: $(cat "$TMP/err")"
expect_exit 3 ctl alice wait "$held" --timeout 0.5
grep -q "held" "$TMP/err" && grep -q "trust bob" "$TMP/err" || fail "wait held: $(cat "$TMP/err")"
ctl alice pending | grep "^$held" | grep -q "held.*trust bob" || fail "pending: $(ctl alice pending)"
ctl alice trust bob "$(field bob2 fingerprint)" >/dev/null || fail "trust new key"
ctl alice wait "$held" --timeout 15 >/dev/null || fail "held message not released"
log "ok"
