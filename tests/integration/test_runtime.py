"""cgpilot-run as an OCI runtime on the host, as the engines call it:
create (admitted as a runtime container at linux.cgroupsPath, held before
exec), state, start, ps, exec, pause/resume, kill, delete; the fail-open
path when the daemon is away, and daemon_unreachable = fail; hostile IDs,
a symlinked --root, a corrupt state file, a crash between create and start;
go-runc's JSON log. The real engines are vmtest's (guest_engines.c)."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from harness import BUILD, Skip, log, wait_until
from test_containers import ctr_daemon, listed, ok

RUN = os.path.join(BUILD, "cgpilot-run")


class Runtime:
    def __init__(self, ctx, name, sock):
        self.base = "/tmp/cgpilot-itest-%d-rt-%s" % (os.getpid(), name)
        shutil.rmtree(self.base, ignore_errors=True)
        os.makedirs(self.base + "/bundle/rootfs/bin")
        ctx.dirs.append(self.base)
        self.root = self.base + "/state"
        self.sock = sock
        self.bundle = self.base + "/bundle"
        subprocess.run(["cp", "/bin/busybox", self.bundle + "/rootfs/bin/busybox"], check=True)
        for app in ("sh", "sleep", "cat", "echo", "hostname", "true"):
            os.symlink("busybox", self.bundle + "/rootfs/bin/" + app)
        self.extra = []

    def spec(self, cgpath, args, annotations=None, resources=None, terminal=False,
             seccomp=None, caps=None, devices=None):
        s = {"ociVersion": "1.0.2",
             "process": {"args": args, "cwd": "/", "terminal": terminal,
                         "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}},
             "root": {"path": "rootfs"}, "hostname": "rtbox",
             "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                         "options": ["nosuid", "mode=755"]}],
             "annotations": annotations or {},
             "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"},
                                      {"type": "ipc"}],
                       "cgroupsPath": cgpath, "resources": resources or {}}}
        if terminal:
            s["mounts"].append({"destination": "/dev/pts", "type": "devpts",
                                "source": "devpts",
                                "options": ["newinstance", "ptmxmode=0666", "mode=0620"]})
        if seccomp:
            s["linux"]["seccomp"] = seccomp
        if caps:
            s["process"]["capabilities"] = {k: caps for k in
                                            ("bounding", "effective", "permitted")}
        if devices:
            s["linux"]["devices"] = devices
        with open(self.bundle + "/config.json", "w") as f:
            json.dump(s, f)

    def __call__(self, *args, check_rc=None, timeout=30, stdin=None, extra=None):
        argv = [RUN, "--root", self.root, "--socket", self.sock] + (extra or []) + list(args)
        # files, not pipes: a held or detached process keeps its stdio open
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            rc = subprocess.run(argv, stdout=out, stderr=err, text=True, timeout=timeout,
                                input=stdin).returncode
            out.seek(0)
            err.seek(0)
            p = subprocess.CompletedProcess(argv, rc, out.read(), err.read())
        log(args, p.returncode, p.stdout.strip()[:200], p.stderr.strip()[:300])
        if check_rc is not None:
            assert p.returncode == check_rc, (args, p.returncode, p.stdout, p.stderr)
        return p

    def state(self, cid):
        p = self("state", cid, check_rc=0)
        return json.loads(p.stdout)


def cgroup_of(pid):
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].strip().lstrip("/")
    return None


def t_runtime_lifecycle(ctx):
    cg = ctx.cgroups("rtlife", sweep=True)
    d = ctr_daemon(ctx, cg, "rtlife",
                   "[containers]\nengine_roots = %s\n" % cg.rel("eng")).start()
    rt = Runtime(ctx, "life", d.sock)
    path = cg.rel("eng") + "/c1"
    rt.spec("/" + path, ["sh", "-c", "echo started $(hostname); exec sleep 60"],
            annotations={"io.cgpilot.class": "burstable", "k": "v"})
    pidfile = rt.base + "/pid"
    p = rt("create", "--bundle", rt.bundle, "--pid-file", pidfile, "c1", check_rc=0)
    # held before exec, already in its cgroup
    st = rt.state("c1")
    assert st["status"] == "created" and st["bundle"] == rt.bundle, st
    assert st["annotations"] == {"io.cgpilot.class": "burstable", "k": "v"}, st
    pid = int(open(pidfile).read())
    assert pid == st["pid"] and cgroup_of(pid) == path, (pid, cgroup_of(pid), path)
    ctrs = listed(d)
    assert len(ctrs) == 1, ctrs
    c = list(ctrs.values())[0]
    assert c["kind"] == "runtime" and c["cgroup"] == path and c["class"] == "burstable", c
    assert c["pid"] == pid, c
    lst = rt("list", "--format", "json", check_rc=0)
    assert [x["id"] for x in json.loads(lst.stdout)] == ["c1"], lst.stdout
    assert rt("list", "-q", check_rc=0).stdout.split() == ["c1"]
    # a second create of the same ID is refused, and leaves the first alone
    p = rt("create", "--bundle", rt.bundle, "c1", check_rc=1)
    assert "exists already" in p.stderr, p.stderr
    assert rt.state("c1")["status"] == "created"
    rt("start", "c1", check_rc=0)
    wait_until(lambda: rt.state("c1")["status"] == "running", 5, "c1 running")
    p = rt("start", "c1", check_rc=1)
    assert "it is running, not created" in p.stderr, p.stderr
    ps = json.loads(rt("ps", "--format", "json", "c1", check_rc=0).stdout)
    assert ps == [pid], ps
    # exec: the container's namespaces and cgroup, its exit status
    p = rt("exec", "c1", "sh", "-c", "echo $(hostname) $$; exit 3", check_rc=3)
    host, inner = p.stdout.split()
    assert host == "rtbox" and int(inner) > 1, p.stdout
    # --user 4294967295 is (uid_t)-1, "unchanged" to setresuid(2): it would stay root
    for u in ("-1", "4294967295", "0:4294967295", "4294967296"):
        p = rt("exec", "--user", u, "c1", "true")
        assert p.returncode != 0 and "--user '%s'" % u in p.stderr, (u, p.returncode, p.stderr)
    # --process as the engines pass it, detached, with a pid file
    proc = rt.base + "/proc.json"
    with open(proc, "w") as f:
        json.dump({"args": ["sleep", "30"], "cwd": "/", "env": ["PATH=/bin"],
                   "user": {"uid": 0, "gid": 0}}, f)
    rt("exec", "--process", proc, "--detach", "--pid-file", rt.base + "/exec.pid", "c1",
       check_rc=0)
    epid = int(open(rt.base + "/exec.pid").read())
    assert cgroup_of(epid) == path, cgroup_of(epid)
    assert sorted(json.loads(rt("ps", "-f", "json", "c1").stdout)) == sorted([pid, epid])
    # pause and resume through the daemon's container.freeze
    rt("pause", "c1", check_rc=0)
    assert rt.state("c1")["status"] == "paused"
    rt("resume", "c1", check_rc=0)
    assert rt.state("c1")["status"] == "running"
    # update: re-admission with the new requests (the CRI's
    # UpdateContainerResources); one that does not fit changes nothing
    rt("update", "--resources", "-", "c1", stdin='{"memory": {"reservation": 33554432}}',
       check_rc=0)
    c = list(listed(d).values())[0]
    assert c["requests"]["memory_bytes"] == 33554432, c
    p = rt("update", "--resources", "-", "c1",
           stdin='{"memory": {"reservation": 1152921504606846976}}', check_rc=1)
    assert "update refused" in p.stderr and "memory" in p.stderr, p.stderr
    assert list(listed(d).values())[0]["requests"]["memory_bytes"] == 33554432
    p = rt("update", "--resources", "-", "c1", stdin='{"cpu": {"mems": "0"}}', check_rc=1)
    assert "linux.resources.cpu.mems" in p.stderr, p.stderr
    # delete refuses a running container; kill by name; then delete
    p = rt("delete", "c1", check_rc=1)
    assert "delete --force" in p.stderr, p.stderr
    rt("kill", "c1", "KILL", check_rc=0)
    wait_until(lambda: rt.state("c1")["status"] == "stopped", 5, "c1 stopped")
    rt("delete", "c1", check_rc=0)
    p = rt("state", "c1", check_rc=1)
    assert "does not exist" in p.stderr, p.stderr
    wait_until(lambda: listed(d) == {}, 5, "the container released")
    wait_until(lambda: not os.path.exists(os.path.join(cg.mount, path)), 5, "its cgroup removed")
    # kill of what is gone says so
    p = rt("kill", "c1", check_rc=1)
    assert "does not exist" in p.stderr, p.stderr


def t_runtime_refused(ctx):
    """A cgroupsPath outside the engine roots: the daemon's reason, nothing left."""
    cg = ctx.cgroups("rtref", sweep=True)
    d = ctr_daemon(ctx, cg, "rtref", "[containers]\nengine_roots = %s\n" % cg.rel("eng")).start()
    rt = Runtime(ctx, "ref", d.sock)
    rt.spec("/" + cg.rel("elsewhere/c2"), ["true"])
    log_file = rt.base + "/log.json"
    p = rt("create", "--bundle", rt.bundle, "c2", check_rc=1,
           extra=["--log", log_file, "--log-format=json"])
    assert "is not below an engine root" in p.stderr, p.stderr
    # go-runc reads the last JSON line's msg
    last = json.loads(open(log_file).read().splitlines()[-1])
    assert last["level"] == "error" and "engine root" in last["msg"], last
    assert not os.path.exists(rt.root + "/c2"), os.listdir(rt.root)
    assert listed(d) == {}
    assert not os.path.exists(os.path.join(cg.mount, cg.rel("elsewhere")))


