"""bench/swarm with replicas (--trackers N, --seeders M; issue 20): the
engines of the replicated control plane in the services namespace —
PostgreSQL (the trackers' index of record, when N > 1) and Redis (their
peers, and the seeders' ingest leases) — plus the rendezvous order the
seeders and mirrors use (common/rendezvous, the same weights), and the
--kill-at watcher that kills a tracker and a seeder once the nodes have
received a given share of their bytes.

The N trackers listen on their own ports (6970, 6971, ...) and the one
tracker address (:6969, the announce URL in every torrent) is a Kubernetes
Service as kube-proxy makes it: iptables DNAT rules in the services
namespace send each new connection to one of the replicas at random and
keep the clients' addresses (service_address). A killed replica is taken
out of the rules 2 s later, as a readiness probe would notice; connections
to it meanwhile fail and are made again. The M seeders share the services namespace's one link (as the
single seeder did): the seeders' total uplink stays the same, so the runs
measure what coordination costs and what a kill costs, not added capacity."""

import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import threading
import time

import procs

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_PORT = 5432
REDIS_PORT = 6379


def rendezvous_order(members, key):
    """Indices of members (URLs) for key (a digest string), owner first:
    weight = first 8 bytes of sha256("<url>\\n<key>"), ties to the smaller URL
    (common/rendezvous.cpp)."""
    def member(u):
        return u.rstrip("/")

    def weight(u):
        h = hashlib.sha256(("%s\n%s" % (member(u), key)).encode()).digest()
        return int.from_bytes(h[:8], "big")

    return sorted(range(len(members)), key=lambda i: (-weight(members[i]), member(members[i])))


