#!/usr/bin/env bash
# Files under random faults (issue 29, "how it will be checked": large and
# hostile files sent between daemons that are killed, moved and relayed,
# compared byte for byte, the chat timed while a transfer runs).
#
# alice sends bob files of sizes drawn from a seed (0 and 1 byte, small,
# up to P2PCHAT_FILECHAOS_MAX MiB), generated, never committed: random
# bytes, sparse zeros with random islands, a stream of p2pchat frames
# (length prefixes and JSON: a chunk that is parsed instead of copied shows),
# a file that differs from another by one byte in its middle (same size:
# a resume must not mix them), the same content twice under two ids, and
# names that are paths, control characters, long or not ASCII. Each
# `send-file --id` is retried blindly with its id until acknowledged, at
# seeded moments of the run, while alice and bob also chat (`send --id`,
# both ways). A seeded schedule, one fault at a time per daemon:
#   kill       SIGKILL of alice or bob (often mid-transfer), started again
#   stop       SIGTERM of alice or bob, started again
#   pause      SIGSTOP of alice or bob, SIGCONT later
#   move       bob killed and started on another port (his cached address
#              is stale)
#   route      alice killed and started with relay.use flipped between
#              "auto" and "always" (the files then go through the relay)
#   kill_gestor SIGKILL of the gestor (and of the relayed link), started again
# Then everything comes back and the run waits (bounded) until every file
# is delivered. Each file is at bob once (one row per id, state received,
# one "received" log line), `save` gives it byte for byte, alice shows it
# delivered and her stored copy is gone, bob keeps no partial file and
# nothing named by the sender; the chat is checked like
# tests/netns/check_messages.sh; no daemon died on its own and every
# SIGTERM ended in exit 0. Last, with no faults, the chat is timed while
# one large file travels (p50, p99, max printed).
#
#   P2PCHAT_FILECHAOS_SEED=n    replays a schedule (make check: seed 1;
#                               "random": a new one; the seed is printed)
#   P2PCHAT_FILECHAOS_FAULTS=n  how many faults (make check: 20)
#   P2PCHAT_FILECHAOS_FILES=n   how many files (make check: 10)
#   P2PCHAT_FILECHAOS_MAX=n     the largest size in MiB (make check: 12)
#   P2PCHAT_FILECHAOS_GAP=ms    mean time between two faults (800)
# `make chaos-files` runs a long one (FILE_CHAOS_FAULTS, FILE_CHAOS_FILES,
# FILE_CHAOS_MAX, FILE_CHAOS_SEED).
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
. "$(dirname "${TESTS_LIB:-$(dirname "$0")/../lib.sh}")/netns/check_messages.sh"
need_tools openssl python3 timeout

SEED=${P2PCHAT_FILECHAOS_SEED:-1}
[ "$SEED" != random ] || SEED=$(( ($$ + $(date +%s)) % 32768 ))
FAULTS=${P2PCHAT_FILECHAOS_FAULTS:-20}
NFILES=${P2PCHAT_FILECHAOS_FILES:-10}
MAXMIB=${P2PCHAT_FILECHAOS_MAX:-12}
GAP=${P2PCHAT_FILECHAOS_GAP:-800}
case $SEED$FAULTS$NFILES$MAXMIB$GAP in *[!0-9]*) fail "the settings are numbers" ;; esac
[ "$NFILES" -ge 8 ] || fail "P2PCHAT_FILECHAOS_FILES: at least 8"
RANDOM=$SEED
log "seed $SEED, $FAULTS faults, $NFILES files up to $MAXMIB MiB (P2PCHAT_FILECHAOS_SEED=$SEED replays it)"

# Daemons' log lines get the time (moreutils' ts, where installed), to
# line them up with the faults, whose times are logged too.
if command -v ts >/dev/null 2>&1; then
	start() {
		local name=$1
		"$P2PCHATD" -c "$TMP/$name.conf" > >(ts '%H:%M:%.S' >>"$TMP/$name.log") 2>&1 &
		PIDS[$name]=$!
		wait_for "$name to serve its control socket" 20 ctl "$name" status
	}
