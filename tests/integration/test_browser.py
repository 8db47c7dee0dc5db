"""The dashboard and report.html in a real browser: starts the target, stampede-master
and one stampede-worker on 127.0.0.1, then runs tests/e2e/dashboard.mjs (node,
playwright-core, Debian's chromium) against them and checks its verdict (issue 12's
dashboard defects and the New-run form starting configs/erp-peak.yaml with its data file
are checked there too). A second test runs an open-model scenario locally with
`stampede run --ui` (100/s for 10 s) and runs dashboard.mjs in its local-open mode: the
schedule card and the open model's charts, the hidden New-run panel, and the run's
report.html with its open-model charts.

Screenshots (dashboard-running.png, dashboard-finished.png, report.png) are saved by the
test as artifacts under the run's results folder, in screenshots/. With UPDATE_DOCS=1
the running dashboard and the report also go to docs/dashboard.png and docs/report.png.

Skipped, and saying why, only when chromium or node_modules/playwright-core is missing
(`make deps` installs both; CI has them)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import BIN, ROOT, Target, _procs, check, main, test, write_scenario  # noqa: E402
from test_distributed import Master, Worker, free_port, teardown  # noqa: E402

CHROMIUM = os.environ.get("STAMPEDE_CHROMIUM", "/usr/bin/chromium")
PLAYWRIGHT = os.path.join(ROOT, "node_modules", "playwright-core", "package.json")
SCRIPT = os.path.join(ROOT, "tests", "e2e", "dashboard.mjs")
NAME = "test_browser"


def missing():
    """What is missing to run the browser test; empty when all is there."""
    out = []
    if not os.access(CHROMIUM, os.X_OK):
        out.append(CHROMIUM)
    if not os.path.exists(PLAYWRIGHT):
        out.append("node_modules/playwright-core (npm ci)")
    return out


@test
def test_dashboard_and_report_in_chromium():
    t = Target("--error", "/static/ok=0.1")
    m = Master(None)
    ws = [Worker(m.url, "w0")]
    m.wait_workers(1)
    shots = tempfile.mkdtemp(prefix="stampede-e2e-")
    env = dict(os.environ, STAMPEDE_UI=m.api, STAMPEDE_TARGET=t.url, STAMPEDE_ARTIFACTS=shots,
               STAMPEDE_WORKER_ID="w0", STAMPEDE_CHROMIUM=CHROMIUM)
    try:
        p = subprocess.run(["node", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("dashboard.mjs did not end within 120 s: %s" % (e.stderr or "")[-2000:])
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    check(lines, "dashboard.mjs printed no result (exit %d):\n%s\n%s" % (p.returncode, p.stdout[-2000:], p.stderr[-3000:]))
    res = json.loads(lines[-1])
    # The screenshots go with the run's other results, whatever the verdict.
    out = res.get("out_dir")
    saved = []
    if out and os.path.isdir(out):
        dest = os.path.join(out, "screenshots")
        os.makedirs(dest, exist_ok=True)
        for f in res.get("screenshots", []):
            shutil.copy(f, dest)
            saved.append(os.path.join(dest, os.path.basename(f)))
        print("  screenshots: %s" % dest, flush=True)
    check(p.returncode == 0 and res.get("ok") is True,
          "dashboard.mjs failed (exit %d):\n  %s\nstderr: %s\nmaster: %s"
          % (p.returncode, "\n  ".join(res.get("failures", [])), p.stderr[-2000:], m.stderr()[-1500:]))
    names = {r["name"] for r in res["dashboard"]["running"]["rows"]}
    check({"ping", "static", "orders-denied"} <= names, "running rows: %s" % names)
    check(res["dashboard"]["final_state"] == "finished", "final state %s" % res["dashboard"]["final_state"])
    check(len(res["report"]["rows"]) == 3, "report rows: %s" % res["report"]["rows"])
    check(res["erp_peak"]["summary"]["logins"] > 0, "erp-peak from the form: %s" % res["erp_peak"])
    check(any(x.get("path") == "data/operators.csv" for x in res["erp_peak"]["data_map"]),
          "the form maps operators.csv to data/operators.csv: %s" % res["erp_peak"]["data_map"])
    check(out.startswith(m.results), "out_dir %s is not under --results-dir %s" % (out, m.results))
    for name in ("dashboard-running.png", "dashboard-finished.png", "report.png"):
        f = os.path.join(out, "screenshots", name)
        check(os.path.getsize(f) > 10000, "%s is too small to be a page" % f)
    if os.environ.get("UPDATE_DOCS") == "1":
        docs = os.path.join(ROOT, "docs")
        os.makedirs(docs, exist_ok=True)
        shutil.copy(os.path.join(out, "screenshots", "dashboard-running.png"), os.path.join(docs, "dashboard.png"))
        shutil.copy(os.path.join(out, "screenshots", "report.png"), os.path.join(docs, "report.png"))
        print("  docs/dashboard.png and docs/report.png updated", flush=True)
    teardown(m, ws, t)


OPEN_RATE = 100
OPEN_SECONDS = 10


@test
def test_open_model_local_ui_in_chromium():
    t = Target()
    path, d = write_scenario("""name: e2e-open
