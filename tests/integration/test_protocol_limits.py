"""Peers that claim too much or say nothing (issue 9, findings 7, 11, 12 and 15).

Hand-made peers speak nng's SP-over-TCP framing (8-byte handshake, then a 64-bit
big-endian length and a body whose first 4 bytes are pair1's header) to a real
stampede-master; real workers and the real target show the master still works after.

Every process is killed at exit; every wait is bounded."""
import json
import os
import resource
import socket
import struct
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Target, check, main, summary, test, write_scenario  # noqa: E402
from test_distributed import Master, Worker, run_remote, teardown  # noqa: E402
from test_local import OPERATORS, check_exact, erp_scenario  # noqa: E402
from test_relay import metric, mp_array, mp_str, mp_uint  # noqa: E402

SP_PAIR1 = b"\x00SP\x00\x00\x11\x00\x00"


def sp_connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(SP_PAIR1)
    got = b""
    while len(got) < 8:
        b = s.recv(8 - len(got))
        if not b:
            raise OSError("closed during the SP handshake")
        got += b
    return s


def sp_send(s, payload):
    body = b"\x00\x00\x00\x01" + payload
    s.sendall(struct.pack(">Q", len(body)) + body)


def sp_recv(s, timeout=5):
    s.settimeout(timeout)
    head = b""
    while len(head) < 8:
        b = s.recv(8 - len(head))
        if not b:
            raise OSError("closed")
        head += b
    n = struct.unpack(">Q", head)[0]
    body = b""
    while len(body) < n:
        b = s.recv(n - len(body))
        if not b:
            raise OSError("closed")
        body += b
    return body[4:]


def hello(threads, nonce_m_ignored=None, wid="claimer"):
    """A v4 HELLO without a key proof (the master below has no key, on loopback)."""
    return mp_array([mp_uint(4), mp_uint(1), mp_str(wid), mp_str("host"), mp_uint(2),
                     mp_uint(threads), mp_str("test"), mp_uint(1),
                     b"\xc4\x20" + os.urandom(32), b"\xc0"])


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def live(m):
    with urllib.request.urlopen(m.api + "/api/live", timeout=5) as r:
        return json.loads(r.read())


@test
def test_hello_with_huge_thread_count_rejected():
    m = Master(None)
    before = rss_kib(m.proc.pid)
    s = sp_connect(m.port)
    sp_recv(s)                                  # the CHALLENGE
    sp_send(s, hello(20000000))
    reply = sp_recv(s)
    check(b"engine threads" in reply and b"1024" in reply, "expected a REJECT naming the bound: %r" % reply[:200])
    s.close()
    check(len(m.workers()["workers"]) == 0, "the claimer was registered: %s" % m.workers())
    check(rss_kib(m.proc.pid) - before < 20 * 1024, "the master's memory grew by %d KiB"
          % (rss_kib(m.proc.pid) - before))
    m.kill()


@test
def test_garbage_logs_are_rate_limited_and_counted():
    m = Master(None)
    s = sp_connect(m.port)
    sp_recv(s)
    n = 5000
    for i in range(n):
        sp_send(s, b"\x93\x04\x63" + b"\xc1" * 20)
    t0 = time.time()
    while time.time() - t0 < 10 and (metric(m, "stampede_protocol_dropped_total") or 0) < n:
        time.sleep(0.2)
    s.close()
    dropped = metric(m, "stampede_protocol_dropped_total") or 0
    check(dropped >= n, "the master counted %d of %d dropped messages" % (dropped, n))
    lines = [ln for ln in m.stderr().splitlines() if "dropped a message" in ln]
    check(0 < len(lines) <= 30, "%d log lines for %d garbage messages" % (len(lines), n))
    m.kill()


