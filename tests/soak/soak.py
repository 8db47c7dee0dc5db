#!/usr/bin/env python3
"""make soak: a compressed endurance run that shows whether memory stays flat.

Usage: python3 tests/soak/soak.py [BIN_DIR]
  env SOAK_MINUTES  load duration in minutes (default 30; at least 3: minute 2 is the
                    baseline)
      SOAK_OUT      results folder (default results/soak-<UTC time>)
      SOAK_USERS    HTTP users per generator (default 50: each passes its 200 requests
                    once a second, about 10,000 requests/s per generator, a
                    third of a core each)
      SOAK_WS_USERS WebSocket users per generator (default 4)

What runs (every process separate, everything on 127.0.0.1, every wait bounded):
  - two stampede-target instances (the ground truth of each run);
  - a stampede-master and a stampede-worker (--threads 1), driven by a
    `stampede run --master` client (the "client" below);
  - a local `stampede run --threads 1` (master and worker in one process);
both runs with the scenario tests/soak/scenario.yaml.in: 200 HTTP request names, five
error kinds (connect refused on a loopback port bound but never listening, a timeout on
a delayed route, an http_status from a 404, a failed expect, a WebSocket upgrade refused
with 404) and WebSocket users on /ws/echo that connect, exchange 100 messages, close
and connect again. The master's dashboard endpoints are polled every 2 s as an open
dashboard would.

Every 10 s the RSS (VmRSS of /proc/PID/status) of each process goes into DIR/rss.csv
(elapsed_s,process,pid,rss_kib; elapsed from the runs' start). At the end: DIR/rss.svg
(one line per process, drawn here, no dependency) and DIR/soak.md: RSS at minute 2 and
at the end of the load per process, growth, PASS/FAIL against 5 % for the generator's
processes (run, master, worker, client; the targets are shown, not judged), requests
and errors by kind from each run's summary.json and what each target counted.
Exit status 0 when every judged process grew less than 5 %, 1 otherwise, 2 on a
set-up failure."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SAMPLE_S = 10
BASELINE_S = 120            # minute 2: after the ramp and the first allocations settle
LIMIT_PCT = 5.0
JUDGED = ("run", "master", "worker", "client")

procs = []                  # (label, Popen), killed at exit whatever happens


def log(msg):
    print("soak: " + msg, flush=True)


def die(msg):
    log("error: " + msg)
    cleanup()
    sys.exit(2)


def cleanup():
    for _, p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(label, args, out_dir, stdout=subprocess.DEVNULL, env=None):
    err = open(os.path.join(out_dir, label + ".log"), "w")
    p = subprocess.Popen(args, stdout=stdout, stderr=err, text=True,
                         env=dict(os.environ, **(env or {})))
    procs.append((label, p))
    return p


def start_target(bin_dir, label, out_dir, max_s):
    p = start(label, [os.path.join(bin_dir, "stampede-target"), "--listen", "127.0.0.1:0",
                      "--max-seconds", str(max_s), "--delay", "/qc/tests=1000"],
              out_dir, stdout=subprocess.PIPE)
    line = p.stdout.readline()          # bounded: the target exits by --max-seconds
    if not line.startswith("listening "):
        die("%s did not start: %r" % (label, line))
    return p, int(line.split(":")[-1])


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def scenario_text(port, closed_port, minutes, users, ws_users):
    with open(os.path.join(HERE, "scenario.yaml.in")) as f:
        text = f.read()
    names = "".join('            - http: { name: "r%03d", url: /ping }\n' % i for i in range(1, 197))
    hold = minutes * 60 - 10
    return (text.replace("@PORT@", str(port)).replace("@CLOSED@", str(closed_port))
                .replace("@HOLD@", "%ds" % hold).replace("@USERS@", str(users + ws_users))
                .replace("@HTTP_WEIGHT@", str(users)).replace("@WS_WEIGHT@", str(ws_users))
                .replace("@NAMES@\n", names))


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_s(pid):
    """User + system CPU seconds of pid so far (None when it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def at(samples, label, t):
    """The sample of label nearest to elapsed t (None when there is none)."""
    pts = [(abs(e - t), kib) for e, lab, _, kib in samples if lab == label]
    return min(pts)[1] if pts else None


def last_during(samples, label, t_end):
    pts = [(e, kib) for e, lab, _, kib in samples if lab == label and e <= t_end]
    return max(pts)[1] if pts else None


def svg_chart(samples, labels, path, load_s):
    W, H, L, R, T, B = 900, 420, 70, 150, 30, 50
    colors = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#6d5bd0", "#0891b2", "#9d174d"]
    tmax = max([e for e, *_ in samples] + [load_s, 1])
    ymax = max([k for *_, k in samples] + [1]) / 1024.0 * 1.1
    step = 1
    for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        step = s
        if ymax / s <= 8:
            break
    ymax = step * (int(ymax / step) + 1)

    def x(e):
        return L + (W - L - R) * e / tmax

    def y(mib):
        return T + (H - T - B) * (1 - mib / ymax)

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="12">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="18" font-size="14">RSS of every process (MiB) over the soak (minutes)</text>' % L]
    v = 0
    while v <= ymax:
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e5e7eb"/>' % (L, W - R, y(v), y(v)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (L - 6, y(v) + 4, v))
        v += step
    mstep = max(1, int(tmax / 60 / 10))
    m = 0
    while m * 60 <= tmax:
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (x(m * 60), H - B + 18, m))
        m += mstep
    for xe, lab, dx, anchor in ((BASELINE_S, "minute 2", 3, "start"), (load_s, "end of load", -3, "end")):
        if xe <= tmax:
            out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#9ca3af" stroke-dasharray="4 3"/>'
                       % (x(xe), x(xe), T, H - B))
            out.append('<text x="%.1f" y="%d" fill="#6b7280" text-anchor="%s">%s</text>'
                       % (x(xe) + dx, T + 12, anchor, lab))
    out.append('<text x="%d" y="%d" text-anchor="middle">minutes</text>' % ((L + W - R) // 2, H - 10))
    out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (L, W - R, H - B, H - B))
    out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (L, L, T, H - B))
    for i, lab in enumerate(labels):
        pts = [(e, kib / 1024.0) for e, l2, _, kib in samples if l2 == lab]
        if not pts:
            continue
        c = colors[i % len(colors)]
        out.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>'
                   % (c, " ".join("%.1f,%.1f" % (x(e), y(mib)) for e, mib in pts)))
        out.append('<rect x="%d" y="%d" width="12" height="3" fill="%s"/>' % (W - R + 12, T + 20 * i + 24, c))
        out.append('<text x="%d" y="%d">%s</text>' % (W - R + 30, T + 20 * i + 30, lab))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def run_figures(out_dir):
    try:
        with open(os.path.join(out_dir, "summary.json")) as f:
            s = json.load(f)
    except (OSError, ValueError) as e:
        return None, "no summary.json (%s)" % e
    kinds = {}
    for e in s.get("errors", []):
        kinds[e.get("kind", "?")] = kinds.get(e.get("kind", "?"), 0) + e.get("count", 0)
    ws = s.get("ws", [])
    return {"requests": s["totals"]["requests"], "failures": s["totals"]["failures"],
            "rps": s["totals"].get("rps", 0), "duration_s": s.get("duration_s", 0),
            "names": len(s.get("requests", [])), "kinds": kinds,
            "ws_sent": sum(w.get("messages_sent", 0) for w in ws),
            "ws_received": sum(w.get("messages_received", 0) for w in ws),
            "ws_connects": sum(w.get("connects", 0) for w in ws)}, None


