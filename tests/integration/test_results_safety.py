"""Results safety (issue 9 items 8 and 9): a full results disk is never a silent success,
and two runs started in the same second never share a results folder.

Real processes on 127.0.0.1: stampede-master and stampede-worker (test_distributed's
helpers), the stampede CLI, and tests/target. The full disk is a 64 KiB tmpfs mounted
for the test (root only: skipped with a message when mounting is not permitted), filled
by a file once the run has taken its folder, and unmounted at the end. Every wait is
bounded."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import BIN, Target, _procs, check, main, test, write_scenario  # noqa: E402
from test_distributed import Master, Worker, teardown  # noqa: E402
from test_local import OPERATORS, erp_scenario  # noqa: E402
import lib  # noqa: E402

del lib.TESTS[:]        # the imported modules registered their own tests: run only ours


def mount_tmpfs(size="64k"):
    """A fresh tmpfs of the given size, or None (with the reason printed) when this
    machine does not let us mount one."""
    mnt = tempfile.mkdtemp(prefix="stampede-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", mnt],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        print("  skip  cannot mount a tmpfs (needs root): %s" % r.stderr.strip(), flush=True)
        os.rmdir(mnt)
        return None
    return mnt


def unmount(mnt):
    subprocess.run(["umount", "-l", mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        os.rmdir(mnt)
    except OSError:
        pass


def fill(mnt):
    """Writes a file until the file system says it is full (ENOSPC); returns its size."""
    n = 0
    with open(os.path.join(mnt, "filler"), "wb", buffering=0) as f:
        try:
            for _ in range(100000):             # bounded: 64 KiB fill long before
                n += f.write(b"x" * 512)
            raise AssertionError("the tmpfs never filled up (%d bytes written)" % n)
        except OSError as e:
            check(e.errno == 28, "filling the tmpfs: %s" % e)
    try:                                        # full: not even one more page
        with open(os.path.join(mnt, "probe"), "wb", buffering=0) as f:
            f.write(b"x")
    except OSError as e:
        check(e.errno == 28, "probing the full tmpfs: %s" % e)
        return n
    raise AssertionError("the tmpfs took a byte after the filler (%d bytes)" % n)


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


@test
def test_full_disk_fails_the_run_loudly():
    mnt = mount_tmpfs()
    if mnt is None:
        return
    t = Target()
    m = ws = None
    try:
        m = Master(None, "--results-dir", mnt)
        ws = [Worker(m.url, "w0")]
        m.wait_workers(1)
        path, d = write_scenario(erp_scenario(t, [("1s", 4), ("3s", 4)]), files={"operators.csv": OPERATORS})
        out = os.path.join(d, "out")
        p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--master", m.api,
                              "--expect-workers", "1", "--expect-timeout", "20s", "--out", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _procs.append(p)
        # the run has taken its folder (stats_history.csv is written at submit): now the
        # disk fills up under it
        t0 = time.time()
        while time.time() - t0 < 20 and p.poll() is None:
            if any(os.path.isfile(os.path.join(mnt, x, "stats_history.csv")) for x in os.listdir(mnt)):
                break
            time.sleep(0.05)
        if p.poll() is not None:
            raise AssertionError("the run ended before it took its folder: %s" % p.communicate()[1][-2000:])
        fill(mnt)
        try:
            stdout, stderr = p.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            p.kill()
            raise AssertionError("stampede run did not finish within 90 s")
        # the CLI says so and exits non-zero (3: results lost, as an aborted run)
        check(p.returncode == 3, "exit %d, want 3:\n%s" % (p.returncode, stderr[-2000:]))
        check("results could not be written" in stderr and "No space left on device" in stderr,
              "stderr does not say why:\n%s" % stderr[-2000:])
        # the run's status on the master says why too
        mid = re.search(r"run (\d+) of", stderr)
        check(mid, "no run id on stderr:\n%s" % stderr[-2000:])
        st = get_json("%s/api/runs/%s" % (m.api, mid.group(1)))
        check(st.get("results_error") and "No space left on device" in st["results_error"],
              "status has no results_error: %s" % st)
        # the totals stay readable through the API (from the master's memory)
        s = get_json("%s/api/runs/%s/files/summary.json" % (m.api, mid.group(1)))
        served = t.counters()["total"]
        check(s["totals"]["requests"] == served,
              "in-memory summary: %d requests, target served %d" % (s["totals"]["requests"], served))
        # and nothing on the full disk is a half file
        for x in os.listdir(mnt):
            if os.path.isdir(os.path.join(mnt, x)):
                left = [f for f in os.listdir(os.path.join(mnt, x)) if f.endswith(".tmp")]
                check(not left, "temporary files left behind: %s" % left)
                check(not os.path.exists(os.path.join(mnt, x, "summary.json")),
                      "a summary.json was written on a full disk")
    finally:
        if m is not None:
            teardown(m, ws or [], t)
        else:
            t.stop()
        unmount(mnt)


def start_local(path, cwd):
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "-t", "1s", "--quiet",
                          "--threads", "1"], cwd=cwd, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    _procs.append(p)
    return p


@test
def test_same_second_runs_get_two_folders():
    t = Target()
    path, d = write_scenario(erp_scenario(t, [("1s", 2)]), files={"operators.csv": OPERATORS})
    cwd = tempfile.mkdtemp(prefix="stampede-cwd-")
    clashed = False
    for attempt in range(3):                   # until both start in the same second
        while time.time() % 1.0 > 0.2:         # early in a second: both take the same stamp
            time.sleep(0.02)
        ps = [start_local(path, cwd), start_local(path, cwd)]
        outs = []
        for p in ps:
            try:
                so, se = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                raise AssertionError("stampede run did not finish within 60 s")
            check(p.returncode == 0, "exit %d: %s" % (p.returncode, se[-2000:]))
            m = re.search(r"^results: (.+)$", so, re.M)
            check(m, "no results line: %r" % so)
            outs.append(m.group(1))
        check(outs[0] != outs[1], "both runs report the folder %s" % outs[0])
        folders = sorted(os.listdir(os.path.join(cwd, "results")))
        for o in outs:
            full = o if os.path.isabs(o) else os.path.join(cwd, o)
            with open(os.path.join(full, "summary.json")) as f:
                s = json.load(f)               # whole: it parses
            check(s["totals"]["requests"] > 0, "%s: no requests" % o)
            with open(os.path.join(full, "stats_history.csv")) as f:
                rows = f.read().split("\r\n")
            check(rows[0].startswith("Timestamp,") and rows.count(rows[0]) == 1,
                  "%s: stats_history.csv has another run's header" % o)
            check(all(len(r.split(",")) == len(rows[0].split(",")) for r in rows[1:] if r),
                  "%s: a torn row in stats_history.csv" % o)
        if any(f + "-2" in folders for f in folders):     # the clash happened, and was resolved
            clashed = True
            break
    check(clashed, "the runs never started in the same second in 3 attempts: %s" % folders)
    t.stop()


@test
def test_remote_default_folder_taken_exclusively():
    """The remote CLI's local copy of the results: a default folder that already exists
    (another run in the same second) is never written into; the copy gets a suffix. The
    clash is made certain by creating, beforehand, the folders of every second the run
    may end in, each holding a marker file."""
    t = Target()
    m = Master(None)
    w = Worker(m.url, "w0")
    m.wait_workers(1)
    path, d = write_scenario(erp_scenario(t, [("1s", 2)]), files={"operators.csv": OPERATORS})
    cwd = tempfile.mkdtemp(prefix="stampede-cwd-")
    now = time.time()
    taken = []
    for k in range(0, 40):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now + k))
        f = os.path.join(cwd, "results", "it-erp-" + stamp)
        os.makedirs(f)
        with open(os.path.join(f, "marker"), "w") as fh:
            fh.write("another run's folder\n")
        taken.append(f)
    p = subprocess.run([os.path.join(BIN, "stampede"), "run", path, "--master", m.api, "--quiet"],
                       cwd=cwd, capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode, p.stderr[-2000:]))
    mo = re.search(r"^results: (.+)$", p.stdout, re.M)
    check(mo, "no results line: %r" % p.stdout)
    out = mo.group(1) if os.path.isabs(mo.group(1)) else os.path.join(cwd, mo.group(1))
    check(re.search(r"-2$", out), "the copy should take a suffix: %s" % out)
    with open(os.path.join(out, "summary.json")) as f:
        check(json.load(f)["totals"]["requests"] > 0, "no requests in the copy")
    for f in taken:
        check(os.listdir(f) == ["marker"], "the CLI wrote into an existing folder %s: %s" % (f, os.listdir(f)))
    teardown(m, [w], t)


if __name__ == "__main__":
    main()
