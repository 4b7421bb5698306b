#!/usr/bin/env bash
# PostgreSQL stopped with -m immediate (a crash) and started again while
# two gestors serve: connected peers keep their sessions and messaging goes
# on; register and lookup answer "unavailable" with a clear message; the
# gestors reconnect, LISTEN again, reconcile presence (a user who left
# meanwhile is offline everywhere) and serve again without a restart.
set -eu
. "$(dirname "$0")/lib.sh"

pg_new db
CI=$(pg_conninfo db)
start_pg_gestor ga "$CI"
start_pg_gestor gb "$CI"
start_peer alice ga
start_peer bob gb
start_peer erin gb
for u in alice bob erin; do register "$u" >/dev/null; done
wait_for "bob online at ga" 10 online_at ga bob online
ctl alice lookup bob >/dev/null || fail "lookup"
ctl alice lookup erin >/dev/null || fail "lookup"
watch_bg alice "$TMP/alice.events"
ctl alice send bob "before" --wait=20 >/dev/null || fail "send before the crash"

pg_stop db immediate
wait_for "ga sees the database gone" 10 db_is ga reconnecting
wait_for "gb sees the database gone" 10 db_is gb reconnecting
case $(field ga database_error) in ""|-) fail "status shows no database error" ;; esac

# Sessions stay, messages flow (peers know each other's addresses).
ctl alice send bob "during" --wait=20 >/dev/null || fail "send during the outage"
ctl bob history alice | grep -q "during" || fail "bob did not get the message"
online_at ga alice online 2>/dev/null && fail "ga lookup answered without its database"
ctl ga lookup alice 2>"$TMP/err" && fail "gestor lookup worked without a database"
grep -q "unavailable" "$TMP/err" || fail "ctl lookup error: $(cat "$TMP/err")"
start_peer carol ga
rc=0
ctl carol register carol --password-file "$(password carol)" 2>"$TMP/err" >/dev/null || rc=$?
[ "$rc" = 1 ] || fail "register during the outage exited $rc"
grep -q "unavailable" "$TMP/err" || fail "register error: $(cat "$TMP/err")"
# erin leaves while the database is down: nobody can be told yet.
stop erin
[ "$(field ga online)" = 1 ] || fail "ga lost alice's session: $(field ga online)"

pg_start db
t0=$(date +%s%N)
wait_for "ga reconnected" 20 db_is ga connected
wait_for "gb reconnected" 20 db_is gb connected
log "both gestors connected $(( ($(date +%s%N) - t0) / 1000000 )) ms after the database was back"
[ "$(ctl ga stats | awk -F'\t' '$1 == "db_reconnects" { print $2 }')" -ge 1 ] ||
	fail "stats db_reconnects: $(ctl ga stats)"
ctl carol register carol --password-file "$(password carol)" >/dev/null || fail "register after the restart"
wait_for "erin offline everywhere (reconcile)" 15 online_at ga erin offline
wait_for "alice told erin is offline" 10 grep -q "presence	-	erin	-	offline" "$TMP/alice.events"
online_at gb alice online || fail "alice not online at gb after the reconcile"
online_at ga bob online || fail "bob not online at ga after the reconcile"
# LISTEN again: presence crosses gestors as before.
stop bob
wait_for "alice told bob is offline" 10 grep -q "presence	-	bob	-	offline" "$TMP/alice.events"
log "ok"