target: %s
load:
  model: open
  max_users: 20
  stages: [ { duration: 0s, rate: %d }, { duration: %ds, rate: %d } ]
  graceful_stop: 2s
users:
  - name: visitor
    flow:
      - http: { name: ping, url: /ping }
      - http: { name: static, url: /static/ok }
""" % (t.url, OPEN_RATE, OPEN_SECONDS, OPEN_RATE))
    out = os.path.join(d, "out")
    port = free_port()
    ui = "http://127.0.0.1:%d" % port
    cli = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--ui", "127.0.0.1:%d" % port,
                            "--out", out, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _procs.append(cli)
    end = time.monotonic() + 10
    while time.monotonic() < end:          # the dashboard comes up once the run started
        try:
            with urllib.request.urlopen(ui + "/api/live", timeout=2) as r:
                if json.loads(r.read()).get("run_id"):
                    break
        except OSError:
            pass
        time.sleep(0.2)
    shots = tempfile.mkdtemp(prefix="stampede-e2e-open-")
    env = dict(os.environ, STAMPEDE_UI=ui, STAMPEDE_TARGET=t.url, STAMPEDE_ARTIFACTS=shots,
               STAMPEDE_CHROMIUM=CHROMIUM, STAMPEDE_MODE="local-open", STAMPEDE_OUT=out)
    try:
        p = subprocess.run(["node", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("dashboard.mjs did not end within 120 s: %s" % (e.stderr or "")[-2000:])
    rc = cli.wait(timeout=60)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    check(lines, "dashboard.mjs printed no result (exit %d):\n%s\n%s" % (p.returncode, p.stdout[-2000:], p.stderr[-3000:]))
    res = json.loads(lines[-1])
    if os.path.isdir(out):
        dest = os.path.join(out, "screenshots")
        os.makedirs(dest, exist_ok=True)
        for f in res.get("screenshots", []):
            shutil.copy(f, dest)
        print("  screenshots: %s" % dest, flush=True)
    check(p.returncode == 0 and res.get("ok") is True,
          "dashboard.mjs (local-open) failed (exit %d):\n  %s\nstderr: %s\ncli: %s"
          % (p.returncode, "\n  ".join(res.get("failures", [])), p.stderr[-2000:], cli.stderr.read()[-1500:]))
    check(rc == 0, "the local run exited %d" % rc)
    sched = res["dashboard"]["open"]["ui"]["schedule"]
    check(int(sched["Intended"].replace(",", "")) > 0, "schedule card: %s" % sched)
    with open(os.path.join(out, "summary.json")) as f:
        s = json.load(f)
    check(s["schedule"]["model"] == "open" and s["schedule"]["started"] > 0, "summary schedule: %s" % s["schedule"])
    t.stop()


if __name__ == "__main__":
    lib.TESTS[:] = [f for f in lib.TESTS if f.__module__ == "__main__"]   # not the imported files' tests
    gone = missing()
    if gone:
        print("%s: skipped: %s missing (`make deps` installs chromium and node_modules; CI has them)"
              % (NAME, ", ".join(gone)))
        print("%s: 0 passed, 0 failed, %d skipped" % (NAME, len(lib.TESTS)))
        sys.exit(0)
    main()
