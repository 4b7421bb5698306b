#!/usr/bin/env bash
# A gestor started while its PostgreSQL is down does not exit: it serves
# what needs no database (TLS, its control socket, `unavailable` answers
# that say why), says so in status and the log, keeps trying with backoff,
# and once the server is started it migrates the new database and serves
# accounts and messages (issue 23 item 3).
set -eu
. "$(dirname "$0")/lib.sh"

pg_init db			# created, not started
CI=$(pg_conninfo db)
start_pg_gestor ga "$CI"
[ "$(field ga database)" = connecting ] || fail "database: $(field ga database)"
case $(field ga database_error) in ""|-) fail "status does not say why" ;; esac
grep -q "serving without the database and retrying" "$TMP/ga.log" || fail "the log does not say so"
start_peer alice ga
rc=0
ctl alice register alice --password-file "$(password alice)" 2>"$TMP/err" >/dev/null || rc=$?
[ "$rc" = 1 ] && grep -q "unavailable" "$TMP/err" || fail "register without a database: exit $rc, $(cat "$TMP/err")"
ctl ga status >/dev/null || fail "ga stopped serving its control socket"

pg_start db
psql_q db "CREATE DATABASE p2pchat" postgres >/dev/null || pg_fail "createdb"
wait_for "ga uses the database" 20 db_is ga connected
start_peer bob ga
for u in alice bob; do register "$u" >/dev/null || fail "register $u"; done
ctl alice lookup bob >/dev/null || fail "lookup"
ctl alice send bob "hello, late database" --wait=20 >/dev/null || fail "send"
users_on db 2 || fail "the database has $(psql_q db "SELECT count(*) FROM users") accounts"
log "ok"