class control_plane:
    """PostgreSQL (optional) and Redis, started once per benchmark in the
    services namespace; each blobswarm run gets a fresh database and an
    empty Redis (fresh())."""

    def __init__(self, process_set, ns, ip, work, log):
        self.procs = process_set
        self.ns = ns
        self.ip = ip
        self.dir = os.path.join(work, "engines")
        self.log = log
        self.postgres = None
        self.redis = None
        self.runs = 0

    def processes(self):
        """What runs for the whole benchmark (not stopped between runs)."""
        return [p for p in (self.redis, self.postgres) if p is not None]

    def redis_url(self):
        return "redis://%s:%d" % (self.ip, REDIS_PORT)

    def start(self, with_postgres):
        os.makedirs(self.dir, exist_ok=True)
        for tool in ("redis-server", "redis-cli") + ((PG_BIN + "/postgres",) if with_postgres
                                                    else ()):
            if not shutil.which(tool):
                raise RuntimeError("%s is not installed (scripts/install-deps)" % tool)
        self.redis = self.procs.start("redis-server", self.ns, [
            # Protected mode accepts only loopback without a password; the
            # namespaces are the benchmark's own.
            "redis-server", "--port", str(REDIS_PORT), "--bind", self.ip, "--protected-mode", "no",
            "--save", "", "--appendonly", "no", "--dir", self.dir
        ], os.path.join(self.dir, "redis.log"))
        procs.wait_until("redis-server", lambda: self.redis_cli("PING").strip() == "PONG", 30,
                         alive=self.redis)
        if with_postgres:
            self.start_postgres()

    def start_postgres(self):
        # PostgreSQL refuses to run as root: as the postgres user, in a
        # directory it owns (its parents are traversable: /dev/shm or /var/tmp).
        data = os.path.join(self.dir, "pg")
        os.makedirs(data)
        pw = pwd.getpwnam("postgres")
        os.chown(data, pw.pw_uid, pw.pw_gid)
        os.chmod(data, 0o700)
        as_pg = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
        r = subprocess.run(as_pg + [PG_BIN + "/initdb", "-D", data, "-U", "blobswarm",
                                    "--auth=trust", "-E", "UTF8", "--no-sync"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("initdb failed:\n" + r.stdout[-2000:])
        # initdb trusts loopback only; the trackers connect over the
        # namespace's own address.
        with open(os.path.join(data, "pg_hba.conf"), "a") as f:
            f.write("host all all %s/32 trust\n" % self.ip)
        self.postgres = self.procs.start("postgres", self.ns, as_pg + [
            PG_BIN + "/postgres", "-D", data, "-k", data, "-h", self.ip, "-p", str(PG_PORT),
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=200"
        ], os.path.join(self.dir, "postgres.log"))
        procs.wait_until("postgres", lambda: self.psql("postgres", "SELECT 1") is not None, 60,
                         alive=self.postgres)

    def psql(self, db, sql):
        r = procs.ns_run(self.ns, ["psql", "-X", "-q", "-t", "-h", self.ip, "-p", str(PG_PORT),
                                   "-U", "blobswarm", "-d", db, "-c", sql], 30)
        self.last_error = r.stderr.decode(errors="replace").strip()
        return r.stdout.decode() if r.returncode == 0 else None

    def redis_cli(self, *args):
        try:
            r = procs.ns_run(self.ns, ["redis-cli", "-h", self.ip, "-p", str(REDIS_PORT)] +
                             list(args), 10)
        except subprocess.TimeoutExpired:
            return ""
        return r.stdout.decode()

    def fresh(self):
        """An empty Redis and, with PostgreSQL, a new database: its URL."""
        self.redis_cli("FLUSHALL")
        if not self.postgres:
            return None
        self.runs += 1
        name = "bench_%d" % self.runs
        if self.psql("postgres", "CREATE DATABASE %s" % name) is None:
            raise RuntimeError("cannot create database %s: %s" % (name, self.last_error))
        return "postgresql://blobswarm@%s:%d/%s" % (self.ip, PG_PORT, name)


class service_address:
    """ip:port in namespace ns spread over backend ports on the same
    address by iptables DNAT (nat table, PREROUTING for other namespaces,
    OUTPUT for the namespace's own processes), one rule per backend with
    probability 1/(remaining), as kube-proxy writes them."""

    CHAIN = "BSW-SERVICE"

    def __init__(self, ns, ip, port):
        self.ns = ns
        self.ip = ip
        self.port = port
        self.backends = []
        self._lock = threading.Lock()
        self._ipt("-N", self.CHAIN)
        for hook in ("PREROUTING", "OUTPUT"):
            self._ipt("-A", hook, "-d", ip, "-p", "tcp", "--dport", str(port), "-j", self.CHAIN)

    def _ipt(self, *args):
        r = procs.ns_run(self.ns, ["iptables", "-w", "-t", "nat"] + list(args), 10)
        if r.returncode != 0:
            raise RuntimeError("iptables %s: %s" % (" ".join(args), r.stderr.decode()[-300:]))

    def set(self, ports):
        with self._lock:
            self.backends = list(ports)
            self._ipt("-F", self.CHAIN)
            n = len(self.backends)
            for i, port in enumerate(self.backends):
                match = [] if i == n - 1 else ["-m", "statistic", "--mode", "random",
                                               "--probability", "%.6f" % (1.0 / (n - i))]
                self._ipt("-A", self.CHAIN, "-p", "tcp", *match, "-j", "DNAT", "--to-destination",
                          "%s:%d" % (self.ip, port))

    def remove_later(self, port, delay):
        """Takes `port` out after `delay` seconds (a readiness probe's delay)."""
        def later():
            time.sleep(delay)
            with self._lock:
                left = [p for p in self.backends if p != port]
            if left:
                self.set(left)

        threading.Thread(target=later, daemon=True).start()


class kill_watch:
    """Calls kill() once the nodes' downlinks (switch ports v-n<i>, tx) have
    carried `fraction` of `total` bytes since the watch began, reading the
    link sampler's samples; at most `limit` seconds."""

    def __init__(self, sampler, nodes, total, fraction, kill, limit):
        self.sampler = sampler
        self.ports = ["v-n%d" % i for i in nodes]
        self.total = total
        self.fraction = fraction
        self.kill = kill
        self.limit = limit
        self.fired_at = None  # seconds after the watch began
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _received(self, sample):
        return sum(sample[1].get(p, (0, 0))[1] for p in self.ports)

    def _loop(self):
        t0 = time.monotonic()
        base = None
        while not self._stop.wait(0.1) and time.monotonic() - t0 < self.limit:
            if not self.sampler.samples:
                continue
            s = self.sampler.samples[-1]
            if base is None:
                base = self._received(self.sampler.samples[0])
            if self._received(s) - base >= self.fraction * self.total:
                self.fired_at = time.monotonic() - t0
                self.kill()
                return

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)


def kill_now(p):
    """SIGKILL to p's process group (kill -9 of a replica)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
