#!/usr/bin/env python3
"""Hostile clients and a recording proxy for the integration tests.

Standard library only; everything talks to 127.0.0.1. Written against
DESIGN.md's wire protocol (TLS 1.3, ALPN p2pchat/1, client certificate,
frames of a 4-byte big-endian length and one JSON object), not against
p2pchatd's code.

  p2ptool.py proxy PORTFILE DUMP TARGET_PORT
      Listen on 127.0.0.1 (port chosen by the kernel, written to PORTFILE),
      relay every connection to 127.0.0.1:TARGET_PORT and append every
      byte seen, both ways, to DUMP. Runs until killed.
  p2ptool.py tls-probe PORT CERT KEY [--tls12] [--alpn PROTO|--no-alpn]
                 [--no-cert]
      Try a handshake; print "accepted" or "refused: why". Accepted means
      the daemon answered a frame, not just finished the handshake.
  p2ptool.py plain PORT
      Send a frame in clear, without TLS; print what came back.
  p2ptool.py register GESTOR_PORT CERT KEY USER PASSWORD
      Register USER at the gestor with this certificate's key; print the
      reply.
  p2ptool.py login GESTOR_PORT CERT KEY USER PASSWORD_FILE
      Log in as USER with the password in the file's first line; print
      the reply.

  p2ptool.py login-parallel GESTOR_PORT CERT KEY USER N
      Open N connections, send a login for USER with a wrong password on
      each before reading any reply, then print the reply codes counted:
      "bad_credentials=B rate_limited=R other=O".

  p2ptool.py gestor-session GESTOR_PORT CERT KEY USER PASSWORD STEP...
      One connection to the gestor, steps in order, one output line each:
        register, login, auth     authenticate as USER; prints the code
        lookups:N:NAME            N lookups of NAME pipelined; prints
                                  "answered=A rate_limited=R other=O"
        relays:N:NAME             the same with relay requests (which
                                  tell whether NAME exists and is online)
        watch:N:PREFIX            watch PREFIX0 .. PREFIX<N-1>; prints
                                  the reply's code ("ok" or the error)
        hb:PORT[:ADDR]            a heartbeat (with an advertised ADDR)
        go                        print "ready", then wait for a line
                                  on standard input (connected, so the
                                  next step's timing is the gestor's)
        mailkey:HEX               register/login/auth from now on say
                                  they take mail for key HEX ("" none)
        lookup:NAME               prints "lookup CODE mail=KEY"
        put:TO:BLOB               mbox-put; "put ok id=N" or
                                  "put CODE reason=R"
        putsize:TO:N              the same with a blob of N "A"s
        puts:TO:KEY=BLOB,...      one mbox-put with blobs (KEY: the dedup
                                  key); "puts ok R..." (R: an id, or
                                  CODE/REASON) or "puts CODE"
        mboxput                   "mbox_put N": the last register, login
                                  or auth answer's mbox_put (or None)
        get:AFTER[:LIMIT]         mbox-get; "get ok n=N more=M" then one
                                  "mail ID FROM SIZE BLOB" line each
        ack:ID[,ID...]            mbox-ack; "ack CODE"
        withdraw:ID               mbox-withdraw; "withdraw CODE"
        count                     mbox-count; "count ok n=N bytes=B" or
                                  "count CODE"
        pushes:SECONDS            wait up to SECONDS for a pushed mbox;
                                  "pushes N" (how many came so far)

  Before any command, --src ADDR makes the TCP connections come from
  ADDR (another 127.0.0.x), to act as several source addresses.
  p2ptool.py impersonate PORT CERT KEY HELLO_USER FROM TO BODY [TS]
      At a peer: say hello as HELLO_USER and, without waiting, send a msg
      from FROM to TO (dated TS, ms; default now); print every frame the
      peer sends back, then "closed" or "open".
  p2ptool.py peer-frames PORT CERT KEY USER FILE [CAPS]
      At a peer: say hello as USER, then send each line of FILE (a JSON
      object) as a frame; print every frame the peer sends back until it
      is quiet for 2 s ($P2PTOOL_QUIET s if set), then "closed" or
      "open". With CAPS (names
      separated by commas), the hello offers them as caps; without, it
      has no caps member (an older daemon's hello). A line with "bin" is
      sent as a binary chunk instead: {"bin":1,"id":ID,"off":N,"data":TEXT}
      (its bytes; optional "type", "reserved", "len" to break it).
  p2ptool.py mute-peer CERT KEY USER PORTFILE SECONDS [CAPS]
      Listen as USER's daemon (port written to PORTFILE) for one
      connection: answer its hello, ack every gmembers and msg frame but
      never a gmsg (a group message stays in flight), and say hello again
      every second so that the sender never finds the link silent; print
      every frame received (one JSON line each) for SECONDS. With CAPS
      (comma-separated), its hello offers them, and with "file" it takes
      files: a file frame is answered receiving from 0, chunks (a JSON
      chunk's data printed as its length, a binary chunk as {"bin":TYPE,
      "id","off","len"}) count until the size offered, then received.
  p2ptool.py fake-peer CERT KEY USER PORTFILE SECONDS [REFUSAL]
      Listen on 127.0.0.1 (port written to PORTFILE) as USER's daemon:
      answer the first connection's hello, then send a msg back on that
      connection (which the other side opened) and print every frame
      received for SECONDS, one JSON line each. With REFUSAL: answer the
      hello with an error frame (code "refused", message REFUSAL) and
      close instead.
  p2ptool.py frames PORT CERT KEY SCENARIO...
      Run hostile scenarios on TLS connections; each prints one line
      "SCENARIO: result". Exit status 1 if a scenario saw the daemon
      misbehave (wrong reply, no close where one is due).
  p2ptool.py silent-tcp PORT SECONDS
      Connect, send nothing; print how long until the daemon closed the
      connection, or "open" if it still was after SECONDS.
  p2ptool.py silent-tls PORT CERT KEY SECONDS
      The same after a completed TLS handshake.
  p2ptool.py ctl-lines SOCKET
      Send the lines of stdin, as they are, on one control connection;
      print each reply line, then "eof" or "open" (what the connection
      was after the last reply).
  p2ptool.py ctl-huge SOCKET BYTES
      Send BYTES bytes without a newline; print the reply and whether the
      daemon closed the connection.
  p2ptool.py memscan PID STRING
      Count the copies of STRING in the process's writable memory (heap,
      stacks, anonymous maps); needs root or ptrace rights. Prints
      "copies=N tls_records=M" or "unreadable: why": M copies sit in a
      decrypted TLS 1.3 record (a frame followed by the inner content type
      byte 0x17), i.e. in GnuTLS's own buffers; N are all the others.
  p2ptool.py relay-request GESTOR_PORT CERT KEY USER PASSWORD TARGET N
      Register USER, then ask the gestor N times (pipelined) for a relay
      session with TARGET; print "ok=A refused=B", then "key=K" for each
      session granted.
  p2ptool.py relay-hellos GESTOR_PORT CERT KEY USER PASSWORD TARGET NAME...
      Register USER; then for each NAME, one after the other: ask for a
      relay session with TARGET, connect to the relay with the key, run
      TLS through it as USER's certificate and say hello as NAME; print
      "NAME: CODE" (the error code TARGET answered, or "hello").
  p2ptool.py relay-strangers GESTOR_PORT DIR PREFIX N TARGET PER
      Register PREFIX1 .. PREFIX<N> (certificates DIR/PREFIXi.crt and
      .key), each asking PER times for a relay session with TARGET and
      never connecting; print "ok=A refused=B".
  p2ptool.py relay-key PORT KEY [SECONDS]
      At a relay: present KEY in the preamble and print how many bytes
      came back before the relay closed ("got=N closed") or SECONDS
      passed ("got=N open").
  p2ptool.py flood PORT N SECONDS
      Open N TCP connections at once and hold them SECONDS; print how many
      the daemon closed at once ("closed=K of N").
  p2ptool.py fake-gestor CERT KEY PORT SCRIPT SECONDS
      A gestor on 127.0.0.1:PORT for SECONDS that answers every auth with
      the next line of the file SCRIPT (read again at each auth; the list
      starts over when the file changes; its last line repeats): an error
      code, "ok", "ok+replace" (ok, then a pushed session_replaced error)
      "ok+unauth" (ok, then the next heartbeat answered not_authenticated)
      or "ok+silent" (ok, then nothing more on that connection, as a
      stopped gestor). A lookup gets the JSON object in the file
      SCRIPT.lookup if there is one ("lookup USER" printed). Other requests
      get "ok". Prints "auth USER CODE" for each auth, "connect" for each
      connection, flushed at once.
  p2ptool.py login-storm GESTOR_PORT CERT KEY NADDR PER FIRST
      From NADDR source addresses 127.0.0.FIRST, FIRST+1, ..., open PER
      connections each (all TCP connections first, then their TLS
      handshakes) and send a login for a made-up user with a wrong
      password on every one; print "sent=N" once all are sent, then read
      every reply and print the codes counted ("bad_credentials=B busy=U
      other=O").
  p2ptool.py bad-frames PORT CERT KEY N
      Send N frames of an unknown type on one connection, 100 at a time,
      reading the replies of each hundred before the next; print
      "errors=E other=O" (E replies with code unknown_type).
  p2ptool.py pipeline TARGET CERT KEY SETUP FRAME SECONDS
      A client that pipelines requests and never reads a reply. TARGET is
      a TCP port (TLS) or a control socket path (then CERT, KEY and SETUP
      are ignored and FRAME is sent as a line, "N" replaced by a counter).
      SETUP: "none", "register:USER:PASSWORD" or "hello:USER" (sent first;
      its reply is read). Then FRAME (JSON) is sent again and again for up
      to SECONDS; prints "sent=BYTES closed after T s" when the daemon
      closed the connection, else "sent=BYTES open"; with "stuck=S" the
      seconds from the first send that could not go on (the daemon had
      stopped reading) to the end.
"""
import base64
import json
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time

