# SPDX-License-Identifier: Apache-2.0
"""A hostile local user and an unlucky start: names no output may choke on,
a client that leaves while its reply is being prepared, signals during
start-up, arguments that mean nothing, and directories that are not ours."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

from harness import CLI, DAEMON, Daemon, Skip, Subscriber, log, v2_mount, wait_until  # noqa: F401

# bytes no UTF-8 text has, a '%' that must not collide with their encoding,
# and a terminal escape a name must not smuggle into an operator's terminal
BAD_NAMES = [b"bad-\xff\xfe", b"bad-%FF%FE", b"esc-\x1b]0;owned\x07", b"half-\xe2\x82"]


def t_invalid_utf8_names(ctx):
    cgs = ctx.cgroups("utf8")
    parent = os.fsencode(cgs.parent)
    paths = []
    for n in BAD_NAMES:
        p = os.path.join(parent, n)
        os.mkdir(p)
        cgs.made.append(os.fsdecode(p))
        paths.append(p)
    d = ctx.daemon("utf8").start()
    sub = Subscriber(d, ["mkdir"])
    late = os.path.join(parent, b"late-\xc0\xaf")
    os.mkdir(late)
    cgs.made.append(os.fsdecode(late))
    ev = sub.wait_for(lambda e: e["event"] == "mkdir" and e["id"] == os.stat(late).st_ino, 5)
    assert ev["cgroup"].endswith("late-%C0%AF"), ev
    sub.close()
    # a series each: every cgroup has run something
    for p in paths:
        assert cgs.spawn(os.fsdecode(p), ["true"]).wait(10) == 0
    time.sleep(1.3)
    with urllib.request.urlopen(d.metrics_url(), timeout=10) as r:
        body = r.read()
    text = body.decode("utf-8")  # strict: raises on invalid UTF-8
    assert "\x1b" not in text
    want = ["bad-%FF%FE", "bad-%25FF%25FE", "esc-%1B]0;owned%07", "half-%E2%82"]
    for w in want:
        assert 'cgroup="%s/%s"' % (cgs.rel_parent, w) in text, w
    # the JSON of the control socket and of the CLI stays JSON, one entry each
    r = d.cli("-j", "cgroup", "list")
    out = json.loads(r.stdout)
    rows = out["cgroups"] if isinstance(out, dict) else out
    listed = {c["id"]: c["path"] for c in rows}
    for p, w in zip(paths, want):
        assert listed[os.stat(p).st_ino] == cgs.rel_parent + "/" + w, listed.get(os.stat(p).st_ino)
    assert "\x1b" not in d.cli("cgroup", "list").stdout
    # what users see is what they can ask for
    for p, w in zip(paths, want):
        assert d.show(cgs.rel_parent + "/" + w)["id"] == os.stat(p).st_ino
    if subprocess.run(["which", "promtool"], capture_output=True).returncode == 0:
        r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
        assert r.returncode == 0, r.stdout + r.stderr


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def t_client_gone_while_sampling(ctx):
    """prog.show's sampled reply, its client closing in the same epoll batch
    as its timer fires (the client's event first): nothing may touch the
    freed reply. Under the sanitizer build this was a heap use-after-free."""
    d = ctx.daemon("uaf").start()
    for _ in range(3):
        s = socket.socket(socket.AF_UNIX)
        s.connect(d.sock)
        s.sendall(b'{"op": "prog.show", "sample_ms": 400}\n')
        time.sleep(0.02)  # the request is read and its timer armed
        d.proc.send_signal(signal.SIGSTOP)
        wait_until(lambda: proc_state(d.proc.pid) == "T", 5, "the daemon to stop")
        try:
            s.close()  # the client's hang-up is ready first ...
            time.sleep(0.5)  # ... then the timer: one batch when it runs again
        finally:
            d.proc.send_signal(signal.SIGCONT)
        time.sleep(0.05)
    assert d.proc.poll() is None, d.log()
    assert d.request({"op": "ping"})["ok"]
    assert "ERROR: AddressSanitizer" not in d.log(), d.log()


def t_sighup_during_startup(ctx):
    d = ctx.daemon("hupstart")
    d.start(wait=False)
    time.sleep(0.05)  # BPF is still loading
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 20
    while time.time() < deadline:
        assert d.proc.poll() is None, "exited %s on an early SIGHUP:\n%s" % (
            d.proc.returncode, d.log())
        try:
            if d.request({"op": "ping"})["ok"]:
                break
        except OSError:
            time.sleep(0.05)
    assert d.request({"op": "ping"})["ok"]
    # and a SIGTERM before the loop runs still stops it cleanly
    d2 = ctx.daemon("termstart")
    d2.start(wait=False)
    time.sleep(0.05)
    d2.proc.send_signal(signal.SIGTERM)
    assert d2.proc.wait(20) == 0, d2.log()
    assert not os.path.exists(d2.sock)


def t_empty_cgroup_argument(ctx):
    d = ctx.daemon("empty").start()
    for req in ({"op": "cgroup.show", "cgroup": ""},
                {"op": "threshold.set", "cgroup": "", "signal": "cpu", "threshold_ns": 1}):
        r = d.request(req)
        assert "error" in r and "empty" in r["error"], r
    # the root's thresholds are untouched
    assert d.show("/")["thresholds"]["default"] is True


def t_unsafe_directories(ctx):
    d = ctx.daemon("unsafe")
    # a runtime directory others may write to: refused, naming it
    os.chmod(d.dir, 0o777)
    r = subprocess.run(d.argv, capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and d.dir in r.stderr and "writable by others" in r.stderr, \
        r.stderr
    os.chmod(d.dir, 0o700)
    # a lock file planted as a symlink is not followed (nor what it points at truncated)
    victim = os.path.join(d.dir, "victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    lock = os.path.join(d.dir, "cgpilotd.lock")
    os.symlink(victim, lock)
    r = subprocess.run(d.argv, capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "cgpilotd.lock" in r.stderr, r.stderr
    with open(victim) as f:
        assert f.read() == "precious\n"
    os.unlink(lock)
    # two daemons, two runtime directories, one pin directory: the second is refused
    d.start()
    other = ctx.daemon("unsafe2")
    other.pin = d.pin
    other.argv[other.argv.index("--pin-dir") + 1] = d.pin
    r = subprocess.run(other.argv, capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "pin directory" in r.stderr, r.stderr
    assert d.request({"op": "ping"})["ok"]


def t_own_cgroup_after_kill(ctx):
    with open("/proc/self/cgroup") as f:
        if "0::/\n" not in f.read():
            raise Skip("the test runner is not in the root cgroup: auto keeps the daemon there")
    mount = v2_mount()
    if os.path.exists(os.path.join(mount, "cgpilot.slice")):
        raise Skip("cgpilot.slice exists already (another cgpilotd?)")
    d = ctx.daemon("ownkill").start()
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    # SIGKILL leaves the own cgroup behind; the next daemon knows it as ours
    assert os.path.isdir(os.path.join(mount, "cgpilot.slice/cgpilotd"))
    d.start()
    assert d.stop() == 0
    assert not os.path.exists(os.path.join(mount, "cgpilot.slice")), "own cgroup left behind"


TESTS = [
    ("invalid_utf8_names", t_invalid_utf8_names),
    ("client_gone_while_sampling", t_client_gone_while_sampling),
    ("sighup_during_startup", t_sighup_during_startup),
    ("empty_cgroup_argument", t_empty_cgroup_argument),
    ("unsafe_directories", t_unsafe_directories),
    ("own_cgroup_after_kill", t_own_cgroup_after_kill),
]
