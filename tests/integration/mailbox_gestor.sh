#!/usr/bin/env bash
# The gestor's mailbox spoken by hand (issue 28): a user takes mail only
# for its own TLS key, and lookup publishes that key; a logged-in user
# deposits for a user who takes mail (refused otherwise, and over the
# quotas, each refusal counted), the recipient is pushed an mbox while
# logged in, fetches in order, acks; the sender withdraws what is not yet
# acked; nothing without logging in; stats count it all. The blobs here
# are opaque base64: the gestor never reads one.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3 certtool openssl

LIMITS="max_frame_bytes = 2097152;"
start_gestor g "mailbox = { quota_per_sender = 3; };"
GP=${PORT_OF[g]}
session() {
	local user=$1
	shift
	[ -e "$TMP/$user.crt" ] || client_cert "$user" ed25519
	p2ptool gestor-session "$GP" "$TMP/$user.crt" "$TMP/$user.key" "$user" \
	    "pw-$user-1" "$@"
}
pk_of() {
	[ -e "$TMP/$1.crt" ] || client_cert "$1" ed25519
	openssl pkey -in "$TMP/$1.key" -pubout -outform DER | tail -c 32 |
	    od -An -tx1 | tr -d ' \n'
}
stat_of() { ctl g stats | awk -F'\t' -v k="$1" '$1 == k { print $2 }'; }
expect() {	# expect FILE LINE...: FILE holds exactly these lines
	local f=$1
	shift
	[ "$(cat "$f")" = "$(printf '%s\n' "$@")" ] ||
		fail "expected: $* got: $(tr '\n' '|' <"$f")"
}
BOB=$(pk_of bob)

# Bob takes mail for his key; mallory cannot claim bob's key as hers.
session bob "mailkey:$BOB" register lookup:bob >"$TMP/out"
expect "$TMP/out" "register ok" "lookup ok mail=$BOB"
session mallory "mailkey:$BOB" register lookup:mallory >"$TMP/out"
expect "$TMP/out" "register ok" "lookup ok mail="
grep -q "mallory from 127.0.0.1: its mail key is not its TLS key" "$TMP/g.log" ||
	fail "the foreign mail key was not logged"
# The same key again, or none said, writes nothing and keeps the key (a
# login storm costs no mail writes); a heartbeating session shows it too.
session bob "mailkey:$BOB" auth >/dev/null
session bob auth hb:7001 lookup:bob >"$TMP/out"
expect "$TMP/out" "auth ok" "hb ok" "lookup ok mail=$BOB"
[ "$(grep -c "gestor: bob takes mail" "$TMP/g.log")" = 1 ] ||
	fail "bob's mail key written $(grep -c "gestor: bob takes mail" "$TMP/g.log") times"

# Nothing before logging in.
session alice put:bob:QUJD count >"$TMP/out"
expect "$TMP/out" "put not_authenticated reason=None" "count not_authenticated"

# Bob online: alice's deposits are pushed to him.
# (bob resumed above already: wait for one more auth line than then.)
auths=$(grep -c "gestor: auth bob from" "$TMP/g.log")
session bob auth pushes:120 >"$TMP/bob.out" &
bobpid=$!
wait_for "bob's session" 20 sh -c "[ \$(grep -c 'gestor: auth bob from' '$TMP/g.log') -gt $auths ]"
session alice register put:bob:b25l put:bob:dHdv put:nobody:QUJD \
    put:mallory:QUJD put:bob:dGhyZWU= put:bob:Zm91cg== >"$TMP/out"
expect "$TMP/out" "register ok" "put ok id=1" "put ok id=2" \
    "put no_such_user reason=None" "put no_mail reason=None" "put ok id=3" \
    "put quota_exceeded reason=sender"
wait "$bobpid" || fail "bob's session: $(cat "$TMP/bob.out")"
expect "$TMP/bob.out" "auth ok" "pushes 1"
session bob auth get:0 count >"$TMP/out"
expect "$TMP/out" "auth ok" "get ok n=3 more=False" \
    "mail 1 alice 3 b25l" "mail 2 alice 3 dHdv" "mail 3 alice 5 dGhyZWU=" \
    "count ok n=3 bytes=11"
session alice auth count >"$TMP/out"
expect "$TMP/out" "auth ok" "count ok n=0 bytes=0"

