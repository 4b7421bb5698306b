#!/usr/bin/env bash
# The mailbox on two gestors sharing one database (issue 28): bob is
# logged in through gb; alice deposits through ga; bob is pushed an mbox
# through the cluster's sealed notification channel, fetches, counts and
# acks through gb, and the row is gone from the shared database.
set -eu
. "$(dirname "$0")/lib.sh"
need_tools python3 certtool openssl

pg_new db
CI=$(pg_conninfo db)
start_pg_gestor ga "$CI"
start_pg_gestor gb "$CI"
session() {	# session GESTOR USER STEP...
	local g=$1 user=$2
	shift 2
	[ -e "$TMP/$user.crt" ] || client_cert "$user" ed25519
	p2ptool gestor-session "${PORT_OF[$g]}" "$TMP/$user.crt" \
	    "$TMP/$user.key" "$user" "pw-$user-1" "$@"
}
client_cert bob ed25519
BOB=$(openssl pkey -in "$TMP/bob.key" -pubout -outform DER | tail -c 32 |
    od -An -tx1 | tr -d ' \n')
session gb bob "mailkey:$BOB" register >/dev/null
session ga alice register lookup:bob >"$TMP/out"
[ "$(cat "$TMP/out")" = "$(printf 'register ok\nlookup ok mail=%s' "$BOB")" ] ||
	fail "ga publishes bob's mail key: $(cat "$TMP/out")"

session gb bob auth pushes:120 get:0 >"$TMP/bob.out" &
bobpid=$!
wait_for "bob's session on gb" 20 grep -q "gestor: auth bob from" "$TMP/gb.log"
session ga alice auth put:bob:aGVsbG8= >"$TMP/out"
grep -qx "put ok id=1" "$TMP/out" || fail "deposit through ga: $(cat "$TMP/out")"
wait "$bobpid" || fail "bob's session: $(cat "$TMP/bob.out")"
[ "$(sed -n 2,4p "$TMP/bob.out" | tr '\n' '|')" = "pushes 1|get ok n=1 more=False|mail 1 alice 5 aGVsbG8=|" ] ||
	fail "bob on gb: $(tr '\n' '|' <"$TMP/bob.out")"
[ "$(psql_q db "SELECT count(*) FROM mailbox")" = 1 ] || fail "the row before the ack"
session gb bob auth count ack:1 count >"$TMP/out"
[ "$(tr '\n' '|' <"$TMP/out")" = "auth ok|count ok n=1 bytes=5|ack ok|count ok n=0 bytes=0|" ] ||
	fail "count and ack through gb: $(tr '\n' '|' <"$TMP/out")"
[ "$(psql_q db "SELECT count(*) FROM mailbox")" = 0 ] || fail "the row after the ack"
