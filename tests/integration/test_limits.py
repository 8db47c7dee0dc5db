"""Issue 9 (hostile peers and bad days), the engine's items, against the real target:

- item 13: a value captured from a response that is not UTF-8 and then put into a URL
  still gives every request entry of summary.json a name (jansson refuses invalid UTF-8
  strings), and `stampede compare` reads the file (exit 0/1, not 2);
- item 6: a worker's per-user memory follows the users running, not the scenario's peak
  (a peak of 1,000,000 users that the ramp only starts to reach in a short run).

Load goes only to the target this file starts on 127.0.0.1; every run is bounded."""
import base64
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Target, check, main, read_csv, route_counts, run, summary, test, write_scenario  # noqa: E402

# Bytes no UTF-8 decoder accepts, each kind once: a lone 0xff/0xfe, a valid e-acute, a
# UTF-16 surrogate (ED A0 80), an overlong '/' (C0 AF), a sequence cut short (E2 82).
RAW = b"\xff\xfe\xc3\xa9\xed\xa0\x80\xc0\xaf\xe2\x82"


def utf8_scenario(target):
    """Each user sends RAW through the target's WebSocket echo as a binary message,
    captures it back with a regex, and requests /static/<captured bytes> by the default
    name (the URL's path): the name carries whatever the response carried."""
    payload = base64.b64encode(b"id=" + RAW + b";").decode()
    return ("name: utf8-names\n"
            "target: %s\n"
            "load:\n"
            "  stages:\n"
            "    - { duration: 100ms, users: 2 }\n"
            "    - { duration: 2s, users: 2 }\n"
            "  graceful_stop: 2s\n"
            "users:\n"
            "  - name: echo\n"
            "    flow:\n"
            "      - ws: { connect: /ws/echo, name: echo }\n"
            "      - ws: { send: { binary: \"%s\" } }\n"
            "      - ws: { expect: {}, capture: { v: { regex: \"id=([^;]*);\" } }, timeout: 2s }\n"
            "      - ws: { close: true }\n"
            "      - http: { url: \"/static/{{ v }}\", expect: { status: 404 } }\n"
            "      - http: { url: \"/static/{{ v }}\", expect: { status: 200 } }\n"
            "      - think: 200ms\n" % (target, payload))


@test
def test_non_utf8_capture_keeps_names():
    t = Target()
    path, d = write_scenario(utf8_scenario(t.url))
    out = os.path.join(d, "out")
    rc, _, err = run(["run", path, "--out", out, "--quiet"], timeout=60)
    # the second request's expect fails on purpose (error rows carry the name too)
    check(rc in (0, 1), "run exit %d: %s" % (rc, err[-2000:]))
    served = route_counts(t.counters())
    t.stop()
    with open(os.path.join(out, "summary.json"), "rb") as f:
        raw = f.read()
    raw.decode("utf-8")                         # strict: the file is UTF-8 throughout
    s = summary(out)
    reqs = s["requests"]
    check(reqs, "no request entries: %s" % s)
    for r in reqs:
        check(isinstance(r.get("name"), str) and r["name"] and isinstance(r.get("method"), str),
              "a request entry lacks its name or method: %s" % r)
    # the captured bytes did reach the URL: one GET entry under /static/, its name the
    # raw path made valid UTF-8 byte for byte ('?' for each ill-formed byte, the valid
    # e-acute kept)
    names = [r["name"] for r in reqs if r["method"] == "GET"]
    check(len(names) == 1, "expected one GET entry, got %s" % names)
    got = names[0]
    check(got.startswith("/static/") and "\u00e9" in got and "\ufffd" not in got,
          "GET entry name %r (want the path with '?' for bad bytes)" % got)
    check(len(got.encode("utf-8")) == len("/static/") + len(RAW),
          "name %r is not the path byte for byte" % got)
    check(got == "/static/??\u00e9???????", "name %r" % got)
    get = [r for r in reqs if r["method"] == "GET"][0]
    check(get["requests"] > 0 and get["failures"] > 0, "GET entry: %s" % get)
    # every request the target served under /static/ is counted under that one name
    static = sum(n for k, n in served.items() if k.startswith("GET /static/"))
    check(get["requests"] == static, "summary %d requests, target served %d" % (get["requests"], static))
    for e in s["errors"]:
        check(isinstance(e.get("name"), str) and isinstance(e.get("detail"), str), "error row %s" % e)
    check(any(e.get("name") == got for e in s["errors"]), "no error row under %r: %s" % (got, s["errors"]))
    rows = read_csv(os.path.join(out, "stats.csv"))
    check(any(r["Name"] == got for r in rows), "stats.csv rows: %s" % [r["Name"] for r in rows])
    # compare reads the file: 0 or 1, never 2 (a summary it refuses)
    sj = os.path.join(out, "summary.json")
    rc, cout, cerr = run(["compare", sj, sj], timeout=30)
    check(rc in (0, 1), "compare exit %d: %s %s" % (rc, cout[-1000:], cerr[-1000:]))
    check(got in cout, "compare's table lacks %r:\n%s" % (got, cout))


if __name__ == "__main__":
    main()
