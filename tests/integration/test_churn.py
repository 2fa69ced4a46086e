# SPDX-License-Identifier: Apache-2.0
"""A busy node: cgroup churn, BPF slots across restarts, long paths.

The daemon must keep answering while thousands of cgroups come and go (every
reply within 250 ms), and must never lose a BPF slot: not when cgroups are
removed while it is down, not when the ring buffer drops their events.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

from harness import Cgroups, Daemon, Skip, log, v2_mount, wait_until  # noqa: F401

REPLY_BUDGET_S = 0.25

# mkdir/rmdir in a process of its own, so the test's pinger is not slowed by it
CHURN = r"""
import os, sys
parent, mode, total, alive = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
made = []
try:
    for i in range(total):
        p = os.path.join(parent, "same" if mode == "same" else "c%d" % i)
        os.mkdir(p)
        made.append(p)
        if mode == "task":  # a task runs in it, so BPF gives it a slot
            pid = os.fork()
            if not pid:
                with open(os.path.join(p, "cgroup.procs"), "w") as f:
                    f.write("0")
                os._exit(0)
            os.waitpid(pid, 0)
        if mode != "alive" or len(made) >= alive:
            for q in made:
                os.rmdir(q)
            made = []
finally:
    for q in made:
        os.rmdir(q)
