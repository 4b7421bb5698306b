#!/usr/bin/env bash
# The password-hashing queue is shared fairly per source address: 400
# wrong logins from 40 addresses (127.0.0.10-49), all sent at once, do
# not make a legitimate login from another address wait for them (FIFO
# made it wait for every one: ~400 x 14 ms); jobs over a source's share
# are refused "busy" at once. And the log holds back the 400 connection
# lines past 200.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool

start_gestor g
start_peer carol g
register carol >/dev/null
ctl carol logout >/dev/null
client_cert mallory
G=${PORT_OF[g]}

p2ptool login-storm "$G" "$TMP/mallory.crt" "$TMP/mallory.key" 40 10 10 >"$TMP/storm" &
STORM=$!
wait_for "the storm to be sent" 120 grep -q '^sent=' "$TMP/storm"
t0=$(date +%s%N)
ctl carol login carol --password-file "$(password carol)" >/dev/null ||
	fail "carol's login during the storm"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# How many hashes ran before carol's (and during this call): one per
# source in turn makes it about 40; first come, first served all 320+.
hashed=$(ctl g stats | awk -F'\t' '$1 == "hashed" { print $2 }')
wait "$STORM" || fail "the storm client failed"
log "carol logged in in $ms ms, after $hashed hashes, during the storm; storm: $(tr '\n' ' ' <"$TMP/storm")"
[ "${hashed:-1000}" -le 200 ] || fail "carol's login waited for $hashed hashes (400 queued)"
[ "$ms" -lt 10000 ] || fail "carol's login took $ms ms behind 400 queued hashes"
grep -q "other=0" "$TMP/storm" || fail "storm replies: $(cat "$TMP/storm")"
grep -q "too many password checks waiting from this address" "$TMP/g.log" ||
	fail "no source was refused over its share (8 waiting)"
refused=$(ctl g stats | awk -F'\t' '$1 == "hash_refused" { print $2 }')
[ "${refused:-0}" -ge 1 ] || fail "stats: hash_refused ${refused:-missing}"
stop_clean carol
stop_clean g	# prints what the log held back
# The log: 400 connections from 40 addresses (10 each, under the 20 a
# source may log) are one kind of line, at most 200 in 10 s in all.
n=$(grep -Ec '^INFO gestor: connection from 127\.0\.0\.[1-4][0-9]$' "$TMP/g.log") || true
[ "$n" -le 200 ] || fail "$n lines for 400 connections"
grep -Eq '^WARN log: [0-9]+ more lines from many sources suppressed .*connection from' "$TMP/g.log" ||
	fail "no summary of the connection lines held back"
log "ok"
