#!/usr/bin/env bash
# Files travel to the recipient (issue 29, step 2): offered on the link,
# sent in chunks with flow control, written and committed by the
# recipient, checked against their SHA-256 and only then shown (a `file`
# event, state received); the sender's row becomes delivered. A 0-byte,
# a 1-byte, a 1 MiB and a 200 MiB file arrive byte for byte, and a chat
# message sent while the 200 MiB file travels arrives before it ends.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer bob g "files = { accept_size = 1073741824; };"
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online

# state_of NAME ID: the state column of ID in NAME's `files`.
state_of() { ctl "$1" files | awk -F'\t' -v id="$2" '$5 == id { print $4 }'; }
# shown EVENTS ID: watch printed a file event for ID.
shown() { awk -F'\t' -v id="$2" '$2 == "file" && $5 == id { f = 1 } END { exit !f }' "$1"; }
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }
delivered() { [ "$(state_of alice "$1")" = delivered ] && [ "$(state_of bob "$1")" = received ]; }

# Files only from contacts: alice is a stranger to bob until he writes.
printf 'x' >"$TMP/one"
id=$(ctl alice send-file bob "$TMP/one")
wait_for "a stranger's file rejected" 30 state_is alice "$id" rejected
[ -z "$(state_of bob "$id")" ] || fail "bob kept a stranger's file: $(ctl bob files)"
ctl bob send --wait=20 alice "hi, send me files" >/dev/null

watch_bg bob "$TMP/bob.ev"
head -c 0 /dev/zero >"$TMP/empty"
printf 'x' >"$TMP/one"
head -c 1048576 /dev/urandom >"$TMP/mib.bin"
for f in empty one mib.bin; do
	id=$(ctl alice send-file bob "$TMP/$f")
	wait_for "$f delivered" 30 delivered "$id"
	sha=$(sha256sum <"$TMP/$f" | cut -d' ' -f1)
	cmp "$TMP/$f" "$TMP/bob/files/$sha" || fail "$f differs at bob"
	wait_for "the file event of $f" 10 shown "$TMP/bob.ev" "$id"
done
[ -z "$(ls -A "$TMP/bob/files" | grep '^\.in-')" ] || fail "partial files left: $(ls -A "$TMP/bob/files")"

# 200 MiB (generated, not committed), with a chat line sent meanwhile.
head -c $((200 * 1048576)) /dev/urandom >"$TMP/big"
sha=$(sha256sum <"$TMP/big" | cut -d' ' -f1)
t0=$(date +%s%N)
id=$(ctl alice send-file bob "$TMP/big")
wait_for "the transfer to start" 30 sh -c "ls -A '$TMP/bob/files' | grep -q '^\.in-$id'"
msg=$(ctl alice send --wait=30 bob "while the file travels")
[ "$(state_of bob "$id")" = receiving ] ||
	fail "the message waited for the file (file state $(state_of bob "$id"))"
wait_for "200 MiB delivered" 240 delivered "$id"
t1=$(date +%s%N)
log "200 MiB: $(( (t1 - t0) / 1000000 )) ms"
cmp "$TMP/big" "$TMP/bob/files/$sha" || fail "200 MiB differs at bob"
ctl bob history alice | grep -q "while the file travels" || fail "message lost"

# kill -9 of the sender, then of the recipient, mid-transfer: each time
# it goes on from the offset bob committed, not from zero.
offset_of() { ctl bob files | awk -F'\t' -v id="$1" '$5 == id { print $7 }'; }
past() { local o; o=$(offset_of "$1"); [ -n "$o" ] && [ "$o" -ge "$2" ]; }
# Binary chunks go fast (~300 MiB/s idle) and bob commits what is synced
# at most every 0.25 s: the sender is frozen as soon as bob has committed
# something, so that each kill lands mid-file, then let go.
freeze_past() { past "$@" && kill -STOP "${PIDS[alice]}"; }
head -c $((96 * 1048576)) "$TMP/big" >"$TMP/part"
id=$(ctl alice send-file bob "$TMP/part")
wait_for "a part committed" 60 freeze_past "$id" 1
stop alice KILL
start alice
wait_for "alice resumes" 30 grep -q "file $id to bob: resuming at [1-9]" "$TMP/alice.log"
at=$(grep -o "file $id to bob: resuming at [0-9]*" "$TMP/alice.log" | tail -1 | awk '{ print $NF }')
wait_for "more committed" 60 freeze_past "$id" $((at + 1))
[ "$(state_of bob "$id")" = receiving ] || fail "done before bob could be killed"
stop bob KILL
start bob
kill -CONT "${PIDS[alice]}"
watch_bg bob "$TMP/bob2.ev"
wait_for "alice resumes again" 60 sh -c "[ \$(grep -c 'file $id to bob: resuming at [1-9]' '$TMP/alice.log') -ge 2 ]"
again=$(grep -o "file $id to bob: resuming at [0-9]*" "$TMP/alice.log" | tail -1 | awk '{ print $NF }')
[ "$again" -gt "$at" ] || fail "resumed at $again after $at"
wait_for "the file after two crashes" 120 delivered "$id"
cmp "$TMP/part" "$TMP/bob/files/$(sha256sum <"$TMP/part" | cut -d' ' -f1)" ||
	fail "differs after the crashes"
