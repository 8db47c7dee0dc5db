#!/usr/bin/env python3
"""Flow control (issue 12) run by the engine against the bundled target, real processes:
pick weights, weight 0 by --set, tags (-T/-E), loop pacing, if on a captured value and on
the last status, on_failure stop_iteration and stop_user. The target's counters are the
truth; every run is local, on 127.0.0.1, and bounded in time."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import Target, check, test  # noqa: E402


def run_local(t, text, *args):
    path, d = lib.write_scenario(text.replace("TARGET", t.url))
    rc, so, se = lib.run(["run", path, "--out", os.path.join(d, "res"), "--quiet",
                          "--exit-code-on-error", "0", *args], timeout=60)
    check(rc == 0, "run exit %d: %s" % (rc, se[-2000:]))
    return lib.summary(os.path.join(d, "res")), lib.route_counts(t.settled_counters())


@test
def test_pick_weights_and_weight_zero_by_set():
    """pick 5:1 (and a third branch switched off by --set): over 2,000+ passes the
    branches run within 5 % of their share; the weight-0 branch never runs."""
    t = Target()
    summ, c = run_local(t, """
name: flow-pick
target: TARGET
load: { stages: [ { duration: 10ms, users: 4 }, { duration: 2s, users: 4 } ] }
users:
  - name: u
    flow:
      - pick:
          - { weight: 5, steps: [ { http: { url: / } } ] }
          - { weight: 1, steps: [ { http: { url: /dashboard/ } } ] }
          - { weight: 1, steps: [ { http: { url: /app/app.css } } ] }
""", "--set", "users.0.flow.0.pick.2.weight=0")
    a, b = c.get("GET /", 0), c.get("GET /dashboard/", 0)
    check(a + b >= 2000, "passes: %d (%s)" % (a + b, c))
    check("GET /app/app.css" not in c, "weight 0 ran: %s" % c)
    share = a / (a + b)
    check(abs(share - 5 / 6) < 0.05 * 5 / 6, "share of the weight-5 branch %.4f over %d" % (share, a + b))
    check(summ["totals"]["failures"] == 0, "failures: %s" % summ["errors"])
    t.stop()


TAGGED = """
name: flow-tags
target: TARGET
load: { stages: [ { duration: 10ms, users: 2 }, { duration: 1s, users: 2 } ] }
users:
  - name: u
    flow:
      - http: { url: / }
        tags: [ui]
      - http: { url: /dashboard/ }
        tags: [ui, slow]
      - http: { url: "/api/search/?q=x", headers: { X-API-Key: erp-dev-key } }
        tags: api
      - think: 20ms
"""


@test
def test_tags_select_steps():
    """-T keeps the steps carrying one of its tags, -E removes its tags' steps and wins."""
    t = Target()
    _, c = run_local(t, TAGGED, "-T", "ui", "-E", "slow")
    check(set(c) == {"GET /"} and c["GET /"] > 0, "-T ui -E slow: %s" % c)
    t.stop()
    t = Target()
    _, c = run_local(t, TAGGED, "-T", "api")
    check(set(c) == {"GET /api/search/"} and c["GET /api/search/"] > 0, "-T api: %s" % c)
    t.stop()
    t = Target()
    _, c = run_local(t, TAGGED, "-E", "ui")
    check(set(c) == {"GET /api/search/"}, "-E ui: %s" % c)
    t.stop()


@test
def test_pacing_holds_pass_length():
    """loop pacing 300ms: the passes (one request each, then a think of 20..120 ms) start
    300 ms apart at the target, within 50 ms; a pass longer than the pacing (a 400 ms
    think) is followed at once."""
    t = Target()
    run_local(t, """
name: flow-pacing
target: TARGET
load: { stages: [ { duration: 10ms, users: 1 }, { duration: 3s, users: 1 } ] }
users:
  - name: u
    flow:
      - loop:
          count: 4
          pacing: 300ms
          steps:
            - http: { url: / }
            - think: 20ms..120ms
""")
    arr = t.arrivals(bucket_ms=1)
    at = [i for i, n in enumerate(arr["counts"]) for _ in range(n)]
    check(len(at) >= 8, "arrivals: %s" % at)
    gaps = [b - a for a, b in zip(at, at[1:])]
    check(all(abs(g - 300) <= 50 for g in gaps), "gaps (ms): %s" % gaps)
    t.stop()
    t = Target()
    run_local(t, """
name: flow-pacing-long
target: TARGET
load: { stages: [ { duration: 10ms, users: 1 }, { duration: 2s, users: 1 } ] }
users:
  - name: u
    flow:
      - loop: { count: 3, pacing: 200ms, steps: [ { http: { url: / } }, { think: 400ms } ] }
""")
    arr = t.arrivals(bucket_ms=1)
    at = [i for i, n in enumerate(arr["counts"]) for _ in range(n)]
    gaps = [b - a for a, b in zip(at, at[1:])]
    check(len(gaps) >= 2 and all(380 <= g <= 450 for g in gaps), "long passes, gaps (ms): %s" % gaps)
    t.stop()


