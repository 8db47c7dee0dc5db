"""The master's HTTP API under hostile clients (issue 9: items 4, 5, 10, 14): a real
stampede-master on 127.0.0.1, raw sockets for what urllib would not send. Every socket
has a timeout; nothing here starts load (no worker joins), every wait is bounded.

- item 4: bodies are judged on their headers before they are read (401 without the body
  being sent), connections and body bytes in flight are capped (503), and the master's
  resident memory stays flat while 30 connections push body bytes at it;
- item 5: a 100,000-level YAML submission does not stall /metrics or /api/live;
- item 10: a cross-site text/plain POST, a foreign Origin and a foreign Host are refused
  and no run starts; --ui-host adds a name;
- item 14: --ui-auth-file F works, is refused when others can read it, and the password
  is not on the command line;
- a local `stampede run --ui` (issue 12): /api/live says "local": true, POST /api/runs
  is a 409 (a master says "local": false). That one runs load, bounded, against the
  target on 127.0.0.1."""
import base64
import json
import os
import socket
import stat
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import check, main, test  # noqa: E402
from test_distributed import Master  # noqa: E402

MiB = 1 << 20


def addr(m):
    host, port = m.api.split("://")[1].rsplit(":", 1)
    return host, int(port)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def head(m, method, path, headers, length=None):
    h, p = addr(m)
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (h, p)]
    lines += ["%s: %s" % kv for kv in headers.items()]
    if length is not None:
        lines.append("Content-Length: %d" % length)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def connect(m, timeout=10):
    s = socket.create_connection(addr(m), timeout=timeout)
    return s


def read_answer(s, timeout):
    """(status, body text) of the answer on s, or (None, "") when none comes in time."""
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        hdr, _, rest = data.partition(b"\r\n\r\n")
        n = 0
        for line in hdr.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v.strip())
        while len(rest) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
    except socket.timeout:
        if not data:
            return None, ""
    except ConnectionResetError:
        pass
    if not data.startswith(b"HTTP/1."):
        return None, ""
    return int(data.split(b" ", 2)[1]), rest.decode(errors="replace")


def request(m, method, path, headers=None, body=b"", timeout=10):
    s = connect(m, timeout)
    try:
        s.sendall(head(m, method, path, headers or {}, len(body) if body or method == "POST" else None) + body)
        return read_answer(s, timeout)
    finally:
        s.close()


def auth_file(text, mode):
    fd, path = tempfile.mkstemp(prefix="ui-auth-")
    os.write(fd, text.encode())
    os.close(fd)
    os.chmod(path, mode)
    return path


def basic(userpass):
    return "Basic " + base64.b64encode(userpass.encode()).decode()


def live_state(m, headers=None):
    code, body = request(m, "GET", "/api/live", headers)
    check(code == 200, "GET /api/live: %s %s" % (code, body))
    return json.loads(body)


@test
def unauthenticated_bodies_refused_before_the_body():
    """Item 4: 30 connections declare a 16 MiB body without credentials; each is answered
    401 before sending a byte of it, and the body bytes they push anyway are not kept."""
    path = auth_file("admin:correct horse\n", 0o600)
    m = Master(None, "--ui-auth-file", path)
    try:
        rss0 = rss_kib(m.proc.pid)
        socks = []
        for _ in range(30):
            s = connect(m)
            s.sendall(head(m, "POST", "/api/runs", {"Content-Type": "application/json"}, 16 * MiB))
            socks.append(s)
        time.sleep(1.0)                 # the answers come without any body byte sent
        codes = [read_answer(s, 0.2)[0] for s in socks]
        # Push 4 MiB of body on each anyway (the attack kept all but the last byte).
        chunk = b"x" * MiB
        for s in socks:
            s.settimeout(10)
            try:
                for _ in range(4):
                    s.sendall(chunk)
            except OSError:
                pass                    # the master may have closed: also fine
        time.sleep(0.5)
        grown = (rss_kib(m.proc.pid) - rss0) / 1024.0
        check(all(c == 401 for c in codes), "answers before the body: %s (RSS grew by %.0f MiB)" % (codes, grown))
        check(grown < 32, "the master's RSS grew by %.0f MiB for 120 MiB of refused bodies" % grown)
        for s in socks:
            s.close()
        # With the credentials a body is read as before.
        code, body = request(m, "POST", "/api/runs", {"Authorization": basic("admin:correct horse"),
                                                      "Content-Type": "application/json"}, b"{}")
        check(code == 400 and "scenario" in body, "authenticated submission: %s %s" % (code, body))
    finally:
        m.kill()
        os.unlink(path)