fi
ctl() {
	local name=$1
	shift
	timeout -k 2 60 "$P2PCHATCTL" -c "$TMP/$name.conf" "$@"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
rnd() { R=$(( $1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1) )); }
pick() { local a=("$@"); R=${a[RANDOM % ${#a[@]}]}; }
RUN=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')

# ---------------------------------------------------------------- files
# stream KEY: endless bytes drawn from KEY (AES-CTR of zeros: the seed
# gives the same files again).
stream() {
	openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$1")" -iv 0 </dev/zero 2>/dev/null
}
MIB=1048576
mkdir "$TMP/src"
declare -a FNAME=() FPATH=() FID=()
# The special ones first, then random kinds and sizes.
for i in $(seq 0 $((NFILES - 1))); do
	f="$TMP/src/$i"
	case $i in
	0) : >"$f"; name=empty ;;
	1) printf 'x' >"$f"; name='../../etc/passwd' ;;
	2) rnd 1 $((MAXMIB * MIB)); stream "$SEED$i" | head -c "$R" >"$f"; name=$'evil\e[2J\tname\n' ;;
	3) cp "$TMP/src/2" "$f"; name=same-content ;;
	4) # frames: length prefixes and JSON, as a hostile file would hold them
		rnd $MIB $((MAXMIB * MIB)); python3 - "$f" "$R" <<'PY'
import json, struct, sys
out, size = open(sys.argv[1], "wb"), int(sys.argv[2])
n = 0
while n < size:
    for body in ({"t": "msg", "id": "%032x" % n, "from": "mallory", "to": "bob",
                  "ts": n, "body": "x" * (n % 300)},
                 {"t": "chunk", "id": "%032x" % n, "off": n, "data": "QUFB"},
                 {"t": "file-pos", "id": "%032x" % n, "off": 0}):
        j = json.dumps(body).encode()
        b = struct.pack(">I", len(j)) + j + bytes([0xff, 0, 0x0a, 0x0d])
        out.write(b[:size - n])
        n += min(len(b), size - n)
PY
		name="frames $(printf '\xc3\xb1')" ;;
	5) # sparse: zeros with random islands
		rnd $MIB $((MAXMIB * MIB)); truncate -s "$R" "$f"
		for k in 1 2 3 4 5; do
			rnd 0 $(( $(stat -c %s "$f") - 4096 ))
			stream "$SEED$i$k" | head -c 4096 |
			    dd of="$f" bs=1 seek="$R" conv=notrunc status=none
		done
		name=sparse ;;
	6) # the largest: random, then one byte changed in its middle (7)
		stream "$SEED$i" | head -c $((MAXMIB * MIB)) >"$f"; name=largest ;;
	7) cp "$TMP/src/6" "$f"
		printf '\x5a' | dd of="$f" bs=1 seek=$((MAXMIB * MIB / 2)) conv=notrunc status=none
		cmp -s "$TMP/src/6" "$f" && printf '\xa5' |
		    dd of="$f" bs=1 seek=$((MAXMIB * MIB / 2)) conv=notrunc status=none
		name=largest-but-one-byte ;;
	*) pick small medium large; case $R in
		small) rnd 2 65536 ;;
		medium) rnd 65537 $((2 * MIB)) ;;
		large) rnd $((2 * MIB)) $((MAXMIB * MIB)) ;;
		esac
		stream "$SEED$i" | head -c "$R" >"$f"
		name=$(printf 'f%d-%0300d' "$i" 0 | head -c 255) ;;
	esac
	FNAME[$i]=$name FPATH[$i]=$f
	printf -v FID[$i] 'ff%s%024x' "$RUN" "$i"
done
cmp -s "$TMP/src/6" "$TMP/src/7" && fail "7 is 6"
log "files: $(for i in "${!FPATH[@]}"; do stat -c %s "${FPATH[$i]}"; done | paste -sd' ' -) bytes"

