#!/usr/bin/env bash
# Accounts: register, login, bad input, passwords from stdin and files,
# sessions that survive restarts of the peer and of the gestor; one
# daemon (data_dir), one account; one key, one account at the gestor.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer bob g

# Register alice from a password file; bob from stdin.
register alice >"$TMP/out" || fail "register alice"
grep -q "^user	alice$" "$TMP/out" || fail "register output: $(cat "$TMP/out")"
grep -q "^fingerprint	sha256:" "$TMP/out" || fail "no fingerprint in register output"
printf 'bob-password-1\n' | ctl bob register bob >/dev/null || fail "register bob from stdin"
wait_for "alice online" 10 gestor_state_is alice online
wait_for "bob online" 10 gestor_state_is bob online
[ "$(field alice user)" = alice ] || fail "status user"
[ "$(field alice state)" = logged_in ] || fail "status state"

# The gestor sees both, online.
ctl g users >"$TMP/users"
[ "$(awk -F'\t' '$1=="alice"{print $2}' "$TMP/users")" = online ] || fail "alice not online at the gestor: $(cat "$TMP/users")"
ctl g lookup bob | grep -q "^online	online$" || fail "gestor lookup bob"
# A peer's lookup of an online user is answered from the gestor's session:
# the same key, address and port as the gestor's own view of the account.
ctl alice --json lookup bob >"$TMP/lk" || fail "alice looks bob up"
ctl g --json lookup bob >"$TMP/glk" || fail "gestor lookup bob --json"
jq -e --slurpfile g "$TMP/glk" '.online == $g[0].online and (.online == true or .online == "online") and
    .fingerprint == $g[0].fingerprint and .addr == $g[0].addr and
    .port == $g[0].port and .port > 0 and (.last_seen | length) > 0' \
    "$TMP/lk" >/dev/null ||
    fail "alice's lookup of bob: $(cat "$TMP/lk") vs the gestor's: $(cat "$TMP/glk")"
[ "$(jq -r .fingerprint "$TMP/lk")" = "$(field bob fingerprint)" ] ||
    fail "lookup fingerprint $(jq -r .fingerprint "$TMP/lk") is not bob's ($(field bob fingerprint))"

# Duplicate user, wrong password, invalid names, short password.
start_peer carol g
expect_exit 1 ctl carol register alice --password-file "$(password carol)"
grep -q "user_exists" "$TMP/err" || fail "duplicate register message: $(cat "$TMP/err")"
printf 'wrong-password\n' >"$TMP/wrong"
expect_exit 1 ctl carol login alice --password-file "$TMP/wrong"
grep -q "bad_credentials" "$TMP/err" || fail "wrong password message: $(cat "$TMP/err")"
for bad in Alice "-x" "a b" "$(printf 'x%.0s' $(seq 33))" "é"; do
	expect_exit 1 ctl carol register "$bad" --password-file "$(password carol)"
	grep -q "invalid_argument" "$TMP/err" || fail "invalid name '$bad': $(cat "$TMP/err")"
done
printf 'short\n' >"$TMP/short"
expect_exit 1 ctl carol register carol --password-file "$TMP/short"
expect_exit 2 ctl carol register
expect_exit 2 ctl carol frobnicate
# The password never appears in the daemons' logs.
! grep -q "wrong-password\|bob-password-1" "$TMP"/*.log || fail "a password is in a log"

# The same password through a pipe logs in on a new device: key rebinds.
start_peer alice2 g
printf '%s\n' "$(cat "$(password alice)")" | ctl alice2 login alice >"$TMP/out" ||
	fail "login alice from a second daemon"
grep -q "^key_changed	yes$" "$TMP/out" || fail "login output: $(cat "$TMP/out")"
# The first daemon's session was replaced: it is logged out.
wait_for "old alice daemon logged out" 10 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice.conf status | awk -F'\t' '\$1==\"state\"{print \$2}')\" = logged_out ]"
stop alice2
printf '%s\n' "$(cat "$(password alice)")" | ctl alice login alice >/dev/null || fail "login back"
wait_for "alice online again" 10 gestor_state_is alice online

# A restarted peer resumes its session with its key, no command needed.
stop alice
start alice
wait_for "alice resumes after restart" 10 gestor_state_is alice online
[ "$(field alice user)" = alice ] || fail "user after restart"

# A restarted gestor: peers come back by themselves.
stop g
wait_for "alice sees the gestor gone" 10 sh -c "! $P2PCHATCTL -c $TMP/alice.conf status | grep -q '^gestor_state	online$'"
start g
wait_for "alice back online" 20 gestor_state_is alice online
wait_for "bob back online" 20 gestor_state_is bob online

# Logout: offline at the gestor at once.
ctl bob logout || fail "logout"
[ "$(field bob state)" = logged_out ] || fail "state after logout"
wait_for "bob offline at the gestor" 5 sh -c "$P2PCHATCTL -c $TMP/g.conf lookup bob | grep -q '^online	offline$'"
expect_exit 1 ctl bob logout
grep -q not_logged_in "$TMP/err" || fail "second logout message"
# Logged out, a peer holds no gestor connection; a login makes one.
wait_for "bob idle after logout" 5 gestor_state_is bob disconnected
printf 'bob-password-1\n' | ctl bob login bob >/dev/null || fail "login after logout"
wait_for "bob online again" 10 gestor_state_is bob online

# One daemon, one account: logged out, bob's daemon refuses any other
# name (its history, contacts and key are bob's), on register and login.
ctl bob logout >/dev/null || fail "logout again"
expect_exit 1 ctl bob register frank --password-file "$(password frank)"
grep -q "^p2pchatctl: wrong_account: this daemon's store belongs to bob: cannot register frank" "$TMP/err" ||
	fail "register frank on bob's daemon: $(cat "$TMP/err")"
expect_exit 1 ctl bob login alice --password-file "$(password alice)"
grep -q "^p2pchatctl: wrong_account: this daemon's store belongs to bob" "$TMP/err" ||
	fail "login alice on bob's daemon: $(cat "$TMP/err")"
ctl g users | cut -f1 | grep -qx frank && fail "frank was registered with bob's key"
printf 'bob-password-1\n' | ctl bob login bob >/dev/null || fail "bob's own login"
# The gestor: a second account for a key that is already an account's is
# refused, by register and by a login that would rebind the key (a copy
# of bob's identity.key in a fresh data_dir).
mkdir -m 700 "$TMP/clone"
cp -p "$TMP/bob/identity.key" "$TMP/clone/identity.key"
start_peer clone g
[ "$(field clone fingerprint)" = "$(field bob fingerprint)" ] || fail "the clone has another key"
expect_exit 1 ctl clone register frank --password-file "$(password frank)"
grep -q "^p2pchatctl: key_taken: this daemon's key already belongs to another account" "$TMP/err" ||
	fail "register frank with bob's key: $(cat "$TMP/err")"
expect_exit 1 ctl clone login alice --password-file "$(password alice)"
grep -q "^p2pchatctl: key_taken: " "$TMP/err" || fail "login alice with bob's key: $(cat "$TMP/err")"
ctl g users | cut -f1 | grep -qx frank && fail "frank was registered"
[ "$(ctl g users | awk -F'\t' '$1 == "alice" { print $NF }')" = "$(field alice fingerprint)" ] ||
	fail "alice's key was rebound: $(ctl g users)"

log "ok"
