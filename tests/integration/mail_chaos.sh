#!/usr/bin/env bash
# The mailbox under random faults (issue 28, "how it will be checked":
# senders that go away before their recipients arrive, killed at random
# moments, the gestor's storage inspected for plaintext).
#
# alice and carol send numbered messages to bob, and bob to alice, each
# `send --id` retried blindly with the same id until the daemon
# acknowledges it (the acknowledged ids are recorded in order). bob is
# mostly offline. A schedule drawn from a seed, at most one fault at a
# time per daemon:
#   kill_sender  SIGKILL of alice or carol at a random moment (before,
#                during or after their deposits), started again later
#   stop_sender  SIGTERM of alice or carol (a clean stop deposits what is
#                pending), started again later
#   kill_gestor  SIGKILL of the gestor, started again later
#   stop_gestor  SIGTERM of the gestor, started again
#   pause        SIGSTOP of the gestor or a sender, SIGCONT later
#   visit        bob starts (or logs in), stays up to 0.4 s (half the
#                visits) or up to 4 s, and goes with SIGTERM, SIGKILL (a
#                short visit often mid-fetch) or `logout`; offline 1-5 s
# Then everything comes back, the senders stop and the run waits (bounded)
# until every queue is empty. Per pair (tests/netns/check_messages.sh):
# every acknowledged message is at its recipient exactly once and in
# order, and `delivered` at its sender. The gestor's storage (a sqlite3
# dump of its database and `strings` of every file in its data_dir, WAL
# included, read before each of bob's visits, while deposits wait, and at
# the end) and its log hold no message text and no message id; no deposit was dropped (no
# one forged any here), the gestor's mailbox is empty, no daemon died on
# its own and every SIGTERM ended in exit 0.
#
#   P2PCHAT_MAILCHAOS_SEED=n    replays a schedule (make check: seed 1;
#                               "random": a new one; the seed is printed)
#   P2PCHAT_MAILCHAOS_FAULTS=n  how many faults (make check: 30)
#   P2PCHAT_MAILCHAOS_GAP=ms    mean time between two faults (600)
#   P2PCHAT_MAILCHAOS_TTL=s     the gestor's mailbox.ttl (default 30 days):
#                               a few seconds makes deposits expire while
#                               bob is away
# `make chaos-mail` runs a long one (MAIL_CHAOS_FAULTS, MAIL_CHAOS_SEED).
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
. "$(dirname "${TESTS_LIB:-$(dirname "$0")/../lib.sh}")/netns/check_messages.sh"
need_tools sqlite3 strings timeout

SEED=${P2PCHAT_MAILCHAOS_SEED:-1}
[ "$SEED" != random ] || SEED=$(( ($$ + $(date +%s)) % 32768 ))
FAULTS=${P2PCHAT_MAILCHAOS_FAULTS:-30}
GAP=${P2PCHAT_MAILCHAOS_GAP:-600}
case $SEED$FAULTS$GAP in *[!0-9]*) fail "seed, fault count and gap are numbers" ;; esac
RANDOM=$SEED
log "seed $SEED, $FAULTS faults, one every ~$GAP ms (P2PCHAT_MAILCHAOS_SEED=$SEED replays it)"

# Every ctl call is bounded: a SIGSTOPped gestor must show as a failure,
# not as a hung test.
ctl() {
	local name=$1
	shift
	timeout -k 2 30 "$P2PCHATCTL" -c "$TMP/$name.conf" "$@"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# A word in every body and a number in every id, this run's own: what
# the inspection of the gestor's storage looks for.
TAG=mc$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
RUN=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')

PEERS="alice carol bob"
SENDERS_OF="alice carol"
# A short mailbox.ttl makes deposits expire while bob is away: their
# senders deposit them again.
TTL=${P2PCHAT_MAILCHAOS_TTL:-}
case $TTL in *[!0-9]*) fail "P2PCHAT_MAILCHAOS_TTL: seconds" ;; esac
GEXTRA=
[ -z "$TTL" ] || GEXTRA="mailbox = { ttl = $TTL.0; };"
start_gestor g "$GEXTRA"
for u in $PEERS; do start_peer "$u" g "mailbox = { after = 0.3; };"; done
for u in $PEERS; do register "$u" >/dev/null || fail "register $u"; done
for u in $PEERS; do wait_for "$u online" 20 online_at_gestor "$u" online; done
# Contacts first: a sender deposits only for a key it has pinned.
ctl alice send --wait=20 bob "first contact" >/dev/null || fail "alice's first send"
ctl carol send --wait=20 bob "first contact" >/dev/null || fail "carol's first send"
ctl bob send --wait=20 alice "first contact" >/dev/null || fail "bob's first send"

