#!/usr/bin/env bash
# Any role that may connect to the cluster's database may NOTIFY its
# channel: a role with no privileges on the gestors' tables forges a
# session end, a presence with its own address and key, a relay-invite
# (unsealed, and with a made-up MAC) and replays a real notification it
# overheard. The gestors drop all of it (cluster_refused, one log line)
# and nothing happens; the cluster goes on working.
set -eu
. "$(dirname "$0")/lib.sh"

pg_new db
CI=$(pg_conninfo db)
psql_q db "CREATE ROLE mallory LOGIN" >/dev/null
start_pg_gestor ga "$CI"
start_pg_gestor gb "$CI"
for u in alice dave frank; do start_peer "$u" ga; register "$u" >/dev/null; done
for u in bob carol; do start_peer "$u" gb; register "$u" >/dev/null; done
wait_for "carol online (seen from ga)" 10 online_at ga carol online
wait_for "frank online (seen from gb)" 10 online_at gb frank online
ctl alice lookup frank >/dev/null
ctl alice lookup bob >/dev/null
watch_bg alice "$TMP/events"
ctl alice lookup carol >/dev/null
# bob_back: alice was told bob went offline, then online again.
bob_back() {
	awk '/presence\t-\tbob\t-\toffline/ { o = 1 } o && /presence\t-\tbob\t-\tonline/ { f = 1 }
	    END { exit !f }' "$TMP/events"
}
stat() { ctl "$1" stats | awk -F'\t' -v k="$2" '$1 == k { print $2 }'; }

# mallory: psql as the unprivileged role, fed through a fifo.
mq() { printf '%s\n' "$1" >&3; }
mkfifo "$TMP/mallory.in"
as_pg "$PGBIN/psql" -X -q -At -h "$PGTMP/db.s" -U mallory -d p2pchat \
    <"$TMP/mallory.in" >"$TMP/mallory.out" 2>&1 &
PIDS[mallory]=$!
exec 3>"$TMP/mallory.in"
mq "LISTEN p2pchat; SELECT 'listening';"
wait_for "mallory listening" 10 grep -q "^listening$" "$TMP/mallory.out"
mq "SELECT has_table_privilege('users', 'SELECT');"

# It overhears a real notification: bob goes offline and comes back.
stop bob
wait_for "alice's gestor shows bob offline" 10 online_at ga bob offline
overheard() { mq "SELECT 1;"; grep -q '^Asynchronous notification "p2pchat"' "$TMP/mallory.out"; }
wait_for "mallory overhears a notification" 10 overheard
real=$(sed -n 's/^Asynchronous notification "p2pchat" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1/p' \
    "$TMP/mallory.out" | head -n 1)
[ -n "$real" ] || fail "no payload overheard: $(cat "$TMP/mallory.out")"
grep -qx f "$TMP/mallory.out" || fail "mallory may read users: $(cat "$TMP/mallory.out")"
start bob
wait_for "alice told bob is back" 10 bob_back

ev_a=$(stat ga cluster_events)
ev_b=$(stat gb cluster_events)
fp=sha256:$(printf '%064d' 7)
key=$(printf '%064d' 1)
port=$(( ${PORT_OF[frank]} + 1 ))
# dave "logged in elsewhere"; frank "online" at mallory's address and key;
# an invitation for frank to mallory's relay; the same with a made-up MAC;
# the overheard notification again.
mq "NOTIFY p2pchat, '{\"t\":\"session\",\"user\":\"dave\",\"origin\":\"gb\"}';"
mq "NOTIFY p2pchat, '{\"t\":\"presence\",\"origin\":\"gb\",\"user\":\"frank\",\"online\":true,\"addr\":\"127.0.0.1\",\"port\":$port,\"key\":\"$fp\",\"last_seen\":1}';"
mq "NOTIFY p2pchat, '{\"t\":\"relay-invite\",\"origin\":\"gb\",\"to\":\"frank\",\"from\":\"alice\",\"addr\":\"127.0.0.1\",\"port\":$port,\"key\":\"$key\"}';"
mq "NOTIFY p2pchat, '$(printf '%064d' 0) {\"t\":\"session\",\"user\":\"frank\",\"origin\":\"gb\",\"n\":99999999999999999,\"ts\":$(date +%s)}';"
mq "SELECT pg_notify('p2pchat', '$real');"
# A real change after them (notifications arrive in commit order): once
# alice hears of it, the gestors have handled everything mallory sent.
stop carol
wait_for "alice told carol is offline" 10 grep -q "presence	-	carol	-	offline" "$TMP/events"

