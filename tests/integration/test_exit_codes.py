"""Exit codes and the CLI defects of issue 12, each on a real `stampede` process:
- failed requests and no thresholds: exit 1 (Locust's rule), --exit-code-on-error N
  changes it, 0 turns it off; thresholds, when present, decide (held: 0, failed: 1 and
  the failed threshold named on the console);
- a run that made no request is never exit 0 (3);
- -u -5 and -u 0 are exit 2; --host with port 80000 is refused by the CLI (exit 2, before
  any run: no results folder); -t 9999999h names the limit; validate --help is exit 0;
- a Locust-only option gets a hint naming ours;
- the end table (per name and Aggregated) unless --quiet;
- run --master: the same exit rule, the end table, and report.html (and the --csv files)
  in the local results folder; --csv-full-history reaches the master (per-name rows);
- an engine that cannot start (libevent given no event mechanism through its own
  EVENT_NO* variables) refuses the plan: the run is aborted with that reason, exit 3,
  locally and on a stampede-worker;
- scenario warnings (a threshold on a default name no step makes, -T naming a tag nothing
  carries) are printed by validate and run, which go on (validate: exit 0);
- -t alone says on the console what it did to the scenario's stages (cut or held).
Load goes only to tests/target on 127.0.0.1; every run lasts a few seconds."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import TESTS, Target, check, main, read_csv, run, summary, test, without_health_notes, write_scenario  # noqa: E402
# The cluster helpers; importing them registers their modules' tests too: drop those.
from test_distributed import cluster, teardown  # noqa: E402
del TESTS[:]


def scenario(url, seconds=2, thresholds=None, first_think=None):
    s = ("name: codes\ntarget: %s\nload:\n  graceful_stop: 1s\n  stages:\n"
         "    - { duration: %ds, users: 2 }\n" % (url, seconds))
    if thresholds:
        s += "thresholds:\n" + "".join('  - "%s"\n' % t for t in thresholds)
    s += "users:\n  - name: u\n    flow:\n"
    if first_think:
        s += "      - think: %s\n" % first_think
    s += ("      - http: { name: ping, url: /ping }\n      - http: { name: qc, url: /qc/tests }\n"
          "      - think: 100ms\n")
    return s


@test
def test_failed_requests_without_thresholds_exit_1():
    t = Target()        # /qc/tests without a token: every one a 401 failure
    path, d = write_scenario(scenario(t.url))
    rc, out, err = run(["run", path, "--out", os.path.join(d, "a")])
    s = summary(os.path.join(d, "a"))
    check(s["totals"]["failures"] > 0 and s["thresholds"] == [], "setup: %s" % s["totals"])
    check(rc == 1, "failed requests, no thresholds: exit %d: %s" % (rc, err))
    check("--exit-code-on-error" in err, "the console should say why: %s" % err)
    # the end table: a row per name and Aggregated, with the summary's counts
    lines = {l.split()[1] if l.startswith("GET") else l.split()[0]: l.split()
             for l in err.splitlines() if l.startswith("GET ") or l.strip().startswith("Aggregated")}
    for r in s["requests"]:
        check(r["name"] in lines and int(lines[r["name"]][2]) == r["requests"], "table row for %s: %s" % (r, err))
    check(int(lines["Aggregated"][1]) == s["totals"]["requests"], "Aggregated row: %s" % err)
    rc, out, err = run(["run", path, "--out", os.path.join(d, "b"), "--exit-code-on-error", "0"])
    check(rc == 0, "--exit-code-on-error 0: exit %d: %s" % (rc, err))
    rc, out, err = run(["run", path, "--out", os.path.join(d, "c"), "--exit-code-on-error", "7", "--quiet"])
    check(rc == 7, "--exit-code-on-error 7: exit %d: %s" % (rc, err))
    check("Aggregated" not in err, "--quiet printed the end table: %s" % err)
    for bad in ("-1", "256", "x", ""):
        rc, out, err = run(["run", path, "--exit-code-on-error", bad])
        check(rc == 2 and "0..255" in err, "--exit-code-on-error %r: %d %s" % (bad, rc, err))
    t.stop()


@test
def test_thresholds_decide_when_present():
    t = Target()
    path, d = write_scenario(scenario(t.url, thresholds=["error_rate < 60%"]))
    rc, out, err = run(["run", path, "--out", os.path.join(d, "a")])
    s = summary(os.path.join(d, "a"))
    check(s["totals"]["failures"] > 0, "setup: %s" % s["totals"])
    check(rc == 0, "a threshold held, failures present: exit %d: %s" % (rc, err))
    path, d = write_scenario(scenario(t.url, thresholds=["error_rate < 10%", "ping: p95 < 10s"]))
    rc, out, err = run(["run", path, "--out", os.path.join(d, "a")])
    check(rc == 1, "a threshold failed: exit %d: %s" % (rc, err))
    check("threshold failed: error_rate < 10%" in err, "the failed threshold is not named: %s" % err)
    check("threshold failed: ping" not in err, "a held threshold was named: %s" % err)
    t.stop()


@test
def test_a_run_without_any_request_is_not_a_success():
    t = Target()
    path, d = write_scenario(scenario(t.url, seconds=1, first_think="20s"))
    rc, out, err = run(["run", path, "--out", os.path.join(d, "a"), "--quiet"], timeout=60)
    check(t.counters()["total"] == 0, "setup: requests were made")
    check(rc == 3, "a run that made no request: exit %d: %s" % (rc, err))
    check("no request" in err, "the console should say why: %s" % err)
    t.stop()


@test
def test_cli_defects_exit_2_before_a_run():
    t = Target()
    path, d = write_scenario(scenario(t.url))
    for users in ("-5", "0", "4294967296", "1.5", "+3"):
        rc, out, err = run(["run", path, "-u", users, "--out", os.path.join(d, "u")])
        check(rc == 2 and "positive number of users" in err, "-u %s: exit %d %s" % (users, rc, err))
    rc, out, err = run(["run", path, "--host", "http://127.0.0.1:80000", "--out", os.path.join(d, "h")])
    check(rc == 2 and "1..65535" in err, "port 80000: exit %d %s" % (rc, err))
    check(not os.path.exists(os.path.join(d, "h")) and "results:" not in out, "a refused --host made a folder")
    rc, out, err = run(["run", path, "-H", "http://127.0.0.1:0/x"])
    check(rc == 2 and "1..65535" in err, "port 0: exit %d %s" % (rc, err))
    for dur in ("9999999h", "99999999999999h"):
        rc, out, err = run(["run", path, "-t", dur])
        check(rc == 2 and "limit of" in err and "87840 hours" in err, "-t %s: exit %d %s" % (dur, rc, err))
        rc, out, err = run(["validate", path, "-t", dur])
        check(rc == 2 and "limit of" in err, "validate -t %s: exit %d %s" % (dur, rc, err))
    rc, out, err = run(["run", path, "-t", "ninety"])
    check(rc == 2 and "like 90s" in err, "-t ninety: %d %s" % (rc, err))
    for h in ("--help", "-h"):
        rc, out, err = run(["validate", h])
        check(rc == 0 and out.startswith("usage: stampede validate"), "validate %s: %d %r %r" % (h, rc, out, err))
    rc, out, err = run(["validate", "--bogus"])
    check(rc == 2 and "usage: stampede validate" in err, "validate --bogus: %d %s" % (rc, err))
    check(t.counters()["total"] == 0, "a refused command sent load")
    t.stop()


@test
def test_locust_only_options_get_a_hint():
    path, d = write_scenario(scenario("http://127.0.0.1:9"))
    cases = [(["run", "-f", "locustfile.py"], "stampede run SCENARIO.yaml"),
             (["run", path, "--web-port", "8089"], "--ui"),
             (["run", path, "--processes=4"], "--threads"),
             (["run", path, "--master-bind-port", "5557"], "stampede-master"),
             (["run", path, "--stop-timeout", "10"], "load.graceful_stop"),
             (["validate", path, "--locustfile", "x.py"], "stampede run SCENARIO.yaml")]
    for args, hint in cases:
        rc, out, err = run(args)
        check(rc == 2 and "Locust option" in err and "hint:" in err and hint in err.split("hint:")[1],
              "%s: exit %d %s" % (args, rc, err))


@test
def test_master_run_downloads_report_and_exits_like_a_local_run():
    t = Target()
    m, ws = cluster(1)
    try:
        path, d = write_scenario(scenario(t.url))
        out = os.path.join(d, "remote")
        prefix = os.path.join(d, "R")
        rc, so, err = run(["run", path, "--master", m.api, "--expect-timeout", "20s", "--out", out,
                           "--csv", prefix, "--only-summary"], timeout=120)
        check(rc == 1, "--master, failed requests, no thresholds: exit %d: %s" % (rc, err))
        for name in ("report.html", "summary.json", "stats.csv", "stats_history.csv", "failures.csv"):
            check(os.path.getsize(os.path.join(out, name)) > 0, "%s not downloaded: %s" % (name, os.listdir(out)))
        check("schedule.csv" not in err, "a closed run's missing schedule.csv was reported: %s" % err)
        check("Aggregated" in err, "no end table after a --master run: %s" % err)
        s = summary(out)
        st = {r["Name"]: r for r in read_csv(prefix + "_stats.csv")}
        check(int(st["Aggregated"]["Request Count"]) == s["totals"]["requests"], "--csv after --master: %s" % st)
        check(os.path.exists(prefix + "_exceptions.csv"), "no exceptions.csv")
        rc, so, err = run(["run", path, "--master", m.api, "--expect-timeout", "20s", "--out", out + "2",
                           "--quiet", "--exit-code-on-error", "0"], timeout=120)
        check(rc == 0, "--master --exit-code-on-error 0: exit %d: %s" % (rc, err))
    finally:
        teardown(m, ws, t)


# libevent reads EVENT_NO<METHOD> unless told not to: with every backend disabled an
# engine's event_base_new fails, which is the engine failing to start (worker/agent.c).
NO_EVENT_BACKEND = {"EVENT_NOEPOLL": "1", "EVENT_NOPOLL": "1", "EVENT_NOSELECT": "1",
                    "EVENT_NODEVPOLL": "1", "EVENT_NOKQUEUE": "1", "EVENT_NOEVPORT": "1"}


@test
def test_an_engine_that_cannot_start_refuses_the_plan():
    t = Target()
    path, d = write_scenario(scenario(t.url))
    rc, out, err = run(["run", path, "--out", os.path.join(d, "a"), "--threads", "2"],
                       env=NO_EVENT_BACKEND, timeout=60)
    check(rc == 3, "a local run whose engines cannot start: exit %d: %s" % (rc, err))
    check("refused the plan" in err and "did not start" in err, "the reason is not said: %s" % err)
    check(t.counters()["total"] == 0, "requests were made")
    m, ws = cluster(1, env=NO_EVENT_BACKEND)
    try:
        rc, so, err = run(["run", path, "--master", m.api, "--expect-timeout", "20s",
                           "--out", os.path.join(d, "r"), "--quiet"], timeout=120)
        check(rc == 3, "--master, a worker whose engine cannot start: exit %d: %s" % (rc, err))
        check("w0 refused the plan" in err and "did not start" in err, "the reason is not said: %s" % err)
        check("plan refused" in ws[0].stderr(), "the worker did not log it: %s" % ws[0].stderr())
        check(t.counters()["total"] == 0, "requests were made")
    finally:
        teardown(m, ws, t)


def warned_scenario(url):
    """A threshold on a default name (a path) no step makes: a warning, not an error."""
    return ("name: warned\ntarget: %s\nload:\n  graceful_stop: 1s\n  stages:\n"
            "    - { duration: 1s, users: 1 }\nthresholds:\n  - \"/pnig: p95 < 5s\"\n"
            "  - \"error_rate < 50%%\"\n"
            "users:\n  - name: u\n    flow:\n      - http: { url: /ping }\n        tags: [fast]\n"
            "      - think: 100ms\n" % url)


@test
def test_scenario_warnings_are_printed_and_the_run_goes_on():
    t = Target()
    path, d = write_scenario(warned_scenario(t.url))
    where = "%s:8:5: warning: threshold \"/pnig: p95 < 5s\"" % path
    rc, out, err = run(["validate", path])
    check(rc == 0 and "ok: scenario" in out, "validate with a warning: exit %d %r %s" % (rc, out, err))
    check(where in err and "no step makes requests of that name" in err, "no warning: %r" % err)
    rc, out, err = run(["validate", path, "-T", "fast,nosuch"])
    check(rc == 0, "validate -T with one unknown tag: exit %d %s" % (rc, err))
    check("-T nosuch: nothing in the scenario carries that tag" in err and where in err,
          "-T's warning: %r" % err)
    rc, out, err = run(["run", path, "-T", "fast,nosuch", "-t", "2s", "--out", os.path.join(d, "a"),
                        "--quiet"], timeout=60)
    # it runs: the threshold reading no request fails it (exit 1) and says why
    check(rc == 1 and "threshold failed: /pnig: p95 < 5s: no requests named /pnig" in err,
          "run with warnings: exit %d %s" % (rc, err))
    check(err.count(where) == 1 and err.count("-T nosuch:") == 1, "run's warnings, once each: %r" % err)
    check(t.counters()["total"] > 0, "the run sent nothing")
    t.stop()


def held_scenario(url, seconds):
    """Two users at once (a 100 ms ramp), held: a cut run still makes requests."""
    return ("name: held\ntarget: %s\nload:\n  graceful_stop: 1s\n  stages:\n"
            "    - { duration: 100ms, users: 2 }\n    - { duration: %dms, users: 2 }\n"
            "users:\n  - name: u\n    flow:\n      - http: { name: ping, url: /ping }\n"
            "      - http: { name: qc, url: /qc/tests }\n      - think: 100ms\n" % (url, seconds * 1000 - 100))


@test
def test_t_alone_says_what_it_did_to_the_stages():
    t = Target()
    path, d = write_scenario(held_scenario(t.url, 2))
    rc, out, err = run(["run", path, "-t", "1s", "--out", os.path.join(d, "a"), "--exit-code-on-error", "0"],
                       timeout=60)
    check(rc == 0, "-t 1s: exit %d %s" % (rc, err))
    check("-t 1s: the scenario's stages cut at 1s (they last 2s)" in err, "no cut note: %s" % err)
    check(summary(os.path.join(d, "a"))["duration_s"] < 2, "not cut: %s" % summary(os.path.join(d, "a")))
    rc, out, err = run(["run", path, "-t", "3s", "--out", os.path.join(d, "b"), "--exit-code-on-error", "0"],
                       timeout=60)
    check("-t 3s: the scenario's stages kept, their last stage's users held to 3s (they last 2s)" in err,
          "no hold note: %s" % err)
    rc, out, err = run(["run", path, "-t", "1s", "-u", "3", "--out", os.path.join(d, "c"),
                        "--exit-code-on-error", "0"], timeout=60)
    check("the scenario's stages" not in err, "-u replaces the stages, yet a note: %s" % err)
    rc, out, err = run(["run", path, "-t", "1s", "--quiet", "--out", os.path.join(d, "e"),
                        "--exit-code-on-error", "0"], timeout=60)
    check(without_health_notes(err) == "", "--quiet printed %r" % err)
    t.stop()


@test
def test_master_run_full_history_and_t_note():
    t = Target()
    m, ws = cluster(1)
    try:
        path, d = write_scenario(held_scenario(t.url, 3))
        prefix = os.path.join(d, "F")
        rc, so, err = run(["run", path, "--master", m.api, "--expect-timeout", "20s", "--out",
                           os.path.join(d, "f"), "--csv", prefix, "--csv-full-history", "-t", "2s",
                           "--only-summary", "--exit-code-on-error", "0"], timeout=120)
        check(rc == 0, "--master --csv-full-history: exit %d: %s" % (rc, err))
        check("-t 2s: the scenario's stages cut at 2s (they last 3s)" in err, "no -t note: %s" % err)
        rows = read_csv(prefix + "_stats_history.csv")
        kinds = {(r["Type"], r["Name"]) for r in rows}
        check({("GET", "ping"), ("GET", "qc"), ("", "Aggregated")} <= kinds,
              "--csv-full-history via --master: %s" % sorted(kinds))
        rows = read_csv(os.path.join(d, "f", "stats_history.csv"))
        check(any(r["Name"] == "ping" for r in rows), "the master's stats_history.csv has no name rows")
        rc, so, err = run(["run", path, "--master", m.api, "--expect-timeout", "20s", "--out",
                           os.path.join(d, "g"), "--quiet", "--exit-code-on-error", "0"], timeout=120)
        rows = read_csv(os.path.join(d, "g", "stats_history.csv"))
        check(rows and all(r["Name"] == "Aggregated" for r in rows),
              "without --csv-full-history, name rows: %s" % {r["Name"] for r in rows})
    finally:
        teardown(m, ws, t)

if __name__ == "__main__":
    main()
