# SPDX-License-Identifier: Apache-2.0
"""The Kubernetes manifests (packaging/kubernetes/) and the container image
(`make image`) held against the real daemon.

k8s_manifests reads the manifests alone: one port from the daemon's
--metrics-address through the container, the probes, the Service, the
ServiceMonitor and the NetworkPolicy; selectors that select; the
ConfigMap where --config looks, and a configuration the daemon accepts;
the capabilities those of cgpilotd.service; the image's tag the build's
version.

k8s_image builds the image twice (the same bytes), inspects it with
skopeo (config, labels, the layer's digests), copies it (skopeo checks
every digest), lists the layer (the binaries, the libraries ldd names,
the loader, the configuration and licences, nothing else) and runs each
binary from it with chroot.

k8s_pod_paths runs the daemon as the DaemonSet's pod would: the image's
root, the image's entrypoint with the manifest's arguments ($(POD_IP) a
loopback address of its own), the manifest's volume mounts (the host's
cgroup tree and BTF, a directory of the test's for each node directory,
a bpffs of its own, the ConfigMap), the runtime's /proc of the host's pid
namespace, /sys and /dev, in a mount namespace of its own (nothing of it
reaches the host) and a cgroup of the test's as the pod's. Under strace it
must come up with no unexpected warning; every path it opened or created
lies under a manifest mount, the image or the runtime's file systems,
every manifest mount is used, the metrics listen on POD_IP at the
container's port and the probes' path answers there, the control socket
is reached from the node's side of /run/cgpilot, it stays in its pod's
cgroup, and its memory fits the manifest's request.

k8s_pod_capabilities runs it so with only the manifest's capabilities
(the bounding set, as root): it comes up, attaches its BPF, samples the
programs' run time (prog.show) and warns of nothing (mlockall needs
IPC_LOCK). Without SYS_ADMIN the sampling is refused; without BPF,
PERFMON and SYS_ADMIN the daemon does not start.
"""
import atexit
import ctypes
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request

# also as the pod's runtime (__main__, below): the script's folder is on sys.path
from harness import BUILD, DAEMON, ROOT, Daemon, Skip, log, v2_mount, wait_until

# Linux capability numbers (include/uapi/linux/capability.h), by the names
# Kubernetes uses (without CAP_).
CAPS = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
        "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
        "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
        "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
        "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
        "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"]

# Warnings the pod may log on this machine: a hybrid host's v2 tree has no
# controllers; root here has no CAP_SYS_RESOURCE (ENVIRONMENT); older
# kernels lack some tracepoints.
EXPECTED_WARNINGS = ("telemetry-only mode", "Failed to set oom_score_adj",
                     "this kernel lacks tracepoints")


# ---- the manifests ----

def k8s_dir():
    return os.path.join(ROOT, "packaging", "kubernetes")


def manifests():
    """{(kind, name): object} of every document in packaging/kubernetes/."""
    try:
        import yaml
    except ImportError:
        raise Skip("no PyYAML (package python3-yaml)")

    objs = {}
    for f in sorted(os.listdir(k8s_dir())):
        if not f.endswith(".yaml"):
            continue
        with open(os.path.join(k8s_dir(), f)) as fh:
            for d in yaml.safe_load_all(fh):
                if not d:
                    continue
                key = (d["kind"], d["metadata"]["name"])
                assert key not in objs, "%s defined twice (%s)" % (key, f)
                objs[key] = d
    return objs


def one(objs, kind):
    found = [o for (k, _), o in objs.items() if k == kind]
    assert len(found) == 1, "want one %s in packaging/kubernetes, found %d" % (kind, len(found))
    return found[0]


def daemon_container(ds):
    cs = ds["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1, "the DaemonSet's pod has %d containers, want cgpilotd alone" % len(cs)
    return cs[0]


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def expand(s, env):
    """Kubernetes' $(VAR) expansion of a container's args ($$ is a $)."""
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", sub, s)


def option(args, name):
    """The value of --name VALUE or --name=VALUE in args."""
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a[len(name) + 1:]
    raise AssertionError("the DaemonSet's args have no %s: %s" % (name, args))


def container_port(c, port):
    """A port number, or a port name of container c, as a number."""
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for p in c.get("ports", []) if p.get("name") == port]
    assert named, "no container port named %r" % port
    return named[0]


