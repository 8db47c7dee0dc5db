"""Multi-host runs: master, two workers and the target each in their own network
namespace, joined by veth pairs to a Linux bridge in a hub namespace:

    stp-PID-m   10.231.X.2  stampede-master (tcp://10.231.X.2:5557, key file) + the CLI
    stp-PID-t   10.231.X.3  tests/target, the ground truth
    stp-PID-w1  10.231.X.4  stampede-worker --allow 10.231.X.3/32
    stp-PID-w2  10.231.X.5  stampede-worker --allow 10.231.X.3/32
    stp-PID-hub             bridge br0 with v-m, v-t, v-w1, v-w2 (the hosts' veth0 peers)

X comes from the test's pid, so two runs never share names. A partition is the bridge
end of a worker's link set down: to the master that worker falls silent (no FIN, no
RST), as a host whose cable was pulled.

Needs root and iproute2; otherwise it says it is skipped. Every process is killed and
every namespace deleted at the end of each test, and again at exit (even on failure or
SIGTERM). Load goes only to the target inside these namespaces, bounded in time."""
import atexit
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import BIN, _procs, check, main, read_csv, summary, test, write_scenario  # noqa: E402
from test_distributed import Master, Worker  # noqa: E402
from test_local import OPERATORS, check_exact, erp_scenario  # noqa: E402

NAME = "test_netns"
PID = os.getpid()
SUBNET = "10.231.%d" % (PID % 250 + 1)
HOSTS = {"m": 2, "t": 3, "w1": 4, "w2": 5}          # role -> last octet
MASTER_PORT = 5557
_nets = []


def ip(*args, check_rc=True):
    p = subprocess.run(["ip", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    if check_rc and p.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), p.stderr.strip()))
    return p


