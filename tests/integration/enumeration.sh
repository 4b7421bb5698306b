#!/usr/bin/env bash
# The gestor's directory cannot be scraped or poisoned quickly: lookups
# and newly watched names are limited per connection and per account
# (bursts allowed, then rate_limited), a watch names at most 1024 users,
# all counted in stats; and an address a heartbeat advertises is
# published only as accept_advertise allows (issue 14, items 3 and 4).
# A peer verifies at most 10 unknown hellos a minute per source address,
# so that outsiders cannot spend its account's lookups.
# Raw frames come from tests/p2ptool.py; nothing connects to the
# advertised addresses, which only travel inside the gestor.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool

LIMITS="lookups_per_minute = 20; watch_names_per_hour = 50;"
start_gestor g
start_peer alice g
register alice >/dev/null
client_cert mallory
M="$TMP/mallory.crt $TMP/mallory.key"
GP=${PORT_OF[g]}
# session USER STEP...: one gestor connection as USER (password pw-USER-1),
# with USER's own key (one key, one account).
session() {
	local user=$1
	shift
	[ -e "$TMP/$user.crt" ] || client_cert "$user"
	p2ptool gestor-session "$GP" "$TMP/$user.crt" "$TMP/$user.key" "$user" \
	    "pw-$user-1" "$@"
}
stat_of() { ctl g stats | awk -F'\t' -v k="$1" '$1 == k { print $2 }'; }
answered() { sed -n 's/^lookups answered=\([0-9]*\) .*/\1/p'; }

# --- lookups: a burst of 20, then refused; the account's budget outlives
# the connection.
session mallory register lookups:100:alice >"$TMP/out"
grep -qx "register ok" "$TMP/out" || fail "register: $(cat "$TMP/out")"
n=$(answered <"$TMP/out")
[ "$n" -ge 20 ] && [ "$n" -le 23 ] || fail "100 lookups in a row: $(cat "$TMP/out")"
grep -q " other=0$" "$TMP/out" || fail "unexpected replies: $(cat "$TMP/out")"
session mallory auth lookups:10:alice >"$TMP/out"
n=$(answered <"$TMP/out")
[ "$n" -le 3 ] || fail "a new connection of the same account got $n of 10 lookups"
grep -q "mallory from 127.0.0.1: lookups refused" "$TMP/g.log" || fail "refusal not logged"
[ "$(stat_of lookups_refused)" -ge 80 ] || fail "lookups_refused: $(stat_of lookups_refused)"
[ "$(stat_of lookups)" -ge 20 ] || fail "lookups: $(stat_of lookups)"
# A relay request tells whether a user exists and is online, like a
# lookup: it takes from the same budget.
session mallory auth relays:5:nobody >"$TMP/out"
grep -qx "relays answered=0 rate_limited=5 other=0" "$TMP/out" ||
	fail "relay requests after the lookups: $(cat "$TMP/out")"
# Other accounts are not affected.
ctl alice lookup alice >/dev/null || fail "alice's lookup"

# --- watch: 50 new names an hour; names already watched cost nothing.
session eve register watch:40:w watch:45:w watch:45:w watch:20:x watch:1025:y >"$TMP/out"
[ "$(sed -n 2,6p "$TMP/out" | tr '\n' ' ')" = "watch ok watch ok watch ok watch rate_limited watch bad_frame " ] ||
	fail "watch limits: $(cat "$TMP/out")"
[ "$(stat_of watched_names)" -ge 45 ] || fail "watched_names: $(stat_of watched_names)"
[ "$(stat_of watches_refused)" = 1 ] || fail "watches_refused: $(stat_of watches_refused)"

# --- advertised addresses: off by default, only the observed one.
addr_of() { ctl g lookup "$1" | awk -F'\t' '$1 == "addr" { print $2 }'; }
port_of() { ctl g lookup "$1" | awk -F'\t' '$1 == "port" { print $2 }'; }
session mallory auth hb:7777:198.18.0.9 >/dev/null
[ "$(addr_of mallory)" = 127.0.0.1 ] || fail "default: published $(addr_of mallory)"
[ "$(port_of mallory)" = 7777 ] || fail "the advertised port was not published"
session mallory auth hb:7777:victim.example.org >/dev/null
[ "$(addr_of mallory)" = 127.0.0.1 ] || fail "default: published a host name $(addr_of mallory)"
grep -q "mallory at 127.0.0.1 advertises victim.example.org: not published" "$TMP/g.log" ||
	fail "refused address not logged"
[ "$(stat_of advertised_refused)" -ge 2 ] || fail "advertised_refused: $(stat_of advertised_refused)"
# Same address, another port: published (the usual NAT port forward).
session mallory auth hb:7778:127.0.0.1 >/dev/null
[ "$(addr_of mallory):$(port_of mallory)" = 127.0.0.1:7778 ] || fail "own address refused"

write_conf g gestor 'accept_advertise = "addresses";'
ctl g reload >/dev/null
session mallory auth hb:7777:198.18.0.9 >/dev/null
[ "$(addr_of mallory)" = 198.18.0.9 ] || fail "addresses: not published: $(addr_of mallory)"
for bad in 224.0.0.1 0.0.0.0 :: ff02::1 victim.example.org; do
	session mallory auth "hb:7777:$bad" >/dev/null
	[ "$(addr_of mallory)" = 127.0.0.1 ] || fail "addresses: published $bad"
done
write_conf g gestor 'accept_advertise = "names";'
ctl g reload >/dev/null
session mallory auth hb:7777:peer.example.org >/dev/null
[ "$(addr_of mallory)" = peer.example.org ] || fail "names: not published: $(addr_of mallory)"
# Numbers a resolver reads as 127.0.0.1 are no names, and have no form to
# publish: refused even for a peer connecting from loopback.
for bad in 127.1 2130706433 0177.0.0.1 0x7f000001; do
	session mallory auth "hb:7777:$bad" >/dev/null
	[ "$(addr_of mallory)" = 127.0.0.1 ] || fail "names: published $bad"
done

# --- a peer looks up the key of an unknown user who says hello, at its
# account's expense: at most 10 such hellos a minute from one address,
# the others refused at once, so nobody can spend alice's lookups.
# 20 at once: 10 verified, 10 refused, fewer if the 20 take more than 6 s
# to arrive (one more a minute every 6 s), so at least 5.
pids=()
for i in $(seq 20); do
	# shellcheck disable=SC2086
	p2ptool --src 127.0.0.5 impersonate "${PORT_OF[alice]}" $M "ghost$i" "ghost$i" \
	    alice hi >"$TMP/verify.$i" &
	pids+=($!)
done
wait "${pids[@]}"
n=$(cat "$TMP"/verify.* | grep -c '"code": "rate_limited"' || true)
[ "$n" -ge 5 ] && [ "$n" -le 10 ] || fail "20 hellos to verify from one address: $n refused"
# shellcheck disable=SC2086
p2ptool --src 127.0.0.6 impersonate "${PORT_OF[alice]}" $M ghost99 ghost99 alice hi >"$TMP/verify"
grep -q rate_limited "$TMP/verify" && fail "another address was refused: $(cat "$TMP/verify")"
stop_clean alice
stop_clean g
log "ok"