# ------------------------------------------------------------- daemons
declare -A DOWN=()	# name -> killed | stopped | paused | away while a fault holds it
CRASHES=()
BAD_EXITS=()

# gone PID: the process has exited (a zombie counts: kill -0 would not).
gone() {
	[ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}
alive() { [ -n "${PIDS[$1]:-}" ] && ! gone "${PIDS[$1]}"; }

# term NAME: SIGTERM; the daemon must exit 0 within 10 s (DESIGN: 2 s;
# generous under load).
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

# check_crashes: a daemon that died without a fault of ours crashed.
check_crashes() {
	local name
	for name in g $PEERS; do
		[ -z "${DOWN[$name]:-}" ] || continue
		alive "$name" && continue
		CRASHES+=("$name")
		log "CRASH: $name died on its own: $(tail -n 5 "$TMP/$name.log" | tr '\n' '|')"
		KEEP_TMP=1
		wait "${PIDS[$name]}" 2>/dev/null || true
		start "$name"
	done
}

# ------------------------------------------------------------- senders
# sender FROM TO N: "FROM->TO k TAG" for k = 1, 2, ... until $TMP/stop
# exists, each with its own id, retried with that id until acknowledged;
# the acknowledged ids go to $TMP/sent.FROM.TO in order, refusals by code
# to $TMP/errors.FROM.TO. Once $TMP/give-up exists, an unacknowledged
# send is recorded as such.
sender() {
	local from=$1 to=$2 n=$3 k=0 id code
	while [ ! -e "$TMP/stop" ]; do
		k=$((k + 1))
		printf -v id '%02x%s%024x' "$n" "$RUN" "$k"
		until ctl "$from" send --id "$id" "$to" "$from->$to $k $TAG" \
		    >/dev/null 2>"$TMP/send.err.$n"; do
			code=$(sed -n 's/^p2pchatctl: \([a-z_]*\):.*/\1/p' "$TMP/send.err.$n" | head -n 1)
			printf '%s\n' "${code:-exit}" >>"$TMP/errors.$from.$to"
			if [ -e "$TMP/give-up" ]; then
				printf '%s\n' "$id" >>"$TMP/unacked.$from.$to"
				return 1
			fi
			sleep 0.1
		done
		printf '%s\n' "$id" >>"$TMP/sent.$from.$to"
		sleep "${P2PCHAT_MAILCHAOS_PACE:-0.05}"
	done
}
PAIRS="alice:bob carol:bob bob:alice"

# ------------------------------------------------------------ schedule
# A fault is "START KIND TARGET DURATION ARG", START and DURATION in ms
# from the start of the run, drawn from the seed alone before anything
# runs, so that a seed replays the same faults in the same order.
KINDS="kill_sender stop_sender kill_gestor stop_gestor pause visit"
declare -A WEIGHT=([kill_sender]=25 [stop_sender]=15 [kill_gestor]=12
    [stop_gestor]=5 [pause]=10 [visit]=33)
declare -A BUSY=() COUNT=()
for k in $KINDS; do COUNT[$k]=0; done
rnd() { R=$(( $1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1) )); }
pick() { local a=("$@"); R=${a[RANDOM % ${#a[@]}]}; }
free() { [ "${BUSY[$1]:-0}" -le "$2" ]; }

SCHEDULE=()
t=500
total_weight=0
for k in $KINDS; do total_weight=$(( total_weight + WEIGHT[$k] )); done
while [ ${#SCHEDULE[@]} -lt "$FAULTS" ]; do
	rnd $(( GAP / 4 )) $(( GAP * 7 / 4 )); t=$(( t + R ))
	rnd 0 $(( total_weight - 1 )); w=$R
	for kind in $KINDS; do
		w=$(( w - WEIGHT[$kind] ))
		[ "$w" -ge 0 ] || break
	done
	arg=- rest=0
	case $kind in
	kill_sender)	pick $SENDERS_OF; target=$R; rnd 0 2500; dur=$R ;;
	stop_sender)	pick $SENDERS_OF; target=$R; rnd 300 5000; dur=$R ;;
	kill_gestor)	target=g; rnd 200 3000; dur=$R ;;
	stop_gestor)	target=g; rnd 100 1500; dur=$R ;;
	pause)		pick g $SENDERS_OF; target=$R; rnd 200 2500; dur=$R ;;
	visit)		target=bob; pick term kill logout; arg=$R
			# Half the visits are short: a kill then lands mid-fetch.
			if [ $((RANDOM % 2)) = 0 ]; then rnd 0 400; else rnd 400 4000; fi
			dur=$R; rnd 1000 5000; rest=$R ;;
	esac
	free "$target" "$t" || continue
	BUSY[$target]=$(( t + dur + rest ))
	SCHEDULE+=("$t $kind $target $dur $arg")
