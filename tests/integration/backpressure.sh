#!/usr/bin/env bash
# Clients that pipeline requests and never read the replies: before login
# and after it at the gestor, after a valid hello at a peer, and on the
# control socket. The daemon stops reading from such a client once its
# unsent output is over the mark, closes it when it reads nothing for
# limits.send_timeout (2 s here), its memory stays bounded, and everyone
# else is served meanwhile.
set -eu
HB_TIMEOUT=30	# a hog that misses heartbeats must be closed for not reading
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool

HANDSHAKE_TIMEOUT=4.0
LIMITS="send_timeout = 2.0;"
start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 online_at_gestor bob online
client_cert mallory
KEY=$TMP/mallory.key CRT=$TMP/mallory.crt
G=${PORT_OF[g]} A=${PORT_OF[alice]}
# mallory is a registered user (its key is the one the gestor publishes),
# so alice accepts its hello.
p2ptool register "$G" "$CRT" "$KEY" mallory mallory-password >/dev/null

client_cert eve	# a key is one account's

# hog NAME TARGET SETUP FRAME: run the client for up to 8 s while sampling
# NAME's RSS; sets OUT (the client's line) and GROWTH (peak RSS - before,
# KiB), and checks that the others are served while it runs.
hog() {
	local name=$1 target=$2 setup=$3 payload=$4 rss0 peak r pid i=0 who=mallory
	case $setup in register:eve:*) who=eve ;; esac
	rss0=$(rss_kb "$name") peak=$rss0
	p2ptool pipeline "$target" "$TMP/$who.crt" "$TMP/$who.key" "$setup" "$payload" 8 \
	    >"$TMP/hog.out" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 200 ]; do
		r=$(rss_kb "$name")
		[ "$r" -le "$peak" ] || peak=$r
		if [ $((i % 10)) = 5 ]; then
			ctl g status >/dev/null || fail "gestor status during $setup"
			ctl alice lookup bob >/dev/null || fail "alice lookup during $setup"
		fi
		sleep 0.1
		i=$((i + 1))
	done
	wait "$pid" || fail "pipeline client failed: $(cat "$TMP/hog.out")"
	OUT=$(cat "$TMP/hog.out") GROWTH=$((peak - rss0))
	log "$name, $setup: $OUT; RSS +$GROWTH KiB"
}

check() {
	local what=$1 bound=$2
	case $OUT in
	*"closed after "*) ;;
	*) fail "$what: the client that never reads was not closed: $OUT" ;;
	esac
	if sanitized; then
		return 0
	fi
	[ "$GROWTH" -lt "$bound" ] || fail "$what: RSS grew $GROWTH KiB (bound $bound)"
}

# Before login: replies (not_authenticated) pile up unread.
hog g "$G" none '{"t":"lookup","user":"alice"}'
check "gestor before login" 16384
# Logged in: lookups (answered or rate_limited), never read.
hog g "$G" register:eve:eve-password-1 '{"t":"lookup","user":"alice"}'
check "gestor after login" 32768	# a registration hashes: yescrypt takes 16 MiB for a moment
grep -q "not reading: .* bytes unsent, none read for 2 s" "$TMP/g.log" ||
	fail "gestor did not log why it closed the client"
# A peer, after a valid hello: unknown frames, each answered with an error.
hog alice "$A" hello:mallory '{"t":"frobnicate"}'
check "peer after hello" 16384
# The control socket: status requests pipelined, replies never read.
hog alice "$TMP/alice.ctl/ctl.sock" none '{"id":"N","cmd":"status"}'
check "control socket" 16384
grep -q "ctlsock: closing a client that read none of its" "$TMP/alice.log" ||
	fail "alice did not log the control client it closed"

ctl alice send --wait=10 bob "after the hogs" >/dev/null || fail "alice -> bob at the end"
for d in bob alice g; do
	stop_clean "$d"
done
log "ok"
