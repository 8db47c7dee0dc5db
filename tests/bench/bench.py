#!/usr/bin/env python3
"""make bench: Stampede side by side with wrk and Locust, on one machine, in one run.

Usage: python3 tests/bench/bench.py [BIN_DIR]      (called by tests/bench/bench.sh)
Environment: BENCH_SECONDS (default 15) per run, BENCH_ROUNDS (default 3),
MERGE_BENCH_SECONDS (default 10) simulated seconds of the master-merge run, CC (cc),
BENCH_ONLY=ws to run only the WebSocket parts (with the Stampede (lean) HTTP run their
ratio needs; the libcurl row, wrk, Locust, the HTTP memory runs, the open model and the
merge run are skipped), BENCH_ONLY=http to run only the HTTP rounds (both Stampede
clients, wrk, Locust) and the HTTP memory runs (the WebSocket parts, the open model and
the merge run are skipped). STAMPEDE_HTTP_CLIENT in the caller's environment is ignored:
each Stampede run sets its own.

Method
- Target: nginx, one worker, pinned to the first CPU we may use (taskset), answering
  GET /ping with "pong" on 127.0.0.1:<free port>; config from nginx.conf.in in a
  temporary prefix that is removed on exit.
- Generators, each pinned to the second CPU, one at a time: Stampede (--threads 1)
  twice, once per HTTP client (issue 15): "stampede" with STAMPEDE_HTTP_CLIENT=lean (the
  lean HTTP/1.1 client, worker/http_lean.c) and "stampede-curl" with
  STAMPEDE_HTTP_CLIENT=curl (libcurl, kept for comparison), then wrk (-t1 -c50) and
  Locust (FastHttpUser, constant(0), single process); 50 users or connections,
  keep-alive, the same URL, BENCH_SECONDS each; rounds interleave the tools (round r
  runs stampede, stampede-curl, wrk, locust) so drift in the machine hits all four.
  A build whose binary does not contain the name STAMPEDE_HTTP_CLIENT ignores it: both
  rows are then libcurl, and the report says so.
- Per run: requests the tool reports, its measured load time, wall time, and the
  generator's CPU seconds (user + sys of the child and everything it reaped, threads
  included). The CPU figure comes from wait4() on that child, which is the same number
  as a getrusage(RUSAGE_CHILDREN) delta around a blocking wait, and also gives the
  child's own ru_maxrss (a RUSAGE_CHILDREN delta cannot give a maximum). It includes
  each tool's start-up (Locust imports, Stampede's thread setup).
- Memory: Stampede holding 10,000 users that loop GET /ping + think 1s on one thread,
  all started within 5 s and held 10 s; the same with 100 users as a baseline; peak RSS
  of the process from wait4's ru_maxrss; KiB per idle VU = difference of peak RSS /
  difference of users. Once with each client (lean, then curl).
- WebSocket echo: Stampede (--threads 1, pinned like the HTTP run) with 50 users, each
  connected to stampede-target's /ws/echo (no delay; the target pinned to the target
  CPU, nginx idle meanwhile) and looping send "ping" + expect { contains: ping };
  messages = echoes matched (summary.json ws "expects"), per second of load and per
  generator CPU-second, and their ratio to Stampede's HTTP requests per CPU-second in
  the same round (one WebSocket round trip against one HTTP request and response); the
  HTTP row of that ratio is the lean client's ("stampede"). It runs in every round,
  after Locust.
- WebSocket memory: Stampede holding MEM_USERS users (5,000 when the descriptor limit
  is too low for that many on both sides) that connect to /ws/echo and think for an
  hour, started within 5 s and held 10 s, and the same with 100 users; KiB per VU =
  difference of peak RSS / difference of users, as for HTTP.
- Master merge: tests/bench/merge_bench.c, compiled here from the repo's sources and
  pinned to the generator CPU, decodes one STATS delta from each of 1,000 simulated
  workers x 200 names and merges it into an interval set, folded into the run totals
  when the interval closes, once per simulated second, back to back; CPU share of one core = CPU seconds / simulated
  seconds, with its peak RSS and the delta bytes per second (its header has the rest).
- Open model (tests/bench/bench_open.py, after the rounds; the default client, i.e.
  STAMPEDE_HTTP_CLIENT unset and no defaults.client: auto = lean): the highest arrival
  rate one engine thread (--threads 1, --engine-cpus: the engine alone on the generator CPU, the
  process's other threads beside nginx) holds on GET /ping with lag p99 under 1 ms and
  nothing dropped, by doubling then bisection over 5 s runs within a ~90 s budget, as a
  ratio of the closed model's req/s in the same placement (median of 3 runs, measured
  there; the Stampede (lean) row's median is printed beside it).
- Output: tables on stdout, the same Markdown in results/bench-YYYYmmdd-HHMMSS.md,
  with the bench's own wall time (make bench is meant to stay under ~13 minutes).

Every child has a timeout and its own process group; nginx and the temporary
directory are cleaned up on exit, error, SIGINT, SIGTERM and SIGHUP. Load goes only to
127.0.0.1 (proxy variables are removed from the children's environment).
Exit: 0 all runs completed, 1 some run failed (the report is still written),
2 set-up error (missing tool, target would not start).
"""

import csv
import datetime
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import bench_open               # the open model's row (same folder: sys.path[0])

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

USERS = 50                      # users / connections for the throughput runs
MEM_USERS = 10000               # users held for the memory run
MEM_BASE_USERS = 100            # baseline run, same scenario
MEM_RAMP_S = 5                  # all memory-run users started within this
MEM_HOLD_S = 10                 # then held this long
NOFILE_WANT = 30000             # descriptors we ask for (10k users + nginx's side)
CHILD_GRACE_S = 60              # timeout = planned length + this
GOAL_LINE = ("goal (issue 15): Stampede (lean) >= 0.6x wrk per generator CPU-second "
             "(aim 0.8x) and >= 10x Locust FastHttpUser; <= 8 KiB per idle VU (lean); the "
             "libcurl row has no goal, it is kept for comparison")
GOAL_WRK, GOAL_WRK_AIM, GOAL_LOCUST, GOAL_KIB_PER_VU = 0.6, 0.8, 10.0, 8.0
WS_GOAL_LINE = ("goal: Stampede WebSocket echo >= 0.5x Stampede HTTP per generator "
                "CPU-second; <= 24 KiB per idle connected VU")
GOAL_WS_RATIO, GOAL_WS_KIB_PER_VU = 0.5, 24.0
WS_MEM_USERS_LOW = 5000         # the WebSocket memory run when descriptors are short
WS_ECHO_TEXT = "ping"
TOOLS = ("stampede", "stampede-curl", "wrk", "locust")
CLIENT_ENV = "STAMPEDE_HTTP_CLIENT"   # the engine's per-process choice: lean|curl|auto
CLIENTS = (("stampede", "lean"), ("stampede-curl", "curl"))   # tool -> client it runs
LABEL = {"stampede": "stampede (lean)", "stampede-curl": "stampede (curl)",
         "wrk": "wrk", "locust": "locust"}
