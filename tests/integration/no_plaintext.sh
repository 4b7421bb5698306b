#!/usr/bin/env bash
# No plaintext on the wire: every byte between two peers and between each
# peer and the gestor goes through byte-recording proxies while accounts
# are registered, logged in and messages sent both ways; neither bodies,
# usernames nor passwords appear in the recordings. TLS below 1.3, a
# client without the ALPN p2pchat/1, without a certificate, or speaking
# in clear is refused.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool

# proxy NAME TARGET_PORT: a recording proxy; its port in PORT_OF[NAME].
proxy() {
	python3 "$P2PTOOL" proxy "$TMP/$1.port" "$TMP/$1.dump" "$2" &
	PIDS[$1]=$!
	wait_for "proxy $1" 10 test -s "$TMP/$1.port"
	PORT_OF[$1]=$(cat "$TMP/$1.port")
}

# Long, unusual names so that a chance match in ciphertext is negligible.
A=alicia.wire7 B=roberto.wire7
start_gestor g
proxy gp "${PORT_OF[g]}"
# Each peer publishes its proxy's port as its address (advertise).
for n in $A $B; do
	start_peer "$n" gp
	proxy "$n.px" "${PORT_OF[$n]}"
	stop "$n"
	write_conf "$n" peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[gp]}\" ]; };
advertise = \"127.0.0.1:${PORT_OF[$n.px]}\";"
	start "$n"
done
register $A >/dev/null
register $B >/dev/null
# A second daemon logs in to the same account: a password on the wire again.
start_peer "$A.2" gp
ctl "$A.2" login $A --password-file "$(password $A)" >/dev/null || fail "login"
stop "$A.2"
# The first daemon learns of the takeover when it resumes (key_mismatch).
logged_out() { [ "$(field "$1" state)" = logged_out ]; }
wait_for "$A's first daemon logged out by the takeover" 15 logged_out $A
ctl $A login $A --password-file "$(password $A)" >/dev/null || fail "login back"
wait_for "$B online" 10 online_at_gestor $B online
wait_for "$A online" 10 online_at_gestor $A online
ctl g lookup $B | grep -q "^port	${PORT_OF[$B.px]}$" || fail "the gestor does not publish $B's proxy port"

BODY1="secret body one, $RANDOM$RANDOM, grüße"
BODY2="secret body two, $RANDOM$RANDOM, nested {\"t\":\"msg\"}"
ctl $A send --wait=10 $B "$BODY1" >/dev/null || fail "$A -> $B"
ctl $B send --wait=10 $A "$BODY2" >/dev/null || fail "$B -> $A"
ctl $B history $A | grep -qF "$BODY1" || fail "$B did not get the message"
ctl $A history $B | grep -qF "$BODY2" || fail "$A did not get the message"

# Every proxy carried TLS records (content type 22 = handshake first).
for p in gp "$A.px" "$B.px"; do
	[ -s "$TMP/$p.dump" ] || fail "proxy $p recorded nothing"
	[ "$(head -c 1 "$TMP/$p.dump" | od -An -tu1 | tr -d ' ')" = 22 ] ||
		fail "proxy $p: first byte is not a TLS handshake record"
done
log "recorded bytes: gestor $(stat -c %s "$TMP/gp.dump"), $A $(stat -c %s "$TMP/$A.px.dump"), $B $(stat -c %s "$TMP/$B.px.dump")"
for secret in "$BODY1" "$BODY2" "secret body" $A $B "$(cat "$(password $A)")" \
    "$(cat "$(password $B)")" "password" '"t":"'; do
	for p in gp "$A.px" "$B.px"; do
		! grep -qaF -- "$secret" "$TMP/$p.dump" ||
			fail "'$secret' is in clear in what proxy $p recorded"
	done
done

# --- only TLS 1.3 with the ALPN and a certificate is served.
client_cert probe
probe() { p2ptool tls-probe "$1" "$TMP/probe.crt" "$TMP/probe.key" "${@:2}"; }
for port in "${PORT_OF[g]}" "${PORT_OF[$A]}"; do
	out=$(probe "$port")
	case $out in accepted:*TLSv1.3*p2pchat/1*) ;; *) fail "a proper client at $port: $out" ;; esac
	for how in --tls12 --no-alpn "--alpn h2" --no-cert; do
		# shellcheck disable=SC2086 # "--alpn h2" is two words
		out=$(probe "$port" $how)
		case $out in refused:*) ;; *) fail "$how at $port: $out" ;; esac
	done
	out=$(p2ptool plain "$port")
	case $out in "closed; got "*) ;; *) fail "plaintext client at $port: $out" ;; esac
	case $out in *"JSON in clear"*) fail "answered in clear at $port: $out" ;; esac
done
grep -q "ALPN is not p2pchat/1" "$TMP/g.log" || fail "gestor did not log the missing ALPN"
grep -q "ALPN is not p2pchat/1" "$TMP/$A.log" || fail "$A did not log the missing ALPN"
# The same with GnuTLS's own client, if installed.
if command -v gnutls-cli >/dev/null; then
	rc=0
	timeout 10 gnutls-cli --priority NORMAL:-VERS-ALL:+VERS-TLS1.2 --insecure \
	    --x509certfile "$TMP/probe.crt" --x509keyfile "$TMP/probe.key" \
	    -p "${PORT_OF[g]}" 127.0.0.1 </dev/null >"$TMP/gnutls.out" 2>&1 || rc=$?
	[ "$rc" != 0 ] && grep -Eq "Handshake has failed|Fatal error" "$TMP/gnutls.out" ||
		fail "gnutls-cli with TLS 1.2: exit $rc, $(tail -n 3 "$TMP/gnutls.out")"
fi
log "ok"
