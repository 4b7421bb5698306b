#!/usr/bin/env bash
# p2pchatctl behaves as p2pchatctl(1) says for the details scripts rely on:
# exit codes, output shapes with and without --json, errors for the other
# mode, send --id conflicts, wait on an unknown id, stats and status fields,
# and shutdown answering before the daemon exits.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
wait_for "bob online" 10 gestor_state_is bob online

# Usage errors exit 2, before any daemon is asked.
expect_exit 2 "$P2PCHATCTL"
expect_exit 2 "$P2PCHATCTL" frobnicate
expect_exit 2 ctl alice history bob --limit many
expect_exit 2 ctl alice send
expect_exit 2 "$P2PCHATCTL" -c "$TMP/no-such.conf" status
"$P2PCHATCTL" --version | grep -q '^p2pchatctl [0-9]' || fail "--version"
"$P2PCHATCTL" help | grep -q '^  send USER' || fail "help"
ctl alice send --help | grep -q '^usage: p2pchatctl send ' || fail "send --help"
# "group" is a command of two words: its help lists every verb's.
for h in "help group" "group --help" "group -h"; do
	"$P2PCHATCTL" $h >"$TMP/out" || fail "$h: exit $?"
	for v in create add remove rename leave show; do
		grep -q "^usage: p2pchatctl group $v " "$TMP/out" || fail "$h lacks group $v"
	done
done
expect_exit 2 "$P2PCHATCTL" group

# No daemon: 4.
expect_exit 4 "$P2PCHATCTL" -s "$TMP/nobody.sock" status

# The other mode's commands are unknown_command (exit 1).
expect_exit 1 ctl alice users
grep -q '^p2pchatctl: unknown_command: ' "$TMP/err" || fail "peer users: $(cat "$TMP/err")"
expect_exit 1 ctl g send bob hi
grep -q '^p2pchatctl: unknown_command: ' "$TMP/err" || fail "gestor send: $(cat "$TMP/err")"

# Refusals: exit 1, "p2pchatctl: CODE: message"; --json prints the error.
expect_exit 1 ctl alice lookup Bob
grep -q '^p2pchatctl: invalid_argument: ' "$TMP/err" || fail "bad name: $(cat "$TMP/err")"
expect_exit 1 ctl alice --json lookup nosuchuser
grep -q '"code": *"no_such_user"' "$TMP/out" || fail "--json error: $(cat "$TMP/out")"

# Shapes: a value alone, key/value lines, {} for nothing, {"items":[...]}.
[ "$(ctl alice version)" = "$(ctl g version)" ] || fail "version"
ctl alice --json version | grep -q '"mode": *"peer"' || fail "version --json"
# reload names what it applied and what needs a restart (listen); the
# file as alice was started (listen port 0) changes nothing.
cp "$TMP/alice.conf" "$TMP/alice.conf.good"
sed -i 's/^listen = .*/listen = "127.0.0.1:0";/' "$TMP/alice.conf"
[ -z "$(ctl alice reload)" ] || fail "reload of an unchanged file printed something"
ctl alice --json reload | grep -q '^{"items": *\[\]}$' || fail "reload --json: $(ctl alice --json reload)"
sed -i -e 's/log_level = "debug"/log_level = "info"/' \
    -e 's/^listen = .*/listen = "127.0.0.1:1";/' "$TMP/alice.conf"
ctl alice reload >"$TMP/out" || fail "reload"
[ "$(cat "$TMP/out")" = "listen	restart_needed
log_level	applied" ] || fail "reload output: $(cat "$TMP/out")"
sed 's/^listen = .*/listen = "127.0.0.1:0";/' "$TMP/alice.conf.good" >"$TMP/alice.conf"
ctl alice --json reload | grep -q '\[{"setting": *"log_level", *"status": *"applied"}\]' ||
	fail "reload --json lists the change back: $(ctl alice --json reload)"
cp "$TMP/alice.conf.good" "$TMP/alice.conf"
ctl alice --json chats | grep -q '^{"items": *\[' || fail "chats --json"

# A message too long names its size and the limit.
head -c 70000 /dev/zero | tr '\0' a >"$TMP/big"
expect_exit 1 ctl alice send bob - <"$TMP/big"
grep -q "is 70000 bytes, more than the limit of 65536 bytes" "$TMP/err" || fail "too long: $(cat "$TMP/err")"
# "no such user" worded one way, whichever command and mode says it.
for c in "alice send nosuch hi" "alice lookup nosuch" "alice fingerprint nosuch" \
    "alice trust nosuch" "g lookup nosuch"; do
	expect_exit 1 ctl $c
	grep -q "^p2pchatctl: no_such_user: no such user: nosuch\( (.*\)\?\(; nothing stored\)\?$" "$TMP/err" ||
		fail "$c: $(cat "$TMP/err")"
done

# status, stats and lookup --help name every field each mode prints.
for d in alice g; do
	for c in status stats "lookup bob"; do
		help=$(ctl $d ${c%% *} --help)
		for k in $(ctl $d $c | cut -f1); do
			printf '%s\n' "$help" | grep -qw -- "$k" ||
				fail "$c --help lacks '$k' ($d)"
		done
	done
done

# send --id: the same message again is reported, another is refused.
id=0123456789abcdef0123456789abcdef
[ "$(ctl alice send bob "same" --id $id --wait=10)" = $id ] || fail "send --id"
ctl alice --json send bob "same" --id $id | grep -q '"duplicate": *true' ||
	fail "repeated send --id"
expect_exit 1 ctl alice send bob "different" --id $id
grep -q '^p2pchatctl: id_conflict: ' "$TMP/err" || fail "id conflict: $(cat "$TMP/err")"
[ "$(ctl bob history alice | grep -c "	$id	")" = 1 ] || fail "shown twice"

# wait: unknown id is unknown_id (1).
expect_exit 1 ctl alice wait ffffffffffffffffffffffffffffffff
grep -q '^p2pchatctl: unknown_id: ' "$TMP/err" || fail "unknown id: $(cat "$TMP/err")"

# The fields the manual lists.
for k in mode user state gestor gestor_state last_heartbeat listen advertise fingerprint pending; do
	ctl alice status | grep -q "^$k	" || fail "peer status lacks $k"
done
for k in mode listen fingerprint users online connections uptime; do
	ctl g status | grep -q "^$k	" || fail "gestor status lacks $k"
done
for k in uptime sent received delivered failed cancelled expired retries \
    duplicates pending held failed_total cancelled_total expired_total \
    connections_out connections_in; do
	ctl alice stats | grep -q "^$k	[0-9]" || fail "peer stats lacks $k"
done
for k in uptime users online connections registrations logins login_failures \
    rate_limited frames_in frames_out connections_total; do
	ctl g stats | grep -q "^$k	[0-9]" || fail "gestor stats lacks $k"
done
ctl alice export bob | head -1 | grep -q '"received":' || fail "export lacks received"

# shutdown answers, exits 0, and the daemon is gone.
ctl bob shutdown >"$TMP/out" 2>"$TMP/err" || fail "shutdown: $(cat "$TMP/err")"
[ ! -s "$TMP/out" ] || fail "shutdown printed: $(cat "$TMP/out")"
wait "${PIDS[bob]}" || fail "bob exited $?"
unset "PIDS[bob]"
expect_exit 4 ctl bob status
log "ok"