HOST = "127.0.0.1"
ALPN = "p2pchat/1"
SRC = None          # --src: the local address to connect from


def frame(obj):
    b = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return struct.pack(">I", len(b)) + b


def tls_connect(port, cert, key, tls12=False, alpn=ALPN, timeout=10.0):
    raw = socket.create_connection((HOST, port), timeout=timeout,
                                   source_address=(SRC, 0) if SRC else None)
    return tls_wrap(raw, cert, key, tls12, alpn, timeout)


def tls_wrap(raw, cert, key, tls12=False, alpn=ALPN, timeout=10.0):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    if tls12:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if alpn:
        ctx.set_alpn_protocols([alpn])
    s = ctx.wrap_socket(raw, server_hostname="p2pchat")
    s.settimeout(timeout)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_frame(s):
    """The next frame as a dict, None at EOF, "timeout" if none came."""
    try:
        hdr = recv_exact(s, 4)
        if hdr is None:
            return None
        body = recv_exact(s, struct.unpack(">I", hdr)[0])
        if body is None:
            return None
        if body[:1] == b"\0" and len(body) >= 32:
            # A binary chunk (daemon/net/wire.h, "Binary frames").
            off, n = struct.unpack(">QI", body[20:32])
            return {"bin": body[1], "id": body[4:20].hex(), "off": off,
                    "len": n, "bytes": len(body) - 32}
        return json.loads(body)
    except (socket.timeout, TimeoutError):
        return "timeout"
    except (ConnectionError, ssl.SSLError, OSError):
        return None


def closed_soon(s, seconds):
    """True if the daemon closes the connection within seconds."""
    s.settimeout(seconds)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        f = read_frame(s)
        if f is None:
            return True
        if f == "timeout":
            return False
    return False


# ------------------------------------------------------------------ proxy

