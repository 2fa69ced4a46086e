# SPDX-License-Identifier: Apache-2.0
"""What the parsers must refuse, end to end: requests with escaped NULs,
lenient or non-finite JSON and strings that are not UTF-8, each answered with
{"error": ...} by a running daemon that goes on serving; and configurations
the daemon would refuse at start, which --check-config must refuse too, with
file:line."""
import json
import os
import socket
import subprocess
import tempfile

from harness import *  # noqa: F401,F403

# (request line, words the error must hold)
BAD_REQUESTS = [
    # an escaped NUL: C strings end there ("op\u0000x" would be "op")
    (b'{"op": "cgroup.show", "cgroup": "cgprobe-test\\u0000/../x"}', ['"cgroup"', "NUL"]),
    (b'{"op": "\\u0000"}', ['"op"', "NUL"]),
    (b'{"op": "ping\\u0000x"}', ['"op"', "NUL"]),
    (b'{"op": "map.dump", "map": "cg_slot\\u0000x"}', ['"map"', "NUL"]),
    (b'{"op": "subscribe", "events": ["onset", "x\\u0000"]}', ['"events[1]"', "NUL"]),
    (b'{"op\\u0000x": "ping"}', ["key", "op\\u0000x", "NUL"]),
    (b'{"op": "ping", "cg_slot\\u0000x": 1}', ["key", "cg_slot", "NUL"]),
    # what json-c's lenient (and even its strict) mode lets through
    (b'{"op": "ping" /* comment */}', ["not valid JSON"]),
    (b'{"op": "ping"} // comment', ["not valid JSON"]),
    (b"{'op': 'ping'}", ["not valid JSON"]),
    (b"{'op': \"ping\"}", ["not valid JSON", "single quote"]),
    (b'{"op": "ping",}', ["not valid JSON"]),
    (b'{"op": "prog.show", "sample_ms": 1.}', ["not valid JSON", "'1.'"]),
    (b'{"op": "prog.show", "sample_ms": 01}', ["not valid JSON"]),
    (b'{"op": "cgroup.show", "cgroup": "a\tb"}', ["not valid JSON", "control character"]),
    # non-finite numbers
    (b'{"op": "threshold.set", "signal": "cpu", "threshold_ns": NaN}',
     ['"threshold_ns"', "finite"]),
    (b'{"op": "prog.show", "sample_ms": Infinity}', ['"sample_ms"', "finite"]),
    (b'{"op": "prog.show", "sample_ms": -Infinity}', ['"sample_ms"', "finite"]),
    (b'{"op": "ping", "x": [1, {"y": 1e400}]}', ['"x[1].y"', "finite"]),
    (b'{"op": NaN}', ['"op"', "finite"]),
    # not UTF-8: replies echo strings, and must stay valid JSON
    (b'{"op": "cgroup.show", "cgroup": "\xff"}', ["UTF-8"]),
    (b'{"op": "cgroup.show", "cgroup": "a\xc0\x80b"}', ['"cgroup"', "UTF-8"]),
    (b'{"op": "cgroup.show", "cgroup": "\xed\xa0\x80"}', ['"cgroup"', "UTF-8"]),
    (b'{"op": "ping", "k\xc0\xaf": 1}', ["key", "UTF-8"]),
]


def t_parse_requests(ctx):
    d = ctx.daemon("parsereq").start()
    for raw, words in BAD_REQUESTS:
        r = d.request(None, raw=raw + b"\n")  # the reply must decode as UTF-8 JSON
        assert set(r) == {"error"}, (raw, r)
        for w in words:
            assert w in r["error"], (raw, w, r)
        assert d.request({"op": "ping"})["ok"], raw
    # all of them on one connection: one error each, in order, then a ping
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(d.sock)
    try:
        s.sendall(b"".join(raw + b"\n" for raw, _ in BAD_REQUESTS) + b'{"op":"ping"}\n')
        f = s.makefile("rb")
        for raw, words in BAD_REQUESTS:
            r = json.loads(f.readline().decode())
            assert "error" in r and words[-1] in r["error"], (raw, r)
        assert json.loads(f.readline().decode())["ok"]
    finally:
        s.close()
    # what looks like those but is fine still works
    ok = b'{"op": "ping", "s": "\\u00e9\\ud83d\\ude00 \\\\u0000", "n": [0, -0.5e-3, 1E+2]}\n'
    assert d.request(None, raw=ok)["ok"]
    r = d.request(None, raw=b'{"op": "cgroup.show", "cgroup": "x\\\\u0000y"}\n')
    assert "no such cgroup" in r.get("error", ""), r
    assert d.proc.poll() is None, d.log()
    assert d.request({"op": "ping"})["ok"]


