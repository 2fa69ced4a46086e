# SPDX-License-Identifier: Apache-2.0
"""/metrics under hostile or broken HTTP clients: slowloris, idle floods,
clients that never read, running out of file descriptors, keep-alive. Each
test runs a daemon of its own (most with a small connection limit and a short
request timeout), talks to it over loopback only, and closes every socket it
opened."""
import http.client
import json
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

if __name__ != "__main__":
    from harness import *  # noqa: F401,F403

LIMIT = 64
TIMEOUT_S = 2
CONFIG = "[metrics]\nmax_connections = %d\nrequest_timeout_s = %d\n" % (LIMIT, TIMEOUT_S)
REQUEST = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def target(d):
    # a control client just closed may still count against a tight
    # [control] max_clients: ask again
    for _ in range(50):
        st = d.request({"op": "status"})
        if "metrics_address" in st:
            host, port = st["metrics_address"].rsplit(":", 1)
            return host, int(port)
        time.sleep(0.05)
    raise AssertionError("status without metrics_address: %s" % st)


def scrape_fresh(addr, budget=1.0):
    """One scrape on a new connection, as Prometheus does after a failure:
    the whole response within budget seconds. Returns (ok, seconds, body)."""
    t0 = time.monotonic()
    s = socket.socket()
    s.settimeout(budget)
    try:
        s.connect(addr)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        buf = b""
        while time.monotonic() - t0 < budget:
            s.settimeout(max(0.01, budget - (time.monotonic() - t0)))
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        dt = time.monotonic() - t0
        head, _, body = buf.partition(b"\r\n\r\n")
        length = [l.split(b":", 1)[1] for l in head.split(b"\r\n")
                  if l.lower().startswith(b"content-length:")]
        ok = (head.startswith(b"HTTP/1.1 200") and dt <= budget and length and
              int(length[0]) == len(body) and b"cgpilot_build_info" in body)
        return ok, dt, body.decode(errors="replace")
    except OSError:
        return False, time.monotonic() - t0, ""
    finally:
        s.close()


