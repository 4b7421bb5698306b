#!/usr/bin/env bash
# Relay invitations across gestors on one PostgreSQL: alice (on ga,
# relay.use = "always") writes to bob, whose session is on gb. ga makes
# the session on its own relay and sends the invitation through the
# store's notification channel; gb pushes it to bob, who connects to ga's
# relay; the message is relayed end to end, and back. A target that is
# offline everywhere is refused.
set -eu
. "$(dirname "$0")/lib.sh"

pg_new db
CI=$(pg_conninfo db)
start_pg_gestor ga "$CI"
start_pg_gestor gb "$CI"
start_peer alice ga 'relay = { use = "always"; };'
start_peer bob gb 'relay = { use = "always"; };'
register alice >/dev/null
register bob >/dev/null
wait_for "alice online (seen from gb)" 10 online_at gb alice online
wait_for "bob online (seen from ga)" 10 online_at ga bob online

ctl alice send --wait=20 bob "across gestors, through ga's relay" >/dev/null ||
	fail "alice -> bob through the relay"
ctl bob history alice | grep -q "through ga's relay" || fail "bob's history"
grep -q "relay paired for alice" "$TMP/bob.log" || fail "bob was not relayed"
grep -q "relay-invite alice -> bob from gestor ga" "$TMP/gb.log" ||
	fail "gb did not forward the invitation"
ctl bob send --wait=20 alice "and back, through gb's relay" >/dev/null ||
	fail "bob -> alice through the relay"
ctl alice history bob | grep -q "and back" || fail "alice's history"

stat() { ctl "$1" stats | awk -F'\t' -v k="$2" '$1 == k { print $2 }'; }
[ "$(stat ga relay_invites_out)" -ge 1 ] || fail "ga relay_invites_out: $(ctl ga stats)"
[ "$(stat gb relay_invites_in)" -ge 1 ] || fail "gb relay_invites_in: $(ctl gb stats)"
[ "$(stat ga relay_sessions_total)" -ge 1 ] || fail "ga relay sessions: $(ctl ga stats)"

# Offline everywhere: refused, the message waits and says why.
stop bob KILL
wait_for "bob offline at ga" 10 online_at ga bob offline
ctl alice send bob "while bob is away" >/dev/null
says_offline() { ctl alice pending | grep -q "recipient offline"; }
wait_for "alice's pending says bob is offline" 15 says_offline
start bob
queue_empty() { [ -z "$(ctl alice pending)" ]; }
wait_for "delivered when bob returns" 30 queue_empty
log "ok"
