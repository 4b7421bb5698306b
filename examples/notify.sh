#!/usr/bin/env bash
# notify.sh: run a command for every incoming message.
#
#   notify.sh COMMAND [ARG...]
#
# For each message that arrives, runs COMMAND ARG... SENDER TEXT, with the
# text as it was sent (tabs, newlines and backslashes restored). COMMAND's
# standard input is /dev/null; its failure is reported and the next message
# is handled. For example:
#
#   notify.sh notify-send --app-name=p2pchat       # desktop notifications
#   notify.sh sh -c 'printf "\a%s: %s\n" "$1" "$2"' notify   # bell + line
#
# The daemon is the one p2pchatctl finds by itself: set P2PCHAT_CONFIG to
# choose another. P2PCHATCTL names the p2pchatctl program to run. When the
# daemon goes away the script exits 1, for Restart=on-failure.
set -eu

if [ $# -eq 0 ]; then
	echo "usage: notify.sh COMMAND [ARG...]" >&2
	exit 2
fi
ctl=${P2PCHATCTL:-p2pchatctl}

exec 3< <(exec "$ctl" watch)
watch_pid=$!
trap 'kill "$watch_pid" 2>/dev/null || true' EXIT
trap 'exit 0' INT TERM HUP

# A group message's line ends with the group's id and title: _group.
while IFS=$'\t' read -r _seq event _ts from id text _group <&3; do
	[ "$event" = message ] || continue
	printf -v text '%b' "$text"
	"$@" "$from" "$text" </dev/null ||
		echo "notify.sh: '$1' failed for message $id from $from" >&2
done
# watch ended by itself: the daemon went away. Fail, to be restarted.
rc=0
wait "$watch_pid" || rc=$?
echo "notify.sh: watch ended (status $rc)" >&2
exit $((rc == 0 ? 1 : rc))
