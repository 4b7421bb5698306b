#!/usr/bin/env bash
# A stored event replays as the live stream printed it: `watch --since`
# after the fact gives each delivered event the ts the live `watch` showed
# (the time stored with the message), also when the commit of the ack
# takes more than a second (here: another writer holds peer.db's lock, as
# a slow disk would stall the commit).
set -eu
HB_TIMEOUT=${HB_TIMEOUT:-6}
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 jq

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online
watch_bg alice "$TMP/live" --json
ctl alice send --wait=10 bob "first" >/dev/null || fail "first send"

# A queue of N for bob while he is away, then the drain, with alice's
# store locked for a while in the middle of it.
stop bob TERM
N=20000
python3 - "$N" >"$TMP/queue.jsonl" <<'PY'
import json, sys, time
ts = int(time.time() * 1000) - 60000
for i in range(int(sys.argv[1])):
    print(json.dumps({"id": "%032x" % (0xfeed0000 + i), "user": "bob",
        "direction": "out", "state": "pending", "ts": ts, "text": "m %d" % i}))
PY
split -l 5000 "$TMP/queue.jsonl" "$TMP/queue.part."	# import takes 2 MiB a time
for f in "$TMP"/queue.part.*; do
	ctl alice import --send-pending "$f" >/dev/null || fail "import $f"
done
start bob
wait_for "the drain to start" 30 sh -c \
    "[ \$($P2PCHATCTL -c $TMP/alice.conf status | awk -F'\t' '\$1 == \"pending\" { print \$2 }') -lt $N ]"
# Bob is stopped while the lock is taken, so that a fast drain cannot end
# before it (the lock waits for alice's commit in flight), and goes on at
# once: his acks then reach alice while her store is locked.
kill -STOP "${PIDS[bob]}"
python3 - "$TMP/alice/peer.db" "${PIDS[bob]}" >"$TMP/locked" <<'PY'
import os, signal, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
try:
    db.execute("BEGIN IMMEDIATE")
finally:
    os.kill(int(sys.argv[2]), signal.SIGCONT)
print(db.execute("SELECT count(*) FROM messages WHERE state = 'pending'").fetchone()[0])
time.sleep(1.3)		# the stall under test, not a wait for a condition
db.execute("COMMIT")
PY
[ "$(cat "$TMP/locked")" -gt 0 ] || fail "the queue drained before the lock: make N larger"
wait_for "alice's queue drained" 120 sh -c \
    "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
last=$(field alice last_seq)
wait_for "the live stream to reach seq $last" 20 grep -q "\"seq\":$last[,}]" "$TMP/live"
kill "$WATCH_PID"; wait "$WATCH_PID" 2>/dev/null || true
"$P2PCHATCTL" -c "$TMP/alice.conf" --json watch --since 0 >"$TMP/replay" &
C=$!
wait_for "the replay to reach seq $last" 20 grep -q "\"seq\":$last[,}]" "$TMP/replay"
kill "$C"; wait "$C" 2>/dev/null || true

# Compared byte for byte, seq by seq: a replayed line is the live line
# (keys in the same order, the same ts, the same escapes).
grep '^{"event":"[a-z-]*","seq":' "$TMP/live" >"$TMP/live.n" || true
grep '^{"event":"[a-z-]*","seq":' "$TMP/replay" >"$TMP/replay.n" || true
[ "$(grep -c '"delivered"' "$TMP/live.n")" = $((N + 1)) ] ||
	fail "$(grep -c '"delivered"' "$TMP/live.n") delivered events live, not $((N + 1))"
[ "$(grep -c '"seq":' "$TMP/replay")" = "$(wc -l <"$TMP/replay.n")" ] ||
	fail "replayed lines not in the live order of keys: $(grep '"seq":' "$TMP/replay" | grep -vm1 '^{"event":')"
diff "$TMP/live.n" "$TMP/replay.n" >"$TMP/diff" ||
	fail "replayed events differ from the live ones: live $(grep -m1 '^<' "$TMP/diff"), replayed $(grep -m1 '^>' "$TMP/diff")"
log "ok"
