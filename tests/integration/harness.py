#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Host integration test harness: a daemon of our own per test (own runtime
dir, pin dir and socket), cgroups of our own under the v2 mount, all removed
again even when a test fails. Test modules (run.py, test_*.py) import it."""
import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("OUT", os.path.join(ROOT, "build"))
DAEMON = os.path.join(BUILD, "cgpilotd")
CLI = os.path.join(BUILD, "cgpilot")
VERBOSE = False
# A command the daemon runs under (make test-valgrind: valgrind and its
# options); SLOW scales how long the harness waits for it to answer and stop.
WRAP = shlex.split(os.environ.get("CGPILOT_TEST_WRAP", ""))
SLOW = float(os.environ.get("CGPILOT_TEST_SLOW", "1"))


class Skip(Exception):
    pass


def log(*a):
    if VERBOSE:
        print("   ", *a, flush=True)


def v2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.startswith("cgroup2 "):
                return left.split()[4].replace("\\040", " ")
    raise Skip("no cgroup2 mount")


def ensure_bpffs():
    with open("/proc/self/mounts") as f:
        if any(l.split()[1] == "/sys/fs/bpf" and l.split()[2] == "bpf" for l in f):
            return
    subprocess.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], check=True)


class Cgroups:
    """Cgroups this test created, under one parent; removed on exit."""

    def __init__(self, name, sweep=False):
        """sweep: on cleanup, also remove every cgroup left below the
        parent that the test did not make itself (a daemon's, or ones
        made with os.mkdir, names that are not UTF-8 included)."""
        self.mount = v2_mount()
        self.rel_parent = "cgpilot-itest-%d-%s" % (os.getpid(), name)
        self.parent = os.path.join(self.mount, self.rel_parent)
        os.mkdir(self.parent)
        self.made = [self.parent]
        self.procs = []
        self.sweep = sweep

    def make(self, name):
        p = os.path.join(self.parent, name)
        os.mkdir(p)
        self.made.append(p)
        return p

    def rel(self, name):
        return self.rel_parent + "/" + name

    def spawn(self, cg, argv, cpu=None):
        """Start argv inside cgroup cg (a path we made), optionally pinned."""

        def pre():
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write("0")
            if cpu is not None:
                os.sched_setaffinity(0, {cpu})

        p = subprocess.Popen(argv, preexec_fn=pre, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def busy(self, cg, n, cpu=None):
        return [self.spawn(cg, ["sh", "-c", "while :; do :; done"], cpu) for _ in range(n)]

    def stop(self, procs):
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            p.wait()

    @staticmethod
    def _remove(p):
        if not os.path.isdir(p):
            return
        try:
            with open(os.path.join(p, b"cgroup.kill" if isinstance(p, bytes) else "cgroup.kill"),
                      "w") as f:
                f.write("1")
        except OSError:
            pass
        for _ in range(100):
            try:
                os.rmdir(p)
                break
            except OSError:
                time.sleep(0.02)

    def cleanup(self):
        self.stop(self.procs)
        if self.sweep and os.path.isdir(self.parent):
            top = os.fsencode(self.parent)
            for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count(b"/")):
                if dirpath != top:
                    self._remove(dirpath)
        for p in reversed(self.made):
            self._remove(p)


def control_line(sock, obj, raw=None, timeout=10):
    """One request on the control socket sock: the reply line as written."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock)
    try:
        s.sendall(raw if raw is not None else (json.dumps(obj) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        return buf.decode()
    finally:
        s.close()


class Daemon:
    """A cgpilotd of the test's own."""

    def __init__(self, name, config=None, extra=()):
        self.dir = tempfile.mkdtemp(prefix="cgpilot-itest-")
        self.pin = "/sys/fs/bpf/cgpilot-itest-%d-%s" % (os.getpid(), name)
        self.sock = os.path.join(self.dir, "cgpilot.sock")
        self.logf = os.path.join(self.dir, "daemon.log")
        self.conf = os.path.join(self.dir, "cgpilotd.conf")
        with open(self.conf, "w") as f:
            f.write(config or "")
        self.argv = [DAEMON, "--foreground", "--config", self.conf, "--runtime-dir", self.dir,
                     "--pin-dir", self.pin, "--socket", self.sock,
                     "--metrics-address", "127.0.0.1:0"] + list(extra)
        self.proc = None
        self.env = None  # the daemon's environment, None: the test's

    def start(self, wait=True):
        self.proc = subprocess.Popen(WRAP + self.argv, stdout=open(self.logf, "w"),
                                     stderr=subprocess.STDOUT, env=self.env)
        if wait:
            deadline = time.time() + 20 * SLOW
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError("daemon exited with %d:\n%s" % (self.proc.returncode,
                                                                         self.log()))
                try:
                    if self.request({"op": "ping"}).get("ok"):
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            raise AssertionError("daemon did not answer within %d s:\n%s" % (20 * SLOW,
                                                                             self.log()))
        return self

    def log(self):
        try:
            with open(self.logf) as f:
                return f.read()
        except OSError:
            return ""

    def request_line(self, obj, raw=None, timeout=10):
        """The reply to obj (or to the bytes raw) as the daemon wrote it."""
        return control_line(self.sock, obj, raw, timeout)

    # test_kubernetes's Pod borrows it: it may use self.sock only
    def request(self, obj, raw=None, timeout=10):
        return json.loads(control_line(self.sock, obj, raw, timeout))

    def cli(self, *args, check=True):
        r = subprocess.run([CLI, "--socket", self.sock] + list(args), capture_output=True,
                           text=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError("cgpilot %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                                r.stderr))
        return r

    def metrics_url(self):
        return "http://%s/metrics" % self.request({"op": "status"})["metrics_address"]

    def scrape(self):
        with urllib.request.urlopen(self.metrics_url(), timeout=10) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
            return r.read().decode()

    def show(self, path):
        r = self.request({"op": "cgroup.show", "cgroup": path})
        assert r.get("ok"), r
        return r["cgroup"]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("daemon did not stop within %d s of SIGTERM" % (10 * SLOW))
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        try:
            self.stop()
        except AssertionError:
            pass
        # a daemon that had to be killed cannot remove its own cgroup
        mount = v2_mount()
        for rel in ("cgpilot.slice/cgpilotd", "cgpilot.slice"):
            try:
                os.rmdir(os.path.join(mount, rel))
            except OSError:
                pass
        shutil.rmtree(self.pin, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class Subscriber:
    def __init__(self, d, events=None):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(d.sock)
        req = {"op": "subscribe"}
        if events:
            req["events"] = events
        self.s.sendall((json.dumps(req) + "\n").encode())
        self.f = self.s.makefile("r")
        first = json.loads(self.f.readline())
        assert first.get("ok"), first

    def wait_for(self, pred, timeout):
        self.s.settimeout(timeout)
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            self.s.settimeout(max(0.01, deadline - time.time()))
            try:
                line = self.f.readline()
            except (socket.timeout, TimeoutError, OSError):
                break
            if not line:
                break
            ev = json.loads(line)
            seen.append(ev)
            log("event", ev)
            if pred(ev):
                return ev
        raise AssertionError("expected event not seen in %.1f s; saw %s" % (timeout, seen[-10:]))

    def close(self):
        self.s.close()


class Conn:
    """A control connection of the test's own, kept open: requests one at
    a time and their reply lines one by one (container.admit with "wait"
    answers a second time when the request is admitted or dropped)."""

    def __init__(self, d, timeout=10):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(timeout)
        self.s.connect(d.sock)
        self.f = self.s.makefile("rb")

    def send(self, obj):
        self.s.sendall((json.dumps(obj) + "\n").encode())

    def line(self, timeout=10):
        """The next reply line as an object; None at end of stream."""
        self.s.settimeout(timeout)
        raw = self.f.readline()
        return json.loads(raw.decode()) if raw else None

    def request(self, obj, timeout=10):
        self.send(obj)
        return self.line(timeout)

    def close(self):
        self.f.close()
        self.s.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def wait_until(fn, timeout, what):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)

class Ctx:
    def __init__(self):
        self.daemons = []
        self.groups = []
        self.procs = []
        self.dirs = []

    def daemon(self, name, **kw):
        d = Daemon(name, **kw)
        self.daemons.append(d)
        return d

    def cgroups(self, name, **kw):
        c = Cgroups(name, **kw)
        self.groups.append(c)
        return c

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for x in self.dirs:
            shutil.rmtree(x, ignore_errors=True)
        for d in self.daemons:
            d.cleanup()
        for c in self.groups:
            c.cleanup()


def start_prometheus(ctx, target, name):
    """A real Prometheus server scraping target every second, on a free
    loopback port of its own (stopped by ctx); its port."""
    prom = shutil.which("prometheus")
    if not prom:
        raise Skip("prometheus not installed (package prometheus)")
    pdir = tempfile.mkdtemp(prefix="cgpilot-itest-%s-" % name)
    ctx.dirs.append(pdir)
    with open(os.path.join(pdir, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                "  - job_name: cgpilot\n    static_configs:\n"
                "      - targets: ['%s']\n" % target)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = subprocess.Popen([prom, "--config.file", os.path.join(pdir, "prometheus.yml"),
                          "--storage.tsdb.path", os.path.join(pdir, "data"),
                          "--web.listen-address", "127.0.0.1:%d" % port],
                         stdout=subprocess.DEVNULL, stderr=open(os.path.join(pdir, "log"), "w"))
    ctx.procs.append(p)
    return port