def t_runtime_daemon_away(ctx):
    """daemon_unreachable = apply (default): created, cgroup made and removed
    by the runtime; = fail: refused, nothing left."""
    cg = ctx.cgroups("rtaway", sweep=True)
    rt = Runtime(ctx, "away", "/nonexistent/cgpilot.sock")
    path = cg.rel("eng/c3")
    rt.spec("/" + path, ["sh", "-c", "echo hi"])
    p = rt("create", "--bundle", rt.bundle, "c3", check_rc=0)
    assert "not reachable" in p.stderr and "unadmitted" in p.stderr, p.stderr
    pid = rt.state("c3")["pid"]
    assert cgroup_of(pid) == path, cgroup_of(pid)
    owner = os.getxattr(os.path.join(cg.mount, path), "trusted.cgpilot.owner")
    assert owner.startswith(b"cgpilot-run"), owner
    req = json.loads(os.getxattr(os.path.join(cg.mount, path), "trusted.cgpilot.request"))
    assert req["class"] == "burstable", req
    rt("start", "c3", check_rc=0)
    wait_until(lambda: rt.state("c3")["status"] == "stopped", 5, "c3 stopped")
    rt("delete", "c3", check_rc=0)
    assert not os.path.exists(os.path.join(cg.mount, path))
    # the daemon back: the container started without it is taken over
    d = ctr_daemon(ctx, cg, "rtaway", "[containers]\nengine_roots = %s\n" % cg.rel("eng"))
    rt.sock = d.sock
    rt.spec("/" + path, ["sleep", "60"], annotations={"io.cgpilot.class": "besteffort"})
    rt("create", "--bundle", rt.bundle, "c3", check_rc=0)
    rt("start", "c3", check_rc=0)
    d.start()
    k = wait_until(lambda: listed(d), 10, "the container taken over")
    k = list(k.values())[0]
    assert k["cgroup"] == path and k["kind"] == "runtime" and k["class"] == "besteffort", k
    assert k["state"] == "running" and k["pid"] == rt.state("c3")["pid"], k
    owner = os.getxattr(os.path.join(cg.mount, path), "trusted.cgpilot.owner")
    assert owner.startswith(b"cgpilotd:"), owner
    assert "cgpilot_containers_taken_over_total 1" in d.scrape()
    # the runtime finds it in the daemon's books: pause and delete go there
    rt("pause", "c3", check_rc=0)
    assert rt.state("c3")["status"] == "paused"
    rt("resume", "c3", check_rc=0)
    rt("delete", "--force", "c3", check_rc=0)
    wait_until(lambda: listed(d) == {}, 5, "the taken-over container released")
    wait_until(lambda: not os.path.exists(os.path.join(cg.mount, path)), 5, "its cgroup removed")
    rt.sock = "/nonexistent/cgpilot.sock"
    # the parent it made is gone too, the test's own stays
    assert not os.path.exists(os.path.join(cg.mount, cg.rel("eng")))
    assert os.path.isdir(cg.parent)
    conf = rt.base + "/fail.conf"
    with open(conf, "w") as f:
        f.write("[runtime]\ndaemon_unreachable = fail\n")
    p = rt("create", "--bundle", rt.bundle, "c4", check_rc=1, extra=["--config", conf])
    assert "daemon_unreachable = fail" in p.stderr, p.stderr
    assert not os.path.exists(rt.root + "/c4")
    assert not os.path.exists(os.path.join(cg.mount, cg.rel("eng")))
    with open(conf, "w") as f:
        f.write("[runtime]\ndaemon_unreachable = maybe\n")
    p = rt("create", "--bundle", rt.bundle, "c4", check_rc=1, extra=["--config", conf])
    assert "'daemon_unreachable' in [runtime] must be apply or fail" in p.stderr, p.stderr