# ------------------------------------------------------------- daemons
# The relay's rate (4 MiB/s a session) makes relayed transfers last long
# enough for faults to land in them; alice starts relayed.
GESTOR_EXTRA='relay = { listen = "127.0.0.1:0"; session_rate = 4194304; };'
BOB_EXTRA='files = { accept_size = 1073741824; };'
ROUTE=always
start_gestor g "$GESTOR_EXTRA"
# route_conf: alice's relay settings: relayed both ways (she publishes
# no address, so bob relays too), or direct when it can.
route_conf() {
	if [ "$ROUTE" = always ]; then
		printf 'relay = { use = "always"; };\nadvertise = "none";\n'
	else
		printf 'relay = { use = "auto"; };\n'
	fi
}
start_peer alice g "$(route_conf)"
start_peer bob g "$BOB_EXTRA"
register alice >/dev/null
register bob >/dev/null
for u in alice bob; do wait_for "$u online" 20 online_at_gestor "$u" online; done
ctl bob send --wait=20 alice "send me files" >/dev/null || fail "bob's first send"
ctl alice send --wait=20 bob "here they come" >/dev/null || fail "alice's first send"

# reconf NAME: rewrite NAME's config with its current settings.
reconf() {
	case $1 in
	alice) write_conf alice peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[g]}\" ]; };
$(route_conf)" ;;
	bob) write_conf bob peer "gestor = { addresses = [ \"127.0.0.1:${PORT_OF[g]}\" ]; };
$BOB_EXTRA" ;;
	esac
}

declare -A DOWN=()
CRASHES=()
BAD_EXITS=()
MID=0
gone() {
	[ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}
alive() { [ -n "${PIDS[$1]:-}" ] && ! gone "${PIDS[$1]}"; }
term() {
	local pid=${PIDS[$1]} rc=0 deadline
	kill -TERM "$pid"
	deadline=$(( $(now_ms) + 10000 ))
	while ! gone "$pid"; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "$1 still runs 10 s after SIGTERM"
		sleep 0.05
	done
	wait "$pid" || rc=$?
	unset "PIDS[$1]"
	[ "$rc" = 0 ] || { BAD_EXITS+=("$1:$rc"); log "$1 exited $rc after SIGTERM"; }
}
killed() {
	kill -KILL "${PIDS[$1]}"
	wait "${PIDS[$1]}" 2>/dev/null || true
	unset "PIDS[$1]"
}
check_crashes() {
	local name
	for name in g alice bob; do
		[ -z "${DOWN[$name]:-}" ] || continue
		alive "$name" && continue
		CRASHES+=("$name")
		log "CRASH: $name died on its own: $(tail -n 5 "$TMP/$name.log" | tr '\n' '|')"
		KEEP_TMP=1
		wait "${PIDS[$name]}" 2>/dev/null || true
		start "$name"
	done
}
# moving: a partial file of bob's grows (a transfer is under way).
partials() { stat -c '%n %s' "$TMP"/bob/files/.in-* 2>/dev/null || true; }
moving() {
	local a
	a=$(partials)
	[ -n "$a" ] || return 1
	sleep 0.03
	[ "$(partials)" != "$a" ]
}

# ------------------------------------------------------------- senders
# chatter FROM TO N: like tests/netns/chaos.sh's sender.
chatter() {
	local from=$1 to=$2 n=$3 k=0 id
	while [ ! -e "$TMP/stop" ]; do
		k=$((k + 1))
		printf -v id '%02x%s%024x' "$n" "$RUN" "$k"
		until ctl "$from" send --id "$id" "$to" "$from->$to $k" >/dev/null 2>&1; do
			[ ! -e "$TMP/give-up" ] || { printf '%s\n' "$id" >>"$TMP/unacked.$from.$to"; return 1; }
			sleep 0.1
		done
		printf '%s\n' "$id" >>"$TMP/sent.$from.$to"
		sleep 0.2
	done
}
# filer AT...: send file i at AT[i] ms from the start, each retried with
# its id until acknowledged; acknowledged indexes to $TMP/filed.
filer() {
	local i=0 at start=$(now_ms)
	for at in "$@"; do
		while [ $(( $(now_ms) - start )) -lt "$at" ]; do sleep 0.05; done
		until ctl alice send-file --id "${FID[$i]}" --name "${FNAME[$i]}" \
		    bob "${FPATH[$i]}" >/dev/null 2>"$TMP/filer.err"; do
			[ ! -e "$TMP/give-up" ] || { echo "$i" >>"$TMP/unfiled"; return 1; }
			sleep 0.1
		done
		echo "$i" >>"$TMP/filed"
		i=$((i + 1))
	done
}

# ------------------------------------------------------------ schedule
KINDS="kill stop pause move route kill_gestor"
declare -A WEIGHT=([kill]=40 [stop]=15 [pause]=10 [move]=10 [route]=10 [kill_gestor]=15)
declare -A BUSY=() COUNT=()
for k in $KINDS; do COUNT[$k]=0; done
free() { [ "${BUSY[$1]:-0}" -le "$2" ]; }
SCHEDULE=()
t=1000
total_weight=0
for k in $KINDS; do total_weight=$(( total_weight + WEIGHT[$k] )); done
while [ ${#SCHEDULE[@]} -lt "$FAULTS" ]; do
	rnd $(( GAP / 4 )) $(( GAP * 7 / 4 )); t=$(( t + R ))
	rnd 0 $(( total_weight - 1 )); w=$R
	for kind in $KINDS; do
		w=$(( w - WEIGHT[$kind] ))
		[ "$w" -ge 0 ] || break
	done
	case $kind in
	kill)	pick alice bob; target=$R; rnd 0 2500; dur=$R ;;
	stop)	pick alice bob; target=$R; rnd 100 2500; dur=$R ;;
	pause)	pick alice bob; target=$R; rnd 200 3000; dur=$R ;;
	move)	target=bob; rnd 0 1500; dur=$R ;;
	route)	target=alice; rnd 0 1000; dur=$R ;;
	kill_gestor) target=g; rnd 200 3000; dur=$R ;;
	esac
	free "$target" "$t" || continue
	BUSY[$target]=$(( t + dur + 300 ))
	# Two faults in three wait for a transfer under way, then 0-300 ms.
	if [ $((RANDOM % 3)) = 0 ]; then mid=-; else rnd 0 300; mid=$R; fi
	SCHEDULE+=("$t $kind $target $dur $mid")
