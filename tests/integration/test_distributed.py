"""Distributed runs: stampede-master and stampede-worker as separate processes on
127.0.0.1, tests/target as the ground truth, faults injected with real signals.

Every process is killed at exit; every wait is bounded."""
import glob
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import BIN, Target, _procs, check, free_port, hist_percentile, main, read_csv, run, summary, test, write_scenario  # noqa: E402
from test_local import OPERATORS, check_exact, erp_scenario  # noqa: E402


class Master:
    def __init__(self, port=None, *args):
        self.port = port or free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="master-", suffix=".log", delete=False).name
        self.results = tempfile.mkdtemp(prefix="master-results-")
        self.proc = subprocess.Popen([os.path.join(BIN, "stampede-master"), "--listen",
                                      "tcp://127.0.0.1:%d" % self.port, "--http", "127.0.0.1:0",
                                      "--results-dir", self.results, *args],
                                     stdout=subprocess.PIPE, stderr=open(self.log, "w"), text=True,
                                     env=dict(os.environ, STAMPEDE_LOG="info"))
        _procs.append(self.proc)
        line = self.proc.stdout.readline()
        check("api on http://" in line, "master did not start: %r %s" % (line, self.stderr()))
        self.api = line.strip().split("api on ")[1]
        self.url = "tcp://127.0.0.1:%d" % self.port

    def stderr(self):
        return open(self.log).read()

    def workers(self):
        with urllib.request.urlopen(self.api + "/api/workers", timeout=5) as r:
            return json.loads(r.read())

    def wait_workers(self, n, timeout=15):
        t0 = time.time()
        while time.time() - t0 < timeout:
            try:
                w = self.workers()
                ws = w["workers"]
                if len([x for x in ws if x.get("state") not in ("lost", "left", "gone")]) >= n:
                    return ws
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("master saw fewer than %d workers: %s" % (n, self.stderr()[-2000:]))

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)


class Worker:
    def __init__(self, master_url, name, *args, env=None):
        self.log = tempfile.NamedTemporaryFile(prefix="worker-%s-" % name, suffix=".log", delete=False).name
        e = dict(os.environ, STAMPEDE_LOG="info")
        e.update(env or {})
        self.proc = subprocess.Popen([os.path.join(BIN, "stampede-worker"), "--master", master_url,
                                      "--threads", "1", "--id", name, *args],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "w"), env=e)
        _procs.append(self.proc)

    def stderr(self):
        return open(self.log).read()

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self):
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def cluster(n, *margs, wargs=(), env=None):
    m = Master(None, *margs)
    ws = [Worker(m.url, "w%d" % i, *wargs, env=env) for i in range(n)]
    m.wait_workers(n)
    return m, ws


def teardown(m, ws, t=None):
    for w in ws:
        w.stop()
    m.kill(signal.SIGTERM)
    if t:
        t.stop()


def run_remote(m, path, out, n, extra=(), timeout=120, sigint_after=None):
    return run(["run", path, "--master", m.api, "--expect-workers", str(n), "--expect-timeout", "20s",
                "--out", out, "--quiet", *extra], timeout=timeout, sigint_after=sigint_after)