def t_runtime_hostile(ctx):
    """IDs that are not names, a symlinked --root, a planted or corrupt state
    file, a crash between create and start."""
    cg = ctx.cgroups("rthost", sweep=True)
    rt = Runtime(ctx, "host", "/nonexistent/cgpilot.sock")
    for bad in ("a/b", "..", ".", "x\ny", "-", "a" * 1025):
        if bad == "-":
            continue
        p = rt("state", bad, check_rc=1)
        assert "container ID" in p.stderr, (bad, p.stderr)
    os.makedirs(rt.base + "/real")
    os.symlink(rt.base + "/real", rt.base + "/link")
    p = rt("list", extra=["--root", rt.base + "/link"], check_rc=1)
    assert "is a symbolic link: refused" in p.stderr, p.stderr
    # a planted state: wrong types, a cgroup path with .., another ID
    os.makedirs(rt.root + "/evil", mode=0o700)
    os.chmod(rt.root, 0o700)
    for text, want in (("{", "state.json"),
                       (json.dumps({"version": 1, "id": "evil", "pid": "1"}), '"bundle"'),
                       (json.dumps({"version": 1, "id": "other", "bundle": "/", "cgroup": "",
                                    "degraded": "", "created": "", "pid": 1, "pid_start": 1,
                                    "cgroup_id": 0, "daemon_id": 0, "created_ns": 0,
                                    "own_cgroup": False}), "names 'other'"),
                       (json.dumps({"version": 1, "id": "evil", "bundle": "/",
                                    "cgroup": "a/../../etc", "degraded": "", "created": "",
                                    "pid": 1, "pid_start": 1, "cgroup_id": 0, "daemon_id": 0,
                                    "created_ns": 0, "own_cgroup": True}),
                        "not a cgroup path")):
        with open(rt.root + "/evil/state.json", "w") as f:
            f.write(text)
        p = rt("kill", "evil", "KILL", check_rc=1)
        assert want in p.stderr, (want, p.stderr)
    # pid 1 of the host was never signalled: the checks came first; delete
    # --force removes what it cannot read
    rt("delete", "--force", "evil", check_rc=0)
    assert not os.path.exists(rt.root + "/evil")
    # a create killed half-way (after the state, before start): delete --force
    path = cg.rel("eng/c5")
    rt.spec("/" + path, ["sleep", "60"])
    rt("create", "--bundle", rt.bundle, "c5", check_rc=0)
    pid = rt.state("c5")["pid"]
    # never started: delete removes it, as runc does (containerd relies on it)
    rt("delete", "c5", check_rc=0)
    wait_until(lambda: not os.path.exists("/proc/%d" % pid) or
               open("/proc/%d/stat" % pid).read().split(") ")[1][0] == "Z", 5, "c5 killed")
    assert not os.path.exists(os.path.join(cg.mount, path))
    assert not os.path.exists(rt.root + "/c5")
    # an engine's options in both forms; unknown ones named
    p = rt("create", "--bundle", rt.bundle, "--bogus", "c6", check_rc=1)
    assert "unknown option '--bogus'" in p.stderr, p.stderr
    p = rt("checkpoint", "c6", check_rc=1)
    assert "not supported" in p.stderr, p.stderr
    f = json.loads(rt("features", check_rc=0).stdout)
    assert f["linux"]["cgroup"]["v2"] is True and "pid" in f["linux"]["namespaces"], f