@test
def body_bytes_and_connections_capped():
    """Item 4: authenticated clients too cannot make the master hold 30 x 16 MiB at once
    (503 beyond the budget), nor hold unbounded connections (503 beyond the cap); both
    are released when the clients go."""
    m = Master(None)
    try:
        socks, refused, waiting = [], 0, 0
        for _ in range(30):
            s = connect(m)
            s.sendall(head(m, "POST", "/api/runs", {"Content-Type": "application/json"}, 16 * MiB))
            socks.append(s)
        time.sleep(1.0)
        for s in socks:
            code, body = read_answer(s, 0.2)
            if code is None:
                waiting += 1
            elif code == 503:
                refused += 1
                check("retry" in body, "503 without a reason: %s" % body)
        check(waiting >= 1 and refused >= 1 and waiting + refused == 30,
              "16 MiB bodies: %d waited for, %d refused" % (waiting, refused))
        check(waiting * 16 <= 64, "%d bodies of 16 MiB accepted at once" % waiting)
        for s in socks:
            s.close()
        # Connections: open many idle ones; the newest are refused at once.
        idle = []
        for _ in range(100):
            idle.append(connect(m))
        time.sleep(0.3)
        over = 0
        for s in idle:
            s.setblocking(False)
            try:
                if s.recv(64).startswith(b"HTTP/1.1 503"):
                    over += 1
            except (BlockingIOError, ConnectionResetError):
                pass
        check(0 < over < 100, "100 idle connections: %d refused at once" % over)
        for s in idle:
            s.close()
        time.sleep(0.5)
        # Everything released: normal requests are served again.
        for _ in range(3):
            code, _ = request(m, "GET", "/api/live")
            check(code == 200, "GET /api/live after the flood: %s" % code)
        code, _ = request(m, "POST", "/api/runs", {"Content-Type": "application/json"}, b"{}")
        check(code == 400, "a body after the flood: %s" % code)
    finally:
        m.kill()


@test
def deep_yaml_does_not_stall_the_api():
    """Item 5: while a 100,000-level YAML submission is being parsed, /metrics and
    /api/live answer (a generous bound: this is responsiveness, not speed)."""
    m = Master(None)
    try:
        depth = 100000
        yaml = "name: deep\nusers:\n  - name: u\n    flow: " + "[" * depth + "]" * depth + "\n"
        body = json.dumps({"scenario": yaml, "scenario_file": "deep.yaml"}).encode()
        result = {}

        def submit():
            t0 = time.time()
            result["answer"] = request(m, "POST", "/api/runs", {"Content-Type": "application/json"}, body,
                                       timeout=120)
            result["s"] = time.time() - t0

        t = threading.Thread(target=submit)
        t.start()
        time.sleep(0.3)
        worst = 0.0
        for path in ("/metrics", "/api/live", "/metrics"):
            t0 = time.time()
            code, _ = request(m, "GET", path, timeout=30)
            took = time.time() - t0
            worst = max(worst, took)
            check(code == 200, "GET %s during the submission: %s" % (path, code))
        check(worst < 3.0, "the API took %.1f s to answer during a deep-YAML submission" % worst)
        t.join(120)
        check(not t.is_alive(), "the deep submission got no answer in 120 s")
        code, text = result["answer"]
        check(code in (400, 409), "deep YAML submission: %s %s" % (code, text[:200]))
        check(live_state(m).get("state") == "idle", "a run started from the deep YAML")
    finally:
        m.kill()


