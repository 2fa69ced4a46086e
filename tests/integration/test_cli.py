# SPDX-License-Identifier: Apache-2.0
"""The CLI as a script uses it: event with --count and --timeout, top in
batch mode, onset thresholds set from the command line, cgroup paths given
in full, errors that name commands (not protocol ops), node and node status
agreeing, JSON numbers at a sensible precision; and the daemon's word on a
SIGHUP without a configuration file."""
import json
import os
import re
import signal
import subprocess
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
    time.sleep(0.5)  # subscribed
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


TESTS = [
    ("event_count_timeout", t_event_count_timeout),
    ("sighup_without_config_file", t_sighup_without_config_file),
]
