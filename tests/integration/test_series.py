# SPDX-License-Identifier: Apache-2.0
"""Which cgroups /metrics exports and what each exported cgroup has: the
ranking under the cap (containers first, then the busiest, stably), every
counter present from 0, pressure_active 0 when quiet, the identity info
metric, subtree sums that never go back, and the CLI's views of the same
(cgroup list's identity column, cgroup show, cgroup tree)."""
import json
import os
import time

from harness import wait_until

UID = "0b9e4a6c-1f7d-4c2e-9a55-3e2f1c0d8b77"
CID = "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"


def series(text, family):
    """{cgroup: [label sets]} of a family's samples."""
    out = {}
    for line in text.splitlines():
        if not line.startswith(family + "{"):
            continue
        labels = line[len(family) + 1:line.rindex("}")]
        cg = labels.split('cgroup="', 1)[1].split('"', 1)[0]
        out.setdefault(cg, []).append((labels, float(line.rsplit(" ", 1)[1])))
    return out


def exported(text):
    return set(series(text, "cgpilot_cgroup_cpu_seconds_total"))


def value(text, family, cgroup, extra=""):
    for labels, v in series(text, family).get(cgroup, []):
        if extra in labels:
            return v
    return None


def t_series_present_from_zero(ctx):
    """A cgroup that ran anything has every counter from 0 and
    pressure_active 0 for each signal; one that never ran has no series."""
    cgs = ctx.cgroups("zero")
    ran = cgs.make("ran")
    cgs.make("never")
    d = ctx.daemon("zero").start()
    assert cgs.spawn(ran, ["true"]).wait(10) == 0
    r = cgs.rel("ran")
    # (its wait is counted at switch-in, its CPU time at the last switch-out)
    wait_until(lambda: (value(d.scrape(), "cgpilot_cgroup_cpu_seconds_total", r) or 0) > 0, 10,
               "the CPU time of the cgroup that ran")
    text = d.scrape()
    for fam, extra in (("cgpilot_cgroup_oom_kills_total", ""),
                       ("cgpilot_cgroup_memory_reclaim_seconds_total", "")):
        assert value(text, fam, r, extra) == 0, (fam, extra, value(text, fam, r, extra))
    # one sample per signal, 0 or 1 (on a loaded machine even `true` may wait
    # a window past the CPU threshold; test_promql checks the quiet share)
    for sig in ("cpu", "memory", "io"):
        v = value(text, "cgpilot_cgroup_pressure_active", r, 'signal="%s"' % sig)
        assert v in (0, 1), (sig, v)
    # present, whatever `true`'s exec read from the disk
    for fam, extra in (("cgpilot_cgroup_io_wait_seconds_total", ""),
                       ("cgpilot_cgroup_io_bytes_total", 'direction="read"'),
                       ("cgpilot_cgroup_io_operations_total", 'direction="write"'),
                       ("cgpilot_cgroup_context_switches_total", 'kind="involuntary"')):
        assert value(text, fam, r, extra) is not None, (fam, extra)
    assert value(text, "cgpilot_cgroup_info", r) == 1
    never = 'cgroup="%s"' % cgs.rel("never")
    assert never not in text, [l for l in text.splitlines() if never in l]
    # histograms stay sparse: nothing waited in I/O here
    assert r not in series(text, "cgpilot_cgroup_io_latency_seconds_bucket")