@test
def submissions_are_parsed_off_the_api_thread():
    """Item 5: while a large submission (about 12 MB of YAML) is being parsed, the API
    keeps answering: /metrics answers, and a second submission is told at once that
    another one is being checked (on the API thread it would have waited for the first
    to finish and then found a run in progress)."""
    m = Master(None)
    try:
        step = '      - http: { url: "/x?a={{ rand_int(1, 100) }}", expect: { status: 200 } }\n'
        yaml = ("name: big\ntarget: http://127.0.0.1:9\nload:\n  stages: [ { duration: 1s, users: 1 } ]\n"
                "users:\n  - name: u\n    flow:\n" + step * 150000)
        body = json.dumps({"scenario": yaml, "expect_timeout_ms": 300}).encode()
        # invalid (400) when nothing is being parsed, so these never take the slot themselves
        small = json.dumps({"scenario": ""}).encode()
        result = {}
        sent = threading.Event()

        def submit():
            s = connect(m, 120)
            s.sendall(head(m, "POST", "/api/runs", {"Content-Type": "application/json"}, len(body)) + body)
            sent.set()
            result["answer"] = read_answer(s, 120)
            s.close()

        t = threading.Thread(target=submit)
        t.start()
        check(sent.wait(60), "the large submission could not be sent")
        told, metrics_during = [], 0
        while t.is_alive() and len(told) < 200:
            code, text = request(m, "POST", "/api/runs", {"Content-Type": "application/json"}, small, timeout=60)
            if t.is_alive() and code == 409 and "another submission" in text:
                told.append(text)
                code, _ = request(m, "GET", "/metrics", timeout=60)
                if t.is_alive() and code == 200:
                    metrics_during += 1
            time.sleep(0.01)
        t.join(120)
        check(not t.is_alive(), "the large submission got no answer in 120 s")
        code, text = result["answer"]
        check(code == 201, "large submission: %s %s" % (code, text[:200]))
        check(told, "no second submission was answered while the first was being parsed")
        check(metrics_during > 0, "/metrics did not answer while a submission was being parsed")
    finally:
        m.kill()