def check_config(path, *extra):
    return subprocess.run([DAEMON, "--check-config", "--config", path] + list(extra),
                          capture_output=True, text=True, timeout=20)


# (config, line, words): the daemon refuses each at start
BAD_CONFIGS = [
    ("[daemon]\nlog_level = info\n[metrics]\naddress = garbage\n", ":4:",
     ["address", "'garbage'", "IP:PORT"]),
    ("[metrics]\naddress = 127.0.0.1:65536\n", ":2:", ["address", "65536"]),
    ("[metrics]\naddress = localhost:9930\n", ":2:", ["address", "localhost"]),
    ("[metrics]\naddress = ::1:9930\n", ":2:", ["address"]),
    ("[daemon]\nsocket = cgpilot.sock\n", ":2:", ["socket", "absolute"]),
    ("[daemon]\nsocket = /" + "s" * 120 + "\n", ":2:", ["socket", "108"]),
    ("[daemon]\n\nruntime_dir = run/cgpilot\n", ":3:", ["runtime_dir", "absolute"]),
    ("[daemon]\npin_dir = bpf\n", ":2:", ["pin_dir", "absolute"]),
    ("[daemon]\nown_cgroup = ../elsewhere\n", ":2:", ["own_cgroup", "'../elsewhere'"]),
]


def t_parse_check_config(ctx):
    for text, line, words in BAD_CONFIGS:
        d = ctx.daemon("parsecfg", config=text)
        c = check_config(d.conf)
        assert c.returncode == 1 and "configuration OK" not in c.stdout, (text, c)
        assert d.conf + line in c.stderr, (text, c.stderr)
        for w in words:
            assert w in c.stderr, (text, w, c.stderr)
        # the daemon itself says the same and does not start
        r = subprocess.run(d.argv, capture_output=True, text=True, timeout=20)
        assert r.returncode == 1 and d.conf + line in r.stderr, (text, r.stderr)
        d.cleanup()

    # a directory as --config opens and reads as an empty file: an error naming it
    cdir = tempfile.mkdtemp(prefix="cgpilot-itest-confdir-")
    ctx.dirs.append(cdir)
    c = check_config(cdir)
    assert c.returncode == 1 and "configuration OK" not in c.stdout, c
    assert cdir in c.stderr and "directory" in c.stderr, c.stderr
    d = ctx.daemon("parsedir")
    r = subprocess.run(d.argv[:2] + ["--config", cdir] + d.argv[4:], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 1 and cdir in r.stderr and "directory" in r.stderr, r.stderr

    # the command line is checked too (no line to name there)
    ok = ctx.daemon("parseok", config="[metrics]\naddress = [::1]:0\n"
                    "[daemon]\nown_cgroup = none\n")
    c = check_config(ok.conf)
    assert c.returncode == 0 and "configuration OK" in c.stdout, c
    c = check_config(ok.conf, "--metrics-address", "garbage")
    assert c.returncode == 1 and "'garbage'" in c.stderr and "address" in c.stderr, c.stderr
    c = check_config(ok.conf, "--runtime-dir", "/" + "r" * 100)
    assert c.returncode == 1 and "cgpilot.sock" in c.stderr, c.stderr
    for addr in ("127.0.0.1:0", "none", "[::]:9930", "0.0.0.0:65535"):
        c = check_config(ok.conf, "--metrics-address", addr)
        assert c.returncode == 0, (addr, c.stderr)


TESTS = [
    ("parse_requests", t_parse_requests),
    ("parse_check_config", t_parse_check_config),
]
