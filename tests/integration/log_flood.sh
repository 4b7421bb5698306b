#!/usr/bin/env bash
# Log amplification: a flood of bad frames from one address (127.0.0.5)
# makes a bounded log: the first lines, then one summary with the count
# of the lines suppressed, at the gestor and at a peer; another address
# is still logged.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool

start_gestor g
start_peer alice g
register alice >/dev/null
client_cert mallory
N=3000

flood() {
	local name=$1 port=$2 out lines
	out=$(p2ptool --src 127.0.0.5 bad-frames "$port" "$TMP/mallory.crt" "$TMP/mallory.key" $N)
	[ "$out" = "errors=$N other=0" ] || fail "$name: replies to the flood: $out"
	out=$(p2ptool --src 127.0.0.6 bad-frames "$port" "$TMP/mallory.crt" "$TMP/mallory.key" 1)
	[ "$out" = "errors=1 other=0" ] || fail "$name: a frame from 127.0.0.6: $out"
}

flood g "${PORT_OF[g]}"
flood alice "${PORT_OF[alice]}"
ctl alice status >/dev/null || fail "alice after the flood"
stop_clean alice
stop_clean g	# prints the summaries of windows still open

for name in g alice; do
	lines=$(grep -v '^DEBUG' "$TMP/$name.log" | grep -c '127\.0\.0\.5') || true
	log "$name: $lines lines about 127.0.0.5 for $N bad frames: $(grep 'more lines from 127.0.0.5' "$TMP/$name.log" | tr '\n' ' ')"
	[ "$lines" -le 30 ] || fail "$name logged $lines lines about 127.0.0.5"
	grep -Eq "^WARN log: [0-9]+ more lines from 127\.0\.0\.5 suppressed" "$TMP/$name.log" ||
		fail "$name: no summary of the suppressed lines"
	total=$(sed -n 's/^WARN log: \([0-9]*\) more lines from 127\.0\.0\.5 suppressed.*/\1/p' "$TMP/$name.log" |
	    awk '{ s += $1 } END { print s + 0 }')
	[ "$total" -ge $((N - 30)) ] || fail "$name: only $total lines counted as suppressed"
	grep -v '^DEBUG' "$TMP/$name.log" | grep -q '127\.0\.0\.6' ||
		fail "$name: the line about 127.0.0.6 was suppressed too"
done
log "ok"
