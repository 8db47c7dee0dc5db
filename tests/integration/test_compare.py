"""`stampede compare BASE NEW` as a real process: crafted summary.json files written
here, the exit code, the table lines, the summary line and the JUnit XML checked; plus
one real run (configs/smoke.yaml against tests/target) compared with itself."""
import copy
import json
import os
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import ROOT, Target, check, main, run, summary, test  # noqa: E402


def lat(p95):
    """A latency object (ms) whose keys all follow p95."""
    return {"min": p95 / 10, "mean": p95 / 2, "p50": p95 / 3, "p90": p95 * 0.9, "p95": p95,
            "p99": p95 * 1.5, "p999": p95 * 2, "max": p95 * 3}


def row(method, name, requests=1000, failures=0, rps=100.0, p95=50.0):
    return {"name": name, "method": method, "requests": requests, "failures": failures,
            "rps": rps, "error_rate": failures / requests if requests else 0.0,
            "bytes": 0, "latency_ms": lat(p95)}


def make_summary(requests=1000, failures=0, rps=100.0, p95=50.0, rows=(), ws=()):
    tot = row("", "", requests, failures, rps, p95)
    del tot["name"], tot["method"]
    return {"scenario": "crafted", "duration_s": 10.0, "totals": tot, "requests": list(rows),
            "ws": list(ws), "errors": [], "thresholds": [], "workers": []}


def write(obj, name="summary.json", folder=None):
    """Writes obj as JSON into a fresh folder (or the given one); returns the file path."""
    d = folder or tempfile.mkdtemp(prefix="stampede-cmp-")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, name)
    with open(p, "w") as f:
        json.dump(obj, f, indent=2)
    return p


def compare(*args):
    return run(["compare", *args], timeout=30)


def table(out):
    """{(label, metric): (base, new, change, verdict)} from compare's table."""
    lines = out.splitlines()
    check(lines and lines[0].startswith("NAME"), "no header line:\n%s" % out)
    col = lines[0].index("METRIC")
    rows = {}
    for ln in lines[1:]:
        if ln.startswith("compare: "):
            continue
        label = ln[:col].rstrip()
        fields = ln[col:].split()
        metric, verdict = fields[0], fields[-1]
        rows[(label, metric)] = (ln, verdict)
        check(ln[col - 2:col] == "  ", "column of METRIC not kept: %r" % ln)
    return rows


def verdict(out, label, metric):
    t = table(out)
    check((label, metric) in t, "no line for %s %s:\n%s" % (label, metric, out))
    return t[(label, metric)][1]


def line(out, label, metric):
    return table(out)[(label, metric)][0]


def summary_line(out):
    ls = [ln for ln in out.splitlines() if ln.startswith("compare: ")]
    check(len(ls) == 1, "want one summary line:\n%s" % out)
    return ls[0]


@test
def test_p95_regression_exit_1():
    b = write(make_summary(rows=[row("GET", "/orders", p95=50)]))
    n = write(make_summary(rows=[row("GET", "/orders", p95=80)]))
    rc, out, err = compare(b, n)
    check(rc == 1, "exit %d, want 1: %s%s" % (rc, out, err))
    check(verdict(out, "GET /orders", "p95") == "REGRESSION", out)
    check("+60.0%" in line(out, "GET /orders", "p95"), out)
    check(verdict(out, "Aggregated", "p95") == "ok", out)
    check(summary_line(out) == "compare: 1 regressions, 0 improvements (tolerance 10%)", out)


@test
def test_improvement_exit_0():
    b = write(make_summary(p95=100, rps=100))
    n = write(make_summary(p95=60, rps=150))
    rc, out, err = compare(b, n)
    check(rc == 0, "exit %d: %s%s" % (rc, out, err))
    check(verdict(out, "Aggregated", "p95") == "improved", out)
    check(verdict(out, "Aggregated", "rps") == "improved", out)
    check(summary_line(out) == "compare: 0 regressions, 2 improvements (tolerance 10%)", out)


@test
def test_new_and_removed_names():
    b = write(make_summary(rows=[row("GET", "/orders"), row("GET", "/stock")]))
    n = write(make_summary(rows=[row("GET", "/orders"), row("POST", "/qc/tests", p95=900)]))
    rc, out, err = compare(b, n)
    check(rc == 0, "exit %d: %s%s" % (rc, out, err))
    for m in ("p95", "rps", "error_rate"):
        check(verdict(out, "GET /stock", m) == "removed", out)
        check(verdict(out, "POST /qc/tests", m) == "new", out)
        check(verdict(out, "GET /orders", m) == "ok", out)


@test
def test_tolerance_changes_verdict():
    b = write(make_summary(p95=100))
    n = write(make_summary(p95=115))
    rc, out, _ = compare(b, n)
    check(rc == 1 and verdict(out, "Aggregated", "p95") == "REGRESSION", out)
    rc, out, _ = compare(b, n, "--tolerance", "20%")
    check(rc == 0 and verdict(out, "Aggregated", "p95") == "ok", out)
    check(summary_line(out).endswith("(tolerance 20%)"), out)
    rc, out, _ = compare(b, n, "--tolerance", "5%", "--metric", "rps")
    check(rc == 0, "p95 is not compared when --metric rps: %s" % out)


