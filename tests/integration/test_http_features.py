"""HTTP features of the engine against a server that is not ours: Debian's nginx on
127.0.0.1 with TLS (throwaway certificates from tests/tls/make_certs.sh), HTTP/2, gzip
and a redirect. nginx's access log is the ground truth of protocol and counts. nginx also
proxies WebSocket upgrades on its TLS port to tests/target, so wss:// is tested against a
TLS server that is not ours; the target's counters are the ground truth there."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import ROOT, Target, _procs, check, main, run, summary, test, write_scenario  # noqa: E402
from test_distributed import free_port  # noqa: E402

# nginx's documented WebSocket proxying (Upgrade and Connection are hop-by-hop headers,
# so they are passed on explicitly); {ws} in NGINX_CONF, only when a target is given
NGINX_WS = """        location /ws/ {{ proxy_pass http://127.0.0.1:{port}; proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";
            proxy_read_timeout 60s; }}
"""

NGINX_CONF = """
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{
    log_format p '$server_protocol $status $request_method $uri $gzip_ratio';
    access_log {d}/access.log p;
    client_body_temp_path {d}/cb; proxy_temp_path {d}/px; fastcgi_temp_path {d}/fc;
    uwsgi_temp_path {d}/uw; scgi_temp_path {d}/sc;
    gzip on; gzip_min_length 1; gzip_types application/json;
    server {{
        listen 127.0.0.1:{tls} ssl http2;
        ssl_certificate {c}/master.pem; ssl_certificate_key {c}/master.key;
        location = /json {{ default_type application/json;
            return 200 '{{"status":"ok","items":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]}}'; }}
        location = /redirect {{ return 302 /final; }}
        location = /final {{ return 200 "final"; }}
{ws}    }}
}}
"""


class Nginx:
    """nginx on a fresh port; ws_port: also proxy /ws/ upgrades to 127.0.0.1:ws_port."""

    def __init__(self, ws_port=None):
        if not shutil.which("nginx"):
            raise AssertionError("nginx missing: run make deps")
        self.d = tempfile.mkdtemp(prefix="nginx-")
        c = os.path.join(self.d, "certs")
        subprocess.run(["sh", os.path.join(ROOT, "tests", "tls", "make_certs.sh"), c], check=True,
                       capture_output=True, timeout=60)
        self.port = free_port()
        with open(os.path.join(self.d, "nginx.conf"), "w") as f:
            ws = NGINX_WS.format(port=ws_port) if ws_port else ""
            f.write(NGINX_CONF.format(d=self.d, c=c, tls=self.port, ws=ws))
        self.proc = subprocess.Popen(["nginx", "-p", self.d, "-c", os.path.join(self.d, "nginx.conf"),
                                      "-e", os.path.join(self.d, "error.log"), "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _procs.append(self.proc)
        time.sleep(0.5)
        check(self.proc.poll() is None, "nginx did not start: %s" % open(os.path.join(self.d, "error.log")).read())
        self.url = "https://127.0.0.1:%d" % self.port

    def log(self):
        time.sleep(0.3)
        return [line.split() for line in open(os.path.join(self.d, "access.log"))]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            self.proc.wait(timeout=20)


def scenario(url, http2):
    return """name: it-http
target: %s
defaults: { insecure: true, http2: %s }
load: { stages: [ { duration: 100ms, users: 3 }, { duration: 2s, users: 3 } ], graceful_stop: 2s }
users:
  - name: u
    flow:
      - http: { name: json, url: /json, expect: { status: 200, json: "$.items[19]", equals: "20", contains: '"status":"ok"' } }
      - http: { name: redirect, url: /redirect, expect: { status: 302 } }
      - think: 20ms
""" % (url, "true" if http2 else "false")


def check_run(ng, http2):
    path, d = write_scenario(scenario(ng.url, http2))
    out = os.path.join(d, "out")
    rc, _, err = run(["run", path, "--out", out, "--quiet", "--threads", "1"], timeout=60)
    check(rc == 0, "exit %d: %s" % (rc, err))
    s = summary(out)
    log = ng.log()
    proto = "HTTP/2.0" if http2 else "HTTP/1.1"
    check(s["totals"]["failures"] == 0, "failures: %s" % s["errors"])
    check(s["totals"]["requests"] == len(log), "requests %d, nginx logged %d" % (s["totals"]["requests"], len(log)))
    check(all(line[0] == proto for line in log), "every request should be %s: %s" % (proto, set(x[0] for x in log)))
    check(not any(line[3] == "/final" for line in log), "redirects must not be followed by default")
    js = [r for r in s["requests"] if r["name"] == "json"][0]
    ratios = [x[4] for x in log if x[3] == "/json"]
    check(js["requests"] == len(ratios), "json count")
    check(all(r != "-" for r in ratios), "responses should be gzip-compressed (Accept-Encoding sent)")
    # bytes count decoded bodies, and expect saw the decoded JSON (no expect failures above)
    body = len('{"status":"ok","items":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]}')
    check(s["totals"]["bytes"] >= body * js["requests"], "decoded body bytes %d" % s["totals"]["bytes"])


@test
def test_tls_http11_gzip_no_redirects():
    ng = Nginx()
    try:
        check_run(ng, False)
    finally:
        ng.stop()


@test
def test_tls_http2():
    ng = Nginx()
    try:
        check_run(ng, True)
    finally:
        ng.stop()


WSS_USERS, WSS_MESSAGES = 5, 20


def wss_scenario(url, insecure):
    """wss:// through nginx: the connect step's path joins to the https target. The long
    think keeps each closed-model user to one pass of its flow."""
    return """name: it-wss