def t_series_cap_ranks(ctx):
    """At the cap, managed containers are exported first even when idle,
    then the busiest; the set is the same scrape after scrape; a released
    container's slot goes to a busy cgroup."""
    cgs = ctx.cgroups("rank", sweep=True)
    hot = cgs.make("hot")
    d = ctx.daemon("rank")
    with open(d.conf, "w") as f:
        f.write("[daemon]\nown_cgroup = none\n[metrics]\nmax_series_cgroups = 4\n"
                "[containers]\nroot = %s\nstart_deadline_s = 600\n[audit]\ndir = %s/log\n"
                % (cgs.rel("ctrs"), d.dir))
    d.start()
    ids = []
    for name in ("a", "b"):
        r = d.request({"op": "container.admit", "name": name})
        assert r.get("ok") and not r.get("queued"), r
        ids.append(r["container"]["id"])
    busy = cgs.busy(hot, 1)
    time.sleep(2.5)
    sets = []
    for _ in range(4):
        text = d.scrape()
        n = value(text.replace("cgpilot_cgroups_exported ", "cgpilot_cgroups_exported{cgroup=\"\"} "),
                  "cgpilot_cgroups_exported", "")
        assert n == 4, n
        sets.append(exported(text))
        time.sleep(1.1)
    a, b, parent = cgs.rel("ctrs/burstable/a"), cgs.rel("ctrs/burstable/b"), cgs.rel("ctrs/burstable")
    for s in sets:
        assert {a, b, parent} <= s, s  # idle, but containers and their parent rank first
    assert all(s == sets[0] for s in sets), sets  # stable between scrapes
    # the parent of containers is a subtree root, its sums exported
    assert value(sets and text, "cgpilot_subtree_cpu_seconds_total", parent) is not None
    info = series(text, "cgpilot_cgroup_info")
    assert any('class="burstable"' in l and 'engine="cgpilot"' in l and 'container_id="a"' in l
               for l, _ in info[a]), info[a]
    # the busy one is in once a container goes (if the machine's own are not busier)
    r = d.request({"op": "container.release", "id": ids[0]})
    assert r.get("ok"), r
    r = d.request({"op": "container.release", "id": ids[1]})
    assert r.get("ok"), r
    wait_until(lambda: cgs.rel("hot") in exported(d.scrape()) or
               len(exported(d.scrape()) - sets[0]) >= 2, 10,
               "the freed slots to be taken by busy cgroups")
    cgs.stop(busy)


def t_series_identity_and_subtree(ctx):
    """A kubelet-shaped tree: the info metric names the pod (UID with '-'
    from the systemd driver's '_'), QoS, container and engine; the pod's
    subtree sums hold its containers' CPU and never go back when a
    container's cgroup is removed; the CLI shows the same."""
    cgs = ctx.cgroups("ident", sweep=True)
    fs_pod = cgs.make("kubepods")
    cgs.make("kubepods/burstable")
    fs_pod = cgs.make("kubepods/burstable/pod" + UID)
    fs_ctr = cgs.make("kubepods/burstable/pod%s/%s" % (UID, CID))
    cgs.make("kubepods.slice")
    cgs.make("kubepods.slice/kubepods-besteffort.slice")
    sd_pod_rel = ("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod%s.slice"
                  % UID.replace("-", "_"))
    cgs.make(sd_pod_rel)
    sd_ctr = cgs.make(sd_pod_rel + "/cri-containerd-%s.scope" % CID)
    d = ctx.daemon("ident", config="[daemon]\nown_cgroup = none\n").start()
    ps = cgs.busy(fs_ctr, 1) + cgs.busy(sd_ctr, 1)
    time.sleep(2.5)
    pod, ctr = cgs.rel("kubepods/burstable/pod" + UID), cgs.rel("kubepods/burstable/pod%s/%s" % (UID, CID))
    sd_pod, sd_c = cgs.rel(sd_pod_rel), cgs.rel(sd_pod_rel + "/cri-containerd-%s.scope" % CID)
    text = d.scrape()
    info = {cg: l[0][0] for cg, l in series(text, "cgpilot_cgroup_info").items()}
    assert 'pod_uid="%s"' % UID in info[pod] and 'qos="burstable"' in info[pod], info[pod]
    assert 'kind="pod"' in info[pod] and "container_id" not in info[pod], info[pod]
    assert 'container_id="%s"' % CID in info[ctr] and 'pod_uid="%s"' % UID in info[ctr], info[ctr]
    assert 'pod_uid="%s"' % UID in info[sd_pod] and 'qos="besteffort"' in info[sd_pod], info[sd_pod]
    assert 'engine="containerd"' in info[sd_c] and 'container_id="%s"' % CID in info[sd_c], info[sd_c]
    # the pod's subtree holds its container's CPU; its own tasks are none
    own = value(text, "cgpilot_cgroup_cpu_seconds_total", pod) or 0
    sub = value(text, "cgpilot_subtree_cpu_seconds_total", pod)
    c_cpu = value(text, "cgpilot_cgroup_cpu_seconds_total", ctr)
    assert own == 0 and sub >= c_cpu > 0.5, (own, sub, c_cpu)
    assert value(text, "cgpilot_subtree_cpu_seconds_total", cgs.rel("kubepods")) >= sub
    # the CLI: the list's identity column, show's identity, the tree's sums
    lst = d.cli("cgroup", "list").stdout
    line = [l for l in lst.splitlines() if l.rstrip().endswith(ctr) or ctr in l]
    assert line and ("pod " + UID[:8]) in line[0] and CID[:12] in line[0], (line, lst[:2000])
    shown = json.loads(d.cli("-j", "cgroup", "show", ctr).stdout)["cgroup"]
    assert shown["identity"]["pod_uid"] == UID and shown["identity"]["container_id"] == CID, shown
    tree = json.loads(d.cli("-j", "cgroup", "tree", cgs.rel("kubepods")).stdout)
    nodes = {n["path"]: n for n in tree["nodes"]}
    assert nodes[pod]["subtree"]["cpu_ns"] >= nodes[ctr]["own"]["cpu_ns"] > 5e8, nodes[pod]
    assert nodes[pod]["depth"] == 2 and nodes[ctr]["depth"] == 3, nodes
    human = d.cli("cgroup", "tree", cgs.rel("kubepods")).stdout
    assert "pod" + UID in human and CID in human, human
    # a container goes: the pod's sum stays (counters never go back)
    cgs.stop(ps[:1])
    before = value(d.scrape(), "cgpilot_subtree_cpu_seconds_total", pod)
    os.rmdir(fs_ctr)
    cgs.made.remove(fs_ctr)
    wait_until(lambda: ctr not in exported(d.scrape()), 15, "the container's series to go")
    time.sleep(3)  # past the model's grace period: the cgroup is retired
    after = value(d.scrape(), "cgpilot_subtree_cpu_seconds_total", pod)
    assert after >= before > 0.5, (before, after)
    cgs.stop(ps)


