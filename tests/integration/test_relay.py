"""A relay on the path between a keyed worker and its master (issue 9, finding 1).

The relay holds no key. It speaks nng's SP-over-TCP framing (8-byte handshake, then
messages as a 64-bit big-endian length and a body whose first 4 bytes are pair1's
header), forwards everything, records every byte, and can tamper with, replay or inject
messages. With the shared key every message after WELCOME is sealed (PROTOCOL.md 4):
the relay must read neither the scenario nor a data file, and nothing it alters or
adds may be merged; a keyed run through a plain forwarding relay still works.

Every process is killed at exit; every wait is bounded."""
import json
import os
import socket
import struct
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Target, check, main, summary, test, write_scenario  # noqa: E402
from test_distributed import Master, Worker, run_remote, teardown  # noqa: E402
from test_local import check_exact, erp_scenario  # noqa: E402

SECRET = "pw-RELAYSECRET-7f3a"
OPERATORS = "username,password\n" + "".join("op%03d,%s-%03d\n" % (i, SECRET, i) for i in range(1, 41))
MSG_WELCOME = 9


# --- msgpack, just what a forged STATS needs -----------------------------------------
def mp_uint(v):
    if v < 128:
        return bytes([v])
    if v < 1 << 8:
        return b"\xcc" + bytes([v])
    if v < 1 << 16:
        return b"\xcd" + struct.pack(">H", v)
    if v < 1 << 32:
        return b"\xce" + struct.pack(">I", v)
    return b"\xcf" + struct.pack(">Q", v)


def mp_str(s):
    b = s.encode()
    return (bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b


def mp_array(items):
    n = len(items)
    return (bytes([0x90 | n]) if n < 16 else b"\xdc" + struct.pack(">H", n)) + b"".join(items)


def forged_stats(version, run_id, worker, name="/injected", requests=1000081):
    """A well-formed STATS delta: `requests` requests of 500 us under `name`."""
    hist = mp_array([mp_uint(requests), mp_uint(0), mp_uint(0), mp_uint(500), mp_uint(500),
                     mp_uint(500 * requests), mp_array([mp_uint(500), mp_uint(requests)])])
    entry = mp_array([mp_str("GET"), mp_str(name), mp_uint(requests), mp_uint(0), mp_uint(0), hist])
    return mp_array([mp_uint(version), mp_uint(4), mp_uint(run_id), mp_str(worker), mp_uint(0),
                     mp_uint(0), mp_uint(1), mp_uint(0), mp_uint(0), b"\xc2",
                     mp_array([entry]), mp_array([])])


def msg_type(payload):
    """(version, type) of a plain message, None for a sealed frame or anything else."""
    if not payload or payload[0] & 0xf0 != 0x90 or len(payload) < 3:
        return None
    if payload[1] >= 0x80 or payload[2] >= 0x80:
        return None
    return payload[1], payload[2]


# --- the relay -------------------------------------------------------------------------
class Relay:
    """Listens on 127.0.0.1; each connection is forwarded to the master's port. hook(conn,
    direction, payload) returns the list of payloads to send on ("w2m" or "m2w")."""

    def __init__(self, master_port, hook=None):
        self.master_port = master_port
        self.hook = hook or (lambda conn, d, p: [p])
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.url = "tcp://127.0.0.1:%d" % self.port
        self.seen = bytearray()
        self.lock = threading.Lock()
        self.conns = 0
        self.sessions = 0       # connections that reached a WELCOME
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.master_port), timeout=5)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += 1
                # after: messages passed in each direction since the WELCOME
                conn = {"n": self.conns, "welcomed": False, "after": {"w2m": 0, "m2w": 0}}
            threading.Thread(target=self._pump, args=(conn, c, u, "w2m"), daemon=True).start()
            threading.Thread(target=self._pump, args=(conn, u, c, "m2w"), daemon=True).start()

    @staticmethod
    def _read(s, n):
        buf = b""
        while len(buf) < n:
            b = s.recv(n - len(buf))
            if not b:
                raise OSError("closed")
            buf += b
        return buf

    def _pump(self, conn, src, dst, direction):
        src.settimeout(None)
        try:
            hs = self._read(src, 8)            # the SP handshake, as is
            dst.sendall(hs)
            while True:
                n = struct.unpack(">Q", self._read(src, 8))[0]
                body = self._read(src, n)
                head, payload = body[:4], body[4:]
                with self.lock:
                    self.seen += payload
                t = msg_type(payload)
                welcome = bool(t and t[1] == MSG_WELCOME)
                if welcome:
                    conn["version"] = t[0]      # forge in the version the peers speak
                out = self.hook(conn, direction, payload) if conn["welcomed"] else [payload]
                if conn["welcomed"]:
                    conn["after"][direction] += 1
                if welcome and not conn["welcomed"]:
                    conn["welcomed"] = True
                    with self.lock:
                        self.sessions += 1
                        conn["session"] = self.sessions
                for p in out:
                    b = head + p
                    dst.sendall(struct.pack(">Q", len(b)) + b)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def contains(self, text):
        with self.lock:
            return text.encode() in bytes(self.seen)

    def close(self):
        self.closed = True
        self.lsock.close()


def keyfile():
    d = tempfile.mkdtemp(prefix="relay-key-")
    f = os.path.join(d, "key")
    with open(f, "w") as fh:
        fh.write("relay-test-shared-key-0123456789\n")
    os.chmod(f, 0o600)
    return f