def quantity(q):
    """A Kubernetes quantity of bytes or CPUs as a float."""
    m = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi|k|M|G)?", str(q))
    assert m, "cannot read the quantity %r" % q
    mult = {None: 1, "m": 1e-3, "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "k": 1e3,
            "M": 1e6, "G": 1e9}[m.group(2)]
    return float(m.group(1)) * mult


def mounts_of(ds):
    """[(mountPath, volume, readOnly, propagation)] of the daemon's container."""
    pod = ds["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    out = []
    for m in daemon_container(ds).get("volumeMounts", []):
        assert m["name"] in vols, "volumeMount %s names no volume" % m["name"]
        out.append((os.path.normpath(m["mountPath"]), vols[m["name"]], m.get("readOnly", False),
                    m.get("mountPropagation")))
    return out


def unit_capabilities():
    with open(os.path.join(ROOT, "packaging", "cgpilotd.service")) as f:
        caps = set()
        for line in f:
            if line.startswith("CapabilityBoundingSet="):
                caps |= {c[len("CAP_"):] for c in line.split("=", 1)[1].split()}
    return caps


def manifest_capabilities(c):
    return set(c["securityContext"].get("capabilities", {}).get("add", []))


def t_k8s_manifests(ctx):
    objs = manifests()
    ns = one(objs, "Namespace")["metadata"]["name"]
    for (kind, name), o in objs.items():
        if kind != "Namespace":
            assert o["metadata"].get("namespace") == ns, "%s %s is not in %s" % (kind, name, ns)
    ds = one(objs, "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    labels = ds["spec"]["template"]["metadata"]["labels"]
    assert selects(ds["spec"]["selector"]["matchLabels"], labels), "the DaemonSet selects no pod"
    assert pod.get("hostPID") is True, "hostPID: the BPF programs report the host's pids"
    assert not pod.get("hostNetwork"), "the metrics are on the pod's IP, not the node's"
    sa = one(objs, "ServiceAccount")
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    assert pod.get("automountServiceAccountToken") is False
    c = daemon_container(ds)
    assert c["securityContext"].get("privileged") is True, \
        "privileged: the host's cgroup namespace and Bidirectional bpffs need it"

    # one port: --metrics-address, the container, the probes, Service, monitor, policy
    env = {e["name"]: e for e in c.get("env", [])}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP", env
    addr = option(c["args"], "--metrics-address")
    assert addr.startswith("$(POD_IP):"), "metrics address %s is not the pod's IP" % addr
    port = int(addr.rsplit(":", 1)[1])
    metrics = [p for p in c["ports"] if p["containerPort"] == port]
    assert len(metrics) == 1 and metrics[0].get("protocol", "TCP") == "TCP", c["ports"]
    pname = metrics[0]["name"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = c[probe]["httpGet"]
        assert container_port(c, get["port"]) == port, (probe, get)
        assert get["path"] == "/metrics", (probe, get)
    svc = one(objs, "Service")
    assert selects(svc["spec"]["selector"], labels), "the Service selects no cgpilotd pod"
    assert svc["spec"].get("clusterIP") == "None", "one endpoint per node: a headless Service"
    sports = [p for p in svc["spec"]["ports"] if container_port(c, p["targetPort"]) == port]
    assert len(sports) == 1, svc["spec"]["ports"]
    sm = one(objs, "ServiceMonitor")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1", sm["apiVersion"]
    assert selects(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"])
    assert ns in sm["spec"]["namespaceSelector"]["matchNames"]
    ep = sm["spec"]["endpoints"]
    assert len(ep) == 1 and ep[0]["port"] == sports[0]["name"] and ep[0]["path"] == "/metrics", ep
    np = one(objs, "NetworkPolicy")
    assert selects(np["spec"]["podSelector"]["matchLabels"], labels)
    assert np["spec"]["policyTypes"] == ["Ingress"]
    rules = np["spec"]["ingress"]
    assert len(rules) == 1, "one ingress rule: Prometheus to the metrics port"
    assert [container_port(c, p["port"]) for p in rules[0]["ports"]] == [port], rules
    peers = rules[0]["from"]
    assert peers and all(p.get("podSelector", {}).get("matchLabels", {}).get(
        "app.kubernetes.io/name") == "prometheus" and "namespaceSelector" in p
        for p in peers), "only Prometheus pods of a namespace may scrape: %s" % peers
    log("metrics port %d (%s): container, 3 probes, Service %s, ServiceMonitor, policy"
        % (port, pname, sports[0]["name"]))

    # the ConfigMap where --config looks, and a file the daemon takes
    conf = option(c["args"], "--config")
    cms = [(p, v) for p, v, _, _ in mounts_of(ds) if "configMap" in v]
    assert len(cms) == 1 and cms[0][0] == os.path.dirname(conf), (conf, cms)
    cm = objs[("ConfigMap", cms[0][1]["configMap"]["name"])]
    data = cm["data"][os.path.basename(conf)]
    path = os.path.join(tempfile.mkdtemp(prefix="cgpilot-itest-k8s-"), "cgpilotd.conf")
    ctx.dirs.append(os.path.dirname(path))
    with open(path, "w") as f:
        f.write(data)
    r = subprocess.run([DAEMON, "--check-config", "--config", path], capture_output=True,
                       text=True)
    assert r.returncode == 0, "the ConfigMap's cgpilotd.conf: %s" % r.stderr

    # hostPaths: absolute, read-only where the daemon only reads
    for mpath, vol, ro, prop in mounts_of(ds):
        if "hostPath" in vol:
            assert vol["hostPath"]["path"] == mpath, "%s mounted at %s" % (vol, mpath)
    assert {p for p, _, ro, _ in mounts_of(ds) if ro} >= {"/sys/kernel/btf", "/etc/cgpilot"}
    assert [p for p, _, _, prop in mounts_of(ds) if prop == "Bidirectional"] == ["/sys/fs/bpf"]

    caps = manifest_capabilities(c)
    assert caps == unit_capabilities(), \
        "the DaemonSet's capabilities %s are not cgpilotd.service's %s" % (
            sorted(caps), sorted(unit_capabilities()))
    assert caps <= set(CAPS), caps - set(CAPS)

    res = c["resources"]
    for k in ("cpu", "memory"):
        assert quantity(res["requests"][k]) <= quantity(res["limits"][k]), res
    version = subprocess.run([DAEMON, "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[1]
    assert c["image"].endswith(":" + version), "image %s is not version %s" % (c["image"],
                                                                              version)


# ---- the image ----

_images = []


def build_image(out):
    r = subprocess.run([os.path.join(ROOT, "packaging", "image", "build-image.sh"), BUILD, out],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, "build-image.sh failed: %s%s" % (r.stdout, r.stderr)
    log(r.stdout.strip())
    return out


def image():
    """The image archive, built once per run from the build output."""
    if not _images:
        d = tempfile.mkdtemp(prefix="cgpilot-itest-image-")
        atexit.register(shutil.rmtree, d, True)
        _images.append(build_image(os.path.join(d, "cgpilot-image.tar")))
    return _images[0]


def oci_blobs(archive):
    """index, manifest, config and the layer's bytes of a one-image archive."""
    with tarfile.open(archive) as t:
        def blob(d):
            data = t.extractfile("blobs/sha256/" + d["digest"].split(":", 1)[1]).read()
            assert len(data) == d["size"], d
            assert "sha256:" + hashlib.sha256(data).hexdigest() == d["digest"], d
            return data

        index = json.loads(t.extractfile("index.json").read())
        assert json.loads(t.extractfile("oci-layout").read()) == {"imageLayoutVersion": "1.0.0"}
        assert len(index["manifests"]) == 1, index
        manifest = json.loads(blob(index["manifests"][0]))
        config = json.loads(blob(manifest["config"]))
        assert len(manifest["layers"]) == 1, manifest
        layer = blob(manifest["layers"][0])
    return index, manifest, config, layer


def extract_layer(layer, dest):
    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:gz") as t:
        t.extractall(dest)


def ldd_closure():
    """Every shared library and loader ldd names for the three binaries."""
    libs = set()
    for b in ("cgpilotd", "cgpilot", "cgpilot-run"):
        out = subprocess.run(["ldd", os.path.join(BUILD, b)], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            f = line.split()
            if "=>" in f and f[f.index("=>") + 1].startswith("/"):
                libs.add(f[f.index("=>") + 1])
            elif f and f[0].startswith("/"):
                libs.add(f[0])
    return libs


def skopeo(*args):
    if not shutil.which("skopeo"):
        raise Skip("skopeo not installed (package skopeo)")
    r = subprocess.run(["skopeo"] + list(args), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "skopeo %s: %s" % (" ".join(args), r.stderr)
    return r.stdout


def t_k8s_image(ctx):
    first = image()
    d = tempfile.mkdtemp(prefix="cgpilot-itest-image-")
    ctx.dirs.append(d)
    second = build_image(os.path.join(d, "again.tar"))
    with open(first, "rb") as a, open(second, "rb") as b:
        assert a.read() == b.read(), "two builds of the same binaries differ"
    version = subprocess.run([DAEMON, "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[1]
    index, manifest, config, layer = oci_blobs(first)

    ref = "oci-archive:" + first
    info = json.loads(skopeo("inspect", ref))
    assert info["Digest"] == index["manifests"][0]["digest"], (info, index)
    assert info["Os"] == "linux" and info["Architecture"] in ("amd64", "arm64"), info
    assert info["Layers"] == [manifest["layers"][0]["digest"]], info
    labels = info["Labels"]
    for k in ("title", "description", "version", "created", "licenses"):
        assert labels.get("org.opencontainers.image." + k), "no label %s: %s" % (k, labels)
    assert labels["org.opencontainers.image.version"] == version, labels
    cfg = json.loads(skopeo("inspect", "--config", ref))
    assert cfg["config"]["Entrypoint"] == ["/usr/sbin/cgpilotd"], cfg["config"]
    assert cfg["config"]["Cmd"] == ["--foreground"], cfg["config"]
    assert cfg == config, "skopeo reads another config than the archive holds"
    diff_id = "sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()
    assert cfg["rootfs"] == {"type": "layers", "diff_ids": [diff_id]}, cfg["rootfs"]
    name = index["manifests"][0]["annotations"]["io.containerd.image.name"]
    ds = one(manifests(), "DaemonSet")
    assert daemon_container(ds)["image"] == name, (daemon_container(ds)["image"], name)
    # skopeo checks each blob's digest as it copies
    skopeo("copy", "--quiet", ref, "dir:" + os.path.join(d, "copy"))

    with tarfile.open(fileobj=io.BytesIO(layer), mode="r:gz") as t:
        members = t.getmembers()
    assert all(m.uid == 0 and m.gid == 0 for m in members)
    assert len({m.mtime for m in members}) == 1, "entries of more than one mtime"
    files = {"/" + m.name for m in members if m.isfile()}
    assert not [m.name for m in members if not (m.isfile() or m.isdir())], "links or devices"
    want = {"/usr/sbin/cgpilotd", "/usr/bin/cgpilot", "/usr/bin/cgpilot-run",
            "/etc/cgpilot/cgpilotd.conf"} | ldd_closure()
    docs = {f for f in files if f.startswith("/usr/share/doc/")}
    assert files - docs == want, "the layer has %s more, misses %s" % (
        sorted(files - docs - want), sorted(want - files))
    assert "/usr/share/doc/cgpilot/LICENSE" in docs, sorted(docs)
    log("layer: %d files, %d of them licences, %d KiB compressed" % (
        len(files), len(docs), len(layer) // 1024))

    root = os.path.join(d, "root")
    extract_layer(layer, root)
    for b in ("/usr/sbin/cgpilotd", "/usr/bin/cgpilot", "/usr/bin/cgpilot-run"):
        r = subprocess.run(["chroot", root, b, "--version"], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 0 and r.stdout.split() == [os.path.basename(b), version], \
            "%s --version in the image: %d %s%s" % (b, r.returncode, r.stdout, r.stderr)


# ---- the pod ----

class Pod:
    """The DaemonSet's pod on this host: the image's root and entrypoint,
    the manifest's args and volume mounts, each hostPath replaced by a
    stand-in (the host's own where it is only read), in a mount namespace
    of its own, in a cgroup of the test's."""

    def __init__(self, ctx, name):
        self.ctx = ctx
        self.ds = one(manifests(), "DaemonSet")
        self.c = daemon_container(self.ds)
        self.base = tempfile.mkdtemp(prefix="cgpilot-itest-k8s-%s-" % name)
        ctx.dirs.append(self.base)
        self.rootfs = os.path.join(self.base, "rootfs")
        _, _, config, layer = oci_blobs(image())
        extract_layer(layer, self.rootfs)
        with tarfile.open(fileobj=io.BytesIO(layer), mode="r:gz") as t:
            self.image_files = {os.path.normpath("/" + m.name) for m in t.getmembers()}
        self.image_files.add("/")
        self.config = config["config"]
        self.cgs = ctx.cgroups("k8s-" + name)
        self.cg = self.cgs.make("pod")
        self.ip = "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 255),
                                    random.randint(1, 254))
        self.node = {}  # mountPath -> the stand-in for the node's directory
        self.mounts = []
        objs = manifests()
        for mpath, vol, ro, prop in mounts_of(self.ds):
            if "configMap" in vol:
                src = os.path.join(self.base, "configmap")
                os.mkdir(src)
                for k, v in objs[("ConfigMap", vol["configMap"]["name"])]["data"].items():
                    with open(os.path.join(src, k), "w") as f:
                        f.write(v)
                self.mounts.append({"kind": "bind", "source": src, "target": mpath, "ro": True})
                continue
            assert "hostPath" in vol, "volume %s: only hostPath and configMap have stand-ins" % vol
            host = vol["hostPath"]["path"]
            if host in ("/sys/fs/cgroup", "/sys/kernel/btf"):
                # the node's own: the daemon reads every cgroup and the BTF
                src = host
            elif host == "/sys/fs/bpf":
                src = None  # a bpffs instance of the pod's own
            elif host in ("/run/cgpilot", "/var/log/cgpilot"):
                src = os.path.join(self.base, "node" + host.replace("/", "-"))
                os.mkdir(src, 0o755)  # as kubelet's DirectoryOrCreate makes it
            else:
                raise AssertionError("hostPath %s has no stand-in in this test: give it one"
                                     % host)
            self.node[mpath] = src
            self.mounts.append({"kind": "bpffs" if src is None else "bind", "source": src,
                                "target": mpath, "ro": ro})
        self.env = {"POD_IP": self.ip}
        for e in self.config.get("Env", []):
            k, _, v = e.partition("=")
            self.env.setdefault(k, v)
        self.argv = list(self.config["Entrypoint"]) + [expand(a, self.env) for a in self.c["args"]]
        self.proc = self.pid = None
        self.logf = os.path.join(self.base, "daemon.log")
        self.sock = os.path.join(self.node["/run/cgpilot"], "cgpilot.sock")

    def start(self, caps=None, strace_log=None, wait=True):
        spec = {"rootfs": self.rootfs, "mounts": self.mounts, "cgroup": self.cg,
                "caps": caps, "argv": self.argv, "env": self.env, "strace": strace_log}
        path = os.path.join(self.base, "spec.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        # stdin, stdout and stderr are the runtime's, as a container's are
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "pod", path],
                                     stdin=subprocess.DEVNULL, stdout=open(self.logf, "w"),
                                     stderr=subprocess.STDOUT)
        self.ctx.procs.append(self.proc)
        if wait:
            try:
                wait_until(self.ready, 30, "the pod's daemon to answer")
            except AssertionError as e:
                raise AssertionError("%s:\n%s" % (e, self.log()))
        return self

    # a control request over the socket on the node's side of /run/cgpilot
    request = Daemon.request

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("the pod exited with %d:\n%s" % (self.proc.returncode,
                                                                 self.log()))
        try:
            st = self.request({"op": "status"})
        except OSError:
            return False
        self.pid = st["pid"]
        return st

    def log(self):
        with open(self.logf, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.pid:
            try:
                os.kill(self.pid, 15)
            except ProcessLookupError:
                pass
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("the pod did not stop within 15 s of SIGTERM")


def warnings_of(text):
    return [l for l in text.splitlines()
            if re.match(r"cgpilotd: (warning|error):", l)
            and not any(w in l for w in EXPECTED_WARNINGS)]


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read().decode()


# Syscalls whose path arguments are in the container's view: *at() ones
# resolve against their dirfd, which strace -y prints as N</path>.
STRACE_LINE = re.compile(r"^(\d+) +(\w+)\((.*)\) += (-?\d+|\?)(?: (\w+))?")
AT_CALLS = {"openat", "openat2", "newfstatat", "statx", "mkdirat", "mknodat", "unlinkat",
            "renameat", "renameat2", "linkat", "symlinkat", "readlinkat", "fchmodat",
            "fchownat", "faccessat", "faccessat2", "utimensat", "execveat", "name_to_handle_at"}


def strace_paths(logfile, rootfs, exe):
    """[(path, ok, syscall)] the daemon named after its execve of exe, in the
    container's view (the rootfs prefix of strace's own view removed)."""
    out, started = [], False

    def view(p):
        if p == rootfs:
            return "/"
        return p[len(rootfs):] if p.startswith(rootfs + "/") else p

    with open(logfile, errors="replace") as f:
        for line in f:
            m = STRACE_LINE.match(line)
            if not m:
                continue
            _, call, args, ret, _ = m.groups()
            if not started:
                # what came before is chroot's, on the way in
                started = call == "execve" and args.startswith('"%s"' % exe) and ret == "0"
                continue
            ok = ret != "?" and int(ret) >= 0
            strs = re.findall(r'"((?:[^"\\]|\\.)*)"', args)
            # the dirfd, with -y its path (the cwd's for AT_FDCWD), then the name
            at = re.match(r"(AT_FDCWD|\d+)(?:<([^>]*)>)?, \"((?:[^\"\\]|\\.)*)\"", args)
            if call in AT_CALLS:
                if at:
                    base = view(at.group(2)) if at.group(2) else "/"
                    rel = at.group(3)
                    out.append((os.path.normpath(os.path.join(base, rel)), ok, call))
                continue
            if call in ("bind", "connect"):
                m2 = re.search(r'sun_path="([^"]*)"', args)
                if m2:
                    out.append((os.path.normpath(m2.group(1)), ok, call))
                continue
            if call == "mount":
                out.append((os.path.normpath(strs[1]), ok, call))
                continue
            if call == "bpf":
                m2 = re.search(r'pathname="([^"]*)"', args)
                if m2:
                    out.append((os.path.normpath(m2.group(1)), ok, call))
                continue
            if strs and strs[0].startswith("/"):
                out.append((os.path.normpath(strs[0]), ok, call))
    assert started, "no execve of %s in %s" % (exe, logfile)
    return out


def under(path, top):
    return path == top or path.startswith(top.rstrip("/") + "/")


def fd_paths(pid, rootfs):
    """The paths of the daemon's open files but its stdio (the runtime's),
    in the container's view."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        if int(fd) <= 2:
            continue
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if t.startswith("/"):
            t = t.replace(" (deleted)", "")
            out.append("/" if t == rootfs else t[len(rootfs):] if t.startswith(rootfs + "/")
                       else t)
    return out


def bpf_map_bytes(pid):
    total = 0
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                info = f.read()
        except OSError:
            continue
        if "map_type:" in info:
            m = re.search(r"^memlock:\s+(\d+)", info, re.M)
            total += int(m.group(1)) if m else 0
    return total


def peak_rss(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M).group(1)) * 1024


def t_k8s_pod_paths(ctx):
    if not shutil.which("strace"):
        raise Skip("strace not installed (package strace)")
    pod = Pod(ctx, "paths")
    trace = os.path.join(pod.base, "strace.log")
    st = pod.start(strace_log=trace).ready()
    port = container_port(pod.c, "metrics")
    assert st["metrics_address"] == "%s:%d" % (pod.ip, port), st["metrics_address"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        g = pod.c[probe]["httpGet"]
        status, body = get("http://%s:%d%s" % (pod.ip, container_port(pod.c, g["port"]),
                                               g["path"]))
        assert status == 200 and "cgpilot_" in body, (probe, status, body[:200])
    # cgpilot-run on the node finds the socket, the lock names the daemon
    assert pod.request({"op": "ping"})["ok"]
    with open(os.path.join(pod.node["/run/cgpilot"], "cgpilotd.lock")) as f:
        assert int(f.read()) == pod.pid
    with open("/proc/%d/cgroup" % pod.pid) as f:
        cg = [l for l in f.read().splitlines() if l.startswith("0::")][0][3:]
    assert os.path.join(v2_mount(), cg.lstrip("/")) == pod.cg, \
        "the daemon left its pod's cgroup for %s" % cg
    rss, maps = peak_rss(pod.pid), bpf_map_bytes(pod.pid)
    request = quantity(pod.c["resources"]["requests"]["memory"])
    log("peak RSS %.1f MiB + BPF maps %.1f MiB against a request of %.0f MiB" % (
        rss / 2 ** 20, maps / 2 ** 20, request / 2 ** 20))
    assert rss + maps < request, "the daemon's memory outgrew the manifest's request"
    fds = fd_paths(pod.pid, pod.rootfs)
    assert pod.stop() == 0, pod.log()
    assert not warnings_of(pod.log()), "unexpected warnings:\n" + "\n".join(
        warnings_of(pod.log()))

    targets = [m["target"] for m in pod.mounts]
    used = {t: [] for t in targets}
    runtime = {"/proc": set(), "/sys": set(), "/dev": set()}
    absent, stray = [], []
    paths = strace_paths(trace, pod.rootfs, pod.argv[0])
    for p, ok, call in paths + [(p, True, "fd") for p in fds]:
        mount = [t for t in targets if under(p, t)]
        if mount:
            if ok:
                used[max(mount, key=len)].append(p)
            continue
        top = [r for r in runtime if under(p, r)]
        if top:
            runtime[top[0]].add(re.sub(r"^/proc/\d+/", "/proc/PID/", p))
            continue
        if p in pod.image_files or any(under(t, p) for t in targets):
            continue  # the image's, or a directory a mount point is in
        (stray if ok else absent).append((p, call))
    log("paths used: %d; per mount: %s" % (len(paths) + len(fds), {
        t: len(v) for t, v in used.items()}))
    log("from the runtime: %s" % {k: sorted(v)[:8] for k, v in runtime.items()})
    log("looked for, absent: %s" % sorted(set(absent))[:20])
    assert not stray, "used, but neither a manifest mount nor the image has them: %s" % stray
    unused = [t for t, v in used.items() if not v]
    assert not unused, "manifest mounts the daemon never used: %s" % unused


def t_k8s_pod_capabilities(ctx):
    ds = one(manifests(), "DaemonSet")
    want = manifest_capabilities(daemon_container(ds))
    with open("/proc/self/status") as f:
        bnd = int(re.search(r"^CapBnd:\s+([0-9a-f]+)", f.read(), re.M).group(1), 16)
    have = {c for i, c in enumerate(CAPS) if bnd >> i & 1}
    if want - have:
        log("not in this machine's bounding set, so not given: %s" % sorted(want - have))
    pod = Pod(ctx, "caps")
    st = pod.start(caps=sorted(want & have)).ready()
    with open("/proc/%d/status" % pod.pid) as f:
        eff = int(re.search(r"^CapEff:\s+([0-9a-f]+)", f.read(), re.M).group(1), 16)
    got = {c for i, c in enumerate(CAPS) if eff >> i & 1}
    assert got == want & have, "the daemon runs with %s" % sorted(got)
    status, body = get("http://%s/metrics" % st["metrics_address"])
    assert status == 200 and "cgpilot_bpf_program" in body, body[:300]
    assert "BPF telemetry attached" in pod.log(), pod.log()
    # BPF run-time statistics (cgpilot prog show) need SYS_ADMIN
    r = pod.request({"op": "prog.show", "sample_ms": 100})
    assert r.get("ok") and r["progs"], r
    assert pod.stop() == 0, pod.log()
    # IPC_LOCK's mlockall, and the rest, without a word
    assert not warnings_of(pod.log()), "unexpected warnings:\n" + "\n".join(
        warnings_of(pod.log()))

    nosys = Pod(ctx, "nosysadmin").start(caps=sorted(want & have - {"SYS_ADMIN"}))
    r = nosys.request({"op": "prog.show", "sample_ms": 100})
    assert not r.get("ok") and "run-time stats" in r.get("error", ""), r
    assert nosys.stop() == 0, nosys.log()

    # without what loads BPF it still serves the node, from the kernel's files,
    # and says which capability is missing
    less = Pod(ctx, "nocaps").start(caps=sorted(want & have - {"BPF", "PERFMON", "SYS_ADMIN"}))
    st = less.ready()
    assert st["telemetry"] == "files" and st["telemetry_missing"] == "bpf_syscall", st
    text = less.log()
    assert "Failed to load the BPF telemetry" in text and "files-only mode" in text, text
    assert "neither CAP_BPF nor CAP_SYS_ADMIN" in text, text
    status, body = get("http://%s/metrics" % st["metrics_address"])
    assert status == 200 and 'cgpilot_node_feature_available{feature="bpf_telemetry"} 0' in body
    assert less.stop() == 0, less.log()


TESTS = [
    ("k8s_manifests", t_k8s_manifests),
    ("k8s_image", t_k8s_image),
    ("k8s_pod_paths", t_k8s_pod_paths),
    ("k8s_pod_capabilities", t_k8s_pod_capabilities),
]


# ---- the pod's runtime: python3 test_kubernetes.py pod SPEC.json ----

def run_pod(spec_path):
    """Set up the pod's mount namespace and exec the daemon; never returns."""
    with open(spec_path) as f:
        spec = json.load(f)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                           ctypes.c_char_p]
    MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
    MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18

    def check(r, what):
        if r != 0:
            e = ctypes.get_errno()
            sys.exit("pod: %s: %s" % (what, os.strerror(e)))

    def mount(src, target, fstype, flags, data=None):
        check(libc.mount(src and src.encode(), target.encode(), fstype and fstype.encode(),
                         flags, data and data.encode()), "mount %s on %s" % (src, target))

    root = spec["rootfs"]
    # the pod's own mount namespace, from which nothing propagates back
    check(libc.unshare(0x00020000), "unshare(CLONE_NEWNS)")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # what the runtime gives every container: /proc (of the host's pid
    # namespace: hostPID), /sys (read-write: privileged), /dev
    for d in ("proc", "sys", "dev"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("sysfs", root + "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID, "mode=755")
    for dev in ("null", "zero", "full", "random", "urandom", "tty"):
        open(root + "/dev/" + dev, "w").close()
        mount("/dev/" + dev, root + "/dev/" + dev, None, MS_BIND)
    for m in spec["mounts"]:
        target = root + m["target"]
        os.makedirs(target, exist_ok=True)
        if m["kind"] == "bpffs":
            mount("bpf", target, "bpf", 0, "mode=0700")
        else:
            mount(m["source"], target, None, MS_BIND | MS_REC)
            if m["ro"]:
                mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
    with open(os.path.join(spec["cgroup"], "cgroup.procs"), "w") as f:
        f.write("0")
    env = spec["env"]
    if spec["strace"]:
        # strace and chroot are the host's: the pod's root has neither
        os.execve(shutil.which("strace"),
                  ["strace", "-f", "-qq", "-y", "-s", "256", "--seccomp-bpf", "-o",
                   spec["strace"], "-e", "trace=%file,bind,connect,bpf,mount", "--",
                   shutil.which("chroot"), root] + spec["argv"], env)
    os.chroot(root)
    os.chdir("/")
    if spec["caps"] is not None:
        keep = set(spec["caps"])
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
        for i in range(last + 1):
            if i >= len(CAPS) or CAPS[i] not in keep:
                check(libc.prctl(24, i, 0, 0, 0), "drop capability %d from the bounding set" % i)
    # root's capabilities after execve are its bounding set
    os.execve(spec["argv"][0], spec["argv"], env)


if __name__ == "__main__" and sys.argv[1:2] == ["pod"]:
    run_pod(sys.argv[2])
