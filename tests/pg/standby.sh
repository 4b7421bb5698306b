#!/usr/bin/env bash
# A primary and a streaming standby (pg_basebackup -R); the gestors list
# both in a multi-host conninfo with target_session_attrs=read-write. The
# primary dies, the standby is promoted: the gestors find it, reconcile
# and carry on (accounts made before the crash are there, new ones work,
# presence crosses gestors again); sessions were kept meanwhile.
set -eu
. "$(dirname "$0")/lib.sh"

pg_new p1
pg_standby p1 p2
CI=$(pg_conninfo p1 p2)
start_pg_gestor ga "$CI"
start_pg_gestor gb "$CI"
start_peer alice ga
start_peer bob gb
register alice >/dev/null
register bob >/dev/null
wait_for "bob online at ga" 10 online_at ga bob online
ctl alice lookup bob >/dev/null || fail "lookup"
watch_bg alice "$TMP/alice.events"
# bob learns alice's key (a receiver checks the sender's key with the gestor).
ctl alice send bob "before" --wait=20 >/dev/null || fail "send before the crash"
# The standby has replayed the accounts before the primary dies.
wait_for "accounts on the standby" 10 users_on p2 2

pg_stop p1 immediate
wait_for "ga lost the primary" 10 db_is ga reconnecting
ctl alice send bob "while failing over" --wait=20 >/dev/null 2>"$TMP/err" || fail "send during the failover: $(cat "$TMP/err"; ctl alice pending)"
pg_promote p2
wait_for "ga on the promoted standby" 30 db_is ga connected
wait_for "gb on the promoted standby" 30 db_is gb connected
ctl ga lookup bob >/dev/null 2>"$TMP/err" || fail "bob's account lost in the failover: $(cat "$TMP/err")"
start_peer carol gb
register carol >/dev/null || fail "register on the promoted standby"
wait_for "carol online at ga" 10 online_at ga carol online
stop bob
wait_for "alice told bob is offline" 10 grep -q "presence	-	bob	-	offline" "$TMP/alice.events"
[ "$(psql_q p2 "SELECT count(*) FROM users")" = 3 ] || fail "users on the new primary"
log "ok"
