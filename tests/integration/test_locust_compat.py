"""Switching from Locust (issue 12, "Flags, files and exit codes"): Locust's spellings
(-H, --run-time, --headless, --csv, --csv-full-history, --html, --only-summary) on a real
`stampede run`, and the files they write compared byte for byte (names and header lines)
with python3-locust's own output from the same target, written by Locust itself in this
test. Failures.csv's Error column reads "503 Service Unavailable".

Real processes: tests/target on 127.0.0.1, stampede, and Debian's python3-locust under
/usr/bin/python3 (skipped, loudly, only when it is not installed). Every run is a few
seconds long and bounded by a timeout."""
import glob
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Target, check, main, read_csv, run, test, without_health_notes, write_scenario  # noqa: E402

LOCUST_PYTHON = "/usr/bin/python3"
SUFFIXES = ["_exceptions.csv", "_failures.csv", "_stats.csv", "_stats_history.csv"]

# Locust 2.12.1 as Debian packages it has an empty version string (NOTES.md); a
# locustfile may set it. /qc/tests needs a token: its 401s are failures, as ours.
LOCUSTFILE = '''
import locust.runners
if not locust.runners.__version__:
    locust.runners.__version__ = "2.12.1"
from locust import HttpUser, task, constant

class U(HttpUser):
    wait_time = constant(0.1)

    @task
    def ping(self):
        self.client.get("/ping", name="ping")

    @task
    def qc(self):
        self.client.get("/qc/tests", name="qc")
'''


def scenario(url, seconds=3):
    return ("name: compat\ntarget: %s\nload:\n  stages:\n    - { duration: %ds, users: 2 }\n"
            "users:\n  - name: u\n    flow:\n      - http: { name: ping, url: /ping }\n"
            "      - http: { name: qc, url: /qc/tests }\n      - think: 100ms\n") % (url, seconds)


def locust_available():
    return subprocess.run([LOCUST_PYTHON, "-c", "import locust"], capture_output=True).returncode == 0


def run_locust(t, prefix, *extra):
    d = tempfile.mkdtemp(prefix="locust-")
    lf = os.path.join(d, "locustfile.py")
    with open(lf, "w") as f:
        f.write(LOCUSTFILE)
    p = subprocess.run([LOCUST_PYTHON, "-m", "locust", "--headless", "-f", lf, "--host", t.url,
                        "-u", "2", "-r", "2", "--run-time", "3s", "--csv", prefix, "--only-summary",
                        *extra], capture_output=True, text=True, timeout=60, cwd=d)
    return p


def first_line(path):
    with open(path, "rb") as f:
        return f.readline()


@test
def test_file_names_and_headers_match_locust():
    if not locust_available():
        print("  SKIP: python3-locust is not installed (apt-get install python3-locust)")
        return
    t = Target()
    ldir = tempfile.mkdtemp(prefix="locust-out-")
    lp = run_locust(t, os.path.join(ldir, "L"))
    # Locust too exits 1 when requests failed (the 401s of /qc/tests)
    check(lp.returncode == 1, "locust exit %d: %s" % (lp.returncode, lp.stderr[-2000:]))
    path, d = write_scenario(scenario("http://127.0.0.1:9"))
    out = os.path.join(d, "out")
    prefix = os.path.join(d, "S")
    rc, so, err = run(["run", path, "-H", t.url, "--run-time", "3s", "--headless", "--csv", prefix,
                       "--only-summary", "--out", out], timeout=60)
    check(rc == 1, "a run with failed requests and no thresholds exits 1 as Locust's: %d %s" % (rc, err))
    theirs = sorted(os.path.basename(p)[1:] for p in glob.glob(os.path.join(ldir, "L_*")))
    ours = sorted(os.path.basename(p)[1:] for p in glob.glob(prefix + "_*"))
    check(theirs == SUFFIXES, "locust wrote %s" % theirs)
    check(ours == theirs, "file names: ours %s, Locust's %s" % (ours, theirs))
    for suf in SUFFIXES:
        a, b = first_line(prefix + suf), first_line(os.path.join(ldir, "L" + suf))
        check(a == b, "%s header differs:\n ours    %r\n Locust's %r" % (suf, a, b))
    # the copies are the results folder's own files
    for name in ("stats.csv", "stats_history.csv", "failures.csv"):
        with open(os.path.join(out, name), "rb") as f1, open(prefix + "_" + name, "rb") as f2:
            check(f1.read() == f2.read(), "%s_%s differs from the results folder's" % (prefix, name))
    # both count the same names; -H replaced the scenario's unreachable target
    rows = {(r["Type"], r["Name"]) for r in read_csv(prefix + "_stats.csv")}
    lrows = {(r["Type"], r["Name"]) for r in read_csv(os.path.join(ldir, "L_stats.csv"))}
    check(rows == lrows, "stats.csv rows: ours %s, Locust's %s" % (rows, lrows))
    c = t.counters()["routes"]
    st = {r["Name"]: r for r in read_csv(prefix + "_stats.csv")}
    check(int(st["ping"]["Request Count"]) > 0 and int(st["qc"]["Failure Count"]) == int(st["qc"]["Request Count"]),
          "stats rows %s (target %s)" % (st, c))
    # --only-summary: the end table is printed (Locust prints its summary too)
    check("Aggregated" in err and "p95" in err, "end table missing: %s" % err)
    t.stop()


