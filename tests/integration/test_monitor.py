"""The system under test, watched (issue 13, the `monitor:` section), on real processes:
- prometheus-node-exporter (Debian) on 127.0.0.1 and the bundled target's own /metrics
  scraped every second during a short local `stampede run`: cpu and memory recorded in
  monitor.csv and summary.json with plausible values (0..100), the target's request
  counter turned into a rate per second (below the count the target served, above 0),
  its simulated db pool gauge kept as a value; /metrics is not counted by the target, so
  the run's totals still equal the target's count;
- a scrape target that is down (a closed port) is counted in monitor_targets with its
  reason and the run still exits 0;
- a monitor threshold set to fail ("monitor host.memory < 1%") fails the run: exit 1,
  named on the console, ok false in summary.json;
- a URL outside --allow-monitor is refused before the run (exit 2, the reason names the
  target and the list; nothing is fetched, no results folder), and --allow-monitor
  replaces the loopback default;
- the same on stampede-master with a worker: the master scrapes (monitor.csv in its
  folder, "monitor" in the summary the CLI receives) and refuses a URL outside its own
  --allow-monitor at submit;
- a local run killed with SIGKILL after three scrapes: `stampede report DIR` rebuilds
  summary.json's "monitor" from monitor.csv and judges the monitor thresholds on it.
Load goes only to tests/target on 127.0.0.1; each run lasts a few seconds."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import BIN, TESTS, Target, _procs, check, free_port, main, read_csv, route_counts, run, summary, test, write_scenario  # noqa: E402
# The cluster helpers; importing them registers their module's tests too: drop those.
from test_distributed import cluster, run_remote, teardown  # noqa: E402
del TESTS[:]

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
_node = {}


def node_exporter():
    """One node_exporter for the file, on a free loopback port; its /metrics URL."""
    if "url" in _node:
        return _node["url"]
    port = free_port()
    p = subprocess.Popen([NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % port],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _procs.append(p)
    url = "http://127.0.0.1:%d/metrics" % port
    for _ in range(100):                    # at most ~10 s
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if b"node_cpu_seconds_total" in r.read():
                    _node["url"] = url
                    return url
        except OSError:
            time.sleep(0.1)
    raise AssertionError("node_exporter did not answer on %s" % url)


def scenario(t, host_url, thresholds=(), seconds=4, extra_targets=""):
    s = ("name: watched\ntarget: %s\nload:\n  graceful_stop: 1s\n  stages:\n"
         "    - { duration: %ds, users: 4 }\n"
         "monitor:\n  interval: 1s\n  targets:\n"
         "    - name: host\n      url: %s\n"
         "    - name: app\n      url: %s/metrics\n      metrics:\n"
         "        requests: http_requests_total\n"
         "        db_pool_in_use: 'db_pool_connections{state=\"in_use\"}'\n"
         "%s" % (t.url, seconds, host_url, t.url, extra_targets))
    if thresholds:
        s += "thresholds:\n" + "".join('  - "%s"\n' % x for x in thresholds)
    s += ("users:\n  - name: u\n    flow:\n      - http: { name: ping, url: /ping }\n"
          "      - think: 5ms\n")
    return s


def stat(s, target, metric):
    for m in s["monitor"]:
        if m["target"] == target and m["metric"] == metric:
            return m
    raise AssertionError("no %s.%s in summary.json monitor: %s" % (target, metric, s["monitor"]))


@test
def test_node_exporter_target_and_a_down_scrape():
    host = node_exporter()
    t = Target()
    down = "http://127.0.0.1:%d/metrics" % free_port()      # nothing listens there
    path, d = write_scenario(scenario(t, host, thresholds=["monitor host.memory < 100%",
                                                            "monitor app.up min >= 1"],
                                      extra_targets="    - name: down\n      url: %s\n" % down))
    rc, out, err = run(["validate", path])
    check(rc == 0 and "monitor: 3 targets every 1s" in out, "validate: %d %s %s" % (rc, out, err))
    outdir = os.path.join(d, "out")
    rc, out, err = run(["run", path, "--out", outdir, "--quiet"], timeout=60)
    check(rc == 0, "a down scrape target must not fail the run: exit %d: %s" % (rc, err))
    s = summary(outdir)
    rows = read_csv(os.path.join(outdir, "monitor.csv"))
    check(rows and list(rows[0].keys()) == ["Timestamp", "Target", "Metric", "Value"],
          "monitor.csv header: %s" % (rows[:1],))
    by = {}
    for r in rows:
        by.setdefault((r["Target"], r["Metric"]), []).append(float(r["Value"]))
    for metric in ("cpu", "memory"):
        vals = by.get(("host", metric), [])
        check(len(vals) >= 2, "host.%s rows: %s" % (metric, vals))
        check(all(0 <= v <= 100 for v in vals), "host.%s out of 0..100: %s" % (metric, vals))
        m = stat(s, "host", metric)
        check(0 <= m["min"] <= m["mean"] <= m["max"] <= 100 and m["samples"] == len(vals),
              "summary host.%s: %s" % (metric, m))
    check(stat(s, "host", "memory")["min"] > 0, "memory used is above 0 %%: %s" % stat(s, "host", "memory"))
    check(("host", "load") in by, "node_load1 as load: %s" % sorted(by))
    # the target's counter as a rate: above 0 while loaded, below the count it served
    served = sum(route_counts(t.counters()).values())
    check("GET /metrics" not in route_counts(t.counters()), "/metrics must not be counted")
    check(served == s["totals"]["requests"], "target %d vs totals %d" % (served, s["totals"]["requests"]))
    req = stat(s, "app", "requests")
    check(0 < req["max"] < served, "app.requests is a rate per second: %s (served %d)" % (req, served))
    check(stat(s, "app", "db_pool_in_use")["max"] >= 0, "the pool gauge is recorded")
    # the down target: counted, with its reason; never a sample of its figures
    tg = {x["target"]: x for x in s["monitor_targets"]}
    check(tg["down"]["scrapes"] >= 2 and tg["down"]["failures"] == tg["down"]["scrapes"],
          "down target counted: %s" % tg["down"])
    check(tg["down"]["last_error"], "down target's reason: %s" % tg["down"])
    check(tg["host"]["failures"] == 0 and tg["app"]["failures"] == 0, "targets: %s" % tg)
    check(stat(s, "down", "up")["max"] == 0, "down.up is 0")
    check(all(x["ok"] for x in s["thresholds"]), "thresholds held: %s" % s["thresholds"])
    check("down" in err and "failed" in err, "the console says the scrape failed: %s" % err)
    # report.html carries the series for its charts (the data element's "monitor")
    html = open(os.path.join(outdir, "report.html")).read()
    data = json.loads(html.split('<script type="application/json" id="stampede-data">')[1].split("</script>")[0])
    series = {(x["target"], x["metric"]): x for x in data["monitor"]}
    check(len(series[("host", "cpu")]["v"]) == stat(s, "host", "cpu")["samples"],
          "report.html's host.cpu series: %s" % series.get(("host", "cpu")))


@test
def test_monitor_threshold_fails_the_run():
    host = node_exporter()
    t = Target()
    path, d = write_scenario(scenario(t, host, thresholds=["monitor host.memory < 1%"], seconds=2))
    outdir = os.path.join(d, "out")
    rc, out, err = run(["run", path, "--out", outdir, "--quiet"], timeout=60)
    check(rc == 1, "a failed monitor threshold: exit %d: %s" % (rc, err))
    check("monitor host.memory < 1%" in err, "the console names it: %s" % err)
    th = summary(outdir)["thresholds"][0]
    check(th["ok"] is False and th["value"] >= 1, "summary.json: %s" % th)


@test
def test_outside_allow_monitor_refused():
    t = Target()
    far = ("    - name: far\n      url: http://10.255.255.1:9100/metrics\n")
    path, d = write_scenario(scenario(t, "http://127.0.0.1:1/metrics", seconds=1, extra_targets=far))
    outdir = os.path.join(d, "out")
    rc, out, err = run(["run", path, "--out", outdir, "--quiet"], timeout=30)
    check(rc == 2, "a URL outside --allow-monitor: exit %d: %s" % (rc, err))
    check("monitor target 'far'" in err and "outside --allow-monitor 127.0.0.0/8" in err,
          "the reason: %s" % err)
    check(not os.path.exists(outdir), "refused before the results folder")
    check(sum(route_counts(t.counters()).values()) == 0, "no load either")
    # --allow-monitor replaces the default: loopback is then refused too
    path, d = write_scenario(scenario(t, "http://127.0.0.1:1/metrics", seconds=1))
    rc, out, err = run(["run", path, "--out", os.path.join(d, "out"), "--quiet",
                        "--allow-monitor", "10.0.0.0/8"], timeout=30)
    check(rc == 2 and "monitor target 'host'" in err and "10.0.0.0/8" in err,
          "--allow-monitor 10.0.0.0/8 refuses loopback: %d %s" % (rc, err))
    rc, out, err = run(["run", path, "--allow-monitor", "nonsense"], timeout=30)
    check(rc != 0 and "--allow-monitor" in err, "a bad list: %d %s" % (rc, err))
    # with --master the list is the master's own option
    rc, out, err = run(["run", path, "--master", "http://127.0.0.1:1", "--allow-monitor",
                        "127.0.0.0/8"], timeout=30)
    check(rc == 2 and "stampede-master --allow-monitor" in err, "--master: %d %s" % (rc, err))


@test
def test_master_scrapes_and_refuses():
    host = node_exporter()
    t = Target()
    m, ws = cluster(1)
    try:
        path, d = write_scenario(scenario(t, host, thresholds=["monitor host.memory < 100%"], seconds=3))
        out = os.path.join(d, "out")
        rc, so, err = run_remote(m, path, out, 1, timeout=60)
        check(rc == 0, "distributed run with a monitor: exit %d: %s" % (rc, err))
        s = summary(out)
        check(stat(s, "host", "memory")["samples"] >= 2 and 0 < stat(s, "host", "memory")["max"] <= 100,
              "the master's summary: %s" % s["monitor"])
        check(s["thresholds"][0]["ok"] is True, "threshold: %s" % s["thresholds"])
        mcsv = [os.path.join(r, "monitor.csv") for r, _, fs in os.walk(m.results) if "monitor.csv" in fs]
        check(len(mcsv) == 1 and len(read_csv(mcsv[0])) > 4, "monitor.csv in the master's folder: %s" % mcsv)
        far = "    - name: far\n      url: http://10.255.255.1:9100/metrics\n"
        path, d = write_scenario(scenario(t, host, seconds=1, extra_targets=far))
        rc, so, err = run_remote(m, path, os.path.join(d, "out"), 1, timeout=60)
        check(rc == 2 and "monitor target 'far'" in err and "outside --allow-monitor" in err,
              "the master refuses at submit: %d %s" % (rc, err))
    finally:
        teardown(m, ws)


@test
def test_killed_run_rebuilt_with_its_monitor():
    host = node_exporter()
    t = Target()
    path, d = write_scenario(scenario(t, host, seconds=30, thresholds=["monitor host.memory < 100%",
                                                                        "monitor host.memory < 1%"]))
    out = os.path.join(d, "out")
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--out", out, "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _procs.append(p)
    csv_path = os.path.join(out, "monitor.csv")
    deadline = time.time() + 15
    while time.time() < deadline:           # three rounds of host.memory, then SIGKILL
        if os.path.exists(csv_path) and open(csv_path).read().count(",host,memory,") >= 3:
            break
        time.sleep(0.2)
    p.kill()
    p.wait(timeout=10)
    mem = [r for r in read_csv(csv_path) if r["Target"] == "host" and r["Metric"] == "memory"]
    check(len(mem) >= 3, "monitor.csv before the kill: %d rows" % len(mem))
    rc, so, err = run(["report", out], timeout=60)
    check(rc == 1, "rebuilt with a failed monitor threshold: exit %d %s %s" % (rc, so, err))
    s = summary(out)
    check(s.get("interrupted") is True, "interrupted: %s" % s.get("interrupted"))
    m = stat(s, "host", "memory")
    check(m["samples"] == len(mem) and abs(m["max"] - max(float(r["Value"]) for r in mem)) < 1e-6,
          "the rebuilt monitor summary is monitor.csv's: %s vs %d rows" % (m, len(mem)))
    check(s["thresholds"][0]["ok"] is True and s["thresholds"][1]["ok"] is False,
          "monitor thresholds judged on what was scraped: %s" % s["thresholds"])


if __name__ == "__main__":
    main()
