# SPDX-License-Identifier: Apache-2.0
"""The CLI as a script uses it: event with --count and --timeout, top in
batch mode, onset thresholds set from the command line, cgroup paths given
in full, errors that name commands (not protocol ops), node and node status
agreeing, JSON numbers at a sensible precision; and the daemon's word on a
SIGHUP without a configuration file."""
import json
import os
import pty
import re
import shlex
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness import *  # noqa: F401,F403


def t_sighup_without_config_file(ctx):
    """No file at the default path: a reload keeps the built-in defaults and
    says so, instead of "reloaded from" a file that does not exist."""
    d = ctx.daemon("hupdef")
    default = "/etc/cgpilot/cgpilotd.conf"
    if os.path.exists(default):
        raise Skip("%s exists on this machine" % default)
    i = d.argv.index("--config")
    del d.argv[i:i + 2]
    d.start()
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "built-in defaults" in d.log(), 5, "the reload's message")
    assert "no %s: kept the built-in defaults" % default in d.log(), d.log()
    assert "reloaded from" not in d.log(), d.log()
    assert d.request({"op": "ping"})["ok"]


def t_event_count_timeout(ctx):
    """event --count N exits after N events, --timeout S after S seconds (0,
    or 124 when --count events were awaited); 'event bogus' is told it is no
    event type, with the list of types."""
    cgs = ctx.cgroups("evcount")
    d = ctx.daemon("evcount").start()
    cli = [CLI, "--socket", d.sock]
    p = subprocess.Popen(cli + ["-j", "event", "mkdir", "--count", "2", "--timeout", "20"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ctx.procs.append(p)
    # subscribed: its connection and the status request's own
    wait_until(lambda: d.request({"op": "status"})["control"]["clients"] >= 2, 10,
               "the CLI's subscription")
    for name in ("a", "b", "c"):
        cgs.make(name)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 0, (p.returncode, err)
    lines = out.splitlines()
    assert len(lines) == 2 and all(json.loads(l)["event"] == "mkdir" for l in lines), out

    t0 = time.time()
    r = d.cli("event", "oom", "--timeout", "0.5", check=False)
    took = time.time() - t0
    assert r.returncode == 0 and 0.4 < took < 5, (r.returncode, took, r.stderr)
    assert r.stdout.startswith("TIME "), r.stdout[:200]
    t0 = time.time()
    r = d.cli("event", "oom", "--count=1", "--timeout=300ms", check=False)
    took = time.time() - t0
    assert r.returncode == 124 and 0.2 < took < 5, (r.returncode, took, r.stderr)

    r = d.cli("event", "bogus", check=False)
    assert r.returncode == 2, r
    assert "'bogus' is not an event type" in r.stderr, r.stderr
    for t in ("mkdir", "rmdir", "oom", "onset", "cleared", "action"):
        assert t in r.stderr, (t, r.stderr)
    for bad, word in ((["--count", "0"], "--count"), (["--count", "x"], "--count"),
                      (["--timeout", "soon"], "--timeout"), (["--count"], "needs a value"),
                      (["--bogus"], "unknown option '--bogus'")):
        r = d.cli("event", *bad, check=False)
        assert r.returncode == 2 and word in r.stderr, (bad, r.stderr)
    assert "--timeout" in d.cli("event", "help").stdout


def protocol_ops():
    """The control ops, from the daemon's table (daemon/requests.c)."""
    with open(os.path.join(ROOT, "daemon", "requests.c")) as f:
        return re.findall(r'^\t\{ "([a-z]+\.[a-z]+)", (?:READERS|ROOT),', f.read(), re.M)


class FakeDaemon:
    """A control socket that answers every request with reply(op): what an
    older or broken cgpilotd would say, which the real one never does."""

    def __init__(self, ctx, reply):
        self.dir = tempfile.mkdtemp(prefix="cgpilot-itest-fake-")
        ctx.dirs.append(self.dir)
        self.sock = os.path.join(self.dir, "cgpilot.sock")
        self.srv = socket.socket(socket.AF_UNIX)
        self.srv.bind(self.sock)
        self.srv.listen(8)
        self.reply = reply
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            with c:
                line = c.makefile("r").readline()
                if line:
                    c.sendall((json.dumps(self.reply(json.loads(line)["op"])) + "\n").encode())

    def cli(self, *args):
        return subprocess.run([CLI, "--socket", self.sock] + list(args), capture_output=True,
                              text=True, timeout=10)

    def close(self):
        self.srv.close()


COMMANDS = [["cgroup", "list"], ["cgroup", "show", "/"], ["node", "status"], ["node", "show"],
            ["map", "show"], ["prog", "show", "sample", "0"], ["top"], ["container", "list"],
            ["policy", "show"], ["event", "--timeout", "2"]]


def t_errors_name_commands(ctx):
    """Errors name the command typed, never a protocol op (map.list): a
    daemon without an op, a reply without its data, the daemon's own."""
    ops = protocol_ops()
    assert "map.list" in ops and "cgroup.show" in ops, ops
    old = FakeDaemon(ctx, lambda op: {"error": "unknown op '%s'" % op})
    empty = FakeDaemon(ctx, lambda op: {"ok": True})
    try:
        for cmd in COMMANDS:
            typed = " ".join(w for w in cmd if not w.startswith("-") and not w.isdigit()
                             and w not in ("/", "sample"))
            r = old.cli(*cmd)
            assert r.returncode == 1, (cmd, r)
            assert "cannot do 'cgpilot %s'" % typed in r.stderr, (cmd, r.stderr)
            assert not [op for op in ops if op in r.stderr], (cmd, r.stderr)
            if cmd[0] in ("node", "policy", "event", "container"):
                continue  # printed from what there is
            r = empty.cli(*cmd)
            assert r.returncode == 1, (cmd, r)
            assert "answered 'cgpilot %s' without" % typed in r.stderr, (cmd, r.stderr)
            assert not [op for op in ops if op in r.stderr], (cmd, r.stderr)
    finally:
        old.close()
        empty.close()
    d = ctx.daemon("errnames").start()
    r = d.cli("map", "dump", "nosuch", check=False)
    assert r.returncode == 1 and "'cgpilot map show' lists" in r.stderr, r.stderr
    assert not [op for op in ops if op in r.stderr], r.stderr


def read_pty(p, master, timeout):
    """All a process wrote to the terminal @master until it exits."""
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the process is gone and closed the terminal
            break
        if not chunk:
            break
        out += chunk
    p.wait(timeout=max(0.1, deadline - time.time()))
    return out.decode(errors="replace")


def t_top_batch(ctx):
    """top -b -n N -d S: N plain frames S apart, even on a terminal (no
    escape sequences); -n alone into a pipe, and JSON snapshots one a line."""
    cgs = ctx.cgroups("topb")
    a = cgs.make("a")
    d = ctx.daemon("topb").start()
    ps = cgs.busy(a, 1)
    master, slave = pty.openpty()
    try:
        t0 = time.time()
        p = subprocess.Popen([CLI, "--socket", d.sock, "top", "-b", "-n", "3", "-d", "0.3"],
                             stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
        ctx.procs.append(p)
        os.close(slave)
        slave = None
        out = read_pty(p, master, 15)
        took = time.time() - t0
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)
    assert p.returncode == 0, (p.returncode, out)
    assert "\x1b" not in out, repr(out[:300])
    frames = out.replace("\r\n", "\n").split("\n\n")
    assert len(frames) == 3, repr(out[:600])
    for f in frames:
        lines = f.strip("\n").splitlines()
        assert lines[0].startswith("cgpilot top") and "keys:" not in lines[0], lines[:2]
        assert "WAIT/s*" in lines[1], lines[:2]
    assert any(cgs.rel("a") in f for f in frames), out[:2000]
    assert 0.5 < took < 10, took  # two delays of 0.3 s between three frames

    r = d.cli("top", "-n", "2", "--delay", "200ms", "sort", "io")
    assert r.stdout.count("cgpilot top") == 2 and "\n\ncgpilot top" in r.stdout, r.stdout[:500]
    assert "IOWAIT/s*" in r.stdout, r.stdout[:300]
    r = d.cli("-j", "top", "--iterations=3", "-d", "0.1")
    snaps = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(snaps) == 3 and all(s["sort"] == "cpu" and s["cgroups"] for s in snaps), \
        r.stdout[:300]
    for bad, word in ((["-n", "0"], "iterations"), (["-d", "0.01"], "delay"),
                      (["-d", "soon"], "delay"), (["-x"], "unknown option '-x'")):
        r = d.cli("top", *bad, check=False)
        assert r.returncode == 2 and word in r.stderr, (bad, r.stderr)
    cgs.stop(ps)


def t_cgroup_threshold(ctx):
    """cgroup threshold CGROUP SIGNAL VALUE...: set through the daemon, shown
    as cgroup show has them; bad values are refused before anything is sent.
    A cgroup may be named by its full path under the mount, wherever one is
    taken; a full path elsewhere is told that paths are relative to it."""
    cgs = ctx.cgroups("thr")
    a = cgs.make("a")
    d = ctx.daemon("thr").start()
    rel = cgs.rel("a")
    r = d.cli("cgroup", "threshold", rel, "cpu", "5ms", "memory", "off", "io", "1.5ms")
    assert "cpu 5.0ms, memory off per window, io 1.5ms" in r.stdout, r.stdout
    assert "(operator)" in r.stdout, r.stdout
    th = d.show(rel)["thresholds"]
    assert (th["cpu_ns"], th["memory_ns"], th["io_ns"], th["source"]) == \
        (5000000, 0, 1500000, "operator"), th
    entries = d.request({"op": "map.dump", "map": "thresholds"})["entries"]
    assert {"id": os.stat(a).st_ino, "path": rel, "cpu_ns": 5000000, "memory_ns": 0,
            "io_ns": 1500000, "protected": False} in entries, entries

    # a bad pair refuses the whole line: cpu stays 5ms
    for args, word in ((["cpu", "7ms", "io", "61s"], "over 60s"),
                       (["cpu", "5"], "needs a unit"),
                       (["cpu", "-1ms"], "not a duration"),
                       (["cpu", "2h"], "over 1h"),
                       (["disk", "5ms"], "unknown signal 'disk'"),
                       (["memory"], "needs a threshold")):
        r = d.cli("cgroup", "threshold", rel, *args, check=False)
        assert r.returncode == 2 and word in r.stderr, (args, r.stderr)
    assert d.show(rel)["thresholds"]["cpu_ns"] == 5000000

    # the full path, under the mount the daemon reports
    mount = d.request({"op": "status"})["cgroup_root"]
    full = os.path.join(mount, rel)
    j = json.loads(d.cli("-j", "cgroup", "threshold", full, "c", "250us").stdout)
    assert j["cgroup"] == rel and j["id"] == os.stat(a).st_ino, j
    assert j["thresholds"]["cpu_ns"] == 250000 and j["dry_run"] is False, j
    assert json.loads(d.cli("-j", "cgroup", "show", full + "/").stdout)["cgroup"]["path"] == rel
    assert json.loads(d.cli("-j", "cgroup", "show", mount).stdout)["cgroup"]["path"] == "/"
    assert d.request({"op": "cgroup.why", "cgroup": full})["cgroup"] == rel
    r = d.cli("cgroup", "show", os.path.join(mount, cgs.rel("nosuch")), check=False)
    assert r.returncode == 1 and "no such cgroup under the cgroup v2 mount %s" % mount in \
        r.stderr, r.stderr
    if mount != "/sys/fs/cgroup":
        # hybrid: /sys/fs/cgroup/... is a v1 hierarchy's, not the v2 mount's
        r = d.cli("cgroup", "show", "/sys/fs/cgroup/memory/" + rel, check=False)
        assert r.returncode == 1 and "paths are relative to the cgroup v2 mount %s" % mount \
            in r.stderr, r.stderr

    # dry run: nothing changes, and the CLI says so
    dry = ctx.daemon("thrdry", extra=["--dry-run"]).start()
    r = dry.cli("cgroup", "threshold", rel, "cpu", "1ms")
    assert "runs dry" in r.stdout and "(default)" in r.stdout, r.stdout
    assert dry.show(rel)["thresholds"]["cpu_ns"] != 1000000


def sensible_numbers(text):
    """The non-integers of a JSON text that carry more than three decimals (four
    significant digits below 1): json-c's %.17g noise, as 54.025616335999999."""
    bad = []
    for m in re.finditer(r'(?<![\w."])-?(\d+)\.(\d+)(?:[eE][-+]?\d+)?', text):
        whole, frac = m.group(1), m.group(2)
        digits = len(frac) if whole != "0" else len(frac.lstrip("0"))
        if digits > (3 if whole != "0" else 4):
            bad.append(m.group(0))
    return bad


def t_node_agrees_and_json_numbers(ctx):
    """node and node status say the same of what is missing (controllers,
    kernel features); JSON numbers, in replies and -j output, are at a
    measurement's precision."""
    cgs = ctx.cgroups("nodeagree")
    a = cgs.make("a")
    d = ctx.daemon("nodeagree").start()
    ps = cgs.busy(a, 1)
    n, st = d.request({"op": "node.show"}), d.request({"op": "status"})
    for key in ("controllers", "missing_controllers", "missing_features",
                "missing_tracepoints"):
        assert n[key] == st[key], (key, n[key], st[key])

    def block(out):
        lines = out.splitlines()
        i = next(k for k, l in enumerate(lines) if l.startswith("controllers "))
        j = next(k for k, l in enumerate(lines) if l.startswith("tracepoints "))
        return lines[i:j + 1]
    node, status = d.cli("node").stdout, d.cli("node", "status").stdout
    assert block(node) == block(status), (block(node), block(status))
    assert any(l.strip().startswith("missing:") for l in block(status)), block(status)
    assert "pinned maps" in status and "pinned_maps_reused" not in "".join(block(status))

    # rates of a whole sample interval: after the second sample
    wait_until(lambda: any(c["cpu_rate"] > 0 for c in d.request({"op": "cgroup.list"})["cgroups"]
                           if c["path"] == cgs.rel("a")), 5, "a's CPU rate")
    for req in ({"op": "status"}, {"op": "cgroup.list"}, {"op": "prog.show"},
                {"op": "cgroup.show", "cgroup": cgs.rel("a")}, {"op": "policy.show"}):
        line = d.request_line(req)
        assert json.loads(line).get("ok"), line[:300]
        assert not sensible_numbers(line), (req, sensible_numbers(line)[:5])
    assert re.search(r'"uptime_s":\d+\.\d{1,3}[,}]', d.request_line({"op": "status"}))
    for args in (["node", "status"], ["cgroup", "list"], ["top"], ["cgroup", "show", "/"]):
        for fmt in ("-j", "-p"):
            out = d.cli(fmt, *args).stdout
            json.loads(out)
            assert not sensible_numbers(out), (args, sensible_numbers(out)[:5])
    cgs.stop(ps)


def complete(line):
    """What bash completes for @line (cursor at its end), with our completion."""
    words = line.split(" ")
    script = ("source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _cgpilot; "
              "printf '%%s\\n' \"${COMPREPLY[@]}\"" %
              (shlex.quote(os.path.join(ROOT, "tools", "cgpilot.bash-completion")),
               " ".join(shlex.quote(w) for w in words), len(words) - 1))
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=10,
                       env=dict(os.environ, CGPILOT_SOCKET="/nonexistent"))
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


def t_bash_completion(ctx):
    """The completion knows the new commands and options."""
    assert complete("cgpilot cgroup th") == {"threshold"}
    assert complete("cgpilot cgroup threshold / ") == {"cpu", "memory", "io"}
    assert "off" in complete("cgpilot cgroup threshold / cpu ")
    assert complete("cgpilot cgroup threshold id 12 cpu 5ms m") == {"memory"}
    assert {"--count", "--timeout"} <= complete("cgpilot event onset --")
    assert complete("cgpilot event --count 3 ac") == {"action"}
    assert {"-b", "-n", "-d", "--batch"} <= complete("cgpilot top -")
    assert "--count" not in complete("cgpilot top -")
    assert complete("cgpilot top -n 3 -d 0.5 so") == {"sort"}


TESTS = [
    ("bash_completion", t_bash_completion),
    ("node_agrees_and_json_numbers", t_node_agrees_and_json_numbers),
    ("cgroup_threshold", t_cgroup_threshold),
    ("top_batch", t_top_batch),
    ("errors_name_commands", t_errors_name_commands),
    ("event_count_timeout", t_event_count_timeout),
    ("sighup_without_config_file", t_sighup_without_config_file),
]
