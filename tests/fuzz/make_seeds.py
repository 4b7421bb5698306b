#!/usr/bin/env python3
"""Write the seed corpora in tests/fuzz/corpus/NAME: one small, valid (or
deliberately almost valid) input per protocol element, so that each fuzz
target starts from inputs that reach deep into the code. Re-run after a
protocol change; the files are committed."""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MSGID = "0123456789abcdef0123456789abcdef"
FP = "sha256:" + "0123456789abcdef" * 4


def put(name, fname, data):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def frame(obj):
    b = obj if isinstance(obj, bytes) else json.dumps(
        obj, separators=(",", ":"), ensure_ascii=False).encode()
    return struct.pack(">I", len(b)) + b


def frames():
    # First byte: limits (bits 0-1 frame, 2-3 body: 64, 1024, 64K, 1M).
    lim = bytes([0x0f])
    items = {
        "ok": {"t": "ok", "n": 1},
        "error": {"t": "error", "code": "bad_frame", "message": "x", "n": 2},
        "register": {"t": "register", "user": "alice", "password": "secret-pw"},
        "login": {"t": "login", "user": "bob.b_1-x", "password": "p" * 8, "n": 3},
        "auth": {"t": "auth", "user": "alice"},
        "hb": {"t": "hb", "port": 7001},
        "hb_addr": {"t": "hb", "port": 65535, "addr": "[::1]:7001"},
        "lookup": {"t": "lookup", "user": "bob"},
        "watch": {"t": "watch", "users": ["alice", "bob", "carol"]},
        "presence": {"t": "presence", "user": "bob", "online": True,
                     "addr": "127.0.0.1", "port": 7001, "key": FP,
                     "last_seen": 1700000000},
        "presence_off": {"t": "presence", "user": "bob", "online": False,
                         "addr": "", "port": 0, "key": ""},
        "hello": {"t": "hello", "v": 1, "user": "alice"},
        "msg": {"t": "msg", "id": MSGID, "from": "alice", "to": "bob",
                "ts": 1700000000000, "body": "hi bob \u00e9\u20ac\U0001f600"},
        "ack": {"t": "ack", "id": MSGID},
        "gmsg": {"t": "gmsg", "id": MSGID, "group": MSGID, "from": "alice",
                 "ts": 1700000000000, "body": "hi team"},
        "gmembers": {"t": "gmembers", "id": MSGID, "list": '{"group":"' +
                     MSGID + '","title":"team","admin":"alice","key":"ab",'
                     '"version":1,"members":["alice","bob"]}', "sig": "00ff"},
        "gleave": {"t": "gleave", "id": MSGID, "group": MSGID},
        "unknown": {"t": "nope"},
        "no_t": {"x": 1},
    }
    for k, v in items.items():
        put("frame", k, lim + frame(v))
    put("frame", "pipeline", lim + b"".join(frame(v) for v in items.values()))
    put("frame", "bad_json", lim + frame(b'{"t":"msg",'))
    put("frame", "nul_escape", lim + frame(b'{"t":"hello","v":1,"user":"a\\u0000b"}'))
    put("frame", "dup_key", lim + frame(b'{"t":"ok","t":"ok"}'))
    put("frame", "empty", lim + struct.pack(">I", 0))
    put("frame", "too_big_small_limit", bytes([0x00]) + frame(items["msg"]))
    put("frame", "truncated", lim + frame(items["msg"])[:20])
    # Files: the JSON frames, and binary chunks (wire.h, "Binary frames").
    files = {
        "file": {"t": "file", "id": MSGID, "from": "alice", "to": "bob",
                 "name": "report.pdf", "size": 10, "sha256": "ab" * 32,
                 "ts": 1700000000000},
        "chunk": {"t": "chunk", "id": MSGID, "off": 0, "data": "ZXZpbA=="},
        "file_pos": {"t": "file-pos", "id": MSGID, "state": "receiving",
                     "off": 4},
        "file_cancel": {"t": "file-cancel", "id": MSGID},
    }
    for k, v in files.items():
        put("frame", k, lim + frame(v))

    def bchunk(off, data, typ=1, reserved=0, length=None):
        n = len(data) if length is None else length
        return (bytes([0, typ]) + struct.pack(">H", reserved) +
                bytes.fromhex(MSGID) + struct.pack(">QI", off, n) + data)
    put("frame", "bin_chunk", lim + frame(bchunk(4, b"evil")))
    put("frame", "bin_chunk_big", lim + frame(bchunk(1 << 40, bytes(range(256)) * 64)))
    put("frame", "bin_chunk_between", lim + frame(items["ack"]) +
        frame(bchunk(0, b"x")) + frame(files["file_pos"]))
    put("frame", "bin_bad_len", lim + frame(bchunk(0, b"abc", length=4)))
    put("frame", "bin_bad_type", lim + frame(bchunk(0, b"abc", typ=9)))
    put("frame", "bin_reserved", lim + frame(bchunk(0, b"abc", reserved=1)))
    put("frame", "bin_short", lim + frame(bytes([0, 1, 0])))