@test
def web_pages_cannot_drive_the_api():
    """Item 10: the cross-site text/plain POST that started runs is refused, as are a
    foreign Origin, Sec-Fetch-Site: cross-site and a foreign Host (DNS rebinding)."""
    m = Master(None)
    try:
        scenario = "name: x\ntarget: http://127.0.0.1:9\nload:\n  stages: [ { duration: 1s, users: 1 } ]\n" \
                   "users:\n  - name: u\n    flow:\n      - http: { url: /ping }\n"
        body = json.dumps({"scenario": scenario, "expect_timeout_ms": 500}).encode()
        cases = [({"Content-Type": "text/plain", "Origin": "http://evil.example"}, (403, 415)),
                 ({"Content-Type": "text/plain"}, (415,)),
                 ({"Content-Type": "application/json", "Origin": "http://evil.example"}, (403,)),
                 ({"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, (403,))]
        for hdrs, want in cases:
            code, text = request(m, "POST", "/api/runs", hdrs, body)
            check(code in want, "%s: %s %s" % (hdrs, code, text))
        h, p = addr(m)
        s = connect(m)
        s.sendall(("POST /api/runs HTTP/1.1\r\nHost: evil.example:%d\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (p, len(body))).encode() + body)
        code, text = read_answer(s, 10)
        s.close()
        check(code == 421, "Host: evil.example: %s %s" % (code, text))
        s = connect(m)
        s.sendall(b"GET /api/live HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        code, _ = read_answer(s, 10)
        s.close()
        check(code == 421, "GET with Host: evil.example: %s" % code)
        check(live_state(m).get("run_id") is None, "a run was started by a refused request")
        # The same-origin JSON POST the dashboard sends still works.
        code, text = request(m, "POST", "/api/runs", {"Content-Type": "application/json",
                                                      "Origin": "http://%s:%d" % (h, p)}, body)
        check(code == 201, "same-origin submission: %s %s" % (code, text))
    finally:
        m.kill()
    m = Master(None, "--ui-host", "dash.example,other.example")
    try:
        s = connect(m)
        s.sendall(b"GET /api/live HTTP/1.1\r\nHost: dash.example:8089\r\n\r\n")
        code, _ = read_answer(s, 10)
        s.close()
        check(code == 200, "--ui-host dash.example: %s" % code)
    finally:
        m.kill()


@test
def ui_auth_file_keeps_the_password_off_the_command_line():
    """Item 14: --ui-auth-file F guards the API like --ui-auth, keeps the password out of
    /proc/PID/cmdline, and is refused when group or others can read it."""
    secret = "pw-%d" % os.getpid()
    loose = auth_file("ops:%s\n" % secret, 0o644)
    try:
        m = None
        try:
            m = Master(None, "--ui-auth-file", loose)
        except AssertionError as e:
            check("chmod 600" in str(e), "refusal does not say how to fix it: %s" % e)
        else:
            m.kill()
            raise AssertionError("a world-readable --ui-auth-file was accepted")
        os.chmod(loose, stat.S_IRUSR | stat.S_IWUSR)
        m = Master(None, "--ui-auth-file", loose)
        try:
            with open("/proc/%d/cmdline" % m.proc.pid, "rb") as f:
                check(secret.encode() not in f.read(), "the password is on the command line")
            code, _ = request(m, "GET", "/api/live")
            check(code == 401, "without credentials: %s" % code)
            code, _ = request(m, "GET", "/api/live", {"Authorization": basic("ops:" + secret)})
            check(code == 200, "with the file's credentials: %s" % code)
            code, _ = request(m, "GET", "/metrics", {"Authorization": basic("ops:wrong")})
            check(code == 401, "wrong password: %s" % code)
        finally:
            m.kill()
    finally:
        os.unlink(loose)


@test
def local_run_dashboard_cannot_start_runs():
    """A local `stampede run --ui`: /api/live says "local": true (the dashboard hides its
    New-run form) and POST /api/runs is a 409 that starts nothing; a master says false."""
    import subprocess
    t = lib.Target()
    path, d = lib.write_scenario(
        "name: local-ui\ntarget: %s\nload:\n  graceful_stop: 1s\n  stages:\n"
        "    - { duration: 100ms, users: 1 }\n    - { duration: 4s, users: 1 }\n"
        "users:\n  - name: u\n    flow:\n      - http: { url: /ping }\n      - think: 100ms\n" % t.url)
    err_path = os.path.join(d, "stderr")
    with open(err_path, "w") as ef:
        p = subprocess.Popen([os.path.join(lib.BIN, "stampede"), "run", path, "--ui", "127.0.0.1:0",
                              "--out", os.path.join(d, "out"), "--only-summary"],
                             stdout=subprocess.DEVNULL, stderr=ef)
    lib._procs.append(p)
    try:
        api = None
        deadline = time.monotonic() + 20
        while api is None and time.monotonic() < deadline and p.poll() is None:
            for line in open(err_path).read().splitlines():
                if "dashboard on http://" in line:
                    api = line.split("dashboard on ")[1].split("/ ")[0].rstrip("/")
            time.sleep(0.05)
        check(api is not None, "no dashboard line: %s" % open(err_path).read())

        class Local:
            pass
        loc = Local()
        loc.api = api
        live = live_state(loc)
        check(live.get("local") is True, "a local run's /api/live: local = %r" % live.get("local"))
        body = json.dumps({"scenario": open(path).read(), "scenario_file": "x.yaml"}).encode()
        code, text = request(loc, "POST", "/api/runs", {"Content-Type": "application/json"}, body)
        check(code == 409 and json.loads(text).get("error") == "a local run's dashboard cannot start runs",
              "POST /api/runs on a local run: %s %s" % (code, text))
        check(live_state(loc).get("scenario") == "local-ui", "the local run was replaced")
        check(p.wait(timeout=60) == 0, "the local run: exit %s %s" % (p.returncode, open(err_path).read()))
    finally:
        if p.poll() is None:
            p.kill()
        t.stop()
    m = Master(None)
    try:
        check(live_state(m).get("local") is False, "a master's /api/live: local = %r" % live_state(m).get("local"))
    finally:
        m.kill()

if __name__ == "__main__":
    lib.TESTS[:] = [f for f in lib.TESTS if f.__module__ == "__main__"]   # not the imported files' tests
    main()