def main():
    bin_dir = sys.argv[1] if len(sys.argv) > 1 else "bin"
    bin_dir = os.path.abspath(bin_dir)
    minutes = int(os.environ.get("SOAK_MINUTES", "30"))
    users = int(os.environ.get("SOAK_USERS", "50"))
    ws_users = int(os.environ.get("SOAK_WS_USERS", "4"))
    if minutes < 3 or minutes > 24 * 60 or users < 1 or ws_users < 1:
        die("SOAK_MINUTES wants 3..1440 (minute 2 is the baseline), SOAK_USERS and SOAK_WS_USERS >= 1")
    out = os.path.abspath(os.environ.get("SOAK_OUT") or os.path.join(
        ROOT, "results", time.strftime("soak-%Y%m%d-%H%M%S", time.gmtime())))
    os.makedirs(out, exist_ok=True)
    for exe in ("stampede", "stampede-master", "stampede-worker", "stampede-target"):
        if not os.access(os.path.join(bin_dir, exe), os.X_OK):
            die("%s/%s is missing (make all)" % (bin_dir, exe))
    load_s = minutes * 60
    max_s = load_s + 600
    signal.signal(signal.SIGTERM, lambda *_: (cleanup(), sys.exit(2)))

    # a loopback port bound and never listened on: every connect to it is refused, and no
    # other process can take it while the soak runs
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]

    target_r, port_r = start_target(bin_dir, "target-remote", out, max_s)
    target_l, port_l = start_target(bin_dir, "target-local", out, max_s)
    for name, port in (("remote", port_r), ("local", port_l)):
        with open(os.path.join(out, "scenario-%s.yaml" % name), "w") as f:
            f.write(scenario_text(port, closed_port, minutes, users, ws_users))

    mport = free_port()
    master = start("master", [os.path.join(bin_dir, "stampede-master"), "--listen", "tcp://127.0.0.1:%d" % mport,
                              "--http", "127.0.0.1:0", "--results-dir", os.path.join(out, "master-results")],
                   out, stdout=subprocess.PIPE, env={"STAMPEDE_LOG": "info"})
    line = master.stdout.readline()
    if "api on http://" not in line:
        die("master did not start: %r" % line)
    api = line.strip().split("api on ")[1]
    worker = start("worker", [os.path.join(bin_dir, "stampede-worker"), "--master", "tcp://127.0.0.1:%d" % mport,
                              "--threads", "1", "--id", "soak-w1"], out, env={"STAMPEDE_LOG": "info"})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if any(w.get("state") not in ("lost", "left", "gone") for w in get_json(api + "/api/workers")["workers"]):
                break
        except OSError:
            pass
        time.sleep(0.2)
    else:
        die("the worker did not join the master")

    run_timeout = load_s + 300
    client = start("client", [os.path.join(bin_dir, "stampede"), "run", os.path.join(out, "scenario-remote.yaml"),
                              "--master", api, "--expect-workers", "1", "--expect-timeout", "20s",
                              "--out", os.path.join(out, "remote"), "--quiet", "--exit-code-on-error", "0"], out)
    local = start("run", [os.path.join(bin_dir, "stampede"), "run", os.path.join(out, "scenario-local.yaml"),
                          "--threads", "1", "--out", os.path.join(out, "local"), "--quiet",
                          "--exit-code-on-error", "0"], out)
    t0 = time.monotonic()
    watched = [("run", local), ("master", master), ("worker", worker), ("client", client),
               ("target-local", target_l), ("target-remote", target_r)]
    labels = [lab for lab, _ in watched]
    samples = []
    polls = {"ok": 0, "failed": 0}
    cpu = {}                    # label -> (elapsed, cpu seconds) at the baseline and the end
    log("%d min of load, output in %s" % (minutes, out))
    with open(os.path.join(out, "rss.csv"), "w") as csv:
        csv.write("elapsed_s,process,pid,rss_kib\r\n")
        next_t = 0.0
        next_poll, last_t = 0.0, None
        while True:
            now = time.monotonic() - t0
            runs_done = local.poll() is not None and client.poll() is not None
            if runs_done or now > run_timeout:
                break
            if now >= next_poll:
                # what an open dashboard asks of the master every 2 s, so that its paths
                # are part of the soak
                try:
                    get_json(api + "/api/live")
                    q = "" if last_t is None else "?after=%s" % last_t
                    ser = get_json(api + "/api/series" + q)
                    if ser.get("t"):
                        last_t = ser["t"][-1]
                    with urllib.request.urlopen(api + "/metrics", timeout=5) as r:
                        r.read()
                    polls["ok"] += 1
                except (OSError, ValueError):
                    polls["failed"] += 1
                next_poll = now + 2
            if now >= next_t:
                for lab, p in watched:
                    kib = rss_kib(p.pid) if p.poll() is None else None
                    if kib is not None:
                        samples.append((round(now, 1), lab, p.pid, kib))
                        csv.write("%.1f,%s,%d,%d\r\n" % (now, lab, p.pid, kib))
                        c = cpu_s(p.pid)
                        if c is not None:
                            base = cpu.get(lab, {}).get("base")
                            if base is None and now >= BASELINE_S:
                                base = (now, c)
                            cpu[lab] = {"base": base, "last": (now, c)}
                csv.flush()
                if int(next_t) % 300 == 0 and next_t:
                    log("%d s: %s" % (next_t, ", ".join("%s %d MiB" % (lab, at(samples, lab, now) // 1024)
                                                          for lab in labels if at(samples, lab, now))))
                next_t += SAMPLE_S
            time.sleep(min(1.0, max(0.05, next_t - (time.monotonic() - t0))))
    end_s = time.monotonic() - t0
    timed_out = local.poll() is None or client.poll() is None
    for p in (local, client):
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in (local, client):
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    counts = {}
    for lab, port in (("local", port_l), ("remote", port_r)):
        try:
            deadline = time.monotonic() + 5
            c = get_json("http://127.0.0.1:%d/__target/counters" % port)
            while c.get("pending") and time.monotonic() < deadline:
                time.sleep(0.1)
                c = get_json("http://127.0.0.1:%d/__target/counters" % port)
            counts[lab] = c
        except OSError as e:
            counts[lab] = {"error": str(e)}
    for p in (worker, master, target_l, target_r):     # a clean stop (sanitizer builds
        if p.poll() is None:                          # check for leaks at exit)
            p.send_signal(signal.SIGTERM)
    for lab, p in (("worker", worker), ("master", master), ("target-local", target_l), ("target-remote", target_r)):
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            log("%s did not stop on SIGTERM within 30 s" % lab)
    cleanup()
    closed.close()
    stop_codes = {lab: p.returncode for lab, p in watched}

    svg_chart(samples, labels, os.path.join(out, "rss.svg"), end_s)
    rows, ok = [], True
    for lab in labels:
        base, last = at(samples, lab, BASELINE_S), last_during(samples, lab, end_s)
        peak = max([k for _, l2, _, k in samples if l2 == lab] or [0])
        if base is None or last is None:
            rows.append((lab, base, last, peak, None, "NO DATA" if lab in JUDGED else "-"))
            ok = ok and lab not in JUDGED
            continue
        g = (last - base) * 100.0 / base
        verdict = ("PASS" if g < LIMIT_PCT else "FAIL") if lab in JUDGED else "(not judged)"
        ok = ok and (lab not in JUDGED or g < LIMIT_PCT)
        rows.append((lab, base, last, peak, g, verdict))
    md = ["# Soak %s" % os.path.basename(out), "",
          "%d min of load (a sample of each process every %d s, %d in all; baseline minute 2 = %d s, end = "
          "the last sample while the load ran, %.0f s; CPU from minute 2 to the end). %d HTTP users and %d WebSocket users per generator; "
          "every process on 127.0.0.1, the generator on one engine thread each; the master's "
          "dashboard endpoints (/api/live, /api/series, /metrics) polled every 2 s: %d polls, %d failed."
          % (minutes, SAMPLE_S, len(samples), BASELINE_S, max([e for e, *_ in samples] or [0]), users, ws_users,
             polls["ok"], polls["failed"]),
          "", "Verdict: **%s** (growth below %g %% for %s)%s" % ("PASS" if ok else "FAIL", LIMIT_PCT, ", ".join(JUDGED),
                                                          "; the runs did not finish in time" if timed_out else ""),
          "", "| process | RSS minute 2 (MiB) | RSS end (MiB) | peak (MiB) | growth | verdict | CPU (% of a core) |",
          "|---|---:|---:|---:|---:|---|---:|"]
    for lab, base, last, peak, g, verdict in rows:
        c = cpu.get(lab, {})
        b, e = c.get("base"), c.get("last")
        load = "%.0f" % ((e[1] - b[1]) * 100.0 / (e[0] - b[0])) if b and e and e[0] > b[0] else "-"
        md.append("| %s | %s | %s | %.1f | %s | %s | %s |" % (
            lab, "%.1f" % (base / 1024.0) if base else "-", "%.1f" % (last / 1024.0) if last else "-",
            peak / 1024.0, "%+.2f %%" % g if g is not None else "-", verdict, load))
    md += ["", "Requests = what the target counted + the connect-refused ones (which never reach it).",
           "", "| run | requests | failures | req/s | names | target counted | WS connects | "
           "WS sent / received | errors by kind |", "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for lab, d in (("local (`stampede run`)", "local"), ("distributed (master + worker)", "remote")):
        f, err = run_figures(os.path.join(out, d))
        tc = counts.get(d, {})
        if not f:
            md.append("| %s | %s | | | | %s | | | |" % (lab, err, tc.get("total", "?")))
            ok = False
            continue
        kinds = ", ".join("%s %d" % kv for kv in sorted(f["kinds"].items())) or "none"
        md.append("| %s | %d | %d | %.0f | %d | %s | %d | %d / %d | %s |" % (
            lab, f["requests"], f["failures"], f["rps"], f["names"], tc.get("total", "?"), f["ws_connects"],
            f["ws_sent"], f["ws_received"], kinds))
    md += ["", "Exit statuses: " + ", ".join("%s %s" % kv for kv in stop_codes.items()) + "."]
    md += ["", "Files: rss.csv (the samples), rss.svg (the chart), local/ and remote/ (each run's results), "
           "master-results/, scenario-*.yaml, *.log.", ""]
    with open(os.path.join(out, "soak.md"), "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))
    log("%s: %s" % ("PASS" if ok else "FAIL", out))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        cleanup()
