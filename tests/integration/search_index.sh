#!/usr/bin/env bash
# The full-text index is written off the commits (issue 31), from the
# notes the commits leave in fts_pending: `search` still finds a message
# as soon as its `send` returned (asked on the same control connection
# right after the reply, well inside the indexing delay), and nothing
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
python3 - "$TMP/alice.ctl/ctl.sock" <<'PY' || fail "search missed a message just sent"
import json, socket, sys
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
PY

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