def ctl():
    lines = {
        "status": {"id": 1, "cmd": "status"},
        "send": {"id": 2, "cmd": "send", "args": {"user": "bob", "text": "hi",
                                                   "wait": 1.5, "id": MSGID}},
        "login": {"id": "x", "cmd": "login", "args": {"user": "bob",
                                                      "password": "secret-pw"}},
        "register": {"cmd": "register", "args": {"user": "bob",
                                                 "password": "secret-pw"}},
        "history": {"id": 3, "cmd": "history", "args": {"user": "bob", "limit": 50}},
        "wait": {"id": 4, "cmd": "wait", "args": {"ids": [MSGID, MSGID],
                                                  "timeout": 0}},
        "trust": {"id": 5, "cmd": "trust", "args": {"user": "bob", "fingerprint": FP}},
        "search": {"id": 6, "cmd": "search", "args": {"text": "hello", "user": "bob",
                                                      "limit": 1}},
        "import": {"id": 7, "cmd": "import", "args": {"data": "{}\n"}},
        "watch": {"id": 8, "cmd": "watch", "args": {"since": 0}},
        "users": {"id": 9, "cmd": "users"},
        "chat_local": {"id": 10, "cmd": "chat", "args": {"user": "bob"}},
        "bad_type": {"id": 11, "cmd": "history", "args": {"user": "bob",
                                                          "limit": "x"}},
        "unknown": {"id": 12, "cmd": "frobnicate"},
    }
    for k, v in lines.items():
        put("ctl", k, json.dumps(v) + "\n")
    put("ctl", "pipeline", "".join(json.dumps(v) + "\n" for v in lines.values()))
    put("ctl", "not_json", "hello\n")
    put("ctl", "array", "[1,2,3]\n")
    put("ctl", "bad_id", '{"id":[1],"cmd":"status"}\n')


def config():
    peer = """mode = "peer";
data_dir = "/tmp/p2pchat-fuzz/alice";
control_socket = "/tmp/p2pchat-fuzz/alice.ctl/ctl.sock";
listen = "127.0.0.1:0";
advertise = "[::1]:7001";
log_level = "debug";
gestor = {
  addresses = [ "127.0.0.1:7000", "gestor.example", "[::1]:7000" ];
  fingerprint = "%s";
};
heartbeat = { interval = 0.2; timeout = 1.5; };
retry = { initial = 0.1; max = 1.0; };
limits = { max_message_bytes = 65536; max_frame_bytes = 1048576;
           max_connections = 16; login_attempts_per_minute = 5;
           handshake_timeout = 5.0; };
storage = { synchronous = "normal"; };
""" % FP
    gestor = """mode = "gestor";
data_dir = "/tmp/p2pchat-fuzz/g";
listen = "0.0.0.0:7000";
log_level = "info";
heartbeat = { interval = 10; timeout = 30L; };
"""
    put("config", "peer", peer)
    put("config", "gestor", gestor)
    put("config", "empty", "")
    put("config", "unknown_key", 'nope = 1;\n')
    put("config", "bad_range", 'limits = { max_frame_bytes = 10; };\n')
    put("config", "hostport", "[fe80::1]:65535")


def valid():
    for k, v in {
        "user": b"alice", "user32": b"a" * 32, "user_bad": b"-alice",
        "msgid": MSGID.encode(), "fp": FP.encode(),
        "utf8": "h\u00e9\u20ac\U0001f600".encode(),
        "surrogate": b"\xed\xa0\x80", "overlong": b"\xc0\xaf\xe0\x80\xaf",
        "max": b"\xf4\x8f\xbf\xbf", "over_max": b"\xf4\x90\x80\x80",
        "nul": b"abc\x00def", "password": b"correct horse",
    }.items():
        put("valid", k, v)


if __name__ == "__main__":
    frames()
    ctl()
    config()
    valid()
    sys.exit(0)