done
# The files go out during the first two thirds of the run, in order.
AT=()
for i in $(seq 0 $((NFILES - 1))); do rnd 0 $(( t * 2 / 3 )); AT+=("$R"); done
mapfile -t AT < <(printf '%s\n' "${AT[@]}" | sort -n)
log "schedule: ${#SCHEDULE[@]} faults over $(( t / 1000 )) s"

HEALS=()
inject() {
	local seq=$1 start=$2 kind=$3 target=$4 dur=$5 heal a mid=
	moving && { mid=" (mid-transfer)"; MID=$((MID + 1)); }
	case $kind in
	kill)	killed "$target"; heal="start $target" ;;
	stop)	term "$target"; heal="start $target" ;;
	pause)	kill -STOP "${PIDS[$target]}"; heal="kill -CONT ${PIDS[$target]}" ;;
	move)	killed bob; heal="move_bob" ;;
	route)	killed alice
		if [ "$ROUTE" = auto ]; then ROUTE=always; else ROUTE=auto; fi
		reconf alice; heal="start alice"; mid="$mid relay.use $ROUTE" ;;
	kill_gestor) killed g; heal="start g" ;;
	esac
	DOWN[$target]=$kind
	COUNT[$kind]=$(( COUNT[$kind] + 1 ))
	a=$(( $(now_ms) - t0 ))
	log "fault $seq at $(( a / 1000 )).$(( a % 1000 / 100 )) s ($(date +%T.%3N)): $kind $target for $dur ms$mid"
	HEALS+=("$(( t0 + start + dur )) $target $heal")
}
# move_bob: bob again, on a port the kernel chooses (his last address is
# no longer his).
move_bob() {
	local old=${PORT_OF[bob]}
	PORT_OF[bob]=0
	reconf bob
	start bob
	PORT_OF[bob]=$(field bob listen | sed 's/.*://')
	reconf bob
	log "bob moved from port $old to ${PORT_OF[bob]}"
}
heal_due() {
	local now i due target rest kept=()
	now=$(now_ms)
	for i in "${!HEALS[@]}"; do
		read -r due target rest <<<"${HEALS[$i]}"
		if [ "${1:-}" = all ] || [ "$due" -le "$now" ]; then
			eval "$rest"
			unset "DOWN[$target]"
		else
			kept+=("${HEALS[$i]}")
		fi
	done
	HEALS=("${kept[@]}")
}

