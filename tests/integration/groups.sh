#!/usr/bin/env bash
# Groups (DESIGN.md "Groups"): create, add, remove, rename, show, groups
# among four peers; the signed list reaches every member, also one that
# was offline during the change; bad input is refused with nothing
# stored; forged lists (a member signing, another key, a replay of an
# older version, another group's list) are refused and logged.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
LIMITS="group_members = 4;"	# alice's groups: at most 4 members

start_gestor g
for u in alice bob carol dave; do
	start_peer $u g
	register $u >/dev/null
done
for u in alice bob carol dave; do
	wait_for "$u online" 10 gestor_state_is $u online
done

# version_at USER GROUP: the version USER's daemon holds, "" if none.
version_at() {
	ctl "$1" groups | awk -F'\t' -v g="$2" '$1 == g { print $5 }'
}
has_version() {
	[ "$(version_at "$1" "$2")" = "$3" ]
}

watch_bg bob "$TMP/bob.events"
watch_bg bob "$TMP/bob.events.json" --json
gid=$(ctl alice group create team bob carol) || fail "group create"
[[ "$gid" =~ ^[0-9a-f]{32}$ ]] || fail "group create printed '$gid'"
for u in bob carol; do
	wait_for "$u has the list" 10 has_version $u "$gid" 1
done
[ "$(ctl bob groups | cut -f2-6)" = "team	alice	3	1	yes" ] || fail "bob's groups: $(ctl bob groups)"
ctl bob group show team >"$TMP/show"
grep -q "^members	alice bob carol$" "$TMP/show" || fail "group show: $(cat "$TMP/show")"
grep -q "^admin	alice$" "$TMP/show" || fail "group show admin: $(cat "$TMP/show")"
ctl carol --json groups | grep -q '"title": *"team"' || fail "--json groups"
[ -z "$(ctl dave groups)" ] || fail "dave knows the group: $(ctl dave groups)"
# watch: a group event for each list applied (live, and replayed).
wait_for "bob's group event" 10 grep -q "	group	.*	alice	$gid	team	1	" "$TMP/bob.events"
grep -q '"event": *"group".*"members": *\["alice", *"bob", *"carol"\].*"member": *true' \
    "$TMP/bob.events.json" || fail "group event: $(grep group "$TMP/bob.events.json")"
ctl bob watch --since 0 >"$TMP/replay" &
wait_for "the replayed group event" 10 grep -q "	group	.*	alice	$gid	team	1	" "$TMP/replay"
kill $! 2>/dev/null || true
# Version 1 as bob holds it, for the replay below.
sqlite3 "$TMP/bob/peer.db" "SELECT list FROM groups WHERE id = '$gid'" >"$TMP/v1.list"
sqlite3 "$TMP/bob/peer.db" "SELECT sig FROM groups WHERE id = '$gid'" >"$TMP/v1.sig"
[ -s "$TMP/v1.list" ] || fail "no list in bob's store"

# Bad input: each an error, nothing stored.
expect_exit 2 ctl alice group
grep -q "group needs a command: one of create, add, remove, rename, leave, show" "$TMP/err" ||
	fail "group alone: $(cat "$TMP/err")"
expect_exit 2 ctl alice group frobnicate team
grep -q "unknown group command 'frobnicate'" "$TMP/err" || fail "group frobnicate: $(cat "$TMP/err")"
ctl alice help group add | grep -q "^usage: p2pchatctl group add GROUP USER" || fail "help group add"
expect_exit 1 ctl alice group create team dave
grep -q title_taken "$TMP/err" || fail "title clash: $(cat "$TMP/err")"
expect_exit 1 ctl alice group create other nosuchuser
grep -q no_such_user "$TMP/err" || fail "unknown user: $(cat "$TMP/err")"
[ "$(ctl alice groups | wc -l)" = 1 ] || fail "a refused create stored a group: $(ctl alice groups)"
expect_exit 1 ctl bob group add team dave
grep -q not_admin "$TMP/err" || fail "non-admin add: $(cat "$TMP/err")"
expect_exit 1 ctl alice group add nosuchgroup dave
grep -q no_such_group "$TMP/err" || fail "unknown group: $(cat "$TMP/err")"
expect_exit 1 ctl alice group add team bob
grep -q already_member "$TMP/err" || fail "add twice: $(cat "$TMP/err")"
expect_exit 1 ctl alice group remove team dave
grep -q not_member "$TMP/err" || fail "remove a non-member: $(cat "$TMP/err")"
[ "$(version_at alice "$gid")" = 1 ] || fail "a refused change moved the version"

