"""bench/swarm topology: network namespaces on one bridge, every link shaped.

Everything lives in namespaces this module creates; nothing is added to the
namespace the benchmark runs in (the bridge has its own "switch" namespace,
and each veth pair is created there with its other end moved straight into
the endpoint's namespace). Deleting the namespaces therefore removes every
interface, address and qdisc the benchmark made.

Names: <prefix><pid>-sw (the bridge), -reg (registry), -svc (tracker and
seeder), -n1 .. -nN (nodes). The pid in the name lets a later run tell
a crashed run's leftovers (pid gone) from a run still in progress.
"""

import os
import re
import subprocess
import threading
import time

SUBNET = "10.99.0"
REGISTRY_IP = SUBNET + ".2"
SERVICES_IP = SUBNET + ".3"


def node_ip(i):
    """Node i (1-based) is 10.99.0.(10+i)."""
    return "%s.%d" % (SUBNET, 10 + i)


def run(argv, timeout=30, check=True):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=timeout, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (r.returncode, " ".join(argv),
                                                              r.stdout.strip()))
    return r


def list_namespaces():
    r = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def namespace_pids(ns):
    r = run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in r.stdout.split() if p.isdigit()]


def _process_alive(pid, marker):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return marker.encode() in f.read()
    except OSError:
        return False


def kill_namespace_processes(ns, grace=5.0):
    """SIGTERM, then SIGKILL, every process whose network namespace is ns
    (only namespaces this benchmark created reach here)."""
    pids = namespace_pids(ns)
    for sig in (15, 9):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            pids = [p for p in pids if os.path.exists("/proc/%d" % p)]
            if not pids:
                return
            time.sleep(0.1)


def delete_namespace(ns):
    kill_namespace_processes(ns)
    run(["ip", "netns", "delete", ns], check=False)


def clean_leftovers(prefix, marker, log):
    """Deletes namespaces <prefix><pid>-* of runs whose process is gone (a
    crash or SIGKILL). Runs still alive are left alone. Returns the pids of
    the dead runs (their work directories can go too)."""
    pattern = re.compile(r"^%s(\d+)-" % re.escape(prefix))
    dead = set()
    for ns in list_namespaces():
        m = pattern.match(ns)
        if not m:
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or _process_alive(pid, marker):
            continue
        log("removing namespace %s left by an earlier run (pid %d is gone)" % (ns, pid))
        delete_namespace(ns)
        dead.add(pid)
    return dead


