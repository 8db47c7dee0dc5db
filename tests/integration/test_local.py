"""Local runs (`stampede run` without --master) against tests/target on 127.0.0.1.

Each test starts its own target and checks Stampede's results against what the target
counted. Runs are short (a few seconds) and bounded by timeouts."""
import glob
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import (BIN, SAN_SLACK_MS, Target, _procs, check, hist_percentile, main, read_csv, route_counts, run, summary, test,  # noqa: E402
                 write_scenario)

OPERATORS = "username,password\n" + "".join("op%03d,pw-op%03d\n" % (i, i) for i in range(1, 61))

ERP_FLOW = """
users:
  - name: operator
    weight: 3
    flow:
      - http: { method: POST, url: /auth/login,
                json: { username: "{{ ops.username }}", password: "{{ ops.password }}" },
                expect: { status: 200 }, capture: { token: { json: $.access_token } } }
      - loop:
          steps:
            - http: { url: "/ppic/manufacturing-orders?page={{ rand_int(1, 100) }}",
                      headers: { Authorization: "Bearer {{ token }}" } }
            - http: { url: "/ppic/manufacturing-orders/{{ rand_int(1, 5000) }}",
                      headers: { Authorization: "Bearer {{ token }}" } }
            - think: 0ms..20ms
  - name: inspector
    weight: 1
    flow:
      - http: { method: POST, url: /auth/login,
                json: { username: "{{ ops.username }}", password: "{{ ops.password }}" },
                capture: { token: { json: $.access_token } } }
      - loop:
          count: 1000000
          steps:
            - http: { url: /qc/tests, headers: { Authorization: "Bearer {{ token }}" } }
            - http: { method: POST, url: /production/cutting,
                      headers: { Authorization: "Bearer {{ token }}" },
                      json: { order: "{{ counter }}", pieces: 12 } }
            - think: 5ms..30ms
data:
  ops: { csv: operators.csv, mode: unique }
"""


def erp_scenario(target, stages, graceful="5s", extra=""):
    return ("name: it-erp\ntarget: %s\nload:\n  stages:\n%s  graceful_stop: %s\n%s%s"
            % (target.url, "".join("    - { duration: %s, users: %d }\n" % s for s in stages),
               graceful, ERP_FLOW, extra))


def stampede_counts(s):
    out = {}
    for r in s["requests"]:
        key = "%s %s" % (r["method"], r["name"])
        out[key] = out.get(key, 0) + r["requests"]
    return out


def check_exact(s, counters):
    got, want = stampede_counts(s), route_counts(counters)
    check(s["totals"]["requests"] == counters["total"],
          "totals.requests %d != target total %d" % (s["totals"]["requests"], counters["total"]))
    check(got == want, "per-name counts differ:\n stampede %s\n target   %s" % (sorted(got.items()), sorted(want.items())))
    check(s["totals"]["requests"] > 0, "no requests at all")