@test
def test_if_on_capture_and_status():
    """if on a captured variable (set / equals) and on the last response's status."""
    t = Target()
    summ, c = run_local(t, """
name: flow-if
target: TARGET
load: { stages: [ { duration: 10ms, users: 2 }, { duration: 1s, users: 2 } ] }
users:
  - name: u
    flow:
      - http: { method: POST, url: /api/auth/login,
                json: { username: "clerk{{ user_id }}", password: "pw-clerk{{ user_id }}" },
                capture: { token: { json: $.access_token }, kind: { json: $.token_type } } }
      - if: { var: token, is: set }
        then:
          - http: { url: "/api/journal-entries/?page=1", headers: { Authorization: "Bearer {{ token }}" } }
      - if: { status: 200 }
        then: [ { http: { url: /dashboard/ } } ]
        else: [ { http: { url: / } } ]
      - if: { var: kind, equals: basic }
        then: [ { http: { url: "/api/search/?q=never", headers: { X-API-Key: erp-dev-key } } } ]
      - if: { var: kind, not_equals: basic }
        then: [ { think: 10ms } ]
""")
    login = c.get("POST /api/auth/login", 0)
    lst, dash = c.get("GET /api/journal-entries/", 0), c.get("GET /dashboard/", 0)
    check(login > 10, "logins: %s" % c)
    check(0 <= login - lst <= 2 and 0 <= lst - dash <= 2, "if branches: %s" % c)
    check("GET /" not in c and "GET /api/search/" not in c, "else / equals ran: %s" % c)
    check(summ["totals"]["failures"] == 0, "failures: %s" % summ["errors"])
    t.stop()


@test
def test_on_failure_stop_iteration_and_stop_user():
    """A failed login does not send an empty token: stop_iteration (the flow starts again:
    the login is retried, the list never goes out) and stop_user in setup (one login per
    user, nothing after). Both count the iterations as failed."""
    t = Target()
    summ, c = run_local(t, """
name: flow-stop-iteration
target: TARGET
load: { stages: [ { duration: 10ms, users: 2 }, { duration: 1s, users: 2 } ] }
users:
  - name: u
    flow:
      - http: { method: POST, url: /api/auth/login, json: { username: clerk1, password: wrong },
                capture: { token: { json: $.access_token } } }
        on_failure: stop_iteration
      - http: { url: "/api/journal-entries/?page=1", headers: { Authorization: "Bearer {{ token }}" } }
      - think: 20ms
""")
    check(c.get("POST /api/auth/login", 0) > 4, "logins: %s" % c)
    check("GET /api/journal-entries/" not in c, "the list went out: %s" % c)
    it = summ["iterations"]
    check(it and all(r["failures"] == r["count"] > 0 for r in it), "iterations: %s" % it)
    t.stop()
    t = Target()
    summ, c = run_local(t, """
name: flow-stop-user
target: TARGET
defaults: { on_failure: stop_user }
load: { stages: [ { duration: 10ms, users: 3 }, { duration: 1s, users: 3 } ] }
users:
  - name: u
    setup:
      - http: { method: POST, url: /api/auth/login, json: { username: clerk1, password: wrong },
                capture: { token: { json: $.access_token } } }
    flow:
      - http: { url: "/api/journal-entries/?page=1", headers: { Authorization: "Bearer {{ token }}" } }
      - think: 20ms
""")
    check(c == {"POST /api/auth/login": 3}, "stop_user: %s" % c)
    it = summ["iterations"]
    check([(r["count"], r["failures"]) for r in it] == [(3, 3)], "iterations: %s" % it)
    t.stop()


if __name__ == "__main__":
    lib.main()
