"""The HTTP/1.1 clients side by side (issue 15): every case runs once with the lean client
and once with libcurl (STAMPEDE_HTTP_CLIENT=lean|curl in the environment of the run), and
each is judged against the server's own count, never against the other client alone.

- nginx with keepalive_requests 100 and keepalive_timeout 1s: users whose think time
  straddles the timeout (nginx closes idle connections just as requests go out) and users
  without think time in bursts of 500 requests (connections reach the 100-request limit
  five times a burst; the pause between bursts bounds the load on a shared machine): no
  failures, and the requests equal nginx's access log lines exactly.
- chunked bodies (nginx's gzip filter on a text file, and a server written here that
  sends small chunks with extensions and a trailer, and a close-delimited body) and a
  5 MB static file: the body arrives whole (an expect on its last bytes, a capture of
  them sent back to nginx), bytes = size x requests.
- servers that misbehave, written here: one closes the connection in the middle of a
  body, one never answers, one stalls after the headers, one closes a reused connection
  without a byte: the error kinds, the same under both clients, nothing hangs.
- TLS through nginx (a self-signed certificate made here): totals equal nginx's log.
- the matrix against tests/target: methods, JSON bodies, captures from bodies and headers,
  checks, a 404 and a 500, cookies, a followed redirect, HEAD: the same per-name counts,
  statuses and failures under both clients, and equal to the target's counters.

Which client really ran: nothing in summary.json names it yet, so the lean-only
expectations (a retry count) are checked only when there is evidence that the variable
took effect: a "client" field in summary.json, or request heads that differ between the
two settings on a server that records them (LEAN.evidence). Without evidence they are
reported as skipped, never failed."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Target, _procs, check, free_port, main, run, summary, test, write_scenario  # noqa: E402

CLIENTS = ("lean", "curl")


def wait_port(port, proc=None, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def stampede(text, client, timeout=90, files=None):
    """Runs a scenario under STAMPEDE_HTTP_CLIENT=client. (summary, wall seconds)."""
    path, d = write_scenario(text, files=files)
    out = os.path.join(d, "out")
    t0 = time.monotonic()
    rc, _, err = run(["run", path, "--out", out, "--quiet", "--exit-code-on-error", "0"], timeout=timeout,
                     env={"STAMPEDE_HTTP_CLIENT": client})
    wall = time.monotonic() - t0
    check(rc == 0, "[%s] exit %d: %s" % (client, rc, err[-2000:]))
    return summary(out), wall


def by_name(s):
    return {r["name"]: r for r in s["requests"]}


def errors_of(s):
    """{(name, kind): count} from summary.json's errors."""
    e = {}
    for x in s["errors"]:
        e[(x["name"], x["kind"])] = e.get((x["name"], x["kind"]), 0) + x["count"]
    return e


def _num(v):
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, dict):
        for k in ("total", "sum", "count", "max"):
            if isinstance(v.get(k), (int, float)):
                return v[k]
    return None


def retries_of(s):
    """Requests the lean client sent again on a new connection: summary["retries"],
    summary["totals"]["retries"] or the workers' health["retries"], whichever exists;
    None when none does."""
    for v in (s.get("retries"), s.get("totals", {}).get("retries")):
        if _num(v) is not None:
            return _num(v)
    found = [_num(w.get("health", {}).get("retries")) for w in s.get("workers", [])]
    found = [x for x in found if x is not None]
    return sum(found) if found else None


def client_named(s):
    """The client summary.json says ran, if it says: a "client" field at its top, in its
    totals or in a worker's entry or health."""
    for place in [s, s.get("totals", {})] + [w for w in s.get("workers", [])] + \
            [w.get("health", {}) for w in s.get("workers", [])]:
        v = place.get("client") if isinstance(place, dict) else None
        if isinstance(v, str):
            return v
    return None


# ----------------------------------------------------------------------------------
# A server written here: behaviours by path, a count of requests per path, the raw
# request heads. Threads on 127.0.0.1; stop() closes everything it opened.

