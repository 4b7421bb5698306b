#!/usr/bin/env bash
# What a recipient does with files (issue 29, step 3): save ID PATH copies
# one out (never over a file unless --force; - is standard output);
# files.accept_size makes larger offers wait for accept ID or reject ID;
# cancel ID stops a file on both sides, from either side.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer bob g "files = { accept_size = 100000; };"
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online
ctl bob send --wait=20 alice "send me files" >/dev/null

state_of() { ctl "$1" files | awk -F'\t' -v id="$2" '$5 == id { print $4 }'; }
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }

# save: a copy out, byte for byte; never over a file unless --force.
head -c 50000 /dev/urandom >"$TMP/small"
id=$(ctl alice send-file bob "$TMP/small")
wait_for "small received" 30 state_is bob "$id" received
ctl bob save "$id" "$TMP/out" || fail "save"
cmp "$TMP/small" "$TMP/out" || fail "saved copy differs"
echo keep >"$TMP/exists"
expect_exit 1 ctl bob save "$id" "$TMP/exists"
grep -q '^p2pchatctl: exists: ' "$TMP/err" || fail "overwrite: $(cat "$TMP/err")"
[ "$(cat "$TMP/exists")" = keep ] || fail "an existing file was written over"
ctl bob save "$id" "$TMP/exists" --force || fail "save --force"
cmp "$TMP/small" "$TMP/exists" || fail "--force copy differs"
ctl bob save "$id" - | cmp - "$TMP/small" || fail "save to standard output"
expect_exit 1 ctl bob save 0123456789abcdef0123456789abcdef "$TMP/none"
grep -q unknown_id "$TMP/err" || fail "unknown id: $(cat "$TMP/err")"
[ ! -e "$TMP/none" ] || fail "a failed save left its file"
# The chat's history shows the file among the messages, in time order.
ctl bob history alice | awk -F'\t' -v id="$id" '$4 == id' | grep -q "	in	received	$id	\[file\] small (50000 bytes)$" ||
	fail "history: $(ctl bob history alice)"
ctl bob history alice | tail -1 | grep -q "\[file\] small" || fail "history order: $(ctl bob history alice)"
ctl bob --json history alice | grep -q "\"kind\": *\"file\".*\"sha256\": *\"$(sha256sum <"$TMP/small" | cut -d' ' -f1)\"" ||
	fail "history --json: $(ctl bob --json history alice)"
[ "$(ctl bob history alice --limit 1 | wc -l)" = 1 ] || fail "history --limit"

# accept_size: a larger offer waits; nothing of it is written until accept.
head -c 200000 /dev/urandom >"$TMP/large"
id=$(ctl alice send-file bob "$TMP/large")
wait_for "waiting at bob" 30 state_is bob "$id" waiting
wait_for "waiting at alice" 30 state_is alice "$id" waiting
[ -z "$(ls -A "$TMP/bob/files" | grep "^\.in-$id")" ] || fail "written before accept"
expect_exit 1 ctl bob save "$id" "$TMP/early"
grep -q not_received "$TMP/err" || fail "save before accept: $(cat "$TMP/err")"
ctl bob accept "$id" >/dev/null || fail "accept"
wait_for "accepted and received" 30 state_is bob "$id" received
wait_for "delivered" 30 state_is alice "$id" delivered
ctl bob save "$id" "$TMP/large.out" && cmp "$TMP/large" "$TMP/large.out" || fail "accepted copy"

# wait ID takes a file's id too: 3 while it waits, 0 once delivered.
id=$(ctl alice send-file bob "$TMP/large")
wait_for "waiting at bob" 30 state_is bob "$id" waiting
expect_exit 3 ctl alice wait "$id" --timeout 1
grep -q "^p2pchatctl: timeout: $id waiting" "$TMP/err" || fail "wait, a file: $(cat "$TMP/err")"
( rc=0; ctl alice wait "$id" --timeout 60 >"$TMP/wf.out" 2>&1 || rc=$?
  echo $rc >"$TMP/wf.rc" ) &
ctl bob accept "$id" >/dev/null || fail "accept"
wait_for "wait to end" 60 test -s "$TMP/wf.rc"
[ "$(cat "$TMP/wf.rc")" = 0 ] || fail "wait for a file: $(cat "$TMP/wf.rc") $(cat "$TMP/wf.out")"
state_is alice "$id" delivered || fail "wait ended before delivery: $(state_of alice "$id")"