# Pages; an ack of another's or of nothing is harmless; alice withdraws
# what bob has not acked, and too late what he has.
session bob auth get:0:2 get:2:2 ack:1,99 get:0 >"$TMP/out"
expect "$TMP/out" "auth ok" "get ok n=2 more=True" "mail 1 alice 3 b25l" \
    "mail 2 alice 3 dHdv" "get ok n=1 more=False" "mail 3 alice 5 dGhyZWU=" \
    "ack ok" "get ok n=2 more=False" "mail 2 alice 3 dHdv" \
    "mail 3 alice 5 dGhyZWU="
session mallory auth ack:2 withdraw:3 >"$TMP/out"
expect "$TMP/out" "auth ok" "ack ok" "withdraw too_late"
session alice auth withdraw:1 withdraw:2 >"$TMP/out"
expect "$TMP/out" "auth ok" "withdraw too_late" "withdraw ok"
session bob auth get:0 >"$TMP/out"
expect "$TMP/out" "auth ok" "get ok n=1 more=False" "mail 3 alice 5 dGhyZWU="

# The largest deposit: its fetch still fits a peer's default frame limit
# (1 MiB), even from a gestor that takes larger frames; one more is refused.
session carol "mailkey:$(pk_of carol)" register putsize:carol:1000004 \
    putsize:carol:1000000 get:0 ack:4 >"$TMP/out"
expect "$TMP/out" "register ok" "put quota_exceeded reason=size" \
    "put ok id=4" "get ok n=1 more=False" "mail 4 carol 750000 (1000000 chars)" \
    "ack ok"
[ "$(wc -c <"$TMP/g.log")" -lt 1000000 ] || fail "a blob in the gestor's log"

[ "$(stat_of mail_deposits)" = 4 ] || fail "mail_deposits $(stat_of mail_deposits)"
# 3 + (2 + 1 + 2) + 1 deposits handed to bob, 1 to carol.
[ "$(stat_of mail_fetched)" = 10 ] || fail "mail_fetched $(stat_of mail_fetched)"
[ "$(stat_of mail_refused_quota)" = 2 ] || fail "mail_refused_quota"
[ "$(stat_of mail_refused_no_user)" = 1 ] || fail "mail_refused_no_user"
[ "$(stat_of mail_refused_no_mail)" = 1 ] || fail "mail_refused_no_mail"
[ "$(stat_of mail_withdrawn)" = 1 ] || fail "mail_withdrawn"
[ "$(stat_of mail_held)" = 1 ] || fail "mail_held $(stat_of mail_held)"
[ "$(stat_of mail_bytes_held)" = 5 ] || fail "mail_bytes_held"

# Several deposits in one request (blobs), as the session answer offers:
# stored in order; put again (a lost answer), the same ids and nothing
# new; the first refusal (alice's share, 3) refuses the rest; a key twice
# in one request is a bad frame. bob fetches each once.
K=00000000000000
session alice auth mboxput puts:bob:${K}a1=MQ==,${K}a2=Mg== \
    puts:bob:${K}a1=MQ==,${K}a2=Mg==,${K}a3=Mw==,${K}a4=NA== \
    puts:nobody:${K}a5=NQ== puts:bob:${K}a6=Ng==,${K}a6=Nw== >"$TMP/out"
expect "$TMP/out" "auth ok" "mbox_put 64" "puts ok 5 6" \
    "puts ok 5 6 quota_exceeded/sender quota_exceeded/sender" \
    "puts ok no_such_user/None" "puts bad_frame"
session bob auth get:0 ack:5,6 >"$TMP/out"
expect "$TMP/out" "auth ok" "get ok n=3 more=False" "mail 3 alice 5 dGhyZWU=" \
    "mail 5 alice 1 MQ==" "mail 6 alice 1 Mg==" "ack ok"
[ "$(stat_of mail_refused_quota)" = 4 ] || fail "mail_refused_quota"
[ "$(stat_of mail_held)" = 1 ] || fail "mail_held $(stat_of mail_held)"

# A gestor that keeps no mail says so, and publishes no mail key.
write_conf g gestor "mailbox = { enable = false; };
relay = { listen = \"127.0.0.1:0\"; };"
ctl g reload >/dev/null
session alice auth put:bob:QUJD lookup:bob >"$TMP/out"
expect "$TMP/out" "auth ok" "put mailbox_disabled reason=None" "lookup ok mail="
[ "$(stat_of mail_refused_disabled)" = 1 ] ||
	fail "mail_refused_disabled $(stat_of mail_refused_disabled)"
# What is left still counts (status's mail_waiting).
session bob auth count >"$TMP/out"
expect "$TMP/out" "auth ok" "count ok n=1 bytes=5"
