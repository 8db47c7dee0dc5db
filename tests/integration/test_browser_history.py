"""The dashboard's Runs and Schedules pages (issue 14) in a real browser: starts the
target, a stampede-master with its --results-dir in a temporary folder (so its history.db
is new) and one stampede-worker on 127.0.0.1, records two short runs of one scenario with
`stampede run --master URL --label commit=...`, then runs tests/e2e/history.mjs (node,
playwright-core, Debian's chromium) against them and checks its verdict: the runs listed
newest first, a baseline marked with the page's button (GET /api/trends then names it),
the trend charts drawn with the baseline marked, the two runs side by side, and a
schedule ("0 3 * * *", Europe/Berlin) added from the page's form (then in GET
/api/schedules and in the list) and removed; errors shown in the page, no console error.

Screenshots (runs.png, schedules.png) go to a temporary folder the test prints.

Skipped, and saying why, only when chromium or node_modules/playwright-core is missing
(`make deps` installs both; CI has them)."""
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import ROOT, Target, check, main, run, test, write_scenario  # noqa: E402
from test_distributed import Master, Worker, teardown  # noqa: E402
from test_browser import CHROMIUM, missing  # noqa: E402

SCRIPT = os.path.join(ROOT, "tests", "e2e", "history.mjs")
NAME = "test_browser_history"
SCENARIO = "e2e-history"
RUN_S = 3


def scenario(target):
    return """name: %s
target: %s
load:
  stages: [ { duration: 1ms, users: 4 }, { duration: %ds, users: 4 } ]
users:
  - name: u
    flow:
      - loop:
          steps:
            - http: { name: ping, url: /ping }
            - http: { name: static, url: /static/ok }
            - think: 20ms
""" % (SCENARIO, target.url, RUN_S)


@test
def test_runs_and_schedules_pages_in_chromium():
    t = Target()
    m = Master(None)
    ws = [Worker(m.url, "w0")]
    m.wait_workers(1)
    path, d = write_scenario(scenario(t))
    for label in ("first", "second"):
        rc, out, err = run(["run", path, "--master", m.api, "--label", "commit=" + label, "--quiet",
                            "--out", os.path.join(d, label)], timeout=60)
        check(rc == 0, "run %s: exit %d %s\nmaster: %s" % (label, rc, err[-1500:], m.stderr()[-1500:]))
    shots = tempfile.mkdtemp(prefix="stampede-e2e-history-")
    env = dict(os.environ, STAMPEDE_UI=m.api, STAMPEDE_TARGET=t.url, STAMPEDE_SCENARIO=SCENARIO,
               STAMPEDE_ARTIFACTS=shots, STAMPEDE_CHROMIUM=CHROMIUM)
    try:
        p = subprocess.run(["node", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("history.mjs did not end within 90 s: %s" % (e.stderr or "")[-2000:])
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    check(lines, "history.mjs printed no result (exit %d):\n%s\n%s" % (p.returncode, p.stdout[-2000:], p.stderr[-3000:]))
    res = json.loads(lines[-1])
    print("  screenshots: %s" % shots, flush=True)
    check(p.returncode == 0 and res.get("ok") is True,
          "history.mjs failed (exit %d):\n  %s\nstderr: %s\nmaster: %s"
          % (p.returncode, "\n  ".join(res.get("failures", [])), p.stderr[-2000:], m.stderr()[-1500:]))
    # What the page did, seen from the API.
    with urllib.request.urlopen(m.api + "/api/history?scenario=" + SCENARIO, timeout=10) as r:
        runs = json.loads(r.read())["runs"]
    check([r["labels"]["commit"] for r in runs] == ["second", "first"], "history: %s" % runs)
    check(res["runs"]["api"] == [r["id"] for r in runs], "the page saw %s" % res["runs"]["api"])
    check([r["id"] for r in runs if r["baseline"]] == [runs[-1]["id"]], "baseline: %s" % runs)
    check(res["compare"]["lines"] > 0 and "Aggregated" in res["compare"]["names"], "compare: %s" % res["compare"])
    check(res["schedules"]["after_remove"] == 0 and res["schedules"]["api"][0]["tz"] == "Europe/Berlin",
          "schedules: %s" % res["schedules"])
    for f in res["screenshots"]:
        check(os.path.getsize(f) > 10000, "%s is too small to be a page" % f)
    teardown(m, ws, t)


if __name__ == "__main__":
    lib.TESTS[:] = [f for f in lib.TESTS if f.__module__ == "__main__"]   # not the imported files' tests
    gone = missing()
    if gone:
        print("%s: skipped: %s missing (`make deps` installs chromium and node_modules; CI has them)"
              % (NAME, ", ".join(gone)))
        print("%s: 0 passed, 0 failed, %d skipped" % (NAME, len(lib.TESTS)))
        sys.exit(0)
    main()
