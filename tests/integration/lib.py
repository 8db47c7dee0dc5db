"""Helpers for integration tests: real processes on 127.0.0.1, bounded in time.

Every process started here is killed at exit; every run has a timeout. Load goes only
to the target this module starts on the loopback interface."""
import atexit
import csv
import json
import math
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, os.environ.get("BIN", "bin"))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (bound, read, released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# The ASan+UBSan build (BIN=bin-san) spends about a millisecond of instrumented client
# CPU per request, which lands in every measured latency: the latency-precision checks
# (p50 within 1 ms of a fixed server delay) are judged on the plain build, and the
# sanitizer pass checks the same runs with this much more room.
SAN_SLACK_MS = 2.0 if os.path.basename(BIN.rstrip("/")).endswith("-san") else 0.0
# ASan keeps freed memory in a quarantine (256 MiB by default) that shows in RSS: the
# memory checks (a refused body, a million-user peak, 100,000 names) would measure the
# quarantine, not the daemon. A small one keeps use-after-free detection and true RSS.
if SAN_SLACK_MS and "quarantine_size_mb" not in os.environ.get("ASAN_OPTIONS", ""):
    os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4").lstrip(":")
_procs = []


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_cleanup)


class Target:
    """tests/target on an ephemeral loopback port; the ground truth of what was served."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([os.path.join(BIN, "stampede-target"), "--listen", "127.0.0.1:0",
                                      "--max-seconds", "600", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _procs.append(self.proc)
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            raise RuntimeError("target did not start: %r %s" % (line, self.proc.stderr.read()))
        self.port = int(line.split(":")[-1])
        self.url = "http://127.0.0.1:%d" % self.port

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=5) as r:
            return json.loads(r.read())

    def post(self, path, body):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read() or b"{}")

    def counters(self):
        return self.get("/__target/counters")

    def arrivals(self, of="http", bucket_ms=1000, t0=None):
        """GET /__target/arrivals: requests (of="http") or WebSocket messages (of="ws")
        as they arrived, per bucket_ms, from t0 (a CLOCK_MONOTONIC instant in us, the same
        clock as time.monotonic()) or from the first arrival since start/reset."""
        q = "?of=%s&bucket_ms=%d" % (of, bucket_ms)
        if t0 is not None:
            q += "&t0=%d" % t0
        return self.get("/__target/arrivals" + q)

    def stall(self, ms):
        """POST /__target/stall: HTTP requests arriving in the next ms are answered when
        it ends. Returns the reply ({"stall_ms", "until_mono_us"})."""
        return self.post("/__target/stall", {"ms": ms})

    def settled_counters(self, timeout=10):
        """The counters once no delayed or stalled answer is pending (bounded wait)."""
        deadline = time.monotonic() + timeout
        c = self.counters()
        while c["pending"] and time.monotonic() < deadline:
            time.sleep(0.05)
            c = self.counters()
        return c

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def write_scenario(text, name="scenario.yaml", files=None):
    d = tempfile.mkdtemp(prefix="stampede-it-")
    for fname, content in (files or {}).items():
        with open(os.path.join(d, fname), "w") as f:
            f.write(content)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path, d


def run(args, timeout=120, sigint_after=None, env=None):
    """Runs bin/stampede with args; optionally sends SIGINT after sigint_after seconds.
    Returns (exit code, stdout, stderr)."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.Popen([os.path.join(BIN, "stampede"), *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=e)
    _procs.append(p)
    if sigint_after is not None:
        try:
            out, err = p.communicate(timeout=sigint_after)
            return p.returncode, out, err
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("stampede did not finish within %ss: %s" % (timeout, err[-2000:]))
    return p.returncode, out, err


def without_health_notes(err):
    """stderr without what the generator's health (master/health.h) says of a worker it
    flagged: warnings like the generator-limited ones, printed even with --quiet. A machine
    loaded by others makes the engines' loops late and the flag is then right; a test of
    what --quiet prints checks the rest."""
    keep, notes = [], False
    for line in err.splitlines(True):
        if line.startswith("stampede[master] warn: worker ") and "may have been the bottleneck" in line:
            continue
        if line.startswith("stampede: the verdict is not clean:"):
            notes = True
            continue
        if notes and line.startswith("  - ") and "was flagged in" in line:
            continue
        notes = False
        keep.append(line)
    return "".join(keep)


def summary(outdir):
    with open(os.path.join(outdir, "summary.json")) as f:
        return json.load(f)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def hist_bucket_high(v):
    """The highest value of v's histogram bucket, in us (common/hist.h: exact below 1024,
    then 1024 buckets per power of two)."""
    if v < 1024:
        return v
    shift = v.bit_length() - 11
    return (((v >> shift) << shift) + (1 << shift)) - 1


def hist_percentile(samples, p):
    """hist_percentile over one histogram fed every sample (the rank rule of common/hist.c),
    for checking reported percentiles against the engines' raw samples
    (STAMPEDE_SAMPLE_LOG)."""
    s = sorted(samples)
    rank = max(1, min(len(s), math.ceil(p * len(s) / 100.0)))
    return min(max(hist_bucket_high(s[rank - 1]), s[0]), s[-1])


def route_counts(counters):
    """{"METHOD /path": requests} from the target's counters."""
    return {k: v["requests"] for k, v in counters["routes"].items()}


class Failed(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def main():
    import sys
    import traceback
    only = sys.argv[1:]
    passed = failed = 0
    for fn in TESTS:
        if only and fn.__name__ not in only:
            continue
        t0 = time.time()
        try:
            fn()
            passed += 1
            print("  ok    %-48s %5.1fs" % (fn.__name__, time.time() - t0), flush=True)
        except Exception:
            failed += 1
            print("  FAIL  %-48s %5.1fs" % (fn.__name__, time.time() - t0), flush=True)
            traceback.print_exc()
    print("%s: %d passed, %d failed" % (os.path.basename(sys.argv[0]).replace(".py", ""), passed, failed))
    sys.exit(1 if failed else 0)
