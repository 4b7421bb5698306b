#!/usr/bin/env bash
# Control characters from a peer cannot drive the reader's terminal or log
# viewer: piped (tab-separated) output shows every C0 control and DEL as
# \xHH besides \t \n \\; on a terminal (a pty here) the bidirectional
# overrides U+202A-U+202E and U+2066-U+2069 are shown as \uHHHH too;
# --json gives the body exactly as sent.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"
need_tools python3

start_gestor g
start_peer alice g
start_peer bob g
register alice >/dev/null
register bob >/dev/null
# ESC [31m, BEL, SOH, DEL, a tab, RLO (U+202E), LRI (U+2066), a C1 (U+009B).
BODY=$(printf 'red \033[31mALERT\007 \001x\177y\tz \342\200\256evil \342\201\246iso \302\233C1')
printf '%s' "$BODY" | ctl alice send --wait=10 bob - >/dev/null || fail "send"

# Piped: no raw C0 control or DEL, each shown as \xHH.
ctl bob history alice >"$TMP/piped"
if LC_ALL=C grep -q $'[\001-\010\013-\037\177]' "$TMP/piped"; then
	fail "raw control characters in piped output: $(od -c "$TMP/piped" | head)"
fi
for want in 'red \x1b[31mALERT\x07 \x01x\x7fy\tz' ; do
	grep -qF -- "$want" "$TMP/piped" || fail "piped output lacks '$want': $(cat -v "$TMP/piped")"
done
# --json: exactly the bytes sent.
ctl bob --json history alice | BODY="$BODY" python3 -c '
import json, os, sys
items = json.load(sys.stdin)["items"]
sys.exit(0 if any(i.get("text") == os.environ["BODY"] for i in items) else 1)' ||
	fail "--json does not give the body exactly"

# On a terminal: also the bidi overrides and the C1 control.
python3 -c 'import pty, sys; pty.spawn(sys.argv[1:])' \
    "$P2PCHATCTL" -c "$TMP/bob.conf" history alice >"$TMP/tty" </dev/null
grep -qF 'ALERT\x07' "$TMP/tty" || fail "terminal output: $(cat -v "$TMP/tty")"
grep -qF '\u202eevil \u2066iso \x9bC1' "$TMP/tty" || fail "bidi/C1 not neutralised on a terminal: $(cat -v "$TMP/tty")"
if LC_ALL=C grep -q $'\033\\|\342\200\256\\|\342\201\246' "$TMP/tty"; then
	fail "raw escape or bidi override on the terminal: $(cat -v "$TMP/tty")"
fi
stop_clean alice
stop_clean bob
stop_clean g
log "ok"
