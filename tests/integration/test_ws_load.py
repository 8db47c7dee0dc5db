"""WebSocket load (`ws` steps) in local runs, against tests/target's feed and against a
server that is not ours (tests/ws_peer.py, Debian's python3-websockets).

Each test starts its own server(s) and `bin/stampede run` on 127.0.0.1 and checks
summary.json's "ws" section and stats.csv against what the server counted: messages in
and out, connections, close codes. Every run and every wait is bounded. This file needs
no third-party module itself (ws_peer.py runs under /usr/bin/python3, which has
python3-websockets), so run_all.sh's `python3` runs it."""
import atexit
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import (BIN, ROOT, SAN_SLACK_MS, Target, check, main, read_csv, run, summary, test,  # noqa: E402
                 write_scenario)

PEER = os.path.join(ROOT, "tests", "ws_peer.py")
PEER_PYTHON = "/usr/bin/python3"
_mine = []      # background processes of this file, killed at exit


def _cleanup():
    for p in _mine:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_cleanup)


class Peer:
    """tests/ws_peer.py on an ephemeral loopback port."""

    def __init__(self, *args):
        ready = os.path.join(tempfile.mkdtemp(prefix="stampede-it-peer-"), "port")
        self.proc = subprocess.Popen([PEER_PYTHON, PEER, "--port", "0", "--ready-file", ready,
                                      "--max-seconds", "300", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _mine.append(self.proc)
        line = self.proc.stdout.readline()      # bounded: the peer exits by --max-seconds
        if not line.startswith("listening "):
            self.proc.kill()
            raise RuntimeError("ws_peer did not start: %r %s" % (line, self.proc.stderr.read()[-2000:]))
        self.port = int(line.split(":")[-1])
        self.url = "http://127.0.0.1:%d" % self.port

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=5) as r:
            return json.loads(r.read())

    def counters(self):
        return self.get("/__peer/counters")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


def start_run(args):
    """bin/stampede with args in the background (for tests that act during the run)."""
    p = subprocess.Popen([os.path.join(BIN, "stampede"), *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    _mine.append(p)
    return p


def finish_run(p, timeout):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("stampede did not finish within %ss: %s" % (timeout, err[-2000:]))
    return p.returncode, out, err


def wait_until(cond, timeout, what):
    """Polls cond() every 50 ms until it is true; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def ws_of(s, name):
    got = [w for w in s["ws"] if w["name"] == name]
    check(len(got) == 1, "summary.json ws has no single entry %r: %s" % (name, [w["name"] for w in s["ws"]]))
    return got[0]


def scenario(name, target, stages, profiles, graceful="3s", extra=""):
    """A scenario text: stages [(duration, users)], profiles [(name, weight, flow text)]
    where the flow text is the YAML list of steps indented by 6."""
    st = "".join("    - { duration: %s, users: %d }\n" % s for s in stages)
    us = "".join("  - name: %s\n    weight: %d\n    flow:\n%s" % p for p in profiles)
    return ("name: %s\ntarget: %s\nload:\n  stages:\n%s  graceful_stop: %s\nusers:\n%s%s"
            % (name, target, st, graceful, us, extra))


def echo_flow(url, name="echo", n=40):
    # the trailing long think keeps a user from looping its flow again before the end
    return ("      - ws: { connect: \"%s\", name: %s }\n"
            "      - loop:\n"
            "          count: %d\n"
            "          steps:\n"
            "            - ws: { send: \"m-{{ counter }}\" }\n"
            "            - ws: { expect: { contains: \"m-\" }, timeout: 2s }\n"
            "      - ws: { close: true }\n"
            "      - think: 60s\n" % (url, name, n))


def run_ok(path, out, *extra, timeout=60):
    rc, _, err = run(["run", path, "--out", out, "--quiet", "--exit-code-on-error", "0", *extra],
                     timeout=timeout)
    check(rc == 0, "exit %d: %s" % (rc, err[-2000:]))
    return summary(out)


def check_echo(s, out, name, users, n, served, lo, hi):
    """The echo checks shared by the target and the peer: Stampede's counts equal the
    server's, every expect matched, latency is the injected delay."""
    w = ws_of(s, name)
    total = users * n
    check(w["connects"] == users and w["connect_failures"] == 0, "connects: %s" % w)
    check(w["messages_sent"] == served["messages_in"] == total,
          "messages_sent %d, server messages_in %d, planned %d" % (w["messages_sent"], served["messages_in"], total))
    check(w["messages_received"] == served["messages_out"] == total,
          "messages_received %d, server messages_out %d, planned %d"
          % (w["messages_received"], served["messages_out"], total))
    check(w["expects"] == total and w["expect_failures"] == 0,
          "expects %d (planned %d), expect_failures %d" % (w["expects"], total, w["expect_failures"]))
    check(lo <= w["message_ms"]["p50"] <= hi, "message p50 %.3f ms not within [%g, %g]" % (w["message_ms"]["p50"], lo, hi))
    check(w["connect_ms"]["p50"] > 0 and w["connect_ms"]["max"] > 0, "connect_ms has no samples: %s" % w["connect_ms"])
    check(w["bytes_sent"] > 0 and w["bytes_sent"] == w["bytes_received"],
          "an echo returns every byte: sent %d received %d" % (w["bytes_sent"], w["bytes_received"]))
    check(w["closes"] == {"1000": users}, "closes %s, want {'1000': %d}" % (w["closes"], users))
    check(served["closes"] == {"1000": users}, "server saw closes %s, want {'1000': %d}" % (served["closes"], users))
    check(served["connections"] == users, "server connections %d != users %d" % (served["connections"], users))
    rows = [r for r in read_csv(os.path.join(out, "stats.csv")) if r["Type"] == "WS" and r["Name"] == name]
    check(len(rows) == 1, "stats.csv lacks one WS row named %s" % name)
    check(int(rows[0]["Request Count"]) == w["expects"] and int(rows[0]["Failure Count"]) == 0,
          "stats.csv WS row %s: %s (expects %d)" % (name, rows[0], w["expects"]))
    check(s["totals"]["requests"] == 0, "WebSocket figures leaked into the HTTP totals: %s" % s["totals"])


@test
def test_echo_target_counts_and_latency():
    t = Target("--ws-delay", "10")
    users, n = 10, 40
    path, d = write_scenario(scenario("ws-echo", t.url, [("100ms", users), ("3s", users)],
                                      [("echoer", 1, echo_flow("/ws/echo", n=n))]))
    out = os.path.join(d, "out")
    s = run_ok(path, out)
    c = t.counters()
    check(c["total"] == 0, "ws traffic counted as HTTP routes by the target: %s" % c["routes"])
    check_echo(s, out, "echo", users, n, c["ws"], 10, 11 + SAN_SLACK_MS)
    t.stop()


@test
def test_echo_foreign_server():
    p = Peer()
    users, n = 10, 40
    path, d = write_scenario(scenario("ws-echo-peer", p.url, [("100ms", users), ("3s", users)],
                                      [("echoer", 1, echo_flow("/echo?delay_ms=0", n=n))]))
    out = os.path.join(d, "out")
    s = run_ok(path, out)
    time.sleep(0.3)             # the peer counts a close once its handler has ended
    # no delay: asyncio's timers are late by 1-3 ms (a python client measures ~12 ms
    # for ?delay_ms=10), too coarse for the [10, 11] ms check made against the target
    check_echo(s, out, "echo", users, n, p.counters(), 0.001, 10)
    p.stop()


@test
def test_broadcast_fanout_every_receiver():
    """101 users, weights 100:1: the smooth weighted round-robin of scenario_profile_of
    gives exactly one sender among the first 101 users (one full period). Every one of
    the 20 messages reaches all 101 clients (the sender too)."""
    t = Target()
    listener = ("      - ws: { connect: /ws/production, name: feed, stamp: $.ts_us }\n"
                "      - ws: { listen: true }\n"
                "      - think: 6s\n"
                "      - ws: { close: true }\n"
                "      - think: 60s\n")
    sender = ("      - ws: { connect: /ws/production, name: feed, stamp: $.ts_us }\n"
              "      - ws: { listen: true }\n"
              "      - think: 2s\n"
              "      - loop:\n"
              "          count: 20\n"
              "          steps:\n"
              "            - ws: { send: '{\"ts_us\": {{ now_us }}, \"n\": {{ counter }}}' }\n"
              "            - think: 100ms\n"
              "      - think: 1s\n"
              "      - ws: { close: true }\n"
              "      - think: 60s\n")
    path, d = write_scenario(scenario("ws-fanout", t.url, [("500ms", 101), ("8s", 101)],
                                      [("listener", 100, listener), ("sender", 1, sender)]))
    out = os.path.join(d, "out")
    s = run_ok(path, out, "--threads", "2")
    c = t.counters()["ws"]
    w = ws_of(s, "feed")
    check(w["connects"] == 101 == c["connections"], "connects %d, target connections %d" % (w["connects"], c["connections"]))
    check(w["messages_sent"] == 20 == c["messages_in"], "sent %d, target in %d, want 20" % (w["messages_sent"], c["messages_in"]))
    check(w["messages_received"] == 101 * 20 == c["messages_out"],
          "received %d, target out %d, want %d" % (w["messages_received"], c["messages_out"], 101 * 20))
    check(w["fanout_messages"] == 101 * 20, "fanout_messages %d, want %d" % (w["fanout_messages"], 101 * 20))
    f = w["fanout_ms"]
    for k in ("p50", "p95", "p99"):
        check(0 < f[k] < 1000, "fanout_ms %s %.3f not within (0, 1000): %s" % (k, f[k], f))
    check(w["closes"] == {"1000": 101} and c["closes"] == {"1000": 101},
          "closes: stampede %s, target %s" % (w["closes"], c["closes"]))
    t.stop()


RECONNECT_USERS = 20


def reconnect_scenario(base, url):
    flow = ("      - ws: { connect: \"%s\", name: drop, reconnect: { max: 3, backoff: 200ms } }\n"
            "      - ws: { listen: true }\n"
            "      - think: 5s\n"
            "      - ws: { close: true }\n"
            "      - think: 60s\n" % url)
    return scenario("ws-reconnect", base, [("200ms", RECONNECT_USERS), ("7s", RECONNECT_USERS)],
                    [("dropped", 1, flow)])


def check_reconnect(s, served):
    """Every check is made and every miss reported together (they tend to come in
    groups: one wrong close code also shows up as an error and in the counts)."""
    n = RECONNECT_USERS
    w = ws_of(s, "drop")
    r = w["reconnect_ms"]
    misses = [msg for ok, msg in (
        (w["reconnects"] == n, "reconnects %d, want %d" % (w["reconnects"], n)),
        (w["connects"] == 2 * n and w["connect_failures"] == 0,
         "connects %d (want %d), connect_failures %d" % (w["connects"], 2 * n, w["connect_failures"])),
        (w["closes"] == {"1000": n, "1012": n}, "closes %s, want 1000 and 1012 x %d" % (w["closes"], n)),
        (served["connections"] == 2 * n, "server connections %d, want %d" % (served["connections"], 2 * n)),
        (served["closes"] == {"1000": n, "1012": n}, "server closes %s" % served["closes"]),
        (200 <= r["p50"] < 2000 and r["min"] >= 200,
         "reconnect_ms min %.3f p50 %.3f max %.3f: want >= the 200 ms backoff, < 2 s"
         % (r["min"], r["p50"], r["max"])),
        (not [e for e in s["errors"] if e["kind"] == "ws_protocol"],
         "a 1012 close is not a protocol error: %s" % s["errors"]),
    ) if not ok]
    check(not misses, "; ".join(misses))


@test
def test_reconnect_after_server_drop():
    t = Target()
    path, d = write_scenario(reconnect_scenario(t.url, "/ws/echo"))
    out = os.path.join(d, "out")
    p = start_run(["run", path, "--out", out, "--quiet"])
    wait_until(lambda: t.counters()["ws"]["open"] == RECONNECT_USERS, 10, "%d open connections" % RECONNECT_USERS)
    t.post("/__target/ws-drop", {})
    wait_until(lambda: t.counters()["ws"]["connections"] >= 2 * RECONNECT_USERS, 5, "the users to reconnect")
    rc, _, err = finish_run(p, 60)
    check(rc == 0, "exit %d: %s" % (rc, err[-2000:]))
    check_reconnect(summary(out), t.counters()["ws"])
    t.stop()


@test
def test_reconnect_after_foreign_server_drop():
    peer = Peer()
    path, d = write_scenario(reconnect_scenario(peer.url, "ws://127.0.0.1:%d/echo" % peer.port))
    out = os.path.join(d, "out")
    p = start_run(["run", path, "--out", out, "--quiet"])
    wait_until(lambda: peer.counters()["open"] == RECONNECT_USERS, 10, "%d open connections" % RECONNECT_USERS)
    check(peer.get("/__peer/drop")["dropped"] == RECONNECT_USERS, "peer did not drop every connection")
    wait_until(lambda: peer.counters()["connections"] >= 2 * RECONNECT_USERS, 5, "the users to reconnect")
    rc, _, err = finish_run(p, 60)
    check(rc == 0, "exit %d: %s" % (rc, err[-2000:]))
    time.sleep(0.3)
    check_reconnect(summary(out), peer.counters())
    peer.stop()


@test
def test_sequence_out_of_order():
    """/ws/seq?reorder=1 swaps the 9th and 10th of every ten: one message in ten arrives
    below the highest seen. The plain feed (other profile, other name) has none."""
    t = Target()

    def flow(url, name):
        return ("      - ws: { connect: \"%s\", name: %s, sequence: $.seq }\n"
                "      - ws: { listen: true }\n"
                "      - think: 3s\n"
                "      - ws: { close: true }\n"
                "      - think: 60s\n" % (url, name))
    users = 6
    path, d = write_scenario(scenario("ws-seq", t.url, [("100ms", users), ("4s", users)],
                                      [("reordered", 1, flow("/ws/seq?reorder=1", "seqr")),
                                       ("ordered", 1, flow("/ws/seq", "seqc"))]))
    out = os.path.join(d, "out")
    s = run_ok(path, out)
    r, c = ws_of(s, "seqr"), ws_of(s, "seqc")
    per = users // 2
    for w in (r, c):
        # ~100 messages per second for ~3 s per user
        check(w["messages_received"] >= per * 200, "too few messages on %s: %d" % (w["name"], w["messages_received"]))
        check(w["sequenced"] == w["messages_received"], "every feed message carries seq: %s" % w)
    check(r["out_of_order"] > 0, "reordered feed: no out_of_order counted")
    check(abs(r["out_of_order"] - r["messages_received"] / 10.0) <= 2 * per,
          "out_of_order %d, want about %d / 10 (within %d)" % (r["out_of_order"], r["messages_received"], 2 * per))
    check(c["out_of_order"] == 0, "ordered feed counted %d out of order" % c["out_of_order"])
    out_ = t.counters()["ws"]["messages_out"]
    got = r["messages_received"] + c["messages_received"]
    # a message the target sent while our close was on its way may be dropped unread
    check(out_ - users <= got <= out_, "received %d, target sent %d" % (got, out_))
    t.stop()


@test
def test_ws_thresholds_exit_codes():
    t = Target("--ws-delay", "10")
    for expr, want_rc in (("echo: message p95 < 500ms", 0), ("echo: message p95 < 1ms", 1)):
        text = scenario("ws-th", t.url, [("100ms", 4), ("2s", 4)], [("echoer", 1, echo_flow("/ws/echo", n=20))],
                        extra="thresholds:\n  - \"%s\"\n" % expr)
        path, d = write_scenario(text)
        out = os.path.join(d, "out")
        rc, _, err = run(["run", path, "--out", out, "--quiet"], timeout=60)
        check(rc == want_rc, "%r: exit %d, want %d: %s" % (expr, rc, want_rc, err[-2000:]))
        junit = open(os.path.join(out, "junit.xml")).read()
        tag = 'name="%s"' % expr.replace("<", "&lt;")
        check(tag in junit, "junit.xml lacks the case %s:\n%s" % (tag, junit))
        i = junit.index(tag)
        j = junit.find("<testcase", i)
        case = junit[i:j if j >= 0 else len(junit)]     # up to the next case
        check(("<failure" in case) == (want_rc == 1), "%r: junit case %s" % (expr, case))
        th = {x["expr"]: x for x in summary(out)["thresholds"]}
        check(th[expr]["ok"] is (want_rc == 0), "%r: summary threshold %s" % (expr, th[expr]))
        check(10 <= th[expr]["value"] <= 15, "%r: value %s is not the ~10 ms p95" % (expr, th[expr]["value"]))
    t.stop()


@test
def test_upgrade_refused_counts_connect_failures():
    """Connecting where there is no WebSocket: /ws/nope answers 404, /ping answers a
    plain 200. Both are ws_upgrade errors carrying the status; the run itself finishes
    and, without thresholds, exits 0 (cli/main.c: failures alone do not change it)."""
    t = Target()

    def flow(url, name):
        return ("      - ws: { connect: %s, name: %s }\n"
                "      - think: 60s\n" % (url, name))
    users = 6
    path, d = write_scenario(scenario("ws-refused", t.url, [("100ms", users), ("1s", users)],
                                      [("nope", 1, flow("/ws/nope", "nope")), ("plain", 1, flow("/ping", "plain"))]))
    out = os.path.join(d, "out")
    s = run_ok(path, out)
    c = t.counters()
    for name, status in (("nope", "404"), ("plain", "200")):
        w = ws_of(s, name)
        check(w["connect_failures"] == users // 2 and w["connects"] == 0,
              "%s: connect_failures %d (want %d), connects %d" % (name, w["connect_failures"], users // 2, w["connects"]))
        errs = [e for e in s["errors"] if e["name"] == name]
        check([(e["kind"], e["detail"], e["count"]) for e in errs] == [("ws_upgrade", status, users // 2)],
              "%s: errors %s, want one ws_upgrade %s x %d" % (name, errs, status, users // 2))
    check(c["ws"]["refused"] == users // 2 and c["ws"]["connections"] == 0, "target ws counters %s" % c["ws"])
    check(c["routes"].get("GET /ping", {}).get("requests") == users // 2, "target routes %s" % c["routes"])
    fails = [r for r in read_csv(os.path.join(out, "failures.csv")) if r["Method"] == "WS"]
    check(sorted(r["Name"] for r in fails) == ["nope", "plain"], "failures.csv WS rows: %s" % fails)
    t.stop()


if __name__ == "__main__":
    main()
