#!/usr/bin/env python3
"""make bench, the open model's row (issue 11): the highest arrival rate one engine
thread holds on GET /ping with lag p99 under 1 ms and nothing dropped, as a ratio of the
closed model's requests/s on the same thread (the Stampede throughput row's median).

Used by bench.py (search() and report_lines(), which take bench.py's own run_child,
log, table and fmt, so children stay in bench.py's cleanup list). Run alone as a small
driver: python3 tests/bench/bench_open.py [BIN_DIR] starts nginx as bench.py does, runs
one closed-model Stampede run of BENCH_SECONDS (default 5) for the reference figure,
then the search, and prints the section.

Method
- Placement: the engine thread alone on the generator CPU. Every run of this row is
  `taskset -c TARGET_CPU stampede run --threads 1 --engine-cpus GEN_CPU`: the engine
  pins itself to the generator CPU and the process's other threads (the coordinator,
  the agent, nng's) run on the target's CPU beside nginx. Pinning the whole process to
  the generator CPU, as the throughput rows do, puts those threads' wake-ups (nng's
  expiry threads ~110/s, the stats send once a second) in the engine's way: they set a
  lag p99 floor of ~0.6 ms at every rate (BENCH.md), so the 1 ms bound measured the
  neighbours, not the engine. What they cost is tiny and the same in both models.
- The reference: the closed model's req/s in the same placement (50 users looping
  GET /ping, CLOSED_ROUNDS runs of OPEN_SECONDS, the median), measured here, so the
  ratio compares one engine thread with itself. The throughput row's median (whole
  process on the generator CPU) is printed beside it.
- One run per rate: model open, uniform arrivals, a zero-length stage jumping to the
  rate and OPEN_SECONDS (default 5, env BENCH_OPEN_SECONDS) at it, a pool of USERS users
  (the closed row's 50 connections); the figures come from summary.json's schedule
  block. A rate holds when the run exits 0, nothing was dropped, started = intended,
  lag p99 < 1 ms and at most 1 % of requests failed.
- Search: from 1/8 of the closed figure (1,000/s when there is none), doubling while
  the rate holds, then bisection between the highest rate held and the lowest failed,
  until they are within 3 % of each other or the time budget (OPEN_BUDGET_S, default
  90 s, env BENCH_OPEN_BUDGET) would be exceeded by one more run. When even the first
  rate fails, it halves (down to 50/s) until one holds.
- HTTP client: the default one (STAMPEDE_HTTP_CLIENT unset, which bench.run_child
  ensures, and no defaults.client in the scenario: auto, i.e. the lean client on
  http://), for the reference and every step alike.
- Reported: every step, the highest rate held N and N / closed req/s (goal >= 0.9x).
"""
import json
import os
import time

LAG_P99_MS = 1.0
GOAL_OPEN = 0.9
GOAL_OPEN_LINE = ("goal: open model's max arrival rate (lag p99 < 1 ms, nothing dropped) "
                  ">= 0.9x the closed model's req/s, one thread")
STOP_WIDTH = 0.03
MIN_RATE = 50
CLOSED_ROUNDS = 3
CLIENT_NOTE = "the default HTTP client: auto = lean, STAMPEDE_HTTP_CLIENT unset"


class Step:
    """One rate tried: what the schedule said and whether the rate held."""
    def __init__(self, rate):
        self.rate, self.ok, self.note = rate, False, ""
        self.intended = self.started = self.dropped = self.failures = None
        self.lag_p50 = self.lag_p99 = self.lag_max = None
        self.cpu_s = self.wall_s = 0.0
        self.limited = None


class OpenResult:
    def __init__(self):
        self.steps, self.best, self.note, self.elapsed_s = [], None, "", 0.0
        self.closed_rps = None          # the reference: closed model, same placement
        self.closed_runs = []           # (req/s or None, note) per round
        self.row_rps = None             # the throughput row's median (whole process pinned)


def env_num(name, default):
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