[ "$(grep -c "file $id from alice: received" "$TMP/bob.log")" = 1 ] || fail "not shown exactly once"

# A hostile sender (alice's key, bob's trust): a chunk that is not the
# file offered is found out by the SHA-256; the file is not shown.
need_tools python3 certtool
printf 'cn = "alice"\nexpiration_days = 2\nsigning_key\ntls_www_client\n' >"$TMP/alice.tmpl"
certtool --generate-self-signed --load-privkey "$TMP/alice/identity.key" \
    --template "$TMP/alice.tmpl" --no-text --outfile "$TMP/alice.crt" >/dev/null 2>&1 ||
	fail "cannot make alice's certificate"
bad=0123456789abcdef0123456789abcde1
good_sha=$(printf 'good' | sha256sum | cut -d' ' -f1)
cat >"$TMP/tamper" <<JSON
{"t":"file","id":"$bad","from":"alice","to":"bob","name":"t.bin","size":4,"sha256":"$good_sha","ts":1}
{"t":"chunk","id":"$bad","off":0,"data":"$(printf 'evil' | base64)"}
JSON
p2ptool peer-frames "${PORT_OF[bob]}" "$TMP/alice.crt" "$TMP/alice/identity.key" alice \
    "$TMP/tamper" >"$TMP/tamper.out"
grep -q '"state": "failed"' "$TMP/tamper.out" || fail "tampered file not refused: $(cat "$TMP/tamper.out")"
[ "$(state_of bob "$bad")" = failed ] || fail "tampered state: $(ctl bob files)"
! shown "$TMP/bob2.ev" "$bad" || fail "tampered file shown"
[ ! -e "$TMP/bob/files/$(printf 'evil' | sha256sum | cut -d' ' -f1)" ] || fail "tampered bytes kept"
[ -z "$(ls -A "$TMP/bob/files" | grep "^\.in-$bad")" ] || fail "tampered partial kept"
# The same in binary chunks (wire.h, "Binary frames"): one whose length is
# not its frame's is refused as a bad frame (the connection stays), the
# tampered one found out by the SHA-256.
bad=0123456789abcdef0123456789abcde2
cat >"$TMP/tamper" <<JSON
{"t":"file","id":"$bad","from":"alice","to":"bob","name":"b.bin","size":4,"sha256":"$good_sha","ts":1}
{"bin":1,"id":"$bad","off":0,"data":"evi","len":4}
{"bin":1,"id":"$bad","off":0,"data":"evil"}
JSON
p2ptool peer-frames "${PORT_OF[bob]}" "$TMP/alice.crt" "$TMP/alice/identity.key" alice \
    "$TMP/tamper" >"$TMP/tamper.out"
grep -q '"code": "bad_frame"' "$TMP/tamper.out" || fail "a wrong binary length taken: $(cat "$TMP/tamper.out")"
grep -q '"state": "failed"' "$TMP/tamper.out" || fail "tampered binary chunk not refused: $(cat "$TMP/tamper.out")"
[ "$(tail -n 1 "$TMP/tamper.out")" = open ] || fail "closed on a binary chunk: $(cat "$TMP/tamper.out")"
[ "$(state_of bob "$bad")" = failed ] || fail "tampered binary state: $(ctl bob files)"
! shown "$TMP/bob2.ev" "$bad" || fail "tampered binary file shown"
stop_clean alice
stop_clean bob
log "PASS"
