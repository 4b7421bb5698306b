#!/usr/bin/env bash
# The full-text index is written off the commits (issue 31), from the
# notes the commits leave in fts_pending: `search` still finds a message
# as soon as its `send` returned (asked on the same control connection
# right after the reply, well inside the indexing delay), the index is
# written at least every second while the commits go on, and nothing
# noted is lost to kill -9: the next start indexes it without a search.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 sqlite3

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online

# send, then search as soon as the reply is read, 20 times.
# Then the index waits while the commits go on (each puts it off by
# 0.1 s), but for at most a second: a steady stream of sends (one every
# 40 ms, each committed twice, the send and bob's ack) still has it
# written while it flows. Read from the store as the last reply comes:
# fewer noted than sent (all 60 would be noted still if each commit put
# the index off for good).
python3 - "$TMP/alice.ctl/ctl.sock" "$TMP/alice/peer.db" <<'PY' ||
import json, socket, sqlite3, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
def call(n, cmd, args):
    f.write((json.dumps({"id": n, "cmd": cmd, "args": args}) + "\n").encode())
    f.flush()
    while True:
        r = json.loads(f.readline())
        if r.get("id") == n:
            return r
for i in range(20):
    r = call(2 * i, "send", {"user": "bob", "text": "needle%d in a haystack" % i})
    mid = r["result"]["id"]
    r = call(2 * i + 1, "search", {"text": "needle%d" % i})
    ids = [m["id"] for m in r["result"]["items"]]
    if ids != [mid]:
        sys.exit("search for needle%d right after its send: %s, not [%s]" % (i, ids, mid))
db = sqlite3.connect(sys.argv[2], timeout=10)
for i in range(60):
    call(100 + i, "send", {"user": "bob", "text": "stream%d" % i})
    time.sleep(0.04)
noted = db.execute("SELECT count(*) FROM fts_pending").fetchone()[0]
print("search_index: %d of 60 streamed sends noted, not yet indexed, at the end" % noted, file=sys.stderr)
if noted >= 60:
    sys.exit("the index waited for the stream to end: all %d still noted after a 2.4 s stream" % noted)
PY
	fail "search missed a message just sent, or the index waited for the stream's end (above)"

# A burst, then kill -9 before the index is written; the next start
# indexes what was noted, with no search to make it.
# bob is stopped, so that no ack makes alice commit (and index) after
# the restart. (Tried again, at most 3 times, if the index was written
# before the kill.)
stop bob
N=300
for try in 1 2 3; do
	[ "$try" = 1 ] || start alice
	seq 1 "$N" | sed "s/^/crashword$try /" | ctl alice send --batch bob \
	    >/dev/null || fail "send --batch"
	stop alice KILL
	noted=$(sqlite3 "$TMP/alice/peer.db" "SELECT count(*) FROM fts_pending")
	log "$noted of $N messages noted, not yet indexed, at kill -9"
	[ "$noted" = 0 ] || break
done
[ "$noted" -gt 0 ] || fail "the index was always written before the kill"
start alice
wait_for "the noted messages indexed at start" 30 sh -c \
    "[ \"\$(sqlite3 '$TMP/alice/peer.db' 'SELECT count(*) FROM fts_pending')\" = 0 ]"
found=$(sqlite3 "$TMP/alice/peer.db" \
    "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'crashword$try'")
[ "$found" = "$N" ] || fail "$found of $N messages in the index after the restart"
[ "$(ctl alice search "crashword$try" --limit 1000 | wc -l)" = "$N" ] ||
	fail "search found $(ctl alice search "crashword$try" --limit 1000 | wc -l) of $N"
log "ok"
