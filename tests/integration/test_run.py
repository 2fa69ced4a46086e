"""cgpilot-run on the host, against a daemon in telemetry-only mode (no
controllers on this v2 hierarchy): a container without limits runs in its
own cgroup as pid 1 of its namespaces; one with limits is refused naming
the controller; exit status, signals, cleanup after kill -9 of the
launcher; --standalone; a bundle refused by path."""
import json
import os
import signal
import subprocess
import time

from harness import BUILD, Skip, log, wait_until
from test_containers import ctr_daemon, listed, ok

RUN = os.path.join(BUILD, "cgpilot-run")


def run(d, *args, timeout=30, check_rc=None):
    p = subprocess.run([RUN, "--socket", d.sock] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    if check_rc is not None:
        assert p.returncode == check_rc, (args, p.returncode, p.stdout, p.stderr)
    return p


def telemetry_only(d):
    if not ok(d, {"op": "status"})["missing_controllers"]:
        raise Skip("the cgroup v2 root offers controllers: this test is for telemetry-only")


def t_run_in_own_cgroup(ctx):
    cg = ctx.cgroups("run", sweep=True)
    d = ctr_daemon(ctx, cg, "run").start()
    telemetry_only(d)
    # the first line the workload runs already sees its cgroup and namespaces
    p = run(d, "-n", "web", "--hostname", "box", "--", "sh", "-c",
            "head -1 /proc/self/cgroup | grep ^0::; tail -1 /proc/self/cgroup; echo pid=$$; "
            "hostname; echo $(ls /proc/self/fd); grep CapBnd /proc/self/status; "
            "grep NoNewPrivs /proc/self/status; exit 7", check_rc=7)
    log(p.stdout)
    want = "0::/" + cg.rel("ctrs/burstable/web")
    assert want in p.stdout.splitlines(), (want, p.stdout)
    assert "pid=1" in p.stdout and "\nbox\n" in p.stdout, p.stdout
    # 0-2 and the directory ls itself opens: nothing of the launcher's
    fds = p.stdout.split("box\n")[1].splitlines()[0].split()
    assert fds == ["0", "1", "2", "3"], fds
    # Docker's set without CAP_MKNOD (bit 27), and no_new_privs
    bnd = int(p.stdout.split("CapBnd:")[1].split()[0], 16)
    assert bnd == 0xa00425fb and not bnd & (1 << 27), hex(bnd)
    assert "NoNewPrivs:\t1" in p.stdout, p.stdout
    # released and removed when it ended
    assert listed(d) == {}, listed(d)
    assert not os.path.exists(os.path.join(cg.parent, "ctrs/burstable/web"))


def t_run_limits_refused(ctx):
    cg = ctx.cgroups("runlim", sweep=True)
    d = ctr_daemon(ctx, cg, "runlim").start()
    telemetry_only(d)
    p = run(d, "--memory-limit", "64M", "--", "true", check_rc=124)
    assert "memory" in p.stderr and "memory controller" in p.stderr, p.stderr
    p = run(d, "--class", "guaranteed", "--cpus", "1", "--memory", "64M", "--", "true",
            check_rc=124)
    assert "controller" in p.stderr, p.stderr
    # requests alone run, their knobs listed as not enforced by the daemon
    run(d, "--cpus", "0.5", "--memory", "32M", "--", "true", check_rc=0)
    assert listed(d) == {}, listed(d)
    # bad values never reach the daemon
    p = run(d, "--memory", "12Q", "--", "true", check_rc=125)
    assert "--memory '12Q': not a size" in p.stderr, p.stderr


def t_run_exit_and_signals(ctx):
    cg = ctx.cgroups("runsig", sweep=True)
    d = ctr_daemon(ctx, cg, "runsig").start()
    run(d, "--", "/nonexistent-cmd", check_rc=127)
    noexec = "/tmp/cgpilot-itest-%d-noexec" % os.getpid()
    with open(noexec, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(noexec, 0o644)
    try:
        run(d, "--", noexec, check_rc=126)
    finally:
        os.unlink(noexec)
    # killed by a signal: 128+N (outside a pid namespace: its init ignores
    # signals it has no handler for, as a container's pid 1 does everywhere)
    run(d, "--no-pid", "--", "sh", "-c", "kill -USR1 $$; sleep 5",
        check_rc=128 + signal.SIGUSR1)
    # SIGTERM to the launcher reaches the workload (pid 1 with a handler)
    p = subprocess.Popen([RUN, "--socket", d.sock, "-n", "sig", "--", "sh", "-c",
                          "trap 'echo got-term; exit 42' TERM; echo ready; "
                          "while :; do sleep 0.05; done"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 42 and "got-term" in out, (p.returncode, out, err)
    assert listed(d) == {}


def t_run_kill9_launcher(ctx):
    """kill -9 of the launcher: the workload dies with it (parent-death
    signal), and the daemon releases the container when the launcher's
    connection closes."""
    cg = ctx.cgroups("runk9", sweep=True)
    d = ctr_daemon(ctx, cg, "runk9").start()
    p = subprocess.Popen([RUN, "--socket", d.sock, "-n", "k9", "--", "sh", "-c",
                          "echo ready; exec sleep 300"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    full = os.path.join(cg.parent, "ctrs/burstable/k9")
    procs = open(os.path.join(full, "cgroup.procs")).read().split()
    assert len(procs) == 1, procs
    wait_until(lambda: [c["state"] for c in listed(d).values()] == ["running"], 5, "running")
    p.kill()
    p.wait()
    wait_until(lambda: not os.path.exists(full), 10, "the cgroup removed after kill -9")
    assert listed(d) == {}, listed(d)
    # gone, or a zombie its new parent has not reaped yet
    try:
        state = open("/proc/%s/stat" % procs[0]).read().rsplit(")", 1)[1].split()[0]
    except OSError:
        state = "gone"
    assert state in ("gone", "Z", "X"), "the workload outlived its launcher: " + state
    assert "its launcher went away" in d.log(), d.log()
    assert "cgpilot_containers_orphaned_total 1" in d.scrape(), d.scrape()


def t_run_standalone(ctx):
    cg = ctx.cgroups("runsa", sweep=True)
    conf = os.path.abspath("/tmp/cgpilot-itest-%d-runsa.conf" % os.getpid())
    with open(conf, "w") as f:
        f.write("[containers]\nroot = %s\n" % cg.rel("sa"))
    try:
        p = subprocess.run([RUN, "--standalone", "--config", conf, "-n", "solo", "--", "sh",
                            "-c", "tail -1 /proc/self/cgroup; exit 5"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 5, (p.returncode, p.stderr)
        assert p.stdout.strip() == "0::/" + cg.rel("sa/burstable/solo"), p.stdout
        assert not os.path.exists(os.path.join(cg.parent, "sa/burstable/solo"))
        # without a daemon and without --standalone: a clear refusal
        p = subprocess.run([RUN, "--socket", "/nonexistent/sock", "--", "true"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 125 and "cgpilotd is not running" in p.stderr, p.stderr
    finally:
        os.unlink(conf)


def t_run_bundle_refused(ctx):
    """A bundle with a setting the launcher cannot apply is refused by
    path, before anything is admitted."""
    cg = ctx.cgroups("runbad", sweep=True)
    d = ctr_daemon(ctx, cg, "runbad").start()
    bundle = "/tmp/cgpilot-itest-%d-bundle" % os.getpid()
    os.makedirs(os.path.join(bundle, "rootfs"), exist_ok=True)
    try:
        spec = {"ociVersion": "1.0.2", "process": {"args": ["/bin/true"], "cwd": "/"},
                "root": {"path": "rootfs"},
                "linux": {"seccomp": {"defaultAction": "SCMP_ACT_NOTIFY"}}}
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(spec, f)
        p = run(d, "--bundle", bundle, check_rc=125)
        assert "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY" in p.stderr, p.stderr
        assert listed(d) == {}
        with open(os.path.join(bundle, "config.json"), "w") as f:
            f.write('{"ociVersion": "1.0.2", "process": {"args": ["a"]},}')
        p = run(d, "--bundle", bundle, check_rc=125)
        assert "config.json" in p.stderr, p.stderr
    finally:
        subprocess.run(["rm", "-rf", bundle])


def t_run_rootfs_symlinks_stay_inside(ctx):
    """A hostile root filesystem whose /dev and /sys are symlinks out of it
    (absolute, and with ..): the mounts and device nodes land inside the
    root, nothing is made on the host."""
    if not os.path.exists("/bin/busybox"):
        raise Skip("no /bin/busybox (busybox-static)")
    cg = ctx.cgroups("runsym", sweep=True)
    d = ctr_daemon(ctx, cg, "runsym").start()
    base = "/tmp/cgpilot-itest-%d-sym" % os.getpid()
    root, victim, victim2 = base + "/rootfs", base + "/victim", base + "/victim2"
    try:
        os.makedirs(root + "/bin")
        os.makedirs(victim)
        os.makedirs(victim2)
        subprocess.run(["cp", "/bin/busybox", root + "/bin/busybox"], check=True)
        for app in ("sh", "ls", "cat"):
            os.symlink("busybox", root + "/bin/" + app)
        os.symlink(victim, root + "/dev")                 # absolute, to the host's path
        os.symlink("../../../../.." + victim2, root + "/sys")  # out with ..
        # dangling inside the root: refused, nothing made on the host
        p = run(d, "--rootfs", root, "--", "/bin/sh", "-c", "ls /dev", check_rc=125)
        assert "a symlink in the root filesystem leads to a path that does not exist" in \
            p.stderr, p.stderr
        assert os.listdir(victim) == [], os.listdir(victim)
        # where the paths exist inside the root, the symlinks lead there, not out
        os.makedirs(root + victim)
        os.makedirs(root + victim2)
        p = run(d, "--rootfs", root, "--", "/bin/sh", "-c", "ls /dev; ls /sys | head -3",
                check_rc=0)
        assert "null" in p.stdout and "urandom" in p.stdout, p.stdout
        assert os.listdir(victim) == [] and os.listdir(victim2) == [], \
            (os.listdir(victim), os.listdir(victim2))
        # a bundle mount below a symlinked directory: made inside the root
        os.symlink(victim, root + "/data")
        spec = {"ociVersion": "1.0.2", "process": {"args": ["/bin/ls", "/data/sub"], "cwd": "/"},
                "root": {"path": "rootfs"},
                "mounts": [{"destination": "/data/sub", "type": "tmpfs", "source": "tmpfs"}],
                "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}}
        with open(base + "/config.json", "w") as f:
            json.dump(spec, f)
        run(d, "--bundle", base, check_rc=0)
        assert os.listdir(victim) == [], os.listdir(victim)
        assert os.path.isdir(root + victim + "/sub"), os.listdir(root + victim)
        assert listed(d) == {}
    finally:
        subprocess.run(["rm", "-rf", base])


def t_run_dry_run_daemon(ctx):
    """A daemon in --dry-run decides but makes no cgroup: the launcher says
    so and releases the decision instead of failing obscurely."""
    cg = ctx.cgroups("rundry", sweep=True)
    d = ctr_daemon(ctx, cg, "rundry")
    d.argv.append("--dry-run")
    d.start()
    p = run(d, "--", "true", check_rc=125)
    assert "--dry-run" in p.stderr and "--standalone" in p.stderr, p.stderr
    assert listed(d) == {}, listed(d)
    p = run(d, "--no-uts", "--hostname", "h", "--", "true", check_rc=125)
    assert "--hostname needs the uts namespace" in p.stderr, p.stderr


def t_run_hold_validated(ctx):
    """container.started's "hold" is checked: a boolean, and for launched
    containers only; a one-shot client that reports a start without it does
    not make its closing connection release the container."""
    cg = ctx.cgroups("runhold", sweep=True)
    d = ctr_daemon(ctx, cg, "runhold").start()
    c = ok(d, {"op": "container.admit", "name": "h"})["container"]
    r = d.request({"op": "container.started", "id": c["id"], "pid": os.getpid(),
                   "hold": "yes"})
    assert "error" in r and '"hold"' in r["error"], r
    ok(d, {"op": "container.started", "id": c["id"], "pid": os.getpid()})
    time.sleep(0.3)
    assert [k["state"] for k in listed(d).values()] == ["running"], listed(d)
    ok(d, {"op": "container.release", "id": c["id"]})


TESTS = [
    ("run_in_own_cgroup", t_run_in_own_cgroup),
    ("run_limits_refused", t_run_limits_refused),
    ("run_exit_and_signals", t_run_exit_and_signals),
    ("run_kill9_launcher", t_run_kill9_launcher),
    ("run_standalone", t_run_standalone),
    ("run_bundle_refused", t_run_bundle_refused),
    ("run_hold_validated", t_run_hold_validated),
    ("run_dry_run_daemon", t_run_dry_run_daemon),
    ("run_rootfs_symlinks_stay_inside", t_run_rootfs_symlinks_stay_inside),
]
