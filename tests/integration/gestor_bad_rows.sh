#!/usr/bin/env bash
# What the gestor reads from its database is untrusted input: rows written
# by hand, by another program or by someone with the file. A 300-character
# address, a port out of range, an address that is not a host, a
# fingerprint that is not one, a name that is not a username: `users`
# still lists the table (bad addresses shown empty, unusable rows left
# out), each problem logged; lookups answer what is usable and refuse the
# rest.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools sqlite3

start_gestor g
start_peer alice g
register alice >/dev/null
fp=sha256:$(printf '%064d' 5)
long=$(printf 'a%.0s' $(seq 300))
sqlite3 "$TMP/g/gestor.db" ".timeout 10000" "
INSERT INTO users (name, hash, fingerprint, created, last_seen, addr, port) VALUES ('longaddr', 'hash', '$fp', 0, 0, '$long', 7001);
INSERT INTO users (name, hash, fingerprint, created, last_seen, addr, port) VALUES ('badport', 'hash', '$fp', 0, 0, '127.0.0.1', 70000);
INSERT INTO users (name, hash, fingerprint, created, last_seen, addr, port) VALUES ('notahost', 'hash', '$fp', 0, 0, 'a b;c', 7001);
INSERT INTO users (name, hash, fingerprint, created, last_seen, addr, port) VALUES ('badfp', 'hash', 'not-a-fingerprint', 0, 0, '127.0.0.1', 7001);
INSERT INTO users (name, hash, fingerprint, created, last_seen, addr, port) VALUES ('Bad Name', 'hash', '$fp', 0, 0, '127.0.0.1', 7001);
INSERT INTO users (name, hash, fingerprint, created, last_seen, addr, port) VALUES ('nohash', '', '$fp', 0, 0, '127.0.0.1', 7001);"

ctl g users >"$TMP/users" || fail "users failed: $(cat "$TMP/users")"
for u in alice longaddr badport notahost; do
	grep -q "^$u	" "$TMP/users" || fail "users does not list $u: $(cat "$TMP/users")"
done
for u in badfp 'Bad Name' nohash; do
	grep -q "^$u	" "$TMP/users" && fail "users lists the unusable row $u"
done
grep -q "$long" "$TMP/users" && fail "users shows the 300-character address"
grep -q "70000" "$TMP/users" && fail "users shows port 70000"
grep -q "a b;c" "$TMP/users" && fail "users shows an address that is not a host"
ctl g users --json >/dev/null || fail "users --json"
grep -q "user longaddr: the address in the database is not a host and port (too long)" "$TMP/g.log" ||
	fail "no log line for the long address"
grep -q "user badport: .*(port out of range)" "$TMP/g.log" || fail "no log line for the port"
grep -q "user badfp: the key fingerprint in the database is not one: skipped" "$TMP/g.log" ||
	fail "no log line for the fingerprint"
grep -q "users row whose name \"Bad Name\" is not a username" "$TMP/g.log" || fail "no log line for the name"

# Lookups: the usable row without its address; the unusable one refused.
ctl alice lookup longaddr >"$TMP/lookup" || fail "lookup longaddr: $(cat "$TMP/lookup")"
grep -q "^fingerprint	$fp$" "$TMP/lookup" || fail "lookup longaddr: $(cat "$TMP/lookup")"
grep -q "$long" "$TMP/lookup" && fail "lookup shows the long address"
expect_exit 1 "$P2PCHATCTL" -c "$TMP/alice.conf" lookup badfp
grep -q "not-a-fingerprint" "$TMP/out" && fail "lookup shows the bad fingerprint"
ctl alice lookup alice >/dev/null || fail "lookup alice"
log "ok"
