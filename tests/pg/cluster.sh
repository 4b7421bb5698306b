#!/usr/bin/env bash
# Two gestors on one PostgreSQL: register through one, log in through the
# other; lookups on either give the current address and key; presence of
# a user on one gestor reaches watchers on the other; a login through B
# while a session is open on A leaves one session.
set -eu
. "$(dirname "$0")/lib.sh"

pg_new db
CI=$(pg_conninfo db)
start_pg_gestor ga "$CI"
start_pg_gestor gb "$CI"
[ "$(field ga backend)" = postgresql ] || fail "status backend: $(field ga backend)"
[ "$(field ga database)" = connected ] || fail "status database: $(field ga database)"
[ "$(field ga cluster)" = ga ] || fail "status cluster: $(field ga cluster)"

start_peer alice ga
start_peer bob gb
register alice >/dev/null
register bob >/dev/null
wait_for "alice online (seen from gb)" 10 online_at gb alice online
wait_for "bob online (seen from ga)" 10 online_at ga bob online
[ "$(ctl ga users | wc -l)" = 2 ] || fail "ga lists $(ctl ga users | wc -l) users"

# libpq is opened by the PostgreSQL store (daemon/gstore/pqdl.c), never linked:
# the gestors on PostgreSQL map it, a peer (same binary) never does.
grep -q '/libpq\.so' "/proc/${PIDS[ga]}/maps" || fail "ga has not loaded libpq"
if grep -q '/libpq\.so' "/proc/${PIDS[alice]}/maps"; then
	fail "peer alice maps libpq"
fi

# alice (on ga) watches bob (on gb).
ctl alice lookup bob >"$TMP/lookup" || fail "lookup across gestors"
grep -q "^fingerprint	$(field bob fingerprint)$" "$TMP/lookup" || fail "lookup key: $(cat "$TMP/lookup")"
grep -q "^port	${PORT_OF[bob]}$" "$TMP/lookup" || fail "lookup port: $(cat "$TMP/lookup")"
watch_bg alice "$TMP/events"
id=$(ctl alice send bob "across gestors" --wait=20) || fail "send across gestors"
ctl bob history alice | grep -q "across gestors" || fail "bob did not get the message"

# bob goes away and comes back: alice hears both, through gb -> ga.
stop bob
wait_for "alice told bob is offline" 10 grep -q "presence	-	bob	-	offline" "$TMP/events"
wait_for "bob offline at ga" 5 online_at ga bob offline
start bob
wait_for "alice told bob is online" 10 grep -q "presence	-	bob	-	online" "$TMP/events"

# carol registers on ga, logs in on gb: her account is shared.
start_peer carol ga
register carol >/dev/null
wait_for "carol online" 10 online_at gb carol online
stop carol
rm -rf "$TMP/carol"
start_peer carol gb
ctl carol login carol --password-file "$(password carol)" >/dev/null || fail "login through gb"
wait_for "carol online at gb" 10 online_at ga carol online

# A second device of bob logs in through ga while bob's session on gb is
# open: gb ends its session, one session is left.
start_peer bob2 ga
ctl bob2 login bob --password-file "$(password bob)" >/dev/null || fail "bob2 login through ga"
wait_for "gb closed bob's old session" 10 grep -q "user bob: session replaced by a login through gestor ga" "$TMP/gb.log"
wait_for "bob online through ga" 10 online_at gb bob online
n=$(( $(field ga online) + $(field gb online) ))
[ "$n" = 3 ] || fail "$n sessions online in the cluster (want 3: alice, carol, bob)"
ctl ga stats | grep -q "^db_errors	" || fail "stats db_errors"
# A clean stop: offline at once, exit 0 (no leak under the sanitizers).
stop_clean gb
wait_for "the other gestor shows carol offline at once" 5 online_at ga carol offline
stop_clean ga
log "ok"
