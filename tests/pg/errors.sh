#!/usr/bin/env bash
# A gestor that cannot use its database says why. What waiting cannot
# mend makes it exit 1: a bad conninfo, a database whose schema is newer
# than this p2pchatd, a bad cluster.key_file. What may mend by itself
# does not: nobody listening, a database not created yet, a password
# refused (from PGPASSFILE, never logged): it serves without the database,
# says why in status and the log, keeps trying with backoff, and uses the
# database as soon as it can (issue 23 item 3).
set -eu
. "$(dirname "$0")/lib.sh"

pg_new db
# A role that must give a password; the other roles keep trust.
psql_q db "CREATE ROLE pwuser LOGIN PASSWORD 'right-pw-123'" >/dev/null
psql_q db "GRANT ALL ON DATABASE p2pchat TO pwuser; ALTER DATABASE p2pchat OWNER TO pwuser" >/dev/null
as_pg sh -c "{ echo 'local all pwuser scram-sha-256'; cat '$PGTMP/db/pg_hba.conf'; } >'$PGTMP/db/hba.new' &&
	mv '$PGTMP/db/hba.new' '$PGTMP/db/pg_hba.conf'"
psql_q db "SELECT pg_reload_conf()" postgres >/dev/null
SOCK=$PGTMP/db.s

# gestor_fails NAME CONNINFO PATTERN [CLUSTER KEYS]: p2pchatd exits 1
# saying PATTERN.
gestor_fails() {
	local rc=0
	write_conf "$1" gestor "storage = { backend = \"postgresql\"; conninfo = \"$2\"; };
cluster = { name = \"$1\"; ${4:-} };"
	timeout 30 "$P2PCHATD" -c "$TMP/$1.conf" >"$TMP/$1.log" 2>&1 || rc=$?
	[ "$rc" = 1 ] || fail "$1: p2pchatd exited $rc: $(tail -n 3 "$TMP/$1.log")"
	grep -q "$3" "$TMP/$1.log" || fail "$1: no \"$3\" in: $(tail -n 3 "$TMP/$1.log")"
}

# db_error_has NAME PATTERN: its status names PATTERN as the database error.
db_error_has() {
	field "$1" database_error | grep -q "$2"
}
# gestor_waits NAME CONNINFO PATTERN: p2pchatd serves without its database,
# saying PATTERN in status and in the log.
gestor_waits() {
	write_conf "$1" gestor "storage = { backend = \"postgresql\"; conninfo = \"$2\"; };
cluster = { name = \"$1\"; };"
	start "$1"
	wait_for "$1's status says: $3" 10 db_error_has "$1" "$3"
	db_is "$1" connecting || fail "$1: database $(field "$1" database)"
	grep -q "serving without the database.*$3\|$3.*serving without the database" "$TMP/$1.log" ||
		fail "$1: no \"$3\" in the log: $(tail -n 3 "$TMP/$1.log")"
}

gestor_fails bad "host=$SOCK dbname=p2pchat nosuchoption=1" 'invalid connection option "nosuchoption"'
gestor_waits nobody "host=$PGTMP/none dbname=p2pchat user=p2p" "failed: No such file or directory"
stop nobody
# A database created after the gestor started: it migrates it and serves.
gestor_waits nodb "host=$SOCK dbname=nosuchdb user=p2p" 'database "nosuchdb" does not exist'
psql_q db "CREATE DATABASE nosuchdb" postgres >/dev/null
wait_for "nodb uses the new database" 20 db_is nodb connected
[ "$(psql_q db "SELECT count(*) FROM users" nosuchdb)" = 0 ] || fail "nosuchdb was not migrated"
stop nodb
# cluster.key_file: readable by others, too short, missing: refused.
head -c 48 /dev/urandom | base64 >"$TMP/cluster.key"
chmod 644 "$TMP/cluster.key"
gestor_fails openkey "host=$SOCK dbname=p2pchat user=p2p" "cluster.key_file .*mode 0600 or 0400 (it is mode 644" \
    "key_file = \"$TMP/cluster.key\";"
chmod 600 "$TMP/cluster.key"
printf 'short\n' >"$TMP/short.key"
chmod 600 "$TMP/short.key"
gestor_fails shortkey "host=$SOCK dbname=p2pchat user=p2p" "cluster.key_file .*must hold 32 to 4096 bytes" \
    "key_file = \"$TMP/short.key\";"
gestor_fails nokey "host=$SOCK dbname=p2pchat user=p2p" "cluster.key_file $TMP/none.key: No such file" \
    "key_file = \"$TMP/none.key\";"

umask 077
printf '%s:*:p2pchat:pwuser:wrong-pw-456\n' "$SOCK" >"$TMP/pgpass"
export PGPASSFILE=$TMP/pgpass
gestor_waits wrongpw "host=$SOCK dbname=p2pchat user=pwuser" 'password authentication failed for user "pwuser"'
grep -q "wrong-pw-456" "$TMP/wrongpw.log" && fail "the password was logged"
ctl wrongpw status | grep -q "wrong-pw-456" && fail "the password is in status"
# The password mended in the file: the next try gets in.
printf '%s:*:p2pchat:pwuser:right-pw-123\n' "$SOCK" >"$TMP/pgpass"
wait_for "wrongpw connects with the mended password" 20 db_is wrongpw connected
stop wrongpw
start_pg_gestor good "host=$SOCK dbname=p2pchat user=pwuser"
db_is good connected || fail "good: database $(field good database)"
# Rows that are not what a gestor writes: users still lists the table,
# bad addresses shown empty, unusable rows left out, each logged.
fp=sha256:$(printf '%064d' 5)
long=$(printf 'a%.0s' $(seq 300))
psql_q db "INSERT INTO users (name, hash, fingerprint, created, addr, port) VALUES
    ('longaddr', 'hash', '$fp', 0, '$long', 7001),
    ('badport', 'hash', '$fp', 0, '127.0.0.1', 70000),
    ('badfp', 'hash', 'not-a-fingerprint', 0, '127.0.0.1', 7001),
    ('Bad Name', 'hash', '$fp', 0, '127.0.0.1', 7001)" >/dev/null
ctl good users >"$TMP/users" || fail "users failed with bad rows: $(cat "$TMP/users")"
grep -q "^longaddr	" "$TMP/users" && grep -q "^badport	" "$TMP/users" ||
	fail "users does not list the usable rows: $(cat "$TMP/users")"
grep -q "^badfp	\|^Bad Name	\|$long\|70000" "$TMP/users" && fail "users shows a bad value: $(cat "$TMP/users")"
grep -q "user longaddr: the address in the database is not a host and port (too long)" "$TMP/good.log" ||
	fail "no log line for the long address"
grep -q "user badfp: the key fingerprint in the database is not one: skipped" "$TMP/good.log" ||
	fail "no log line for the fingerprint"
stop good
grep -q "right-pw-123" "$TMP/good.log" && fail "the password was logged"
unset PGPASSFILE

# A newer schema (a newer p2pchatd migrated it): refused, left untouched.
psql_q db "UPDATE p2pchat_schema SET version = 999" >/dev/null
gestor_fails newer "host=$SOCK dbname=p2pchat user=p2p" "schema is version 999, newer than this p2pchatd knows"
[ "$(psql_q db "SELECT version FROM p2pchat_schema")" = 999 ] || fail "the schema version was changed"
log "ok"