MERGE_S_PER_SIM_S = 20          # merge run timeout: this per simulated second + grace


class SetupError(Exception):
    """The bench cannot run at all (missing tool, target down): exit 2."""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def env_int(name, default, lo, hi):
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise SetupError("%s=%r is not an integer" % (name, raw))
    if not lo <= v <= hi:
        raise SetupError("%s=%d is outside %d..%d" % (name, v, lo, hi))
    return v


# --- children -----------------------------------------------------------------------

_live = {}   # pid -> Popen of children not yet reaped, for cleanup on any exit path


def child_env():
    """The environment without proxies (libcurl would honour them and send the load
    elsewhere), without LOCUST_* settings that would change Locust's run and without
    STAMPEDE_HTTP_CLIENT (a Stampede run sets its own, the open model none: auto)."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
           and not k.startswith("LOCUST_") and k != CLIENT_ENV}
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def kill_group(p, sig):
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Result:
    """What one child did: exit code, wall time, rusage of it and what it reaped."""
    def __init__(self, rc, wall_s, ru, timed_out, out, err):
        self.rc, self.wall_s, self.ru, self.timed_out = rc, wall_s, ru, timed_out
        self.out, self.err = out, err

    @property
    def cpu_s(self):
        return self.ru.ru_utime + self.ru.ru_stime

    @property
    def maxrss_kib(self):
        return self.ru.ru_maxrss            # Linux: KiB

    def status(self):
        if self.rc < 0:
            try:
                return "killed by %s" % signal.Signals(-self.rc).name
            except ValueError:
                return "killed by signal %d" % -self.rc
        return "exit %d" % self.rc

    def tail(self, n=3):
        lines = [l for l in (self.err + "\n" + self.out).splitlines() if l.strip()]
        return " / ".join(lines[-n:])[:300]


def run_child(cmd, timeout_s, cwd, tag, extra_env=None):
    """Runs cmd to completion (bounded by timeout_s) in its own process group and
    reaps it with wait4 to get its rusage. On timeout: SIGTERM to the group, then
    SIGKILL after 5 s. Output goes to files so a chatty child cannot block on a pipe.
    extra_env: variables added to child_env()."""
    env = child_env()
    env.update(extra_env or {})
    outp, errp = os.path.join(cwd, tag + ".out"), os.path.join(cwd, tag + ".err")
    with open(outp, "wb") as fo, open(errp, "wb") as fe:
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                 stdout=fo, stderr=fe, start_new_session=True)
        except OSError as e:
            return Result(127, 0.0, resource.struct_rusage((0,) * 16), False, "", str(e))
        _live[p.pid] = p
        deadline, term_at, timed_out = t0 + timeout_s, None, False
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                break
            now = time.monotonic()
            if now > deadline and term_at is None:
                timed_out, term_at = True, now
                kill_group(p, signal.SIGTERM)
            elif term_at is not None and now > term_at + 5:
                kill_group(p, signal.SIGKILL)
            time.sleep(0.02)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)   # reaped here, not by Popen
        del _live[p.pid]
        kill_group(p, signal.SIGKILL)                      # strays left in its group
    with open(outp, errors="replace") as f:
        out = f.read()
    with open(errp, errors="replace") as f:
        err = f.read()
    return Result(p.returncode, wall, ru, timed_out, out, err)


def probe(cmd, cwd):
    """First non-empty line of a version command's stdout+stderr, bounded to 10 s."""
    try:
        r = subprocess.run(cmd, cwd=cwd, env=child_env(), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unavailable (%s)" % e
    for line in (r.stdout + "\n" + r.stderr).splitlines():
        if line.strip():
            return line.strip()
    return ""


# --- target -----------------------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ping(port):
    """True when GET /ping on the target answers 200."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class Target:
    """nginx in a temporary prefix, pinned to one CPU, as a child in its own group."""
    def __init__(self, nginx, taskset, cpu, prefix):
        self.nginx, self.taskset, self.cpu, self.prefix = nginx, taskset, cpu, prefix
        self.p, self.port, self.logpath = None, None, os.path.join(prefix, "nginx.log")

    def start(self):
        with open(os.path.join(HERE, "nginx.conf.in")) as f:
            template = f.read()
        last = ""
        for _ in range(5):          # the free port can be taken before nginx binds it
            port = free_port()
            conf = os.path.join(self.prefix, "nginx.conf")
            with open(conf, "w") as f:
                f.write(template.replace("@PREFIX@", self.prefix).replace("@PORT@", str(port)))
            cmd = [self.taskset, "-c", str(self.cpu), self.nginx, "-e", "stderr",
                   "-p", self.prefix + "/", "-c", conf, "-g", "daemon off;"]
            with open(self.logpath, "wb") as lf:
                self.p = subprocess.Popen(cmd, env=child_env(), stdin=subprocess.DEVNULL,
                                          stdout=lf, stderr=lf, start_new_session=True)
            _live[self.p.pid] = self.p
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.p.poll() is not None:
                    break
                if http_ping(port):
                    self.port = port
                    return
                time.sleep(0.05)
            self.stop()
            last = self.log_text()
            if "in use" not in last:
                break
        raise SetupError("nginx did not start: " + (last.strip()[-500:] or "no output"))

    def alive(self):
        return self.p is not None and self.p.poll() is None and http_ping(self.port)

    def log_text(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.p is None:
            return
        if self.p.poll() is None:
            kill_group(self.p, signal.SIGTERM)     # nginx: fast shutdown
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                kill_group(self.p, signal.SIGKILL)
                self.p.wait(5)
        kill_group(self.p, signal.SIGKILL)         # a worker outliving its master
        _live.pop(self.p.pid, None)


# --- one run per tool -----------------------------------------------------------------

class Run:
    """One generator run: counts, times and what went wrong, if anything."""
    def __init__(self, tool, rnd):
        self.tool, self.round = tool, rnd
        self.ok, self.note = False, ""
        self.requests = self.failures = 0
        self.load_s = self.wall_s = self.cpu_s = 0.0
        self.maxrss_kib = 0
        self.steady_rps = None      # memory runs: median req/s once every user runs
        self.ws = None              # WebSocket runs: the summary.json ws entry

    @property
    def rps(self):
        return self.requests / self.load_s if self.ok and self.load_s > 0 else None

    @property
    def per_cpu(self):
        return self.requests / self.cpu_s if self.ok and self.cpu_s > 0 else None

    def take(self, res):
        self.wall_s, self.cpu_s, self.maxrss_kib = res.wall_s, res.cpu_s, res.maxrss_kib

    def fail(self, why):
        self.ok, self.note = False, why
        return self


def stampede_scenario(path, url, stages, think_s):
    """Writes a Stampede scenario: the given (duration, users) stages over a loop of
    GET /ping, with a think step when think_s is set."""
    st = ", ".join("{ duration: %s, users: %d }" % s for s in stages)
    think = "            - think: %ds\n" % think_s if think_s else ""
    with open(path, "w") as f:
        f.write("name: bench\n"
                "target: %s\n"
                "load: { model: closed, stages: [ %s ], graceful_stop: 2s }\n"
                "users:\n"
                "  - name: ping\n"
                "    flow:\n"
                "      - loop:\n"
                "          steps:\n"
                "            - http: { name: ping, url: /ping }\n"
                "%s" % (url, st, think))


def run_stampede(ctx, rnd, scenario, tag, planned_s, ws=None, tool="stampede", client=None):
    """One Stampede run on the generator CPU. Counts come from summary.json's totals, or
    with ws=(name, field) from its "ws" entry of that name: field ("expects" or
    "connects") as requests, expect and connect failures as failures. client: the
    HTTP client it is told to use (STAMPEDE_HTTP_CLIENT); None leaves the default."""
    run = Run(tool, rnd)
    if not (os.path.isfile(ctx.stampede) and os.access(ctx.stampede, os.X_OK)):
        return run.fail("%s not found (run make)" % ctx.stampede)
    out = os.path.join(ctx.tmp, tag)
    cmd = [ctx.taskset, "-c", str(ctx.gen_cpu), ctx.stampede, "run", scenario,
           "--threads", "1", "--out", out, "--quiet"]
    res = run_child(cmd, planned_s + CHILD_GRACE_S, ctx.tmp, tag,
                    {CLIENT_ENV: client} if client else None)
    run.take(res)
    if res.timed_out:
        return run.fail("timed out after %ds: %s" % (planned_s + CHILD_GRACE_S, res.tail()))
    try:
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
        totals = summary["totals"]
        run.requests = int(totals["requests"])
        run.failures = int(totals.get("failures", 0))
        if ws:
            entry = [w for w in summary["ws"] if w["name"] == ws[0]]
            if len(entry) != 1:
                return run.fail("%s, no ws entry %r in summary.json: %s"
                                % (res.status(), ws[0], res.tail()))
            e = entry[0]
            run.requests = int(e[ws[1]])
            run.failures = int(e.get("expect_failures", 0)) + int(e.get("connect_failures", 0))
            run.ws = e
            totals = {}
        dur = float(summary.get("duration_s") or 0)
        if dur <= 0 and float(totals.get("rps") or 0) > 0:
            dur = run.requests / float(totals["rps"])
        run.load_s = dur if dur > 0 else float(planned_s)
    except (OSError, ValueError, KeyError, TypeError) as e:
        return run.fail("%s, no usable summary.json (%s): %s"
                        % (res.status(), e.__class__.__name__, res.tail()))
    if res.rc != 0:
        return run.fail("%s: %s" % (res.status(), res.tail()))
    run.ok = True
    return run


_WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def run_wrk(ctx, rnd):
    run = Run("wrk", rnd)
    tag = "wrk-r%d" % rnd
    cmd = [ctx.taskset, "-c", str(ctx.gen_cpu), ctx.wrk, "-t1", "-c%d" % USERS,
           "-d%ds" % ctx.seconds, ctx.url + "/ping"]
    res = run_child(cmd, ctx.seconds + CHILD_GRACE_S, ctx.tmp, tag)
    run.take(res)
    if res.timed_out:
        return run.fail("timed out: " + res.tail())
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)\b", res.out)
    if res.rc != 0 or not m:
        return run.fail("%s, no 'N requests in' line: %s" % (res.status(), res.tail()))
    run.requests = int(m.group(1))
    run.load_s = float(m.group(2)) * _WRK_UNITS[m.group(3)]
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", res.out)
    run.failures = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                  res.out)
    if m:
        run.failures += sum(int(g) for g in m.groups())
    run.ok = True
    return run


def run_locust(ctx, rnd):
    run = Run("locust", rnd)
    tag = "locust-r%d" % rnd
    prefix = os.path.join(ctx.tmp, tag)
    cmd = [ctx.taskset, "-c", str(ctx.gen_cpu), ctx.locust, "-f",
           os.path.join(HERE, "locustfile.py"), "--headless", "-u", str(USERS),
           "-r", str(USERS), "-t", "%ds" % ctx.seconds, "--host", ctx.url,
           "--csv", prefix, "--only-summary"]
    res = run_child(cmd, ctx.seconds + CHILD_GRACE_S, ctx.tmp, tag)
    run.take(res)
    if res.timed_out:
        return run.fail("timed out: " + res.tail())
    try:
        with open(prefix + "_stats.csv", newline="") as f:
            row = next(r for r in csv.DictReader(f) if r.get("Name") == "Aggregated")
        run.requests = int(row["Request Count"])
        run.failures = int(row["Failure Count"])
        # Locust's own Requests/s divides by the span from its stats reset to the last
        # request, which came out short of -t here; its users ran for -t seconds.
        run.load_s = float(ctx.seconds)
    except (OSError, StopIteration, KeyError, ValueError) as e:
        return run.fail("%s, no Aggregated row in _stats.csv (%s): %s"
                        % (res.status(), e.__class__.__name__, res.tail()))
    if res.rc not in (0, 1) or (res.rc == 1 and run.failures == 0):
        return run.fail("%s: %s" % (res.status(), res.tail()))  # 1 = had failures
    run.ok = True
    return run


def check_failures(run):
    """A run where over 1% of requests failed measured something else (wrong URL,
    refused connections): it does not count; a few failures are only noted."""
    if run.ok and run.failures:
        if run.failures > 0.01 * max(run.requests, 1):
            run.fail("%d of %d requests failed" % (run.failures, run.requests))
        else:
            run.note = "%d failed requests" % run.failures


class MergeRun:
    """The master-merge run: merge_bench's summary line and figures (its merge-json
    line), or why there are none."""
    def __init__(self):
        self.ok, self.note, self.line, self.fig = False, "", "", {}

    def fail(self, why):
        self.ok, self.note = False, why
        return self


def run_merge(ctx):
    """Runs merge_bench (linked by `make bench-bins` from the Makefile's library, so a
    split of a source file cannot leave it stale; bench.sh passes its path in
    MERGE_BENCH_EXE) on the generator CPU."""
    m = MergeRun()
    exe = os.environ.get("MERGE_BENCH_EXE", "")
    if not exe or not os.access(exe, os.X_OK):
        return m.fail("MERGE_BENCH_EXE is not set to a built merge_bench (make bench-bins)")
    limit = ctx.merge_seconds * MERGE_S_PER_SIM_S + CHILD_GRACE_S
    res = run_child([ctx.taskset, "-c", str(ctx.gen_cpu), exe], limit, ctx.tmp, "merge")
    if res.timed_out:
        return m.fail("timed out after %ds: %s" % (limit, res.tail()))
    if res.rc != 0:
        return m.fail("%s: %s" % (res.status(), res.tail()))
    for line in res.out.splitlines():
        if line.startswith("merge-json: "):
            try:
                m.fig = json.loads(line[len("merge-json: "):])
            except ValueError as e:
                return m.fail("unreadable merge-json line (%s)" % e)
        elif re.match(r"merge: \d+ workers x \d+ names: ", line):
            m.line = line
    if not m.fig or not m.line:
        return m.fail("no summary in its output: " + res.tail())
    m.ok = True
    return m


def run_memory(ctx, users, tool, client):
    """Stampede holding `users` looping GET /ping + think 1s on one thread, with the
    given HTTP client."""
    tag = "mem-%s-%d" % (client, users)
    scen = os.path.join(ctx.tmp, tag + ".yaml")
    stampede_scenario(scen, ctx.url, [("%ds" % MEM_RAMP_S, users),
                                      ("%ds" % MEM_HOLD_S, users)], think_s=1)
    run = run_stampede(ctx, 0, scen, tag, MEM_RAMP_S + MEM_HOLD_S, tool=tool, client=client)
    run.steady_rps = steady_rps(os.path.join(ctx.tmp, tag, "stats_history.csv"), users)
    return run


def steady_rps(path, users):
    """Median Requests/s of the Aggregated rows of a Locust-format stats_history.csv
    taken while all `users` were running; None when the file or columns are missing."""
    try:
        with open(path, newline="") as f:
            vals = [float(r["Requests/s"]) for r in csv.DictReader(f)
                    if r.get("Name") == "Aggregated" and r.get("User Count")
                    and int(float(r["User Count"])) >= users]
    except (OSError, KeyError, ValueError, TypeError):
        return None
    return statistics.median(vals) if vals else None


# --- WebSocket ----------------------------------------------------------------------

class WsTarget:
    """bin/stampede-target (the only WebSocket server here), pinned to the target CPU,
    as a child in its own group; it exits by itself after max_s."""
    def __init__(self, exe, taskset, cpu, max_s):
        self.exe, self.taskset, self.cpu, self.max_s = exe, taskset, cpu, max_s
        self.p, self.port = None, None

    def start(self):
        if not (os.path.isfile(self.exe) and os.access(self.exe, os.X_OK)):
            return "%s not found (run make)" % self.exe
        cmd = [self.taskset, "-c", str(self.cpu), self.exe, "--listen", "127.0.0.1:0",
               "--max-seconds", str(int(self.max_s))]
        self.p = subprocess.Popen(cmd, env=child_env(), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True, start_new_session=True)
        _live[self.p.pid] = self.p
        line = self.p.stdout.readline()         # bounded by its --max-seconds
        if not line.startswith("listening 127.0.0.1:"):
            self.stop()
            return "stampede-target did not start: %r" % line
        self.port = int(line.strip().rsplit(":", 1)[1])
        return None

    def counters(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as c:
                c.sendall(b"GET /__target/counters HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Connection: close\r\n\r\n")
                data = b""
                while True:
                    b = c.recv(65536)
                    if not b:
                        break
                    data += b
            return json.loads(data.split(b"\r\n\r\n", 1)[1])
        except (OSError, ValueError, IndexError):
            return None

    def reset(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as c:
                c.sendall(b"POST /__target/reset HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                c.recv(4096)
        except OSError:
            pass

    def stop(self):
        if self.p is None:
            return
        if self.p.poll() is None:
            kill_group(self.p, signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                kill_group(self.p, signal.SIGKILL)
                self.p.wait(5)
        _live.pop(self.p.pid, None)
        self.p = None


def ws_scenario(path, url, stages, flow):
    """A Stampede scenario with one profile whose flow is the given YAML steps."""
    st = ", ".join("{ duration: %s, users: %d }" % s for s in stages)
    with open(path, "w") as f:
        f.write("name: bench-ws\n"
                "target: %s\n"
                "load: { model: closed, stages: [ %s ], graceful_stop: 5s }\n"
                "users:\n"
                "  - name: ws\n"
                "    flow:\n%s" % (url, st, flow))


def run_ws_echo(ctx, rnd, wst):
    """Stampede's WebSocket echo throughput: USERS connections to /ws/echo, each looping
    send + expect (contains) for BENCH_SECONDS."""
    tag = "stampede-ws-r%d" % rnd
    scen = os.path.join(ctx.tmp, tag + ".yaml")
    ws_scenario(scen, "http://127.0.0.1:%d" % wst.port, [("1ms", USERS), ("%ds" % ctx.seconds, USERS)],
                "      - ws: { connect: /ws/echo, name: echo }\n"
                "      - loop:\n"
                "          steps:\n"
                "            - ws: { send: \"%s\" }\n"
                "            - ws: { expect: { contains: \"%s\" }, timeout: 10s }\n"
                % (WS_ECHO_TEXT, WS_ECHO_TEXT))
    wst.reset()
    run = run_stampede(ctx, rnd, scen, tag, ctx.seconds, ws=("echo", "expects"), tool="stampede-ws")
    c = wst.counters()
    if run.ok and c and run.ws:
        # the target's count is the ground truth: every echo it sent was either matched
        # or still in flight when the run stopped (at most one per user)
        out = c["ws"]["messages_out"]
        got = int(run.ws.get("messages_received", 0))
        if not got <= out <= got + USERS:
            run.note = "target sent %d echoes, Stampede received %d" % (out, got)
    if run.ok and run.load_s > 0 and run.cpu_s < 0.9 * run.load_s:
        run.note = ((run.note + "; ") if run.note else "") + (
            "generator at %.0f%% of its core: the target bounds messages/s"
            % (100.0 * run.cpu_s / run.load_s))
    return run


def run_ws_memory(ctx, wst, users):
    """Stampede holding `users` connected to /ws/echo, thinking, on one thread."""
    tag = "ws-mem-%d" % users
    scen = os.path.join(ctx.tmp, tag + ".yaml")
    ws_scenario(scen, "http://127.0.0.1:%d" % wst.port,
                [("%ds" % MEM_RAMP_S, users), ("%ds" % MEM_HOLD_S, users)],
                "      - ws: { connect: /ws/echo, name: idle, timeout: 30s }\n"
                "      - think: 3600s\n")
    wst.reset()
    run = run_stampede(ctx, 0, scen, tag, MEM_RAMP_S + MEM_HOLD_S, ws=("idle", "connects"),
                       tool="stampede-ws")
    if run.ok and run.requests != users:
        run.fail("%d of %d users connected" % (run.requests, users))
    return run


def ws_mem_users(nofile):
    """Users of the WebSocket memory run: MEM_USERS when each side (Stampede, the
    target, each with the same limit) has room for them, else WS_MEM_USERS_LOW."""
    return MEM_USERS if nofile >= MEM_USERS + 1000 else WS_MEM_USERS_LOW


def ws_per_vu(ws_mem):
    m = dict(ws_mem)
    users = [u for u, _ in ws_mem]
    if len(users) == 2 and all(r.ok for _, r in ws_mem):
        lo, hi = min(users), max(users)
        return (m[hi].maxrss_kib - m[lo].maxrss_kib) / float(hi - lo), hi, lo
    return None, (max(users) if users else None), (min(users) if users else None)


def report_ws(ctx, runs, ws_runs, ws_mem, notes_ws):
    """The WebSocket sections of the report (Markdown lines) and the two figures the
    goals are about: (ratio WS echo / HTTP per CPU-s, KiB per idle connected VU)."""
    http_ok = [r for r in runs if r.tool == "stampede" and r.ok]
    ws_ok = [r for r in ws_runs if r.ok]
    http_cpu = statistics.median([r.per_cpu for r in http_ok]) if http_ok else None
    ws_rate = statistics.median([r.rps for r in ws_ok]) if ws_ok else None
    ws_cpu = statistics.median([r.per_cpu for r in ws_ok]) if ws_ok else None
    http_rate = statistics.median([r.rps for r in http_ok]) if http_ok else None
    rws = (ratio(ws_rate, http_rate), ratio(ws_cpu, http_cpu))
    verdict = lambda v, goal: "n/a" if v is None else ("met" if v >= goal else "NOT met")
    out = ["## WebSocket echo throughput: Stampede, 1 thread, %d connections to "
           "stampede-target /ws/echo (median over rounds)" % USERS, ""]
    out += [table(["tool", "messages/s", "messages per CPU-s", "runs ok"],
                  [["stampede-ws (send + expect contains)", fmt(ws_rate), fmt(ws_cpu),
                    "%d/%d" % (len(ws_ok), len(ws_runs))],
                   ["stampede (lean HTTP client, GET /ping, nginx)", fmt(http_rate), fmt(http_cpu),
                    "%d/%d" % (len(http_ok), len([r for r in runs if r.tool == "stampede"]))]]), ""]
    out += [table(["ratio", "per second", "per CPU-s", "goal per CPU-s"],
                  [["Stampede WS echo / Stampede (lean) HTTP", fmt(rws[0], "{:.2f}x"),
                    fmt(rws[1], "{:.2f}x"),
                    ">= %.1fx: %s" % (GOAL_WS_RATIO, verdict(rws[1], GOAL_WS_RATIO))]]), ""]
    rows = []
    for r in ws_runs:
        e = r.ws or {}
        p50 = (e.get("message_ms") or {}).get("p50")
        rows.append([r.round, fmt(r.requests if r.ok or r.requests else None), r.failures,
                     fmt(e.get("messages_sent")), fmt(e.get("messages_received")),
                     fmt(p50, "{:.3f}"), "%.2f" % r.load_s, "%.2f" % r.cpu_s, fmt(r.rps),
                     fmt(r.per_cpu), ("FAILED: " if not r.ok else "") + r.note])
    out += [table(["round", "echoes", "failures", "sent", "received", "p50 ms", "load s",
                   "CPU s", "messages/s", "per CPU-s", "note"], rows), ""]
    out += ["- a message is one round trip: a text frame sent and its echo matched by an "
            "expect (summary.json ws \"expects\"); the target (stampede-target, CPU %d) "
            "echoes at once; the HTTP figure is the same rounds' Stampede (lean) run above "
            "(the lean HTTP client, not the libcurl row); when "
            "the single-threaded target is the limit (generator below 90%% of its core) "
            "messages/s is the target's and messages per CPU-s is conservative (fewer "
            "events per wake-up than a saturated loop)" % ctx.target_cpu, ""]

    per_vu, hi, lo = ws_per_vu(ws_mem)
    out += ["## WebSocket memory: Stampede, 1 thread, users connect to /ws/echo and think "
            "(started within %d s, held %d s)" % (MEM_RAMP_S, MEM_HOLD_S), ""]
    out += [table(["users", "peak RSS KiB", "KiB per user", "connected", "CPU s", "note"],
                  [[u, fmt(r.maxrss_kib if r.ok else None),
                    fmt(r.maxrss_kib / u if r.ok else None, "{:.1f}"),
                    fmt(r.requests if r.ok or r.requests else None), "%.2f" % r.cpu_s,
                    ("FAILED: " if not r.ok else "") + r.note] for u, r in ws_mem]), ""]
    if hi is not None and lo is not None and hi != lo:
        out += ["- KiB per connected VU = (peak %d - peak %d) / %d = %s"
                % (hi, lo, hi - lo, fmt(per_vu, "{:.2f}")), ""]
    out += ["- " + n for n in notes_ws] + ([""] if notes_ws else [])
    return out, rws[1], per_vu


# --- report -------------------------------------------------------------------------

def fmt(v, spec="{:,.0f}"):
    return "n/a" if v is None else spec.format(v)


def ratio(a, b):
    return a / b if a is not None and b else None


def table(head, rows):
    """A Markdown table padded to line up in a terminal as well."""
    cells = [head] + [[str(c) for c in r] for r in rows]
    w = [max(len(r[i]) for r in cells) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |"
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (x + 2) for x in w) + "|"]
                     + [line(r) for r in cells[1:]])


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.split(":")[0].strip() in ("model name", "Hardware", "cpu model"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def versions(ctx):
    loc = probe([ctx.locust, "--version"], ctx.tmp)
    if loc.strip() in ("", "locust"):   # Debian's build prints no number: ask dpkg
        pkg = probe(["dpkg-query", "-W", "-f=${Version}", "python3-locust"], ctx.tmp)
        loc = "locust (python3-locust %s)" % pkg
    st = (probe([ctx.stampede, "--version"], ctx.tmp) if os.access(ctx.stampede, os.X_OK)
          else "not built")
    return [("stampede", st), ("wrk", probe([ctx.wrk, "-v"], ctx.tmp)), ("locust", loc),
            ("nginx", probe([ctx.nginx, "-v"], ctx.tmp))]


def report_merge(ctx, m):
    """The master-merge section of the report (Markdown lines)."""
    f = m.fig
    pct = lambda k: fmt(f[k] * 100 if m.ok and k in f else None, "{:.1f}%")
    num = lambda k, spec: fmt(f.get(k) if m.ok else None, spec)
    mbps = f["delta_bytes_per_s"] / 1e6 if m.ok and "delta_bytes_per_s" in f else None
    title = ("%s workers x %s names, %s requests per name per worker-second"
             % (f.get("workers", 1000), f.get("names", 200), f.get("reqs_per_name", 20)))
    out = ["## Master merge: %s" % title, ""]
    out += [table(["CPU share of one core", "first second", "later seconds",
                   "worst second", "decoding alone", "peak RSS MiB",
                   "RSS before merging MiB", "MB/s of deltas", "simulated s", "note"],
                  [[pct("cpu_share"), pct("cpu_share_first"), pct("cpu_share_steady"),
                    pct("cpu_share_max"), pct("cpu_share_decode"),
                    num("peak_rss_mib", "{:.1f}"), num("rss_inputs_mib", "{:.1f}"),
                    fmt(mbps, "{:.1f}"), f.get("seconds", ctx.merge_seconds),
                    "" if m.ok else "FAILED: " + m.note]]), ""]
    if m.ok:
        out += ["- " + m.line]
    out += ["- method: tests/bench/merge_bench.c on CPU %d; each simulated second "
            "proto_decodes every worker's STATS delta, merge_adds it into the interval set, "
            "folds the closed interval into the run totals, reads its p95 and resets it, as "
            "the coordinator does; the batches run back to back, so CPU share = CPU s / "
            "simulated s (getrusage); latencies lognormal, median 20 ms; peak RSS "
            "includes the encoded deltas held as input (RSS before merging)"
            % ctx.gen_cpu, ""]
    return out


def verdict(v, goal, at_most=False):
    if v is None:
        return "n/a"
    return "met" if (v <= goal if at_most else v >= goal) else "NOT met"


def mem_per_vu(mem, tool):
    """(KiB per VU from the difference, KiB per user of the big run) of one tool's memory
    runs; None where a run is missing or failed."""
    m = {u: r for t, u, r in mem if t == tool}
    if m.get(MEM_USERS) and m.get(MEM_BASE_USERS) and m[MEM_USERS].ok and m[MEM_BASE_USERS].ok:
        return ((m[MEM_USERS].maxrss_kib - m[MEM_BASE_USERS].maxrss_kib)
                / float(MEM_USERS - MEM_BASE_USERS), m[MEM_USERS].maxrss_kib / float(MEM_USERS))
    return None, None


def report_mem(mem):
    """The HTTP memory section (Markdown lines) and KiB per idle VU per tool."""
    out = ["## Memory: Stampede, 1 thread, users loop GET /ping + think 1s "
           "(started within %d s, held %d s), each HTTP client" % (MEM_RAMP_S, MEM_HOLD_S), ""]
    rows = []
    for tool, users, r in mem:
        expect = users * (MEM_HOLD_S + MEM_RAMP_S / 2.0)   # ~1 request per user-second
        rows.append([LABEL[tool], users, fmt(r.maxrss_kib if r.ok else None),
                     fmt(r.maxrss_kib / users if r.ok else None, "{:.1f}"),
                     fmt(r.requests if r.ok else None), "~%s" % fmt(expect),
                     fmt(r.rps), fmt(r.steady_rps), "%.2f" % r.cpu_s,
                     ("FAILED: " if not r.ok else "") + r.note])
    out += [table(["client", "users", "peak RSS KiB", "KiB per user", "requests", "expected",
                   "req/s (whole run)", "req/s (all users on)", "CPU s", "note"], rows), ""]
    per_vu = {}
    for tool, client in CLIENTS:
        if not any(t == tool for t, _, _ in mem):
            continue
        vu, whole = mem_per_vu(mem, tool)
        per_vu[tool] = vu
        goal = (" (goal <= %g KiB: %s)" % (GOAL_KIB_PER_VU, verdict(vu, GOAL_KIB_PER_VU, True))
                if client == "lean" else " (no goal: kept for comparison)")
        out += ["- %s: KiB per idle VU = (peak %d - peak %d) / %d = **%s**%s; peak %d / %d = %s KiB"
                % (client, MEM_USERS, MEM_BASE_USERS, MEM_USERS - MEM_BASE_USERS,
                   fmt(vu, "{:.2f}"), goal, MEM_USERS, MEM_USERS, fmt(whole, "{:.2f}"))]
    out += ["- steady state should be ~%s req/s (one request per user per ~1 s)"
            % fmt(MEM_USERS * 1.0), ""]
    return out, per_vu


def report(ctx, runs, mem, merge, notes, ws_runs=(), ws_mem=(), notes_ws=(), open_res=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    by = {t: [r for r in runs if r.tool == t] for t in TOOLS}
    med = {}
    for t in TOOLS:
        ok = [r for r in by[t] if r.ok]
        med[t] = (statistics.median([r.rps for r in ok]) if ok else None,
                  statistics.median([r.per_cpu for r in ok]) if ok else None, len(ok))
    only = getattr(ctx, "only", "")
    shown = [t for t in TOOLS if by[t]]
    out = ["# Stampede benchmark, %s UTC" % now.strftime("%Y-%m-%d %H:%M:%S"), ""]
    out += ["- host: nproc %d, %s, kernel %s" % (len(os.sched_getaffinity(0)), cpu_model(),
                                                 os.uname().release)]
    out += ["- %s: %s" % v for v in versions(ctx)]
    out += ["- method: nginx (1 worker) on CPU %d; each generator alone on CPU %d; %d users "
            "or connections, keep-alive, GET %s/ping; %d s per run; %d round(s), tools "
            "interleaved (%s); Stampede's HTTP client set per run by %s=lean|curl; CPU = "
            "user+sys of the generator process tree (start-up included); req/s = requests / "
            "load time (wrk's own, Stampede's duration_s, Locust's -t)"
            % (ctx.target_cpu, ctx.gen_cpu, USERS, ctx.url, ctx.seconds, ctx.rounds,
               ", ".join(LABEL[t] for t in shown), CLIENT_ENV)]
    out += ["- bench wall time: %.1f min%s" % (
        (time.monotonic() - ctx.t0) / 60.0, " (BENCH_ONLY=%s)" % only if only else ""), ""]

    out += ["## Throughput (median over rounds)", ""]
    out += [table(["tool", "req/s", "req per CPU-s", "runs ok"],
                  [[LABEL[t], fmt(med[t][0]), fmt(med[t][1]), "%d/%d" % (med[t][2], len(by[t]))]
                   for t in shown]), ""]

    def rat(a, b):
        return (ratio(med[a][0], med[b][0]), ratio(med[a][1], med[b][1]))
    rw, rl = rat("stampede", "wrk"), rat("stampede", "locust")
    cw, cl, lc = rat("stampede-curl", "wrk"), rat("stampede-curl", "locust"), \
        rat("stampede", "stampede-curl")
    x = lambda v: fmt(v, "{:.2f}x")
    rows = [["Stampede (lean) / wrk", x(rw[0]), x(rw[1]),
             ">= %.1fx: %s (aim %.1fx: %s)" % (GOAL_WRK, verdict(rw[1], GOAL_WRK),
                                               GOAL_WRK_AIM, verdict(rw[1], GOAL_WRK_AIM))],
            ["Stampede (lean) / Locust", x(rl[0]), x(rl[1]),
             ">= %.0fx: %s" % (GOAL_LOCUST, verdict(rl[1], GOAL_LOCUST))],
            ["Stampede (curl) / wrk", x(cw[0]), x(cw[1]), "none (libcurl, for comparison)"],
            ["Stampede (curl) / Locust", x(cl[0]), x(cl[1]), "none (libcurl, for comparison)"],
            ["Stampede lean / curl", x(lc[0]), x(lc[1]), "none"]]
    if by["stampede"] and by["wrk"]:
        out += [table(["ratio", "req/s", "req per CPU-s", "goal per CPU-s"], rows), ""]

    out += ["## Each run", ""]
    out += [table(["round", "tool", "requests", "failures", "load s", "wall s", "CPU s",
                   "req/s", "req per CPU-s", "note"],
                  [[r.round, LABEL[r.tool], fmt(r.requests if r.ok or r.requests else None),
                    r.failures,
                    "%.2f" % r.load_s, "%.2f" % r.wall_s, "%.2f" % r.cpu_s, fmt(r.rps),
                    fmt(r.per_cpu), ("FAILED: " if not r.ok else "") + r.note]
                   for r in sorted(runs, key=lambda r: (r.round, TOOLS.index(r.tool)))]), ""]

    if open_res is not None:
        out += bench_open.report_lines(ctx, open_res, med["stampede"][0], table, fmt, USERS)

    per_vu = {}
    if mem:                             # BENCH_ONLY=ws: no HTTP memory runs
        lines, per_vu = report_mem(mem)
        out += lines

    ws_ratio = ws_kib = None
    if only != "http":
        ws_lines, ws_ratio, ws_kib = report_ws(ctx, runs, ws_runs, ws_mem, notes_ws)
        out += ws_lines
    if not only:
        out += report_merge(ctx, merge)

    lean_kib, curl_kib = per_vu.get("stampede"), per_vu.get("stampede-curl")
    out += ["## Goals", ""]
    if only != "ws":
        out += [GOAL_LINE, ""]
    if only != "http":
        out += [WS_GOAL_LINE, ""]
    if only != "ws":
        out += ["- measured, lean: Stampede/wrk %s, Stampede/Locust %s per generator "
                "CPU-second; %s KiB per idle VU" % (x(rw[1]), x(rl[1]), fmt(lean_kib, "{:.2f}")),
                "- measured, curl (no goal): Stampede/wrk %s, Stampede/Locust %s per "
                "generator CPU-second; %s KiB per idle VU; lean/curl %s per CPU-second"
                % (x(cw[1]), x(cl[1]), fmt(curl_kib, "{:.2f}"), x(lc[1])),
                "- verdict (lean): wrk %s (aim %.1fx: %s), Locust %s, memory %s"
                % (verdict(rw[1], GOAL_WRK), GOAL_WRK_AIM, verdict(rw[1], GOAL_WRK_AIM),
                   verdict(rl[1], GOAL_LOCUST), verdict(lean_kib, GOAL_KIB_PER_VU, True))]
    if only != "http":
        out += ["- measured: Stampede WS echo / Stampede (lean) HTTP %s per generator "
                "CPU-second; %s KiB per idle connected VU" % (x(ws_ratio), fmt(ws_kib, "{:.2f}")),
                "- verdict: WebSocket echo %s, WebSocket memory %s"
                % (verdict(ws_ratio, GOAL_WS_RATIO), verdict(ws_kib, GOAL_WS_KIB_PER_VU, True))]
    out += [""]
    if open_res is not None:
        out += [bench_open.GOAL_OPEN_LINE, "", bench_open.verdict_line(open_res, med["stampede"][0], fmt), ""]
    if notes:
        out += ["## Notes", ""] + ["- " + n for n in notes] + [""]
    text = "\n".join(out)
    os.makedirs(os.path.join(REPO, "results"), exist_ok=True)
    path = os.path.join(REPO, "results", "bench-%s.md" % now.strftime("%Y%m%d-%H%M%S"))
    with open(path, "w") as f:
        f.write(text)
    print(text, flush=True)
    return path


# --- main ---------------------------------------------------------------------------

class Ctx:
    pass


def raise_nofile(notes):
    """Soft RLIMIT_NOFILE up to the hard limit, and the hard limit to NOFILE_WANT when
    allowed (CAP_SYS_RESOURCE); children (nginx, Stampede) inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    inf = resource.RLIM_INFINITY
    if hard != inf and hard < NOFILE_WANT:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE_WANT, NOFILE_WANT))
        except (ValueError, OSError):
            notes.append("RLIMIT_NOFILE hard limit is %d and could not be raised to %d"
                         % (hard, NOFILE_WANT))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft


