"""Cookies (issue 12): each user keeps its own cookie jar, on by default, off with
defaults.cookies: false. The bundled target's POST /session/login sets two cookies (sid, a
session cookie, and csrf, with an Expires date; both Path=/session) and GET /session/page
answers 200 only with both cookies of one login, 403 otherwise. The target's per-status
counters are the ground truth."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Target, check, main, run, summary, test, write_scenario  # noqa: E402

SCENARIO = """name: it-cookies
target: %(url)s
%(defaults)s
load:
  stages: [ { duration: 100ms, users: 4 }, { duration: 2s, users: 4 } ]
  graceful_stop: 2s
users:
  - name: member
    weight: 1
    flow:
      - http: { name: login, method: POST, url: /session/login }
      - loop:
          count: 5
          steps:
            - http: { name: page, url: /session/page, expect: { status: %(member_status)d } }
            - think: 50ms
  - name: visitor
    weight: 1
    flow:
      - http: { name: visit, url: /session/page, expect: { status: 403 } }
      - think: 50ms
"""


def run_scenario(t, defaults, member_status):
    path, d = write_scenario(SCENARIO % {"url": t.url, "defaults": defaults,
                                         "member_status": member_status})
    out = os.path.join(d, "out")
    # one engine thread: members and visitors share a thread (and its libcurl multi
    # handle), so a jar shared across users would let visitors in
    rc, _, err = run(["run", path, "--out", out, "--quiet", "--threads", "1"], timeout=60)
    check(rc == 0, "exit %d: %s" % (rc, err))
    return summary(out)


def by_name(s):
    return {r["name"]: r for r in s["requests"]}


def statuses(counters, key):
    return counters["routes"].get(key, {}).get("status", {})


@test
def test_cookie_jar_per_user_on_by_default():
    t = Target()
    s = run_scenario(t, "", 200)
    c = t.counters()
    rows = by_name(s)
    page = statuses(c, "GET /session/page")
    logins = statuses(c, "POST /session/login")
    check(rows["login"]["requests"] >= 2 and logins == {"200": rows["login"]["requests"]},
          "logins: stampede %d, target %s" % (rows["login"]["requests"], logins))
    # every member page carried both cookies of its own user's login: 200; every visitor,
    # who never logged in, got 403 although members on the same thread hold cookies
    check(rows["page"]["requests"] > 0 and rows["visit"]["requests"] > 0,
          "both kinds of page request should run: %s" % sorted(rows))
    check(page.get("200", 0) == rows["page"]["requests"],
          "member pages with 200: target %s, stampede %d" % (page, rows["page"]["requests"]))
    check(page.get("403", 0) == rows["visit"]["requests"],
          "visitor pages with 403: target %s, stampede %d" % (page, rows["visit"]["requests"]))
    check(s["totals"]["failures"] == 0, "failures: %s" % s["totals"]["failures"])
    check(s["totals"]["requests"] == c["total"], "totals differ from the target's")
    t.stop()


@test
def test_cookies_off():
    t = Target()
    s = run_scenario(t, "defaults: { cookies: false }", 403)
    c = t.counters()
    rows = by_name(s)
    page = statuses(c, "GET /session/page")
    check(rows["page"]["requests"] > 0, "no member page requests")
    check(page.get("200", 0) == 0, "a page answered 200 without a cookie jar: %s" % page)
    check(page.get("403", 0) == rows["page"]["requests"] + rows["visit"]["requests"],
          "pages with 403: target %s, stampede %d + %d" % (page, rows["page"]["requests"],
                                                          rows["visit"]["requests"]))
    check(s["totals"]["failures"] == 0, "failures: %s" % s["totals"]["failures"])
    t.stop()


if __name__ == "__main__":
    main()
