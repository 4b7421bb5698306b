# The message-accounting checker the network-namespace tests share.
# Sourced by tests/netns/lib.sh (needs ctl and fail from tests/lib.sh).
#
# check_messages FROM TO [IDS]
#   IDS (default $TMP/sent.FROM.TO) lists, one a line and in the order
#   they were sent, the ids that `p2pchatctl send` acknowledged (printed)
#   on FROM's daemon for messages to TO. The check proves that:
#   - every one is in TO's history exactly once, as an incoming message;
#   - they appear there in the order they were sent;
#   - no message at all is shown twice in TO's history of FROM (a send
#     interrupted by a crash may be there once without having been
#     acknowledged: at least once for what was committed, never twice);
#   - FROM's own record of each of them is in state `delivered`.
# It prints one summary line and fails the test on the first violation.

check_messages() {
	local from=$1 to=$2 ids=${3:-$TMP/sent.$1.$2}
	local dir="$TMP/check.$1.$2" n bad
	mkdir -p "$dir"
	[ -f "$ids" ] || : >"$ids"
	sort "$ids" | uniq -d >"$dir/dup-sent"
	[ ! -s "$dir/dup-sent" ] ||
		fail "check $from->$to: send acknowledged an id twice: $(head -3 "$dir/dup-sent")"

	ctl "$to" history "$from" --limit 1000000 >"$dir/recv-history" ||
		fail "check $from->$to: cannot read $to's history"
	awk -F'\t' '$2 == "in" { print $4 }' "$dir/recv-history" >"$dir/recv"
	sort "$dir/recv" | uniq -d >"$dir/dup-recv"
	[ ! -s "$dir/dup-recv" ] ||
		fail "check $from->$to: shown twice at $to: $(head -3 "$dir/dup-recv" | tr '\n' ' ')"

	# The acknowledged ids, in the order the receiver shows them.
	awk 'NR == FNR { want[$1] = 1; next } ($1 in want)' "$ids" "$dir/recv" \
	    >"$dir/recv-acked"
	if ! cmp -s "$ids" "$dir/recv-acked"; then
		awk 'NR == FNR { got[$1] = 1; next } !($1 in got)' "$dir/recv-acked" \
		    "$ids" >"$dir/missing"
		if [ -s "$dir/missing" ]; then
			fail "check $from->$to: $(wc -l <"$dir/missing") acknowledged" \
			    "messages never arrived, first: $(head -3 "$dir/missing" | tr '\n' ' ')"
		fi
		diff "$ids" "$dir/recv-acked" | head -6 >"$dir/order"
		fail "check $from->$to: out of order at $to: $(tr '\n' ' ' <"$dir/order")"
	fi

	ctl "$from" history "$to" --limit 1000000 >"$dir/sent-history" ||
		fail "check $from->$to: cannot read $from's history"
	awk -F'\t' 'NR == FNR { if ($2 == "out") state[$4] = $3; next }
	    state[$1] != "delivered" { print $1, (state[$1] == "" ? "missing" : state[$1]) }' \
	    "$dir/sent-history" "$ids" >"$dir/undelivered"
	if [ -s "$dir/undelivered" ]; then
		bad=$(wc -l <"$dir/undelivered")
		fail "check $from->$to: $bad acknowledged messages not 'delivered' at" \
		    "$from: $(head -3 "$dir/undelivered" | tr '\n' ' ')"
	fi
	n=$(wc -l <"$ids")
	log "check $from->$to: $n acknowledged, all delivered, once each, in order" \
	    "($(wc -l <"$dir/recv") shown at $to)"
}