def can_create_namespaces(prefix):
    """(True, "") if a probe namespace can be created here, else (False, why)."""
    probe = "%s%d-probe" % (prefix, os.getpid())
    try:
        r = run(["ip", "netns", "add", probe], check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    if r.returncode != 0:
        return False, r.stdout.strip()
    run(["ip", "netns", "delete", probe], check=False)
    return True, ""


def parse_rate(text):
    """'100mbit' -> bits per second (tc's units: kbit, mbit, gbit, bit)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)(bit|bps)?", text.strip().lower())
    if not m:
        raise ValueError("rate must look like 100mbit, 1gbit or 500kbit, not %r" % text)
    value = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2)]
    if m.group(3) == "bps":  # tc: bps is bytes per second
        value *= 8
    if value < 1e5:
        raise ValueError("rate %r is below 100kbit" % text)
    return int(value)


class topology:
    """The namespaces, the bridge and the shaped veth links."""

    def __init__(self, prefix, nodes, rate_bits, log):
        self.base = "%s%d" % (prefix, os.getpid())
        self.nodes = nodes
        self.rate_bits = rate_bits
        self.log = log
        self.switch = self.base + "-sw"
        self.registry = self.base + "-reg"
        self.services = self.base + "-svc"
        self.node_ns = ["%s-n%d" % (self.base, i) for i in range(1, nodes + 1)]
        self.created = []

    def endpoints(self):
        """(namespace, switch-side interface, address) of every shaped link."""
        out = [(self.registry, "v-reg", REGISTRY_IP), (self.services, "v-svc", SERVICES_IP)]
        for i, ns in enumerate(self.node_ns, start=1):
            out.append((ns, "v-n%d" % i, node_ip(i)))
        return out

    def _add_ns(self, ns):
        run(["ip", "netns", "add", ns])
        self.created.append(ns)
        # No IPv6: nothing here uses it, and its link-local chatter would
        # show up in the interface counters.
        run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
             "net.ipv6.conf.default.disable_ipv6=1"], check=False)
        run(["ip", "-n", ns, "link", "set", "dev", "lo", "up"])

    def _shape(self, ns, dev):
        # tbf on the egress of each end of a veth shapes the link both ways.
        # burst: at least one 64 KiB GSO packet (tbf would split bigger
        # ones), and about 20 ms at the rate; 50 ms of queue.
        burst = max(256 * 1024, self.rate_bits // 8 // 50)
        run(["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf", "rate",
             "%dbit" % self.rate_bits, "burst", str(burst), "latency", "50ms"])

    def create(self):
        self._add_ns(self.switch)
        run(["ip", "-n", self.switch, "link", "add", "name", "br0", "type", "bridge"])
        run(["ip", "-n", self.switch, "link", "set", "dev", "br0", "up"])
        for ns, port, addr in self.endpoints():
            self._add_ns(ns)
            run(["ip", "-n", self.switch, "link", "add", "name", port, "type", "veth", "peer", "name",
                 "eth0", "netns", ns])
            run(["ip", "-n", self.switch, "link", "set", "dev", port, "master", "br0", "up"])
            run(["ip", "-n", ns, "addr", "add", addr + "/24", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "dev", "eth0", "up"])
            self._shape(self.switch, port)
            self._shape(ns, "eth0")

    def tx_bytes(self, ns):
        """Bytes sent out of ns's link (its eth0)."""
        r = run(["ip", "netns", "exec", ns, "cat", "/sys/class/net/eth0/statistics/tx_bytes"])
        return int(r.stdout.strip())

    def destroy(self):
        """Idempotent: kills what runs in the namespaces and deletes them."""
        for ns in reversed(self.created):
            delete_namespace(ns)
        # Deleting a namespace is immediate for its name; its interfaces go
        # asynchronously. Wait (bounded) so the next run starts clean.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = set(self.created) & set(list_namespaces())
            if not left:
                break
            time.sleep(0.2)
        self.created = []


def read_net_dev(pid):
    """{interface: (rx_bytes, tx_bytes)} of pid's network namespace."""
    out = {}
    with open("/proc/%d/net/dev" % pid) as f:
        for line in f.readlines()[2:]:
            name, _, rest = line.partition(":")
            fields = rest.split()
            if len(fields) >= 9:
                out[name.strip()] = (int(fields[0]), int(fields[8]))
    return out


class link_sampler:
    """Samples every switch port's byte counters every `interval` seconds
    while a run's pulls go on. A port's tx is what its endpoint received
    (a node's download), its rx what the endpoint sent. The counters are
    read through /proc/<pid>/net/dev of a `sleep` placed in the switch
    namespace, so nothing is spawned per sample; the sleep is bounded by
    `limit` seconds in case this process dies without stopping it."""

    def __init__(self, topo, interval=0.5, limit=3600):
        self.interval = interval
        self.samples = []  # (monotonic seconds, {port: (rx, tx)})
        self._stop = threading.Event()
        self._proc = subprocess.Popen(["ip", "netns", "exec", topo.switch, "sleep", str(limit)],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
        self._ports = {p for _, p, _ in topo.endpoints()}
        self._thread = threading.Thread(target=self._loop, daemon=True)
        # `ip netns exec` execs sleep: wait (bounded) until the pid has moved.
        own = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                if os.readlink("/proc/%d/ns/net" % self._proc.pid) != own:
                    break
            except OSError:
                pass
            time.sleep(0.01)
        self._thread.start()

    def _loop(self):
        while not self._stop.is_set():
            try:
                dev = read_net_dev(self._proc.pid)
            except OSError:
                return
            self.samples.append((time.monotonic(),
                                 {k: v for k, v in dev.items() if k in self._ports}))
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self._proc.kill()
        self._proc.wait(timeout=5)
        return self.samples