def t_runtime_degraded(ctx):
    """on_refusal = degrade, the daemon's side: a runtime container that does
    not fit as asked is admitted in the shared pool without reservations,
    the reason in container show and /metrics, and placed as asked once the
    room is back; a launched one cannot ask for it."""
    cg = ctx.cgroups("rtdeg", sweep=True)
    d = ctr_daemon(ctx, cg, "rtdeg", "[containers]\nengine_roots = %s\n" % cg.rel("eng")).start()
    cpus = ok(d, {"op": "node.show"})["allocatable"]["millicores"]
    big = ok(d, {"op": "container.admit", "name": "big", "cpu_request_mc": cpus - 200})
    r = d.request({"op": "container.admit", "kind": "runtime", "path": cg.rel("eng/late"),
                   "cpu_request_mc": 1000})
    assert r.get("refused") == "cpu", r
    c = ok(d, {"op": "container.admit", "kind": "runtime", "path": cg.rel("eng/late"),
               "cpu_request_mc": 1000, "degrade": True})["container"]
    assert "cpu" in c["degraded"] and c["asked"]["requests"]["cpu_mc"] == 1000, c
    assert c["requests"]["cpu_mc"] == 0 and c["class"] == "burstable", c
    text = d.scrape()
    assert "cgpilot_containers_degraded 1" in text, text
    assert "cgpilot_containers_degraded_total 1" in text
    r = d.request({"op": "container.admit", "name": "x", "degrade": True})
    assert "only for kind" in r.get("error", ""), r
    ok(d, {"op": "container.release", "id": big["container"]["id"]})
    wait_until(lambda: "degraded" not in ok(d, {"op": "container.show", "id": c["id"]})
               ["container"], 5, "the degraded container placed as asked")
    shown = ok(d, {"op": "container.show", "id": c["id"]})["container"]
    assert shown["requests"]["cpu_mc"] == 1000, shown
    assert "cgpilot_containers_replaced_total 1" in d.scrape()
    ok(d, {"op": "container.release", "id": c["id"], "kill": True})


