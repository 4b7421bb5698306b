#!/usr/bin/env bash
# kill -9 of a gestor while messages flow: its peers move to the next
# address in gestor.addresses and resume with auth on the other gestor;
# nothing is lost or shown twice; a user who could only reach the killed
# gestor is offline everywhere within the heartbeat timeout (its lease
# lapses and the other gestor marks its users offline and tells watchers).
set -eu
. "$(dirname "$0")/lib.sh"

pg_new db
CI=$(pg_conninfo db)
start_pg_gestor ga "$CI"
start_pg_gestor gb "$CI"
start_peer_multi alice ga gb
start_peer_multi bob ga gb
start_peer dave ga
start_peer carol gb
for u in alice bob dave carol; do register "$u" >/dev/null; done
wait_for "everyone online" 10 online_at gb dave online
wait_for "alice online" 10 online_at gb alice online
ctl carol lookup dave >/dev/null || fail "carol lookup dave"
ctl carol lookup alice >/dev/null || fail "carol lookup alice"
watch_bg carol "$TMP/carol.events"
ctl alice lookup bob >/dev/null || fail "alice lookup bob"

# 60 messages alice -> bob, ga killed after the first 20.
N=60
for i in $(seq 1 $N); do
	printf -v id '%032x' "$i"
	ctl alice send bob "msg $i" --id "$id" >/dev/null || fail "send $i"
	if [ "$i" = 20 ]; then
		kill -KILL "${PIDS[ga]}"
		wait "${PIDS[ga]}" 2>/dev/null || true
		unset "PIDS[ga]"
		t_kill=$(date +%s%N)
	fi
done

# Peers of ga resume on gb.
# (gb's lookup shows them online from ga's rows until the lease lapses:
# their auth lines at gb are what says they resumed there.)
wait_for "alice resumed with auth on gb" 15 grep -q "gestor: auth alice from" "$TMP/gb.log"
wait_for "bob resumed with auth on gb" 15 grep -q "gestor: auth bob from" "$TMP/gb.log"
wait_for "alice online at gb" 15 online_at gb alice online
wait_for "bob online at gb" 15 online_at gb bob online
log "alice and bob resumed on gb $(( ($(date +%s%N) - t_kill) / 1000000 )) ms after ga was killed"
# dave knew only ga: offline after the lease lapses, carol is told.
wait_for "dave offline at gb" 15 online_at gb dave offline
t_off=$(date +%s%N)
ms=$(( (t_off - t_kill) / 1000000 ))
log "dave offline at gb ${ms} ms after ga was killed (heartbeat.timeout ${HB_TIMEOUT} s)"
wait_for "carol told dave is offline" 5 grep -q "presence	-	dave	-	offline" "$TMP/carol.events"
online_at gb alice online || fail "alice shown offline after the reap"

# Every message delivered exactly once.
for i in $(seq 1 $N); do printf '%032x\n' "$i"; done >"$TMP/ids"
ctl alice wait $(cat "$TMP/ids") --timeout 30 >/dev/null || fail "not all delivered: $(ctl alice pending)"
ctl bob history alice --limit 1000 >"$TMP/hist"
got=$(grep -c "msg [0-9]*" "$TMP/hist" || true)
uniq=$(grep -o "msg [0-9]*" "$TMP/hist" | sort -u | wc -l)
[ "$got" = $N ] && [ "$uniq" = $N ] || fail "bob has $got messages ($uniq distinct), want $N"

# ga back: nobody is shown online twice, carol sees alice right.
start ga
wait_for "ga connected" 10 db_is ga connected
online_at ga alice online || fail "ga: alice not online (she is, through gb)"
log "ok"