def proxy(portfile, dump, target):
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((HOST, 0))
    lsock.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % lsock.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    lock = threading.Lock()
    out = open(dump, "ab", buffering=0)

    def relay(a):
        try:
            b = socket.create_connection((HOST, int(target)))
        except OSError:
            a.close()
            return
        socks = [a, b]
        while True:
            r, _, _ = select.select(socks, [], [])
            for s in r:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    a.close()
                    b.close()
                    return
                with lock:
                    out.write(data)
                (b if s is a else a).sendall(data)

    while True:
        a, _ = lsock.accept()
        threading.Thread(target=relay, args=(a,), daemon=True).start()


# -------------------------------------------------------------- tls-probe

def tls_probe(port, cert, key, args):
    tls12 = "--tls12" in args
    alpn = ALPN
    if "--no-alpn" in args:
        alpn = None
    if "--alpn" in args:
        alpn = args[args.index("--alpn") + 1]
    if "--no-cert" in args:
        cert = key = None
    try:
        s = tls_connect(port, cert, key, tls12=tls12, alpn=alpn, timeout=5)
    except (ssl.SSLError, OSError) as e:
        print("refused: handshake failed: %s" % e)
        return 0
    # TLS 1.3 servers may reject the client only after its Finished:
    # a frame must get an answer for the connection to count.
    try:
        s.sendall(frame({"t": "lookup", "user": "nobody"}))
    except (ssl.SSLError, OSError) as e:
        print("refused: %s" % e)
        return 0
    f = read_frame(s)
    if f is None or f == "timeout":
        print("refused: closed after the handshake (%s, alpn %s)"
              % (s.version(), s.selected_alpn_protocol()))
        return 0
    print("accepted: %s, alpn %s, reply %s" % (s.version(),
          s.selected_alpn_protocol(), json.dumps(f)))
    return 0


def plain(port):
    s = socket.create_connection((HOST, port), timeout=10)
    s.sendall(frame({"t": "login", "user": "alice", "password": "in-clear-1"}))
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, TimeoutError):
        print("open after 10 s; got %d bytes" % len(got))
        return 0
    except OSError:
        pass
    print("closed; got %d bytes%s" % (len(got),
          ", JSON in clear" if b'"t"' in got else ""))
    return 0


def register(port, cert, key, user, password):
    s = tls_connect(port, cert, key)
    s.sendall(frame({"t": "register", "user": user, "password": password,
                     "n": 1}))
    print(json.dumps(read_frame(s)))
    return 0


def login(port, cert, key, user, pwfile):
    with open(pwfile) as f:
        password = f.readline().rstrip("\n")
    s = tls_connect(port, cert, key)
    s.sendall(frame({"t": "login", "user": user, "password": password,
                     "n": 1}))
    print(json.dumps(read_frame(s)))
    return 0


class GestorSession:
    def __init__(self, s):
        self.s = s
        self.n = 0
        self.pushes = 0
        self.session = {}

    def send(self, obj):
        self.n += 1
        obj["n"] = self.n
        self.s.sendall(frame(obj))
        return self.n

    def reply(self):
        """The next reply, skipping pushed presence frames."""
        while True:
            f = read_frame(self.s)
            if not isinstance(f, dict):
                return {"t": "error", "code": str(f)}
            if f.get("t") == "mbox":
                self.pushes += 1
            elif f.get("t") != "presence":
                return f

    def wait_push(self, seconds):
        """Read pushed frames until an mbox comes or SECONDS pass,
        heartbeating (port 0: no address) every 0.2 s as a peer does:
        the session must outlive the gestor's heartbeat timeout (1.5 s
        in the tests) while the sender registers, slow under load."""
        end = time.time() + seconds
        before = self.pushes
        beat = 0.0
        while self.pushes == before and time.time() < end:
            if time.time() >= beat:
                self.send({"t": "hb", "port": 0})
                beat = time.time() + 0.2
            wait = max(0.0, min(beat, end) - time.time())
            if not self.s.pending() and \
                    not select.select([self.s], [], [], wait)[0]:
                continue
            f = read_frame(self.s)      # a whole frame: never cut short
            if f is None:
                break
            if isinstance(f, dict) and f.get("t") == "mbox":
                self.pushes += 1


def code_of(f):
    return f.get("code", f.get("t"))


def mail_step(gs, parts):
    """The mailbox steps of gestor-session; False if parts is not one."""
    if parts[0] == "lookup":
        gs.send({"t": "lookup", "user": parts[1]})
        r = gs.reply()
        print("lookup", code_of(r), "mail=" + str(r.get("mail")))
    elif parts[0] in ("put", "putsize"):
        blob = parts[2] if parts[0] == "put" else "A" * int(parts[2])
        gs.send({"t": "mbox-put", "to": parts[1], "blob": blob})
        r = gs.reply()
        if r.get("t") == "ok":
            print("put ok id=%d" % r["id"])
        else:
            print("put", code_of(r), "reason=%s" % r.get("reason"))
    elif parts[0] == "puts":
        blobs = [dict(zip(("key", "blob"), kb.split("=", 1)))
                 for kb in parts[2].split(",")]
        gs.send({"t": "mbox-put", "to": parts[1], "blobs": blobs})
        r = gs.reply()
        if r.get("t") != "ok":
            print("puts", code_of(r))
            return True
        print("puts ok " + " ".join(
            str(x["id"]) if "id" in x else
            "%s/%s" % (x.get("code"), x.get("reason")) for x in r["results"]))
    elif parts[0] == "mboxput":
        print("mbox_put", gs.session.get("mbox_put"))
    elif parts[0] == "get":
        f = {"t": "mbox-get", "after": int(parts[1])}
        if len(parts) > 2:
            f["limit"] = int(parts[2])
        gs.send(f)
        r = gs.reply()
        if r.get("t") != "ok":
            print("get", code_of(r))
            return True
        print("get ok n=%d more=%s" % (len(r["mail"]), r["more"]))
        for m in r["mail"]:
            print("mail %d %s %d %s" % (m["id"], m["from"], m["size"],
                                        m["blob"] if len(m["blob"]) < 64
                                        else "(%d chars)" % len(m["blob"])))
    elif parts[0] == "ack":
        gs.send({"t": "mbox-ack",
                 "ids": [int(x) for x in parts[1].split(",")]})
        print("ack", code_of(gs.reply()))
    elif parts[0] == "count":
        gs.send({"t": "mbox-count"})
        r = gs.reply()
        if r.get("t") == "ok":
            print("count ok n=%d bytes=%d" % (r["count"], r["bytes"]))
        else:
            print("count", code_of(r))
    elif parts[0] == "withdraw":
        gs.send({"t": "mbox-withdraw", "id": int(parts[1])})
        print("withdraw", code_of(gs.reply()))
    elif parts[0] == "pushes":
        gs.wait_push(float(parts[1]))
        print("pushes", gs.pushes)
    else:
        return False
    return True