def metric(m, name):
    with urllib.request.urlopen(m.api + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def live(m):
    with urllib.request.urlopen(m.api + "/api/live", timeout=5) as r:
        return json.loads(r.read())


def scenario(t, stages):
    return erp_scenario(t, stages).replace("name: it-erp", "name: relay-scenario-7f3a")


@test
def test_keyed_run_through_forwarding_relay_reads_nothing():
    t = Target()
    key = keyfile()
    m = Master(None, "--key-file", key)
    relay = Relay(m.port)
    w = Worker(relay.url, "relayed", "--key-file", key)
    m.wait_workers(1)
    path, d = write_scenario(scenario(t, [("500ms", 4), ("2s", 4)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run_remote(m, path, out, 1, extra=("--exit-code-on-error", "0"))
    check(rc == 0, "a keyed run through a forwarding relay should work: exit %d: %s" % (rc, err))
    check_exact(summary(out), t.counters())
    check(relay.conns >= 1 and len(relay.seen) > 1000, "the relay saw no traffic")
    check(not relay.contains(SECRET), "the relay read a data file's password in clear")
    check(not relay.contains("relay-scenario-7f3a"), "the relay read the scenario in clear")
    check(not relay.contains("/ppic/manufacturing-orders"), "the relay read the scenario's URLs")
    relay.close()
    teardown(m, [w], t)


@test
def test_injected_stats_not_merged():
    """The relay adds a well-formed STATS (right version, run id and worker id) right after
    a message of the worker's, once the run runs: it must not be merged, and the session
    ends."""
    t = Target()
    key = keyfile()
    m = Master(None, "--key-file", key)
    state = {"run_id": None, "injected": 0}

    def hook(conn, direction, payload):
        out = [payload]
        if direction == "w2m" and state["run_id"] is not None and state["injected"] == 0:
            state["injected"] += 1
            out.append(forged_stats(conn.get("version", 4), state["run_id"], "relayed"))
        return out
    relay = Relay(m.port, hook)
    w_relayed = Worker(relay.url, "relayed", "--key-file", key)
    w_direct = Worker(m.url, "direct", "--key-file", key)
    m.wait_workers(2)
    path, d = write_scenario(scenario(t, [("500ms", 4), ("4s", 4)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    result = {}
    th = threading.Thread(target=lambda: result.update(rc=run_remote(m, path, out, 2)))
    th.start()
    t0 = time.time()
    while time.time() - t0 < 15 and state["run_id"] is None:
        try:
            lv = live(m)
            if lv.get("run_id") and lv.get("state") == "running":
                state["run_id"] = int(lv["run_id"])   # decimal, as /api/live writes it
        except OSError:
            pass
        time.sleep(0.1)
    th.join(90)
    check(state["injected"] == 1, "the relay found no moment to inject (run id %s)" % state["run_id"])
    rc, _, err = result["rc"]
    s = summary(out)
    names = [r["name"] for r in s["requests"]]
    check("/injected" not in names, "the injected STATS was merged: %s" % names)
    counters = t.counters()
    check(s["totals"]["requests"] <= counters["total"],
          "reported %d requests, the target served %d" % (s["totals"]["requests"], counters["total"]))
    check("plain message inside a sealed session" in m.stderr(), "master log: " + m.stderr()[-1500:])
    check((metric(m, "stampede_protocol_seal_failures_total") or 0) >= 1, "the failure was not counted")
    relay.close()
    teardown(m, [w_relayed, w_direct], t)


@test
def test_replayed_and_tampered_messages_end_the_session():
    """First session: the relay sends the worker's first message after the WELCOME twice
    (a replay). Second: it flips a bit in the master's first message after the WELCOME
    (tampering).
    Both sessions end, each counted by the side that received it; the third session
    is left alone, and a run through it then counts exactly."""
    t = Target()
    key = keyfile()
    m = Master(None, "--key-file", key)
    done = {"replay": 0, "tamper": 0}

    def hook(conn, direction, payload):
        if conn["session"] == 1 and direction == "w2m" and conn["after"]["w2m"] == 0:
            done["replay"] += 1
            return [payload, payload]
        if conn["session"] == 2 and direction == "m2w" and conn["after"]["m2w"] == 0:
            done["tamper"] += 1
            b = bytearray(payload)
            b[len(b) // 2] ^= 0x01
            return [bytes(b)]
        return [payload]
    relay = Relay(m.port, hook)
    w = Worker(relay.url, "relayed", "--key-file", key)
    t0 = time.time()
    while time.time() - t0 < 30 and relay.sessions < 3:
        time.sleep(0.2)
    check(done == {"replay": 1, "tamper": 1}, "the relay did not replay and tamper: %s (%d sessions)"
          % (done, relay.sessions))
    m.wait_workers(1)
    check("failed authentication" in m.stderr(), "the master should end the replayed session: "
          + m.stderr()[-1500:])
    check("failed authentication" in w.stderr(), "the worker should end the tampered session: "
          + w.stderr()[-1500:])
    check((metric(m, "stampede_protocol_seal_failures_total") or 0) >= 1, "the replay was not counted")
    path, d = write_scenario(scenario(t, [("500ms", 2), ("2s", 2)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run_remote(m, path, out, 1, extra=("--exit-code-on-error", "0"))
    check(rc == 0, "exit %d: %s" % (rc, err))
    check_exact(summary(out), t.counters())
    relay.close()
    teardown(m, [w], t)


if __name__ == "__main__":
    import lib
    lib.TESTS[:] = [f for f in lib.TESTS if f.__module__ == "__main__"]   # not the imported files' tests
    main()