"""


class Pinger(threading.Thread):
    """Pings the daemon over fresh connections, as the CLI does, and keeps
    every round trip."""

    def __init__(self, d):
        super().__init__(daemon=True)
        self.d, self.times, self.errors, self.stop = d, [], [], False

    def run(self):
        while not self.stop:
            t0 = time.monotonic()
            try:
                assert self.d.request({"op": "ping"}, timeout=30)["ok"]
                self.times.append(time.monotonic() - t0)
            except Exception as e:  # noqa: BLE001
                self.errors.append(repr(e))
            time.sleep(0.02)

    def summary(self):
        t = sorted(self.times)
        if not t:
            return "no replies"
        return "%d pings: p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
            len(t), 1e3 * t[len(t) // 2], 1e3 * t[int(len(t) * 0.99)], 1e3 * t[-1])


def slot_orphans(d):
    """cg_slot entries whose cgroup the daemon does not know."""
    r = d.request({"op": "map.dump", "map": "cg_slot"})
    assert r["ok"], r
    return [e for e in r["entries"] if e["path"] is None]


def footprint(d):
    """What churn must not grow: resident memory (KiB), descriptors, BPF
    slots in use, threshold entries, cgroups in the model."""
    with open("/proc/%d/status" % d.proc.pid) as f:
        rss = int(next(l for l in f if l.startswith("VmRSS:")).split()[1])
    st = d.request({"op": "status"})
    th = d.request({"op": "map.dump", "map": "thresholds"})
    return {"rss_kib": rss, "fds": len(os.listdir("/proc/%d/fd" % d.proc.pid)),
            "slots": st["slots"]["used"], "thresholds": th["count"], "cgroups": st["cgroups"]}


def churn(ctx, name, mode, total, alive):
    cgs = ctx.cgroups(name)
    d = ctx.daemon(name, config="[telemetry]\nmax_cgroups = 32768\n").start()
    first = footprint(d)
    # the same round first: what a daemon allocates once for that many (its
    # hash tables grown, the heap's top) is not growth
    subprocess.run([sys.executable, "-c", CHURN, cgs.parent, mode, str(total), str(alive)],
                   check=True, timeout=600)
    fp0 = wait_until(lambda: (lambda f: f if f["slots"] <= first["slots"] + 2 and
                              f["cgroups"] <= first["cgroups"] else None)(footprint(d)),
                     60, "the warm-up's cgroups to be retired")
    st0 = d.request({"op": "status"})
    base = st0["cgroups"]
    pinger = Pinger(d)
    pinger.start()
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-c", CHURN, cgs.parent, mode, str(total), str(alive)],
                       capture_output=True, text=True, timeout=600)
    took = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    # the pinger goes on while the dead are retired (after their 2 s of grace)
    wait_until(lambda: d.request({"op": "status"}, timeout=120)["cgroups"] <= base + 2, 60,
               "the model to shrink back after churn")
    retired = time.monotonic() - t0
    pinger.stop = True
    pinger.join()
    st = d.request({"op": "status"})
    drops = st["ringbuf"]["drops"]
    print("    %s: %d cgroups in %.1f s (%d alive at most), all retired after %.1f s; %s; "
          "ring buffer drops: mkdir %d, rmdir %d" % (mode, total, took, alive, retired,
                                                     pinger.summary(), drops["mkdir"],
                                                     drops["rmdir"]), flush=True)
    assert not pinger.errors, pinger.errors[:5]
    seen = st["ringbuf"]["events"]["mkdir"] - st0["ringbuf"]["events"]["mkdir"]
    assert seen + drops["mkdir"] >= total, (seen, drops)
    assert pinger.times and max(pinger.times) < REPLY_BUDGET_S, pinger.summary()
    assert not slot_orphans(d)
    # slots of removed cgroups are reclaimed a sample or two after retirement
    fp = wait_until(lambda: (lambda f: f if f["slots"] <= fp0["slots"] + 2 else None)(
        footprint(d)), 15, "the churned cgroups' slots to be freed")
    print("    footprint at start %s, after one round %s, after two %s" % (first, fp0, fp),
          flush=True)
    assert fp["fds"] <= fp0["fds"], (fp0, fp)
    assert fp["thresholds"] <= fp0["thresholds"], (fp0, fp)
    assert fp["cgroups"] <= fp0["cgroups"] + 2, (fp0, fp)
    # the model's memory comes back: allocator slack, not growth per cgroup
    # (measured: about 8 bytes a churned cgroup after the warm-up; a model
    # entry, a slot's books or a path kept would be hundreds)
    assert fp["rss_kib"] <= fp0["rss_kib"] + 256 + total * 64 // 1024, (fp0, fp)
    # and the peak is given back (the heap trimmed after a wave): what stays
    # is the fixed buffers touched once (ring buffer, the live page's history)
    assert fp["rss_kib"] <= first["rss_kib"] + 3072, (first, fp)


def t_churn_stream(ctx):
    churn(ctx, "churns", "stream", 20000, 1)


def t_churn_one_name(ctx):
    """One name made and removed 20,000 times: every one a new cgroup id at
    the same path (a dead entry per round in one hash chain, before)."""
    churn(ctx, "churn1", "same", 20000, 1)


def t_churn_5000_alive(ctx):
    churn(ctx, "churna", "alive", 20000, 5000)


def t_churn_with_tasks(ctx):
    """3,000 cgroups that each ran a task, so each took a BPF slot: every
    slot comes back, and descriptors and memory do not grow."""
    churn(ctx, "churnt", "task", 3000, 1)


def run_briefly(cgs, cg):
    """One short task in cg, so that BPF gives the cgroup a slot."""
    p = cgs.spawn(cg, ["sh", "-c", "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done"])
    p.wait()


def t_slots_reconciled_across_restart(ctx):
    cgs = ctx.cgroups("slots")
    d = ctx.daemon("slots").start()
    paths = [cgs.make("g%d" % i) for i in range(100)]
    for p in paths:
        run_briefly(cgs, p)
    ids = {os.stat(p).st_ino for p in paths}
    wait_until(lambda: ids <= {e["id"] for e in
                               d.request({"op": "map.dump", "map": "cg_slot"})["entries"]},
               10, "slots for the 100 cgroups")
    idle = cgs.make("idle")  # never runs a task: a threshold but no slot
    for p in paths[:10] + [idle]:
        assert d.request({"op": "threshold.set", "cgroup": str(os.stat(p).st_ino),
                          "signal": "cpu", "threshold_ns": 5000000})["ok"]
    ids_thr = ids | {os.stat(idle).st_ino}
    assert d.stop() == 0
    # removed while no daemon runs: the pinned slot maps still hold them
    for p in paths + [idle]:
        os.rmdir(p)
    cgs.made = [m for m in cgs.made if m not in paths + [idle]]
    d.start()
    st = wait_until(lambda: (lambda s: s if s["slots"]["reclaimed"] >= 100 else None)(
        d.request({"op": "status"})), 10, "the 100 slots to be reclaimed")
    left = {e["id"] for e in d.request({"op": "map.dump", "map": "cg_slot"})["entries"]}
    assert not (ids & left), "slots of removed cgroups kept: %d" % len(ids & left)
    assert not slot_orphans(d), slot_orphans(d)[:5]
    thr = {e["id"] for e in d.request({"op": "map.dump", "map": "thresholds"})["entries"]}
    assert not (ids_thr & thr), "thresholds of removed cgroups kept: %d" % len(ids_thr & thr)
    assert d.request({"op": "status"})["slots"]["thresholds_dropped"] >= 1
    print("    reclaimed %d slots after a restart, %d used of %d" % (
        st["slots"]["reclaimed"], st["slots"]["used"], st["slots"]["capacity"]), flush=True)
    # a kill -9 under load: nothing leaks either
    load = cgs.make("load")
    busy = cgs.busy(load, 1)
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    cgs.stop(busy)
    os.rmdir(load)
    cgs.made.remove(load)
    d.start()
    wait_until(lambda: not slot_orphans(d) and os.stat(cgs.parent).st_ino in
               {e["id"] for e in d.request({"op": "cgroup.list"})["cgroups"]}, 10,
               "no slot without a cgroup after kill -9")


def t_long_paths_by_id(ctx):
    cgs = ctx.cgroups("long")
    d = ctx.daemon("long").start()
    # as kubelet and containerd lay them out, one level deeper: about 270 bytes
    uid = "0f3c2a9e_7b1d_4e8a_9c55_2d6b8e1f4a37"
    parts = ["kubepods.slice", "kubepods-burstable.slice",
             "kubepods-burstable-pod%s.slice" % uid, "cri-containerd-" + "ab12" * 16 + ".scope",
             "sandbox-child"]
    path = cgs.parent
    for p in parts:
        path = os.path.join(path, p)
        os.mkdir(path)
        cgs.made.append(path)
    rel = cgs.rel("/".join(parts))
    assert len(rel) > 192, len(rel)
    busy = cgs.busy(path, 1)
    ino = os.stat(path).st_ino
    # by path and by id, through several sample ticks and sweeps
    for _ in range(3):
        c = d.show(rel)
        assert c["id"] == ino and c["path"] == rel, c
        assert d.show(str(ino))["path"] == rel
        time.sleep(1.1)
    assert d.show(rel)["cpu"]["on_cpu_ns"] > 0
    listed = [c for c in d.request({"op": "cgroup.list"})["cgroups"] if c["id"] == ino]
    assert listed and listed[0]["path"] == rel, listed
    cgs.stop(busy)
    assert not slot_orphans(d)


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def t_dropped_events(ctx):
    """mkdir and rmdir events lost to a full ring buffer (the daemon stopped
    meanwhile): the model still learns every cgroup and forgets every one,
    and no slot stays behind."""
    cgs = ctx.cgroups("drops")
    d = ctx.daemon("drops", config="[telemetry]\nmax_cgroups = 8192\npsi_sweep_s = 1\n").start()
    d0 = d.request({"op": "status"})
    n = 4000
    names = [os.path.join(cgs.parent, "d%d" % i) for i in range(n)]
    d.proc.send_signal(signal.SIGSTOP)
    wait_until(lambda: proc_state(d.proc.pid) == "T", 5, "the daemon to stop")
    try:
        for p in names:
            os.mkdir(p)
        # a few with a task: BPF gives them slots the model has no mkdir for
        for p in names[:20]:
            run_briefly(cgs, p)
    finally:
        d.proc.send_signal(signal.SIGCONT)
    st = d.request({"op": "status"})
    dropped = st["ringbuf"]["drops"]["mkdir"] - d0["ringbuf"]["drops"]["mkdir"]
    assert dropped > 0, "the ring buffer took all %d events: no drop to recover from" % n
    ids = {os.stat(p).st_ino for p in names}

    def known():
        have = {c["id"] for c in d.request({"op": "cgroup.list"})["cgroups"]}
        return ids <= have

    wait_until(known, 20, "every cgroup of the dropped mkdir events in the model")
    st = d.request({"op": "status"})
    print("    %d of %d mkdir events dropped; found again by a walk of the tree (%d found) "
          "and by slot reconciliation (%d)" % (dropped, n, st["slots"]["rescan_found"],
                                               st["slots"]["adopted"]), flush=True)
    d.proc.send_signal(signal.SIGSTOP)
    wait_until(lambda: proc_state(d.proc.pid) == "T", 5, "the daemon to stop")
    try:
        for p in names:
            os.rmdir(p)
    finally:
        d.proc.send_signal(signal.SIGCONT)
    wait_until(lambda: d.request({"op": "status"})["cgroups"] <= d0["cgroups"] + 2, 30,
               "the model to forget the removed cgroups")
    wait_until(lambda: not slot_orphans(d) and not (ids & {
        e["id"] for e in d.request({"op": "map.dump", "map": "cg_slot"})["entries"]}), 10,
        "no slot left for the removed cgroups")


def t_path_over_a_page(ctx):
    """A cgroup whose path is longer than the kernel gives through /proc (a
    page): it stays known by id, keeps its slot, and is shown as cut, never
    as another cgroup (its slot released while its task ran, before)."""
    cgs = ctx.cgroups("deep")
    d = ctx.daemon("deep", config="[telemetry]\npsi_sweep_s = 1\n").start()
    names = [("%02d" % i) * 120 for i in range(20)]
    fds = [os.open(cgs.parent, os.O_RDONLY | os.O_DIRECTORY)]
    busy = None
    try:
        for n in names:  # beyond PATH_MAX: one level at a time, by fd
            os.mkdir(n, dir_fd=fds[-1])
            fds.append(os.open(n, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
        ino = os.fstat(fds[-1]).st_ino
        leaf = fds[-1]

        def enter():
            fd = os.open("cgroup.procs", os.O_WRONLY, dir_fd=leaf)
            os.write(fd, b"0")
            os.close(fd)

        busy = subprocess.Popen(["sh", "-c", "while :; do :; done"], preexec_fn=enter,
                                pass_fds=(leaf,))
        time.sleep(4)  # sweeps and a grace period
        c = d.show(str(ino))
        assert c["id"] == ino and "%00(cut" in c["path"], c["path"][-60:]
        slots = {e["id"] for e in d.request({"op": "map.dump", "map": "cg_slot"})["entries"]}
        assert ino in slots, "the live cgroup lost its slot"
        assert d.show(str(ino))["cpu"]["on_cpu_ns"] > 1e9
    finally:
        if busy:
            busy.kill()
            busy.wait()
        for i in range(len(fds) - 1, 0, -1):
            os.close(fds[i])
            for _ in range(100):
                try:
                    os.rmdir(names[i - 1], dir_fd=fds[i - 1])
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        os.close(fds[0])

TESTS = [
    ("churn_stream", t_churn_stream),
    ("churn_5000_alive", t_churn_5000_alive),
    ("churn_with_tasks", t_churn_with_tasks),
    ("churn_one_name", t_churn_one_name),
    ("slots_reconciled_across_restart", t_slots_reconciled_across_restart),
    ("long_paths_by_id", t_long_paths_by_id),
    ("dropped_events", t_dropped_events),
    ("path_over_a_page", t_path_over_a_page),
]