def gestor_session(port, cert, key, user, password, steps):
    gs = GestorSession(tls_connect(port, cert, key, timeout=30))
    mail = None
    for step in steps:
        parts = step.split(":", 2)
        if parts[0] in ("register", "login"):
            f = {"t": parts[0], "user": user, "password": password}
            if mail is not None:
                f["mail"] = mail
            gs.send(f)
            gs.session = gs.reply()
            print(parts[0], code_of(gs.session))
        elif parts[0] == "auth":
            f = {"t": "auth", "user": user}
            if mail is not None:
                f["mail"] = mail
            gs.send(f)
            gs.session = gs.reply()
            print("auth", code_of(gs.session))
        elif parts[0] == "go":
            print("ready", flush=True)
            sys.stdin.readline()
        elif parts[0] == "mailkey":
            mail = parts[1]
        elif mail_step(gs, parts):
            pass
        elif parts[0] in ("lookups", "relays"):
            n, name = int(parts[1]), parts[2]
            for _ in range(n):
                gs.send({"t": parts[0][:-1], "user": name})
            counts = {"answered": 0, "rate_limited": 0, "other": 0}
            for _ in range(n):
                c = code_of(gs.reply())
                if c in ("ok", "no_such_user", "offline"):
                    counts["answered"] += 1
                elif c == "rate_limited":
                    counts["rate_limited"] += 1
                else:
                    counts["other"] += 1
            print(parts[0] + " answered=%(answered)d"
                  " rate_limited=%(rate_limited)d other=%(other)d" % counts)
        elif parts[0] == "watch":
            n, prefix = int(parts[1]), parts[2]
            gs.send({"t": "watch", "users": ["%s%d" % (prefix, i)
                                             for i in range(n)]})
            print("watch", code_of(gs.reply()))
        elif parts[0] == "hb":
            hb = {"t": "hb", "port": int(parts[1])}
            if len(parts) > 2:
                hb["addr"] = parts[2]
            gs.send(hb)
            print("hb", code_of(gs.reply()))
        else:
            raise SystemExit("unknown step " + step)
    gs.s.close()
    return 0


def relay_request(port, cert, key, user, password, target, n):
    s = tls_connect(port, cert, key)
    s.sendall(frame({"t": "register", "user": user, "password": password,
                     "n": 0}))
    r = read_frame(s)
    if not isinstance(r, dict) or r.get("t") != "ok":
        print("register failed: %s" % json.dumps(r))
        return 1
    s.sendall(b"".join(frame({"t": "relay", "user": target, "n": i + 1})
                       for i in range(n)))
    ok, refused, keys = 0, 0, []
    for _ in range(n):
        r = read_frame(s)
        if not isinstance(r, dict):
            print("no reply: %s" % r)
            return 1
        if r.get("t") == "ok":
            ok += 1
            keys.append(r.get("key"))
        else:
            refused += 1
    print("ok=%d refused=%d" % (ok, refused))
    for k in keys:
        print("key=%s" % k)
    return 0


def register_on(s, user, password):
    s.sendall(frame({"t": "register", "user": user, "password": password,
                     "n": 0}))
    r = read_frame(s)
    if not isinstance(r, dict) or r.get("t") != "ok":
        print("register %s failed: %s" % (user, json.dumps(r)))
        return False
    return True


def reply_to(s, n):
    """The reply numbered n, skipping what the gestor pushes meanwhile."""
    while True:
        r = read_frame(s)
        if not isinstance(r, dict) or r.get("n") == n:
            return r


def relay_hellos(port, cert, key, user, password, target, names):
    g = tls_connect(port, cert, key)
    if not register_on(g, user, password):
        return 1
    for i, name in enumerate(names):
        g.sendall(frame({"t": "relay", "user": target, "n": i + 1}))
        r = reply_to(g, i + 1)
        if not isinstance(r, dict) or r.get("t") != "ok":
            print("%s: relay %s" % (name, json.dumps(r)))
            continue
        raw = socket.create_connection((HOST, r["port"]), timeout=20)
        raw.sendall(("P2PCHAT-RELAY/1 %s\n" % r["key"]).encode())
        if recv_exact(raw, 19) != b"P2PCHAT-RELAY/1 OK\n":
            print("%s: not paired" % name)
            raw.close()
            continue
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(cert, key)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.set_alpn_protocols([ALPN])
        t = ctx.wrap_socket(raw, server_hostname="p2pchat")
        t.settimeout(20)
        t.sendall(frame({"t": "hello", "v": 1, "user": name}))
        f = read_frame(t)
        print("%s: %s" % (name, f.get("code", f.get("t"))
                          if isinstance(f, dict) else f), flush=True)
        t.close()
    g.close()
    return 0


def relay_strangers(port, d, prefix, n, target, per):
    ok, refused, conns = 0, 0, []
    for i in range(1, n + 1):
        u = "%s%d" % (prefix, i)
        g = tls_connect(port, "%s/%s.crt" % (d, u), "%s/%s.key" % (d, u))
        if not register_on(g, u, u + "-pw-1234"):
            return 1
        g.sendall(b"".join(frame({"t": "relay", "user": target, "n": j + 1})
                           for j in range(per)))
        for j in range(per):
            r = reply_to(g, j + 1)
            if isinstance(r, dict) and r.get("t") == "ok":
                ok += 1
            else:
                refused += 1
        conns.append(g)
    print("ok=%d refused=%d" % (ok, refused))
    for g in conns:
        g.close()
    return 0