def sample(text, name, labels=""):
    for line in text.splitlines():
        if line.startswith(name + labels + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def http_stats(d):
    ok, _, text = scrape_fresh(target(d), 5.0)
    assert ok, "scrape failed"
    return {
        "open": sample(text, "cgpilot_http_connections"),
        "accepted": sample(text, "cgpilot_http_connections_accepted_total"),
        "pauses": sample(text, "cgpilot_http_accept_pauses_total"),
        "timeout": sample(text, "cgpilot_http_connections_closed_total", '{reason="timeout"}'),
        "evicted": sample(text, "cgpilot_http_connections_closed_total", '{reason="evicted"}'),
    }


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_nonblocking(addr, n):
    """n connections started without waiting: a full accept queue must not
    stall the test (connect would block in SYN retries)."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(addr)
        socks.append(s)
    return socks


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


class Slowloris:
    """n connections, each sending one more header line every interval and
    never finishing the request; one that the server closes is replaced at
    its next turn. The connections take their turns spread over the
    interval, as independent clients would. Runs in a process of its own
    (start()): sharing the GIL, its connects would hold up the scraper
    between connect and request, which no real client does."""

    SLOTS = 20

    def __init__(self, addr, n, interval=1.0):
        self.addr, self.interval = addr, interval
        self.per_slot = max(1, n // self.SLOTS)
        self.slots = [dict() for _ in range(self.SLOTS)]
        self.where = {}  # fd -> slot
        self.reconnects = -self.per_slot * self.SLOTS  # the first round is no reconnect
        self.stopping = False

    def connect(self, slot):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(self.addr)
        self.slots[slot][s.fileno()] = [s, False]
        self.where[s.fileno()] = slot
        self.reconnects += 1

    def drop(self, fd):
        st = self.slots[self.where.pop(fd)].pop(fd)
        st[0].close()

    def turn(self, slot):
        while len(self.slots[slot]) < self.per_slot:
            self.connect(slot)
        for fd, st in list(self.slots[slot].items()):
            try:
                st[0].send(b"GET /metrics HTTP/1.1\r\n" if not st[1] else b"X-a: b\r\n")
                st[1] = True
            except BlockingIOError:
                pass
            except OSError:
                self.drop(fd)

    def run(self):
        step = self.interval / self.SLOTS
        next_turn, slot = time.monotonic(), 0
        while not self.stopping:
            if time.monotonic() >= next_turn:
                self.turn(slot)
                slot = (slot + 1) % self.SLOTS
                next_turn += step
            # a server-side close shows as readable (EOF or reset): drop it
            try:
                r, _, _ = select.select(list(self.where), [], [],
                                        max(0, next_turn - time.monotonic()))
            except (OSError, ValueError, InterruptedError):
                r = []
            for fd in r:
                if fd not in self.where:
                    continue
                try:
                    if self.slots[self.where[fd]][fd][0].recv(4096):
                        continue
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                self.drop(fd)

    def main(self):
        def stop(*_):
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        self.run()
        close_all([st[0] for slot in self.slots for st in slot.values()])
        print(self.reconnects, flush=True)


def slowloris_start(ctx, addr, n):
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "slowloris", addr[0],
                          str(addr[1]), str(n)], stdout=subprocess.PIPE, text=True)
    ctx.procs.append(p)  # stopped even if the test fails
    return p


def slowloris_stop(p):
    """Stops the attacker; returns how often it reconnected."""
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=10)
    return int(out.strip() or -1)


def scrape_series(addr, seconds, every=0.5, budget=1.0):
    results = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        ok, dt, _ = scrape_fresh(addr, budget)
        results.append((ok, dt))
        time.sleep(max(0, every - (time.monotonic() - t0)))
    return results


def summary(results):
    good = sum(1 for ok, _ in results if ok)
    worst = max(dt for _, dt in results)
    return "%d/%d scrapes ok, slowest %.3f s" % (good, len(results), worst)


def t_http_slowloris(ctx):
    d = ctx.daemon("slowloris", config=CONFIG).start()
    addr = target(d)
    att = slowloris_start(ctx, addr, 5 * LIMIT - 20)  # 300 against a limit of 64
    time.sleep(1.0)  # the attack is in place before the first scrape
    results = scrape_series(addr, 10)
    reconnects = slowloris_stop(att)
    log("slowloris:", summary(results), "attacker reconnects", reconnects)
    st = http_stats(d)
    log("stats", st)
    assert all(ok for ok, _ in results), summary(results)
    assert st["evicted"] and st["evicted"] > 0, st
    # what stays open after the attack goes away is only our own scrape
    wait_until(lambda: http_stats(d)["open"] <= 2, 2 * TIMEOUT_S + 2,
               "HTTP connections to close after the attack")
    # libmicrohttpd's word on each aborted connection is debug, not the log's bulk
    noise = [l for l in d.log().splitlines() if "incomplete request" in l]
    assert not noise, noise[:3]


def t_http_trickle_timeout(ctx):
    """Below the limit nothing is evicted: a request still trickling in when
    request_timeout_s is up is cut off, though bytes keep coming."""
    d = ctx.daemon("trickle", config=CONFIG).start()
    addr = target(d)
    socks = []
    try:
        for _ in range(10):
            s = socket.create_connection(addr, timeout=5)
            s.sendall(b"GET /metrics HTTP/1.1\r\n")
            socks.append(s)
        t0 = time.monotonic()
        closed_at = {}
        while len(closed_at) < len(socks) and time.monotonic() - t0 < TIMEOUT_S + 3:
            for i, s in enumerate(socks):
                if i in closed_at:
                    continue
                try:
                    s.sendall(b"X-a: b\r\n")
                    r, _, _ = select.select([s], [], [], 0)
                    if r and not s.recv(4096):
                        closed_at[i] = time.monotonic() - t0
                except OSError:
                    closed_at[i] = time.monotonic() - t0
            time.sleep(0.25)
        log("trickling connections closed after", sorted(closed_at.values()))
        assert len(closed_at) == len(socks), closed_at
        assert max(closed_at.values()) <= TIMEOUT_S + 1.0, closed_at
        st = http_stats(d)
        assert st["timeout"] >= len(socks) and st["evicted"] == 0, st
    finally:
        close_all(socks)


def t_http_idle_flood(ctx):
    n = min(2000, raise_nofile() - 200)
    if n < 300:
        raise Skip("RLIMIT_NOFILE too low for an idle flood")
    d = ctx.daemon("idleflood", config=CONFIG).start()
    addr = target(d)
    cpu0 = cpu_seconds(d.proc.pid)
    t0 = time.monotonic()
    socks = open_nonblocking(addr, n)
    try:
        time.sleep(0.5)
        results = scrape_series(addr, 5)
        cpu = cpu_seconds(d.proc.pid) - cpu0
        wall = time.monotonic() - t0
    finally:
        close_all(socks)
    log("idle flood of %d:" % n, summary(results), "daemon CPU %.2f s in %.1f s" % (cpu, wall))
    assert all(ok for ok, _ in results), summary(results)
    # accepting and evicting n connections plus 10 scrapes: far from a spin
    assert cpu < 0.25 * wall, (cpu, wall)
    st = http_stats(d)
    assert st["evicted"] >= n - LIMIT - 10, st


def t_http_never_reads(ctx):
    d = ctx.daemon("noread", config=CONFIG).start()
    addr = target(d)
    ok, _, body = scrape_fresh(addr, 5.0)
    assert ok
    npipe = max(100, (16 << 20) // max(1, len(body)))  # more than any socket buffers hold
    s = socket.socket()
    # a tiny receive window: the daemon's send buffer fills and stays full
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect(addr)
    try:
        s.sendall(REQUEST * npipe)
        t0 = time.monotonic()
        time.sleep(TIMEOUT_S + 1.5)
        st = http_stats(d)
        log("after %.1f s of not reading %d pipelined requests:" % (time.monotonic() - t0, npipe),
            st)
        assert st["open"] is not None and st["open"] <= 2, st
        assert st["timeout"] and st["timeout"] >= 1, st
        # the client side sees the end of the stream, long before all the responses
        got, end = 0, False
        s.settimeout(2)
        try:
            while True:
                chunk = s.recv(1 << 16)
                if not chunk:
                    end = True
                    break
                got += len(chunk)
        except ConnectionResetError:
            end = True
        except OSError:
            pass
        log("client read %d bytes before the end (%d would be all)" % (got, npipe * len(body)))
        assert end and got < npipe * len(body) // 2, (end, got)
    finally:
        s.close()


def fd_flood(d, addr, n, what):
    """n idle connections held for 3 s: the daemon must not spin, and must go
    on serving scrapes. Returns the scrape results."""
    socks = open_nonblocking(addr, n)
    try:
        time.sleep(0.5)
        cpu0 = cpu_seconds(d.proc.pid)
        results = scrape_series(addr, 3, every=0.5)
        cpu = cpu_seconds(d.proc.pid) - cpu0
        log("%s: daemon CPU %.2f s in 3 s;" % (what, cpu), summary(results))
        assert cpu < 0.5, cpu  # a spin would take the whole 3 s
        assert d.proc.poll() is None, d.log()
    finally:
        close_all(socks)
    return results


def t_http_emfile(ctx):
    # what the daemon holds at rest (BPF objects, the loop) and a little:
    # the 32 fds the control socket leaves the rest and a handful
    probe = ctx.daemon("emfile0", config=CONFIG).start()
    nofile = len(os.listdir("/proc/%d/fd" % probe.proc.pid)) + 40
    probe.stop()
    d = ctx.daemon("emfile", config=CONFIG)
    d.argv = ["prlimit", "--nofile=%d:%d" % (nofile, nofile), "--"] + d.argv
    d.start()
    addr = target(d)
    ok, _, _ = scrape_fresh(addr, 5.0)
    assert ok, "no scrape before the flood"
    results = fd_flood(d, addr, 300, "300 connections under RLIMIT_NOFILE %d" % nofile)
    assert all(ok for ok, _ in results), summary(results)
    # the connections got what RLIMIT_NOFILE leaves (a handful here), so the
    # flood was turned over instead of running the daemon out of fds
    assert "only" in d.log() and "RLIMIT_NOFILE" in d.log(), d.log()
    wait_until(lambda: scrape_fresh(addr, 1.0)[0], 5, "a scrape to work after the flood")


def t_http_emfile_runtime(ctx):
    """Descriptors run out after start (the limit lowered under the daemon's
    feet): accept() meets EMFILE, pauses, and the daemon holds fewer."""
    d = ctx.daemon("emfile2", config=CONFIG).start()
    addr = target(d)
    nfd = len(os.listdir("/proc/%d/fd" % d.proc.pid))
    hard = resource.prlimit(d.proc.pid, resource.RLIMIT_NOFILE)[1]
    resource.prlimit(d.proc.pid, resource.RLIMIT_NOFILE, (nfd + 8, hard))
    fd_flood(d, addr, 300, "300 connections with 8 fds left")
    st = http_stats(d)
    log("stats", st)
    assert st["pauses"] >= 1, st
    assert "cannot accept connections" in d.log()
    wait_until(lambda: scrape_fresh(addr, 1.0)[0], 5, "a scrape to work after the flood")


def t_http_keepalive(ctx):
    d = ctx.daemon("keepalive", config=CONFIG).start()
    addr = target(d)
    before = http_stats(d)["accepted"]
    c = http.client.HTTPConnection(*addr, timeout=5)
    try:
        for _ in range(3):
            c.request("GET", "/metrics")
            r = c.getresponse()
            body = r.read()
            assert r.status == 200 and b"cgpilot_build_info" in body, r.status
            assert (r.getheader("Connection") or "").lower() != "close", r.getheaders()
            time.sleep(0.5)
        # the three requests came over one connection (+1: http_stats' own)
        assert http_stats(d)["accepted"] == before + 2, (before, http_stats(d))
        # an idle keep-alive connection is closed request_timeout_s after its response
        c.sock.settimeout(TIMEOUT_S + 2)
        t0 = time.monotonic()
        assert c.sock.recv(1) == b""
        dt = time.monotonic() - t0
        assert TIMEOUT_S - 1.0 <= dt <= TIMEOUT_S + 1.0, dt
    finally:
        c.close()


def t_http_prometheus_keepalive(ctx):
    if not shutil.which("prometheus"):
        raise Skip("prometheus not installed (package prometheus)")
    d = ctx.daemon("promka").start()  # default request_timeout_s (5 s) > scrape interval
    port = start_prometheus(ctx, d.request({"op": "status"})["metrics_address"], "promka")

    def query(q):
        url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(q))
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                res = json.load(r)["data"]["result"]
            return float(res[0]["value"][1]) if res else None
        except OSError:
            return None

    wait_until(lambda: (query('count_over_time(up{job="cgpilot"}[1m])') or 0) >= 6, 40,
               "Prometheus to scrape cgpilot six times")
    accepted = query('max_over_time(cgpilot_http_connections_accepted_total[1m])')
    scrapes = query('count_over_time(up{job="cgpilot"}[1m])')
    log("Prometheus: %s scrapes over %s connections" % (scrapes, accepted))
    # its scrapes reuse one connection (a second if one raced with a close)
    assert accepted is not None and accepted <= 2, (scrapes, accepted)


def t_http_port_taken(ctx):
    """The metrics address held by another process: the daemon starts and
    serves its control socket without /metrics, says why in status, and takes
    the address once it is free."""
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    addr = "127.0.0.1:%d" % blocker.getsockname()[1]
    try:
        d = ctx.daemon("taken", config=CONFIG, extra=("--metrics-address", addr)).start()
        st = d.request({"op": "status"})
        assert st["metrics_address"] is None and addr in st["metrics_error"], st
        assert "Failed to serve /metrics on %s" % addr in d.log(), d.log()
        assert d.request({"op": "node.show"})["ok"]
    finally:
        blocker.close()
    wait_until(lambda: d.request({"op": "status"}).get("metrics_address") == addr, 15,
               "the daemon to take the address once free")
    assert "metrics_error" not in d.request({"op": "status"})
    assert "cgpilot_build_info" in d.scrape()
    assert "the address is free now" in d.log(), d.log()


TESTS = [
    ("http_slowloris", t_http_slowloris),
    ("http_trickle_timeout", t_http_trickle_timeout),
    ("http_idle_flood", t_http_idle_flood),
    ("http_never_reads", t_http_never_reads),
    ("http_emfile", t_http_emfile),
    ("http_emfile_runtime", t_http_emfile_runtime),
    ("http_keepalive", t_http_keepalive),
    ("http_prometheus_keepalive", t_http_prometheus_keepalive),
    ("http_port_taken", t_http_port_taken),
]


if __name__ == "__main__" and sys.argv[1:2] == ["slowloris"]:
    Slowloris((sys.argv[2], int(sys.argv[3])), int(sys.argv[4])).main()
