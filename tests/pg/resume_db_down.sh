#!/usr/bin/env bash
# Issue 23's reproduction: one gestor on PostgreSQL; the database crashes
# (-m immediate); alice's daemon is killed (-9) and started again while it
# is down, so its resume is answered "unavailable". alice keeps her
# session, says why in status, and once the database is back she is
# logged in again and delivers, with no command typed.
set -eu
. "$(dirname "$0")/lib.sh"

pg_new db
CI=$(pg_conninfo db)
start_pg_gestor ga "$CI"
start_peer alice ga
start_peer bob ga
for u in alice bob; do register "$u" >/dev/null; done
ctl alice lookup bob >/dev/null || fail "lookup"
ctl alice send bob "before" --wait=20 >/dev/null || fail "send before the crash"

pg_stop db immediate
wait_for "ga sees the database gone" 10 db_is ga reconnecting
stop alice KILL
start alice
wait_for "alice's resume refused as unavailable" 15 grep -q "cannot resume alice.*unavailable" "$TMP/alice.log"
[ "$(field alice state)" = logged_in ] || fail "alice lost her session: $(ctl alice status)"
ctl alice status >"$TMP/st"
grep -q "^gestor_error	.*unavailable" "$TMP/st" || fail "status does not say why: $(cat "$TMP/st")"
# Meanwhile she still delivers to bob at his cached address.
ctl alice send bob "during" --wait=20 >/dev/null || fail "send while she cannot resume"

pg_start db
t0=$(date +%s%N)
wait_for "ga reconnected" 20 db_is ga connected
wait_for "alice resumed" 20 gestor_state_is alice online
log "alice online again $(( ($(date +%s%N) - t0) / 1000000 )) ms after the database was back"
[ "$(field alice state)" = logged_in ] || fail "alice is $(field alice state)"
ctl alice send bob "after" --wait=20 >/dev/null || fail "send after the database is back"
ctl bob history alice >"$TMP/h"
for m in before during after; do
	grep -q "$m" "$TMP/h" || fail "bob did not get '$m': $(cat "$TMP/h")"
done
grep -q "ended the session" "$TMP/alice.log" && fail "the peer logged its session as ended"
log "ok"
