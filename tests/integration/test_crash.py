"""Results that survive a crash (issue 13): a local `stampede run` and a distributed run's
master killed with SIGKILL mid-way, then `stampede report DIR` rebuilds summary.json,
stats.csv, failures.csv, junit.xml and report.html from DIR/checkpoint.msgpack, marked
interrupted, with totals within the documented in-flight bound of the target's count.

The bound (README "Results that survive a crash"): the rebuilt totals hold every request
of the intervals closed before the kill; what they can miss is the requests of the
intervals still open (the one in progress, and the previous one while a delta of it is
still on its way: at most RING_LATE_MS = 2 s after its end) plus one request in flight
per user. So, with R the rebuilt total, C0 the target's count just before the kill, C1
just after it, and rate the highest per-interval rate of stats_history.csv:
    R <= C1    and    C0 - R <= rate x (interval + 2 s) + users.
Every process is killed at exit; every wait is bounded."""
import glob
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import BIN, Target, _procs, check, main, read_csv, run, summary, test, write_scenario  # noqa: E402
from test_distributed import Master, Worker  # noqa: E402

lib.TESTS.clear()   # the imported modules' own tests are theirs to run, not this file's

USERS = 20
INTERVAL_S = 1.0
RING_LATE_S = 2.0


def scenario(t, thresholds=('p95 < 10s', 'ping: error_rate < 1%')):
    return ("name: crash\ntarget: %s\nload:\n  stages:\n"
            "    - { duration: 1s, users: %d }\n    - { duration: 60s, users: %d }\n"
            "  graceful_stop: 1s\n"
            "users:\n  - name: pinger\n    flow:\n"
            "      - http: { name: ping, url: /ping }\n      - think: 20ms\n"
            "thresholds:\n%s" % (t.url, USERS, USERS, "".join('  - "%s"\n' % x for x in thresholds)))


