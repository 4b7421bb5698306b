#!/usr/bin/env bash
# A group across NATs: alice (198.18.4.10) and bobby (198.18.5.10) each
# behind a home router of their own (nftables masquerade, no port
# forwarding), carol and the gestor on the public subnet. carol creates
# the group; its signed list reaches alice and bobby through the gestor's
# relay, and every member's messages reach every other member once and
# in order, through the relay where no direct route exists.
set -eu
NETNS_LIB=${TESTS_LIB:+$(dirname "$TESTS_LIB")/netns/lib.sh}
. "${NETNS_LIB:-$(dirname "$0")/lib.sh}"

net_setup
net_nat nat1 2 254 4
net_nat nat2 3 254 5
net_gestor g
net_peer alice 4 10
net_peer bobby 5 10
net_peer carol 1 20
for u in alice bobby carol; do
	ctl "$u" register "$u" --password-file "$(password "$u")" >/dev/null ||
		fail "register $u"
done
for u in alice bobby carol; do wait_for "$u online" 10 online_at_gestor "$u" online; done

gid=$(ctl carol group create team alice bobby) || fail "group create"
has_group() {
	ctl "$1" groups | grep -q "^$gid	team	carol	3	1	yes$"
}
for u in alice bobby; do wait_for "$u has the list" 60 has_group "$u"; done

for i in 1 2 3 4 5; do
	for u in alice bobby carol; do
		ctl "$u" send --group team "$u $i" >/dev/null || fail "$u send $i"
	done
done
for u in alice bobby carol; do wait_for "$u's queue to drain" 90 pending_empty "$u"; done
# Every member has every other member's 5, once each and in order.
for to in alice bobby carol; do
	for from in alice bobby carol; do
		[ "$from" = "$to" ] && continue
		ctl "$to" history --group team --limit 1000 |
		    awk -F'\t' -v f="$from" '$2 == f { print $5 }' >"$TMP/got.$from.$to"
		seq 1 5 | sed "s/^/$from /" >"$TMP/want.$from.$to"
		diff "$TMP/want.$from.$to" "$TMP/got.$from.$to" >&2 ||
			fail "$to's messages from $from"
	done
done
ctl alice lookup bobby | grep -q "^route	relay$" || fail "alice -> bobby: $(ctl alice lookup bobby)"
ctl carol lookup alice | grep -q "^route	relay$" || fail "carol -> alice: $(ctl carol lookup alice)"
log "a group of three across two NATs: every message once, in order"
