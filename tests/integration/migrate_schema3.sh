#!/usr/bin/env bash
# A store written by the last release of peer store schema 3 (commit
# 73a23e1; tests/fixtures/schema3 says how it was made) opens with
# today's daemons, migrates, and shows what that release showed: history,
# chats, search, the queue, and `watch --since 0` byte for byte (text; the
# JSON values, with event and seq now first); then alice's queued messages reach bob once, in order, and the
# new events follow the old ones without a gap.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools jq
FIX=$(cd "$(dirname "${TESTS_LIB:-$(dirname "$0")/../lib.sh}")/fixtures/schema3" &&
    pwd)
EXP=$FIX/expected

for d in g alice bob; do
	mkdir -m 700 "$TMP/$d"
	cp "$FIX/$d"/* "$TMP/$d/"
	chmod 600 "$TMP/$d"/*
done

# watch_lines NAME N FILE [ARGS]: the first N lines `watch` prints.
watch_lines() {
	local name=$1 n=$2 file=$3 pid
	shift 3
	# Not the ctl function: $! must be p2pchatctl itself, to kill it.
	"$P2PCHATCTL" -c "$TMP/$name.conf" "$@" >"$file.all" &
	pid=$!
	wait_for "$name's $n events" 15 sh -c "[ \$(wc -l <'$file.all') -ge $n ]"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	head -n "$n" "$file.all" >"$file"
}

same() {	# same WHAT EXPECTED GOT
	diff -u "$2" "$3" >&2 || fail "$1 differs from what schema 3 printed"
}

# The same JSON values; the keys now come as the live lines print them,
# event and seq first (schema 3's replay printed them last).
same_json() {	# same_json WHAT EXPECTED GOT
	jq -S -c . "$2" >"$TMP/want.sorted"
	jq -S -c . "$3" >"$TMP/got.sorted"
	same "$1" "$TMP/want.sorted" "$TMP/got.sorted"
	if grep -v '^{"event":"[a-z-]*","seq":[0-9]*[,}]' "$3" >&2; then
		fail "$1: a line does not start with event and seq"
	fi
}

start_gestor g
start_peer alice g
grep -q "migrated to schema version 7" "$TMP/alice.log" ||
	fail "alice's store was not migrated"
ctl alice history bob >"$TMP/got"
same "alice's history" "$EXP/alice.history" "$TMP/got"
# chats has a fifth column since schema 8 (request): no, alice wrote first.
ctl alice chats >"$TMP/chats"
cut -f1-4 "$TMP/chats" >"$TMP/got"
same "alice's chats" "$EXP/alice.chats" "$TMP/got"
[ "$(cut -f5 "$TMP/chats" | sort -u)" = no ] || fail "a migrated chat is a request: $(cat "$TMP/chats")"
ctl alice search zebra >"$TMP/got"
same "alice's search" "$EXP/alice.search" "$TMP/got"
# Attempts and next try move on with every retry: the queue itself.
ctl alice pending | cut -f1,2,6 >"$TMP/got"
cut -f1,2,6 "$EXP/alice.pending" >"$TMP/want"
same "alice's queue" "$TMP/want" "$TMP/got"
watch_lines alice 4 "$TMP/got" watch --since 0
same "alice's watch --since 0" "$EXP/alice.watch" "$TMP/got"
watch_lines alice 4 "$TMP/got" --json watch --since 0
same_json "alice's watch --since 0 --json" "$EXP/alice.watch.json" "$TMP/got"

# bob comes up: the two queued messages arrive, once, in order.
start_peer bob g
wait_for "alice's queue drained" 30 sh -c \
    "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ]"
ctl bob history alice >"$TMP/got"
head -n 4 "$TMP/got" >"$TMP/old"
same "bob's history" "$EXP/bob.history" "$TMP/old"
[ "$(sed -n '5,$p' "$TMP/got" | cut -f2,3,4,5)" = "$(printf \
    'in\treceived\t00000000000000000000000000000a04\tqueued one\nin\treceived\t00000000000000000000000000000a05\tqueued zebra two')" ] ||
	fail "bob's new messages: $(cat "$TMP/got")"
ctl alice history bob | cut -f3,4 | tail -n 2 >"$TMP/got"
printf 'delivered\t00000000000000000000000000000a04\ndelivered\t00000000000000000000000000000a05\n' >"$TMP/want"
same "alice's delivered states" "$TMP/want" "$TMP/got"
# The old events as they were, the new ones after them (seq 5, 6).
watch_lines bob 6 "$TMP/got" --json watch --since 0
head -n 4 "$TMP/got" >"$TMP/old"
same_json "bob's watch --since 0 --json" "$EXP/bob.watch.json" "$TMP/old"
tail -n 2 "$TMP/got" | jq -r '[.seq, .event, .from, .id, .text] | @tsv' \
    >"$TMP/new"
printf '5\tmessage\talice\t00000000000000000000000000000a04\tqueued one\n6\tmessage\talice\t00000000000000000000000000000a05\tqueued zebra two\n' >"$TMP/want"
same "bob's new events" "$TMP/want" "$TMP/new"
watch_lines alice 2 "$TMP/got" --json watch --since 4
jq -r '[.seq, .event, .user, .id] | @tsv' "$TMP/got" >"$TMP/new"
printf '5\tdelivered\tbob\t00000000000000000000000000000a04\n6\tdelivered\tbob\t00000000000000000000000000000a05\n' >"$TMP/want"
same "alice's new events" "$TMP/want" "$TMP/new"
ctl bob search zebra | cut -f5 >"$TMP/got"
printf '00000000000000000000000000000a05\n00000000000000000000000000000b02\n' >"$TMP/want"
same "bob's search" "$TMP/want" "$TMP/got"
stop_clean alice
stop_clean bob
log "ok"