def wait_checkpoint(out, since, at_least_s, timeout=30):
    """Waits until out/checkpoint.msgpack exists and at_least_s passed since `since`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(os.path.join(out, "checkpoint.msgpack")) and time.time() - since >= at_least_s:
            return
        time.sleep(0.1)
    raise AssertionError("no checkpoint in %s after %ss" % (out, timeout))


def check_rebuilt(out, c0, c1, scenario_text, want_rc=0):
    check(not os.path.exists(os.path.join(out, "summary.json")), "a killed run left a summary.json")
    rc, so, se = run(["report", out], timeout=60)
    check(rc == want_rc, "stampede report: exit %d (want %d): %s %s" % (rc, want_rc, so, se))
    check("rebuilt from checkpoint:" in so, "report did not say it rebuilt: %r" % so)
    s = summary(out)
    check(s["interrupted"] is True, "interrupted: %s" % s.get("interrupted"))
    check(s["stop_reason"] == "interrupted", "stop_reason %s" % s["stop_reason"])
    check(s["covered_s"] > 0 and abs(s["covered_s"] - s["duration_s"]) < 1e-9, "covered_s %s duration_s %s"
          % (s["covered_s"], s["duration_s"]))
    for f in ("stats.csv", "failures.csv", "junit.xml", "report.html", "stats_history.csv"):
        check(os.path.getsize(os.path.join(out, f)) > 0, "%s missing or empty" % f)
    with open(os.path.join(out, "scenario.yaml")) as f:
        check(f.read() == scenario_text, "scenario.yaml is not the scenario as run")
    r = s["totals"]["requests"]
    rows = read_csv(os.path.join(out, "stats_history.csv"))
    check(rows, "no history rows")
    rate = max(float(x["Requests/s"]) for x in rows)
    bound = rate * (INTERVAL_S + RING_LATE_S) + USERS
    check(0 < r <= c1, "rebuilt %d requests, target counted %d after the kill" % (r, c1))
    check(c0 - r <= bound, "rebuilt %d, target %d before the kill: %d missing, bound %.0f"
          % (r, c0, c0 - r, bound))
    print("        rebuilt %d requests over %.1f s; target %d before the kill, %d after; "
          "missing %d, bound %.0f" % (r, s["covered_s"], c0, c1, c0 - r, bound))
    # The checkpoint is written after the interval's history row: the last row's total
    # is the rebuilt total, or one interval ahead of it.
    totals = [int(x["Total Request Count"]) for x in rows]
    check(r in totals[-2:], "rebuilt total %d is not among the last history totals %s" % (r, totals[-3:]))
    check(s["covered_s"] >= len(rows) - 1, "covered_s %s for %d history rows" % (s["covered_s"], len(rows)))
    stats = read_csv(os.path.join(out, "stats.csv"))
    agg = [x for x in stats if x["Name"] == "Aggregated"]
    check(agg and int(agg[0]["Request Count"]) == r, "stats.csv Aggregated %s != %d" % (agg, r))
    junit = open(os.path.join(out, "junit.xml")).read()
    check("p95 &lt; 10s" in junit or "p95 < 10s" in junit, "junit.xml lacks the thresholds")
    # a second report finds summary.json and only re-renders
    rc2, so2, _ = run(["report", out], timeout=60)
    check(rc2 == 0 and "rebuilt" not in so2, "second report: exit %d %r" % (rc2, so2))
    return s


@test
def test_local_run_killed_rebuilt():
    t = Target()
    text = scenario(t)
    path, d = write_scenario(text)
    out = os.path.join(d, "out")
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--out", out, "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _procs.append(p)
    t0 = time.time()
    wait_checkpoint(out, t0, 5.0)
    c0 = t.counters()["total"]
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    c1 = t.settled_counters()["total"]
    s = check_rebuilt(out, c0, c1, text)
    check(s["workers"] and s["workers"][0]["state"] == "interrupted", "workers %s" % s["workers"])
    t.stop()


@test
def test_master_killed_rebuilt():
    t = Target()
    m = Master(None)
    w = Worker(m.url, "w0")
    m.wait_workers(1)
    text = scenario(t)
    path, d = write_scenario(text)
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--master", m.api, "--expect-workers", "1",
                          "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _procs.append(p)
    t0 = time.time()
    deadline = t0 + 20
    dirs = []
    while not dirs and time.time() < deadline:
        dirs = glob.glob(os.path.join(m.results, "crash-*"))
        time.sleep(0.1)
    check(len(dirs) == 1, "master results folder: %s" % dirs)
    out = dirs[0]
    wait_checkpoint(out, t0, 5.0)
    c0 = t.counters()["total"]
    m.kill(signal.SIGKILL)
    c1 = t.counters()["total"]
    p.kill()
    s = check_rebuilt(out, c0, c1, text)
    check([x["id"] for x in s["workers"]] == ["w0"] and s["workers"][0]["state"] == "interrupted",
          "workers %s" % s["workers"])
    # master loss stops load: the worker goes idle within seconds (bounded wait)
    last, still = t.counters()["total"], False
    deadline = time.time() + 15
    while not still and time.time() < deadline:
        time.sleep(1)
        now = t.counters()["total"]
        still, last = now == last, now
    check(still, "the worker still sends load 15 s after losing its master")
    w.stop()
    t.stop()


@test
def test_failed_threshold_exit_1():
    t = Target()
    text = scenario(t, thresholds=("requests > 100000000",))
    path, d = write_scenario(text)
    out = os.path.join(d, "out")
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--out", out, "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _procs.append(p)
    wait_checkpoint(out, time.time(), 2.5)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    rc, so, se = run(["report", out], timeout=60)
    check(rc == 1, "a failed threshold on the covered totals: exit %d %s %s" % (rc, so, se))
    s = summary(out)
    check(s["interrupted"] and not s["thresholds"][0]["ok"] and s["verdict"]["thresholds_failed"] == 1,
          "thresholds %s" % s["thresholds"])
    # killed before its first interval closed: the checkpoint of the start rebuilds
    # an empty run (nothing covered; the threshold fails on no data)
    text0 = scenario(t, thresholds=("p95 < 10s",))
    path0, d0 = write_scenario(text0)
    out0 = os.path.join(d0, "out")
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path0, "--out", out0, "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _procs.append(p)
    wait_checkpoint(out0, time.time(), 0)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    rc, so, se = run(["report", out0], timeout=60)
    s0 = summary(out0)
    check(s0["interrupted"] and s0["covered_s"] >= 0 and os.path.exists(os.path.join(out0, "report.html")),
          "killed at the start: exit %d %s %s" % (rc, so, se))
    check(rc == (1 if s0["totals"]["requests"] == 0 else 0), "killed at the start: exit %d, %d requests"
          % (rc, s0["totals"]["requests"]))
    # a folder without summary.json or checkpoint is refused as before
    os.remove(os.path.join(out, "summary.json"))
    os.remove(os.path.join(out, "checkpoint.msgpack"))
    rc, so, se = run(["report", out], timeout=30)
    check(rc == 2 and "summary.json" in se, "no checkpoint: exit %d %s" % (rc, se))
    # a corrupt checkpoint is refused with a reason, nothing written
    with open(os.path.join(out, "checkpoint.msgpack"), "wb") as f:
        f.write(b"\x92\xb3stampede-checkpoint\x01")
    rc, so, se = run(["report", out], timeout=30)
    check(rc == 2 and "corrupt" in se and not os.path.exists(os.path.join(out, "summary.json")),
          "corrupt checkpoint: exit %d %s" % (rc, se))
    t.stop()


if __name__ == "__main__":
    main()