@test
def test_totals_equal_target_counters():
    t = Target()
    path, d = write_scenario(erp_scenario(t, [("2s", 16), ("3s", 16)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run(["run", path, "--out", out, "--quiet", "--threads", "2"], timeout=60)
    check(rc == 0, "exit %d: %s" % (rc, err))
    s = summary(out)
    check_exact(s, t.counters())
    check(s["totals"]["failures"] == 0, "unexpected failures: %s" % s["errors"])
    check(s["totals"]["cancelled"] == 0, "requests cancelled at a graceful stop: %s" % s["totals"]["cancelled"])
    t.stop()


@test
def test_engine_cpus_pins_engine_threads_only():
    """--engine-cpus 0: each engine thread (named stampede-eng) runs on CPU 0 alone while
    the process's other threads keep the process's CPUs; totals still equal the target's;
    a bad list exits 2 before anything runs."""
    rc, out, err = run(["run", "/nonexistent.yaml", "--engine-cpus", "3-1"], timeout=30)
    check(rc == 2 and "--engine-cpus" in err and "low-high" in err, "bad list: exit %d %r" % (rc, err))
    t = Target()
    path, d = write_scenario(erp_scenario(t, [("1s", 8), ("3s", 8)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--out", out, "--quiet",
                          "--threads", "2", "--engine-cpus", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _procs.append(p)
    seen = {}
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and p.poll() is None and len(seen) < 2:
        for tid in os.listdir("/proc/%d/task" % p.pid):
            try:
                with open("/proc/%d/task/%s/comm" % (p.pid, tid)) as f:
                    comm = f.read().strip()
                with open("/proc/%d/task/%s/status" % (p.pid, tid)) as f:
                    allowed = [ln.split()[1] for ln in f if ln.startswith("Cpus_allowed_list")][0]
            except (OSError, IndexError):
                continue
            if comm == "stampede-eng":
                seen[tid] = allowed
            elif comm == "stampede":
                check(allowed != "0" or os.cpu_count() == 1,
                      "a non-engine thread was pinned too: %s %s" % (tid, allowed))
        time.sleep(0.1)
    o, e = p.communicate(timeout=60)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode, e))
    check(len(seen) == 2 and set(seen.values()) == {"0"}, "engine threads and their CPUs: %s" % seen)
    check_exact(summary(out), t.counters())
    t.stop()


@test
def test_sigint_mid_ramp_totals_exact():
    t = Target()
    path, d = write_scenario(erp_scenario(t, [("20s", 40), ("10s", 40)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run(["run", path, "--out", out, "--quiet", "--threads", "2"], timeout=60, sigint_after=3.5)
    check(rc == 0, "exit %d after one SIGINT: %s" % (rc, err))
    s = summary(out)
    check(s["duration_s"] < 15, "run did not stop at SIGINT (duration %.1fs)" % s["duration_s"])
    check(s["stop_reason"] != "finished", "stop reason should say it was stopped: %s" % s["stop_reason"])
    check_exact(s, t.counters())
    hist = read_csv(os.path.join(out, "stats_history.csv"))
    check(max(int(r["User Count"]) for r in hist) < 40, "stopped mid-ramp, yet reached the peak")
    t.stop()


@test
def test_fixed_delay_percentiles():
    t = Target("--delay", "/qc/tests=20")
    scen = """name: it-delay
target: %s
load:
  stages: [ { duration: 100ms, users: 5 }, { duration: 6s, users: 5 } ]
  graceful_stop: 2s
users:
  - name: reader
    flow:
      - http: { name: qc, url: /qc/tests?anon=1, headers: { Authorization: "Bearer none" } }
""" % t.url
    # /qc/tests needs a token: log in once per user first, then loop on the delayed route.
    scen = scen.replace("""      - http: { name: qc, url: /qc/tests?anon=1, headers: { Authorization: "Bearer none" } }""",
                        """      - http: { name: login, method: POST, url: /auth/login,
                json: { username: "u{{ user_id }}", password: secret },
                capture: { token: { json: $.access_token } } }
      - loop:
          steps:
            - http: { name: qc, url: /qc/tests, headers: { Authorization: "Bearer {{ token }}" } }""")
    path, d = write_scenario(scen)
    out = os.path.join(d, "out")
    samples_dir = tempfile.mkdtemp(prefix="samples-")
    rc, _, err = run(["run", path, "--out", out, "--quiet", "--threads", "1"], timeout=60,
                     env={"STAMPEDE_SAMPLE_LOG": samples_dir})
    check(rc == 0, "exit %d: %s" % (rc, err))
    s = summary(out)
    qc = [r for r in s["requests"] if r["name"] == "qc"][0]
    lat = qc["latency_ms"]
    check(qc["requests"] > 500, "too few samples: %d" % qc["requests"])
    # The truth is the engine's raw samples (STAMPEDE_SAMPLE_LOG logs every latency as it is
    # recorded): the reported percentiles must be exactly those of one histogram fed them.
    # This holds whatever the machine's load; absolute bounds on the measured latency do not
    # (a busy 2-core machine added 2-36 ms to p50/p99), so those are only a floor that no
    # scheduling can lower (the target sleeps 20 ms before answering) and a loose ceiling
    # that catches a unit or clock error (a latency counted twice, ms taken for us...).
    smp = []
    for f in glob.glob(os.path.join(samples_dir, "*.tsv")):
        for line in open(f):
            method, name, us = line.rstrip("\n").split("\t")
            if (method, name) == ("GET", "qc"):
                smp.append(int(us))
    check(len(smp) == qc["requests"], "sample log has %d qc samples, summary %d" % (len(smp), qc["requests"]))
    check(min(smp) >= 20000, "a qc sample of %d us is below the target's 20 ms delay" % min(smp))
    for p, key in ((50, "p50"), (99, "p99")):
        want = hist_percentile(smp, p) / 1000.0
        check(abs(lat[key] - want) < 1e-6, "%s reported %.3f ms, raw samples give %.3f ms" % (key, lat[key], want))
    check(20 <= lat["p50"] <= 20 + 30 + SAN_SLACK_MS, "p50 %.3f ms not within [20, %g]" % (lat["p50"], 50 + SAN_SLACK_MS))
    check(lat["p50"] <= lat["p99"] <= 20 + 200 + SAN_SLACK_MS,
          "p99 %.3f ms not within [p50, %g]" % (lat["p99"], 220 + SAN_SLACK_MS))
    c = t.counters()
    check(qc["requests"] == c["routes"]["GET /qc/tests"]["requests"], "qc count differs from the target's")
    check(s["totals"]["requests"] == c["total"], "totals differ from the target's")
    t.stop()


@test
def test_ramp_follows_stages():
    t = Target()
    path, d = write_scenario(erp_scenario(t, [("6s", 24), ("3s", 24), ("3s", 6)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run(["run", path, "--out", out, "--quiet", "--threads", "2"], timeout=60)
    check(rc == 0, "exit %d: %s" % (rc, err))

    def plan(t_s):
        if t_s <= 6:
            return 24 * t_s / 6
        if t_s <= 9:
            return 24
        if t_s <= 12:
            return 24 - 18 * (t_s - 9) / 3
        return 0

    rows = read_csv(os.path.join(out, "stats_history.csv"))
    check(len(rows) >= 11, "expected a row per second, got %d" % len(rows))
    for i, r in enumerate(rows[:11]):
        want = plan(i + 1)
        got = int(r["User Count"])
        check(abs(got - want) <= 1, "row %d (t=%ds): %d users, plan %.1f" % (i, i + 1, got, want))
    check_exact(summary(out), t.counters())
    t.stop()


@test
def test_failed_threshold_exits_1_with_junit():
    t = Target("--delay", "/warehouse/stock=20")
    scen = """name: it-threshold
target: %s
load: { stages: [ { duration: 3s, users: 4 } ], graceful_stop: 2s }
users:
  - name: u
    flow:
      - http: { name: login, method: POST, url: /auth/login,
                json: { username: "u{{ user_id }}", password: secret },
                capture: { token: { json: $.access_token } } }
      - loop:
          steps:
            - http: { name: stock, url: /warehouse/stock, headers: { Authorization: "Bearer {{ token }}" } }
thresholds:
  - "stock: p95 < 5ms"
  - "error_rate < 1%%"
""" % t.url
    path, d = write_scenario(scen)
    out = os.path.join(d, "out")
    rc, _, err = run(["run", path, "--out", out, "--quiet"], timeout=60)
    check(rc == 1, "a failed threshold must exit 1, got %d: %s" % (rc, err))
    junit = open(os.path.join(out, "junit.xml")).read()
    check('name="stock: p95 &lt; 5ms"' in junit, "junit.xml lacks the threshold's test case:\n" + junit)
    i = junit.index('name="stock: p95 &lt; 5ms"')
    check("<failure" in junit[i:junit.index("</testcase>", i)], "the failing case has no <failure>")
    s = summary(out)
    th = {x["expr"]: x for x in s["thresholds"]}
    check(th["stock: p95 < 5ms"]["ok"] is False and th["error_rate < 1%"]["ok"] is True, "thresholds: %s" % th)
    t.stop()


@test
def test_missing_token_counts_401_failures():
    t = Target()
    scen = """name: it-401
target: %s
load: { stages: [ { duration: 3s, users: 3 } ], graceful_stop: 2s }
users:
  - name: forgetful
    flow:
      - http: { name: stock, url: /warehouse/stock, headers: { Authorization: "Bearer {{ token }}" } }
      - http: { name: never, method: POST, url: /auth/login, json: { username: x, password: wrong },
                capture: { token: { json: $.nothing } } }
      - think: 10ms
""" % t.url
    path, d = write_scenario(scen)
    out = os.path.join(d, "out")
    rc, _, err = run(["run", path, "--out", out, "--quiet", "--exit-code-on-error", "0"], timeout=60)
    check(rc == 0, "exit %d: %s" % (rc, err))
    s = summary(out)
    c = t.counters()["routes"]
    stock = [r for r in s["requests"] if r["name"] == "stock"][0]
    check(stock["requests"] == c["GET /warehouse/stock"]["requests"], "stock count differs from the target's")
    check(stock["failures"] == stock["requests"] == c["GET /warehouse/stock"]["status"].get("401", 0),
          "every stock request should be a 401 failure: %s vs %s" % (stock, c["GET /warehouse/stock"]))
    errs = [e for e in s["errors"] if e["name"] == "stock"]
    check(errs and errs[0]["kind"] == "http_status" and errs[0]["detail"] == "401" and errs[0]["count"] == stock["failures"],
          "errors should carry http_status 401: %s" % errs)
    t.stop()


@test
def test_unique_rows_one_per_user():
    t = Target()
    scen = """name: it-unique
target: %s
load: { stages: [ { duration: 1s, users: 30 }, { duration: 2s, users: 30 } ], graceful_stop: 2s }
data:
  ops: { csv: operators.csv, mode: unique }
users:
  - name: op
    flow:
      - http: { name: login, method: POST, url: /auth/login,
                json: { username: "{{ ops.username }}", password: "{{ ops.password }}" },
                expect: { status: 200 } }
      - think: 10s
""" % t.url
    path, d = write_scenario(scen, files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run(["run", path, "--out", out, "--quiet", "--threads", "2"], timeout=60)
    check(rc == 0, "exit %d: %s" % (rc, err))
    logins = t.get("/__target/logins")
    check(len(logins) == 30, "30 users should use 30 distinct rows, target saw %d: %s" % (len(logins), logins))
    check(all(v == 1 for v in logins.values()), "a row was used twice: %s" % logins)
    check(set(logins) == {"op%03d" % i for i in range(1, 31)}, "rows are not the first 30: %s" % sorted(logins))
    t.stop()


@test
def test_results_files_locust_columns():
    t = Target()
    path, d = write_scenario(erp_scenario(t, [("1s", 4), ("1s", 4)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run(["run", path, "--out", out, "--quiet"], timeout=60)
    check(rc == 0, "exit %d: %s" % (rc, err))
    head = open(os.path.join(out, "stats.csv")).readline().strip()
    check(head == 'Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,'
                  'Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,'
                  '50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%', "stats.csv header: " + head)
    head = open(os.path.join(out, "stats_history.csv")).readline().strip()
    check(head.startswith("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%"), "history header: " + head)
    check(open(os.path.join(out, "failures.csv")).readline().strip() == "Method,Name,Error,Occurrences",
          "failures.csv header")
    rows = read_csv(os.path.join(out, "stats.csv"))
    agg = [r for r in rows if r["Name"] == "Aggregated"][0]
    check(int(agg["Request Count"]) == t.counters()["total"], "Aggregated row count differs from the target's")
    s = summary(out)
    for k in ("scenario", "duration_s", "totals", "requests", "ws", "errors", "thresholds", "workers"):
        check(k in s, "summary.json lacks %s" % k)
    t.stop()


@test
def test_validate_reports_file_line_column():
    path, _ = write_scenario("name: bad\ntaget: http://127.0.0.1:1\nload: { stages: [ { duration: 1s, users: 1 } ] }\n"
                             "users: [ { name: u, flow: [ { think: 1s } ] } ]\n")
    rc, _, err = run(["validate", path], timeout=20)
    check(rc == 2, "validate of a bad file must exit 2, got %d" % rc)
    check("%s:2:1" % path in err and "target" in err, "error should name file:2:1 and hint 'target': " + err)
    rc, _, err = run(["run", path, "--quiet"], timeout=20)
    check(rc == 2, "run of a bad file must exit 2, got %d" % rc)


@test
def test_overrides_u_r_t():
    t = Target()
    path, d = write_scenario(erp_scenario(t, [("1m", 100)]), files={"operators.csv": OPERATORS})
    out = os.path.join(d, "out")
    rc, _, err = run(["run", path, "--out", out, "--quiet", "-u", "8", "-r", "4", "-t", "4s",
                      "--set", "load.graceful_stop=3s"], timeout=60)
    check(rc == 0, "exit %d: %s" % (rc, err))
    s = summary(out)
    check(s["duration_s"] < 10, "-t 4s ran %.1fs" % s["duration_s"])
    rows = read_csv(os.path.join(out, "stats_history.csv"))
    check(int(rows[0]["User Count"]) in (3, 4, 5), "after 1 s at 4 users/s: %s" % rows[0]["User Count"])
    check(max(int(r["User Count"]) for r in rows) == 8, "peak should be 8 users")
    check_exact(s, t.counters())
    t.stop()


@test
def test_graceful_stop_cancels_and_counts():
    """Users in a request at the end finish it within graceful_stop, else it is cancelled
    and reported: requests + cancelled equals what the target answered."""
    t = Target("--delay", "/reports/production=3000")
    scen = """name: it-grace
target: %s
load: { stages: [ { duration: 100ms, users: 6 }, { duration: 2s, users: 6 } ], graceful_stop: 500ms }
users:
  - name: reporter
    flow:
      - http: { name: login, method: POST, url: /auth/login,
                json: { username: "u{{ user_id }}", password: secret },
                capture: { token: { json: $.access_token } } }
      - http: { name: report, method: POST, url: /reports/production, timeout: 20s,
                headers: { Authorization: "Bearer {{ token }}" }, json: { line: 3 } }
""" % t.url
    path, d = write_scenario(scen)
    out = os.path.join(d, "out")
    rc, _, err = run(["run", path, "--out", out, "--quiet"], timeout=60)
    check(rc == 0, "exit %d: %s" % (rc, err))
    s = summary(out)
    import time
    time.sleep(3.5)     # the target answers the abandoned reports when their delay ends
    c = t.counters()
    check(s["totals"]["cancelled"] == 6, "6 reports were in flight at the end: cancelled %d" % s["totals"]["cancelled"])
    check(s["totals"]["requests"] + s["totals"]["cancelled"] == c["total"],
          "requests %d + cancelled %d != target %d" % (s["totals"]["requests"], s["totals"]["cancelled"], c["total"]))
    t.stop()


@test
def test_request_timeout_counted_as_timeout():
    t = Target("--delay", "/warehouse/stock=400")
    scen = """name: it-timeout
target: %s
load: { stages: [ { duration: 100ms, users: 2 }, { duration: 2s, users: 2 } ], graceful_stop: 2s }
defaults: { timeout: 150ms }
users:
  - name: u
    flow:
      - http: { name: login, method: POST, url: /auth/login,
                json: { username: "u{{ user_id }}", password: secret },
                capture: { token: { json: $.access_token } } }
      - loop:
          steps:
            - http: { name: stock, url: /warehouse/stock, headers: { Authorization: "Bearer {{ token }}" } }
""" % t.url
    path, d = write_scenario(scen)
    out = os.path.join(d, "out")
    rc, _, err = run(["run", path, "--out", out, "--quiet", "--exit-code-on-error", "0"], timeout=60)
    check(rc == 0, "exit %d: %s" % (rc, err))
    s = summary(out)
    stock = [r for r in s["requests"] if r["name"] == "stock"][0]
    errs = [e for e in s["errors"] if e["name"] == "stock"]
    check(stock["requests"] >= 10 and stock["failures"] == stock["requests"], "every stock request times out: %s" % stock)
    check(len(errs) == 1 and errs[0]["kind"] == "timeout" and errs[0]["count"] == stock["failures"],
          "errors by kind: %s" % errs)
    check(140 <= stock["latency_ms"]["p50"] <= 200, "a timed-out request lasts about its timeout: %s" % stock["latency_ms"])
    t.stop()


if __name__ == "__main__":
    main()
