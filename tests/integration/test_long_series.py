"""A 24 h run's curve (issue 13): report.html stays usable for 86,400 history rows.

A short real run against tests/target gives a results folder; its stats_history.csv is
then replaced by a day of 1 s rows (86,400, with one slow second and one second of
failures), `stampede report DIR` re-renders report.html from it, and Debian's chromium
(--headless --dump-dom) loads the page: the charts are drawn from at most 3,600 points
(one per 24 intervals, said under the charts) while the CSV stays whole. The dashboard's
live series (master/coord_series.c) is checked by tests/unit/test_series.c, since a
master cannot be driven through a day of 1 s intervals here.

Skipped, and saying why, only when chromium is missing."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Target, check, main, run, test, write_scenario  # noqa: E402

CHROMIUM = os.environ.get("STAMPEDE_CHROMIUM", "/usr/bin/chromium")
DAY = 86400


def day_history(path, t0):
    """Rewrites path (a stats_history.csv) with DAY aggregated rows, one per second."""
    with open(path) as f:
        header = f.readline()
    rows = [header.rstrip("\r\n")]
    for i in range(DAY):
        p95 = 900 if i == 40000 else 12           # one slow second in the day
        fails = 50 if i == 70000 else 0           # one second with failures
        rows.append("%d,100,,Aggregated,1000.0,%d.0,5,6,7,8,10,%d,12,14,20,30,40,%d,%d,5,6,1,40,4"
                    % (t0 + i, fails, p95, 1000 * (i + 1), fails))
    with open(path, "w") as f:
        f.write("\r\n".join(rows) + "\r\n")


@test
def test_report_draws_a_day_of_history_downsampled():
    if not os.access(CHROMIUM, os.X_OK):
        print("  skip: %s missing (make deps installs chromium)" % CHROMIUM)
        return
    t = Target()
    path, _ = write_scenario("name: long\ntarget: %s\nload:\n  stages:\n    - { duration: 2s, users: 2 }\n"
                             "users:\n  - name: u\n    flow:\n"
                             "      - http: { url: /ping }\n      - think: 10ms\n" % t.url)
    out = tempfile.mkdtemp(prefix="stampede-it-long-")
    rc, _, err = run(["run", path, "--out", out, "--quiet"], timeout=60)
    t.stop()
    check(rc == 0, "the short run failed (%d): %s" % (rc, err[-2000:]))
    hist = os.path.join(out, "stats_history.csv")
    with open(hist) as f:
        f.readline()
        t0 = int(f.readline().split(",")[0])
    day_history(hist, t0)
    rc, _, err = run(["report", out], timeout=60)
    check(rc == 0, "stampede report failed (%d): %s" % (rc, err[-2000:]))
    with open(hist) as f:
        check(sum(1 for _ in f) == DAY + 1, "stats_history.csv lost rows")
    size = os.path.getsize(os.path.join(out, "report.html"))
    check(size < 16 * 1024 * 1024, "report.html is %d bytes" % size)
    prof = tempfile.mkdtemp(prefix="stampede-it-chromium-")
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + prof,
                        "--virtual-time-budget=5000", "--dump-dom", "file://" + os.path.join(out, "report.html")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    dom = p.stdout
    check('id="charts-note"' in dom, "no charts note in the rendered page: %s" % dom[-1500:])
    check("One point per 24 intervals" in dom and "86,400 rows" in dom,
          "the charts were not downsampled to 3,600 points: %s" % dom[dom.find('id="charts-note"'):][:400])
    check(dom.count("<canvas") >= 3, "the charts did not draw (%d canvases)" % dom.count("<canvas"))


if __name__ == "__main__":
    main()