target: %s
%sload: { stages: [ { duration: 100ms, users: %d }, { duration: 2s, users: %d } ], graceful_stop: 1s }
users:
  - name: u
    flow:
      - ws: { connect: /ws/echo, name: secure-echo }
      - loop:
          count: %d
          steps:
            - ws: { send: "m-{{ counter }}" }
            - ws: { expect: { contains: "m-" }, timeout: 2s }
      - ws: { close: 1000 }
      - think: 60s
""" % (url, "defaults: { insecure: true }\n" if insecure else "", WSS_USERS, WSS_USERS, WSS_MESSAGES)


def wss_run(ng, insecure):
    path, d = write_scenario(wss_scenario(ng.url, insecure))
    out = os.path.join(d, "out")
    rc, _, err = run(["run", path, "--out", out, "--quiet", "--exit-code-on-error", "0"], timeout=60)
    check(rc == 0, "exit %d: %s" % (rc, err[-2000:]))
    s = summary(out)
    got = [w for w in s["ws"] if w["name"] == "secure-echo"]
    check(len(got) == 1, "summary.json ws has no single entry secure-echo: %s" % [w["name"] for w in s["ws"]])
    return s, got[0]


@test
def test_wss_through_tls_proxy():
    """Echo over wss:// with nginx terminating TLS in front of tests/target: every message
    is counted alike by Stampede and by the target behind the proxy. Without `insecure`
    the throwaway CA is not trusted: each connect fails as a `tls` error, nothing passes."""
    t = Target("--ws-delay", "2")
    ng = Nginx(ws_port=t.port)
    try:
        users, total = WSS_USERS, WSS_USERS * WSS_MESSAGES
        s, w = wss_run(ng, True)
        c = t.counters()["ws"]
        check(w["connects"] == users and w["connect_failures"] == 0, "connects: %s" % w)
        check(w["messages_sent"] == c["messages_in"] == total,
              "messages_sent %d, target messages_in %d, planned %d" % (w["messages_sent"], c["messages_in"], total))
        check(w["messages_received"] == c["messages_out"] == total,
              "messages_received %d, target messages_out %d, planned %d"
              % (w["messages_received"], c["messages_out"], total))
        check(w["expects"] == total and w["expect_failures"] == 0,
              "expects %d (planned %d), expect_failures %d" % (w["expects"], total, w["expect_failures"]))
        check(w["closes"] == {"1000": users}, "closes %s, want {'1000': %d}" % (w["closes"], users))
        check(c["connections"] == users and c["closes"] == {"1000": users},
              "target ws counters %s (nginx forwards each upgrade and close)" % c)
        check(w["connect_ms"]["p50"] > 0, "connect_ms has no samples: %s" % w["connect_ms"])
        check(not s["errors"], "errors: %s" % s["errors"])
        log = ng.log()
        check([x[:4] for x in log] == [["HTTP/1.1", "101", "GET", "/ws/echo"]] * users,
              "nginx access log, want %d upgrades: %s" % (users, log))

        s, w = wss_run(ng, False)
        c2 = t.counters()["ws"]
        check(w["connect_failures"] == users and w["connects"] == 0,
              "verified TLS: connect_failures %d (want %d), connects %d" % (w["connect_failures"], users, w["connects"]))
        # the flow goes on after a failed connect (worker/wsflow.c): each send and each
        # expect then fails as ws_close, and the close step of a closed connection is a no-op
        errs = sorted((e["method"], e["kind"], e["detail"], e["count"]) for e in s["errors"])
        want = sorted([("WS:connect", "tls", "tls", users),
                       ("WS:connect", "ws_close", "send while not connected", total),
                       ("WS", "ws_close", "not connected", total)])
        check(errs == want, "errors %s, want %s" % (errs, want))
        check(w["messages_sent"] == 0 and w["messages_received"] == 0 and w["closes"] == {},
              "traffic on a failed connect: %s" % w)
        check(w["expects"] == w["expect_failures"] == total, "expects on a failed connect: %s" % w)
        check(c2["connections"] == c["connections"], "the target saw an upgrade without trust: %s" % c2)
    finally:
        ng.stop()
        t.stop()


if __name__ == "__main__":
    import lib
    lib.TESTS[:] = [f for f in lib.TESTS if f.__module__ == "__main__"]
    main()
