"""The open model's command line (issue 11): `stampede validate` and `stampede run` on
open-model scenarios, without load: configs/erp-throughput.yaml validates and says its
schedule; --arrival-rate and -t change what validate reports; every misuse of the
scenario language exits 2 with file:line:col and a hint; -r on an open scenario and
--arrival-rate on a closed one are refused (exit 2, with a hint) before anything starts;
a real stampede-master's API refuses a bad "arrival_rate" in a run submission (400).

Real `stampede` processes; nothing here sends a request (the refusals come before a run),
so no target is needed."""
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import BIN, ROOT, _procs, check, main, run, test, write_scenario  # noqa: E402

THROUGHPUT = os.path.join(ROOT, "configs", "erp-throughput.yaml")
PEAK = os.path.join(ROOT, "configs", "erp-peak.yaml")

OPEN_HEAD = ("name: t\ntarget: http://127.0.0.1:9\nload:\n  model: open\n  max_users: 10\n"
             "  stages:\n")


@test
def test_throughput_config_validates_with_its_schedule():
    rc, out, err = run(["validate", THROUGHPUT])
    check(rc == 0, "validate exit %d: %s" % (rc, err))
    m = re.search(r"open model: rate up to ([0-9.]+)/s, ([0-9]+) arrivals planned, pool of "
                  r"([0-9]+) users", out)
    check(m is not None, "no schedule in %r" % out)
    rate, planned, pool = float(m.group(1)), int(m.group(2)), int(m.group(3))
    check(rate >= 50 + 100 + 100, "the goals need 250 iterations/s, planned %g" % rate)
    check(pool >= 1, "pool %d" % pool)
    # --arrival-rate R for 10 s plans R x 10 arrivals; -t alone holds the last rate
    rc, out, err = run(["validate", THROUGHPUT, "--arrival-rate", "3000/m", "-t", "10s"])
    check(rc == 0, "validate --arrival-rate exit %d: %s" % (rc, err))
    check("rate up to 50/s, 500 arrivals planned" in out, "arrival-rate 3000/m for 10s: %r" % out)
    rc, out, err = run(["validate", THROUGHPUT, "-t", "2m"])
    check(rc == 0 and ("%d arrivals planned" % (2 * planned)) in out,
          "-t 2m doubles a one-minute hold (%d): %r %s" % (planned, out, err))


def expect_error(text, line, col, msg, hint):
    path, _ = write_scenario(text)
    rc, out, err = run(["validate", path])
    check(rc == 2, "exit %d for %r: %s" % (rc, msg, err))
    where = "%s:%d:%d: error: " % (path, line, col)
    check(where in err and msg in err, "want %s%s, got %r" % (where, msg, err))
    check("hint:" in err and hint in err.split("hint:", 1)[1], "hint %r missing: %r" % (hint, err))


@test
def test_validate_explains_open_model_misuse():
    flow = "users:\n  - name: u\n    flow:\n      - http: { url: /ping }\n"
    expect_error(OPEN_HEAD + "    - { duration: 1m, users: 10 }\n" + flow, 7, 23,
                 "'users' in a stage of the open model", "rate: 50")
    expect_error("name: t\ntarget: http://127.0.0.1:9\nload:\n  stages:\n"
                 "    - { duration: 1m, rate: 10 }\n" + flow, 5, 23,
                 "'rate' in a stage of the closed model", "model: open")
    expect_error(OPEN_HEAD + "    - { duration: 1m, rate: 50 }\n"
                 "users:\n  - name: u\n    flow:\n      - loop: { steps: [ { http: { url: /ping } } ] }\n",
                 11, 15, "this loop never ends", "give the loop a count, or use model: closed")
    expect_error("name: t\ntarget: http://127.0.0.1:9\nload:\n  model: open\n  stages:\n"
                 "    - { duration: 1m, rate: 50 }\n" + flow, 4, 3, "load is missing 'max_users'",
                 "max_users: 100")
    expect_error(OPEN_HEAD + "    - { duration: 1m, rate: 5/d }\n" + flow, 7, 29,
                 "expected a rate such as 50, 50/s, 3000/m or 100/h", "per second")
    expect_error("name: t\ntarget: http://127.0.0.1:9\nload:\n  stages:\n"
                 "    - { duration: 1m, users: 1 }\n" + flow + "thresholds: [ \"dropped < 1\" ]\n",
                 10, 15, "about the open model's schedule", "model: open")


