"""The live side of a run: Prometheus /metrics (checked by promtool), /api/live, the
dashboard page and --ui-auth, on stampede-master and on `stampede run --ui`.

Real processes on 127.0.0.1 (target, master, worker, the stampede client); every wait
is bounded and every process is killed at exit. What /metrics says after the run is
compared with the run's summary.json, which the other integration tests check against
what the target served."""
import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import BIN, Target, _procs, check, main, summary, test, write_scenario  # noqa: E402
from test_distributed import Master, Worker, teardown  # noqa: E402

PROMTOOL = "/usr/bin/promtool"


def scenario(target, duration="6s", users=6):
    """Two names on routes that need no token; /static/ok fails 20% with 503 (the target
    is started with --error /static/ok=0.2)."""
    return """name: it-metrics
target: %s
load:
  stages: [ { duration: 500ms, users: %d }, { duration: %s, users: %d } ]
  graceful_stop: 3s
users:
  - name: browser
    flow:
      - loop:
          steps:
            - http: { name: ping, url: /ping }
            - http: { name: static, url: /static/ok }
            - think: 50ms
""" % (target.url, users, duration, users)


def http_get(url, auth=None, timeout=5):
    """(status, headers, body bytes) of a GET; HTTP errors are answers, not exceptions."""
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def promtool_check(text):
    """Runs `promtool check metrics` on text; fails the test with promtool's words."""
    check(os.path.exists(PROMTOOL), "%s is missing: `make deps` installs it (Debian package prometheus)" % PROMTOOL)
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, "promtool check metrics exit %d:\n%s%s\n--- metrics ---\n%s"
          % (p.returncode, p.stdout, p.stderr, text[:3000]))


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_metrics(text):
    """[(name, {label: value}, float)] of a text exposition (comments skipped)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        check(m, "unparsable sample line: %r" % line)
        labels, rest = {}, m.group(2) or ""
        pos = 0
        while pos < len(rest):
            lm = _LABEL.match(rest, pos)
            check(lm and lm.end() > pos, "unparsable labels in %r" % line)
            labels[lm.group(1)] = re.sub(r'\\(.)', lambda x: "\n" if x.group(1) == "n" else x.group(1), lm.group(2))
            pos = lm.end()
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def samples(parsed, name):
    return [(lab, v) for n, lab, v in parsed if n == name]


def check_against_summary(parsed, s):
    """The counters of a finished run equal its summary.json."""
    req = samples(parsed, "stampede_requests_total")
    total = sum(v for _, v in req)
    check(total == s["totals"]["requests"], "sum of stampede_requests_total %d != summary totals.requests %d"
          % (total, s["totals"]["requests"]))
    got = {(lab["method"], lab["name"]): int(v) for lab, v in req}
    want = {(r["method"], r["name"]): r["requests"] for r in s["requests"]}
    check(got == want, "stampede_requests_total per name:\n metrics %s\n summary %s" % (sorted(got.items()), sorted(want.items())))
    fails = samples(parsed, "stampede_request_failures_total")
    check(sum(v for _, v in fails) == s["totals"]["failures"], "sum of stampede_request_failures_total %d != failures %d"
          % (sum(v for _, v in fails), s["totals"]["failures"]))
    gotf = {(lab["method"], lab["name"]): int(v) for lab, v in fails}
    wantf = {(r["method"], r["name"]): r["failures"] for r in s["requests"]}
    check(gotf == wantf, "stampede_request_failures_total per name:\n metrics %s\n summary %s"
          % (sorted(gotf.items()), sorted(wantf.items())))
    kinds = {lab["kind"]: int(v) for lab, v in samples(parsed, "stampede_errors_total")}
    want_status = sum(e["count"] for e in s["errors"] if e["kind"] == "http_status")
    check(kinds.get("http_status") == want_status, "stampede_errors_total{kind=\"http_status\"} %s != summary %d"
          % (kinds.get("http_status"), want_status))
    # Every summary has _count equal to the requests of its name.
    counts = {(lab["method"], lab["name"]): int(v) for lab, v in samples(parsed, "stampede_request_duration_seconds_count")}
    check(counts == want, "stampede_request_duration_seconds_count per name %s != %s" % (sorted(counts.items()), sorted(want.items())))
    q = {lab.get("quantile") for lab, _ in samples(parsed, "stampede_request_duration_seconds")}
    check({"0.5", "0.9", "0.95", "0.99"} <= q, "quantiles present: %s" % q)


def get_json(url, auth=None):
    st, _, body = http_get(url, auth)
    check(st == 200, "GET %s: %d %s" % (url, st, body[:300]))
    return json.loads(body)


@test
def test_master_metrics_promtool_and_totals():
    t = Target("--error", "/static/ok=0.2")
    m = Master(None)
    ws = [Worker(m.url, "w0")]
    m.wait_workers(1)
    check(get_json(m.api + "/api/live").get("state") == "idle", "before any run /api/live should say idle")
    _, _, idle = http_get(m.api + "/metrics")
    promtool_check(idle.decode())
    path, d = write_scenario(scenario(t))
    out = os.path.join(d, "out")
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--master", m.api, "--expect-workers", "1",
                          "--out", out, "--quiet", "--exit-code-on-error", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _procs.append(p)
    # While it runs: at least one scrape with requests in it, each one valid for promtool.
    live_scrapes = 0
    saw_running = False
    deadline = time.time() + 20
    while time.time() < deadline and p.poll() is None:
        st, hdr, body = http_get(m.api + "/metrics")
        check(st == 200, "/metrics during the run: %d" % st)
        check(hdr.get("Content-Type", "").startswith("text/plain"), "/metrics content type %s" % hdr.get("Content-Type"))
        text = body.decode()
        parsed = parse_metrics(text)
        if sum(v for _, v in samples(parsed, "stampede_requests_total")) > 0:
            promtool_check(text)
            live_scrapes += 1
            info = samples(parsed, "stampede_run_info")
            check(info and info[0][0].get("scenario") == "it-metrics", "stampede_run_info: %s" % info)
            lv = get_json(m.api + "/api/live")
            saw_running = saw_running or lv.get("state") == "running"
        time.sleep(1)
    outp, err = p.communicate(timeout=60)
    check(p.returncode == 0, "exit %d: %s\n%s" % (p.returncode, err, m.stderr()[-2000:]))
    check(live_scrapes >= 1, "no /metrics scrape with requests while the run went")
    check(saw_running, "/api/live never said \"running\" during the run")
    s = summary(out)
    check(s["totals"]["failures"] > 0, "the scenario should have failures (503 from --error)")
    # After the run: the final texts are built once more when the run ends.
    deadline = time.time() + 10
    while True:
        lv = get_json(m.api + "/api/live")
        if lv.get("state") == "finished" and lv.get("requests") == s["totals"]["requests"] or time.time() > deadline:
            break
        time.sleep(0.3)
    check(lv.get("state") == "finished", "/api/live state after the run: %s" % lv.get("state"))
    check(lv.get("requests") == s["totals"]["requests"], "/api/live requests %s != summary %d"
          % (lv.get("requests"), s["totals"]["requests"]))
    check(lv.get("failures") == s["totals"]["failures"], "/api/live failures %s != summary %d"
          % (lv.get("failures"), s["totals"]["failures"]))
    names = {(n["method"], n["name"]): n["requests"] for n in lv.get("names", [])}
    check(names == {(r["method"], r["name"]): r["requests"] for r in s["requests"]}, "/api/live names %s" % names)
    check(lv.get("out_dir") and os.path.isfile(os.path.join(lv["out_dir"], "summary.json")),
          "/api/live out_dir %r has no summary.json" % lv.get("out_dir"))
    st, _, body = http_get(m.api + "/metrics")
    text = body.decode()
    promtool_check(text)
    check_against_summary(parse_metrics(text), s)
    teardown(m, ws, t)


@test
def test_ui_auth_guards_every_path():
    m = Master(None, "--ui-auth", "u:p")
    st, hdr, _ = http_get(m.api + "/")
    check(st == 401, "GET / without auth: %d, want 401" % st)
    check((hdr.get("WWW-Authenticate") or "").lower().startswith("basic"),
          "401 without a Basic WWW-Authenticate: %r" % hdr.get("WWW-Authenticate"))
    for path in ("/metrics", "/api/live", "/api/workers"):
        st, _, _ = http_get(m.api + path)
        check(st == 401, "GET %s without auth: %d, want 401" % (path, st))
    st, _, _ = http_get(m.api + "/", auth="u:wrong")
    check(st == 401, "GET / with a wrong password: %d, want 401" % st)
    st, hdr, body = http_get(m.api + "/", auth="u:p")
    check(st == 200, "GET / with auth: %d" % st)
    check("text/html" in hdr.get("Content-Type", "") and b"<html" in body.lower(), "GET / is not the page: %s" % hdr)
    st, hdr, body = http_get(m.api + "/metrics", auth="u:p")
    check(st == 200, "GET /metrics with auth: %d" % st)
    promtool_check(body.decode())
    st, _, _ = http_get(m.api + "/api/live", auth="u:p")
    check(st == 200, "GET /api/live with auth: %d" % st)
    m.kill(15)


@test
def test_local_run_ui_serves_metrics_and_page():
    t = Target("--error", "/static/ok=0.2")
    path, d = write_scenario(scenario(t, duration="5s", users=4))
    out = os.path.join(d, "out")
    p = subprocess.Popen([os.path.join(BIN, "stampede"), "run", path, "--ui", "127.0.0.1:0", "--out", out,
                          "--quiet", "--threads", "1", "--exit-code-on-error", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _procs.append(p)
    base = None
    t0 = time.time()
    lines = []
    while time.time() - t0 < 10:
        line = p.stderr.readline()
        if not line:
            break
        lines.append(line)
        mm = re.search(r"dashboard on (http://\S+?)/? ", line)
        if mm:
            base = mm.group(1).rstrip("/")
            break
    check(base, "no \"dashboard on http://...\" line from stampede run --ui: %s" % "".join(lines))
    st, hdr, body = http_get(base + "/")
    check(st == 200 and "text/html" in hdr.get("Content-Type", ""), "GET / during the run: %d %s" % (st, hdr.get("Content-Type")))
    check(b'id="scenario-yaml"' in body, "the page is not the dashboard")
    got_requests = False
    deadline = time.time() + 10
    while time.time() < deadline and p.poll() is None and not got_requests:
        st, _, body = http_get(base + "/metrics")
        check(st == 200, "/metrics during the local run: %d" % st)
        text = body.decode()
        if sum(v for _, v in samples(parse_metrics(text), "stampede_requests_total")) > 0:
            promtool_check(text)
            got_requests = True
        else:
            time.sleep(0.5)
    check(got_requests, "/metrics of the local run never counted a request")
    lv = get_json(base + "/api/live")
    check(lv.get("state") == "running" and lv.get("scenario") == "it-metrics", "/api/live during the local run: %s"
          % {k: lv.get(k) for k in ("state", "scenario")})
    _, err = p.communicate(timeout=60)
    check(p.returncode == 0, "exit %d: %s" % (p.returncode, err))
    s = summary(out)
    check(s["totals"]["requests"] == t.counters()["total"], "local run totals differ from the target's")
    t.stop()


if __name__ == "__main__":
    import lib
    lib.TESTS[:] = [f for f in lib.TESTS if f.__module__ == "__main__"]   # not the imported files' tests
    main()