@test
def test_metric_selection():
    b = write(make_summary(rps=100, p95=50))
    n = write(make_summary(rps=50, p95=50))
    rc, out, _ = compare(b, n, "--metric", "p50,p99,max,mean")
    check(rc == 0, "rps not selected, yet exit %d: %s" % (rc, out))
    check(sorted(m for _, m in table(out)) == ["max", "mean", "p50", "p99"], out)
    rc, out, _ = compare(b, n, "--metric", "requests")
    check(rc == 0 and verdict(out, "Aggregated", "requests") == "ok", out)
    rc, out, err = compare(b, n, "--metric", "p95,p42")
    check(rc == 2, "unknown metric: exit %d" % rc)
    check("unknown metric 'p42'" in err, "stderr: %r" % err)


@test
def test_error_rate_from_zero():
    b = write(make_summary(requests=10000, failures=0))
    rc, out, _ = compare(b, write(make_summary(requests=10000, failures=5)))       # 0.05%
    check(rc == 0 and verdict(out, "Aggregated", "error_rate") == "ok", out)
    rc, out, _ = compare(b, write(make_summary(requests=10000, failures=200)))     # 2%
    check(rc == 1 and verdict(out, "Aggregated", "error_rate") == "REGRESSION", out)
    check("2.00%" in line(out, "Aggregated", "error_rate"), out)


@test
def test_junit_one_failure_per_regression():
    b = write(make_summary(p95=50, rows=[row("GET", "/a&b", p95=50), row("GET", "/c")]))
    n = write(make_summary(p95=90, rows=[row("GET", "/a&b", p95=90, rps=50), row("GET", "/c")]))
    x = os.path.join(tempfile.mkdtemp(prefix="stampede-cmp-"), "compare.xml")
    rc, out, err = compare(b, n, "--junit", x)
    check(rc == 1, "exit %d: %s%s" % (rc, out, err))
    root = ET.parse(x).getroot()
    check(root.tag == "testsuite" and root.get("name") == "stampede.compare", root.attrib)
    cases = root.findall("testcase")
    check(len(cases) == 9, "want 3 rows x 3 metrics testcases, got %d" % len(cases))
    failed = sorted(c.get("name") for c in cases if c.find("failure") is not None)
    check(failed == ["Aggregated: p95", "GET /a&b: p95", "GET /a&b: rps"], failed)
    check(root.get("failures") == "3" and root.get("tests") == "9", root.attrib)
    regressions = sum(1 for v in table(out).values() if v[1] == "REGRESSION")
    check(regressions == 3, out)


@test
def test_folders_and_files():
    d1, d2 = tempfile.mkdtemp(prefix="stampede-cmp-"), tempfile.mkdtemp(prefix="stampede-cmp-")
    write(make_summary(p95=50), folder=d1)
    n = write(make_summary(p95=70), folder=d2)
    rc, out, err = compare(d1, d2)
    check(rc == 1 and verdict(out, "Aggregated", "p95") == "REGRESSION", out + err)
    rc, out, err = compare(d1, n)
    check(rc == 1, "folder vs file: exit %d %s" % (rc, err))


@test
def test_missing_or_bad_input_exit_2():
    b = write(make_summary())
    missing = os.path.join(tempfile.mkdtemp(prefix="stampede-cmp-"), "nope.json")
    rc, out, err = compare(b, missing)
    check(rc == 2 and "nope.json" in err and out == "", "exit %d: %r %r" % (rc, out, err))
    rc, _, err = compare(b, os.path.dirname(missing))      # a folder without summary.json
    check(rc == 2 and "summary.json" in err, "exit %d: %r" % (rc, err))
    bad = write({"not": "a summary"}, name="x.json")
    rc, _, err = compare(bad, b)
    check(rc == 2 and "not a stampede summary" in err, "exit %d: %r" % (rc, err))
    rc, _, err = compare(b)
    check(rc == 2 and "usage" in err, "one argument: exit %d %r" % (rc, err))
    rc, _, err = compare(b, b, "--tolerance", "lots")
    check(rc == 2, "bad tolerance: exit %d %r" % (rc, err))


@test
def test_real_run_against_itself():
    t = Target()
    out_dir = os.path.join(tempfile.mkdtemp(prefix="stampede-cmp-"), "run")
    rc, _, err = run(["run", os.path.join(ROOT, "configs", "smoke.yaml"), "--host", t.url,
                      "--out", out_dir, "-t", "3s", "--quiet"], timeout=90)
    t.stop()
    check(rc == 0, "run exit %d: %s" % (rc, err[-2000:]))
    s = summary(out_dir)
    check(s["totals"]["requests"] > 0, "no requests")
    rc, out, err = compare(out_dir, os.path.join(out_dir, "summary.json"), "--metric",
                           "p50,p90,p95,p99,p999,max,mean,rps,error_rate,requests")
    check(rc == 0, "exit %d: %s%s" % (rc, out, err))
    check(summary_line(out) == "compare: 0 regressions, 0 improvements (tolerance 10%)", out)
    t_ = table(out)
    check(("Aggregated", "p95") in t_, out)
    for r in s["requests"]:
        check(("%s %s" % (r["method"], r["name"]), "p99") in t_, "row %s missing:\n%s" % (r["name"], out))
    check(all(v[1] == "ok" for v in t_.values()), out)
    # a copy with every latency doubled is a regression on every row
    worse = copy.deepcopy(s)
    for r in [worse["totals"], *worse["requests"]]:
        r["latency_ms"] = {k: v * 2 for k, v in r["latency_ms"].items()}
    rc, out, _ = compare(out_dir, write(worse))
    check(rc == 1, "doubled latency: exit %d\n%s" % (rc, out))
    check(verdict(out, "Aggregated", "p95") == "REGRESSION", out)


if __name__ == "__main__":
    main()
