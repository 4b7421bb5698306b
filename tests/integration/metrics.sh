#!/usr/bin/env bash
# metrics.listen: GET /metrics from a gestor and two peers, in the
# Prometheus text format (promtool check metrics when prometheus is
# installed; CI installs it), counters that move with traffic, and the
# endpoint's bounds: only GET /metrics, small headers, a cap on
# connections that frees again, a warning when not on loopback.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

M='metrics = { listen = "127.0.0.1:0"; };'
start_gestor g "$M"
start_peer alice g "$M"
start_peer bob g "$M"

# The address each daemon bound (port 0: the kernel chose).
maddr() {
	sed -n 's/.*metrics: serving \/metrics on \([0-9.]*:[0-9]*\).*/\1/p' \
	    "$TMP/$1.log" | tail -n 1
}
# scrape NAME: the body of GET /metrics (fails unless 200).
scrape() {
	python3 - "$(maddr "$1")" <<'PY'
import sys, urllib.request
r = urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=10)
assert r.status == 200, r.status
assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
sys.stdout.write(r.read().decode())
PY
}
# value NAME SAMPLE: one sample's value (SAMPLE as written, labels included).
value() {
	scrape "$1" | awk -v s="$2" '$1 == s { print $2 }'
}
promcheck() {
	if command -v promtool >/dev/null 2>&1; then
		scrape "$1" | promtool check metrics ||
		    fail "promtool check metrics refused $1's exposition"
	else
		log "promtool not installed (Debian: prometheus): format not checked"
	fi
}

for n in g alice bob; do
	[ -n "$(maddr "$n")" ] || fail "$n logged no metrics address"
	promcheck "$n"
	# Every family has HELP and TYPE; counters end in _total.
	scrape "$n" >"$TMP/$n.prom"
	awk '/^# TYPE/ && $4 == "counter" && $3 !~ /_total$/ { print; bad=1 }
	    END { exit bad }' "$TMP/$n.prom" || fail "$n: a counter not named *_total"
	[ "$(grep -c '^# HELP' "$TMP/$n.prom")" = "$(grep -c '^# TYPE' "$TMP/$n.prom")" ] ||
	    fail "$n: HELP and TYPE lines differ"
done
grep -q '^p2pchat_gestor_database_up 1$' "$TMP/g.prom" || fail "database_up"
grep -q '^p2pchat_peer_queue_messages{state="pending"} 0$' "$TMP/alice.prom" ||
	fail "alice's queue: $(grep queue "$TMP/alice.prom")"

# Traffic: two registrations, a failed login, a message.
register alice >/dev/null
register bob >/dev/null
wait_for "alice online" 10 gestor_state_is alice online
wait_for "bob online" 10 gestor_state_is bob online
ctl bob logout >/dev/null
printf 'not-the-password\n' >"$TMP/wrong.pw"
chmod 600 "$TMP/wrong.pw"
expect_exit 1 ctl bob login bob --password-file "$TMP/wrong.pw"
ctl bob login bob --password-file "$(password bob)" >/dev/null || fail "login"
wait_for "bob online again" 10 gestor_state_is bob online
ctl alice send --wait=10 bob "hello" >/dev/null || fail "send"

[ "$(value g p2pchat_gestor_registrations_total)" = 2 ] ||
	fail "registrations_total $(value g p2pchat_gestor_registrations_total)"
[ "$(value g p2pchat_gestor_logins_total)" -ge 1 ] || fail "logins_total"
[ "$(value g 'p2pchat_gestor_refusals_total{reason="bad_credentials"}')" = 1 ] ||
	fail "bad_credentials: $(scrape g | grep refusals)"
# The same counter as stats shows (one count, two views).
[ "$(ctl g stats | awk -F'\t' '$1 == "login_failures" { print $2 }')" = 1 ] ||
	fail "stats login_failures: $(ctl g stats)"
[ "$(value g p2pchat_gestor_lookups_total)" -ge 1 ] || fail "lookups_total"
[ "$(value g p2pchat_gestor_mail_deposits_total)" = 0 ] || fail "mail_deposits_total"
[ "$(value g 'p2pchat_gestor_mail_refused_total{reason="quota"}')" = 0 ] ||
	fail "mail_refused_total: $(scrape g | grep mail_refused)"
[ "$(value g p2pchat_gestor_database_seconds_count)" -gt 0 ] ||
	fail "database latency not measured"