TESTS = [
    ("series_present_from_zero", t_series_present_from_zero),
    ("series_cap_ranks", t_series_cap_ranks),
    ("series_identity_and_subtree", t_series_identity_and_subtree),
]


def t_series_hostile_identity(ctx):
    """Names a local user may give cgroups, shaped like containers and units
    (quotes, backslashes, tabs, bytes that are not UTF-8): the info series
    carry them escaped or %-encoded, and the exposition stays valid."""
    import shutil
    import subprocess
    from harness import Skip
    if not shutil.which("promtool"):
        raise Skip("promtool not installed (package prometheus)")
    cgs = ctx.cgroups("hostid", sweep=True)
    cgs.make("kubepods")
    pod = cgs.make("kubepods/pod" + UID)
    odd = ['q"uote\\<b>', "tab\tctr"]
    paths = [os.path.join(pod, n).encode() for n in odd]
    paths.append(os.path.join(cgs.parent, "").encode() + b"\xff\xfe.service")
    for p in paths:
        os.mkdir(p)
    d = ctx.daemon("hostid", config="[daemon]\nown_cgroup = none\n").start()
    for p in paths:
        def pre(p=p):
            with open(os.path.join(p, b"cgroup.procs"), "w") as f:
                f.write("0")
        assert subprocess.Popen(["true"], preexec_fn=pre).wait(10) == 0
    wait_until(lambda: d.scrape().count('pod_uid="%s"' % UID) >= 3 and
               "%FF%FE.service" in d.scrape(), 10, "the odd cgroups' info series")
    text = d.scrape()
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    info = "\n".join(l for l in text.splitlines() if l.startswith("cgpilot_cgroup_info{"))
    assert 'container_id="q\\"uote\\\\<b>"' in info, info
    assert 'container_id="tab%09ctr"' in info, info
    assert 'unit="%FF%FE.service"' in info, info
    j = d.request({"op": "cgroup.list"})
    ids = [c["identity"].get("container_id") for c in j["cgroups"]]
    assert 'q"uote\\<b>' in ids, ids


TESTS.append(("series_hostile_identity", t_series_hostile_identity))