CHUNKS = [b"a" * 1, b"b" * 7, b"c" * 4096, b"d" * 3, b"e" * 10000, b"CHUNKED-END"]
CHUNKED_BODY = b"".join(CHUNKS)
CLOSE_BODY = b"x" * 20000 + b"CLOSE-END"


class RawServer:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.counts = {}
        self.heads = []
        self.conns = []
        self.accepted = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def reset(self):
        with self.lock:
            self.counts, self.heads, self.accepted = {}, [], 0

    def _accept(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(c)
                self.accepted += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _hold(self, c):
        """Sends nothing more until the client closes or the server stops."""
        c.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                if not c.recv(4096):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def _serve(self, c):
        buf = b""
        c.settimeout(30)
        try:
            while not self.stopping.is_set():
                while b"\r\n\r\n" not in buf:
                    data = c.recv(65536)
                    if not data:
                        return
                    buf += data
                    if len(buf) > 65536:
                        return
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.split(b"\r\n")
                method, target = lines[0].split(b" ")[:2]
                hdrs = {}
                for line in lines[1:]:
                    k, _, v = line.partition(b":")
                    hdrs[k.strip().lower()] = v.strip()
                n = int(hdrs.get(b"content-length", b"0"))
                while len(buf) < n:
                    data = c.recv(65536)
                    if not data:
                        return
                    buf += data
                buf = buf[n:]
                path = target.split(b"?")[0].decode()
                with self.lock:
                    self.counts[path] = self.counts.get(path, 0) + 1
                    # the head without its request line's target: the same scenario step
                    # under the same client gives the same bytes
                    self.heads.append((path, [x.split(b":")[0].lower() for x in lines[1:]],
                                       lines[1:]))
                if not self._answer(c, path, method):
                    return
        except OSError:
            return
        finally:
            try:
                c.close()
            except OSError:
                pass

    def _answer(self, c, path, method):
        """Answers one request; False when the connection is done."""
        if path == "/ok":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
            return True
        if path == "/chunked":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
            for i, ch in enumerate(CHUNKS):
                ext = b";note=%d" % i if i % 2 else b""
                c.sendall(b"%x%s\r\n%s\r\n" % (len(ch), ext, ch))
                if i == 2:
                    time.sleep(0.01)      # the rest in another segment
            c.sendall(b"0\r\nX-Trailer: done\r\n\r\n")
            return True
        if path == "/close-delimited":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
            c.sendall(CLOSE_BODY[:5000])
            time.sleep(0.01)
            c.sendall(CLOSE_BODY[5000:])
            c.shutdown(socket.SHUT_WR)
            return False
        if path == "/cut":             # 1000 bytes promised, 100 sent, then the end
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n" + b"y" * 100)
            time.sleep(0.05)
            return False
        if path == "/silent":          # never a byte
            self._hold(c)
            return False
        if path == "/stall-body":      # headers and 10 bytes of 1000, then nothing
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n" + b"z" * 10)
            self._hold(c)
            return False
        if path == "/empty":           # the request read, the connection closed, no byte
            return False
        c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        return True

    def stop(self):
        self.stopping.set()
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                try:
                    c.close()
                except OSError:
                    pass
        self.thread.join(timeout=5)


class _Lean:
    """Whether STAMPEDE_HTTP_CLIENT=lean takes effect: summary.json names the client, or
    the request heads a RawServer records differ between lean and curl for the same
    step. Decided once, on the first call (two runs of a second)."""

    def __init__(self):
        self.decided = False
        self.active = False
        self.why = ""

    def evidence(self, s=None):
        if s is not None and client_named(s):
            return client_named(s) == "lean", "summary.json says client %s" % client_named(s)
        if not self.decided:
            self._probe()
        return self.active, self.why

    def _probe(self):
        self.decided = True
        srv = RawServer()
        try:
            heads = {}
            for client in CLIENTS:
                srv.reset()
                s, _ = stampede("""name: it-lean-probe
target: %s
load: { stages: [ { duration: 100ms, users: 1 }, { duration: 1s, users: 1 } ], graceful_stop: 1s }
users:
  - name: u
    flow:
      - loop: { count: 2, steps: [ { http: { name: ok, url: /ok } } ] }
      - think: 60s
""" % srv.url, client)
                if client_named(s):
                    self.active = client == "lean" and client_named(s) == "lean"
                    self.why = "summary.json says client %s" % client_named(s)
                    return
                with srv.lock:
                    heads[client] = [h[2] for h in srv.heads]
            if heads["lean"] != heads["curl"]:
                self.active = True
                self.why = "request heads differ (lean %s, curl %s)" % (heads["lean"][:1], heads["curl"][:1])
            else:
                self.why = "nothing tells: the same request heads under both settings (%s)" % heads["curl"][:1]
        finally:
            srv.stop()


LEAN = _Lean()


def lean_only(what, s=None):
    """True when a lean-only expectation can be judged; otherwise says it is skipped."""
    active, why = LEAN.evidence(s)
    if not active:
        print("    skip (lean client not evidently active: %s): %s" % (why, what), flush=True)
    return active


# ----------------------------------------------------------------------------------
# nginx on a free port with a generated configuration; its access log is the count.

NGINX_CONF = """
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{
    log_format p '$server_protocol $status $request_method $uri $body_bytes_sent '
                 '$sent_http_transfer_encoding $gzip_ratio $ssl_session_reused $args $connection';
    access_log {d}/access.log p;
    client_body_temp_path {d}/cb; proxy_temp_path {d}/px; fastcgi_temp_path {d}/fc;
    uwsgi_temp_path {d}/uw; scgi_temp_path {d}/sc;
    types {{ text/plain txt; application/octet-stream bin; }}
{http}
    server {{
        {listen}
        root {d}/www;
{server}
        location = /ping {{ default_type text/plain; return 200 "pong"; }}
    }}
}}
"""


class Nginx:
    """nginx on a fresh port. files: {name: bytes} under its root; tls: serve https with a
    self-signed certificate made by openssl here; http: directives for the http block;
    server: for the server block."""

    def __init__(self, files=None, tls=False, http="", server=""):
        if not shutil.which("nginx"):
            raise AssertionError("nginx missing: run make deps")
        self.d = tempfile.mkdtemp(prefix="nginx-lean-")
        os.chmod(self.d, 0o755)          # nginx's worker may run as another user
        os.mkdir(os.path.join(self.d, "www"), 0o755)
        for name, data in (files or {}).items():
            with open(os.path.join(self.d, "www", name), "wb") as f:
                f.write(data)
            os.chmod(os.path.join(self.d, "www", name), 0o644)
        self.port = free_port()
        listen = "listen 127.0.0.1:%d;" % self.port
        if tls:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                            "-subj", "/CN=127.0.0.1", "-keyout", os.path.join(self.d, "k.pem"),
                            "-out", os.path.join(self.d, "c.pem")],
                           check=True, capture_output=True, timeout=60)
            listen = "listen 127.0.0.1:%d ssl;\n        ssl_certificate %s/c.pem; ssl_certificate_key %s/k.pem;" \
                % (self.port, self.d, self.d)
        with open(os.path.join(self.d, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(d=self.d, http=http, listen=listen, server=server))
        self.proc = subprocess.Popen(["nginx", "-p", self.d, "-c", os.path.join(self.d, "nginx.conf"),
                                      "-e", os.path.join(self.d, "error.log"), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _procs.append(self.proc)
        check(wait_port(self.port, self.proc), "nginx did not start: %s"
              % open(os.path.join(self.d, "error.log")).read()[-2000:])
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self.mark = 0

    def _lines(self):
        p = os.path.join(self.d, "access.log")
        if not os.path.exists(p):
            return []
        with open(p) as f:
            return [line.split(" ") for line in f.read().splitlines()]

    def begin(self):
        """Starts a count: log() then returns the lines written from here on."""
        self.mark = len(self._lines())

    def log(self):
        """The lines since begin(), once the log stops growing (bounded wait)."""
        deadline = time.monotonic() + 5
        n = -1
        lines = self._lines()
        while len(lines) != n and time.monotonic() < deadline:
            n = len(lines)
            time.sleep(0.3)
            lines = self._lines()
        return lines[self.mark:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ----------------------------------------------------------------------------------
# a) keep-alive limits and idle closes

STATIC = bytes((i * 7 + 13) % 251 for i in range(3000))
KEEPALIVE = """name: it-lean-keepalive
target: %s
load: { stages: [ { duration: 200ms, users: 9 }, { duration: 10s, users: 9 } ], graceful_stop: 3s }
users:
  - name: idle
    weight: 8
    flow:
      - http: { name: ping-idle, url: /ping, expect: { status: 200, contains: pong } }
      - think: 800ms..1200ms
      - http: { name: file-idle, url: /static.bin, expect: { status: 200 } }
      - think: 800ms..1200ms
  - name: busy
    weight: 1
    flow:
      - loop:
          count: 250
          steps:
            - http: { name: ping-busy, url: /ping, expect: { status: 200, contains: pong } }
            - http: { name: file-busy, url: /static.bin, expect: { status: 200 } }
      - think: 100ms
"""


@test
def test_nginx_keepalive_limits_and_idle_close():
    ng = Nginx(files={"static.bin": STATIC}, http="    keepalive_requests 100; keepalive_timeout 1s;")
    try:
        for client in CLIENTS:
            ng.begin()
            s, wall = stampede(KEEPALIVE % ng.url, client)
            log = ng.log()
            rows = by_name(s)
            tot = s["totals"]
            check(tot["failures"] == 0, "[%s] failures: %s" % (client, s["errors"]))
            check(tot["requests"] == len(log), "[%s] requests %d, nginx logged %d"
                  % (client, tot["requests"], len(log)))
            check(all(x[1] == "200" for x in log), "[%s] statuses in nginx's log: %s"
                  % (client, sorted(set(x[1] for x in log))))
            for name in ("ping-idle", "file-idle", "ping-busy", "file-busy"):
                check(name in rows and rows[name]["requests"] > 0, "[%s] no %s requests" % (client, name))
            # the busy users passed nginx's 100-request limit many times: the connections
            # it closed were replaced without a failure
            check(rows["ping-busy"]["requests"] + rows["file-busy"]["requests"] > 1000,
                  "[%s] busy users made only %d requests"
                  % (client, rows["ping-busy"]["requests"] + rows["file-busy"]["requests"]))
            files = rows["file-idle"]["requests"] + rows["file-busy"]["requests"]
            check(sum(1 for x in log if x[3] == "/static.bin") == files, "[%s] file count" % client)
            check(rows["file-busy"]["bytes"] == len(STATIC) * rows["file-busy"]["requests"],
                  "[%s] file bytes %d for %d requests" % (client, rows["file-busy"]["bytes"],
                                                         rows["file-busy"]["requests"]))
            r = retries_of(s)
            print("    [%s] %d requests = nginx's %d lines on %d connections, %.1fs wall, retries %s"
                  % (client, tot["requests"], len(log), len(set(x[9] for x in log)), wall,
                     "not reported" if r is None else r), flush=True)
            if client == "lean" and lean_only("retries are reported in summary.json", s):
                check(r is not None, "[lean] no retries count in summary.json")
            if r:
                check(client == "lean" or r == 0, "[%s] retries %s under libcurl" % (client, r))
    finally:
        ng.stop()


# ----------------------------------------------------------------------------------
# b) chunked and large bodies

TEXT = b"".join(b"line %06d of a text that compresses well, gzip and chunked\n" % i for i in range(4000)) \
    + b"TEXT-END-7f3a"
BIG = bytes((i * 31 + 7) % 256 for i in range(5 * 1024 * 1024))
BODIES = """name: it-lean-bodies
target: %s
load: { stages: [ { duration: 100ms, users: 2 }, { duration: 3s, users: 2 } ], graceful_stop: 5s }
users:
  - name: u
    flow:
      - loop:
          count: 3
          steps:
            - http: { name: gz, url: /text.txt, headers: { Accept-Encoding: gzip },
                      expect: { status: 200, contains: "of a text that compresses well, gzip and chunked\\nTEXT-END-7f3a" },
                      capture: { tail: { regex: "(TEXT-END-[0-9a-f]+)$" } } }
            - http: { name: echo-tail, url: "/ping?tail={{ tail }}", expect: { status: 200 } }
            - http: { name: big, url: /big.bin, timeout: 30s, expect: { status: 200 } }
      - think: 60s
"""


@test
def test_chunked_gzip_and_5mb_bodies():
    ng = Nginx(files={"text.txt": TEXT, "big.bin": BIG},
               http="    gzip on; gzip_min_length 1; gzip_types text/plain;")
    try:
        for client in CLIENTS:
            ng.begin()
            s, _ = stampede(BODIES % ng.url, client)
            log = ng.log()
            rows = by_name(s)
            check(s["totals"]["failures"] == 0, "[%s] failures: %s" % (client, s["errors"]))
            check(s["totals"]["requests"] == len(log) == 2 * 3 * 3,
                  "[%s] requests %d, nginx logged %d, planned 18" % (client, s["totals"]["requests"], len(log)))
            gz = [x for x in log if x[3] == "/text.txt"]
            check(len(gz) == rows["gz"]["requests"] == 6, "[%s] gz %d, nginx %d" % (client, rows["gz"]["requests"], len(gz)))
            check(all(x[5] == "chunked" and x[6] != "-" for x in gz),
                  "[%s] /text.txt should go gzip-compressed and chunked: %s" % (client, gz[:2]))
            # the decoded body, whole: its size, and its last bytes captured and sent back
            check(rows["gz"]["bytes"] == len(TEXT) * 6, "[%s] gz bytes %d, want %d"
                  % (client, rows["gz"]["bytes"], len(TEXT) * 6))
            tails = [x[8] for x in log if x[3] == "/ping"]
            check(tails == ["tail=TEXT-END-7f3a"] * 6, "[%s] captured tails nginx saw: %s" % (client, tails))
            big = [x for x in log if x[3] == "/big.bin"]
            check(len(big) == rows["big"]["requests"] == 6 and all(int(x[4]) == len(BIG) for x in big),
                  "[%s] big: stampede %d, nginx %s" % (client, rows["big"]["requests"], [x[4] for x in big]))
            check(rows["big"]["bytes"] == len(BIG) * rows["big"]["requests"],
                  "[%s] big bytes %d, want %d" % (client, rows["big"]["bytes"], len(BIG) * rows["big"]["requests"]))
    finally:
        ng.stop()


# ----------------------------------------------------------------------------------
# c) servers that misbehave, and well-formed bodies without a length

HOSTILE = """name: it-lean-hostile
target: %s
load: { stages: [ { duration: 100ms, users: 6 }, { duration: 3s, users: 6 } ], graceful_stop: 3s }
users:
  - name: chunked
    flow:
      - http: { name: chunked, url: /chunked, expect: { status: 200, contains: "eeeCHUNKED-END" } }
      - http: { name: close-delimited, url: /close-delimited, expect: { status: 200, contains: "xxCLOSE-END" } }
      - think: 200ms
  - name: cut
    flow:
      - http: { name: cut-warm, url: /ok }
      - http: { name: cut, url: /cut, timeout: 5s }
      - think: 200ms
  - name: silent
    flow:
      - http: { name: silent, url: /silent, timeout: 1s }
  - name: stall
    flow:
      - http: { name: stall-body, url: /stall-body, timeout: 1s }
  - name: empty
    flow:
      - http: { name: empty-warm, url: /ok }
      - http: { name: empty, url: /empty, timeout: 5s }
      - think: 200ms
  - name: keepalive
    flow:
      - http: { name: ok, url: /ok }
      - think: 100ms
"""
PATHS = {"chunked": "/chunked", "close-delimited": "/close-delimited", "cut-warm": "/ok", "cut": "/cut",
         "silent": "/silent", "stall-body": "/stall-body", "empty-warm": "/ok", "empty": "/empty", "ok": "/ok"}


@test
def test_hostile_servers():
    srv = RawServer()
    kinds = {}
    try:
        for client in CLIENTS:
            srv.reset()
            s, wall = stampede(HOSTILE % srv.url, client, timeout=60)
            time.sleep(0.2)
            with srv.lock:
                counts = dict(srv.counts)
            rows = by_name(s)
            errs = errors_of(s)
            for name in PATHS:
                check(name in rows and rows[name]["requests"] > 0, "[%s] no %s requests: %s" % (client, name, sorted(rows)))
            # the run ended on time: 3.1 s of load, then at most 3 s of graceful stop
            check(wall < 20, "[%s] the run took %.1fs" % (client, wall))
            # well-formed bodies without a length: whole, no failure
            for name in ("chunked", "close-delimited", "cut-warm", "empty-warm", "ok"):
                check(rows[name]["failures"] == 0, "[%s] %s failed: %s" % (client, name, s["errors"]))
            check(rows["chunked"]["bytes"] == len(CHUNKED_BODY) * rows["chunked"]["requests"],
                  "[%s] chunked bytes %d" % (client, rows["chunked"]["bytes"]))
            check(rows["close-delimited"]["bytes"] == len(CLOSE_BODY) * rows["close-delimited"]["requests"],
                  "[%s] close-delimited bytes %d" % (client, rows["close-delimited"]["bytes"]))
            # every misbehaving answer failed, as one transport error kind per name
            got = {}
            for name in ("cut", "silent", "stall-body", "empty"):
                ks = {k: v for (n, k), v in errs.items() if n == name}
                check(sum(ks.values()) == rows[name]["requests"] == rows[name]["failures"] and len(ks) == 1,
                      "[%s] %s: %d requests, %d failures, errors %s" % (client, name, rows[name]["requests"],
                                                                       rows[name]["failures"], ks))
                got[name] = next(iter(ks))
            check(got["silent"] == "timeout" and got["stall-body"] == "timeout",
                  "[%s] a server that never answers or stalls its body: kinds %s" % (client, got))
            check(got["cut"] not in ("timeout", "http_status", "expect"),
                  "[%s] a body cut short: kind %s" % (client, got["cut"]))
            check(got["empty"] not in ("timeout", "http_status", "expect"),
                  "[%s] an empty reply: kind %s" % (client, got["empty"]))
            kinds[client] = got
            # the server's count: every request that reached it, once per name; the one
            # exception is /empty, which a client may send once more on a new connection
            # (its reused connection closed before any byte came back)
            served = {p: 0 for p in PATHS.values()}
            for name, p in PATHS.items():
                served[p] += rows[name]["requests"]
            for p in served:
                if p == "/empty":
                    check(served[p] <= counts.get(p, 0) <= 2 * served[p],
                          "[%s] /empty: stampede %d, server %d" % (client, served[p], counts.get(p, 0)))
                else:
                    check(counts.get(p, 0) == served[p], "[%s] %s: stampede %d, server %d"
                          % (client, p, served[p], counts.get(p, 0)))
            r = retries_of(s)
            print("    [%s] kinds %s; /empty sent %d times for %d requests; retries %s; %.1fs wall"
                  % (client, got, counts.get("/empty", 0), rows["empty"]["requests"],
                     "not reported" if r is None else r, wall), flush=True)
            if client == "lean" and lean_only("an empty reply on a reused connection is retried once", s):
                # only /empty can be retried here (the other failures got bytes back or
                # timed out), so the server saw each of its requests once plus the retries
                check(r is not None and r > 0 and counts.get("/empty", 0) == rows["empty"]["requests"] + r,
                      "[lean] /empty: server %d, requests %d, retries %s"
                      % (counts.get("/empty", 0), rows["empty"]["requests"], r))
        check(kinds["lean"] == kinds["curl"], "the clients disagree on kinds: %s" % kinds)
    finally:
        srv.stop()


# ----------------------------------------------------------------------------------
# d) TLS through nginx

TLS = """name: it-lean-tls
target: %s
defaults: { insecure: true }
load: { stages: [ { duration: 100ms, users: 4 }, { duration: 3s, users: 4 } ], graceful_stop: 2s }
users:
  - name: u
    flow:
      - http: { name: ping, url: /ping, expect: { status: 200, contains: pong } }
      - http: { name: file, url: /static.bin, expect: { status: 200 } }
      - think: 20ms
  - name: reconnecting
    flow:
      - http: { name: ping-idle, url: /ping, expect: { status: 200, contains: pong } }
      - think: 1500ms
"""


@test
def test_tls_through_nginx():
    """nginx's keepalive_timeout 1s closes the reconnecting users' connections between
    their requests: each comes back with a new handshake, which the lean client should
    resume (session resumption; nginx logs it as $ssl_session_reused "r")."""
    ng = Nginx(files={"static.bin": STATIC}, tls=True, http="    keepalive_timeout 1s;")
    try:
        for client in CLIENTS:
            ng.begin()
            s, _ = stampede(TLS % ng.url, client)
            log = ng.log()
            rows = by_name(s)
            check(s["totals"]["failures"] == 0, "[%s] failures: %s" % (client, s["errors"]))
            check(s["totals"]["requests"] == len(log) > 20, "[%s] requests %d, nginx logged %d"
                  % (client, s["totals"]["requests"], len(log)))
            check(all(x[0] == "HTTP/1.1" and x[1] == "200" for x in log), "[%s] protocols/statuses: %s"
                  % (client, sorted(set((x[0], x[1]) for x in log))))
            check(rows["file"]["bytes"] == len(STATIC) * rows["file"]["requests"], "[%s] file bytes" % client)
            conns = {x[9]: x[7] for x in log}
            resumed = sum(1 for v in conns.values() if v == "r")
            check(rows["ping-idle"]["requests"] >= 2 and len(conns) >= 3,
                  "[%s] the reconnecting users made %d requests on %d connections in all"
                  % (client, rows["ping-idle"]["requests"], len(conns)))
            print("    [%s] %d requests over TLS = nginx's log; %d connections, %d of them on a resumed session"
                  % (client, len(log), len(conns), resumed), flush=True)
            if client == "lean" and lean_only("TLS sessions are resumed on reconnects", s):
                check(resumed > 0, "[lean] no resumed TLS session among %d connections" % len(conns))
    finally:
        ng.stop()


# ----------------------------------------------------------------------------------
# e) the matrix against the bundled target

MATRIX_USERS, MATRIX_LOOPS = 3, 2
MATRIX = """name: it-lean-matrix
target: %s
defaults: { follow_redirects: true }
load: { stages: [ { duration: 100ms, users: %d }, { duration: 3s, users: %d } ], graceful_stop: 3s }
users:
  - name: u
    flow:
      - loop:
          count: %d
          steps:
            - http: { name: login, method: POST, url: /auth/login, json: { username: op001, password: secret },
                      expect: { status: 200, json: $.token_type, equals: bearer },
                      capture: { token: { json: $.access_token } } }
            - http: { name: order, url: /ppic/manufacturing-orders/7,
                      headers: { Authorization: "Bearer {{ token }}" }, expect: { status: 200, contains: '"id":7' } }
            - http: { name: cutting, method: POST, url: /production/cutting,
                      headers: { Authorization: "Bearer {{ token }}" }, json: { order_id: 7, pieces: [1, 2, 3] },
                      expect: { status: 201, json: $.status, equals: created } }
            - http: { name: entry-create, method: POST, url: /api/journal-entries/,
                      headers: { X-API-Key: erp-dev-key }, json: { description: matrix, lines: [ { debit: 1 } ] },
                      expect: { status: 201 }, capture: { je: { json: $.id } } }
            - http: { name: entry-put, method: PUT, url: "/api/journal-entries/{{ je }}/",
                      headers: { X-API-Key: erp-dev-key }, json: { description: changed }, expect: { status: 200 } }
            - http: { name: entry-delete, method: DELETE, url: "/api/journal-entries/{{ je }}/",
                      headers: { X-API-Key: erp-dev-key }, expect: { status: 204 } }
            - http: { name: ping-len, url: /ping, expect: { status: 200, contains: pong },
                      capture: { plen: { header: Content-Length } } }
            - http: { name: status-from-header, url: "/status/20{{ plen }}", expect: { status: 204 } }
            - http: { name: missing, url: /status/404 }
            - http: { name: broken, url: /status/500 }
            - http: { name: session-login, method: POST, url: /session/login, expect: { status: 200 } }
            - http: { name: session-page, url: /session/page, expect: { status: 200, contains: '"page":"session"' } }
            - http: { name: redirected, url: /redirect/static/ok, expect: { status: 200, contains: ok } }
            - http: { name: head, method: HEAD, url: /ping, expect: { status: 200 } }
      - think: 60s
"""
# the target's key of each step (a followed redirect adds GET /static/ok)
MATRIX_KEYS = {"login": "POST /auth/login", "order": "GET /ppic/manufacturing-orders/{id}",
               "cutting": "POST /production/cutting", "entry-create": "POST /api/journal-entries/",
               "entry-put": "PUT /api/journal-entries/{id}/", "entry-delete": "DELETE /api/journal-entries/{id}/",
               "ping-len": "GET /ping", "session-login": "POST /session/login",
               "session-page": "GET /session/page", "redirected": "GET /redirect/static/ok", "head": "HEAD /ping"}


@test
def test_matrix_same_counts_under_both_clients():
    t = Target()
    seen = {}
    try:
        per = MATRIX_USERS * MATRIX_LOOPS
        for client in CLIENTS:
            t.post("/__target/reset", {})
            s, _ = stampede(MATRIX % (t.url, MATRIX_USERS, MATRIX_USERS, MATRIX_LOOPS), client)
            c = t.settled_counters()
            rows = by_name(s)
            # bytes too, but for the login and the cutting (their numbers grow from run to run)
            counts = {n: (r["method"], r["requests"], r["failures"], r["bytes"] if n not in ("login", "cutting") else None)
                      for n, r in rows.items()}
            errs = sorted((e["name"], e["kind"], e["detail"], e["count"]) for e in s["errors"])
            routes = {k: v["status"] for k, v in c["routes"].items()}
            check(all(r["requests"] == per for r in rows.values()) and len(rows) == 14,
                  "[%s] every step %d times: %s" % (client, per, {n: r["requests"] for n, r in rows.items()}))
            check(errs == [("broken", "http_status", "500", per), ("missing", "http_status", "404", per)],
                  "[%s] errors %s" % (client, errs))
            check(s["totals"]["failures"] == 2 * per, "[%s] failures %d" % (client, s["totals"]["failures"]))
            # the target's own count: each step's key with its status, the followed
            # redirect's second request, the header capture that became a 204
            for name, key in MATRIX_KEYS.items():
                want = {"entry-create": "201", "cutting": "201", "entry-delete": "204",
                        "redirected": "302"}.get(name, "200")
                got = routes.get(key, {})
                check(got == {want: per}, "[%s] %s: target %s, want %s x %d" % (client, key, got, want, per))
            check(routes.get("GET /static/ok") == {"200": per}, "[%s] followed redirects: %s"
                  % (client, routes.get("GET /static/ok")))
            check(routes.get("GET /status/{id}") == {"204": per, "404": per, "500": per},
                  "[%s] /status/{id}: %s" % (client, routes.get("GET /status/{id}")))
            check(c["total"] == s["totals"]["requests"] + per,
                  "[%s] the target answered %d, stampede counted %d (+%d followed redirects)"
                  % (client, c["total"], s["totals"]["requests"], per))
            check(rows["head"]["bytes"] == 0, "[%s] HEAD counted body bytes %d" % (client, rows["head"]["bytes"]))
            seen[client] = (counts, errs, routes, c["total"])
        check(seen["lean"] == seen["curl"], "the clients differ:\n lean %s\n curl %s" % (seen["lean"], seen["curl"]))
    finally:
        t.stop()


if __name__ == "__main__":
    main()