# dave joins while carol is offline; carol gets the list when she returns.
stop carol
# The admin is killed with SIGKILL as soon as the change is answered: it
# was committed, and goes out once the admin is back.
ctl alice group add "${gid:0:8}" dave >/dev/null || fail "group add by id prefix"
stop alice KILL
start alice
wait_for "dave has the list" 20 has_version dave "$gid" 2
wait_for "bob has version 2" 10 has_version bob "$gid" 2
start carol
wait_for "carol has version 2" 20 has_version carol "$gid" 2
ctl carol group show team | grep -q "^members	alice bob carol dave$" ||
	fail "carol's members: $(ctl carol group show team)"
expect_exit 1 ctl alice group add team erin
grep -q "too_many_members.*limits.group_members" "$TMP/err" || fail "cap: $(cat "$TMP/err")"
expect_exit 1 ctl alice group create big bob carol dave erin
grep -q too_many_members "$TMP/err" || fail "cap at create: $(cat "$TMP/err")"

# Rename, remove; the removed member learns it is out.
ctl alice group rename team crew >/dev/null || fail "rename"
ctl alice group remove crew carol >/dev/null || fail "remove"
wait_for "bob has version 4" 10 has_version bob "$gid" 4
wait_for "carol has version 4" 10 has_version carol "$gid" 4
ctl bob group show crew | grep -q "^members	alice bob dave$" ||
	fail "bob's members after remove: $(ctl bob group show crew)"
ctl carol group show crew | grep -q "^member	no$" ||
	fail "carol still a member: $(ctl carol group show crew)"
# Someone removed can be added again.
ctl alice group add crew carol >/dev/null || fail "re-add"
wait_for "carol has version 5" 10 has_version carol "$gid" 5
ctl carol group show crew | grep -q "^member	yes$" || fail "carol not back"

# bob leaves: the admin takes him off the list for everyone; he can be
# added again.
ctl bob group leave crew >/dev/null || fail "group leave"
ctl bob group show crew | grep -q "^member	no$" || fail "bob still in after leaving"
wait_for "dave has version 6" 10 has_version dave "$gid" 6
ctl dave group show crew | grep -q "^members	alice carol dave$" ||
	fail "dave's members after bob left: $(ctl dave group show crew)"
wait_for "bob has version 6" 10 has_version bob "$gid" 6
expect_exit 1 ctl bob group leave crew
grep -q not_member "$TMP/err" || fail "leaving twice: $(cat "$TMP/err")"
expect_exit 1 ctl alice group leave crew
grep -q "stays in it" "$TMP/err" || fail "the admin leaving: $(cat "$TMP/err")"
ctl alice group add crew bob >/dev/null || fail "re-add bob"
wait_for "bob has version 7" 10 has_version bob "$gid" 7
ctl bob group show crew | grep -q "^member	yes$" || fail "bob not back"

# Two groups of one title (two admins): GROUP is then ambiguous for bob.
expect_exit 1 ctl dave group create crew bob
grep -q title_taken "$TMP/err" || fail "dave's clash: $(cat "$TMP/err")"
gid2=$(ctl dave group create ops bob) || fail "dave's group"
wait_for "bob has dave's group" 10 has_version bob "$gid2" 1
ctl alice group rename crew ops >/dev/null || fail "rename to ops"
wait_for "bob has version 8" 10 has_version bob "$gid" 8
expect_exit 1 ctl bob group show ops
grep -q ambiguous_group "$TMP/err" || fail "ambiguous title: $(cat "$TMP/err")"
ctl bob group show "$gid2" | grep -q "^admin	dave$" || fail "show by id"

# --- Forged lists, sent to bob by carol (a member) on a connection of
# her own key: each refused and logged, bob's group unchanged.
need_tools python3 certtool openssl
printf 'cn = "carol"\nexpiration_days = 2\nsigning_key\ntls_www_client\n' >"$TMP/carol.tmpl"
certtool --generate-self-signed --load-privkey "$TMP/carol/identity.key" \
    --template "$TMP/carol.tmpl" --no-text --outfile "$TMP/carol.crt" >/dev/null 2>&1 ||
	fail "cannot make carol's certificate"
