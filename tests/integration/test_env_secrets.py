"""env() and daemon secrets (issue 9, item 3): a scenario submitted to a master never
evaluates env() from the master's or a worker's environment; the CLI that submits a run
resolves env() from its own environment and sends the values with it.

The master and the worker run as separate processes with SHARED_SECRET=topsecret in their
environments; tests/target on 127.0.0.1 records the usernames that logged in, so the value
a run used is visible there. Every process is killed at exit; every wait is bounded."""
import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import Target, check, main, run, test, write_scenario  # noqa: E402
from test_distributed import Master, Worker, run_remote, teardown  # noqa: E402

DAEMON_SECRET = "topsecret"
CLI_VALUE = "cli-value"


def scenario(t, var="SHARED_SECRET"):
    # The value goes into a login's username (the target records it), a URL and a header.
    return ("name: env-secrets\ntarget: %s\nload:\n  stages:\n"
            "    - { duration: 500ms, users: 2 }\n    - { duration: 1s, users: 2 }\n"
            "  graceful_stop: 5s\n"
            "users:\n  - name: u\n    flow:\n"
            "      - http: { name: login, method: POST, url: /auth/login,\n"
            "                json: { username: \"{{ env(\\\"%s\\\") }}\", password: secret },\n"
            "                expect: { status: 200 } }\n"
            "      - http: { url: \"/ping?k={{ env(%s) }}\", headers: { X-K: \"{{ env('%s') }}\" } }\n"
            "      - think: 200ms\n" % (t.url, var, var, var))


def daemons():
    """A target, and a master and a worker whose environments hold the secret."""
    t = Target()
    saved = os.environ.get("SHARED_SECRET")
    os.environ["SHARED_SECRET"] = DAEMON_SECRET
    try:
        m = Master(None)
        w = Worker(m.url, "w0", env={"SHARED_SECRET": DAEMON_SECRET})
    finally:
        if saved is None:
            del os.environ["SHARED_SECRET"]
        else:
            os.environ["SHARED_SECRET"] = saved
    m.wait_workers(1)
    return t, m, w


def submit(m, text):
    """POST /api/runs as the dashboard's form does: no env values. (status, body text)."""
    body = json.dumps({"scenario": text, "scenario_file": "scenario.yaml", "files": [], "sets": [],
                       "host": None, "users": 0, "rate": 0, "duration_ms": 0,
                       "expect_workers": 1, "expect_timeout_ms": 5000}).encode()
    req = urllib.request.Request(m.api + "/api/runs", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def files_holding(root, needle):
    """Paths under root whose bytes contain needle."""
    found = []
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            try:
                with open(p, "rb") as f:
                    if needle.encode() in f.read():
                        found.append(p)
            except OSError:
                pass
    return found


def no_secret_anywhere(t, m, w, extra_dirs=()):
    logins = t.get("/__target/logins")
    check(DAEMON_SECRET not in json.dumps(logins), "the target saw the daemons' value: %s" % logins)
    for root in (m.results, *extra_dirs):
        leaked = files_holding(root, DAEMON_SECRET)
        check(not leaked, "the daemons' value is in %s" % leaked)
    check(DAEMON_SECRET not in m.stderr(), "the master's log holds the daemons' value")
    check(DAEMON_SECRET not in open(w.log).read(), "the worker's log holds the daemons' value")


@test
def test_api_submission_never_reads_daemon_env():
    t, m, w = daemons()
    code, text = submit(m, scenario(t))
    check(code == 400, "a scenario using env() through the API: HTTP %d %s" % (code, text[:500]))
    check('env(\\"SHARED_SECRET\\") has no value' in text or 'env("SHARED_SECRET") has no value' in text,
          "the refusal should say env() has no value here: %s" % text[:500])
    check("stampede run --master" in text, "the refusal should say how to submit: %s" % text[:500])
    check(DAEMON_SECRET not in text, "the refusal holds the daemons' value: %s" % text[:500])
    # A name no daemon has: the same refusal (nothing tells which names exist there).
    code2, text2 = submit(m, scenario(t, "STAMPEDE_IT_ABSENT_VAR"))
    check(code2 == code, "HTTP %d for an unset name, %d for a set one" % (code2, code))
    check(text2.replace("STAMPEDE_IT_ABSENT_VAR", "SHARED_SECRET") == text,
          "the refusals differ beyond the name:\n %s\n %s" % (text, text2))
    check("not set" not in text2, "the refusal tells an unset name apart: %s" % text2[:500])
    check(t.counters()["total"] == 0, "a refused run sent requests: %s" % t.counters())
    no_secret_anywhere(t, m, w)
    teardown(m, [w], t)


@test
def test_cli_sends_its_own_env_values():
    t, m, w = daemons()
    path, d = write_scenario(scenario(t))
    out = os.path.join(d, "out")
    # Without the variable in the CLI's environment: refused by the CLI, at its place.
    saved = os.environ.pop("SHARED_SECRET", None)
    try:
        rc, _, err = run_remote(m, path, out, 1, timeout=60)
        check(rc == 2, "exit %d without SHARED_SECRET in the CLI: %s" % (rc, err[-1500:]))
        check("SHARED_SECRET is not set" in err and "export SHARED_SECRET=" in err,
              "the CLI should name the variable and the fix: %s" % err[-1500:])
        check("scenario.yaml:12:" in err, "the error should name file:line:column: %s" % err[-1500:])
        check(t.counters()["total"] == 0, "a refused run sent requests")
        # With it: the run uses the CLI's value, never the daemons'.
        rc, _, err = run(["run", path, "--master", m.api, "--expect-workers", "1",
                          "--expect-timeout", "20s", "--out", out, "--quiet"],
                         timeout=120, env={"SHARED_SECRET": CLI_VALUE})
    finally:
        if saved is not None:
            os.environ["SHARED_SECRET"] = saved
    check(rc == 0, "exit %d: %s" % (rc, err[-2000:]))
    logins = t.get("/__target/logins")
    check(logins.get(CLI_VALUE, 0) > 0 and set(logins) == {CLI_VALUE},
          "the target should see the CLI's value only: %s" % logins)
    check(DAEMON_SECRET not in err, "the CLI's output holds the daemons' value")
    no_secret_anywhere(t, m, w, extra_dirs=(out,))
    teardown(m, [w], t)


if __name__ == "__main__":
    import lib
    lib.TESTS[:] = [f for f in lib.TESTS if f.__module__ == "__main__"]   # not the imported files' tests
    main()
