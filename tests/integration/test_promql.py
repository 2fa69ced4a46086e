# SPDX-License-Identifier: Apache-2.0
"""PromQL against a real Prometheus scraping a real daemon: every query of
the Grafana dashboard (packaging/grafana/cgpilot.json) returns data, and
every query the docs show gives the answer the workload must produce.

The docs' queries are the lines of the ```promql blocks of README.md and
docs/*.md (a line indented under a query continues it; a "# ..." comment
ends it) and the query= of a curl command there. Each must have a check in
DOC_CHECKS below, and each check's query must still be in the docs: the
test fails either way, so the docs and the checks cannot drift apart.

One daemon, one Prometheus scraping it every second, one workload of known
shape, all below the test's own parent cgroup:
  A    kubepods/burstable/pod<uid>/<64 hex>: a pod's container, two busy
       loops on CPU 0 the whole time (so it waits for a CPU and stays in a
       CPU onset episode) and direct I/O to a file in a loop;
  POD  the pod's cgroup, which runs nothing itself (every counter at 0);
  B    ctrs/besteffort/batch, a container the daemon admitted: two busy
       loops on CPU 0 in the first phase only, so its episode ends and its
       cgpilot_cgroup_pressure_active is 0 for the second phase.
The kernel's BPF run-time statistics are held on meanwhile (BPF_ENABLE_STATS,
released when the test ends), so the programs' cost moves."""
import ctypes
import glob
import json
import math
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from harness import *  # noqa: F401,F403
from harness import ROOT
from test_containers import admit, ctr_daemon, mark_started

DASHBOARD = os.path.join(ROOT, "packaging", "grafana", "cgpilot.json")
DOCS = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
# Grafana's own variables, as a Grafana on a 1 s scrape interval would fill them in
GRAFANA_GLOBALS = {"__rate_interval": "30s", "__interval": "5s", "__range": "1m"}
PANEL_TYPES = {"row", "timeseries", "stat", "table", "heatmap"}


# ---- Prometheus ----

