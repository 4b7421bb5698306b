#!/usr/bin/env bash
# send-lines.sh: send each line of a file as a message, exactly once.
#
#   send-lines.sh USER FILE
#
# Every line gets the message id sha256("FILE:LINE_NUMBER"), cut to 32 hex
# digits, with FILE's absolute path, and is sent with `send --id`. Running
# the script again on the same file sends nothing twice: a line already
# sent is reported with its state, not sent again, so after a crash, a
# timeout or lines appended to the file, just run it again. A line that
# was changed after it was sent is refused (id_conflict) and the others are
# still sent; the exit status is then 1. Empty lines are skipped. Prints
# "ID<TAB>STATE" for every line sent.
#
# The core of it fits on one line:
#
#   n=0; while IFS= read -r l; do n=$((n+1)); p2pchatctl send bob "$l" --id \
#     $(printf %s "$PWD/notes.txt:$n" | sha256sum | cut -c1-32); done <notes.txt
#
# The daemon is the one p2pchatctl finds by itself: set P2PCHAT_CONFIG to
# choose another. P2PCHATCTL names the p2pchatctl program to run.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: send-lines.sh USER FILE" >&2
	exit 2
fi
ctl=${P2PCHATCTL:-p2pchatctl}
user=$1
file=$(realpath -- "$2")
n=0

rc=0
while IFS= read -r line || [ -n "$line" ]; do
	n=$((n + 1))
	[ -n "$line" ] || continue
	id=$(printf '%s:%d' "$file" "$n" | sha256sum | cut -c1-32)
	# p2pchatctl says why on stderr: a line changed since it was sent is
	# id_conflict; go on with the others, but stop if the daemon is gone.
	json=$("$ctl" --json send "$user" "$line" --id "$id" </dev/null) || {
		rc=$?
		[ "$rc" != 4 ] || exit 4
		continue
	}
	state=$(printf '%s\n' "$json" | sed -n 's/.*"state": *"\([a-z]*\)".*/\1/p')
	printf '%s\t%s\n' "$id" "${state:--}"
done <"$file"
exit "$rc"