@test
def test_silent_connections_time_out():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    m = Master(None)
    base = fd_count(m.proc.pid)
    socks = []
    n = min(1500, want - 200)
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", m.port), timeout=5)
            s.sendall(SP_PAIR1)                 # a pipe, then nothing: never a HELLO
            socks.append(s)
        except OSError:
            break
    time.sleep(1)
    held = fd_count(m.proc.pid)
    check(held > base + 100, "the silent connections did not reach the master (%d fds, base %d)" % (held, base))
    t0 = time.time()
    while time.time() - t0 < 20 and fd_count(m.proc.pid) > base + 20:
        time.sleep(0.5)
    after = fd_count(m.proc.pid)
    check(after <= base + 20, "%d silent connections still hold %d descriptors (base %d)" % (n, after, base))
    check((metric(m, "stampede_protocol_hello_timeouts_total") or 0) > 0, "timeouts not counted")
    for s in socks:
        s.close()
    # A real worker still joins and runs.
    t = Target()
    w = Worker(m.url, "after-flood")
    m.wait_workers(1)
    path, d = write_scenario(erp_scenario(t, [("500ms", 2), ("1s", 2)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run_remote(m, path, out, 1)
    check(rc == 0, "exit %d: %s" % (rc, err))
    check_exact(summary(out), t.counters())
    teardown(m, [w], t)


@test
def test_live_view_shows_the_new_run_at_once():
    t = Target()
    m = Master(None)
    w = Worker(m.url, "w0")
    m.wait_workers(1)
    path, d = write_scenario(erp_scenario(t, [("500ms", 2), ("1s", 2)]), files={"operators.csv": OPERATORS})
    rc, _, err = run_remote(m, path, os.path.join(d, "out1"), 1)
    check(rc == 0, "exit %d: %s" % (rc, err))
    first = live(m)
    check(first["state"] == "finished", "first run: %s" % first["state"])
    # The second run waits for two workers (only one is there): no STATS will come.
    body = json.dumps({"scenario": open(path).read(), "scenario_file": "scenario.yaml",
                       "files": [{"path": "operators.csv", "data": OPERATORS}], "sets": [],
                       "host": None, "users": 0, "rate": 0, "duration_ms": 0,
                       "expect_workers": 2, "expect_timeout_ms": 4000}).encode()
    req = urllib.request.Request(m.api + "/api/runs", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        check(r.status in (200, 201, 202), "submit: %d" % r.status)
    time.sleep(1.5)
    now = live(m)
    check(now["run_id"] != first["run_id"], "/api/live still shows the previous run %s" % first["run_id"])
    check(now["state"] == "waiting", "/api/live state %s, expected waiting" % now["state"])
    text = urllib.request.urlopen(m.api + "/metrics", timeout=5).read().decode()
    check('state="waiting"' in text and first["run_id"] not in text,
          "/metrics still shows the previous run")
    check("stampede_requests_total{" not in text, "/metrics shows the previous run's requests")
    teardown(m, [w], t)


def mp_read_uint(b, i):
    """(value, next index) of a msgpack unsigned int at b[i]."""
    c = b[i]
    if c < 0x80:
        return c, i + 1
    width = {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}[c]
    return int.from_bytes(b[i + 1:i + 1 + width], "big"), i + 1 + width


def plan_run_id(payload):
    """The run id of a plain PLAN: [version, type, run_id, ...]."""
    c = payload[0]
    i = 1 if c & 0xf0 == 0x90 else 3 if c == 0xdc else 5
    version, i = mp_read_uint(payload, i)
    mtype, i = mp_read_uint(payload, i)
    if mtype != 2:
        return None
    return mp_read_uint(payload, i)[0]


def stats_many_names(run_id, wid, n, final):
    """One STATS delta (12-element envelope) with n entries of one 500 us request each."""
    hist = mp_array([mp_uint(1), mp_uint(0), mp_uint(0), mp_uint(500), mp_uint(500), mp_uint(500),
                     mp_array([mp_uint(500), mp_uint(1)])])
    entries = b"".join(mp_array([mp_str("GET"), mp_str("/n%06d" % k), mp_uint(1), mp_uint(0), mp_uint(0), hist])
                       for k in range(n))
    return (bytes([0x9c]) + mp_uint(4) + mp_uint(4) + mp_uint(run_id) + mp_str(wid) + mp_uint(0)
            + mp_uint(0) + mp_uint(1) + mp_uint(0) + mp_uint(0) + (b"\xc3" if final else b"\xc2")
            + b"\xdd" + struct.pack(">I", n) + entries + mp_array([]))


@test
def test_one_stats_with_100000_names_is_capped():
    """A welcomed peer sends one STATS with 100,000 new names: the master keeps the run's
    name cap (500 by default), folds the rest into the overflow entry, keeps the totals
    exact, and /metrics stays small."""
    t = Target()
    m = Master(None)
    s = sp_connect(m.port)
    sp_recv(s)
    sp_send(s, hello(1, wid="many-names"))
    welcome = sp_recv(s)
    check(welcome[1:3] == bytes([4, 9]), "expected a WELCOME: %r" % welcome[:40])
    m.wait_workers(1)
    path, d = write_scenario(erp_scenario(t, [("1s", 1)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    result = {}
    import threading
    th = threading.Thread(target=lambda: result.update(rc=run_remote(m, path, out, 1)))
    th.start()
    run_id = None
    t0 = time.time()
    while time.time() - t0 < 15 and run_id is None:
        try:
            p = sp_recv(s, timeout=1)
        except socket.timeout:
            continue
        run_id = plan_run_id(p)
    check(run_id is not None, "no PLAN reached the peer")
    before = rss_kib(m.proc.pid)
    n = 100000
    sp_send(s, stats_many_names(run_id, "many-names", n, True))
    # DONE, then answer until the run ends (STOP / ACK); heartbeats keep the peer alive.
    done = bytes([0x96]) + mp_uint(4) + mp_uint(5) + mp_uint(run_id) + mp_str("many-names") + mp_uint(1) + mp_str("finished")
    sp_send(s, done)
    t0 = time.time()
    while time.time() - t0 < 30 and th.is_alive():
        sp_send(s, bytes([0x95]) + mp_uint(4) + mp_uint(7) + mp_uint(1) + mp_uint(0) + mp_uint(0))
        time.sleep(0.5)
    th.join(5)
    rc, _, err = result["rc"]
    sm = summary(out)
    names = [r["name"] for r in sm["requests"]]
    check(len(names) <= 501, "%d names in summary.json" % len(names))
    check(sm["totals"]["requests"] == n, "totals %d != %d sent" % (sm["totals"]["requests"], n))
    text = urllib.request.urlopen(m.api + "/metrics", timeout=5).read()
    check(len(text) < 2 * 1024 * 1024, "/metrics is %d bytes" % len(text))
    check(rss_kib(m.proc.pid) - before < 200 * 1024, "the master grew by %d KiB" % (rss_kib(m.proc.pid) - before))
    s.close()
    m.kill()
    t.stop()


if __name__ == "__main__":
    import lib
    lib.TESTS[:] = [f for f in lib.TESTS if f.__module__ == "__main__"]   # not the imported files' tests
    main()