def write_scenario(path, url, rate, seconds, users):
    with open(path, "w") as f:
        f.write("name: bench-open\n"
                "target: %s\n"
                "load:\n"
                "  model: open\n"
                "  max_users: %d\n"
                "  arrivals: uniform\n"
                "  stages:\n"
                "    - { duration: 0s, rate: %d }\n"
                "    - { duration: %ds, rate: %d }\n"
                "  graceful_stop: 2s\n"
                "users:\n"
                "  - name: ping\n"
                "    flow:\n"
                "      - http: { name: ping, url: /ping }\n" % (url, users, rate, seconds, rate))


def placed(ctx, scen, out):
    """The command line of one run of this row: the engine alone on the generator CPU."""
    return [ctx.taskset, "-c", str(ctx.target_cpu), ctx.stampede, "run", scen, "--threads", "1",
            "--engine-cpus", str(ctx.gen_cpu), "--out", out, "--quiet"]


def closed_reference(ctx, seconds, users, run_child, log, r):
    """The closed model's req/s in this row's placement: the median of CLOSED_ROUNDS runs
    of users looping GET /ping for seconds. Sets r.closed_rps (None when none ran)."""
    rates = []
    for i in range(1, CLOSED_ROUNDS + 1):
        tag = "open-closed-%d" % i
        scen = os.path.join(ctx.tmp, tag + ".yaml")
        with open(scen, "w") as f:
            f.write("name: bench-closed\n"
                    "target: %s\n"
                    "load: { model: closed, stages: [ { duration: 1ms, users: %d }, "
                    "{ duration: %ds, users: %d } ], graceful_stop: 2s }\n"
                    "users:\n"
                    "  - name: ping\n"
                    "    flow:\n"
                    "      - loop:\n"
                    "          steps:\n"
                    "            - http: { name: ping, url: /ping }\n" % (ctx.url, users, seconds, users))
        out = os.path.join(ctx.tmp, tag)
        res = run_child(placed(ctx, scen, out), seconds + 60, ctx.tmp, tag)
        rps, note = None, ""
        try:
            with open(os.path.join(out, "summary.json")) as f:
                s = json.load(f)
            req, fail = int(s["totals"]["requests"]), int(s["totals"].get("failures", 0))
            dur = float(s.get("duration_s") or 0)
            if res.rc != 0:
                note = res.status()
            elif fail > 0.01 * max(req, 1):
                note = "%d of %d failed" % (fail, req)
            elif dur > 0:
                rps = req / dur
        except (OSError, ValueError, KeyError, TypeError) as e:
            note = "%s, no usable summary.json (%s): %s" % (res.status(), e.__class__.__name__, res.tail())
        r.closed_runs.append((rps, note))
        log("  closed reference %d: %s" % (i, "%.0f req/s" % rps if rps else "failed: " + note))
        if rps:
            rates.append(rps)
    rates.sort()
    r.closed_rps = rates[len(rates) // 2] if rates else None


def run_step(ctx, rate, seconds, users, run_child, n):
    st = Step(rate)
    tag = "open-%02d-%d" % (n, rate)
    scen = os.path.join(ctx.tmp, tag + ".yaml")
    write_scenario(scen, ctx.url, rate, seconds, users)
    out = os.path.join(ctx.tmp, tag)
    res = run_child(placed(ctx, scen, out), seconds + 60, ctx.tmp, tag)
    st.cpu_s, st.wall_s = res.cpu_s, res.wall_s
    if res.timed_out:
        st.note = "timed out: " + res.tail()
        return st
    try:
        with open(os.path.join(out, "summary.json")) as f:
            s = json.load(f)
        sc = s["schedule"]
        st.intended, st.started, st.dropped = int(sc["intended"]), int(sc["started"]), int(sc["dropped"])
        lag = sc["lag_ms"]
        st.lag_p50, st.lag_p99, st.lag_max = lag.get("p50"), lag.get("p99"), lag.get("max")
        st.limited = sc.get("generator_limited_intervals")
        st.failures = int(s["totals"].get("failures", 0))
        requests = int(s["totals"]["requests"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        st.note = "%s, no usable schedule in summary.json (%s): %s" % (res.status(), e.__class__.__name__,
                                                                      res.tail())
        return st
    why = []
    if res.rc != 0:
        why.append(res.status())
    if st.dropped:
        why.append("%d dropped" % st.dropped)
    if st.started != st.intended:
        why.append("started %d of %d" % (st.started, st.intended))
    if st.intended == 0:
        why.append("nothing intended")
    if st.lag_p99 is None or st.lag_p99 >= LAG_P99_MS:
        why.append("lag p99 %s ms" % st.lag_p99)
    if st.failures > 0.01 * max(requests, 1):
        why.append("%d of %d requests failed" % (st.failures, requests))
    st.ok = not why
    st.note = ", ".join(why)
    return st


def search(ctx, row_rps, run_child, log, users):
    """The closed reference in this row's placement, then the doubling-then-bisection
    search; returns an OpenResult (best None when no rate held). row_rps: the throughput
    row's median, reported beside the reference."""
    seconds = env_num("BENCH_OPEN_SECONDS", 5)
    budget = env_num("BENCH_OPEN_BUDGET", 90)
    r = OpenResult()
    r.row_rps = row_rps
    closed_reference(ctx, seconds, users, run_child, log, r)
    closed_rps = r.closed_rps or row_rps
    t0 = time.monotonic()
    lo = hi = None
    rate = max(MIN_RATE, int(closed_rps / 8)) if closed_rps else 1000
    est = seconds + 2.0                         # one run's wall time, refined as we go

    def attempt(x):
        st = run_step(ctx, x, seconds, users, run_child, len(r.steps) + 1)
        r.steps.append(st)
        log("  open %d/s: lag p99 %s ms, dropped %s: %s" % (
            x, "n/a" if st.lag_p99 is None else "%.3f" % st.lag_p99, st.dropped,
            "held" if st.ok else "not held (%s)" % st.note))
        return st

    def time_left():
        return time.monotonic() - t0 + est <= budget

    while time_left():
        st = attempt(rate)
        est = max(est, st.wall_s)
        if st.ok:
            lo = rate
            if hi is not None:
                break
            rate *= 2
        else:
            hi = rate
            if lo is not None:
                break
            if rate // 2 < MIN_RATE:
                break
            rate //= 2
            if not st.started and "schedule" in st.note:
                break                           # no schedule at all: halving cannot help
    while lo is not None and hi is not None and (hi - lo) > STOP_WIDTH * lo and time_left():
        mid = (lo + hi) // 2
        st = attempt(mid)
        est = max(est, st.wall_s)
        if st.ok:
            lo = mid
        else:
            hi = mid
    r.best = lo
    r.elapsed_s = time.monotonic() - t0
    if lo is None:
        r.note = "no rate held"
    elif hi is None:
        r.note = "the budget ended before a rate failed: the figure is a lower bound"
    return r


def ratio_of(r, closed_rps=None):
    """best / the closed reference in the same placement (closed_rps, the throughput
    row's, only when the reference did not run)."""
    ref = r.closed_rps or closed_rps
    return r.best / ref if r.best and ref else None


def headline(r, closed_rps, fmt):
    return "open model: max arrival rate %s/s = %s closed" % (
        fmt(r.best), fmt(ratio_of(r, closed_rps), "{:.2f}x"))


def report_lines(ctx, r, closed_rps, table, fmt, users):
    """The Markdown section of the open model's row."""
    out = ["## Open model: highest arrival rate one engine thread holds on GET /ping "
           "(lag p99 < %g ms, nothing dropped; %s)" % (LAG_P99_MS, CLIENT_NOTE), ""]
    out += ["**" + headline(r, closed_rps, fmt) + "** (closed model in the same placement: %s req/s, "
            "the median of %s; the Stampede (lean) throughput row's median, whole process on the generator CPU: "
            "%s req/s)"
            % (fmt(r.closed_rps), ", ".join("%.0f" % x if x else "failed (%s)" % n for x, n in r.closed_runs)
               or "no run", fmt(r.row_rps or closed_rps)), ""]
    rows = []
    for i, s in enumerate(r.steps, 1):
        rows.append([i, fmt(s.rate), fmt(s.intended), fmt(s.started), fmt(s.dropped),
                     fmt(s.lag_p50, "{:.3f}"), fmt(s.lag_p99, "{:.3f}"), fmt(s.lag_max, "{:.3f}"),
                     fmt(s.limited), "%.2f" % s.cpu_s, "held" if s.ok else "no", s.note])
    out += [table(["step", "rate/s", "intended", "started", "dropped", "lag p50 ms", "lag p99 ms",
                   "lag max ms", "limited intervals", "CPU s", "held", "note"], rows), ""]
    out += ["- method: `taskset -c %d stampede run --threads 1 --engine-cpus %d` (the engine thread "
            "alone on CPU %d, the process's other threads beside nginx), %s; model open, uniform "
            "arrivals, %d users, a jump to the rate held %d s per step; from 1/8 of the closed figure, "
            "doubling while the rate holds, then bisection to within %d%% (%.0f s spent)%s"
            % (ctx.target_cpu, ctx.gen_cpu, ctx.gen_cpu, CLIENT_NOTE, users, env_num("BENCH_OPEN_SECONDS", 5),
               STOP_WIDTH * 100, r.elapsed_s, "; " + r.note if r.note else ""), ""]
    return out


def verdict_line(r, closed_rps, fmt):
    v = ratio_of(r, closed_rps)
    return ("- measured: %s; verdict: open model %s"
            % (headline(r, closed_rps, fmt), "n/a" if v is None else ("met" if v >= GOAL_OPEN else "NOT met")))


def _driver(argv):
    """Alone: nginx, one closed run for the reference figure, the search, the section."""
    import sys
    import shutil
    import tempfile
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench
    ctx = bench.Ctx()
    ctx.seconds = bench.env_int("BENCH_SECONDS", 5, 1, 3600)
    bin_dir = argv[1] if len(argv) > 1 else os.path.join(bench.REPO, "bin")
    ctx.stampede = os.path.abspath(os.path.join(bin_dir, "stampede"))
    ctx.taskset, ctx.nginx = bench.find_tool("taskset"), bench.find_tool("nginx")
    if not ctx.taskset or not ctx.nginx:
        raise bench.SetupError("missing taskset or nginx: run make deps-bench")
    cpus = sorted(os.sched_getaffinity(0))
    ctx.target_cpu, ctx.gen_cpu = cpus[0], (cpus[1] if len(cpus) > 1 else cpus[0])
    ctx.tmp = tempfile.mkdtemp(prefix="stampede-bench-open-")
    target = bench.Target(ctx.nginx, ctx.taskset, ctx.target_cpu, ctx.tmp)
    try:
        target.start()
        ctx.url = "http://127.0.0.1:%d" % target.port
        scen = os.path.join(ctx.tmp, "ping.yaml")
        bench.stampede_scenario(scen, ctx.url, [("1ms", bench.USERS), ("%ds" % ctx.seconds, bench.USERS)], 0)
        closed = bench.run_stampede(ctx, 1, scen, "stampede-closed", ctx.seconds)
        bench.log("closed model: %s req/s%s" % (bench.fmt(closed.rps), "" if closed.ok else ", FAILED: " + closed.note))
        r = search(ctx, closed.rps, bench.run_child, bench.log, bench.USERS)
        print("\n".join(report_lines(ctx, r, closed.rps, bench.table, bench.fmt, bench.USERS)))
        print(verdict_line(r, closed.rps, bench.fmt))
        return 0 if r.best else 1
    finally:
        target.stop()
        bench.cleanup_children()
        shutil.rmtree(ctx.tmp, ignore_errors=True)


if __name__ == "__main__":
    import sys
    try:
        sys.exit(_driver(sys.argv))
    except Exception as e:          # SetupError and the like: say it, exit 2
        print("bench_open: error: %s" % e, file=sys.stderr)
        sys.exit(2)