def t_runtime_seccomp(ctx):
    """linux.seccomp is enforced, for the container's process and for what
    exec runs in it: an ERRNO rule (with and without arguments), the default
    action, and the profile's shape podman writes."""
    cg = ctx.cgroups("rtsec", sweep=True)
    rt = Runtime(ctx, "sec", "/nonexistent/cgpilot.sock")
    prof = {"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                {"names": ["no_such_syscall_anywhere"], "action": "SCMP_ACT_ERRNO"},
                # kill(pid, 0) denied, other signals not
                {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                 "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}]}
    rt.spec("/" + cg.rel("eng/s1"),
            ["sh", "-c", "mkdir /d 2>&1; echo mkdir=$?; kill -0 $$ 2>&1; echo k0=$?; "
             "kill -CONT $$; echo kc=$?; exec sleep 30"], seccomp=prof)
    out = rt.base + "/out"
    with open(out, "w") as f:
        argv = [RUN, "--root", rt.root, "--socket", rt.sock, "create", "--bundle", rt.bundle,
                "s1"]
        assert subprocess.run(argv, stdout=f, stderr=f, timeout=30).returncode == 0
    rt("start", "s1", check_rc=0)
    wait_until(lambda: "kc=" in open(out).read(), 10, "the container's output")
    text = open(out).read()
    assert "Operation not permitted" in text and "mkdir=1" in text, text
    assert "k0=1" in text and "kc=0" in text, text
    p = rt("exec", "s1", "sh", "-c", "mkdir /e 2>&1; echo exec-mkdir=$?", check_rc=0)
    assert "exec-mkdir=1" in p.stdout and "Operation not permitted" in p.stdout, p.stdout
    rt("delete", "--force", "s1", check_rc=0)
    # a profile whose default denies: a minimal allow-list still runs
    prof = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
            "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO"}]}
    rt.spec("/" + cg.rel("eng/s2"), ["true"], seccomp=prof)
    p = rt("run", "--bundle", rt.bundle, "s2")
    assert p.returncode != 0, (p.returncode, p.stderr)