# ------------------------------------------------------------------ run
BG=
trap '[ -z "$BG" ] || kill $BG 2>/dev/null || true; cleanup' EXIT
chatter alice bob 1 & BG="$BG $!"
chatter bob alice 2 & BG="$BG $!"
filer "${AT[@]}" & FILER=$!
BG="$BG $FILER"

t0=$(now_ms)
seq=0
SKIPPED=0
for f in "${SCHEDULE[@]}"; do
	read -r start kind target dur mid <<<"$f"
	seq=$((seq + 1))
	while [ $(( $(now_ms) - t0 )) -lt "$start" ]; do
		heal_due
		check_crashes
		sleep 0.05
	done
	# A fault meant to land mid-transfer waits (at most 3 s, while both
	# peers run) for one, then 0-300 ms more.
	if [ "$mid" != - ] && [ -z "${DOWN[alice]:-}${DOWN[bob]:-}" ]; then
		deadline=$(( $(now_ms) + 3000 ))
		until moving || [ "$(now_ms)" -ge "$deadline" ]; do
			heal_due
			sleep 0.02
		done
		! moving || sleep "$(printf '0.%03d' "$mid")"
	fi
	heal_due
	check_crashes
	# A late fault (one that waited) may meet its target still down.
	if [ -n "${DOWN[$target]:-}" ]; then
		log "fault $seq skipped: $target is down already"
		SKIPPED=$((SKIPPED + 1))
		continue
	fi
	inject "$seq" "$(( $(now_ms) - t0 ))" "$kind" "$target" "$dur"
done
log "all $FAULTS faults injected in $(( ($(now_ms) - t0) / 1000 )) s ($MID mid-transfer); healing"
heal_due all
check_crashes

# --------------------------------------------------------------- settle
wait_for "every file acknowledged" 60 sh -c "[ \$(wc -l <'$TMP/filed' 2>/dev/null || echo 0) = $NFILES ]"
touch "$TMP/stop"
for pid in $BG; do
	[ "$pid" = "$FILER" ] && continue
	deadline=$(( $(now_ms) + 60000 ))
	while ! gone "$pid" && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.1; done
done
touch "$TMP/give-up"
for pid in $BG; do wait "$pid" 2>/dev/null || true; done
BG=
[ ! -s "$TMP/unacked.alice.bob" ] && [ ! -s "$TMP/unacked.bob.alice" ] ||
	fail "a chat line still refused 60 s after the heal"

state_of() { ctl "$1" files | awk -F'\t' -v id="$2" '$5 == id { print $4 }'; }
all_delivered() {
	local i
	ctl alice files >"$TMP/afiles" || return 1
	for i in "${!FID[@]}"; do
		[ "$(awk -F'\t' -v id="${FID[$i]}" '$5 == id { print $4 }' "$TMP/afiles")" = delivered ] || return 1
	done
}
t_heal=$(now_ms)
until all_delivered; do
	if [ $(( $(now_ms) - t_heal )) -ge 240000 ]; then
		log "alice's files: $(cut -f3-7,10 "$TMP/afiles" | tr '\t\n' ' |')"
		log "bob's files: $(ctl bob files | cut -f3-7,10 | tr '\t\n' ' |')"
		fail "files not delivered 240 s after the heal"
	fi
	check_crashes
	sleep 0.5
done
log "every file delivered $(( ($(now_ms) - t_heal) / 1000 )) s after the heal"
pending_empty() { [ -z "$(ctl "$1" pending)" ]; }
wait_for "the chat drained" 60 sh -c "[ -z \"\$($P2PCHATCTL -c $TMP/alice.conf pending)\" ] && [ -z \"\$($P2PCHATCTL -c $TMP/bob.conf pending)\" ]"

# ---------------------------------------------------------------- checks
line=
for k in $KINDS; do line="$line $k ${COUNT[$k]},"; done
log "SUMMARY seed $SEED: faults:${line%,} ($SKIPPED skipped); $MID landed mid-transfer;" \
    "$(grep -c ' to bob: offered' "$TMP/alice.log" || true) offers of $NFILES files," \
    "$(grep -c ' to bob: resuming at [1-9]' "$TMP/alice.log" || true) resumed from an offset"