# reject: the sender stops, its row says so.
id=$(ctl alice send-file bob "$TMP/large")
wait_for "waiting at bob" 30 state_is bob "$id" waiting
ctl bob reject "$id" >/dev/null || fail "reject"
wait_for "rejected at alice" 30 state_is alice "$id" rejected
state_is bob "$id" rejected || fail "bob's state: $(state_of bob "$id")"

# cancel by the sender, then by the recipient: both sides end it.
id=$(ctl alice send-file bob "$TMP/large")
wait_for "waiting at bob" 30 state_is bob "$id" waiting
ctl alice cancel "$id" >/dev/null || fail "sender's cancel"
state_is alice "$id" cancelled || fail "alice's state: $(state_of alice "$id")"
wait_for "cancelled at bob" 30 state_is bob "$id" cancelled
id=$(ctl alice send-file bob "$TMP/large")
wait_for "waiting at bob" 30 state_is bob "$id" waiting
ctl bob cancel "$id" >/dev/null || fail "recipient's cancel"
wait_for "cancelled at alice" 30 state_is alice "$id" cancelled
# the next file is not held up by the ones that ended; --wait follows it
# to the end: 0 delivered, 3 at the timeout (still waiting), 1 rejected.
id=$(ctl alice send-file --wait=60 bob "$TMP/small") || fail "send-file --wait"
state_is bob "$id" received || fail "--wait returned before delivery: $(state_of bob "$id")"
expect_exit 3 ctl alice send-file --wait=1 bob "$TMP/large"
id=$(cat "$TMP/out")
grep -q '^p2pchatctl: timeout: ' "$TMP/err" || fail "--wait timeout: $(cat "$TMP/err")"
( rc=0; ctl alice send-file --wait=60 --id "$id" bob "$TMP/large" >"$TMP/w.out" \
    2>"$TMP/w.err" || rc=$?; echo $rc >"$TMP/w.rc" ) &
wait_for "waiting at bob" 30 state_is bob "$id" waiting
ctl bob reject "$id" >/dev/null
wait_for "--wait to end" 30 test -s "$TMP/w.rc"
[ "$(cat "$TMP/w.rc")" = 1 ] || fail "--wait on a rejected file: $(cat "$TMP/w.rc") $(cat "$TMP/w.err")"
grep -q '^p2pchatctl: rejected: ' "$TMP/w.err" || fail "--wait rejected: $(cat "$TMP/w.err")"

# --ttl: a file not delivered in time expires (here: waiting for accept),
# the recipient is told; --wait says expired (exit 1).
expect_exit 1 ctl alice send-file --ttl 1 --wait=30 bob "$TMP/large"
id=$(cat "$TMP/out")
grep -q '^p2pchatctl: expired: ' "$TMP/err" || fail "--ttl --wait: $(cat "$TMP/err")"
state_is alice "$id" expired || fail "alice: $(state_of alice "$id")"
wait_for "the recipient told" 30 state_is bob "$id" cancelled

# --group: one stored copy, one transfer (and one id) per other member.
ctl alice group create team bob >/dev/null || fail "group create"
ctl alice --json send-file --group team --wait=60 "$TMP/small" >"$TMP/g.out" ||
	fail "send-file --group: $(cat "$TMP/g.out")"
gid=$(ctl bob files alice | awk -F'\t' '$4 == "received" { id = $5 } END { print id }')
grep -q "\"ids\": *\[\"$gid\"\]" "$TMP/g.out" || fail "--group --wait output: $(cat "$TMP/g.out") (bob has $gid)"
state_is alice "$gid" delivered || fail "alice's row for bob: $(ctl alice files bob)"
expect_exit 1 ctl alice send-file --group nosuch "$TMP/small"
grep -q no_such_group "$TMP/err" || fail "--group nosuch: $(cat "$TMP/err")"
# A name too long, once the group's members are read: refused (and, under
# P2PCHAT_VALGRIND=1, the list of members is not leaked).
expect_exit 1 ctl alice send-file --group team "$TMP/small" --name "$(printf '%0300d' 0)"
grep -q invalid_argument "$TMP/err" || fail "--group, long name: $(cat "$TMP/err")"

stop_clean alice
stop_clean bob
log "PASS"