def t_runtime_devices(ctx):
    """The device cgroup program: with CAP_MKNOD (containerd's default set) a
    container makes a node of any device but opens only what the rules and
    linux.devices allow; linux.devices' nodes are made with their mode."""
    cg = ctx.cgroups("rtdev", sweep=True)
    rt = Runtime(ctx, "dev", "/nonexistent/cgpilot.sock")
    os.makedirs(rt.bundle + "/rootfs/tmp", exist_ok=True)
    rt.spec("/" + cg.rel("eng/d1"),
            ["sh", "-c", "mknod /tmp/mem c 1 1 && echo mk=0; head -c1 /tmp/mem >/dev/null "
             "2>&1; echo rd=$?; echo x > /dev/mynull; echo wr=$?; ls -l /dev/mynull; "
             "head -c1 /dev/zero > /dev/null; echo zero=$?"],
            caps=["CAP_MKNOD", "CAP_DAC_OVERRIDE"],
            resources={"devices": [{"allow": False, "access": "rwm"}]},
            devices=[{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                      "fileMode": 0o600, "uid": 0, "gid": 0}])
    p = rt("run", "--bundle", rt.bundle, "d1", check_rc=0)
    assert "mk=0" in p.stdout and "rd=1" in p.stdout, p.stdout
    assert "wr=0" in p.stdout and "crw-------" in p.stdout and "zero=0" in p.stdout, p.stdout
    # bad rules are refused by their path
    rt.spec("/" + cg.rel("eng/d2"), ["true"],
            resources={"devices": [{"allow": False, "access": "rwx"}]})
    p = rt("create", "--bundle", rt.bundle, "d2", check_rc=1)
    assert "linux.resources.devices[0].access: 'rwx' is not of r, w, m" in p.stderr, p.stderr
    rt.spec("/" + cg.rel("eng/d2"), ["true"], devices=[{"path": "dev/x", "type": "c"}])
    p = rt("create", "--bundle", rt.bundle, "d2", check_rc=1)
    assert "linux.devices[0].path: must be an absolute path" in p.stderr, p.stderr


def t_runtime_console(ctx):
    """process.terminal with --console-socket: the pty's master comes over
    the socket (SCM_RIGHTS) during create, the container's stdio is the
    slave, its controlling terminal; without the socket create refuses."""
    import socket
    cg = ctx.cgroups("rtcon", sweep=True)
    rt = Runtime(ctx, "con", "/nonexistent/cgpilot.sock")
    rt.spec("/" + cg.rel("eng/t1"), ["sh", "-c", "tty; [ -t 0 ] && echo stdin-is-tty; "
                                     "echo term-ok; sleep 1"], terminal=True)
    p = rt("create", "--bundle", rt.bundle, "t1", check_rc=1)
    assert "--console-socket is needed" in p.stderr, p.stderr
    path = rt.base + "/console.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(20)
    argv = [RUN, "--root", rt.root, "--socket", rt.sock, "create", "--bundle", rt.bundle,
            "--console-socket", path, "t1"]
    with tempfile.TemporaryFile("w+") as err:
        create = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        try:
            conn, _ = srv.accept()
            _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
            conn.close()
            rc = create.wait(20)
            err.seek(0)
            assert rc == 0, (rc, err.read())
        finally:
            if create.poll() is None:
                create.kill()
                create.wait()
    assert len(fds) == 1, fds
    master = fds[0]
    try:
        rt("start", "t1", check_rc=0)
        out = b""
        deadline = time.time() + 10
        while b"term-ok" not in out and time.time() < deadline:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        text = out.decode(errors="replace")
        assert "/dev/pts/0" in text and "stdin-is-tty" in text and "term-ok" in text, text
    finally:
        os.close(master)
        srv.close()
    rt("delete", "--force", "t1", check_rc=0)


TESTS = [
    ("runtime_lifecycle", t_runtime_lifecycle),
    ("runtime_refused", t_runtime_refused),
    ("runtime_daemon_away", t_runtime_daemon_away),
    ("runtime_hostile", t_runtime_hostile),
    ("runtime_degraded", t_runtime_degraded),
    ("runtime_seccomp", t_runtime_seccomp),
    ("runtime_devices", t_runtime_devices),
    ("runtime_console", t_runtime_console),
]
