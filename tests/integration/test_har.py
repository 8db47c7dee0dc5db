"""stampede import-har (issue 12): a HAR recorded by headless Chromium (playwright-core's
recordHar) against the target's /app/ page (it logs in through /api/auth/login, lists
journal entries, opens one the list returned, creates one from it and patches the
created one; /app/app.css is its static asset) is imported, checked and run against the
target, whose counters must match the run's totals. A hand-written HAR checks what a
browser recording cannot show deterministically (other origins and --host-filter,
--keep-static, header correlation, echoed values, preflights, recorded errors, literal
"{{", short gaps) and the errors for bad input.

The Chromium round trip is skipped, saying why, only when chromium or
node_modules/playwright-core is missing (`make deps` installs both)."""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import ROOT, Target, check, main, test  # noqa: E402

CHROMIUM = os.environ.get("STAMPEDE_CHROMIUM", "/usr/bin/chromium")
PLAYWRIGHT = os.path.join(ROOT, "node_modules", "playwright-core", "package.json")

# Loads URL in chromium with recordHar, waits for the page's script to say done|error,
# closes the context (which writes the HAR) and prints {"status": ...}.
RECORD_JS = r"""
const { chromium } = require('playwright-core');
(async () => {
  const [url, harPath, exe] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: exe, headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const ctx = await browser.newContext({ recordHar: { path: harPath } });
    const page = await ctx.newPage();
    await page.goto(url);
    await page.waitForFunction(() => /^(done|error)/.test(document.getElementById('status').textContent),
                               null, { timeout: 30000 });
    const status = await page.textContent('#status');
    await ctx.close();
    console.log(JSON.stringify({ status }));
  } finally { await browser.close(); }
})().catch(e => { console.error(String(e && e.stack || e)); process.exit(1); });
"""