@test
def test_model_options_refused_before_a_run():
    rc, out, err = run(["run", THROUGHPUT, "-u", "10", "-r", "5", "-t", "1s", "--quiet"], timeout=30)
    check(rc == 2 and "-r (spawn rate) has no meaning" in err and "--arrival-rate" in err,
          "-r on an open scenario: exit %d %r" % (rc, err))
    check("results:" not in out, "a refused run printed results: %r" % out)
    rc, out, err = run(["run", PEAK, "--arrival-rate", "5/s", "-t", "1s", "--quiet"], timeout=30)
    check(rc == 2 and "--arrival-rate needs an open-model scenario" in err and "-u N and -r R" in err,
          "--arrival-rate on a closed scenario: exit %d %r" % (rc, err))
    for bad in ("0", "-3", "fast", "5/d", "20000000"):
        rc, out, err = run(["run", THROUGHPUT, "--arrival-rate", bad, "--quiet"], timeout=30)
        check(rc == 2 and "--arrival-rate wants" in err, "--arrival-rate %s: exit %d %r" % (bad, rc, err))
    rc, out, err = run(["validate", PEAK, "--arrival-rate", "5"])
    check(rc == 2 and "--arrival-rate needs an open-model scenario" in err, "validate: %d %r" % (rc, err))



def post_run(api, body):
    """POST /api/runs: (HTTP status, decoded JSON answer)."""
    req = urllib.request.Request(api + "/api/runs", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@test
def test_api_refuses_bad_arrival_rate():
    """The run submission's "arrival_rate" (master/api_req.c, proto/plan.c): negative, above
    SC_MAX_RATE, not a number, or on a closed scenario: 400 with a message, no run."""
    results = tempfile.mkdtemp(prefix="master-results-")
    log = tempfile.NamedTemporaryFile(prefix="master-", suffix=".log", delete=False).name
    m = subprocess.Popen([os.path.join(BIN, "stampede-master"), "--listen", "tcp://127.0.0.1:0",
                          "--http", "127.0.0.1:0", "--results-dir", results],
                         stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
    _procs.append(m)
    line = m.stdout.readline()
    check("api on http://" in line, "master did not start: %r %s" % (line, open(log).read()))
    api = line.strip().split("api on ")[1]
    flow = "users:\n  - name: u\n    flow:\n      - http: { url: /ping }\n"
    open_sc = OPEN_HEAD + "    - { duration: 1s, rate: 5 }\n" + flow
    closed_sc = ("name: t\ntarget: http://127.0.0.1:9\nload:\n  stages:\n"
                 "    - { duration: 1s, users: 1 }\n" + flow)
    cases = [(open_sc, -1, "\"arrival_rate\" must be a number of iterations per second between 0 and"),
             (open_sc, 1e7 + 1, "\"arrival_rate\" must be a number of iterations per second between 0 and"),
             (open_sc, "50/s", "\"arrival_rate\" must be a number of iterations per second between 0 and"),
             (open_sc, True, "\"arrival_rate\" must be a number"),
             (closed_sc, 5, "--arrival-rate applies to the open model")]
    for sc, rate, want in cases:
        code, j = post_run(api, {"scenario": sc, "scenario_file": "t.yaml", "arrival_rate": rate,
                                 "expect_workers": 1, "expect_timeout_ms": 1000})
        check(code == 400, "arrival_rate %r: HTTP %d %s" % (rate, code, j))
        check(want in j.get("error", ""), "arrival_rate %r: %r lacks %r" % (rate, j, want))
    with urllib.request.urlopen(api + "/api/live", timeout=10) as r:
        live = json.loads(r.read())
    check(live.get("state") == "idle" and live.get("run_id") is None,
          "a refused submission started a run: %s" % live)
    m.terminate()
    m.wait(timeout=30)



if __name__ == "__main__":
    main()