def relay_key(port, key, seconds):
    s = socket.create_connection((HOST, port), timeout=seconds)
    s.sendall(("P2PCHAT-RELAY/1 %s\n" % key).encode())
    got, end = b"", time.monotonic() + seconds
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            b = s.recv(4096)
        except (socket.timeout, TimeoutError):
            break
        except ConnectionError:
            b = b""
        if not b:
            print("got=%d closed" % len(got))
            return 0
        got += b
    print("got=%d open" % len(got))
    return 0


def fake_refuser(ctx, ls, user, refusal, seconds):
    """Answer every connection for SECONDS with hello and an error frame."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        ls.settimeout(max(0.1, end - time.monotonic()))
        try:
            raw, _ = ls.accept()
            s = ctx.wrap_socket(raw, server_side=True)
            s.settimeout(5)
            read_frame(s)
            s.sendall(frame({"t": "hello", "v": 1, "user": user}))
            s.sendall(frame({"t": "error", "code": "refused",
                             "message": refusal}))
            s.close()
            n += 1
        except (socket.timeout, TimeoutError, ssl.SSLError, OSError):
            continue
    print("refused %d connections" % n)
    return 0


def fake_peer(cert, key, user, portfile, seconds, refusal=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols([ALPN])
    ls = socket.socket()
    ls.bind((HOST, 0))
    ls.listen(1)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    ls.settimeout(60)
    if refusal is not None:
        return fake_refuser(ctx, ls, user, refusal, seconds)
    raw, _ = ls.accept()
    s = ctx.wrap_socket(raw, server_side=True)
    s.settimeout(seconds)
    hello = read_frame(s)
    print(json.dumps(hello))
    s.sendall(frame({"t": "hello", "v": 1, "user": user}))
    peer = hello.get("user", "") if isinstance(hello, dict) else ""
    s.sendall(frame({"t": "msg", "id": os.urandom(16).hex(), "from": user,
                     "to": peer, "ts": int(time.time() * 1000),
                     "body": "sent back on your connection"}))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        f = read_frame(s)
        if f is None or f == "timeout":
            break
        print(json.dumps(f))
        sys.stdout.flush()
    return 0


def mute_peer_file(s, f, files):
    # The file frames of mute-peer CAPS with "file"; f printed after.
    if f.get("t") == "file":
        files[f["id"]] = [f["size"], 0]
        s.sendall(frame({"t": "file-pos", "id": f["id"], "state": "receiving",
                         "off": 0}))
        return
    if "bin" in f:
        fid, n = f["id"], f["bytes"]
    else:
        fid, n = f.get("id"), len(base64.b64decode(f.get("data", "")))
        f["data"] = len(f.get("data", ""))
    if fid not in files:
        return
    files[fid][1] += n
    if files[fid][1] >= files[fid][0]:
        s.sendall(frame({"t": "file-pos", "id": fid, "state": "received",
                         "off": files[fid][0]}))


def mute_peer(cert, key, user, portfile, seconds, caps=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols([ALPN])
    ls = socket.socket()
    ls.bind((HOST, 0))
    ls.listen(1)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    ls.settimeout(60)
    raw, _ = ls.accept()
    s = ctx.wrap_socket(raw, server_side=True)
    s.settimeout(1)
    h = {"t": "hello", "v": 1, "user": user}
    if caps is not None:
        h["caps"] = [c for c in caps.split(",") if c]
    hello = frame(h)
    files = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        f = read_frame(s)
        if f is None:
            break
        if f == "timeout":
            s.sendall(hello)
            continue
        if "file" in h.get("caps", []) and (f.get("t") in ("file", "chunk") or
                                          "bin" in f):
            mute_peer_file(s, f, files)
        print(json.dumps(f))
        sys.stdout.flush()
        if f.get("t") == "hello":
            s.sendall(hello)
        elif f.get("t") in ("gmembers", "msg"):
            s.sendall(frame({"t": "ack", "id": f.get("id")}))
    return 0


def impersonate(port, cert, key, hello_user, from_user, to_user, body,
                ts=None):
    # Longer than a gestor request may wait (10 s) while the gestor is down.
    s = tls_connect(port, cert, key, timeout=20)
    msgid = os.urandom(16).hex()
    s.sendall(frame({"t": "hello", "v": 1, "user": hello_user}) +
              frame({"t": "msg", "id": msgid, "from": from_user,
                     "to": to_user,
                     "ts": int(ts) if ts else int(time.time() * 1000),
                     "body": body}))
    while True:
        f = read_frame(s)
        if f is None:
            print("closed")
            return 0
        if f == "timeout":
            print("open")
            return 0
        print(json.dumps(f))


def bin_chunk(o):
    # A binary chunk (daemon/net/wire.h, "Binary frames").
    data = o["data"].encode()
    return (bytes([0, o.get("type", 1)]) + struct.pack(">H", o.get("reserved", 0)) +
            bytes.fromhex(o["id"]) +
            struct.pack(">QI", o["off"], o.get("len", len(data))) + data)


def peer_frames(port, cert, key, user, path, caps=None):
    s = tls_connect(port, cert, key, timeout=20)
    hello = {"t": "hello", "v": 1, "user": user}
    if caps is not None:
        hello["caps"] = [c for c in caps.split(",") if c]
    out = frame(hello)
    with open(path) as f:
        for line in f:
            if line.strip():
                o = json.loads(line)
                out += frame(bin_chunk(o) if "bin" in o else o)
    s.sendall(out)
    s.settimeout(float(os.environ.get("P2PTOOL_QUIET", "2")))
    while True:
        f = read_frame(s)
        if f is None:
            print("closed")
            return 0
        if f == "timeout":
            print("open")
            return 0
        print(json.dumps(f), flush=True)


# ------------------------------------------------------------------ frames

BAD_PW = "wrong-password-%d"


def sc_oversized(s):
    s.sendall(struct.pack(">I", 0x7fffffff) + b"{")
    f = read_frame(s)
    ok = isinstance(f, dict) and f.get("code") == "frame_too_big"
    closed = closed_soon(s, 5)
    return ok and closed, "reply %s, %s" % (json.dumps(f) if isinstance(f, dict) else f,
                                            "closed" if closed else "NOT closed")


def sc_truncated(s):
    # A header announcing 100 bytes, 10 of them, then TLS close_notify:
    # the daemon must just drop the connection.
    s.sendall(struct.pack(">I", 100) + b'{"t":"ok",')
    time.sleep(0.2)
    try:
        s.unwrap()
    except (ssl.SSLError, OSError):
        pass
    return True, "sent 14 of 104 bytes and closed"


def expect_error(s, payload, code, must_close):
    s.sendall(frame(payload))
    f = read_frame(s)
    ok = isinstance(f, dict) and f.get("t") == "error" and f.get("code") == code
    what = "reply %s" % (json.dumps(f) if isinstance(f, dict) else f)
    if must_close:
        closed = closed_soon(s, 5)
        ok = ok and closed
        what += ", closed" if closed else ", NOT closed"
    return ok, what


def sc_badjson(s):
    return expect_error(s, b'{"t":"login","user":', "bad_frame", True)


def sc_badutf8(s):
    return expect_error(s, b'{"t":"lookup","user":"\xff\xfe"}', "bad_frame",
                        True)


def sc_nul(s):
    return expect_error(s, b'{"t":"lookup","user":"a\\u0000b"}', "bad_frame",
                        True)


def sc_notobject(s):
    return expect_error(s, b'[1,2,3]', "bad_frame", True)


def sc_unknown(s):
    ok, what = expect_error(s, {"t": "frobnicate", "x": 1}, "unknown_type",
                            False)
    # Still open and answering.
    ok2, what2 = expect_error(s, {"t": "frobnicate"}, "unknown_type", False)
    return ok and ok2, what + "; then " + what2


def sc_badmembers(s):
    results = []
    ok = True
    for payload in ({"t": "login", "user": "UPPER", "password": "12345678"},
                    {"t": "login", "user": "alice", "password": "short"},
                    {"t": "lookup", "user": 5},
                    {"t": "hb", "port": 70000},
                    {"t": "watch", "users": "bob"},
                    {"t": "msg", "id": "x"},
                    {"t": 5}):
        s.sendall(frame(payload))
        f = read_frame(s)
        if not isinstance(f, dict) or f.get("t") != "error":
            ok = False
            if f is None:
                break
        results.append(f.get("code") if isinstance(f, dict) else str(f))
    return ok, "codes " + ",".join(str(r) for r in results)


def sc_login_fail(s, user, n):
    codes = []
    for i in range(n):
        s.sendall(frame({"t": "login", "user": user,
                         "password": BAD_PW % i}))
        f = read_frame(s)
        codes.append(f.get("code") if isinstance(f, dict) else str(f))
    return True, " ".join(str(c) for c in codes)


def login_parallel(port, cert, key, user, n):
    socks = [tls_connect(port, cert, key, timeout=60) for _ in range(n)]
    for i, s in enumerate(socks):
        s.sendall(frame({"t": "login", "user": user,
                         "password": BAD_PW % i, "n": 1}))
    count = {"bad_credentials": 0, "rate_limited": 0, "other": 0}
    for s in socks:
        f = read_frame(s)
        c = f.get("code") if isinstance(f, dict) else str(f)
        count[c if c in count else "other"] += 1
        s.close()
    print(" ".join("%s=%d" % kv for kv in count.items()))
    return 0


def frames_cmd(port, cert, key, scenarios):
    table = {
        "oversized": sc_oversized, "truncated": sc_truncated,
        "badjson": sc_badjson, "badutf8": sc_badutf8, "nul": sc_nul,
        "notobject": sc_notobject, "unknown": sc_unknown,
        "badmembers": sc_badmembers,
    }
    rc = 0
    i = 0
    while i < len(scenarios):
        name = scenarios[i]
        i += 1
        s = tls_connect(port, cert, key)
        try:
            if name == "login-fail":
                user, n = scenarios[i], int(scenarios[i + 1])
                i += 2
                ok, what = sc_login_fail(s, user, n)
            else:
                ok, what = table[name](s)
        except (ssl.SSLError, OSError) as e:
            ok, what = False, "connection error: %s" % e
        finally:
            try:
                s.close()
            except OSError:
                pass
        print("%s: %s%s" % (name, "" if ok else "FAILED: ", what))
        if not ok:
            rc = 1
    return rc


# ------------------------------------------------------ silence and floods

def wait_closed(sock_recv, seconds):
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            data = sock_recv()
            if not data:
                return time.monotonic() - start
        except (socket.timeout, TimeoutError):
            continue
        except (ConnectionError, ssl.SSLError, OSError):
            return time.monotonic() - start
    return None


def silent_tcp(port, seconds):
    s = socket.create_connection((HOST, port))
    s.settimeout(0.2)
    t = wait_closed(lambda: s.recv(4096), seconds)
    print("open" if t is None else "closed after %.1f s" % t)
    return 0


def silent_tls(port, cert, key, seconds):
    s = tls_connect(port, cert, key)
    s.settimeout(0.2)
    t = wait_closed(lambda: s.recv(4096), seconds)
    print("open" if t is None else "closed after %.1f s" % t)
    return 0


def flood(port, n, seconds):
    socks = []
    for _ in range(n):
        try:
            socks.append(socket.create_connection((HOST, port), timeout=5))
        except OSError:
            pass
    time.sleep(0.5)
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    print("closed=%d of %d" % (closed, n))
    sys.stdout.flush()
    time.sleep(seconds)
    for s in socks:
        s.close()
    return 0


def bad_frames(port, cert, key, n):
    s = tls_connect(port, cert, key, timeout=30)
    errors = other = 0
    done = 0
    while done < n:
        k = min(100, n - done)
        s.sendall(b"".join(frame({"t": "frobnicate", "i": done + i})
                           for i in range(k)))
        for _ in range(k):
            f = read_frame(s)
            if isinstance(f, dict) and f.get("code") == "unknown_type":
                errors += 1
            else:
                other += 1
        done += k
    print("errors=%d other=%d" % (errors, other))
    return 0


def login_storm(port, cert, key, naddr, per, first):
    # Every TCP connection first, then the TLS handshakes: the gestor logs
    # each connection as it takes it, all within a second however long the
    # handshakes take on a loaded machine.
    raws = []
    for a in range(naddr):
        for _ in range(per):
            raws.append(socket.create_connection(
                (HOST, port), timeout=120,
                source_address=("127.0.0.%d" % (first + a), 0)))
    socks = [tls_wrap(raw, cert, key, timeout=120) for raw in raws]
    for i, s in enumerate(socks):
        s.sendall(frame({"t": "login", "user": "storm-%d" % i,
                         "password": BAD_PW % i, "n": 1}))
    print("sent=%d" % len(socks))
    sys.stdout.flush()
    count = {"bad_credentials": 0, "busy": 0, "other": 0}
    for s in socks:
        f = read_frame(s)
        c = f.get("code") if isinstance(f, dict) else str(f)
        count[c if c in count else "other"] += 1
        s.close()
    print(" ".join("%s=%d" % kv for kv in count.items()))
    return 0


# ------------------------------------------------ clients that never read

def pipeline_setup(s, setup):
    parts = setup.split(":")
    if parts[0] == "register":
        s.sendall(frame({"t": "register", "user": parts[1],
                         "password": parts[2], "n": 0}))
    elif parts[0] == "hello":
        s.sendall(frame({"t": "hello", "v": 1, "user": parts[1]}))
    else:
        return True
    f = read_frame(s)
    return isinstance(f, dict) and f.get("t") in ("ok", "hello")


def pipeline(target, cert, key, setup, payload, seconds):
    if target.isdigit():
        s = tls_connect(int(target), cert, key, timeout=10)
        if not pipeline_setup(s, setup):
            print("setup %s failed" % setup)
            return 1
        one = frame(json.loads(payload))
        batch = one * max(1, 16384 // len(one))
    else:
        s = unix_connect(target)
        batch = b"".join(payload.replace('"N"', str(i)).encode() + b"\n"
                         for i in range(200))
    s.settimeout(0.2)
    start = time.monotonic()
    sent, stuck, data = 0, None, batch
    while time.monotonic() - start < seconds:
        try:
            n = s.send(data)
        except (socket.timeout, TimeoutError, ssl.SSLWantWriteError):
            if stuck is None:
                stuck = time.monotonic()
            continue        # the same buffer again (TLS wants that)
        except (ssl.SSLError, OSError):
            t = time.monotonic() - start
            print("sent=%d closed after %.1f s%s" % (sent, t, "" if stuck is
                  None else " stuck=%.1f" % (time.monotonic() - stuck)))
            return 0
        sent += n
        data = data[n:] if n < len(data) else batch
    print("sent=%d open%s" % (sent, "" if stuck is None else
                              " stuck=%.1f" % (time.monotonic() - stuck)))
    return 0


# ---------------------------------------------------------- control socket

def unix_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(5)
    return s


def read_lines(s, n, seconds):
    buf, lines = b"", []
    end = time.monotonic() + seconds
    while len(lines) < n and time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except (socket.timeout, TimeoutError):
            continue
        except OSError:
            chunk = b""
        if not chunk:
            lines.append("eof")
            break
        buf += chunk
        while b"\n" in buf and len(lines) < n:
            line, buf = buf.split(b"\n", 1)
            lines.append(line.decode(errors="replace"))
    return lines


def ctl_lines(path):
    data = sys.stdin.buffer.read()
    n = sum(1 for l in data.split(b"\n") if l)
    s = unix_connect(path)
    s.sendall(data)
    for line in read_lines(s, n, 10):
        print(line)
    s.settimeout(0.5)
    try:
        print("eof" if s.recv(1) == b"" else "data")
    except (socket.timeout, TimeoutError):
        print("open")
    except OSError:
        print("eof")
    return 0


def ctl_huge(path, nbytes):
    s = unix_connect(path)
    chunk = b"x" * 65536
    sent = 0
    try:
        while sent < nbytes:
            s.sendall(chunk)
            sent += len(chunk)
    except OSError as e:
        print("send stopped after %d bytes: %s" % (sent, e))
    for line in read_lines(s, 2, 10):
        print(line)
    return 0


# ------------------------------------------------------------------ memory

def memscan(pid, needle):
    needle = needle.encode()
    copies = records = 0
    try:
        maps = open("/proc/%d/maps" % pid).read().splitlines()
        mem = open("/proc/%d/mem" % pid, "rb", 0)
    except OSError as e:
        print("unreadable: %s" % e)
        return 0
    chunk = 1 << 20
    for line in maps:
        parts = line.split()
        addr, perms = parts[0], parts[1]
        path = parts[5] if len(parts) > 5 else ""
        if "w" not in perms or (path and not path.startswith("[")):
            continue
        start, end = (int(x, 16) for x in addr.split("-"))
        if end - start > (1 << 32):
            continue        # sanitizer shadow and other reservations
        tail = b""
        for off in range(start, end, chunk):
            try:
                mem.seek(off)
                data = mem.read(min(chunk, end - off))
            except (OSError, OverflowError, ValueError):
                tail = b""
                continue
            buf = tail + data
            i = buf.find(needle)
            while i != -1:
                rec = buf.find(b"}\x17", i, i + 2200)
                if rec != -1 and b"\x00" not in buf[i:rec]:
                    records += 1
                else:
                    copies += 1
                i = buf.find(needle, i + 1)
            # Keep a needle's length minus one: a copy across the boundary
            # is counted once, by the next chunk.
            tail = buf[-(len(needle) - 1):] if len(needle) > 1 else b""
    print("copies=%d tls_records=%d" % (copies, records))
    return 0


def fake_gestor(cert, key, port, script, seconds):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols([ALPN])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((HOST, port))
    ls.listen(4)
    end = time.monotonic() + seconds
    seen, idx = None, 0

    def say(line):
        print(line)
        sys.stdout.flush()

    def next_answer():
        nonlocal seen, idx
        try:
            with open(script) as f:
                text = f.read()
        except OSError:
            text = "unavailable\n"
        lines = [x.strip() for x in text.splitlines() if x.strip()] or \
            ["unavailable"]
        if text != seen:
            seen, idx = text, 0
        a = lines[min(idx, len(lines) - 1)]
        idx += 1
        return a

    while time.monotonic() < end:
        ls.settimeout(max(0.1, end - time.monotonic()))
        try:
            raw, _ = ls.accept()
            s = ctx.wrap_socket(raw, server_side=True)
        except (socket.timeout, TimeoutError, ssl.SSLError, OSError):
            continue
        say("connect")
        push_at, unauth, silent = None, False, False
        while time.monotonic() < end:
            wait = 0.2 if push_at is None else \
                max(0.01, push_at - time.monotonic())
            s.settimeout(min(wait, max(0.01, end - time.monotonic())))
            f = read_frame(s)
            if push_at is not None and time.monotonic() >= push_at:
                push_at = None
                s.sendall(frame({"t": "error", "code": "session_replaced",
                                 "message": "this account logged in from "
                                 "another connection"}))
                say("pushed session_replaced")
            if f == "timeout":
                continue
            if f is None:
                break
            n = f.get("n")
            t = f.get("t")
            if silent:
                continue
            if t == "auth":
                a = next_answer()
                say("auth %s %s" % (f.get("user"), a))
                if a.startswith("ok"):
                    s.sendall(frame({"t": "ok", "n": n, "user": f.get("user"),
                                     "fingerprint": "x"}))
                    if a == "ok+replace":
                        push_at = time.monotonic() + 0.3
                    unauth = a == "ok+unauth"
                    silent = a == "ok+silent"
                    if silent:
                        say("silent")
                else:
                    s.sendall(frame({"t": "error", "n": n, "code": a,
                                     "message": "scripted " + a}))
            elif t == "lookup" and os.path.exists(script + ".lookup"):
                # The answer in SCRIPT.lookup (a JSON object), as it is.
                try:
                    with open(script + ".lookup") as lf:
                        ans = json.load(lf)
                except (OSError, ValueError):
                    ans = {}
                ans.update({"t": "ok", "n": n})
                s.sendall(frame(ans))
                say("lookup %s" % f.get("user"))
            elif t == "hb" and unauth:
                unauth = False
                s.sendall(frame({"t": "error", "n": n,
                                 "code": "not_authenticated",
                                 "message": "scripted"}))
                say("hb not_authenticated")
            else:
                s.sendall(frame({"t": "ok", "n": n}))
        s.close()
    return 0


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    global SRC
    if len(argv) > 3 and argv[1] == "--src":
        SRC = argv[2]
        argv = argv[:1] + argv[3:]
    cmd, a = argv[1], argv[2:]
    if cmd == "proxy":
        return proxy(a[0], a[1], a[2])
    if cmd == "tls-probe":
        return tls_probe(int(a[0]), a[1], a[2], a[3:])
    if cmd == "register":
        return register(int(a[0]), a[1], a[2], a[3], a[4])
    if cmd == "gestor-session":
        return gestor_session(int(a[0]), a[1], a[2], a[3], a[4], a[5:])
    if cmd == "login-parallel":
        return login_parallel(int(a[0]), a[1], a[2], a[3], int(a[4]))
    if cmd == "login":
        return login(int(a[0]), a[1], a[2], a[3], a[4])
    if cmd == "impersonate":
        return impersonate(int(a[0]), a[1], a[2], a[3], a[4], a[5], a[6],
                           a[7] if len(a) > 7 else None)
    if cmd == "peer-frames":
        return peer_frames(int(a[0]), a[1], a[2], a[3], a[4],
                           a[5] if len(a) > 5 else None)
    if cmd == "mute-peer":
        return mute_peer(a[0], a[1], a[2], a[3], float(a[4]),
                         a[5] if len(a) > 5 else None)
    if cmd == "fake-peer":
        return fake_peer(a[0], a[1], a[2], a[3], float(a[4]),
                         a[5] if len(a) > 5 else None)
    if cmd == "plain":
        return plain(int(a[0]))
    if cmd == "frames":
        return frames_cmd(int(a[0]), a[1], a[2], a[3:])
    if cmd == "silent-tcp":
        return silent_tcp(int(a[0]), float(a[1]))
    if cmd == "silent-tls":
        return silent_tls(int(a[0]), a[1], a[2], float(a[3]))
    if cmd == "ctl-lines":
        return ctl_lines(a[0])
    if cmd == "ctl-huge":
        return ctl_huge(a[0], int(a[1]))
    if cmd == "memscan":
        return memscan(int(a[0]), a[1])
    if cmd == "relay-request":
        return relay_request(int(a[0]), a[1], a[2], a[3], a[4], a[5],
                             int(a[6]))
    if cmd == "relay-hellos":
        return relay_hellos(int(a[0]), a[1], a[2], a[3], a[4], a[5], a[6:])
    if cmd == "relay-strangers":
        return relay_strangers(int(a[0]), a[1], a[2], int(a[3]), a[4],
                               int(a[5]))
    if cmd == "relay-key":
        return relay_key(int(a[0]), a[1], float(a[2]) if len(a) > 2 else 2.0)
    if cmd == "bad-frames":
        return bad_frames(int(a[0]), a[1], a[2], int(a[3]))
    if cmd == "login-storm":
        return login_storm(int(a[0]), a[1], a[2], int(a[3]), int(a[4]),
                           int(a[5]))
    if cmd == "pipeline":
        return pipeline(a[0], a[1], a[2], a[3], a[4], float(a[5]))
    if cmd == "flood":
        return flood(int(a[0]), int(a[1]), float(a[2]))
    if cmd == "fake-gestor":
        return fake_gestor(a[0], a[1], int(a[2]), a[3], float(a[4]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
