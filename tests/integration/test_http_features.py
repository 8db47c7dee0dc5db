"""HTTP features of the engine against a server that is not ours: Debian's nginx on
127.0.0.1 with TLS (throwaway certificates from tests/tls/make_certs.sh), HTTP/2, gzip
and a redirect. nginx's access log is the ground truth of protocol and counts."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import ROOT, _procs, check, main, run, summary, test, write_scenario  # noqa: E402
from test_distributed import free_port  # noqa: E402

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
    }}
}}
"""


class Nginx:
    def __init__(self):
        if not shutil.which("nginx"):
            raise AssertionError("nginx missing: run make deps")
        self.d = tempfile.mkdtemp(prefix="nginx-")
        c = os.path.join(self.d, "certs")
        subprocess.run(["sh", os.path.join(ROOT, "tests", "tls", "make_certs.sh"), c], check=True,
                       capture_output=True, timeout=60)
        self.port = free_port()
        with open(os.path.join(self.d, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(d=self.d, c=c, tls=self.port))
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


if __name__ == "__main__":
    import lib
    lib.TESTS[:] = [f for f in lib.TESTS if f.__module__ == "__main__"]
    main()
