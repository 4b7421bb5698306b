#!/usr/bin/env bash
# send-file stores a file in the sender's daemon (issue 29, step 1):
# p2pchatctl passes the open file over the control socket (SCM_RIGHTS),
# the daemon copies it into data_dir/files/<sha256> (once, however often
# it is sent) before it answers with the id; --id is idempotent; `files`
# lists it; standard input may be a pipe; files.max_size is enforced;
# names are never paths and are shown escaped; a descriptor passed with
# anything but the first request, or with another command, is closed.
set -eu
. "${TESTS_LIB:-$(dirname "$0")/../lib.sh}"

start_gestor g
start_peer alice g "files = { max_size = 3000000; };"
register alice >/dev/null
store=$TMP/alice/files

# stored: name SHA256 SIZE ID: the row `files` shows for ID.
row() { ctl alice files | awk -F'\t' -v id="$1" '$5 == id'; }

head -c 0 /dev/zero >"$TMP/empty"
printf 'x' >"$TMP/one"
head -c 1048576 /dev/urandom >"$TMP/mib.bin"
for f in empty one mib.bin; do
	id=$(ctl alice send-file bob "$TMP/$f") || fail "send-file $f"
	[[ $id =~ ^[0-9a-f]{32}$ ]] || fail "send-file $f printed: $id"
	sha=$(sha256sum <"$TMP/$f" | cut -d' ' -f1)
	cmp "$TMP/$f" "$store/$sha" || fail "$f not stored byte for byte"
	r=$(row "$id")
	[ "$(printf '%s' "$r" | cut -f2,3,4,6,8,9)" = "bob	out	pending	$(stat -c %s "$TMP/$f")	$sha	$f" ] ||
		fail "files row of $f: $r"
done

# Stored once however often sent; --id twice is one send.
n=$(ls "$store" | wc -l)
ctl alice send-file bob "$TMP/mib.bin" >/dev/null
fixed=0123456789abcdef0123456789abcdef
[ "$(ctl alice send-file --id $fixed bob "$TMP/one")" = $fixed ] || fail "--id"
[ "$(ctl alice send-file --id $fixed bob "$TMP/one")" = $fixed ] || fail "--id again"
[ "$(ls "$store" | wc -l)" = "$n" ] || fail "stored twice: $(ls "$store")"
[ "$(ctl alice files | grep -c $fixed)" = 1 ] || fail "--id made two rows"
expect_exit 1 ctl alice send-file --id $fixed carol "$TMP/one"
grep -q invalid_argument "$TMP/err" || fail "--id of another's file: $(cat "$TMP/err")"

# Standard input, a pipe: read to its end; it needs --name.
id=$(head -c 300000 /dev/urandom | tee "$TMP/piped" |
	ctl alice send-file bob - --name piped.dat) || fail "send-file -"
cmp "$TMP/piped" "$store/$(sha256sum <"$TMP/piped" | cut -d' ' -f1)" ||
	fail "stdin not stored"
expect_exit 2 ctl alice send-file bob - </dev/null

# files.max_size: a regular file at once, a pipe when it passes it.
head -c 3000001 /dev/zero >"$TMP/big"
expect_exit 1 ctl alice send-file bob "$TMP/big"
grep -q 'files.max_size' "$TMP/err" || fail "max_size file: $(cat "$TMP/err")"
expect_exit 1 sh -c "head -c 3000001 /dev/zero | \"$P2PCHATCTL\" -c \"$TMP/alice.conf\" send-file bob - --name z"
grep -q 'files.max_size' "$TMP/err" || fail "max_size pipe: $(cat "$TMP/err")"
[ -z "$(ls -A "$store" | grep '^\.part')" ] || fail "partial copy left: $(ls -A "$store")"

# Errors: no such file, a directory, yourself.
expect_exit 1 ctl alice send-file bob "$TMP/nonexistent"
grep -q io_error "$TMP/err" || fail "missing file: $(cat "$TMP/err")"
expect_exit 1 ctl alice send-file bob "$TMP"
expect_exit 1 ctl alice send-file alice "$TMP/one"

# A name is a name: a path or control characters are stored as given,
# shown escaped, and nothing is written anywhere but the store.
id=$(ctl alice send-file bob "$TMP/one" --name '../../etc/passwd')
[ "$(row "$id" | cut -f9)" = "../../etc/passwd" ] || fail "path name: $(row "$id")"
id=$(ctl alice send-file bob "$TMP/one" --name $'evil\e[2J\tname')
row "$id" | cut -f9 | grep -qF 'evil\x1b[2J\tname' || fail "control name: $(row "$id" | od -c)"
ctl alice --json files bob | grep -qiF '"name":"evil\u001b[2J\tname"' ||
	fail "json name: $(ctl alice --json files bob)"
[ "$(find "$TMP/alice" -newer "$TMP/one" -name passwd | wc -l)" = 0 ] ||
	fail "a file named by the sender was written"

# Descriptors passed where none is taken are closed, not leaked, also
# while the client stays connected.
python3 - "$TMP/alice.ctl/ctl.sock" "$TMP/one" "${PIDS[alice]}" <<'PY' || fail "raw client"
import array, json, os, socket, sys, time
def nfds():
    return len(os.listdir("/proc/%s/fd" % sys.argv[3]))
def talk(first, fdpass):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    f = open(sys.argv[2], "rb")
    line = (json.dumps(first) + "\n").encode()
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
            array.array("i", [f.fileno()] * fdpass))] if fdpass else []
    s.sendmsg([line], anc)
    rd = s.makefile()
    r = json.loads(rd.readline())
    f.close()
    return s, rd, r
before = nfds()
# status with three descriptors, a bad first line with one, send-file
# with none: each answered, and no descriptor kept while they stay open.
s1, _, r = talk({"id": 1, "cmd": "status"}, 3)
assert r["ok"], r
s2, rd2, r = talk({"id": 3, "cmd": "nonsense"}, 1)
assert not r["ok"], r
s3, _, r = talk({"id": 2, "cmd": "send-file", "args": {"user": "bob", "name": "x"}}, 0)
assert not r["ok"] and r["error"]["code"] == "invalid_argument", r
# a second request on the connection that passed one takes nothing
s2.sendall(b'{"id":4,"cmd":"send-file","args":{"user":"bob","name":"x"}}\n')
r = json.loads(rd2.readline())
assert not r["ok"] and r["error"]["code"] == "invalid_argument", r
# the daemon holds the three connections, and nothing more
assert nfds() == before + 3, (before, nfds())
PY

stop_clean alice
log "PASS"
