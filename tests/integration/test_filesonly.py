# SPDX-License-Identifier: Apache-2.0
"""Files-only mode: cgpilotd started with bpf(2) denied by a seccomp filter
(tests/integration/nobpf.c), the real failure of its BPF programs to load.
It must keep serving: say why (the feature missing, named) in its log,
status, node.show and /metrics; take what it can from the kernel's cgroup
files (cpu.stat, PSI) for a cgroup made after it started (found by its walk
of the tree); leave out what only BPF measures rather than export zeros;
and still admit and release containers."""
import json
import os
import re
import subprocess
import time

from harness import *  # noqa: F401,F403

NOBPF = os.path.join(BUILD, "tests", "integration", "nobpf")


def nobpf():
    """The helper, built if this checkout has not built it yet."""
    if not os.path.exists(NOBPF):
        subprocess.run(["make", "-s", "-C", ROOT, "OUT=" + BUILD, NOBPF], check=True,
                       stdout=subprocess.DEVNULL)
    return NOBPF


def files_daemon(ctx, cg, name):
    d = ctx.daemon(name)
    with open(d.conf, "w") as f:
        f.write("[daemon]\nown_cgroup = none\n[telemetry]\npsi_sweep_s = 1\n"
                "[containers]\nroot = %s\n[audit]\ndir = %s/log\n" % (cg.rel("ctrs"), d.dir))
    d.argv = [nobpf()] + d.argv
    return d


def sample(text, name, labels):
    """The value of the sample name{labels}, or None."""
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else None


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def t_filesonly_serves(ctx):
    cg = ctx.cgroups("filesonly", sweep=True)
    d = files_daemon(ctx, cg, "filesonly").start()
    # the clear error, naming what is missing and who denies it
    log = d.log()
    assert "Failed to load the BPF telemetry: bpf(2) denied: EPERM" in log, log
    assert "seccomp filter" in log and "files-only mode" in log, log

    st = d.request({"op": "status"})
    assert st["ok"] and st["pid"] == d.proc.pid, st
    assert st["telemetry"] == "files" and st["telemetry_missing"] == "bpf_syscall", st
    assert "EPERM" in st["telemetry_error"] and "seccomp" in st["telemetry_error"], st
    assert st["features"]["bpf_telemetry"] is False, st["features"]
    assert "bpf_telemetry" in st["missing_features"], st
    # no BPF counters shown as zeros
    for key in ("ringbuf", "slots", "episodes"):
        assert key not in st, (key, st)
    assert set(st["inactive_loops"]) == {"cpu", "io"}, st["inactive_loops"]
    node = json.loads(d.cli("-j", "node", "show").stdout)
    assert node["telemetry"] == "files" and node["telemetry_missing"] == "bpf_syscall", node
    assert "slots" not in node, node
    text = d.cli("node", "status").stdout
    assert "files only, the BPF programs are not loaded: bpf(2) denied" in text, text
    pol = d.request({"op": "policy.show"})["policies"]
    assert "files-only" in pol["cpu"]["inactive"] and "files-only" in pol["io"]["inactive"], pol
    r = d.request({"op": "map.list"})
    assert "not loaded (files-only mode)" in r.get("error", "") and "EPERM" in r["error"], r

    # a cgroup made after the start: found by the walk, figures from its files
    busy = cg.make("busy")
    rel = cg.rel("busy")
    procs = cg.busy(busy, 1)
    label = 'cgroup="%s"' % rel

    def psi_exported():
        m = d.scrape()
        usage = sample(m, "cgpilot_cgroup_cpu_usage_seconds_total", label)
        some = sample(m, "cgpilot_cgroup_pressure_seconds_total",
                      label + ',resource="cpu",kind="some"')
        return m if usage and usage > 0.5 and some is not None else None

    m = wait_until(psi_exported, 20, "cpu.stat and PSI series of " + rel)
    cg.stop(procs)
    assert sample(m, "cgpilot_node_feature_available", 'feature="bpf_telemetry"') == 0, m
    assert sample(m, "cgpilot_telemetry_info", 'source="files",missing="bpf_syscall"') == 1
    # what only BPF measures is absent, not zero
    for fam in ("cgpilot_cgroup_cpu_wait_seconds_total", "cgpilot_cgroup_cpu_seconds_total",
                "cgpilot_cgroup_memory_reclaim_seconds_total", "cgpilot_cgroup_pressure_active",
                "cgpilot_bpf_program_runs_total", "cgpilot_ringbuf_events_total"):
        assert not re.search(r"^%s[{ ]" % fam, m, re.M), fam
        assert "# TYPE %s " % fam not in m, fam
    show = d.show(rel)
    assert show["telemetry"] == "files" and show["cpu"]["usage_usec"] > 500000, show
    assert "wait_ns" not in show["cpu"] and "cpu_wait_ns" not in show, show
    assert "cpu" in show["psi"], show

    # the allocation side serves: admitted, its cgroup made, released
    r = d.request({"op": "container.admit", "name": "web", "cpu_request_mc": 250})
    assert r.get("ok"), r
    c = r["container"]
    full = os.path.join(cg.mount, c["cgroup"])
    assert c["cgroup"] == cg.rel("ctrs/burstable/web") and os.path.isdir(full), c
    assert d.request({"op": "node.show"})["requested"]["cpu_mc"] == 250
    assert d.request({"op": "container.release", "id": c["id"]}) == {"ok": True}
    assert not os.path.exists(full)

    # idle without BPF events, the loop does not spin
    t0 = cpu_seconds(d.proc.pid)
    time.sleep(3)
    spent = cpu_seconds(d.proc.pid) - t0
    assert spent < 0.5, "files-only daemon used %.2f s of CPU in 3 s idle" % spent
    assert d.stop() == 0, d.log()


TESTS = [
    ("filesonly_serves", t_filesonly_serves),
]