@test
def test_three_workers_exact_totals_and_merged_percentiles():
    t = Target()
    samples_dir = tempfile.mkdtemp(prefix="samples-")
    m, ws = cluster(3, env={"STAMPEDE_SAMPLE_LOG": samples_dir})
    path, d = write_scenario(erp_scenario(t, [("3s", 18), ("3s", 18)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run_remote(m, path, out, 3)
    check(rc == 0, "exit %d: %s\n%s" % (rc, err, m.stderr()[-2000:]))
    s = summary(out)
    check_exact(s, t.counters())
    check(len(s["workers"]) == 3 and all(w["state"] == "finished" for w in s["workers"]), "workers: %s" % s["workers"])
    check(sum(w["requests"] for w in s["workers"]) == s["totals"]["requests"], "per-worker requests do not add up")
    check(all(w["requests"] > 0 for w in s["workers"]), "a worker carried no load: %s" % s["workers"])
    # Merged percentiles equal those of one histogram fed every sample.
    by_name = {}
    for f in glob.glob(os.path.join(samples_dir, "*.tsv")):
        for line in open(f):
            method, name, us = line.rstrip("\n").split("\t")
            by_name.setdefault((method, name), []).append(int(us))
    check(sum(len(v) for v in by_name.values()) == s["totals"]["requests"], "sample log incomplete")
    for r in s["requests"]:
        smp = by_name[(r["method"], r["name"])]
        for p, key in ((50, "p50"), (99, "p99")):
            want = hist_percentile(smp, p) / 1000.0
            check(abs(r["latency_ms"][key] - want) < 1e-6,
                  "%s %s %s: merged %.3f, one histogram %.3f" % (r["method"], r["name"], key, r["latency_ms"][key], want))
    allsmp = [x for v in by_name.values() for x in v]
    check(abs(s["totals"]["latency_ms"]["p99"] - hist_percentile(allsmp, 99) / 1000.0) < 1e-6, "total p99 differs")
    # The sum of users over workers follows the ramp (0 -> 18 over 3 s, then 18).
    rows = read_csv(os.path.join(out, "stats_history.csv"))
    for i, r in enumerate(rows[:5]):
        want = min(18, 18 * (i + 1) / 3)
        check(abs(int(r["User Count"]) - want) <= 1, "row %d: %s users, plan %.1f" % (i, r["User Count"], want))
    teardown(m, ws, t)


@test
def test_kill9_worker_users_move_to_survivors():
    t = Target()
    m, ws = cluster(3)
    path, d = write_scenario(erp_scenario(t, [("500ms", 12), ("14s", 12)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--master", m.api, "--expect-workers", "3",
                          "--out", out, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _procs.append(p)
    time.sleep(4.5)
    ws[1].signal(signal.SIGKILL)
    killed_at = time.time()
    outp, err = p.communicate(timeout=60)
    check(p.returncode == 0, "exit %d: %s\n%s" % (p.returncode, err, m.stderr()[-3000:]))
    s = summary(out)
    lost = [w for w in s["workers"] if w["id"] == "w1"]
    check(lost and lost[0]["state"] == "lost" and "lost_at" in lost[0], "results should name the lost worker: %s" % s["workers"])
    check(0 < lost[0]["lost_at_s"] < 4.5 + 5, "lost_at_s %s" % lost[0]["lost_at_s"])
    rows = read_csv(os.path.join(out, "stats_history.csv"))
    loss_row = int(lost[0]["lost_at_s"])
    after = rows[loss_row + 5: -2]
    check(after, "no history rows after the loss")
    for r in after:
        check(abs(int(r["User Count"]) - 12) <= 1, "5 s after the loss the survivors should carry all 12 users: %s" % r["User Count"])
    before = [float(r["Requests/s"]) for r in rows[1:4]]
    later = [float(r["Requests/s"]) for r in after]
    check(min(later) > 0.6 * (sum(before) / len(before)),
          "request rate did not recover: before %s after %s" % (before, later))
    c = t.counters()
    missing = c["total"] - s["totals"]["requests"]
    check(0 <= missing <= s["missing_requests_max"],
          "target %d, reported %d: %d missing, bound %d" % (c["total"], s["totals"]["requests"], missing, s["missing_requests_max"]))
    check(time.time() - killed_at < 60, "run took too long")
    teardown(m, [ws[0], ws[2]], t)


@test
def test_sigterm_worker_leaves_with_exact_totals():
    t = Target()
    m, ws = cluster(3)
    path, d = write_scenario(erp_scenario(t, [("500ms", 12), ("8s", 12)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--master", m.api, "--expect-workers", "3",
                          "--out", out, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _procs.append(p)
    time.sleep(3.5)
    ws[2].signal(signal.SIGTERM)
    outp, err = p.communicate(timeout=60)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode, err))
    s = summary(out)
    check_exact(s, t.counters())
    left = [w for w in s["workers"] if w["id"] == "w2"]
    check(left and left[0]["state"] == "left", "the worker that left should say so: %s" % s["workers"])
    rows = read_csv(os.path.join(out, "stats_history.csv"))
    for r in rows[6:-2]:
        check(abs(int(r["User Count"]) - 12) <= 1, "after the leave the others carry 12 users: %s" % r["User Count"])
    teardown(m, ws[:2], t)


def late_requests(master_log):
    """Requests of stats deltas that came after their interval's history row was written:
    the master logs them at the end of the run (master/coord_run.c coord_finish); they are
    in the totals and in no stats_history.csv row (the documented bound between the two)."""
    import re
    m = re.search(r"(\d+) stats deltas \((\d+) requests\) came after", master_log)
    return int(m.group(2)) if m else 0


@test
def test_worker_leaving_keeps_every_history_row_whole():
    """Issue 12: a worker leaving mid-run (SIGTERM) gave a stats_history.csv row with 0
    users that lost the survivors' requests of that second (the ring closed the interval
    on the leaver's final deltas alone). Every row must count every request of its second
    (the rows add up to the totals, less what the master says came late: here nothing)
    and no row before the last may show 0 users."""
    t = Target()
    m, ws = cluster(2)
    path, d = write_scenario(erp_scenario(t, [("500ms", 10), ("7s", 10)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--master", m.api, "--expect-workers", "2",
                          "--out", out, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _procs.append(p)
    time.sleep(3.5)
    ws[1].signal(signal.SIGTERM)
    outp, err = p.communicate(timeout=60)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode, err))
    s = summary(out)
    check_exact(s, t.counters())
    left = [w for w in s["workers"] if w["id"] == "w1"]
    check(left and left[0]["state"] == "left", "the worker that left should say so: %s" % s["workers"])
    rows = read_csv(os.path.join(out, "stats_history.csv"))
    check(len(rows) >= 6, "too few history rows: %d" % len(rows))
    interval_s = 1.0                    # the master's default stats interval
    in_rows = round(sum(float(r["Requests/s"]) for r in rows) * interval_s)
    late = late_requests(m.stderr())
    check(late == 0, "the master wrote rows before %d requests of theirs arrived" % late)
    check(in_rows == s["totals"]["requests"] - late,
          "stats_history.csv rows hold %d requests, the totals %d (%d came late)"
          % (in_rows, s["totals"]["requests"], late))
    check(int(rows[-1]["Total Request Count"]) == s["totals"]["requests"],
          "the last row's Total Request Count %s != totals %d" % (rows[-1]["Total Request Count"], s["totals"]["requests"]))
    for i, r in enumerate(rows[:-1]):
        check(int(r["User Count"]) > 0, "row %d (of %d) has 0 users mid-run: %s" % (i, len(rows), r))
    teardown(m, ws[:1], t)


@test
def test_kill9_master_stops_load_and_workers_rejoin():
    t = Target()
    m, ws = cluster(2)
    path, d = write_scenario(erp_scenario(t, [("500ms", 10), ("60s", 10)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--master", m.api, "--expect-workers", "2",
                          "--out", out, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _procs.append(p)
    time.sleep(3)
    check(t.counters()["total"] > 0, "no load before the master was killed")
    m.kill(signal.SIGKILL)
    time.sleep(5)
    a = t.counters()["total"]
    time.sleep(2)
    b = t.counters()["total"]
    check(a == b, "the target's counter still rose 5 s after the master died: %d -> %d" % (a, b))
    rc = p.wait(timeout=30)
    check(rc == 3, "the CLI should exit 3 when it loses the master, got %d" % rc)
    m2 = Master(m.port)
    m2.wait_workers(2, timeout=20)
    teardown(m2, ws, t)


@test
def test_wrong_key_refused_and_logged():
    t = Target()
    kd = tempfile.mkdtemp(prefix="keys-")
    good, bad = os.path.join(kd, "good"), os.path.join(kd, "bad")
    for f, k in ((good, "correct-horse-battery-staple-1"), (bad, "some-other-key-entirely-222")):
        with open(f, "w") as fh:
            fh.write(k + "\n")
        os.chmod(f, 0o600)
    m = Master(None, "--key-file", good)
    wg = Worker(m.url, "good", "--key-file", good)
    wb = Worker(m.url, "bad", "--key-file", bad)
    wn = Worker(m.url, "nokey")
    m.wait_workers(1)
    time.sleep(2)
    names = [w["id"] for w in m.workers()["workers"]]
    check(names == ["good"], "only the worker with the right key may join: %s" % names)
    check("bad" in m.stderr() and "wrong shared key" in m.stderr(), "master log: " + m.stderr()[-1500:])
    check("refused this worker" in wb.stderr(), "the refused worker should log it: " + wb.stderr()[-1000:])
    path, d = write_scenario(erp_scenario(t, [("500ms", 4), ("2s", 4)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run_remote(m, path, out, 1)
    check(rc == 0, "exit %d: %s" % (rc, err))
    s = summary(out)
    check([w["id"] for w in s["workers"]] == ["good"], "only the good worker got a plan: %s" % s["workers"])
    check("run" not in wb.stderr().split("refused this worker")[-1], "the bad worker got a plan")
    check_exact(s, t.counters())
    teardown(m, [wg, wb, wn], t)


@test
def test_allowlist_refusal_reaches_cli():
    t = Target()
    m, ws = cluster(1, wargs=("--allow", "127.0.0.2/32"))
    path, d = write_scenario(erp_scenario(t, [("500ms", 2), ("1s", 2)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run_remote(m, path, out, 1)
    check(rc == 3, "a refused plan aborts the run (exit 3), got %d" % rc)
    check("refused" in err and "127.0.0.1" in err, "the CLI should say why: " + err)
    check(t.counters()["total"] == 0, "a refused plan sent load")
    teardown(m, ws, t)


@test
def test_hostile_messages_dropped_master_survives():
    t = Target()
    m, ws = cluster(1)
    # Speak nng's SP-over-TCP framing (pair1) and send junk payloads.
    for junk in (b"\xdd\xff\xff\xff\xff", b"\x93\x01\x04" + b"\xc1" * 50, os.urandom(2000)):
        s = socket.create_connection(("127.0.0.1", m.port), timeout=5)
        s.sendall(b"\x00SP\x00\x00\x11\x00\x00")
        s.recv(8)
        body = b"\x00\x00\x00\x01" + junk
        s.sendall(struct.pack(">Q", len(body)) + body)
        time.sleep(0.2)
        s.close()
    # A length far above the limit: nng drops the connection.
    s = socket.create_connection(("127.0.0.1", m.port), timeout=5)
    s.sendall(b"\x00SP\x00\x00\x11\x00\x00")
    s.recv(8)
    s.sendall(struct.pack(">Q", 1 << 40))
    s.close()
    time.sleep(0.5)
    check(m.proc.poll() is None, "the master died of hostile input")
    check("dropped a message" in m.stderr(), "dropped messages should be logged")
    path, d = write_scenario(erp_scenario(t, [("500ms", 3), ("1s", 3)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run_remote(m, path, out, 1)
    check(rc == 0, "a run after hostile input: exit %d %s" % (rc, err))
    check_exact(summary(out), t.counters())
    teardown(m, ws, t)


@test
def test_worker_joining_mid_run_gets_a_share():
    t = Target()
    m, ws = cluster(2, wargs=("--threads", "2"))
    path, d = write_scenario(erp_scenario(t, [("500ms", 12), ("10s", 12)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--master", m.api, "--expect-workers", "2",
                          "--out", out, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _procs.append(p)
    time.sleep(3)
    late = Worker(m.url, "late", "--threads", "2")
    outp, err = p.communicate(timeout=60)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode, err))
    s = summary(out)
    w = {x["id"]: x for x in s["workers"]}
    check("late" in w and w["late"]["requests"] > 0, "the late worker should get a share: %s" % s["workers"])
    check_exact(s, t.counters())
    rows = read_csv(os.path.join(out, "stats_history.csv"))
    for r in rows[6:-2]:
        check(abs(int(r["User Count"]) - 12) <= 1, "users after the join: %s" % r["User Count"])
    teardown(m, ws + [late], t)


@test
def test_master_without_key_listens_on_loopback_only():
    port = free_port()
    p = subprocess.Popen([os.path.join(BIN, "stampede-master"), "--listen", "tcp://0.0.0.0:%d" % port,
                          "--http", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _procs.append(p)
    line = p.stdout.readline()
    check("tcp://127.0.0.1:%d" % port in line, "should listen on loopback only: %r" % line)
    p.terminate()
    err = p.communicate(timeout=20)[1]
    check("loopback" in err and ("--key-file" in err or "key" in err), "should say why: " + err)


@test
def test_tls_mutual_certificates():
    import shutil
    if not shutil.which("openssl"):
        print("  (skipped inside: openssl missing)")
        return
    t = Target()
    cd = tempfile.mkdtemp(prefix="certs-")
    subprocess.run(["sh", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tls",
                                       "make_certs.sh"), cd], check=True, capture_output=True, timeout=60)
    c = lambda n: os.path.join(cd, n)  # noqa: E731
    port = free_port()
    m = Master(port, "--tls-cert", c("master.pem"), "--tls-key", c("master.key"), "--tls-ca", c("ca.pem"))
    url = "tls+tcp://127.0.0.1:%d" % port
    w1 = Worker(url, "w1", "--tls-cert", c("worker1.pem"), "--tls-key", c("worker1.key"), "--tls-ca", c("ca.pem"))
    wo = Worker(url, "other", "--tls-cert", c("other.pem"), "--tls-key", c("other.key"), "--tls-ca", c("ca.pem"))
    m.wait_workers(1)
    time.sleep(1.5)
    ids = [w["id"] for w in m.workers()["workers"]]
    check(ids == ["w1"], "only the worker with a certificate from our CA joins: %s" % ids)
    path, d = write_scenario(erp_scenario(t, [("500ms", 4), ("2s", 4)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run_remote(m, path, out, 1)
    check(rc == 0, "exit %d: %s" % (rc, err))
    check_exact(summary(out), t.counters())
    teardown(m, [w1, wo], t)


if __name__ == "__main__":
    import lib
    lib.TESTS[:] = [f for f in lib.TESTS if f.__module__ == "__main__"]   # not test_local's
    main()
