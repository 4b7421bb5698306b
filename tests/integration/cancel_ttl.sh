#!/usr/bin/env bash
# Undelivered messages can be cancelled (cancel ID...) and expire
# (send --ttl, retry.ttl): either way they are never delivered later,
# wait reports them (exit 1), an event is stored and stats counts them
# (since this start, and in the whole store as *_total).
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

stat_of() { ctl "$1" stats | awk -F'\t' -v k="$2" '$1 == k { print $2 }'; }

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online
sent=$(ctl alice send --wait=10 bob "before") || fail "first send"
stop bob TERM

# cancel: state cancelled, out of the queue, wait says so, an event.
watch_bg alice "$TMP/ev"
c1=$(ctl alice send bob "cancel me")
c2=$(ctl alice send bob "cancel me too")
ctl alice cancel "$c1" "$c2" >"$TMP/c" || fail "cancel: $(cat "$TMP/c")"
[ "$(cut -f1,2 "$TMP/c")" = "$c1	cancelled
$c2	cancelled" ] || fail "cancel output: $(cat "$TMP/c")"
[ -z "$(ctl alice pending)" ] || fail "cancelled still pending: $(ctl alice pending)"
expect_exit 1 ctl alice wait "$c1" --timeout 5
grep -q "^p2pchatctl: cancelled: $c1 cancelled" "$TMP/err" || fail "wait cancelled: $(cat "$TMP/err")"
grep -q "^$c1	cancelled" "$TMP/out" || fail "wait stdout: $(cat "$TMP/out")"
wait_for "cancelled events" 5 sh -c "[ \$(grep -c '	cancelled	' $TMP/ev) = 2 ]"
ctl alice cancel "$c1" >/dev/null || fail "cancelling twice is no error"
expect_exit 1 ctl alice cancel "$sent"
grep -q "too_late: $sent: already delivered" "$TMP/err" || fail "cancel delivered: $(cat "$TMP/err")"
grep -q "^$sent	delivered" "$TMP/out" || fail "cancel delivered stdout: $(cat "$TMP/out")"
expect_exit 1 ctl alice cancel 0123456789abcdef0123456789abcdef
grep -q unknown_id "$TMP/err" || fail "cancel unknown: $(cat "$TMP/err")"
expect_exit 2 ctl alice cancel
[ "$(stat_of alice cancelled)" = 2 ] || fail "stats cancelled: $(ctl alice stats)"

# --ttl: expires undelivered; wait reports it; a stored event.
e1=$(ctl alice send --ttl 0.5 bob "expire me")
expect_exit 1 ctl alice wait "$e1" --timeout 20
grep -q "^p2pchatctl: expired: $e1 expired: not delivered within its ttl" "$TMP/err" ||
	fail "wait expired: $(cat "$TMP/err")"
wait_for "expired event" 5 grep -q "	expired	" "$TMP/ev"
expect_exit 1 ctl alice send --wait=20 --ttl 0.3 bob "expire while waiting"
grep -Eq '^[0-9a-f]{32}$' "$TMP/out" || fail "send --wait printed no id: $(cat "$TMP/out")"
grep -q "expired" "$TMP/err" || fail "send --wait expired: $(cat "$TMP/err")"

# retry.ttl: the default for every send; --ttl 0 sets none.
RETRY="ttl = 0.5;" write_conf alice peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[g]}\" ]; };"
ctl alice reload
e3=$(ctl alice send bob "expire by default")
keep=$(ctl alice send --ttl 0 bob "keep me")
expect_exit 1 ctl alice wait "$e3" --timeout 20
[ "$(stat_of alice expired)" = 3 ] || fail "stats expired: $(ctl alice stats)"
[ "$(ctl alice pending | cut -f1)" = "$keep" ] || fail "only keep should wait: $(ctl alice pending)"

# Back online: only what was neither cancelled nor expired arrives.
start bob
ctl alice wait "$keep" --timeout 20 >/dev/null || fail "kept message not delivered"
ctl bob history alice >"$TMP/h"
[ "$(cut -f5 "$TMP/h")" = "before
keep me" ] || fail "bob got: $(cut -f5 "$TMP/h")"

# stats: one meaning per name. The plain counts are since this start (a
# restart begins them again), *_total count the whole store.
stop alice TERM
start alice
for k in sent delivered failed cancelled expired; do
	[ "$(stat_of alice $k)" = 0 ] || fail "stats $k carried over a restart: $(ctl alice stats)"
done
[ "$(stat_of alice cancelled_total)" = 2 ] && [ "$(stat_of alice expired_total)" = 3 ] &&
    [ "$(stat_of alice failed_total)" = 0 ] || fail "stats *_total: $(ctl alice stats)"
log "ok"
