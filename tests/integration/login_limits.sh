#!/usr/bin/env bash
# Login and registration limits over real TLS from several source
# addresses (127.0.0.2 ... 127.0.0.9, all loopback): a guesser at one
# address is throttled for that user (and for all users together) but
# cannot lock the owner out from another address; guessers at enough
# addresses reach the per-user ceiling; guesses sent together on many
# connections count as they start; registrations are limited per
# source address. The table's behaviour when attacked with colliding
# keys and when full is unit-tested (test_ratelimit). A resume (auth)
# is not refused by these limits.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool

LIMITS="login_attempts_per_minute = 3; login_attempts_per_address_per_minute = 5;
login_attempts_per_user_per_minute = 7; registrations_per_address_per_hour = 3;"
start_gestor g
start_peer alice g
register alice >/dev/null
start_peer erin g
register erin >/dev/null
client_cert mallory
M="$TMP/mallory.crt $TMP/mallory.key"
GP=${PORT_OF[g]}
# codes SRC USER N: N failed logins for USER from SRC; their reply codes.
codes() {
	# shellcheck disable=SC2086 # certificate and key
	p2ptool --src "$1" frames "$GP" $M login-fail "$2" "$3" | sed 's/^login-fail: //'
}
# login_from SRC: alice's right password from SRC; the reply's code or ok.
login_from() {
	# shellcheck disable=SC2086
	p2ptool --src "$1" login "$GP" $M alice "$(password alice)" |
	    python3 -c 'import json,sys; f=json.load(sys.stdin); print(f.get("code", f["t"]))'
}

# --- one guesser: 3 for alice from 127.0.0.2, then refused.
got=$(codes 127.0.0.2 alice 4)
[ "$got" = "bad_credentials bad_credentials bad_credentials rate_limited" ] ||
	fail "guesser at 127.0.0.2: $got"
grep -q "rate limited alice from 127.0.0.2 (for this user from this address)" "$TMP/g.log" ||
	fail "the refusal is not logged with its reason"
# The same address for other users: 5 in all from it, then refused.
got=$(codes 127.0.0.2 bob 3)
[ "$got" = "bad_credentials bad_credentials rate_limited" ] || fail "127.0.0.2 for bob: $got"
# The right password from that address waits too...
[ "$(login_from 127.0.0.2)" = rate_limited ] || fail "127.0.0.2 not limited for the right password"
# ...but the owner gets in from anywhere else (3 failures < the ceiling of 7).
[ "$(login_from 127.0.0.3)" = ok ] || fail "the owner was locked out by one guesser"

# --- guessers at more addresses reach the per-user ceiling (7).
got="$(codes 127.0.0.4 alice 3) $(codes 127.0.0.5 alice 2)"
[ "$got" = "bad_credentials bad_credentials bad_credentials bad_credentials rate_limited" ] ||
	fail "ceiling: $got"
[ "$(login_from 127.0.0.6)" = rate_limited ] || fail "the per-user ceiling did not hold"
grep -q "rate limited alice from 127.0.0.6 (for this user)" "$TMP/g.log" ||
	fail "the ceiling's refusal is not logged"
[ "$(ctl g stats | awk -F'\t' '$1 == "rate_limited" { print $2 }')" -ge 5 ] ||
	fail "refusals not counted in stats"

# --- guesses in flight together: 30 connections from one address each
# send a wrong password before any reply comes; only 3 are checked (they
# count from when they start, not when the password check fails).
# shellcheck disable=SC2086
got=$(p2ptool --src 127.0.0.9 login-parallel "$GP" $M dave 30)
[ "$got" = "bad_credentials=3 rate_limited=27 other=0" ] ||
	fail "30 parallel guesses from one address: $got"

# --- registrations: 3 an hour from one address, then refused.
# Each account with a key of its own (one key, one account).
for i in 1 2 3; do
	client_cert "spam$i"
	p2ptool --src 127.0.0.7 register "$GP" "$TMP/spam$i.crt" "$TMP/spam$i.key" \
	    "spam$i" "spam-password-$i" >"$TMP/out"
	grep -q '"t": "ok"' "$TMP/out" || fail "registration $i: $(cat "$TMP/out")"
done
# shellcheck disable=SC2086
p2ptool --src 127.0.0.7 register "$GP" $M spam4 spam-password-4 >"$TMP/out"
grep -q '"code": "rate_limited"' "$TMP/out" && grep -q "too many registrations" "$TMP/out" ||
	fail "4th registration from 127.0.0.7: $(cat "$TMP/out")"
ctl g lookup spam4 >/dev/null 2>&1 && fail "spam4 was registered"
client_cert spam5
S5="$TMP/spam5.crt $TMP/spam5.key"
# shellcheck disable=SC2086
p2ptool --src 127.0.0.8 register "$GP" $S5 spam5 spam-password-5 >"$TMP/out"
grep -q '"t": "ok"' "$TMP/out" || fail "registration from another address: $(cat "$TMP/out")"
# A login that succeeds is not counted (limit 3 per user and address).
(umask 077; echo spam-password-5 >"$TMP/spam5.pw")
for i in 1 2 3 4 5; do
	# shellcheck disable=SC2086
	p2ptool --src 127.0.0.10 login "$GP" $S5 spam5 "$TMP/spam5.pw" >"$TMP/out"
	grep -q '"t": "ok"' "$TMP/out" || fail "login $i of spam5: $(cat "$TMP/out")"
done
# --- auth guesses no password: erin's daemon, restarted while her
# password is guessed from three addresses up to the per-user ceiling
# (one of them her daemon's own), still resumes (issue 24 item 9).
got="$(codes 127.0.0.10 erin 3) $(codes 127.0.0.11 erin 3) $(codes 127.0.0.1 erin 2)"
case $got in *rate_limited) ;; *) fail "the campaign against erin was not limited: $got" ;; esac
stop erin KILL
start erin
wait_for "erin resumes while her password is being guessed" 10 gestor_state_is erin online
grep -q "rate limited erin from 127.0.0.1" "$TMP/g.log" ||
	fail "the guesses from erin's address were not limited"
stop_clean alice
stop_clean g
log "ok"
