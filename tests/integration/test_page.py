# SPDX-License-Identifier: Apache-2.0
"""The live page at / and its data at /api/v1/overview: in a real browser
(Debian's headless Chromium) the page shows a busy cgroup with its pressure,
a hostile cgroup name as text only, and an action of the CPU ladder with its
reason; the endpoint agrees with the CLI, refuses what is not GET or HEAD,
and stays bounded while many cgroups come and go through its top."""
import html.parser
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from harness import BUILD, Skip, Subscriber, log, wait_until
from test_containers import admit, ctr_daemon, mark_started
from test_policy import HOG, adopted_pod, ladder_daemon, make_pod

# what a local user may name a cgroup: markup with a script in it
HOSTILE = "<img src=x onerror=alert(1)>"
FAST = "[telemetry]\nsample_interval_ms = 500\npsi_sweep_s = 1\n"


def base_url(d):
    return "http://%s" % d.request({"op": "status"})["metrics_address"]


def http(d, path, method="GET", body=None):
    """(status, headers, body) of one request; errors are answers too."""
    req = urllib.request.Request(base_url(d) + path, method=method, data=body)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def overview(d):
    status, headers, body = http(d, "/api/v1/overview")
    assert status == 200, (status, body)
    assert headers["Content-Type"] == "application/json", headers
    return json.loads(body.decode("utf-8"))


def stop_clean(d):
    """The daemon stops cleanly (the sanitizer build would say otherwise)."""
    assert d.stop() == 0, d.log()
    assert "Sanitizer" not in d.log() and "runtime error" not in d.log(), d.log()


def top_entry(o, path):
    return next((c for c in o.get("top", []) if c["path"] == path), None)


def cli_json(d, *args):
    return json.loads(d.cli("-j", *args).stdout)


# ---- a DOM from Chromium's --dump-dom ----

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find(self, tag=None, cls=None):
        return [n for n in self.walk() if (tag is None or n.tag == tag) and
                (cls is None or cls in n.classes())]


class DomParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#document", [], None)

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def chromium(ctx, url, *args, budget_ms=4000):
    """Headless Chromium on url; its stdout. As root it needs --no-sandbox
    (without, it prints nothing and exits 0). Its processes are ours: the
    whole group goes on a timeout."""
    exe = shutil.which("chromium")
    if not exe:
        raise Skip("chromium not installed (package chromium: make deps)")
    prof = tempfile.mkdtemp(prefix="cgpilot-itest-chromium-")
    ctx.dirs.append(prof)
    argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-extensions", "--user-data-dir=" + prof,
            "--virtual-time-budget=%d" % budget_ms] + list(args) + [url]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise AssertionError("chromium did not finish within 30 s (a dialog the page opened?)")
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # helpers it left behind
        except ProcessLookupError:
            pass
    assert p.returncode == 0, (p.returncode, err.decode(errors="replace")[-2000:])
    return out.decode("utf-8")


def dump_dom(ctx, url):
    out = chromium(ctx, url, "--dump-dom")
    assert out.strip(), "chromium printed no DOM (as root it needs --no-sandbox)"
    p = DomParser()
    p.feed(out)
    p.close()
    return out, p.root