done
log "schedule: ${#SCHEDULE[@]} faults over $(( t / 1000 )) s"

# inject SEQ START KIND TARGET DURATION ARG: start a fault, queue its heal
# at the time the schedule planned.
HEALS=()
inject() {
	local seq=$1 start=$2 kind=$3 target=$4 dur=$5 arg=$6 heal a
	case $kind in
	kill_*)	killed "$target"; DOWN[$target]=killed; heal="start $target" ;;
	stop_*)	term "$target"; DOWN[$target]=stopped; heal="start $target" ;;
	pause)	kill -STOP "${PIDS[$target]}"; DOWN[$target]=paused
		heal="kill -CONT ${PIDS[$target]}" ;;
	visit)	inspect; arrive; unset "DOWN[bob]"; heal="leave $arg" ;;
	esac
	COUNT[$kind]=$(( COUNT[$kind] + 1 ))
	a=$(( $(now_ms) - t0 ))
	log "fault $seq at $(( a / 1000 )).$(( a % 1000 / 100 )) s: $kind $target${arg#-} for $dur ms"
	HEALS+=("$(( t0 + start + dur )) $target $heal")
}
# inspect: what the gestor's storage holds now, as its operator (or a
# thief of its disk) would read it: a sqlite3 dump of its database and
# `strings` of every file in its data_dir, WAL included, appended to
# $TMP/g.inspect for the checks at the end; the deposits waiting then are
# counted in INSPECTED.
INSPECTED=0
SQL() { sqlite3 -cmd '.timeout 5000' "$TMP/g/gestor.db" "$@"; }
inspect() {
	local f n
	n=$(SQL 'SELECT count(*) FROM mailbox' 2>/dev/null) || n=0
	INSPECTED=$(( INSPECTED + n ))
	SQL .dump >>"$TMP/g.inspect" 2>/dev/null || true
	for f in "$TMP"/g/*; do strings -a "$f"; done >>"$TMP/g.inspect" 2>/dev/null
}
# arrive: bob starts, or logs in again if he logged out (not while the
# gestor is down: the login would fail after a while, and hold up the
# schedule, the gestor's restart included, meanwhile).
LOGGED_OUT=
login_bob() { ctl bob login bob --password-file "$(password bob)" >/dev/null; }
arrive() {
	alive bob || start bob	# (logged out, it stays so across a restart)
	if [ -z "$LOGGED_OUT" ]; then
		:
	elif [ -n "${DOWN[g]:-}" ]; then
		log "bob does not log in: the gestor is ${DOWN[g]}"
	elif login_bob 2>"$TMP/login.err"; then
		LOGGED_OUT=
	else
		log "bob's login failed: $(cat "$TMP/login.err")"
	fi
}
# leave term|kill|logout: bob goes away (he is offline between visits).
leave() {
	DOWN[bob]=away
	case $1 in
	kill) killed bob ;;
	term) term bob ;;
	logout)	[ -n "$LOGGED_OUT" ] || ctl bob logout >/dev/null || fail "bob's logout"
		LOGGED_OUT=1 ;;
	esac
}
DOWN[bob]=away
term bob

heal_due() {
	local now i due target rest kept=()
	now=$(now_ms)
	for i in "${!HEALS[@]}"; do
		read -r due target rest <<<"${HEALS[$i]}"
		if [ "${1:-}" = all ] || [ "$due" -le "$now" ]; then
			eval "$rest"
			[ "$target" = bob ] || unset "DOWN[$target]"
		else
			kept+=("${HEALS[$i]}")
		fi
	done
	HEALS=("${kept[@]}")
}

# ------------------------------------------------------------------ run
SENDERS=
trap '[ -z "$SENDERS" ] || kill $SENDERS 2>/dev/null || true; cleanup' EXIT
n=0
for pair in $PAIRS; do
	n=$((n + 1))
	sender "${pair%:*}" "${pair#*:}" "$n" &
	SENDERS="$SENDERS $!"
done

t0=$(now_ms)
seq=0
for f in "${SCHEDULE[@]}"; do
	read -r start kind target dur arg <<<"$f"
	seq=$((seq + 1))
	while [ $(( $(now_ms) - t0 )) -lt "$start" ]; do
		heal_due
		check_crashes
		sleep 0.05
	done
	heal_due
	check_crashes
	inject "$seq" "$start" "$kind" "$target" "$dur" "$arg"
done
log "all $FAULTS faults injected in $(( ($(now_ms) - t0) / 1000 )) s; healing"
heal_due all
check_crashes
unset "DOWN[bob]"
alive bob || start bob
[ -z "$LOGGED_OUT" ] || wait_for "bob logged in again" 60 login_bob

# --------------------------------------------------------------- settle
settled() {
	local u
	for u in $PEERS; do
		[ "$(field "$u" state)" = logged_in ] &&
		    [ "$(field "$u" gestor_state)" = online ] || return 1
	done
}
wait_for "every peer logged in and online" 60 settled
touch "$TMP/stop"
deadline=$(( $(now_ms) + 60000 ))
for pid in $SENDERS; do
	while ! gone "$pid" && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.1; done
done
touch "$TMP/give-up"
for pid in $SENDERS; do wait "$pid" 2>/dev/null || true; done
SENDERS=
for pair in $PAIRS; do
	[ ! -s "$TMP/unacked.${pair%:*}.${pair#*:}" ] ||
		fail "${pair%:*} still refuses to send to ${pair#*:} 60 s after the heal"
done

pending_empty() { [ -z "$(ctl "$1" pending)" ]; }
drained() {
	local u
	for u in $PEERS; do pending_empty "$u" || return 1; done
}
t_heal=$(now_ms)
until drained; do
	if [ $(( $(now_ms) - t_heal )) -ge 120000 ]; then
		for u in $PEERS; do
			log "after 120 s, $u still has $(ctl "$u" pending | wc -l) pending: $(ctl "$u" pending | head -n 3 | tr '\t\n' ' |')"
		done
		fail "queues not drained 120 s after the heal"
	fi
	check_crashes
	sleep 0.2
done
log "every queue drained $(( ($(now_ms) - t_heal) / 1000 )) s after the heal"

# -------------------------------------------------------------- summary
line=
for k in $KINDS; do line="$line $k ${COUNT[$k]},"; done
log "SUMMARY seed $SEED: faults:${line%,}"
log "SUMMARY $(SQL "SELECT seq FROM sqlite_sequence WHERE name = 'mailbox'") deposits (receipts included)"
for pair in $PAIRS; do
	: >>"$TMP/sent.${pair%:*}.${pair#*:}"
	e=$(sort "$TMP/errors.${pair%:*}.${pair#*:}" 2>/dev/null | uniq -c | awk '{ print $2 " " $1 }' | paste -sd, -)
	log "SUMMARY ${pair%:*}->${pair#*:}: $(wc -l <"$TMP/sent.${pair%:*}.${pair#*:}") acknowledged; refused sends: ${e:-none}"
done

# ---------------------------------------------------------------- checks
[ ${#CRASHES[@]} = 0 ] || fail "daemons died without a fault: ${CRASHES[*]}"
[ ${#BAD_EXITS[@]} = 0 ] || fail "SIGTERM did not end in exit 0: ${BAD_EXITS[*]}"
for name in g $PEERS; do
	! grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error: " "$TMP/$name.log" ||
		fail "$name: $(grep -m 1 "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error: " "$TMP/$name.log")"
done
for pair in $PAIRS; do check_messages "${pair%:*}" "${pair#*:}"; done
! grep -h "peer_mail: dropped deposit" "$TMP"/*.log >"$TMP/dropped" ||
	fail "deposits dropped with no forger about: $(head -n 3 "$TMP/dropped")"

# Nothing left at the gestor: every deposit fetched and acknowledged, or
# withdrawn when a direct delivery won.
[ -f "$TMP/g/gestor.db" ] || fail "no gestor.db in $TMP/g"
mail_left() { [ "$(SQL 'SELECT count(*) FROM mailbox')" = 0 ]; }
deadline=$(( $(now_ms) + 30000 ))
until mail_left; do
	[ "$(now_ms)" -lt "$deadline" ] ||
		fail "deposits left at the gestor 30 s after the queues drained (id rcpt sender ts size):" \
		    "$(SQL 'SELECT id, rcpt, sender, ts, size FROM mailbox' | tr '\n' ' ')"
	sleep 0.2
done

# The gestor's storage (as inspected before each of bob's visits, and
# now) and its log hold no text and no id.
inspect
cat "$TMP"/sent.* >"$TMP/ids"
for f in "$TMP/g.inspect" "$TMP/g.log"; do
	! grep -qF "$TAG" "$f" || fail "message text in $(basename "$f"): $(grep -m 1 -F "$TAG" "$f" | cut -c 1-200)"
	! grep -qF -f "$TMP/ids" "$f" || fail "a message id in $(basename "$f"): $(grep -m 1 -oF -f "$TMP/ids" "$f")"
done
log "the gestor's storage, read before each visit ($INSPECTED deposits waiting" \
    "in all, $(wc -c <"$TMP/g.inspect") bytes of dumps and strings), and its log: no text, no id"
log "ok"