[ ${#CRASHES[@]} = 0 ] || fail "daemons died without a fault: ${CRASHES[*]}"
[ ${#BAD_EXITS[@]} = 0 ] || fail "SIGTERM did not end in exit 0: ${BAD_EXITS[*]}"
for name in g alice bob; do
	! grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error: " "$TMP/$name.log" ||
		fail "$name: $(grep -m 1 "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error: " "$TMP/$name.log")"
done
ctl bob files >"$TMP/bfiles"
for i in "${!FID[@]}"; do
	id=${FID[$i]}
	[ "$(awk -F'\t' -v id="$id" '$5 == id' "$TMP/bfiles" | wc -l)" = 1 ] ||
		fail "file $i ($id): not one row at bob: $(grep "$id" "$TMP/bfiles" | tr '\t\n' ' |')"
	[ "$(state_of bob "$id")" = received ] || fail "file $i: $(state_of bob "$id") at bob"
	[ "$(grep -c "file $id from alice: received" "$TMP/bob.log")" = 1 ] ||
		fail "file $i: not shown exactly once: $(grep -c "file $id from alice: received" "$TMP/bob.log")"
	rm -f "$TMP/out"
	ctl bob save "$id" "$TMP/out" || fail "file $i: save"
	cmp "${FPATH[$i]}" "$TMP/out" || fail "file $i (${FNAME[$i]@Q}) differs at bob"
done
[ "$(grep -c . "$TMP/bfiles")" = "$NFILES" ] || fail "bob has other files: $(cut -f3-5 "$TMP/bfiles" | tr '\t\n' ' |')"
[ -z "$(ls -A "$TMP/bob/files" | grep -v '^[0-9a-f]\{64\}$')" ] ||
	fail "bob keeps other names: $(ls -A "$TMP/bob/files" | tr '\n' ' ')"
[ "$(find "$TMP" -name passwd | wc -l)" = 0 ] || fail "a file named by the sender was written"
alice_copies_gone() { [ -z "$(ls -A "$TMP/alice/files" 2>/dev/null | grep -v '^\.')" ]; }
wait_for "alice's stored copies removed" 30 alice_copies_gone
check_messages alice bob
check_messages bob alice

# ------------------------------------------------- the chat, timed
# No fault now: one large file travels (P2PCHAT_FILECHAOS_TIMED MiB,
# default 128) while alice sends lines with --wait, each timed, for as
# long as it travels (at most 50 lines). The times are printed: the goal
# (issue 29: p99 < 50 ms) is not asserted on a shared machine.
TIMED=${P2PCHAT_FILECHAOS_TIMED:-128}
if [ "$ROUTE" = always ]; then
	ROUTE=auto
	reconf alice
	term alice
	start alice
fi
wait_for "alice online" 20 online_at_gestor alice online
stream "${SEED}999" | head -c $((TIMED * MIB)) >"$TMP/src/timed"
id=$(ctl alice send-file bob "$TMP/src/timed") || fail "send-file timed"
wait_for "the timed transfer under way" 60 moving
: >"$TMP/lat"
for k in $(seq 1 50); do
	moving || break
	a=$(date +%s%N)
	ctl alice send --wait=30 bob "timed $k" >/dev/null || fail "timed line $k"
	echo $(( ($(date +%s%N) - a) / 1000000 )) >>"$TMP/lat"
done
n=$(wc -l <"$TMP/lat")
if [ "$n" = 0 ]; then
	log "SUMMARY the $TIMED MiB file went too fast to time a line"
else
	sort -n "$TMP/lat" >"$TMP/lat.s"
	log "SUMMARY chat during a $TIMED MiB transfer: $n lines (send --wait, ms):" \
	    "p50 $(sed -n "$(( (n + 1) / 2 ))p" "$TMP/lat.s")," \
	    "p99 $(sed -n "$(( (n * 99 + 99) / 100 ))p" "$TMP/lat.s"), max $(tail -n 1 "$TMP/lat.s")"
fi
wait_for "the timed file" 240 sh -c "[ \"\$($P2PCHATCTL -c $TMP/alice.conf files | awk -F'\t' -v id=$id '\$5 == id { print \$4 }')\" = delivered ]"
ctl bob save "$id" "$TMP/out.timed" && cmp "$TMP/src/timed" "$TMP/out.timed" || fail "the timed file differs"
log "ok"