hex() { od -An -tx1 | tr -d ' \n'; }
carol_key=$(openssl pkey -in "$TMP/carol/identity.key" -pubout -outform DER | hex)
alice_key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$TMP/v1.list")
side=$(ctl alice group create side carol) || fail "side group"
wait_for "carol has the side group" 10 has_version carol "$side" 1
before=$(ctl bob group show "$gid")
# gmembers FILE: a frame carrying list file FILE signed by carol (or with
# the signature in FILE.sig if there is one).
gmembers() {
	local sig
	if [ -e "$1.sig" ]; then sig=$(cat "$1.sig"); else
		sig=$(openssl pkeyutl -sign -inkey "$TMP/carol/identity.key" -rawin -in "$1" | hex)
	fi
	python3 -c 'import json,os,sys; print(json.dumps({"t": "gmembers",
	    "id": os.urandom(16).hex(), "list": open(sys.argv[1]).read(),
	    "sig": sys.argv[2]}))' "$1" "$sig"
}
mklist() {	# mklist FILE GROUP ADMIN KEY VERSION MEMBER...
	local f=$1 g=$2 a=$3 k=$4 v=$5
	shift 5
	python3 -c 'import json,sys; a=sys.argv; sys.stdout.write(json.dumps({"group": a[1],
	    "title": "pwned", "admin": a[2], "key": a[3], "version": int(a[4]),
	    "members": sorted(a[5:])}, separators=(",", ":")))' "$g" "$a" "$k" "$v" "$@" >"$f"
}
mklist "$TMP/f1" "$gid" carol "$carol_key" 99 bob carol	# a member as admin
mklist "$TMP/f2" "$gid" alice "$carol_key" 99 alice bob carol	# carol's key for alice's
mklist "$TMP/f3" "$gid" alice "$alice_key" 99 alice bob carol	# alice's key, carol's signature
tr -d '\n' <"$TMP/v1.list" >"$TMP/f4"; tr -d '\n' <"$TMP/v1.sig" >"$TMP/f4.sig"	# a replay
sqlite3 "$TMP/carol/peer.db" "SELECT list FROM groups WHERE id = '$side'" | tr -d '\n' >"$TMP/f5"
sqlite3 "$TMP/carol/peer.db" "SELECT sig FROM groups WHERE id = '$side'" | tr -d '\n' >"$TMP/f5.sig"
sed "s/$side/$gid/" "$TMP/f5" >"$TMP/f6"; cp "$TMP/f5.sig" "$TMP/f6.sig"	# another group's, re-aimed
for f in f1 f2 f3 f4 f5 f6; do gmembers "$TMP/$f"; done >"$TMP/forged"
# shellcheck disable=SC2086
p2ptool peer-frames "${PORT_OF[bob]}" "$TMP/carol.crt" "$TMP/carol/identity.key" carol \
    "$TMP/forged" >"$TMP/forged.out"
[ "$(grep -c '"t": "ack"' "$TMP/forged.out")" = 6 ] || fail "forged lists not answered: $(cat "$TMP/forged.out")"
for why in "its admin is alice, not carol" "the list's key is not the key of its admin alice" \
    "signature of its list does not verify" "older than version" "a list that does not name us"; do
	grep -q "refused a group list from carol: .*$why" "$TMP/bob.log" || fail "bob did not refuse: $why"
done
[ "$(grep -c 'refused a group list from carol: .*does not verify' "$TMP/bob.log")" = 2 ] ||
	fail "the re-aimed list was not refused for its signature"
[ "$(ctl bob group show "$gid")" = "$before" ] || fail "a forged list changed bob's group: $(ctl bob group show "$gid")"
ctl bob groups | grep -q "$side" && fail "bob took a list that does not name him"
true

# The admin's key changes: bob, who verified alice's key, holds her next
# list until he trusts the new key; then it is applied.
ctl bob trust alice "$(field alice fingerprint)" >/dev/null || fail "bob trusts alice"
v=$(version_at bob "$gid")
stop alice
mv "$TMP/alice/identity.key" "$TMP/alice.old.key"
start alice
printf '%s\n' "$(cat "$(password alice)")" | ctl alice login alice >/dev/null || fail "alice login with a new key"
ctl alice group rename "$gid" newkey >/dev/null || fail "rename with the new key"
wait_for "bob holds the list" 20 grep -q "held a group list from alice: .*trust alice" "$TMP/bob.log"
[ "$(version_at bob "$gid")" = "$v" ] || fail "bob applied a list from a changed key"
ctl bob trust alice "$(field alice fingerprint)" >/dev/null || fail "bob trusts the new key"
wait_for "bob applies the held list" 20 has_version bob "$gid" $((v + 1))
