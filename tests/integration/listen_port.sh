#!/usr/bin/env bash
# Several users on one host: a listen address without a port tries 7001
# and, when another daemon has it, takes any port the kernel gives and
# publishes it, so the second user's daemon starts without editing and
# both receive messages. A port written in listen is never changed.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
gestor="gestor = { addresses = [ \"127.0.0.1:${PORT_OF[g]}\" ]; };"
# write_conf puts a port in listen; these two have none.
for u in ann ben; do
	write_conf "$u" peer "$gestor"
	sed -i 's/^listen = .*/listen = "127.0.0.1";/' "$TMP/$u.conf"
	start "$u"
	register "$u" >/dev/null
done
a=$(field ann listen) b=$(field ben listen)
[ "$a" != "$b" ] || fail "both listen on $a"
case "$a $b" in
*127.0.0.1:7001*) ;;
*) log "7001 was taken by something else: both fell back ($a, $b)" ;;
esac
grep -q "port 7001 is taken" "$TMP/ann.log" "$TMP/ben.log" || fail "no fallback logged"
wait_for "ann online" 10 gestor_state_is ann online
wait_for "ben online" 10 gestor_state_is ben online
ctl ann send --wait=15 ben "to the second daemon" >/dev/null || fail "ann -> ben"
ctl ben send --wait=15 ann "and back" >/dev/null || fail "ben -> ann"

# A port written in listen is kept: taken means the daemon does not start.
port=${b##*:}
write_conf cat peer "$gestor"
sed -i "s/^listen = .*/listen = \"127.0.0.1:$port\";/" "$TMP/cat.conf"
rc=0
"$P2PCHATD" -c "$TMP/cat.conf" >"$TMP/cat.log" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "a daemon started on a taken, explicit port"
grep -q "cannot listen on 127.0.0.1:$port" "$TMP/cat.log" || fail "cat: $(cat "$TMP/cat.log")"
log "ok"
