"""A worker with the wrong shared key backs off (issue 12): it used to redial twice a
second forever. stampede-master (with a key) and stampede-worker (with another key) as
separate processes on 127.0.0.1; the worker's log lines are timestamped as they arrive.

What must hold, watched for WATCH_S seconds:
- every refusal is logged with the master's reason ("wrong shared key") and the wait;
- the waits double from 0.5 s (0.5, 1, 2, 4, ...) and the gaps between refusals grow
  with them (each gap at least its wait);
- the master's stampede_protocol_auth_failures_total (/metrics) grows slowly: at most one
  refusal per backoff step, far from the twice a second of a fixed redial;
- a worker with the right key then joins at once (the backoff is the refused worker's
  own; the reset on WELCOME is in worker/agent.c's agent_welcome).

No load is sent. Bounded: about 12 s."""
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import BIN, _procs, check, main, test  # noqa: E402
from test_distributed import Master, Worker  # noqa: E402

WATCH_S = 9.0
FIRST_WAIT_S = 0.5
REFUSED = re.compile(r"the master refused this worker: (.*); dialing again in ([0-9.]+) s \((\d+) refusals in a row\)")


class TimedWorker:
    """stampede-worker whose stderr lines are kept with the monotonic time they came."""

    def __init__(self, master_url, name, *args):
        self.lines = []
        self.proc = subprocess.Popen([os.path.join(BIN, "stampede-worker"), "--master", master_url,
                                      "--threads", "1", "--id", name, *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, STAMPEDE_LOG="info"))
        _procs.append(self.proc)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def text(self):
        return "\n".join(ln for _, ln in self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def auth_failures(m):
    """The master's stampede_protocol_auth_failures_total from /metrics (None: not there)."""
    with urllib.request.urlopen(m.api + "/metrics", timeout=5) as r:
        text = r.read().decode()
    for ln in text.splitlines():
        if ln.startswith("stampede_protocol_auth_failures_total"):
            return float(ln.split()[-1])
    return None


def keys():
    kd = tempfile.mkdtemp(prefix="keys-")
    good, bad = os.path.join(kd, "good"), os.path.join(kd, "bad")
    for f, k in ((good, "correct-horse-battery-staple-1"), (bad, "some-other-key-entirely-222")):
        with open(f, "w") as fh:
            fh.write(k + "\n")
        os.chmod(f, 0o600)
    return good, bad


@test
def test_wrong_key_backs_off_and_says_why():
    good, bad = keys()
    m = Master(None, "--key-file", good)
    t0 = time.monotonic()
    w = TimedWorker(m.url, "badkey", "--key-file", bad)
    samples = []                     # (seconds since start, auth failures) once a second
    while time.monotonic() - t0 < WATCH_S:
        time.sleep(1.0)
        samples.append((round(time.monotonic() - t0, 1), auth_failures(m)))
    w.stop()
    refusals = [(t, REFUSED.search(ln)) for t, ln in w.lines if REFUSED.search(ln)]
    check(len(refusals) >= 3, "want at least 3 logged refusals in %.0f s, got %d:\n%s"
          % (WATCH_S, len(refusals), w.text()[-2000:]))
    for _, mt in refusals:
        check(mt.group(1) == "wrong shared key", "each refusal names the master's reason: %r" % mt.group(0))
    waits = [float(mt.group(2)) for _, mt in refusals]
    counts = [int(mt.group(3)) for _, mt in refusals]
    want = [min(FIRST_WAIT_S * 2 ** i, 60.0) for i in range(len(waits))]
    check(waits == want, "the waits double from %.1f s: got %s, want %s" % (FIRST_WAIT_S, waits, want))
    check(counts == list(range(1, len(counts) + 1)), "refusals counted in a row: %s" % counts)
    # The gap between two refusals is at least the wait announced after the first one.
    times = [t for t, _ in refusals]
    gaps = [b - a for a, b in zip(times, times[1:])]
    for gap, wait in zip(gaps, waits):
        check(gap >= wait, "a refusal came %.2f s after the previous one, before its %.1f s wait" % (gap, wait))
    check(all(b > a for a, b in zip(gaps, gaps[1:])), "the gaps between refusals grow: %s" % gaps)
    # The master's side: one refusal per dial, so the counter follows the backoff.
    final = samples[-1][1]
    check(final is not None, "/metrics has no stampede_protocol_auth_failures_total: %s" % samples)
    fixed_redial = WATCH_S * 2       # what a redial twice a second would have cost
    check(len(refusals) - 1 <= final <= len(refusals) + 1,
          "the master counted %s auth failures, the worker logged %d refusals" % (final, len(refusals)))
    check(final <= fixed_redial / 2, "the master counted %s auth failures in %.0f s: %s"
          % (final, WATCH_S, samples))
    check("wrong shared key" in m.stderr(), "the master logs the refusal: " + m.stderr()[-1000:])
    # A worker with the right key is not slowed by any of this.
    wg = Worker(m.url, "goodkey", "--key-file", good)
    ws = m.wait_workers(1, timeout=5)
    check([x["id"] for x in ws] == ["goodkey"], "workers: %s" % ws)
    wg.stop()
    m.kill()


if __name__ == "__main__":
    lib.TESTS[:] = [f for f in lib.TESTS if f.__module__ == "__main__"]   # not the imported files' tests
    main()