class Prom:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def api(self, path, **params):
        url = "%s/api/v1/%s?%s" % (self.base, path, urllib.parse.urlencode(params, doseq=True))
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            body = json.load(e)
        if body.get("status") != "success":
            raise AssertionError("Prometheus refused it: %s: %s" % (body.get("errorType"),
                                                                    body.get("error")))
        return body["data"]

    def ready(self):
        try:
            with urllib.request.urlopen(self.base + "/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False


class Sample:
    def __init__(self, labels, value):
        self.labels, self.value = labels, value

    def __repr__(self):
        return "%s=%r" % (self.labels.get("cgroup", self.labels), self.value)


class World:
    """The workload's cgroups, the daemon, and the instant at which every
    doc query is evaluated (one instant, so that answers can be compared)."""

    def __init__(self, prom, d, cgs, a, pod, b, pod_uid, target):
        self.prom, self.d, self.cgs = prom, d, cgs
        self.A, self.POD, self.B, self.pod_uid, self.target = a, pod, b, pod_uid, target
        self.t = self.first = None

    def per_second(self, v, window):
        """v, a rate() over window seconds, as the rate over the part of the
        window that has samples: Prometheus divides by the whole window, and
        every series of the workload begins at the first scrape."""
        return v * window / min(window, self.t - self.first)

    def ask(self, expr):
        """The instant vector of expr at self.t: [Sample]."""
        data = self.prom.api("query", query=expr, time="%.3f" % self.t)
        if data["resultType"] == "scalar":
            return [Sample({}, float(data["result"][1]))]
        assert data["resultType"] == "vector", (expr, data["resultType"])
        return [Sample(s["metric"], float(s["value"][1])) for s in data["result"]]

    def one(self, expr, cgroup, **labels):
        """The value of the only sample of expr for cgroup (and labels)."""
        want = dict(labels, cgroup=cgroup)
        got = [s for s in self.ask(expr) if all(s.labels.get(k) == v for k, v in want.items())]
        assert len(got) == 1, "%s: %d samples for %s, expected one" % (expr, len(got), want)
        return got[0].value


def same(x, y):
    return (math.isnan(x) and math.isnan(y)) or x == y or abs(x - y) <= 1e-9 * max(abs(x), abs(y))


def key(s):
    return tuple(sorted(s.labels.items()))


def within(v, lo, hi, what):
    assert lo <= v <= hi, "%s is %r, expected %r..%r" % (what, v, lo, hi)


# ---- the answers the docs' queries must give ----

def top(w, q, k, inner, ours, lo, hi, also=(), window=None):
    """q is topk(k, inner): at most k series, each inner's own value; ours
    (a cgroup) has an inner value in lo..hi (per second of the samples when
    inner is a rate over window seconds) and is in the answer if it ranks
    (another test's load may outrank it); so are the cgroups of also."""
    res, full = w.ask(q), w.ask(inner)
    byk = {key(s): s.value for s in full}
    assert len(res) == min(k, len(full)), "%d series of %d, k = %d" % (len(res), len(full), k)
    for s in res:
        assert key(s) in byk and same(byk[key(s)], s.value), ("not inner's", s)
    v = w.one(inner, ours)
    within(w.per_second(v, window) if window else v, lo, hi, "%s of %s" % (inner, ours))
    kth = min((s.value for s in res if not math.isnan(s.value)), default=-math.inf)
    for cg in (ours,) + tuple(also):
        mine = [s for s in res if s.labels.get("cgroup") == cg]
        if w.one(inner, cg) > kth:
            assert mine, "%s ranks (%r > %r) but is not in the answer %s" % (cg, v, kth, res)
    return res


def zero_for_idle(w, expr, cgroups):
    """A counter that never moved is present at 0 (exposed from 0)."""
    for cg in cgroups:
        assert w.one(expr, cg) == 0, (expr, cg)


def filtered(w, q, unfiltered, pred):
    """q is unfiltered with a comparison: exactly its samples for which pred holds."""
    res = {key(s): s.value for s in w.ask(q)}
    want = {key(s): s.value for s in w.ask(unfiltered) if pred(s.value)}
    assert set(res) == set(want) and all(same(res[x], want[x]) for x in res), (res, want)
    return w.ask(unfiltered)


def chk_wait_top(k):
    def chk(w, q):
        top(w, q, k, "rate(cgpilot_cgroup_cpu_wait_seconds_total[5m])", w.A, 0.2, 4,
            also=(w.B,), window=300)
    return chk


def chk_wait_ratio(w, q):
    # two tasks on one CPU: each waits at least while the other runs; longer
    # beside B's two and whatever else runs there
    top(w, q, 10, "rate(cgpilot_cgroup_cpu_wait_seconds_total[5m]) / "
        "rate(cgpilot_cgroup_cpu_seconds_total[5m])", w.A, 0.7, 50)


def chk_wait_p99(w, q):
    for cg in (w.A, w.B):
        # a busy loop waits a scheduler slice or a few of them
        within(w.one(q, cg), 0.0005, 0.27, "p99 run-queue wait of " + cg)
    assert all(math.isnan(s.value) or s.value >= 0 for s in w.ask(q))


def chk_preempted(w, q):
    top(w, q, 10, 'rate(cgpilot_cgroup_context_switches_total{kind="involuntary"}[5m])', w.A,
        10, 1e5, window=300)


def chk_subtree(w, q):
    parts = w.ask('rate(cgpilot_cgroup_cpu_wait_seconds_total{cgroup=~"system.slice/.*"}[5m])')
    res = w.ask(q)
    if not parts:
        assert res == [], res
    else:
        assert len(res) == 1 and same(round(res[0].value, 6),
                                      round(sum(s.value for s in parts), 6)), (res, parts)
    # the same shape over the test's own tree: the sum of its cgroups' own
    mine = w.ask('sum(rate(cgpilot_cgroup_cpu_wait_seconds_total{cgroup=~"%s/.*"}[5m]))'
                 % w.cgs.rel_parent)
    a = w.one("rate(cgpilot_cgroup_cpu_wait_seconds_total[5m])", w.A)
    b = w.one("rate(cgpilot_cgroup_cpu_wait_seconds_total[5m])", w.B)
    assert len(mine) == 1 and mine[0].value >= a + b - 1e-9, (mine, a, b)


def chk_reclaim_bpf(w, q):
    top(w, q, 10, "rate(cgpilot_cgroup_memory_reclaim_seconds_total[5m])", w.A, 0, 0.5,
        window=300)
    zero_for_idle(w, "rate(cgpilot_cgroup_memory_reclaim_seconds_total[5m])", [w.POD])


def chk_reclaim_psi(w, q):
    top(w, q, 10, 'rate(cgpilot_cgroup_pressure_seconds_total{resource="memory",kind="full"}[5m])',
        w.A, 0, 1, window=300)


def chk_oom(w, q):
    # none of the workload's cgroups had one; each has the counter at 0, so
    # its first OOM kill would show
    full = filtered(w, q, "increase(cgpilot_cgroup_oom_kills_total[1h])", lambda v: v > 0)
    zero_for_idle(w, "increase(cgpilot_cgroup_oom_kills_total[1h])", [w.A, w.POD, w.B])
    assert full, "no cgroup has cgpilot_cgroup_oom_kills_total"


def chk_io_mean(w, q):
    top(w, q, 10, "rate(cgpilot_cgroup_io_latency_seconds_sum[5m]) / "
        "rate(cgpilot_cgroup_io_latency_seconds_count[5m])", w.A, 1e-6, 1)


def chk_io_p99(w, q):
    within(w.one(q, w.A), 1e-6, 8.4, "p99 block I/O latency of " + w.A)


def chk_io_wait(w, q):
    top(w, q, 10, "rate(cgpilot_cgroup_io_wait_seconds_total[5m])", w.A, 1e-5, 2, window=300)
    zero_for_idle(w, "rate(cgpilot_cgroup_io_wait_seconds_total[5m])", [w.POD, w.B])


def chk_io_psi(w, q):
    top(w, q, 10, 'rate(cgpilot_cgroup_pressure_seconds_total{resource="io",kind="some"}[5m])',
        w.A, 0, 1, window=300)


def chk_io_bytes(w, q):
    # 1 MiB written and read back every few tenths of a second
    for d in ("read", "write"):
        within(w.per_second(w.one(q, w.A, direction=d), 300), 64 << 10, 1 << 30,
               "%s bytes per second of %s" % (d, w.A))
    for cg in (w.POD, w.B):
        for d in ("read", "write"):
            assert w.one(q, cg, direction=d) == 0, (cg, d)


def chk_active_now(w, q):
    full = filtered(w, q, "cgpilot_cgroup_pressure_active", lambda v: v == 1)
    assert w.one(q, w.A, signal="cpu") == 1
    # B's episode ended: 0, not absent; so with every signal of every cgroup
    for sig in ("cpu", "memory", "io"):
        assert w.one("cgpilot_cgroup_pressure_active", w.B, signal=sig) == 0, sig
        assert w.one("cgpilot_cgroup_pressure_active", w.POD, signal=sig) == 0, sig
    assert all(s.value in (0, 1) for s in full), full


def chk_active_share(w, q):
    inner = 'avg_over_time(cgpilot_cgroup_pressure_active{signal="cpu"}[1h])'
    top(w, q, 10, inner, w.A, 0.8, 1)
    # B was in an episode for the first phase only: the time after counts as 0
    within(w.one(inner, w.B), 0.05, 0.95, "share of the time B was in a CPU episode")
    assert w.one(inner, w.POD) == 0


def chk_drops(w, q):
    full = filtered(w, q, "sum by (type) (increase(cgpilot_ringbuf_drops_total[15m]))",
                    lambda v: v > 0)
    # every event type has its counter, from 0
    types = {s.labels["type"] for s in w.ask("cgpilot_ringbuf_events_total")}
    assert types and {s.labels["type"] for s in full} == types, (full, types)


def chk_capped(w, q):
    obs = w.ask("cgpilot_cgroups_observed")
    exp = w.ask("cgpilot_cgroups_exported")
    assert len(obs) == len(exp) == 1 and exp[0].value <= obs[0].value, (obs, exp)
    res = w.ask(q)
    if obs[0].value > exp[0].value:
        assert len(res) == 1 and res[0].value == obs[0].value - exp[0].value, res
    else:
        assert res == [], res


def chk_daemon_cpu(w, q):
    res = w.ask(q)
    assert len(res) == 1, res
    within(res[0].value, 1e-6, 1, "the daemon's CPU in cores")


def chk_daemon_rss(w, q):
    res = w.ask(q)
    with open("/proc/%d/status" % w.d.proc.pid) as f:
        rss = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024
    assert len(res) == 1, res
    within(res[0].value, rss / 2, rss * 2, "resident memory (VmRSS %d)" % rss)


def chk_telemetry_only(w, q):
    res = w.ask(q)
    missing = w.d.request({"op": "status"})["missing_controllers"]
    assert len(res) == (1 if missing else 0), (res, missing)



# docs/kubernetes.md: the same questions by pod, container and QoS class

INFO_JOIN = " * on(instance, cgroup) group_left(%s) cgpilot_cgroup_info%s"


def labelled(w, expr, cgroup, **labels):
    """The only sample of expr for cgroup, with exactly these labels' values."""
    got = [s for s in w.ask(expr) if s.labels.get("cgroup") == cgroup]
    assert len(got) == 1, "%s: %d samples for %s" % (expr, len(got), cgroup)
    for k, v in labels.items():
        assert got[0].labels.get(k) == v, "%s of %s is %r, not %r" % (k, cgroup,
                                                                     got[0].labels.get(k), v)
    return got[0].value


def at_least(sub, part, what):
    assert sub >= part * 0.99 - 1e-9, "%s: %r < %r" % (what, sub, part)


def chk_k8s_pods_wait(w, q):
    inner = "rate(cgpilot_subtree_cpu_wait_seconds_total[5m])" + \
        INFO_JOIN % ("pod_uid, qos", '{kind="pod"}')
    top(w, q, 10, inner, w.POD, 0.2, 4, window=300)
    v = labelled(w, inner, w.POD, pod_uid=w.pod_uid, qos="burstable")
    # the pod's sum holds its container's own wait
    at_least(v, w.one("rate(cgpilot_cgroup_cpu_wait_seconds_total[5m])", w.A), "pod vs. A")


def chk_k8s_ctr_reclaim(w, q):
    inner = "rate(cgpilot_cgroup_memory_reclaim_seconds_total[5m])" + \
        INFO_JOIN % ("pod_uid, container_id", '{kind="container"}')
    top(w, q, 10, inner, w.A, 0, 0.5, window=300)
    labelled(w, inner, w.A, pod_uid=w.pod_uid, container_id=w.A.rsplit("/", 1)[1])


def chk_k8s_oom(w, q):
    unfiltered = "increase(cgpilot_cgroup_oom_kills_total[1h])" + \
        INFO_JOIN % ("pod_uid, container_id", "")
    filtered(w, q, unfiltered, lambda v: v > 0)
    # the container's counter is there at 0, named by its pod and ID
    assert labelled(w, unfiltered, w.A, pod_uid=w.pod_uid,
                    container_id=w.A.rsplit("/", 1)[1]) == 0


def chk_k8s_pods_active(w, q):
    unfiltered = "max by (pod_uid, signal) (cgpilot_cgroup_pressure_active" + \
        INFO_JOIN % ("pod_uid", '{pod_uid!=""}') + ")"
    full = filtered(w, q, unfiltered, lambda v: v == 1)
    mine = {s.labels["signal"]: s.value for s in full if s.labels.get("pod_uid") == w.pod_uid}
    # A, the pod's container, waits for CPU 0 the whole time
    assert mine == {"cpu": 1, "memory": 0, "io": 0}, mine


def chk_k8s_qos(metric, local, lo):
    def chk(w, q):
        res = w.ask(q)
        burstable = "%s/kubepods/burstable" % w.cgs.rel_parent
        root = "%s/kubepods" % w.cgs.rel_parent
        v = labelled(w, q, burstable, qos="burstable")
        within(w.per_second(v, 300), lo, 4, "%s of %s" % (metric, burstable))
        at_least(v, w.one("rate(%s[5m])" % local, w.A), "QoS parent vs. A")
        at_least(labelled(w, q, root), v, "kubepods vs. its QoS parent")
        assert all(s.labels.get("cgroup", "").endswith("kubepods") or "qos" in s.labels
                   for s in res), res
    return chk

DOC_CHECKS = {
    "topk(10, rate(cgpilot_cgroup_cpu_wait_seconds_total[5m]))": chk_wait_top(10),
    "topk(5, rate(cgpilot_cgroup_cpu_wait_seconds_total[5m]))": chk_wait_top(5),
    "topk(10, rate(cgpilot_cgroup_cpu_wait_seconds_total[5m]) / "
    "rate(cgpilot_cgroup_cpu_seconds_total[5m]))": chk_wait_ratio,
    "histogram_quantile(0.99, sum by (cgroup, le) "
    "(rate(cgpilot_cgroup_cpu_wait_seconds_bucket[5m])))": chk_wait_p99,
    'topk(10, rate(cgpilot_cgroup_context_switches_total{kind="involuntary"}[5m]))':
        chk_preempted,
    'sum(rate(cgpilot_cgroup_cpu_wait_seconds_total{cgroup=~"system.slice/.*"}[5m]))':
        chk_subtree,
    "topk(10, rate(cgpilot_cgroup_memory_reclaim_seconds_total[5m]))": chk_reclaim_bpf,
    'topk(10, rate(cgpilot_cgroup_pressure_seconds_total{resource="memory",kind="full"}[5m]))':
        chk_reclaim_psi,
    "increase(cgpilot_cgroup_oom_kills_total[1h]) > 0": chk_oom,
    "topk(10, rate(cgpilot_cgroup_io_latency_seconds_sum[5m]) / "
    "rate(cgpilot_cgroup_io_latency_seconds_count[5m]))": chk_io_mean,
    "histogram_quantile(0.99, sum by (cgroup, le) "
    "(rate(cgpilot_cgroup_io_latency_seconds_bucket[5m])))": chk_io_p99,
    "topk(10, rate(cgpilot_cgroup_io_wait_seconds_total[5m]))": chk_io_wait,
    'topk(10, rate(cgpilot_cgroup_pressure_seconds_total{resource="io",kind="some"}[5m]))':
        chk_io_psi,
    "sum by (cgroup, direction) (rate(cgpilot_cgroup_io_bytes_total[5m]))": chk_io_bytes,
    "cgpilot_cgroup_pressure_active == 1": chk_active_now,
    'topk(10, avg_over_time(cgpilot_cgroup_pressure_active{signal="cpu"}[1h]))':
        chk_active_share,
    "sum by (type) (increase(cgpilot_ringbuf_drops_total[15m])) > 0": chk_drops,
    "cgpilot_cgroups_observed - cgpilot_cgroups_exported > 0": chk_capped,
    "sum(rate(cgpilot_daemon_cpu_seconds_total[5m]))": chk_daemon_cpu,
    "cgpilot_daemon_resident_memory_bytes": chk_daemon_rss,
    'cgpilot_node_feature_available{feature="controllers_complete"} == 0': chk_telemetry_only,
    "topk(10, rate(cgpilot_subtree_cpu_wait_seconds_total[5m]) * on(instance, cgroup) "
    'group_left(pod_uid, qos) cgpilot_cgroup_info{kind="pod"})': chk_k8s_pods_wait,
    "topk(10, rate(cgpilot_cgroup_memory_reclaim_seconds_total[5m]) * on(instance, cgroup) "
    'group_left(pod_uid, container_id) cgpilot_cgroup_info{kind="container"})':
        chk_k8s_ctr_reclaim,
    "increase(cgpilot_cgroup_oom_kills_total[1h]) * on(instance, cgroup) "
    "group_left(pod_uid, container_id) cgpilot_cgroup_info > 0": chk_k8s_oom,
    "max by (pod_uid, signal) (cgpilot_cgroup_pressure_active * on(instance, cgroup) "
    'group_left(pod_uid) cgpilot_cgroup_info{pod_uid!=""}) == 1': chk_k8s_pods_active,
    "rate(cgpilot_subtree_cpu_seconds_total[5m]) * on(instance, cgroup) group_left(qos) "
    'cgpilot_cgroup_info{kind="kubepods"}':
        chk_k8s_qos("cgpilot_subtree_cpu_seconds_total", "cgpilot_cgroup_cpu_seconds_total",
                    0.1),
    "rate(cgpilot_subtree_io_wait_seconds_total[5m]) * on(instance, cgroup) group_left(qos) "
    'cgpilot_cgroup_info{kind="kubepods"}':
        chk_k8s_qos("cgpilot_subtree_io_wait_seconds_total",
                    "cgpilot_cgroup_io_wait_seconds_total", 1e-5),
}


# ---- the docs' queries ----

def norm(q):
    return " ".join(q.split())


def strip_comment(line):
    """line without a trailing "# ..." outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote and line[i - 1] != "\\":
                quote = None
        elif ch in "\"'`":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def doc_queries():
    """[(where, query)] of every PromQL query the docs show."""
    found = []
    for path in DOCS:
        with open(path) as f:
            lines = f.read().splitlines()
        fence, prev = None, None
        for n, line in enumerate(lines, 1):
            where = "%s:%d" % (os.path.relpath(path, ROOT), n)
            if line.lstrip().startswith("```"):
                fence = line.strip()[3:].strip() if fence is None else None
                prev = None
                continue
            if fence == "promql":
                text = strip_comment(line).rstrip()
                if not text.strip():
                    prev = None
                elif prev is not None and text[:1].isspace():
                    found[prev] = (found[prev][0], found[prev][1] + " " + text.strip())
                else:
                    found.append((where, text.strip()))
                    prev = len(found) - 1
            elif fence is not None:
                for m in re.finditer(r"(['\"])query=(.+?)\1", line):
                    found.append((where, m.group(2)))
    return found


# ---- the dashboard ----

def all_panels(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


def variables(text):
    return set(re.findall(r"\$\{?(\w+)", text))


def substitute(text, values):
    def one(m):
        name = m.group(1) or m.group(2)
        if name not in values:
            raise AssertionError("unknown variable $%s" % name)
        return values[name]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, text)


def check_shape(dash):
    """What Grafana's dashboard model asks of a dashboard to import: a
    list of what is wrong."""
    bad = []
    for k in ("title", "uid", "panels", "templating", "time", "schemaVersion", "annotations"):
        if k not in dash:
            bad.append("no %s" % k)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", dash.get("uid", "")):
        bad.append("uid %r: 1 to 40 of [A-Za-z0-9_-]" % dash.get("uid"))
    if dash.get("schemaVersion", 0) < 37:
        bad.append("schemaVersion %r < 37" % dash.get("schemaVersion"))
    tvars = {v["name"]: v for v in dash["templating"]["list"]}
    ds = tvars.get("datasource", {})
    if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        bad.append("no datasource variable of type prometheus")
    for v in tvars.values():
        if v["type"] == "query":
            if v.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
                bad.append("variable %s: datasource is not ${datasource}" % v["name"])
            if not re.fullmatch(r"label_values\((.+), *(\w+)\)", v["query"]) or \
                    v.get("definition") != v["query"]:
                bad.append("variable %s: query %r" % (v["name"], v["query"]))
    known = set(tvars) | set(GRAFANA_GLOBALS)
    ids, boxes = set(), []
    for p in all_panels(dash):
        name = "panel %r (id %s)" % (p.get("title"), p.get("id"))
        if not isinstance(p.get("id"), int) or p["id"] in ids:
            bad.append(name + ": id missing or not unique")
        ids.add(p.get("id"))
        if p.get("type") not in PANEL_TYPES:
            bad.append(name + ": type %r" % p.get("type"))
        g = p.get("gridPos", {})
        if not (1 <= g.get("w", 0) <= 24 and 0 <= g.get("x", -1) and g["x"] + g["w"] <= 24
                and g.get("h", 0) >= 1 and g.get("y", -1) >= 0):
            bad.append(name + ": gridPos %r" % g)
        else:
            for other, og in boxes:
                if g["x"] < og["x"] + og["w"] and og["x"] < g["x"] + g["w"] and \
                        g["y"] < og["y"] + og["h"] and og["y"] < g["y"] + g["h"]:
                    bad.append("%s overlaps %s" % (name, other))
            boxes.append((name, g))
        for v in variables(p.get("title", "")) - known:
            bad.append(name + ": title names $%s" % v)
        if p["type"] == "row":
            if p.get("collapsed") or p.get("panels"):
                bad.append(name + ": rows are open, their panels follow them")
            continue
        if p.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
            bad.append(name + ": datasource is not ${datasource}")
        if "fieldConfig" not in p or "options" not in p:
            bad.append(name + ": no fieldConfig or options")
        refs = [t.get("refId") for t in p.get("targets", [])]
        if not refs or len(set(refs)) != len(refs) or not all(refs):
            bad.append(name + ": refIds %r" % refs)
        for t in p.get("targets", []):
            if not t.get("expr"):
                bad.append(name + ": target %s has no expr" % t.get("refId"))
            for v in variables(t.get("expr", "")) - known:
                bad.append(name + ": target %s names $%s" % (t.get("refId"), v))
            if p["type"] == "heatmap" and (t.get("format") != "heatmap" or
                                           t.get("legendFormat") != "{{le}}" or
                                           "_bucket" not in t["expr"] or
                                           "by (le)" not in t["expr"]):
                bad.append(name + ": a heatmap target is a sum by (le) of _bucket series, "
                           "format heatmap, legend {{le}}")
            if p["type"] == "table" and not t.get("instant"):
                bad.append(name + ": a table's target is instant")
        if p["type"] == "heatmap" and p["options"].get("calculate") is not False:
            bad.append(name + ": a heatmap of buckets is not calculated (calculate false)")
    order = [(p["gridPos"]["y"], p["gridPos"]["x"]) for p in dash["panels"]]
    if order != sorted(order):
        bad.append("panels are not in the order of their places")
    return bad


def t_grafana_dashboard_shape(ctx):
    with open(DASHBOARD) as f:
        dash = json.load(f)
    bad = check_shape(dash)
    assert not bad, "%s:\n  %s" % (DASHBOARD, "\n  ".join(bad))
    titles = [p["title"] for p in dash["panels"] if p["type"] == "row"]
    assert titles == ["Node", "Top cgroups", "Cgroup $cgroup", "Pods", "Allocation",
                      "cgpilot itself"], titles


def check_variables(w, dash, values):
    """Each query variable's label_values() finds the workload's value."""
    bad = []
    want = {"instance": w.target, "cgroup": w.A, "pod": w.pod_uid}
    for v in dash["templating"]["list"]:
        if v["type"] != "query":
            continue
        m = re.fullmatch(r"label_values\((.+), *(\w+)\)", v["query"])
        sel = substitute(m.group(1), values)
        found = {s.get(m.group(2)) for s in w.prom.api("series", **{"match[]": sel})}
        if want.get(v["name"]) not in found:
            bad.append("variable %s: %s finds %s, not %r" % (v["name"], v["query"],
                                                            sorted(found)[:5], want.get(v["name"])))
    return bad


def check_panels(w, dash, values, start):
    """Every panel's every target returns a series with a finite value."""
    bad = []
    for p in all_panels(dash):
        for t in p.get("targets", []):
            where = "panel %r (id %d) target %s" % (p["title"], p["id"], t["refId"])
            try:
                expr = substitute(t["expr"], values)
                if t.get("instant"):
                    data = w.prom.api("query", query=expr, time="%.3f" % w.t)
                    vals = [[s["value"]] for s in data["result"]]
                else:
                    data = w.prom.api("query_range", query=expr, start="%.3f" % start,
                                      end="%.3f" % w.t, step="2")
                    vals = [s["values"] for s in data["result"]]
                finite = [v for vs in vals for _, v in vs if math.isfinite(float(v))]
                if not finite:
                    bad.append("%s: %s: %s" % (where, expr, "no series" if not vals else
                                               "no finite value in %d series" % len(vals)))
            except AssertionError as e:
                bad.append("%s: %s: %s" % (where, t["expr"], e))
    return bad


# ---- the run ----

def bpf_stats_on():
    """An fd that holds the kernel's BPF run-time statistics on until it is
    closed (BPF_ENABLE_STATS, as bpftool and `cgpilot prog show` do)."""
    nr = {"x86_64": 321, "aarch64": 280}.get(os.uname().machine)
    if nr is None:
        return -1
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.c_uint32(0)  # BPF_STATS_RUN_TIME
    fd = libc.syscall(ctypes.c_long(nr), ctypes.c_int(32), ctypes.byref(attr), ctypes.c_uint(4))
    if fd < 0:
        raise AssertionError("BPF_ENABLE_STATS: %s" % os.strerror(ctypes.get_errno()))
    return fd


def scrapes(prom):
    r = prom.api("query", query="count_over_time(cgpilot_build_info[10m])")["result"]
    return int(float(r[0]["value"][1])) if r else 0


def t_promql_dashboard_and_docs(ctx):
    if not shutil.which("prometheus"):
        raise Skip("prometheus not installed (package prometheus)")
    queries = doc_queries()
    shown = {norm(q) for _, q in queries}
    unchecked = ["%s: %s" % (where, q) for where, q in queries if norm(q) not in DOC_CHECKS]
    stale = [q for q in DOC_CHECKS if q not in shown]
    assert not unchecked and not stale, (
        "doc queries without a check in DOC_CHECKS:\n  %s\nchecks of queries the docs no "
        "longer show:\n  %s" % ("\n  ".join(unchecked) or "-", "\n  ".join(stale) or "-"))
    with open(DASHBOARD) as f:
        dash = json.load(f)

    cgs = ctx.cgroups("promql", sweep=True)
    uid, cid = str(uuid.uuid4()), uuid.uuid4().hex * 2
    pod_rel = "kubepods/burstable/pod" + uid
    for rel in ("kubepods", "kubepods/burstable", pod_rel):
        cgs.make(rel)
    a_dir = cgs.make(pod_rel + "/" + cid)
    d = ctr_daemon(ctx, cgs, "promql").start()
    b = admit(d, name="batch", **{"class": "besteffort"})
    mark_started(d, b["id"])
    tmp = tempfile.mkdtemp(prefix="cgpilot-itest-promql-", dir="/var/tmp")
    ctx.dirs.append(tmp)
    data = os.path.join(tmp, "data")
    cgs.busy(a_dir, 2, cpu=0)
    cgs.spawn(a_dir, ["sh", "-c", "while :; do dd if=/dev/zero of=%s bs=64k count=16 "
                      "oflag=direct conv=fsync; dd if=%s of=/dev/null bs=64k iflag=direct; "
                      "sleep 0.1; done" % (data, data)])
    b_procs = cgs.busy(os.path.join(cgs.mount, b["cgroup"]), 2, cpu=0)
    stats = bpf_stats_on()
    try:
        target = d.request({"op": "status"})["metrics_address"]
        prom = Prom(start_prometheus(ctx, target, "promql"))
        w = World(prom, d, cgs, cgs.rel(pod_rel + "/" + cid), cgs.rel(pod_rel), b["cgroup"], uid,
                  target)
        wait_until(prom.ready, 30, "Prometheus to be ready")
        wait_until(lambda: scrapes(prom) >= 1, 30, "Prometheus's first scrape")
        start = time.time()
        # phase 1: A and B wait for CPU 0; then B stops and its episode ends
        wait_until(lambda: "cpu" in d.show(w.B).get("pressure", []), 10, "B's CPU onset")
        wait_until(lambda: scrapes(prom) >= 10, 30, "ten scrapes with B busy")
        cgs.stop(b_procs)
        wait_until(lambda: "cpu" not in d.show(w.B).get("pressure", []), 10, "B's episode to end")
        n = scrapes(prom)
        wait_until(lambda: scrapes(prom) >= n + 6, 30, "six scrapes with B idle")
        w.t = time.time() - 0.5
        first = prom.api("query", query="cgpilot_build_info[10m]", time="%.3f" % w.t)["result"]
        w.first = float(first[0]["values"][0][0])
        log("%d scrapes; A=%s B=%s" % (scrapes(prom), w.A, w.B))

        failed = []
        for where, q in queries:
            try:
                DOC_CHECKS[norm(q)](w, q)
            except AssertionError as e:
                failed.append("%s: %s\n      %s" % (where, q, e))
        values = dict(GRAFANA_GLOBALS, instance=target, cgroup=w.A, pod=uid, datasource="")
        failed += check_variables(w, dash, values)
        failed += check_panels(w, dash, values, start)
        assert not failed, "%d failed (of %d doc queries, %d variables, %d panel targets):" \
            "\n  %s" % (len(failed), len(queries), len(dash["templating"]["list"]),
                        sum(len(p.get("targets", [])) for p in all_panels(dash)),
                        "\n  ".join(failed))
    finally:
        if stats >= 0:
            os.close(stats)


TESTS = [
    ("grafana_dashboard_shape", t_grafana_dashboard_shape),
    ("promql_dashboard_and_docs", t_promql_dashboard_and_docs),
]
