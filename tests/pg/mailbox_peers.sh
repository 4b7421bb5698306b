#!/usr/bin/env bash
# The peers' mailbox on two gestors sharing one PostgreSQL database (issue
# 28): alice (through ga) writes to bob while he is offline (while the
# database is down her message waits, pending says why) and stops;
# her messages are deposited through ga; bob logs in through gb and has
# them once, in order; alice, back, sees them delivered. The database
# (a dump of it) holds neither their text nor their ids.
set -eu
. "$(dirname "$0")/lib.sh"

pg_new db
CI=$(pg_conninfo db)
start_pg_gestor ga "$CI"
start_pg_gestor gb "$CI"
start_peer alice ga "mailbox = { after = 0.2; };"
start_peer bob gb
register alice >/dev/null
register bob >/dev/null
wait_for "bob online (seen from ga)" 10 online_at ga bob online
ctl alice send bob "first contact" --wait=20 >/dev/null || fail "first send"
stop bob TERM
wait_for "bob offline (seen from ga)" 10 online_at ga bob offline

# The database down: nothing can be deposited; alice's message stays
# pending with the reason, and is deposited once the database is back.
pg_stop db immediate
ctl alice send bob "sealed while the database is down" >>"$TMP/ids"
wait_for "the reason: unavailable" 30 sh -c "$P2PCHATCTL -c $TMP/alice.conf pending | grep -q 'mailbox: .*unavailable'"
pg_start db
wait_for "deposited once the database is back" 30 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice.conf status | awk -F'\t' '\$1 == \"deposited\" { print \$2 }')\" = 1 ]"

for i in 1 2 3; do ctl alice send bob "sealed words $i" >>"$TMP/ids"; done
wait_for "4 deposited" 20 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice.conf status | awk -F'\t' '\$1 == \"deposited\" { print \$2 }')\" = 4 ]"
stop_clean alice
[ "$(psql_q db "SELECT count(*) FROM mailbox WHERE rcpt = 'bob'")" = 4 ] ||
	fail "the shared mailbox: $(psql_q db "SELECT count(*) FROM mailbox")"
as_pg "$PGBIN/pg_dump" -h "$PGTMP/db.s" -U p2p -d p2pchat >"$TMP/dump" ||
	fail "pg_dump"
grep -q "COPY public.mailbox" "$TMP/dump" || fail "the dump has no mailbox"
! grep -q "sealed w" "$TMP/dump" || fail "message text in the database"
while read -r id; do
	! grep -q "$id" "$TMP/dump" || fail "message id $id in the database"
done <"$TMP/ids"

start bob
wait_for "bob has them (through gb)" 30 sh -c "[ \$($P2PCHATCTL -c $TMP/bob.conf history alice | wc -l) -ge 5 ]"
{ echo "first contact"; echo "sealed while the database is down"
  for i in 1 2 3; do echo "sealed words $i"; done; } >"$TMP/want"
ctl bob history alice | cut -f5 >"$TMP/got"
diff "$TMP/want" "$TMP/got" >/dev/null || fail "bob's history: $(tr '\n' '|' <"$TMP/got")"
stop bob TERM
wait_for "bob offline (seen from ga)" 10 online_at ga bob offline
start alice
while read -r id; do
	ctl alice wait "$id" --timeout 30 >/dev/null || fail "$id not delivered: $(ctl alice pending)"
done <"$TMP/ids"
log "ok"
