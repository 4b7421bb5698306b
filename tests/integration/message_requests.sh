#!/usr/bin/env bash
# Message requests: messages from someone bob never wrote to nor trusted
# are limited (limits.stranger_messages, _bytes, _messages_per_minute)
# and shown as requests in chats; over a limit the sender gets a clear
# refusal and keeps the message queued (nothing acknowledged and dropped);
# writing back or trust accepts the sender and the rest arrives, in order.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
LIMITS="stranger_bytes = 2000; stranger_messages_per_minute = 3;" start_peer bob g
start_peer mallory g
start_peer carol g
for u in alice bob mallory carol; do register "$u" >/dev/null; done
wait_for "bob online" 10 gestor_state_is bob online
request_of() { ctl bob chats | awk -F'\t' -v u="$1" '$1 == u { print $5 }'; }
ins() { ctl bob history "$1" --limit 100 | awk -F'\t' '$2 == "in"' | wc -l; }

# A contact (bob wrote first) has no limits.
ctl bob send --wait=10 alice "hi alice" >/dev/null || fail "bob -> alice"
for i in 1 2 3 4 5; do ctl alice send bob "from alice $i" >/dev/null; done
wait_for "alice's five" 10 sh -c "[ \$($P2PCHATCTL -c $TMP/alice.conf pending | wc -l) = 0 ]"
[ "$(ins alice)" = 5 ] || fail "bob has $(ins alice) of alice's 5"
[ "$(request_of alice)" = no ] || fail "alice is a request: $(ctl bob chats)"

# mallory, a stranger, over the byte quota: two of 800 bytes fit in 2000.
# Its retries wait 20 s: what bob does next must not wait for them.
sed -i 's/initial = 0.1; max = 1.0;/initial = 20.0; max = 60.0;/' "$TMP/mallory.conf"
ctl mallory reload >/dev/null
big=$(head -c 800 /dev/zero | tr '\0' x)
for i in 1 2 3 4; do echo "$i$big" | ctl mallory send bob - >>"$TMP/m.ids"; done
wait_for "mallory's refusal" 20 sh -c "$P2PCHATCTL -c $TMP/mallory.conf pending | grep -q 'quota_exceeded: message requests to bob are full (100 messages, 2000 bytes): kept queued until bob writes to you or trusts you'"
[ "$(ins mallory)" = 2 ] || fail "bob stored $(ins mallory) of mallory's, want 2"
[ "$(ctl mallory pending | wc -l)" = 2 ] || fail "mallory's queue: $(ctl mallory pending)"
[ "$(request_of mallory)" = yes ] || fail "mallory is not a request: $(ctl bob chats)"
ctl bob --json chats | grep -q '"user": *"mallory"[^}]*"request": *true' || fail "chats --json: $(ctl bob --json chats)"

# carol, a stranger, over the rate: 3 a minute.
for i in 1 2 3 4 5; do ctl carol send bob "from carol $i" >>"$TMP/c.ids"; done
wait_for "carol's refusal" 20 sh -c "$P2PCHATCTL -c $TMP/carol.conf pending | grep -q 'rate_limited: message requests to bob: at most 3 a minute'"
[ "$(ins carol)" = 3 ] || fail "bob stored $(ins carol) of carol's, want 3"
[ "$(request_of carol)" = yes ] || fail "carol is not a request: $(ctl bob chats)"
[ "$(ctl bob stats | awk -F'\t' '$1 == "requests_refused" { print $2 }')" -ge 2 ] ||
	fail "stats requests_refused: $(ctl bob stats)"
# A refused sender backs off (its hello does not reset the backoff).
wait_for "carol backing off" 20 grep -Eq 'bob: .*refused: rate_limited.*; retry [3-9] in' "$TMP/carol.log"

# bob writes to mallory: accepted, the rest arrives, in order, once.
ctl bob send mallory "welcome" >/dev/null || fail "bob -> mallory"
[ "$(request_of mallory)" = no ] || fail "mallory still a request: $(ctl bob chats)"
# bob's daemon says hello to mallory's: mallory retries at once.
ctl mallory wait $(cat "$TMP/m.ids") --timeout 10 >/dev/null || fail "mallory's messages not delivered: $(ctl mallory pending)"
[ "$(ctl bob history mallory --limit 100 | awk -F'\t' '$2 == "in" { print substr($5, 1, 1) }' | tr -d '\n')" = 1234 ] ||
	fail "mallory's at bob: $(ctl bob history mallory | cut -c1-80)"

# bob trusts carol: accepted too.
ctl bob trust carol >/dev/null || fail "trust carol"
[ "$(request_of carol)" = no ] || fail "carol still a request: $(ctl bob chats)"
ctl carol wait $(cat "$TMP/c.ids") --timeout 30 >/dev/null || fail "carol's messages not delivered: $(ctl carol pending)"
[ "$(ctl bob history carol --limit 100 | awk -F'\t' '$2 == "in" { print $5 }' | tr '\n' ,)" = "from carol 1,from carol 2,from carol 3,from carol 4,from carol 5," ] ||
	fail "carol's at bob: $(ctl bob history carol)"
log "ok"