[ "$(value alice p2pchat_peer_messages_sent_total)" = 1 ] || fail "sent_total"
[ "$(value alice p2pchat_peer_messages_delivered_total)" = 1 ] ||
	fail "delivered_total"
[ "$(value bob p2pchat_peer_messages_received_total)" = 1 ] || fail "received_total"
[ "$(value alice 'p2pchat_peer_links{route="direct"}')" = 1 ] ||
	fail "alice's direct link: $(scrape alice | grep links)"
[ "$(value bob p2pchat_peer_store_commit_seconds_count)" -gt 0 ] ||
	fail "commit latency not measured"
[ "$(value bob p2pchat_peer_gestor_online)" = 1 ] || fail "gestor_online"
# Presence: alice watches bob (a contact now); bob going away is pushed.
before=$(value g p2pchat_gestor_presence_pushes_total)
ctl bob logout >/dev/null
wait_for "a presence push" 10 sh -c \
    "[ \"\$(python3 -c 'import sys,urllib.request; print(urllib.request.urlopen(\"http://$(maddr g)/metrics\").read().decode())' |
      awk '\$1 == \"p2pchat_gestor_presence_pushes_total\" { print \$2 }')\" -gt $before ]"
promcheck g
promcheck alice

# Bounds: another path, another method, oversized headers.
python3 - "$(maddr g)" <<'PY' || fail "bounds"
import http.client, sys
h, p = sys.argv[1].rsplit(":", 1)
def req(method, path, headers={}):
    c = http.client.HTTPConnection(h, int(p), timeout=10)
    try:
        c.request(method, path, headers=headers)
        return c.getresponse().status
    except (ConnectionError, http.client.HTTPException):
        return "closed"
    finally:
        c.close()
assert req("GET", "/") == 404, "GET /"
assert req("POST", "/metrics") not in (200, "closed"), "POST"
assert req("GET", "/metrics", {"X-Big": "a" * 20000}) != 200, "big headers"
assert req("GET", "/metrics?x=1") == 200, "query"
PY

# At most 8 connections at once: 30 idle ones hold no more descriptors
# than that, and once they go the endpoint answers again.
pid=${PIDS[g]}
fds() { ls "/proc/$pid/fd" | wc -l; }
base=$(fds)
python3 - "$(maddr g)" "$pid" "$base" <<'PY' || fail "connection cap"
import os, socket, sys, time
h, p = sys.argv[1].rsplit(":", 1)
pid, base = sys.argv[2], int(sys.argv[3])
socks = []
for i in range(30):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((h, int(p)))
    socks.append(s)
# The kernel queues the connects; wait for the daemon to take them.
deadline = time.time() + 5
n = 0
while time.time() < deadline:
    n = len(os.listdir("/proc/%s/fd" % pid)) - base
    if n >= 6:  # (base may hold a connection of an earlier scrape)
        break
    time.sleep(0.05)
assert n >= 6, "only %d connections taken" % n
time.sleep(0.5)  # more would be taken by now if there were no cap
n = len(os.listdir("/proc/%s/fd" % pid)) - base
assert n <= 8 + 2, "%d descriptors for 30 idle connections" % n
for s in socks:
    s.close()
PY
wait_for "metrics to answer after the idle connections closed" 10 scrape g

# Not on loopback: a warning. In a network namespace of its own (root),
# so that nothing outside can reach it.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1; then
	write_conf w gestor 'metrics = { listen = "0.0.0.0:0"; }; relay = { listen = ""; };'
	unshare -n "$P2PCHATD" -c "$TMP/w.conf" >"$TMP/w.log" 2>&1 &
	PIDS[w]=$!
	wait_for "the non-loopback warning" 10 grep -q \
	    'WARN.*metrics: serving /metrics on 0.0.0.0:[0-9]*, not a loopback' "$TMP/w.log"
	stop w
else
	log "not root: the non-loopback warning is not checked"
fi

# Reload cannot move the endpoint: restart_needed.
write_conf g gestor 'metrics = { listen = "127.0.0.1:1"; };'
ctl g reload >"$TMP/reload" || fail "reload"
grep -q 'metrics.listen	restart_needed' "$TMP/reload" || fail "reload: $(cat "$TMP/reload")"
scrape g >/dev/null || fail "metrics gone after reload"

stop_clean alice
stop_clean bob
stop_clean g
log "PASS"