@test
def test_full_history_has_a_row_per_name_like_locust():
    if not locust_available():
        print("  SKIP: python3-locust is not installed")
        return
    t = Target()
    ldir = tempfile.mkdtemp(prefix="locust-out-")
    lp = run_locust(t, os.path.join(ldir, "L"), "--csv-full-history")
    check(lp.returncode in (0, 1), "locust exit %d: %s" % (lp.returncode, lp.stderr[-2000:]))
    path, d = write_scenario(scenario(t.url))
    prefix = os.path.join(d, "S")
    rc, so, err = run(["run", path, "--csv", prefix, "--csv-full-history", "--quiet",
                       "--exit-code-on-error", "0", "--out", os.path.join(d, "out")], timeout=60)
    check(rc == 0, "--exit-code-on-error 0: exit %d %s" % (rc, err))
    check(without_health_notes(err) == "", "--quiet printed %r" % err)
    ours = read_csv(prefix + "_stats_history.csv")
    theirs = read_csv(os.path.join(ldir, "L_stats_history.csv"))
    check(first_line(prefix + "_stats_history.csv") == first_line(os.path.join(ldir, "L_stats_history.csv")),
          "full history header differs")
    # Locust 2.12.1 flushes its history every 10 s and loses the rest at exit
    # (NOTES.md), so a 3 s run of it shows only its first, empty Aggregated row, the
    # same as our first row: compare those, and our per-name rows with its stats.py.
    check(theirs and theirs[0]["Name"] == "Aggregated", "Locust's history: %s" % theirs)
    lfirst = {k: v for k, v in theirs[0].items() if k != "Timestamp"}
    ofirst = {k: v for k, v in ours[0].items() if k != "Timestamp"}
    check(lfirst == ofirst, "first history row: ours %s, Locust's %s" % (ofirst, lfirst))
    kinds = {(r["Type"], r["Name"]) for r in ours}
    check({("GET", "ping"), ("GET", "qc"), ("", "Aggregated")} <= kinds, "full history rows: %s" % kinds)
    # per interval: the name rows come before their Aggregated row, with the same timestamp,
    # and the names' Total Request Count adds up to the Aggregated one
    by_ts = {}
    for r in ours:
        by_ts.setdefault(r["Timestamp"], []).append(r)
    checked = 0
    for ts, rows in by_ts.items():
        check(rows[-1]["Name"] == "Aggregated", "interval %s does not end with Aggregated: %s" % (ts, rows))
        names = rows[:-1]
        if names:
            total = sum(int(r["Total Request Count"]) for r in names)
            check(total == int(rows[-1]["Total Request Count"]), "interval %s: %d vs %s" % (ts, total, rows[-1]))
            checked += 1
    check(checked >= 2, "too few intervals with name rows: %s" % by_ts.keys())
    t.stop()


@test
def test_failures_error_column_is_readable():
    t = Target("--error", "/ping=0.5")
    path, d = write_scenario(scenario(t.url, seconds=2))
    prefix = os.path.join(d, "S")
    rc, so, err = run(["run", path, "--csv", prefix, "--quiet", "--out", os.path.join(d, "out")], timeout=60)
    check(rc == 1, "exit %d: %s" % (rc, err))
    rows = read_csv(prefix + "_failures.csv")
    errs = {(r["Name"], r["Error"]): int(r["Occurrences"]) for r in rows}
    c = t.counters()["routes"]
    check(errs.get(("ping", "503 Service Unavailable")) == c["GET /ping"]["status"]["503"],
          "failures %s vs target %s" % (errs, c))
    check(errs.get(("qc", "401 Unauthorized")) == c["GET /qc/tests"]["status"]["401"],
          "failures %s vs target %s" % (errs, c))
    t.stop()


@test
def test_html_copies_the_report():
    t = Target()
    path, d = write_scenario(scenario(t.url, seconds=1))
    out = os.path.join(d, "out")
    html = os.path.join(d, "nested-name.html")
    rc, so, err = run(["run", path, "--html", html, "--quiet", "--exit-code-on-error", "0", "--out", out],
                      timeout=60)
    check(rc == 0, "exit %d: %s" % (rc, err))
    with open(html, "rb") as a, open(os.path.join(out, "report.html"), "rb") as b:
        data = a.read()
        check(data == b.read() and b"<html" in data.lower(), "--html is not the run's report.html")
    # a folder that does not exist for --html: the run happened, the file is lost: exit 3
    rc, so, err = run(["run", path, "--html", os.path.join(d, "no", "such", "r.html"), "--quiet",
                       "--exit-code-on-error", "0", "--out", out + "2"], timeout=60)
    check(rc == 3 and "cannot write" in err, "unwritable --html: exit %d %s" % (rc, err))
    t.stop()


if __name__ == "__main__":
    main()
