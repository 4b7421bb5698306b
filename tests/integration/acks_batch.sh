#!/usr/bin/env bash
# Cumulative acks (issue 31): a sender whose hello offers the "acks" cap
# gets one acks {ids} frame per group commit (at most 256 ids a frame)
# instead of one ack per message, each id once and in the order sent; a
# sender without caps (an older daemon) still gets one ack per message.
# The sender is tests/p2ptool.py's peer-frames, which pipelines every
# frame in one write.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

need_tools python3 certtool
start_gestor g
start_peer bob g
register bob >/dev/null
client_cert carol
p2ptool gestor-session "${PORT_OF[g]}" "$TMP/carol.crt" "$TMP/carol.key" carol \
    pw-carol-12345 register >"$TMP/out"
grep -qx "register ok" "$TMP/out" || fail "carol: $(cat "$TMP/out")"

# msgs N FILE: N messages from carol to bob as frames, their ids in FILE.ids.
msgs() {
	python3 - "$1" "$2" <<'PY'
import json, os, sys, time
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f, open(path + ".ids", "w") as ids:
    for i in range(n):
        mid = os.urandom(16).hex()
        ids.write(mid + "\n")
        f.write(json.dumps({"t": "msg", "id": mid, "from": "carol", "to": "bob",
                            "ts": int(time.time() * 1000), "body": "m%d" % i}) + "\n")
PY
}
frames() {
	p2ptool peer-frames "${PORT_OF[bob]}" "$TMP/carol.crt" "$TMP/carol.key" carol "$@"
}
# acked OUT: the ids acknowledged in OUT, one a line, in order.
acked() {
	python3 - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    f = json.loads(line)
    if f.get("t") == "ack":
        print(f["id"])
    elif f.get("t") == "acks":
        assert 1 <= len(f["ids"]) <= 256, len(f["ids"])
        for i in f["ids"]:
            print(i)
PY
}

# An older sender: one ack per message.
msgs 20 "$TMP/old"
frames "$TMP/old" >"$TMP/old.out"
grep -q '"t": "hello".*"caps": \[[^]]*"acks"' "$TMP/old.out" ||
	fail "bob's hello offers no acks cap: $(head -n 1 "$TMP/old.out")"
[ "$(grep -c '"t": "ack"' "$TMP/old.out")" = 20 ] ||
	fail "an older sender did not get 20 acks: $(cat "$TMP/old.out")"
! grep -q '"t": "acks"' "$TMP/old.out" || fail "an acks frame went to a sender without the cap"
acked "$TMP/old.out" | diff "$TMP/old.ids" - >&2 || fail "older sender's acks"

# A sender that offers acks (and a cap nobody knows): batches, in order.
msgs 300 "$TMP/new"
frames "$TMP/new" "acks,x-later" >"$TMP/new.out"
! grep -q '"t": "ack"' "$TMP/new.out" || fail "a per-message ack went to a sender with the acks cap"
n=$(grep -c '"t": "acks"' "$TMP/new.out" || true)
[ "$n" -ge 2 ] && [ "$n" -le 100 ] || fail "300 messages took $n acks frames: $(head -c 2000 "$TMP/new.out")"
acked "$TMP/new.out" | diff "$TMP/new.ids" - >&2 || fail "the batched acks are not the ids sent, in order"
# The same again (all duplicates now): acknowledged again, stored once.
frames "$TMP/new" "acks" >"$TMP/again.out"
acked "$TMP/again.out" | diff "$TMP/new.ids" - >&2 || fail "duplicates not acknowledged"
[ "$(ctl bob history carol --limit 1000 | grep -c '	m[0-9]*$')" = 320 ] ||
	fail "bob's history of carol: $(ctl bob history carol --limit 1000 | wc -l) lines"
log "PASS"