def find_tool(name):
    """On PATH; nginx also in /usr/sbin, which a normal user's PATH may lack."""
    return shutil.which(name) or (name == "nginx" and shutil.which(name, path="/usr/sbin"))


def client_env_known(exe):
    """True when the Stampede binary contains the name STAMPEDE_HTTP_CLIENT (a build
    that does not cannot read it: both Stampede rows are then libcurl); None when it
    cannot be read."""
    try:
        with open(exe, "rb") as f:
            return CLIENT_ENV.encode() in f.read()
    except OSError:
        return None


def main(argv):
    ctx = Ctx()
    ctx.t0 = time.monotonic()
    ctx.seconds = env_int("BENCH_SECONDS", 15, 1, 3600)
    ctx.rounds = env_int("BENCH_ROUNDS", 3, 1, 100)
    ctx.merge_seconds = env_int("MERGE_BENCH_SECONDS", 10, 1, 3600)
    bin_dir = argv[1] if len(argv) > 1 else os.path.join(REPO, "bin")
    ctx.stampede = os.path.abspath(os.path.join(bin_dir, "stampede"))
    ctx.target_exe = os.path.abspath(os.path.join(bin_dir, "stampede-target"))
    only = os.environ.get("BENCH_ONLY", "")
    if only not in ("", "ws", "http"):
        raise SetupError("BENCH_ONLY=%r: only 'ws' and 'http' are known" % only)
    ctx.only = only
    ws_only, http_only = only == "ws", only == "http"
    tools = {n: find_tool(n) for n in ("taskset", "nginx", "wrk", "locust")}
    missing = [n for n, p in tools.items() if not p and not (ws_only and n in ("wrk", "locust"))]
    if missing:
        raise SetupError("missing %s: run make deps-bench" % ", ".join(missing))
    ctx.taskset, ctx.nginx, ctx.wrk, ctx.locust = (tools[n] for n in
                                                   ("taskset", "nginx", "wrk", "locust"))
    notes = []
    cpus = sorted(os.sched_getaffinity(0))
    ctx.target_cpu = cpus[0]
    ctx.gen_cpu = cpus[1] if len(cpus) > 1 else cpus[0]
    if len(cpus) < 2:
        notes.append("only one CPU available: target and generators share it, so the "
                     "figures are not comparable with the goals")
    nofile = raise_nofile(notes)
    if client_env_known(ctx.stampede) is False:
        notes.append("this build of stampede does not read %s: the lean and curl rows both "
                     "measured libcurl" % CLIENT_ENV)

    ctx.tmp = tempfile.mkdtemp(prefix="stampede-bench-")
    target = Target(ctx.nginx, ctx.taskset, ctx.target_cpu, ctx.tmp)
    # the WebSocket target lives through every round and the memory runs
    wst = WsTarget(ctx.target_exe, ctx.taskset, ctx.target_cpu,
                   ctx.rounds * (len(TOOLS) + 1) * (ctx.seconds + CHILD_GRACE_S) + 600)
    try:
        target.start()
        if http_only:
            ws_err = "BENCH_ONLY=http"
        else:
            ws_err = wst.start()
            if ws_err:
                notes.append("WebSocket runs skipped: " + ws_err)
        ctx.url = "http://127.0.0.1:%d" % target.port
        log("nginx on %s (CPU %d), generators on CPU %d, %d s x %d round(s)"
            % (ctx.url, ctx.target_cpu, ctx.gen_cpu, ctx.seconds, ctx.rounds))
        scen = os.path.join(ctx.tmp, "ping.yaml")
        stampede_scenario(scen, ctx.url, [("1ms", USERS), ("%ds" % ctx.seconds, USERS)], 0)

        runs, ws_runs = [], []
        for rnd in range(1, ctx.rounds + 1):
            for tool in TOOLS + ("stampede-ws",):
                if ws_only and tool in ("stampede-curl", "wrk", "locust"):
                    continue
                if tool == "stampede-ws":
                    if ws_err:
                        continue
                    log("round %d/%d: stampede WebSocket echo ..." % (rnd, ctx.rounds))
                    r = run_ws_echo(ctx, rnd, wst)
                    check_failures(r)
                    ws_runs.append(r)
                    log("  stampede-ws: %s messages/s, %s per CPU-s%s" % (
                        fmt(r.rps), fmt(r.per_cpu), "" if r.ok else ", FAILED: " + r.note))
                    continue
                if not target.alive():
                    raise SetupError("nginx stopped answering: " + target.log_text()[-500:])
                log("round %d/%d: %s ..." % (rnd, ctx.rounds, LABEL[tool]))
                if tool in dict(CLIENTS):
                    client = dict(CLIENTS)[tool]
                    r = run_stampede(ctx, rnd, scen, "%s-r%d" % (tool, rnd), ctx.seconds,
                                     tool=tool, client=client)
                elif tool == "wrk":
                    r = run_wrk(ctx, rnd)
                else:
                    r = run_locust(ctx, rnd)
                check_failures(r)
                runs.append(r)
                log("  %s: %s req/s, %s req per CPU-s%s" % (
                    LABEL[tool], fmt(r.rps), fmt(r.per_cpu), "" if r.ok else ", FAILED: " + r.note))

        open_res = None
        if not only:
            if not target.alive():
                raise SetupError("nginx stopped answering: " + target.log_text()[-500:])
            ok = [r for r in runs if r.tool == "stampede" and r.ok]
            closed_rps = statistics.median([r.rps for r in ok]) if ok else None
            log("open model (default client: %s unset, auto = lean): the highest arrival "
                "rate one thread holds ..." % CLIENT_ENV)
            open_res = bench_open.search(ctx, closed_rps, run_child, log, USERS)
            log("  " + bench_open.headline(open_res, closed_rps, fmt))

        mem = []                        # (tool, users, Run)
        for tool, client in (() if ws_only else CLIENTS):
            for users in (MEM_BASE_USERS, MEM_USERS):
                if not target.alive():
                    raise SetupError("nginx stopped answering: " + target.log_text()[-500:])
                if nofile < users + 1000:
                    r = Run(tool, 0).fail("RLIMIT_NOFILE %d is too low for %d users"
                                          % (nofile, users))
                else:
                    log("memory: %s with %d users ..." % (LABEL[tool], users))
                    r = run_memory(ctx, users, tool, client)
                    check_failures(r)
                    log("  peak RSS %s KiB, %s requests%s" % (
                        fmt(r.maxrss_kib), fmt(r.requests), "" if r.ok else ", FAILED: " + r.note))
                mem.append((tool, users, r))

        ws_mem, notes_ws = [], []
        if not ws_err:
            ws_users = ws_mem_users(nofile)
            if ws_users != MEM_USERS:
                notes_ws.append("RLIMIT_NOFILE %d: the WebSocket memory run holds %d users, "
                                "not %d" % (nofile, ws_users, MEM_USERS))
            for users in (MEM_BASE_USERS, ws_users):
                if nofile < users + 1000:
                    r = Run("stampede-ws", 0).fail("RLIMIT_NOFILE %d is too low for %d users"
                                                    % (nofile, users))
                else:
                    log("memory: stampede with %d connected WebSocket users ..." % users)
                    r = run_ws_memory(ctx, wst, users)
                    check_failures(r)
                    log("  peak RSS %s KiB, %s connected%s" % (
                        fmt(r.maxrss_kib), fmt(r.requests), "" if r.ok else ", FAILED: " + r.note))
                ws_mem.append((users, r))

        if only:
            merge = MergeRun().fail("skipped (BENCH_ONLY=%s)" % only)
        else:
            log("merge: master merging %d s of deltas (tests/bench/merge_bench.c) ..."
                % ctx.merge_seconds)
            merge = run_merge(ctx)
            log("  " + (merge.line if merge.ok else "FAILED: " + merge.note))

        warn = [l.strip() for l in target.log_text().splitlines()
                if re.search(r"\[(emerg|alert|crit|error|warn)\]", l)]
        notes += ["nginx: " + re.sub(r"^\S+ \S+ ", "", l) for l in warn[:5]]
        if ws_only:
            notes.append("BENCH_ONLY=ws: the libcurl row, wrk, Locust, the HTTP memory runs, "
                         "the open model's search and the merge run were skipped")
        if http_only:
            notes.append("BENCH_ONLY=http: the WebSocket runs, the open model's search and "
                         "the merge run were skipped")
        path = report(ctx, runs, mem, merge, notes, ws_runs, ws_mem, notes_ws, open_res)
        log("report written to " + os.path.relpath(path, os.getcwd()))
        log("bench took %.1f min" % ((time.monotonic() - ctx.t0) / 60.0))
        ws_ok = http_only or (not ws_err and all(r.ok for r in ws_runs)
                              and all(r.ok for _, r in ws_mem))
        return (0 if all(r.ok for r in runs) and all(r.ok for _, _, r in mem)
                and (merge.ok or only) and ws_ok
                and (open_res is None or open_res.best is not None) else 1)
    finally:
        wst.stop()
        target.stop()
        shutil.rmtree(ctx.tmp, ignore_errors=True)


def cleanup_children():
    for p in list(_live.values()):
        kill_group(p, signal.SIGKILL)
        try:
            p.wait(5)
        except (subprocess.TimeoutExpired, ChildProcessError):
            pass
    _live.clear()


def on_signal(signum, _frame):
    log("stopped by %s; cleaning up" % signal.Signals(signum).name)
    raise SystemExit(128 + signum)   # unwinds through main's finally: nginx, temp dir


if __name__ == "__main__":
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    rc = 2
    try:
        rc = main(sys.argv)
    except SetupError as e:
        log("error: %s" % e)
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    finally:
        cleanup_children()
    sys.exit(rc)