def screenshot(ctx, url, name):
    path = os.path.join(os.path.abspath(BUILD), "test-page", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    chromium(ctx, url, "--screenshot=" + path, "--window-size=1280,2200", "--hide-scrollbars")
    with open(path, "rb") as f:
        head = f.read(8)
    assert head == b"\x89PNG\r\n\x1a\n", head
    assert os.path.getsize(path) > 20000, os.path.getsize(path)  # more than a blank page
    print("    screenshot: %s" % path, flush=True)
    return path


def top_rows(root):
    """{cgroup path: {cell class: text}} of the page's top table."""
    rows = {}
    for tr in root.find("tr", "top-row"):
        cells = {c for td in tr.find("td") for c in td.classes()}
        name = tr.find("span", "name")
        assert name, tr.text()
        rows[name[0].text()] = {c: next(td for td in tr.find("td") if c in td.classes()).text()
                                for c in cells}
    return rows


def t_page_in_browser(ctx):
    """The DOM after the page's scripts ran: the busy cgroup with its CPU
    wait and PSI, the hostile name as text and no element made of it, the
    CPU ladder's freeze with its reason among the events; a screenshot."""
    cg = ctx.cgroups("pagebrowser", sweep=True)
    d = ladder_daemon(ctx, cg, "pagebrowser")
    with open(d.conf, "a") as f:
        f.write(FAST)
    pod_rel = make_pod(cg)
    d.start()
    pod = adopted_pod(d, cg, pod_rel)
    # pressure that lasts, on CPU 1: three loops and one beside them
    busy = cg.make("busy")
    hostile = cg.make(HOSTILE)
    cg.busy(busy, 3, cpu=1)
    cg.busy(hostile, 1, cpu=1)
    # an action with its reason, on CPU 0: the guaranteed pod's task waits
    # behind a besteffort hog, which the ladder freezes
    hog = admit(d, name="hog", **{"class": "besteffort"})
    sub = Subscriber(d, ["action"])
    cg.spawn(os.path.join(cg.mount, hog["cgroup"]), HOG, cpu=0)
    probe = cg.spawn(os.path.join(cg.parent, pod_rel), HOG, cpu=0)
    sub.wait_for(lambda e: e.get("knob") == "cgroup.freeze" and e.get("new") == "1", 10)
    sub.close()
    cg.stop([probe])  # no flapping of the ladder from here
    busy_rel, hostile_rel = cg.rel("busy"), cg.rel(HOSTILE)

    def ready():
        o = overview(d)
        b, h = top_entry(o, busy_rel), top_entry(o, hostile_rel)
        return o if (b and h and b["cpu_wait_rate"] > 0.05 and h["cpu_wait_rate"] > 0.05 and
                     b["psi_some"]["cpu"] is not None and "cpu" in (b.get("pressure") or [])) \
            else None

    # its onset episode too: the ladder's freeze above may come before it
    o = wait_until(ready, 20, "the busy and hostile cgroups in the top with CPU wait, PSI and "
                   "a CPU episode")
    log("API: busy waits %.2f s/s, PSI cpu %.0f%%" % (
        top_entry(o, busy_rel)["cpu_wait_rate"], 100 * top_entry(o, busy_rel)["psi_some"]["cpu"]))
    url = base_url(d) + "/"
    raw, root = dump_dom(ctx, url)
    status = [n for n in root.walk() if n.attrs.get("id") == "status"]
    assert status and status[0].text().startswith("updated"), (status and status[0].text(), raw[:2000])
    rows = top_rows(root)
    assert busy_rel in rows, (list(rows), raw[:3000])
    wait = float(rows[busy_rel]["cpu_wait"])
    assert wait > 0.05, rows[busy_rel]
    assert rows[busy_rel]["psi_cpu"].endswith("%") and float(rows[busy_rel]["psi_cpu"][:-1]) > 0, \
        rows[busy_rel]
    assert "cpu" in rows[busy_rel]["episode"], rows[busy_rel]  # in an onset episode
    log("page: busy waits %s s/s, PSI cpu %s" % (rows[busy_rel]["cpu_wait"], rows[busy_rel]["psi_cpu"]))
    # the hostile name: text in its row, and nothing made of it
    assert hostile_rel in rows, list(rows)
    assert float(rows[hostile_rel]["cpu_wait"]) > 0.05, rows[hostile_rel]
    assert not root.find("img"), [n.attrs for n in root.find("img")]
    assert not [n for n in root.walk() for a in n.attrs if a.startswith("on")]
    assert "<img" not in raw and "&lt;img src=x onerror=alert(1)&gt;" in raw
    # events: the busy cgroup's onset; the freeze with the ladder's reason
    evs = root.find("tr", "event")
    onsets = [e for e in evs if "onset" in e.classes() and e.find("span", "name")[0].text() == busy_rel]
    assert onsets, [e.text() for e in evs][:20]
    acts = [e.text() for e in evs if "action" in e.classes()]
    froze = [a for a in acts if "cgroup.freeze: 0 -> 1" in a and hog["cgroup"] in a]
    assert froze and "cpu ladder none -> freeze" in froze[0] and pod["cgroup"] in froze[0], acts
    assert "rung none -> freeze" in froze[0], froze
    # the books and the containers: the hog and the adopted pod
    ctr_text = [n.text() for n in root.find("table") if n.attrs.get("id") == "containers"][0]
    assert "hog" in ctr_text and "besteffort" in ctr_text and pod["cgroup"] in ctr_text, ctr_text
    screenshot(ctx, url, "page.png")
    stop_clean(d)


def t_page_api(ctx):
    """The overview's fields agree with the CLI's; HEAD has no body; other
    methods are refused and change nothing; other paths are not found."""
    cg = ctx.cgroups("pageapi", sweep=True)
    d = ctr_daemon(ctx, cg, "pageapi", extra=FAST)
    d.start()
    web = admit(d, name="web", cpu_request_mc=250, memory_request=64 << 20)
    mark_started(d, web["id"])
    busy = cg.make("busy")
    cg.busy(busy, 2, cpu=0)
    busy_rel = cg.rel("busy")
    # a name that is not UTF-8: shown in its display form, the JSON stays UTF-8
    bad = os.path.join(os.fsencode(cg.parent), b"bad-\xff\xfe")
    os.mkdir(bad)
    cg.busy(os.fsdecode(bad), 1, cpu=0)

    def ready():
        o = overview(d)
        t = top_entry(o, busy_rel)
        b = top_entry(o, cg.rel("bad-%FF%FE"))
        return o if (t and t["cpu_wait_rate"] > 0 and t.get("history", {}).get("t") and
                     b and b["id"] == os.stat(bad).st_ino) else None

    o = wait_until(ready, 10, "the busy cgroup in the top with a rate and a history")
    for k in ("version", "time_ms", "uptime_s", "mode", "dry_run", "node", "containers", "policies",
              "top", "history", "events", "limits"):
        assert k in o, (k, list(o))
    # node: as `node status` and `node show` say
    st, ns = cli_json(d, "node", "status"), cli_json(d, "node", "show")
    n = o["node"]
    assert (n["cpus"], n["memory_bytes"]) == (st["node_cpus"], st["node_memory_bytes"]), (n, st)
    assert o["mode"] == st["mode"] and o["version"] == st["version"], (o["mode"], st)
    assert n["controllers"] == st["controllers"], (n, st)
    assert n["missing_controllers"] == st["missing_controllers"], (n, st)
    for k in ("allocatable", "reserved", "requested", "free", "besteffort", "pools", "exclusive",
              "containers", "queued", "enforceable"):
        assert n[k] == ns[k], (k, n[k], ns[k])
    assert n["requested"] == {"cpu_mc": 250, "memory_bytes": 64 << 20}, n["requested"]
    assert n["cgroups"] > 0
    # containers: as `container list` lists them
    cl = cli_json(d, "container", "list")
    cl = cl["containers"] if isinstance(cl, dict) else cl
    pick = lambda c: (c["id"], c["name"], c["kind"], c["class"], c["state"], c["cgroup"],
                      c["requests"])
    assert [pick(c) for c in o["containers"]] == [pick(c) for c in cl], (o["containers"], cl)
    assert [c["name"] for c in o["containers"]] == ["web"]
    # policies: as `policy show` has them
    ps = cli_json(d, "policy", "show")
    assert set(o["policies"]) == set(ps["policies"]), (list(o["policies"]), list(ps["policies"]))
    assert o["policies"]["cpu"]["enabled"] == ps["policies"]["cpu"]["enabled"]
    # the top: cgroup list's figures, never ahead of a fresh `cgroup show`
    t = top_entry(o, busy_rel)
    shown = cli_json(d, "cgroup", "show", busy_rel)
    shown = shown.get("cgroup", shown)
    assert t["id"] == shown["id"] == os.stat(busy).st_ino, (t["id"], shown["id"])
    assert 0 < t["cpu_ns"] <= shown["cpu"]["on_cpu_ns"], (t["cpu_ns"], shown["cpu"])
    assert 0 < t["cpu_wait_ns"] <= shown["cpu"]["wait_ns"], (t["cpu_wait_ns"], shown["cpu"])
    assert t["cpu_wait_rate"] > 0 and t["score"] >= t["cpu_wait_rate"] * 0.999, t
    listed = cli_json(d, "cgroup", "list")
    listed = {c["id"]: c for c in (listed["cgroups"] if isinstance(listed, dict) else listed)}
    assert listed[t["id"]]["path"] == busy_rel, listed[t["id"]]
    scores = [c["score"] for c in o["top"]]
    assert scores == sorted(scores, reverse=True) and len(scores) <= o["limits"]["top"], scores
    h = t["history"]
    assert 1 <= len(h["t"]) <= o["limits"]["cgroup_points"], h
    assert all(len(h[k]) == len(h["t"]) for k in h), {k: len(v) for k, v in h.items()}
    assert h["t"] == sorted(h["t"]), h["t"]
    nh = o["history"]
    assert nh["step_ms"] == 1000 and 1 <= len(nh["t"]) <= o["limits"]["node_points"], nh
    assert all(len(nh[k]) == len(nh["t"]) for k in nh if isinstance(nh[k], list))
    assert max(x for x in nh["cpu_wait"] if x is not None) > 0, nh["cpu_wait"]
    # HEAD: the headers without a body
    for path, ctype in (("/", "text/html; charset=utf-8"), ("/api/v1/overview", "application/json")):
        status, headers, body = http(d, path, "HEAD")
        assert status == 200 and body == b"" and headers["Content-Type"] == ctype, (path, headers)
        assert headers["Cache-Control"] == "no-store", headers
    status, headers, body = http(d, "/")
    assert status == 200 and b"/api/v1/overview" in body and b"<script nonce=" in body, body[:200]
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp, csp
    # only the page's own script and style run: a nonce of each response
    nonce = re.search(r"script-src 'nonce-([0-9a-f]{32})'", csp)
    assert nonce and "unsafe-inline" not in csp, csp
    assert body.count(b'nonce="%s"' % nonce.group(1).encode()) == 2, body[:400]
    assert b"PLACEHOLDER" not in body
    assert http(d, "/")[1]["Content-Security-Policy"] != csp
    # only GET and HEAD; a body that reads like a request changes nothing
    def books():
        cl = cli_json(d, "container", "list")
        cl = cl["containers"] if isinstance(cl, dict) else cl
        return [pick(c) for c in cl], cli_json(d, "node", "show")["requested"]

    before = books()
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for path in ("/", "/api/v1/overview", "/metrics"):
            status, headers, body = http(d, path, method,
                                         body=b'{"op": "container.release", "id": 1}')
            assert status == 405, (method, path, status, body)
            assert headers["Allow"] == "GET, HEAD", headers
    assert books() == before
    for path in ("/api/v1/overview/", "/api/v1", "/api/v1/overviewx", "/index.html", "/page.html"):
        status, _, body = http(d, path)
        assert status == 404, (path, status, body)
    assert http(d, "/metrics")[0] == 200
    stop_clean(d)


def t_page_bounded(ctx):
    """Many cgroups, and a hundred and fifty that each wait for a CPU once:
    the top, the histories and the events stay within their limits, and so
    does the overview's size."""
    cgs = ctx.cgroups("pagebound")
    d = ctx.daemon("pagebound", config="[telemetry]\nsample_interval_ms = 500\nwindow_ms = 50\n"
                   "cpu_threshold_ms = 2\n").start()
    bg = cgs.make("bg")
    cgs.busy(bg, 1, cpu=0)
    for i in range(1500):
        cgs.make("idle%d" % i)
    short = ["sh", "-c", "i=0; while [ $i -lt 4000 ]; do i=$((i+1)); done"]
    t0 = time.time()
    for i in range(150):
        assert cgs.spawn(cgs.make("s%d" % i), short, cpu=0).wait(30) == 0
    log("150 short waits in %.1f s" % (time.time() - t0))
    time.sleep(1.2)  # the last ones' clears, a tick or two
    _, _, body = http(d, "/api/v1/overview")
    o = json.loads(body)
    lim = o["limits"]
    assert (lim["top"], lim["tracked"], lim["events"]) == (10, 20, 256), lim
    assert o["node"]["cgroups"] >= 1650, o["node"]["cgroups"]
    assert len(o["top"]) <= lim["top"], len(o["top"])
    assert 0 < o["history"]["tracked"] <= lim["tracked"], o["history"]["tracked"]
    assert len(o["history"]["t"]) <= lim["node_points"]
    for c in o["top"]:
        assert len(c.get("history", {}).get("t", [])) <= lim["cgroup_points"], c["path"]
    evs = o["events"]
    seen = {e["cgroup"] for e in evs}
    log("%d events kept of %d, %d cgroups among them; overview %d bytes" % (
        len(evs), evs[0]["seq"] if evs else 0, len(seen), len(body)))
    assert len(evs) == lim["events"] and evs[0]["seq"] > lim["events"], (len(evs), evs[:1])
    assert [e["seq"] for e in evs] == sorted((e["seq"] for e in evs), reverse=True)
    assert sum(1 for p in seen if p and "/s" in p) >= 40, sorted(p for p in seen if p)[:50]
    assert len(body) < 512 * 1024, len(body)
    stop_clean(d)


TESTS = [
    ("page_in_browser", t_page_in_browser),
    ("page_api", t_page_api),
    ("page_bounded", t_page_bounded),
]