if grep -q "session replaced" "$TMP/ga.log" "$TMP/gb.log"; then
	fail "a forged notification ended a session: $(grep -h "session replaced" "$TMP/ga.log" "$TMP/gb.log")"
fi
grep -q "presence	-	frank	-	.*	$port$" "$TMP/events" && fail "alice was told a forged presence of frank: $(cat "$TMP/events")"
[ "$(stat ga relay_invites_in)" = 0 ] || fail "ga passed a forged relay-invite on"
grep -q "relay-invite" "$TMP/frank.log" && fail "frank got a forged relay-invite"
[ "$(field dave gestor_state)" = online ] || fail "dave is $(field dave gestor_state)"
[ "$(field frank gestor_state)" = online ] || fail "frank is $(field frank gestor_state)"
# carol's offline is the only event either gestor took since.
[ "$(stat ga cluster_events)" = $(( ev_a + 1 )) ] || fail "ga took $(( $(stat ga cluster_events) - ev_a )) events (want 1)"
[ "$(stat gb cluster_events)" = "$ev_b" ] || fail "gb took $(( $(stat gb cluster_events) - ev_b )) events (want 0)"
for g in ga gb; do
	[ "$(stat $g cluster_refused)" -ge 5 ] || fail "$g refused $(stat $g cluster_refused) (want 5)"
	grep -q "dropped a notification on channel \"p2pchat\"" "$TMP/$g.log" || fail "$g did not log the forgery"
	[ "$(grep -c "dropped a notification" "$TMP/$g.log")" = 1 ] || fail "$g logged every forgery"
done

# The cluster still works: presence across gestors, one session per account.
start carol
wait_for "alice told carol is online" 10 grep -q "presence	-	carol	-	online" "$TMP/events"
start_peer bob2 ga
ctl bob2 login bob --password-file "$(password bob)" >/dev/null || fail "bob2 login through ga"
wait_for "gb closed bob's old session" 10 grep -q "user bob: session replaced by a login through gestor ga" "$TMP/gb.log"
wait_for "bob online through ga" 10 online_at gb bob online
id=$(ctl alice send carol "still here" --wait=20) || fail "send across gestors"
stop_clean gb
stop_clean ga

# With cluster.key_file the gestors seal with that secret, not with the
# key in the database: a role that may read the database's key forges a
# sealed notification in vain, and the gestors still hear each other.
umask 077
head -c 48 /dev/urandom | base64 >"$TMP/cluster.key"
start_pg_gestor gc "$CI" "key_file = \"$TMP/cluster.key\";"
start_pg_gestor gd "$CI" "key_file = \"$TMP/cluster.key\";"
start_peer erin gc
start_peer fred gd
register erin >/dev/null
register fred >/dev/null
wait_for "fred online (seen from gc)" 10 online_at gc fred online
ctl erin lookup fred >/dev/null
watch_bg erin "$TMP/erin.events"
psql_q db "GRANT SELECT ON p2pchat_cluster_key TO mallory" >/dev/null
mq "SELECT 'key:' || key FROM p2pchat_cluster_key;"
wait_for "mallory reads the database's key" 10 grep -q "^key:" "$TMP/mallory.out"
dbkey=$(sed -n 's/^key://p' "$TMP/mallory.out")
sealed=$(python3 -c 'import hmac, hashlib, sys, time
j = "{\"t\":\"session\",\"user\":\"erin\",\"origin\":\"gd\",\"n\":%d,\"ts\":%d}" % (time.time() * 1e6 + 5e12, time.time())
print(hmac.new(bytes.fromhex(sys.argv[1]), j.encode(), hashlib.sha256).hexdigest() + " " + j)' "$dbkey")
mq "SELECT pg_notify('p2pchat', '$sealed');"
wait_for "gc drops it" 30 test "$(stat gc cluster_refused)" -ge 1
grep -q "session replaced" "$TMP/gc.log" && fail "a notification sealed with the database's key ended erin's session"
[ "$(field erin gestor_state)" = online ] || fail "erin is $(field erin gestor_state)"
stop fred
wait_for "erin told fred is offline (gd -> gc)" 30 grep -q "presence	-	fred	-	offline" "$TMP/erin.events"
stop_clean gd
stop_clean gc
log "ok"