def stampede(args, timeout=60):
    p = subprocess.run([os.path.join(lib.BIN, "stampede"), *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def steps(yaml_text):
    """The http steps of an imported scenario as dicts of their scalar lines (method, url,
    name, the header lines, json/body, expect, captures) and the think steps, in order."""
    out = []
    cur = None
    section = None
    for line in yaml_text.splitlines():
        s = line.strip()
        if s.startswith("#"):
            continue
        if s.startswith("- think:"):
            out.append({"think_ms": int(re.match(r"- think: (\d+)ms$", s).group(1))})
            cur = None
            continue
        if s.startswith("- http:"):
            cur = {"headers": {}, "captures": {}}
            out.append(cur)
            section = None
            continue
        if cur is None:
            continue
        m = re.match(r'^(name|method|url|json|body|expect): (.*)$', s)
        if m:
            cur[m.group(1)] = m.group(2)
            section = None
        elif s in ("headers:", "capture:"):
            section = s[:-1]
        elif section == "headers":
            k, v = re.match(r'^"([^"]+)": (.*)$', s).groups()
            cur["headers"][k] = json.loads(v)
        elif section == "capture":
            k, v = re.match(r"^(\w+): (.*)$", s).groups()
            cur["captures"][k] = v
    return out


def unq(v):
    return json.loads(v) if v.startswith('"') else v


@test
def test_chromium_recording_imported_and_replayed():
    miss = [x for x, ok in ((CHROMIUM, os.access(CHROMIUM, os.X_OK)),
                            ("node_modules/playwright-core", os.path.exists(PLAYWRIGHT))) if not ok]
    if miss:
        print("  SKIP  chromium round trip: missing %s" % ", ".join(miss))
        return
    t = Target()
    d = tempfile.mkdtemp(prefix="stampede-har-")
    har = os.path.join(d, "journal.har")
    p = subprocess.run(["node", "-", t.url + "/app/", har, CHROMIUM], input=RECORD_JS, cwd=ROOT,
                       capture_output=True, text=True, timeout=90)
    check(p.returncode == 0, "recording failed: %s %s" % (p.stdout[-1000:], p.stderr[-2000:]))
    status = json.loads(p.stdout.strip().splitlines()[-1])["status"]
    check(status.startswith("done "), "the page's script did not finish: %r" % status)
    with open(har) as f:
        entries = json.load(f)["log"]["entries"]
    recorded = [(e["request"]["method"], e["request"]["url"].replace(t.url, "")) for e in entries]
    check(("GET", "/app/app.css") in recorded, "the HAR has no static asset: %s" % recorded)
    login = next(e for e in entries if e["request"]["url"].endswith("/api/auth/login"))
    token = json.loads(login["response"]["content"]["text"])["access_token"]
    picked = next(u for m, u in recorded if re.match(r"^/api/journal-entries/\d+/$", u) and m == "GET")
    picked_id = picked.split("/")[-2]

    out = os.path.join(d, "journal.yaml")
    rc, so, se = stampede(["import-har", har, "-o", out])
    check(rc == 0, "import-har exit %d: %s" % (rc, se))
    check("6 requests, 4 captures, " in se, "summary line: %s" % se)
    text = open(out).read()
    st = steps(text)
    https = [s for s in st if "method" in s]
    order = [(s["method"], unq(s["url"])) for s in https]
    check(order[:3] == [("GET", "/app/"), ("POST", "/api/auth/login"), ("GET", "/api/journal-entries/?page=1")],
          "first requests: %s" % order)
    check([m for m, _ in order] == ["GET", "POST", "GET", "GET", "POST", "PATCH"], "methods: %s" % order)
    check("app.css" not in text, "the static asset was not dropped")
    # The token: captured at the login, sent as a variable, never as the recorded text.
    check(https[1]["captures"].get("access_token") == '{ json: "$.access_token" }', "login captures: %s" % https[1])
    check(token not in text, "the recorded token is still in the scenario")
    for s in https[2:]:
        check(s["headers"].get("Authorization") == "Bearer {{ access_token }}", "Authorization of %s" % s)
    # The id the list returned: captured by its JSON path, templated in the URL and named {id}.
    cap = https[2]["captures"]
    check(cap.get("results_id") == '{ json: "$.results[3].id" }', "list captures: %s" % cap)
    check(unq(https[3]["url"]) == "/api/journal-entries/{{ results_id }}/", "detail url: %s" % https[3]["url"])
    check(unq(https[3]["name"]) == "/api/journal-entries/{id}/", "detail name: %s" % https[3]["name"])
    code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    check("/%s/" % picked_id not in code, "the recorded id %s is still in a URL" % picked_id)
    # The created entry's id: captured from the POST, templated in the PATCH; the POST's body,
    # holding a correlated number, is written as body: with its Content-Type.
    check("journal_entries_id" in https[4]["captures"], "create captures: %s" % https[4])
    check(unq(https[5]["url"]) == "/api/journal-entries/{{ journal_entries_id }}/", "patch url: %s" % https[5])
    body = unq(https[4]["body"])
    check('"source_id":{{ results_id }}' in body and "copy of {{ number }}" in body, "create body: %s" % body)
    check(https[4]["headers"].get("Content-Type") == "application/json", "create headers: %s" % https[4])
    check(https[5].get("json") == '{ "status": "posted" }' and "Content-Type" not in https[5]["headers"],
          "patch body: %s" % https[5])
    check("# {{ access_token }} (header Authorization): returned by request 2" in text, "use comment missing")
    # Think times: the page waits 400 ms before the list, the detail and the patch (other
    # gaps are the browser's and may or may not reach 100 ms on a busy machine).
    for i, s in enumerate(st):
        if "method" in s and (s["method"], unq(s["url"]).split("{{")[0]) in (
                ("GET", "/api/journal-entries/?page=1"), ("GET", "/api/journal-entries/"), ("PATCH", "/api/journal-entries/")):
            check(i > 0 and st[i - 1].get("think_ms", 0) >= 400, "no think >= 400ms before %s: %s" % (s["url"], st))
    for s in https:
        for h in s["headers"]:
            check(h.lower() not in ("cookie", "user-agent", "host", "connection", "accept-encoding",
                                    "referer", "origin", "content-length") and not h.lower().startswith("sec-"),
                  "header %s kept in %s" % (h, s["url"]))

    rc, so, se = stampede(["validate", out])
    check(rc == 0, "validate: %s %s" % (so, se))
    t.post("/__target/reset", {})
    rc, so, se = lib.run(["run", out, "-u", "2", "-t", "3s", "--out", os.path.join(d, "res"), "--quiet"], timeout=60)
    check(rc == 0, "run exit %d: %s" % (rc, se[-2000:]))
    summ = lib.summary(os.path.join(d, "res"))
    check(summ["totals"]["failures"] == 0, "failures: %s" % summ["errors"])
    c = t.settled_counters()
    check(c["total"] == summ["totals"]["requests"], "target %d vs run %d" % (c["total"], summ["totals"]["requests"]))
    got = {"%s %s" % (r["method"], r["name"]): r["requests"] for r in summ["requests"]}
    check(got == lib.route_counts(c), "per name: run %s vs target %s" % (got, lib.route_counts(c)))
    check(all(v > 0 for v in got.values()) and len(got) == 6, "names: %s" % got)
    t.stop()


def har_entry(t0, method, url, headers=(), body=None, mime=None, status=200, resp=None,
              resp_mime="application/json", resp_headers=(), rtype=None, dur=10):
    e = {"startedDateTime": "2026-03-01T10:00:%06.3fZ" % t0, "time": dur,
         "request": {"method": method, "url": url,
                     "headers": [{"name": k, "value": v} for k, v in headers]},
         "response": {"status": status, "headers": [{"name": k, "value": v} for k, v in resp_headers],
                      "content": {"mimeType": resp_mime, "text": resp if isinstance(resp, str) else json.dumps(resp)}}}
    if body is not None:
        e["request"]["postData"] = {"mimeType": mime or "application/json", "text": body}
    if rtype:
        e["_resourceType"] = rtype
    return e


@test
def test_synthetic_har_rules_and_errors():
    a, cdn = "http://app.example.test:8080", "https://cdn.example.test"
    entries = [
        har_entry(0.0, "GET", a + "/login?next=%7B%7Bx%7D%7D", resp="<html>", resp_mime="text/html",
                  headers=[("User-Agent", "Chrome"), ("Cookie", "a=b"), (":authority", "x"), ("X-Trace", "t{{1}}")]),
        har_entry(0.05, "GET", cdn + "/lib.js", resp="x", resp_mime="application/javascript", rtype="script"),
        har_entry(0.06, "GET", a + "/static/site.css?v=3", resp="x", resp_mime="text/css"),
        har_entry(0.07, "OPTIONS", a + "/api/session", headers=[("Access-Control-Request-Method", "POST")], resp=""),
        har_entry(0.10, "POST", a + "/api/session", body='{"username": "operator-17", "remember": true}',
                  resp={"username": "operator-17", "session": {"key": "sk-4f9a2c7e1b"}},
                  resp_headers=[("X-CSRF-Token", "csrf-77aa0099"), ("Date", "Sun, 01 Mar 2026 10:00:00 GMT")]),
        har_entry(0.15, "POST", a + "/api/orders", body="qty=3&user=operator-17", mime="application/x-www-form-urlencoded",
                  headers=[("X-CSRF-Token", "csrf-77aa0099"), ("Content-Type", "application/x-www-form-urlencoded"),
                           ("Accept", "a"), ("accept", "b")],
                  status=201, resp={"order": {"id": 123456, "ref": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}}),
        har_entry(2.0, "GET", a + "/api/orders/123456?key=sk-4f9a2c7e1b", status=404, resp={"detail": "gone"}),
        har_entry(2.02, "GET", cdn + "/font.woff2", resp="x", resp_mime="font/woff2"),
    ]
    d = tempfile.mkdtemp(prefix="stampede-har-")
    har = os.path.join(d, "synthetic.har")
    with open(har, "w") as f:
        json.dump({"log": {"version": "1.2", "entries": entries}}, f)
    out = os.path.join(d, "s.yaml")
    rc, so, se = stampede(["import-har", har, "-o", out])
    check(rc == 0, "import exit %d: %s" % (rc, se))
    text = open(out).read()
    st = steps(text)
    https = [s for s in st if "method" in s]
    check([(s["method"], unq(s["url"])) for s in https] ==
          [("GET", "/login?next=%7B%7Bx%7D%7D"), ("POST", "/api/session"), ("POST", "/api/orders"),
           ("GET", "/api/orders/{{ order_id }}?key={{ key }}")], "requests: %s" % https)
    check(re.search(r'^target: "http://app\.example\.test:8080"$', text, re.M), "target line")
    # lib.js and the font are another origin's (counted there), site.css is the app's static asset
    check("static 1, other origins 2, CORS preflights 1" in text, "dropped counts: %s" % text[:400])
    check(https[0]["headers"] == {"X-Trace": "t{{ '{{' }}1}}"}, "first headers: %s" % https[0]["headers"])
    # The echoed username is not correlated; the header and body values are.
    check("operator-17" in unq(https[2]["body"]) and "{{ username" not in text, "echo was correlated")
    check(https[1]["captures"] == {"x_csrf_token": '{ header: "X-CSRF-Token" }', "key": '{ json: "$.session.key" }'},
          "session captures: %s" % https[1]["captures"])
    check(https[1].get("json") == '{ "username": "operator-17", "remember": true }', "json body: %s" % https[1])
    check(https[2]["headers"] == {"X-CSRF-Token": "{{ x_csrf_token }}", "Accept": "a, b",
                                  "Content-Type": "application/x-www-form-urlencoded"}, "headers: %s" % https[2]["headers"])
    check(https[2]["captures"] == {"order_id": '{ json: "$.order.id" }'}, "order captures: %s" % https[2]["captures"])
    check(https[3].get("expect") == "{ status: 404 }   # as recorded", "expect: %s" % https[3])
    check(unq(https[3]["name"]) == "/api/orders/{id}", "name: %s" % https[3]["name"])
    check([s["think_ms"] for s in st if "think_ms" in s] == [1840], "thinks: %s" % st)
    rc, so, se = stampede(["validate", out])
    check(rc == 0, "validate: %s %s" % (so, se))

    # --keep-static keeps the app's own css; --host-filter picks the CDN's requests instead.
    rc, so, se = stampede(["import-har", har, "--keep-static"])
    check(rc == 0 and 'url: "/static/site.css?v=3"' in so and "lib.js" not in so, "keep-static: %s" % so)
    rc, so, se = stampede(["import-har", har, "--host-filter", "cdn.example.test", "--keep-static"])
    check(rc == 0 and 'target: "https://cdn.example.test"' in so and so.count("- http:") == 2, "cdn: %s %s" % (so, se))
    rc, so, se = stampede(["import-har", har, "--host-filter", "nowhere.test"])
    check(rc == 2 and "no request to import" in se, "nothing kept: %d %s" % (rc, se))

    # Errors: each names the file and what is wrong, exit 2.
    bad = os.path.join(d, "bad.har")
    cases = [("{ not json", "bad.har:1:"), ('{"log": {}}', "no log.entries array"),
             (json.dumps({"log": {"entries": [{"request": {"method": "GET"}}]}}), "log.entries[0]: request.url"),
             (json.dumps({"log": {"entries": [har_entry(0, "GET", a + "/")]}}).replace("2026-03-01T", "yesterday "),
              "log.entries[0]: startedDateTime")]
    for content, want in cases:
        with open(bad, "w") as f:
            f.write(content)
        rc, so, se = stampede(["import-har", bad])
        check(rc == 2 and want in se and so == "", "%r: exit %d, %s" % (content[:30], rc, se))
    rc, so, se = stampede(["import-har", os.path.join(d, "missing.har")])
    check(rc == 2 and "missing.har" in se, "missing file: %d %s" % (rc, se))
    rc, so, se = stampede(["import-har", har, "--frobnicate"])
    check(rc == 2 and "--frobnicate" in se, "unknown option: %d %s" % (rc, se))


@test
def test_erp_journal_config_against_target():
    """configs/erp-journal.yaml (the seed-003 harness) validates and runs against the target's
    journal routes without failures; the target counted what the run reports, name by name."""
    cfg = os.path.join(ROOT, "configs", "erp-journal.yaml")
    rc, so, se = stampede(["validate", cfg])
    check(rc == 0 and "3 user profiles" in so, "validate: %s %s" % (so, se))
    t = Target()
    d = tempfile.mkdtemp(prefix="stampede-journal-")
    # 40 users for 8 s make ~150 passes: the rarest task (the monthly report, weight 1 of
    # 15, named by a threshold) is then all but certain to run (a 5 s run of 10 users
    # made ~20 passes and missed it about one run in four: "no requests named ...").
    rc, so, se = lib.run(["run", cfg, "--host", t.url, "-u", "40", "-r", "40", "-t", "8s",
                          "--out", os.path.join(d, "res"), "--quiet"], timeout=60)
    check(rc == 0, "run exit %d: %s" % (rc, se[-2000:]))
    summ = lib.summary(os.path.join(d, "res"))
    check(summ["totals"]["requests"] > 0 and summ["totals"]["failures"] == 0, "totals %s, errors %s"
          % (summ["totals"], summ["errors"]))
    c = t.settled_counters()
    got = {"%s %s" % (r["method"], r["name"]): r["requests"] for r in summ["requests"]}
    check(got == lib.route_counts(c), "per name: run %s vs target %s" % (got, lib.route_counts(c)))
    check({"POST /api/auth/login", "GET /api/journal-entries/", "GET /", "GET /api/journal-entries/{id}/"}
          <= set(got), "names: %s" % sorted(got))
    t.stop()


if __name__ == "__main__":
    main()