class Net:
    """The namespaces, the bridge and the links; delete() undoes it all (idempotent)."""

    def __init__(self):
        self.created = []
        _nets.append(self)
        try:
            hub = self.ns("hub")
            self._add_ns(hub)
            ip("-n", hub, "link", "add", "br0", "type", "bridge")
            ip("-n", hub, "link", "set", "br0", "up")
            for role in HOSTS:
                ns = self.ns(role)
                self._add_ns(ns)
                # Both ends are created straight inside their namespaces: no name in
                # the root namespace, so nothing can clash with the host's interfaces.
                ip("link", "add", "veth0", "netns", ns, "type", "veth", "peer", "name", "v-" + role, "netns", hub)
                ip("-n", hub, "link", "set", "v-" + role, "master", "br0")
                ip("-n", hub, "link", "set", "v-" + role, "up")
                ip("-n", ns, "addr", "add", "%s/24" % self.addr(role), "dev", "veth0")
                ip("-n", ns, "link", "set", "veth0", "up")
        except BaseException:
            self.delete()
            raise

    def _add_ns(self, ns):
        ip("netns", "add", ns)
        self.created.append(ns)
        ip("-n", ns, "link", "set", "lo", "up")

    @staticmethod
    def ns(role):
        return "stp-%d-%s" % (PID, role)

    @staticmethod
    def addr(role):
        return "%s.%d" % (SUBNET, HOSTS[role])

    def cmd(self, role, argv):
        """argv run inside role's namespace (`ip netns exec` execs it: same pid)."""
        return ["ip", "netns", "exec", self.ns(role), *argv]

    def link(self, role, up):
        """Sets the bridge end of role's link up or down (down: a partition)."""
        ip("-n", self.ns("hub"), "link", "set", "v-" + role, "up" if up else "down")

    def curl(self, role, url, timeout=5):
        """GET url from inside role's namespace; the body, or raises."""
        if shutil.which("curl"):
            argv = ["curl", "-sS", "--fail", "--max-time", str(timeout), url]
        else:
            argv = [sys.executable, "-c",
                    "import sys,urllib.request;sys.stdout.write(urllib.request.urlopen(sys.argv[1],"
                    "timeout=%d).read().decode())" % timeout, url]
        p = subprocess.run(self.cmd(role, argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout + 10)
        if p.returncode != 0:
            raise OSError("GET %s from %s: %s" % (url, role, p.stderr.strip()))
        return p.stdout

    def reaches(self, role, to_role):
        """True when role can reach to_role's address: a TCP connect to a closed port is
        refused (ICMP-free; ping may be absent), an unreachable host times out."""
        probe = ("import socket,sys\n"
                 "try:\n socket.create_connection((sys.argv[1], 9), timeout=2).close()\n"
                 "except ConnectionRefusedError:\n pass\n"
                 "except OSError as e:\n sys.exit(str(e))\n")
        p = subprocess.run(self.cmd(role, [sys.executable, "-c", probe, self.addr(to_role)]),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=15)
        return p.returncode == 0

    def delete(self):
        for ns in reversed(self.created):
            ip("netns", "del", ns, check_rc=False)
        self.created = []


def _kill_all():
    """lib's atexit handler kills the same list, but the namespaces can only go once
    their processes have, and atexit runs ours first."""
    for p in _procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def _cleanup():
    _kill_all()
    for n in _nets:
        n.delete()


def _sweep_stale():
    """Deletes namespaces left by an earlier run of this file that was SIGKILLed (its pid
    no longer exists), with any process still inside them. Only names of our exact shape
    are touched."""
    p = ip("netns", "list", check_rc=False)
    for line in p.stdout.splitlines():
        m = re.match(r"^(stp-(\d+)-(?:hub|m|t|w1|w2|probe))\b", line)
        if m and int(m.group(2)) != PID and not os.path.exists("/proc/%s" % m.group(2)):
            for pid in ip("netns", "pids", m.group(1), check_rc=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            ip("netns", "del", m.group(1), check_rc=False)


def _die_with_parent():
    """preexec_fn: the daemons get SIGKILL if this test process dies, even by SIGKILL
    (PR_SET_PDEATHSIG survives `ip netns exec`'s execve)."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


class NsTarget(lib.Target):
    """tests/target listening on the target namespace's address."""

    def __init__(self, net, *args):
        self.net = net
        self.proc = subprocess.Popen(net.cmd("t", [os.path.join(BIN, "stampede-target"), "--listen",
                                                   net.addr("t") + ":0", "--max-seconds", "300", *args]),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     preexec_fn=_die_with_parent)
        _procs.append(self.proc)
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            raise RuntimeError("target did not start: %r %s" % (line, self.proc.stderr.read()))
        self.port = int(line.split(":")[-1])
        self.url = "http://%s:%d" % (net.addr("t"), self.port)

    def get(self, path):
        import json
        return json.loads(self.net.curl("t", self.url + path))


class NsMaster(Master):
    """stampede-master in the master namespace: workers on tcp://MASTER_IP:5557 (with a
    key: a non-loopback listener needs one), the API on that namespace's loopback."""

    def __init__(self, net, key_file):
        self.net = net
        self.port = MASTER_PORT
        self.log = tempfile.NamedTemporaryFile(prefix="master-", suffix=".log", delete=False).name
        self.results = tempfile.mkdtemp(prefix="master-results-")
        self.url = "tcp://%s:%d" % (net.addr("m"), MASTER_PORT)
        self.proc = subprocess.Popen(net.cmd("m", [os.path.join(BIN, "stampede-master"), "--listen", self.url,
                                                   "--http", "127.0.0.1:0", "--key-file", key_file,
                                                   "--results-dir", self.results]),
                                     stdout=subprocess.PIPE, stderr=open(self.log, "w"), text=True,
                                     env=dict(os.environ, STAMPEDE_LOG="info"), preexec_fn=_die_with_parent)
        _procs.append(self.proc)
        line = self.proc.stdout.readline()
        check("api on http://" in line, "master did not start: %r %s" % (line, self.stderr()))
        self.api = line.strip().split("api on ")[1]

    def workers(self):
        import json
        return json.loads(self.net.curl("m", self.api + "/api/workers"))


class NsWorker(Worker):
    """stampede-worker in its own namespace, allowed to load the target's address only."""

    def __init__(self, net, role, master_url, key_file):
        self.log = tempfile.NamedTemporaryFile(prefix="worker-%s-" % role, suffix=".log", delete=False).name
        self.proc = subprocess.Popen(net.cmd(role, [os.path.join(BIN, "stampede-worker"), "--master", master_url,
                                                    "--key-file", key_file, "--allow", net.addr("t") + "/32",
                                                    "--threads", "1", "--id", role]),
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "w"),
                                     env=dict(os.environ, STAMPEDE_LOG="info"), preexec_fn=_die_with_parent)
        _procs.append(self.proc)


def key_file():
    d = tempfile.mkdtemp(prefix="keys-")
    path = os.path.join(d, "cluster.key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(24) + "\n")
    return path


class Cluster:
    """Net + target + master + w1 + w2, torn down by close() whatever happened."""

    def __init__(self):
        self.net = Net()
        try:
            for a, b in (("w1", "m"), ("w2", "m"), ("w1", "t"), ("w2", "t")):
                check(self.net.reaches(a, b), "no route from %s to %s across the bridge" % (a, b))
            self.target = NsTarget(self.net)
            key = key_file()
            self.master = NsMaster(self.net, key)
            self.workers = [NsWorker(self.net, r, self.master.url, key) for r in ("w1", "w2")]
            self.master.wait_workers(2, timeout=20)
        except BaseException:
            self.close()
            raise

    def start_run(self, stages, out):
        """Starts `stampede run` inside the master namespace; returns (Popen, stderr file)."""
        path, d = write_scenario(erp_scenario(self.target, stages), files={"operators.csv": OPERATORS})
        err = tempfile.NamedTemporaryFile(prefix="cli-", suffix=".log", delete=False).name
        p = subprocess.Popen(self.net.cmd("m", [os.path.join(BIN, "stampede"), "run", path, "--master",
                                                self.master.api, "--expect-workers", "2", "--expect-timeout", "20s",
                                                "--out", out, "--quiet"]),
                             stdout=subprocess.DEVNULL, stderr=open(err, "w"), preexec_fn=_die_with_parent)
        _procs.append(p)
        return p, err

    def wait_run(self, p, err, timeout):
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError("stampede did not finish within %ss: %s" % (timeout, open(err).read()[-2000:]))
        return rc, open(err).read()

    def check_logs(self):
        """With BIN=bin-san: a sanitizer report in a daemon's log fails the test."""
        for name, text in [("master", self.master.stderr())] + [(w.log, w.stderr()) for w in self.workers]:
            for sign in ("ERROR: AddressSanitizer", "runtime error:"):
                if sign in text:
                    check(False, "%s log: %s" % (name, text[max(0, text.index(sign) - 200):][:2000]))

    def close(self):
        _kill_all()
        self.net.delete()


@test
def test_netns_two_workers_exact_totals():
    c = Cluster()
    try:
        # The plumbing a remote target depends on: a worker namespace reaches it over HTTP.
        c.net.curl("w1", c.target.url + "/__target/counters")
        base = c.target.counters()["total"]
        check(base == 0, "the target counted %d requests before the run" % base)
        out = os.path.join(tempfile.mkdtemp(prefix="netns-out-"), "out")
        p, err = c.start_run([("3s", 12), ("3s", 12)], out)
        rc, err = c.wait_run(p, err, 120)
        check(rc == 0, "exit %d: %s\n%s" % (rc, err, c.master.stderr()[-2000:]))
        s = summary(out)
        check_exact(s, c.target.counters())
        check(s["totals"]["failures"] == 0, "unexpected failures: %s" % s["errors"])
        ws = {w["id"]: w for w in s["workers"]}
        check(sorted(ws) == ["w1", "w2"] and all(w["state"] == "finished" for w in ws.values()),
              "workers: %s" % s["workers"])
        check(all(w["requests"] > 0 for w in ws.values()), "a worker carried no load: %s" % s["workers"])
        check(sum(w["requests"] for w in ws.values()) == s["totals"]["requests"], "per-worker requests do not add up")
        c.check_logs()
    finally:
        c.close()


@test
def test_netns_partition_is_a_lost_worker():
    c = Cluster()
    try:
        w2 = c.workers[1]
        out = os.path.join(tempfile.mkdtemp(prefix="netns-out-"), "out")
        p, err = c.start_run([("500ms", 10), ("14s", 10)], out)
        time.sleep(4)
        check(p.poll() is None, "the run ended before the partition: %s" % open(err).read())
        check(c.target.counters()["total"] > 0, "no load before the partition")
        c.net.link("w2", False)
        down_at = time.time()
        # w2 hears nothing from the master any more: it must notice and stop its load.
        noticed = None
        while time.time() - down_at < 15:
            if "lost the master" in w2.stderr():
                noticed = time.time() - down_at
                break
            time.sleep(0.1)
        check(noticed is not None, "w2 never said it lost the master: %s" % w2.stderr()[-1500:])
        check(noticed <= 5.5, "w2 took %.1f s to notice it lost the master (want ~5 s)" % noticed)
        check("stopping all load" in w2.stderr().split("lost the master", 1)[1].splitlines()[0],
              "w2 should stop its load when it loses the master: %s" % w2.stderr()[-1500:])
        rc, err = c.wait_run(p, err, 90)
        check(rc == 0, "a partitioned worker is a lost worker, not an aborted run: exit %d: %s\n%s"
              % (rc, err, c.master.stderr()[-3000:]))
        s = summary(out)
        lost = [w for w in s["workers"] if w["id"] == "w2"]
        check(lost and lost[0]["state"] == "lost", "results should name w2 as lost: %s" % s["workers"])
        kept = [w for w in s["workers"] if w["id"] == "w1"]
        check(kept and kept[0]["state"] == "finished", "w1 should finish: %s" % s["workers"])
        rows = read_csv(os.path.join(out, "stats_history.csv"))
        # Cut at <= 4 s after the CLI started; silent for 3 s means lost (PROTOCOL.md section 7).
        check(0 < lost[0].get("lost_at_s", -1) < 4 + 6, "lost_at_s: %s" % lost[0])
        loss_row = int(lost[0]["lost_at_s"])
        after = rows[loss_row + 5: -2]
        check(after, "no history rows 5 s after the loss (lost at %s s, %d rows)" % (loss_row, len(rows)))
        for r in after:
            check(abs(int(r["User Count"]) - 10) <= 1,
                  "5 s after the loss the survivor should carry all 10 users: %s" % r["User Count"])
        before = [float(r["Requests/s"]) for r in rows[1:4]]
        later = [float(r["Requests/s"]) for r in after]
        check(min(later) > 0.6 * (sum(before) / len(before)),
              "request rate did not recover: before %s after %s" % (before, later))
        # What w2 sent before the cut and never reported is within the stated bound.
        ct = c.target.counters()
        missing = ct["total"] - s["totals"]["requests"]
        bound = s.get("missing_requests_max", 0)
        check(0 <= missing <= bound, "target %d, reported %d: %d missing, bound %d"
              % (ct["total"], s["totals"]["requests"], missing, bound))
        # The partition heals: w2 redials and is a worker again (PROTOCOL.md section 7).
        c.net.link("w2", True)
        c.master.wait_workers(2, timeout=20)
        c.check_logs()
    finally:
        c.close()


def skip(reason=None):
    print("%s: skipped (%s)" % (NAME, reason or "needs root and iproute2"))
    print("%s: 0 passed, 0 failed, %d skipped" % (NAME, len(lib.TESTS)))
    sys.exit(0)


# What can_run tries, in order, inside one probe namespace: what Net needs of the host.
# A container without CAP_SYS_ADMIN may let `ip netns add` through and refuse the rest:
# on a fresh Debian 12, `ip -n NS link set lo up` answered
# '"mount --make-rslave /" failed: Invalid argument'.
def _probe_steps(ns):
    return [("netns", "add", ns),
            ("-n", ns, "link", "set", "lo", "up"),
            ("netns", "exec", ns, "true"),
            ("-n", ns, "link", "add", "br0", "type", "bridge"),
            ("-n", ns, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")]


def can_run():
    """None when namespaces can be made and used here, else why not ("" when this is
    not root or there is no `ip`). Probes once: one namespace made, used as Net uses
    its namespaces, and deleted whatever happened."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        return ""
    probe = "stp-%d-probe" % PID
    try:
        for argv in _probe_steps(probe):
            try:
                p = ip(*argv, check_rc=False)
            except (OSError, subprocess.SubprocessError) as e:
                return "network namespaces unavailable: `ip %s`: %s" % (" ".join(argv), e)
            if p.returncode != 0:
                return "network namespaces unavailable: `ip %s` failed: %s" % (
                    " ".join(argv), p.stderr.strip() or "exit %d" % p.returncode)
        return None
    finally:
        ip("netns", "del", probe, check_rc=False)


# An `ip` that creates namespaces and refuses to use them, as in such a container.
_IP_SHIM = r"""#!/bin/sh
echo "$*" >> "$STP_IP_SHIM_LOG"
case "$*" in
"netns add "* | "netns del "* | "netns delete "* | "netns list"*) exit 0 ;;
"-n "*" link set lo up") echo '"mount --make-rslave /" failed: Invalid argument' >&2; exit 1 ;;
*) echo "ip shim: not expected here: $*" >&2; exit 1 ;;
esac
"""


@test
def test_netns_skips_when_namespaces_are_unusable():
    """This file run where `ip netns add` works and `ip -n NS link set lo up` fails (an
    `ip` shim first on PATH) skips every test with the reason, and leaves no probe
    namespace behind."""
    d = tempfile.mkdtemp(prefix="netns-shim-")
    shim, log = os.path.join(d, "ip"), os.path.join(d, "calls.log")
    with open(shim, "w") as f:
        f.write(_IP_SHIM)
    os.chmod(shim, 0o755)
    env = dict(os.environ, PATH=d + os.pathsep + os.environ.get("PATH", ""), STP_IP_SHIM_LOG=log)
    p = subprocess.run([sys.executable, os.path.abspath(__file__)], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    check(p.returncode == 0, "exit %d instead of a skip:\n%s" % (p.returncode, p.stdout[-3000:]))
    check("%s: skipped (" % NAME in p.stdout and "0 passed, 0 failed" in p.stdout,
          "every test should be skipped:\n%s" % p.stdout[-3000:])
    check("make-rslave" in p.stdout and "link set lo up" in p.stdout,
          "the skip should name the refused command and its answer:\n%s" % p.stdout[-3000:])
    calls = open(log).read().splitlines() if os.path.exists(log) else []
    added = [c.split()[2] for c in calls if c.startswith("netns add ")]
    deleted = [c.split()[2] for c in calls if c.startswith("netns del")]
    check(len(added) == 1 and added == deleted, "one probe namespace, deleted: %s" % calls)
    check(not any(" link add " in " %s " % c or "netns exec" in c for c in calls),
          "nothing was built after the refusal: %s" % calls)
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    # Importing test_local and test_distributed registered their tests too: keep ours.
    lib.TESTS[:] = [fn for fn in lib.TESTS if fn.__module__ == "__main__"]
    why = can_run()
    if why is not None:
        skip(why or None)
    atexit.register(_cleanup)
    # SIGTERM (a CI timeout) still runs the finally blocks and atexit handlers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    _sweep_stale()
    main()
