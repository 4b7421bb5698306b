#!/usr/bin/env bash
# relay.use = "always" never connects directly (found by files_chaos.sh):
# it is for a user who hides her address from her contacts, but while
# the gestor (and so its relay) could not be asked, at a start before the
# gestor link is up or while the gestor is down, alice connected straight
# to bob's cached address, and a file went that way. Now her message
# waits with the reason and goes through the relay once the gestor is
# back; bob never sees a connection from her.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g 'relay = { use = "always"; };
advertise = "none";'
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 online_at_gestor bob online
ctl alice send --wait=20 bob "through the relay" >/dev/null || fail "first send"
ctl bob send --wait=20 alice "back through it" >/dev/null || fail "bob's send"
BOB_PORT=${PORT_OF[bob]}
direct() { grep -c "conn_connect_from: 127.0.0.1 port $BOB_PORT\$" "$TMP/alice.log" || true; }
[ "$(direct)" = 0 ] || fail "alice connected to bob directly while the gestor was up"

# The gestor goes; alice restarts with a message for bob.
stop g KILL
stop_clean alice
start alice
id=$(ctl alice send bob "while the gestor is away")
reason() { ctl alice pending | awk -F'\t' -v id="$id" '$1 == id { print $5 }'; }
waits() { reason | grep -q "relay.use = always"; }
settled() { waits || [ "$(direct)" != 0 ] || [ -z "$(reason)" ]; }
wait_for "alice's message waiting (or gone directly)" 20 settled
[ "$(direct)" = 0 ] || fail "alice connected to bob's cached address directly ($(direct) times; pending: $(reason))"
waits || fail "alice's message: $(reason)"
log "pending: $(reason)"

# The gestor back: through the relay, and still never directly.
start g
ctl alice wait "$id" --timeout 30 >/dev/null || fail "not delivered after the gestor came back: $(reason)"
[ "$(direct)" = 0 ] || fail "alice connected to bob directly ($(direct) times)"
ctl alice lookup bob | grep -q "^route	relay$" || fail "route: $(ctl alice lookup bob)"
log "ok"
