#!/usr/bin/env bash
# bash completion for p2pchatctl: commands (every one `p2pchatctl help`
# lists), global and per-command options, usernames from a real daemon's
# `chats`, message ids from `pending`.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
top_srcdir=$(cd "$(dirname "$TESTS_LIB")/.." && pwd)
. "$top_srcdir/completion/p2pchatctl.bash"

# comp WORD...: complete the last WORD of the command line; COMPREPLY,
# sorted and space-separated, in $got.
comp() {
	COMP_WORDS=("$P2PCHATCTL" "$@")
	COMP_CWORD=$#
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_p2pchatctl || true
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
	got=${got% }
}

expect() {
	local want=$1
	shift
	comp "$@"
	[ "$got" = "$want" ] || fail "completing '$*': want '$want', got '$got'"
}

# Every command p2pchatctl knows is offered, and nothing else.
"$P2PCHATCTL" help | sed -n '/^commands/,/^$/p' |
    awk '/^  [a-z]/ { print $1 }' | sort -u >"$TMP/help-cmds"
[ -s "$TMP/help-cmds" ] || fail "no commands in p2pchatctl help"
echo help >>"$TMP/help-cmds"
comp ""
printf '%s\n' $got | sort >"$TMP/comp-cmds"
sort -o "$TMP/help-cmds" "$TMP/help-cmds"
diff "$TMP/help-cmds" "$TMP/comp-cmds" >&2 ||
	fail "completion's commands differ from p2pchatctl help"

expect "save search send send-file shutdown stats status" s
expect "files fingerprint" f
expect "--group --help --id --json --name --ttl --wait --wait=" send-file bob --
expect "--force --help --json" save 0123 --
expect "history" hi
expect "chat chat-delete chats" cha
expect "--help --json --password-file --version" --
expect "-c" -c
expect "--password-file" --pas
expect "--wait --wait=" send bob --w
expect "--id" send bob --i
expect "--limit" history bob --l
expect "--since" watch --s
expect "--timeout" wait --t
expect "--fts --group --help --json --limit --user" search fox --
expect "--cancel-pending --help --json --yes" chat-delete bob --
expect "--help --json" status --
expect "--password-file" login alice --p
expect "stats status" -c /nonexistent.conf --json sta
expect "users" -s /nonexistent.sock us
expect "history" help hist
expect "add" group a
expect "group groups" gro

# Files after -c and for import.
touch "$TMP/alpha.conf" "$TMP/alpha.jsonl"
expect "$TMP/alpha.conf" -c "$TMP/alpha.c"
expect "$TMP/alpha.jsonl" import "$TMP/alpha.j"

# Usernames and ids come from the daemon named by -c.
start_gestor g
start_peer alice g
start_peer bob g
start_peer bert g
for u in alice bob bert; do register "$u" >/dev/null; done
wait_for "bob online" 10 gestor_state_is bob online
ctl alice send --wait=10 bob "hi bob" >/dev/null
ctl alice send --wait=10 bert "hi bert" >/dev/null
expect "bert bob" -c "$TMP/alice.conf" send b
expect "bert bob" -c "$TMP/alice.conf" chat-delete b
# An option's value is no positional argument: USER after --ttl N.
expect "bert bob" -c "$TMP/alice.conf" send --ttl 60 b
expect "$TMP/alpha.jsonl" -c "$TMP/alice.conf" send-file --ttl 60 bob "$TMP/alpha.j"
expect "bob" -c "$TMP/alice.conf" history bo
expect "bert bob" -c "$TMP/alice.conf" search hi --user b
expect "bert" -c "$TMP/alice.conf" --json lookup be
expect "" -c "$TMP/alice.conf" send bob h
# Groups by id after --group and a group verb; a group's chat (its title,
# "bees") is no username.
gid=$(ctl alice group create bees bob bert)
ctl alice send --group bees "hi bees" >/dev/null
expect "bert bob" -c "$TMP/alice.conf" send b
expect "$gid" -c "$TMP/alice.conf" send --group "${gid:0:3}"
expect "$gid" -c "$TMP/alice.conf" group show "${gid:0:3}"
expect "bert bob" -c "$TMP/alice.conf" group add "$gid" b
stop bob
id=$(ctl alice send bob "for later")
expect "$id" -c "$TMP/alice.conf" wait "${id:0:4}"
# No daemon: no usernames, and no error on the terminal.
expect "" -c "$TMP/nowhere.conf" send b 2>"$TMP/err"
[ ! -s "$TMP/err" ] || fail "completion printed: $(cat "$TMP/err")"
log "ok"
