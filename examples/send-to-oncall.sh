#!/usr/bin/env bash
# send-to-oncall.sh: send a file to whoever is on call, and wait until it
# is delivered.
#
#   send-to-oncall.sh FILE USER...
#
# USER... is the rota in order: the file goes to the first of them the
# gestor says is online now, or, if none is, to the first (it is stored
# and goes when they are back). Prints "ID<TAB>USER" as soon as the file
# is stored, then waits until it is delivered, checked and shown at the
# recipient: exit 0; 1 if it failed or was rejected (files are taken only
# from contacts: the on-call people must have written to you once, or
# you to them); 3 if ONCALL_TIMEOUT seconds (default 600) passed first;
# the file stays queued and is delivered later. For example, from cron:
#
#   send-to-oncall.sh /var/log/backup.log alice bob carol
#
# The daemon is the one p2pchatctl finds by itself: set P2PCHAT_CONFIG to
# choose another. P2PCHATCTL names the p2pchatctl program to run.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: send-to-oncall.sh FILE USER..." >&2
	exit 2
fi
ctl=${P2PCHATCTL:-p2pchatctl}
file=$1
shift
to=$1
for user in "$@"; do
	if "$ctl" lookup "$user" 2>/dev/null | grep -q "^online	online$"; then
		to=$user
		break
	fi
done
# send-file prints the id once the file is stored, then --wait follows it.
"$ctl" send-file --wait="${ONCALL_TIMEOUT:-600}" "$to" "$file" |
    while IFS= read -r id; do printf '%s\t%s\n' "$id" "$to"; done
exit "${PIPESTATUS[0]}"
