#!/usr/bin/env bash
# echo-bot.sh: answer every incoming message with "echo: TEXT".
#
#   echo-bot.sh [STATE_FILE]
#
# Reads `p2pchatctl watch`, one event per line with tab-separated fields
#   SEQ  message  TS  FROM  ID  TEXT
# and replies to FROM. With STATE_FILE it records the seq of the last
# message it answered and, when started again, first answers what arrived
# while it was down (`watch --since`); with a new or empty STATE_FILE it
# starts from the present (the `last_seq` of `status`), so a new bot does
# not answer the whole history. Each reply's id is derived from the
# incoming message's id (`send --id`), so a message is never answered twice,
# even when the bot is killed between sending a reply and saving its seq.
#
# The daemon is the one p2pchatctl finds by itself: set P2PCHAT_CONFIG to
# choose another. P2PCHATCTL names the p2pchatctl program to run.
#
# When the daemon goes away, watch ends with status 1 and so does the bot,
# so that a supervisor (systemd's Restart=on-failure) starts it again.
# When a reply cannot be sent (the daemon died between the message and the
# reply, or refused it), the bot stops with status 1 without saving that
# message's seq, so that it is answered after the restart.
set -eu

ctl=${P2PCHATCTL:-p2pchatctl}
state=${1:-}
since=

if [ -n "$state" ] && [ -s "$state" ]; then
	since=$(cat "$state")
elif [ -n "$state" ]; then
	# A new bot starts from the present: the last stored event's seq,
	# saved at once, so that what comes after is answered even if the bot
	# is restarted before the first message.
	since=$("$ctl" status | awk -F'\t' '$1 == "last_seq" { print $2 }')
	echo "${since:?no last_seq in p2pchatctl status}" >"$state"
fi

# watch runs beside the loop, so that the bot can stop it when it exits.
if [ -n "$since" ]; then
	exec 3< <(exec "$ctl" watch --since "$since")
else
	exec 3< <(exec "$ctl" watch)
fi
watch_pid=$!
trap 'kill "$watch_pid" 2>/dev/null || true' EXIT
trap 'exit 0' INT TERM HUP

# A group message's line ends with the group's id and title: _group.
while IFS=$'\t' read -r seq event _ts from id text _group <&3; do
	if [ "$event" = message ]; then
		# Fields escape tab, newline and backslash as \t \n \\; %b undoes it.
		printf -v reply 'echo: %b' "$text"
		reply_id=$(printf 'echo-bot:%s' "$id" | sha256sum | cut -c1-32)
		# A reply that cannot be sent stops the bot before its seq is
		# saved: restarted, it answers this message again (--id keeps
		# that from answering twice).
		rc=0
		"$ctl" send "$from" "$reply" --id "$reply_id" >/dev/null </dev/null ||
			rc=$?
		if [ "$rc" != 0 ]; then
			echo "echo-bot: could not answer message $id from $from" \
			    "(p2pchatctl send: status $rc); stopping at seq $seq" >&2
			exit 1
		fi
	fi
	# Only stored events have a seq (presence has "-").
	if [ -n "$state" ] && [ "$seq" != - ]; then
		echo "$seq" >"$state.tmp" && mv "$state.tmp" "$state"
	fi
done
# watch ended by itself: the daemon went away. Fail, to be restarted.
rc=0
wait "$watch_pid" || rc=$?
echo "echo-bot: watch ended (status $rc)" >&2
exit $((rc == 0 ? 1 : rc))
