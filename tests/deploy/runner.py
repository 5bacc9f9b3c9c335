"""runner: starts a deployment's services from the compose file or the
Kubernetes manifests as local processes and checks that they work together.

Each container becomes a process of the built binary with the container's
own arguments and config files. What a container runtime would provide is
emulated, and only that:
  - mounts: the files of each mount (config files, secrets, ConfigMap and
    Secret items with their modes) are written under a per-container
    directory, and paths in arguments and config files are rewritten to it;
  - the filesystem outside volumes is read-only (bwrap --ro-bind / /, a
    tmpfs on /tmp, the container's writable volumes bound read-write), and
    the process runs as the image's user (setpriv, uid/gid 10001), so a
    service that writes outside its volumes or cannot read its secrets fails
    here as it would in the container;
  - networking: every listen address becomes 127.0.0.1:<free port>, every
    URL naming a service (compose service, Kubernetes Service DNS name, the
    pod's own address) becomes the port of the process behind it, and
    upstream registries outside the deployment become a local registry;
  - secrets: compose secrets come from running deploy/compose/gen-secrets;
    the Kubernetes Secret's placeholders are replaced by generated values
    (and the tracker must refuse the placeholder admin token).
Then: health checks answer, the tracker accepts the nodes passkey (the
credentials contract), the seeder registers with the admin token, a blob
pushed to the registry comes through each mirror by torrent (not by HTTP
fallback), peak memory stays under the Kubernetes limits, and every service
stops cleanly on SIGTERM within its stop grace period.
"""

import hashlib
import json
import os
import secrets as pysecrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import yaml

from checks import REGISTRY_CONFIG, listen_ports
from deploylib import BLOBSWARM_UID, URL_RE, map_strings, split_host_port
from models import NODE_IP, POD_IP


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=10):
    """(status, body bytes); connection errors give status 0."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)
    except (urllib.error.URLError, OSError) as e:
        return 0, str(e).encode(), {}


def wait_for(condition, seconds, step=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()



def traversable_temp_dir():
    """The system's temp directory ($TMPDIR, else /tmp) when every directory
    on its path lets others through (the services run as uid 10001), else
    /tmp."""
    base = os.path.realpath(tempfile.gettempdir())
    parts = base.split("/")
    for i in range(1, len(parts) + 1):
        d = "/".join(parts[:i]) or "/"
        if not os.stat(d).st_mode & 0o001:
            return "/tmp"
    return base


def top_under_tmp(path):
    """/tmp/a for a path /tmp/a/b/c; None for a path outside /tmp."""
    parts = os.path.abspath(path).split("/")
    return "/tmp/" + parts[2] if len(parts) > 2 and parts[1] == "tmp" else None

class Instance:
    """One running copy of a container (a DaemonSet runs on two "nodes")."""

    def __init__(self, container, label, root):
        self.c = container
        self.label = label
        self.root = os.path.join(root, label.replace("/", "_").replace("@", "_"))
        self.ports = {}          # container port -> loopback port
        self.proc = None
        self.log_path = os.path.join(self.root + ".log")
        self.argv = None

    def host_path(self, path):
        return self.root + path

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


class Runner:
    def __init__(self, stack, containers, names, settings, bin_dir, work, problems,
                 secret_values, root):
        self.stack = stack
        self.containers = containers
        self.names = names
        self.settings = settings
        self.bin_dir = os.path.abspath(bin_dir)
        self.problems = problems
        self.secret_values = secret_values   # origin -> bytes (generated credentials)
        self.repo_root = root
        self.work = work
        self.instances = []
        self.by_template = {}
        self.registry = None      # (url, process) of the local upstream registry
        self.started = []

    # --- set-up ---------------------------------------------------------------

    def plan(self):
        for c in self.containers:
            copies = 2 if getattr(c, "kind", None) == "DaemonSet" else getattr(c, "replicas", 1) or 1
            for i in range(copies):
                label = c.name if copies == 1 else f"{c.name}@node-{i + 1}"
                inst = Instance(c, label, self.work)
                for p in listen_ports(c, self.settings):
                    inst.ports[p] = free_port()
                self.instances.append(inst)
                self.by_template.setdefault(c.name, []).append(inst)

    def target_of(self, host, port):
        """Loopback port for a URL's service host, or None if it is not one of ours."""
        if not self.names.knows(host):
            return None
        found, err = self.names.resolve(host, port, lambda t: listen_ports(t, self.settings))
        if err:
            return None
        c, cport = found
        return self.by_template[c.name][0].ports[cport]

    def rewrite(self, inst, value, key=""):
        c = inst.c
        if key.endswith("listen") and ":" in value:
            _, port = split_host_port(value)
            return f"127.0.0.1:{inst.ports[port]}"
        if value.startswith("/") and c.mount_for(value) is not None:
            return inst.host_path(value)
        m = URL_RE.match(value)
        if m:
            host = m.group(2)
            port = int(m.group(3) or (443 if m.group(1) == "https" else 80))
            rest = m.group(4)
            if host in (POD_IP, NODE_IP):
                return f"http://127.0.0.1:{inst.ports[port]}{rest}"
            local = self.target_of(host, port)
            if local is not None:
                return f"http://127.0.0.1:{local}{rest}"
            if self.registry is not None:
                # An upstream outside the deployment: the local registry stands in.
                return self.registry[0] + rest
        return value

    def rewrite_args(self, inst):
        s = self.settings[inst.c.name]
        out, i = [], 0
        args = inst.c.args
        while i < len(args):
            a = args[i]
            opt = s.help.options[a.split("=")[0]]
            if opt.takes_value and "=" not in a:
                out += [a, self.rewrite(inst, args[i + 1], opt.key)]
                i += 2
                continue
            if "=" in a:
                flag, value = a.split("=", 1)
                out.append(f"{flag}={self.rewrite(inst, value, opt.key)}")
            else:
                out.append(a)
            i += 1
        return out

    def materialize(self, inst, overrides=None):
        c = inst.c
        s = self.settings.get(c.name)
        config_path = s.config_path if s is not None and s.ok else None
        for m in c.mounts:
            host = inst.host_path(m.path)
            if m.kind in ("volume", "tmp"):
                if m.kind == "tmp" and m.path == "/tmp":
                    continue          # bwrap's own tmpfs
                os.makedirs(host, exist_ok=True)
                os.chown(host, BLOBSWARM_UID, BLOBSWARM_UID)
                os.chmod(host, 0o750)
                continue
            for rel, content in m.files.items():
                path = m.path if rel == "" else f"{m.path.rstrip('/')}/{rel}"
                origin = c.origin_of(path)
                if overrides and origin in overrides:
                    content = overrides[origin]
                elif origin in self.secret_values:
                    content = self.secret_values[origin]
                if content is None:
                    raise RuntimeError(f"{c.name}: no content for {path} ({origin})")
                if path == config_path:
                    data = json.loads(content)
                    data = {k: (map_strings(v, lambda x, k=k: self.rewrite(inst, x, k))) for k, v in data.items()}
                    content = json.dumps(data, indent=2).encode()
                if path == REGISTRY_CONFIG and c.binary is None:
                    content = self.registry_config(inst, content)
                hp = inst.host_path(path)
                os.makedirs(os.path.dirname(hp), exist_ok=True)
                with open(hp, "wb") as f:
                    f.write(content)
                os.chown(hp, 0, m.group)
                os.chmod(hp, m.mode)

    def registry_config(self, inst, content):
        cfg = yaml.safe_load(content)
        _, port = split_host_port(cfg["http"]["addr"])
        cfg["http"]["addr"] = f"127.0.0.1:{inst.ports[port]}"
        fs = cfg["storage"]["filesystem"]
        fs["rootdirectory"] = self.rewrite(inst, fs["rootdirectory"])
        return yaml.safe_dump(cfg).encode()

    def command(self, inst):
        c = inst.c
        if c.binary is None:
            return ["docker-registry", "serve", inst.host_path(REGISTRY_CONFIG)]
        argv = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                "--tmpfs", "/tmp", "--die-with-parent"]
        # A checkout under /tmp (as CI may have) would vanish under the tmpfs
        # with the binaries and the scratch directory (configs, secrets): its
        # top directory is bound again, read-only (the top one, because bwrap
        # makes the directories leading to a mount point 0700). Writable
        # volumes are bound after it.
        for top in sorted({top_under_tmp(p) for p in (self.bin_dir, self.work)} - {None}):
            argv += ["--ro-bind", top, top]
        for m in c.mounts:
            if m.kind in ("volume", "tmp") and m.writable and m.path != "/tmp":
                hp = inst.host_path(m.path)
                argv += ["--bind", hp, hp]
        uid = str(c.run_as or BLOBSWARM_UID)
        argv += ["--", "setpriv", "--reuid", uid, "--regid", uid, "--clear-groups",
                 os.path.join(self.bin_dir, c.binary)]
        return argv + self.rewrite_args(inst)

    def start_local_registry(self):
        """The stand-in for upstream registries outside the deployment."""
        root = os.path.join(self.work, "upstream-registry")
        os.makedirs(root, exist_ok=True)
        port = free_port()
        cfg = {"version": 0.1, "storage": {"filesystem": {"rootdirectory": root + "/data"}},
               "http": {"addr": f"127.0.0.1:{port}"}, "log": {"level": "warn"}}
        path = os.path.join(root, "config.yml")
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)
        log = open(os.path.join(root, "registry.log"), "wb")
        proc = subprocess.Popen(["docker-registry", "serve", path], stdout=log, stderr=log,
                                start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        self.registry = (url, proc)
        if not wait_for(lambda: http("GET", url + "/v2/", timeout=2)[0] == 200, 30):
            raise RuntimeError("the local upstream registry did not start")

    def start(self, inst, overrides=None):
        os.makedirs(inst.root, exist_ok=True)
        self.materialize(inst, overrides)
        inst.argv = self.command(inst)
        log = open(inst.log_path, "wb")
        inst.proc = subprocess.Popen(inst.argv, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.started.append(inst)

    def health_url(self, inst):
        host, port, path = inst.c.health
        if isinstance(port, str):
            port = next(p for p, n in inst.c.ports.items() if n == port)
        return f"http://127.0.0.1:{inst.ports[port]}{path}"

    def wait_healthy(self, inst, seconds=30):
        url = self.health_url(inst)
        ok = wait_for(lambda: inst.proc.poll() is not None or http("GET", url, timeout=2)[0] == 200,
                      seconds)
        if inst.proc.poll() is not None:
            self.problems.add(f"{self.stack} {inst.label}", f"exited with {inst.proc.returncode} "
                                                           f"before becoming healthy:\n{inst.log_tail()}")
            return False
        if not ok:
            self.problems.add(f"{self.stack} {inst.label}", f"{url} did not answer 200 within "
                                                           f"{seconds}s:\n{inst.log_tail()}")
        return ok

    # --- running ----------------------------------------------------------------

    def order(self):
        rank = {None: 0, "blobswarm-tracker": 1, "blobswarm-seeder": 2, "blobswarm-mirror": 3}
        return sorted(self.instances, key=lambda i: (rank.get(i.c.binary, 9), i.label))

    def run(self):
        self.plan()
        if self.stack == "k8s" or not any(c.binary is None for c in self.containers):
            self.start_local_registry()
        else:
            self.registry = None
        try:
            for inst in self.order():
                self.start(inst)
                if not self.wait_healthy(inst):
                    return
                if inst.c.binary is None and self.registry is None:
                    self.registry = (f"http://127.0.0.1:{inst.ports[next(iter(inst.ports))]}", None)
            self.check_contract()
            if not self.problems:
                self.check_backup()
                self.check_pull()
            self.check_memory()
            self.stop_all()
            if self.stack == "k8s":
                self.check_placeholder_refused()
        finally:
            self.kill_all()

    def instances_of(self, binary):
        return [i for i in self.order() if i.c.binary == binary]

    def file_of(self, inst, path):
        return open(inst.host_path(path), "rb").read().strip().decode()

    def check_contract(self):
        tracker = self.instances_of("blobswarm-tracker")[0]
        ts = self.settings[tracker.c.name]
        base = f"http://127.0.0.1:{tracker.ports[split_host_port(ts.get('listen'))[1]]}"
        admin = self.file_of(tracker, ts.get("admin_token_file"))
        users = (ts.config or {}).get("users") or []
        nodes = next((u for u in users if u.get("name") == "nodes"), None)
        where = f"{self.stack} credentials"
        if nodes is None:
            self.problems.add(where, "the tracker config has no user 'nodes'")
            passkey = "?"
        else:
            passkey = self.file_of(tracker, nodes["passkey_file"])
        st, body, _ = http("GET", base + "/api/v1/users/nodes",
                           headers={"Authorization": f"Bearer {passkey}"})
        if st != 200:
            self.problems.add(where, f"the tracker does not accept the nodes passkey: {st} {body[:200]}")
        st, _, _ = http("GET", base + "/api/v1/users/nodes",
                        headers={"Authorization": "Bearer " + "0" * 32})
        if st != 401:
            self.problems.add(where, f"the tracker answers {st} to a wrong passkey (expected 401)")
        for m in self.instances_of("blobswarm-mirror"):
            ms = self.settings[m.c.name]
            if self.file_of(m, ms.get("passkey_file")) != passkey:
                self.problems.add(where, f"{m.label} reads another passkey than the tracker's nodes user")
        for sd in self.instances_of("blobswarm-seeder"):
            ss = self.settings[sd.c.name]
            url = self.health_url(sd)

            def tracker_ok():
                st, body, _ = http("GET", url, timeout=2)
                return st == 200 and json.loads(body).get("tracker") == "ok"
            if not wait_for(tracker_ok, 30, 0.2):
                self.problems.add(where, f"{sd.label} did not register with the tracker "
                                         f"({http('GET', url)[1][:200]}):\n{sd.log_tail()}")
            user = self.rewrite(sd, ss.get("tracker_user") or "")
            st, body, _ = http("GET", base + "/api/v1/users",
                               headers={"Authorization": f"Bearer {admin}"})
            names = [u.get("name") for u in (json.loads(body).get("users", []) if st == 200 else [])]
            if user not in names or "nodes" not in names:
                self.problems.add(where, f"tracker users {names}: expected 'nodes' and {user!r}")

    def check_backup(self):
        """docs/OPERATIONS.md's online backup: sqlite3 .backup as the service
        user while the tracker runs, into the tracker's volume."""
        tracker = self.instances_of("blobswarm-tracker")[0]
        db = self.rewrite(tracker, self.settings[tracker.c.name].get("db"))
        dest = os.path.join(os.path.dirname(db), "tracker-backup.db")
        as_user = ["setpriv", "--reuid", str(BLOBSWARM_UID), "--regid", str(BLOBSWARM_UID),
                   "--clear-groups"]
        out = subprocess.run(as_user + ["sqlite3", db, f".backup '{dest}'"], capture_output=True,
                             text=True, timeout=60)
        where = f"{self.stack} tracker backup"
        if out.returncode != 0:
            self.problems.add(where, f"sqlite3 .backup failed: {out.stderr.strip()}")
            return
        out = subprocess.run(["sqlite3", dest, "PRAGMA integrity_check; SELECT name FROM users;"],
                             capture_output=True, text=True, timeout=60)
        lines = out.stdout.split()
        if out.returncode != 0 or not lines or lines[0] != "ok" or "nodes" not in lines[1:]:
            self.problems.add(where, f"the backup is not a whole database: {out.stdout} {out.stderr}")

    def check_pull(self):
        """A blob pushed to the registry the mirrors default to comes through
        each mirror, by torrent."""
        mirrors = self.instances_of("blobswarm-mirror")
        s = self.settings[mirrors[0].c.name]
        upstream = self.rewrite(mirrors[0], s.get("upstream"))
        data = os.urandom(3 << 20)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        repo = "deploytest/blob"
        st, body, headers = http("POST", f"{upstream}/v2/{repo}/blobs/uploads/", body=b"")
        loc = headers.get("Location", "")
        if st != 202 or not loc:
            self.problems.add(f"{self.stack} pull", f"cannot push to {upstream}: {st} {body[:200]}")
            return
        if loc.startswith("/"):
            loc = upstream + loc
        sep = "&" if "?" in loc else "?"
        st, body, _ = http("PUT", f"{loc}{sep}digest={digest}", body=data,
                           headers={"Content-Type": "application/octet-stream"})
        if st != 201:
            self.problems.add(f"{self.stack} pull", f"blob upload failed: {st} {body[:200]}")
            return
        for m in mirrors:
            base = f"http://127.0.0.1:{m.ports[split_host_port(self.settings[m.c.name].get('listen'))[1]]}"
            st, got, _ = http("GET", f"{base}/v2/{repo}/blobs/{digest}", timeout=60)
            where = f"{self.stack} pull via {m.label}"
            if st != 200 or hashlib.sha256(got).hexdigest() != digest.split(":")[1]:
                self.problems.add(where, f"GET blob: {st}, {len(got)} bytes:\n{m.log_tail()}")
                continue
            st, body, _ = http("GET", f"{base}/api/v1/stats")
            recent = [b for b in json.loads(body).get("recent", []) if b.get("digest") == digest] \
                if st == 200 else []
            if not recent:
                self.problems.add(where, f"/api/v1/stats has no entry for the blob: {body[:300]}")
                continue
            b = recent[-1]
            if b.get("mode") == "direct" or b.get("from_upstream", 1) != 0:
                self.problems.add(where, f"the blob did not come through the swarm: {b}\n{m.log_tail()}")

    def binary_pid(self, inst):
        """The service process (bwrap's descendant running the binary)."""
        if inst.c.binary is None:
            return inst.proc.pid
        # By the executable's identity, not its path: seen from a chroot,
        # /proc/<pid>/exe of a process in bwrap's mount namespace reads as
        # the path outside the chroot (the sandbox's mounts are not below
        # the reader's root), so paths never matched there.
        st = os.stat(os.path.join(self.bin_dir, inst.c.binary))
        target = (st.st_dev, st.st_ino)
        todo = [inst.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                exe = os.stat(f"/proc/{pid}/exe")
                if (exe.st_dev, exe.st_ino) == target:
                    return pid
                for t in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{t}/children") as f:
                        todo += [int(x) for x in f.read().split()]
            except OSError:
                continue
        return None

    def check_memory(self):
        for inst in self.started:
            if inst.c.memory_limit is None or inst.proc.poll() is not None:
                continue
            pid = self.binary_pid(inst)
            try:
                status = open(f"/proc/{pid}/status").read()
            except (OSError, TypeError):
                continue
            hwm = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1]) * 1024
            if hwm >= inst.c.memory_limit:
                self.problems.add(f"{self.stack} {inst.label}", f"peak RSS {hwm} bytes reaches the "
                                                               f"memory limit {inst.c.memory_limit}")

    def stop_all(self):
        for inst in reversed(self.started):
            if inst.proc.poll() is not None:
                self.problems.add(f"{self.stack} {inst.label}", f"exited early with "
                                                               f"{inst.proc.returncode}:\n{inst.log_tail()}")
                continue
            pid = self.binary_pid(inst)
            if pid is None:
                # Waiting out its grace period would blame the service for a
                # signal it never got.
                self.problems.add(f"{self.stack} {inst.label}",
                                  f"cannot find the {inst.c.binary} process under pid "
                                  f"{inst.proc.pid} in /proc to send it SIGTERM")
                continue
            t0 = time.monotonic()
            os.kill(pid, signal.SIGTERM)
            grace = inst.c.grace or 10
            try:
                inst.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.problems.add(f"{self.stack} {inst.label}", f"did not stop within its grace "
                                                               f"period {grace:g}s after SIGTERM")
                continue
            code = inst.proc.returncode
            if code != 0 and inst.c.binary is not None:
                self.problems.add(f"{self.stack} {inst.label}", f"exit code {code} after SIGTERM "
                                                               f"({time.monotonic() - t0:.1f}s):\n"
                                                               f"{inst.log_tail()}")

    def check_placeholder_refused(self):
        """Applying secret.yaml as it is must not give a working tracker."""
        tracker = next(i for i in self.instances if i.c.binary == "blobswarm-tracker")
        inst = Instance(tracker.c, tracker.label + "@placeholder", self.work)
        inst.ports = {p: free_port() for p in tracker.ports}
        placeholders = {}
        for m in inst.c.mounts:
            for rel in m.files:
                origin = m.origins.get(rel)
                if origin and origin.startswith("Secret "):
                    placeholders[origin] = m.files[rel]
        self.start(inst, overrides=placeholders)
        exited = wait_for(lambda: inst.proc.poll() is not None, 15)
        if not exited:
            self.problems.add("k8s secret.yaml", "the tracker runs with the placeholder admin token")
        elif inst.proc.returncode == 0 or "admin_token_file" not in inst.log_tail():
            self.problems.add("k8s secret.yaml", f"the tracker did not refuse the placeholder "
                                                 f"token clearly:\n{inst.log_tail()}")

    def kill_all(self):
        for inst in self.started:
            if inst.proc and inst.proc.poll() is None:
                try:
                    os.killpg(inst.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                inst.proc.wait(timeout=10)
        if self.registry and self.registry[1] is not None:
            try:
                os.killpg(self.registry[1].pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.registry[1].wait(timeout=10)


def generated_secrets(containers, root, work):
    """Real values for the credentials: compose's from gen-secrets itself,
    the Kubernetes Secret's from the command README.md gives (openssl rand)."""
    values = {}
    sdir = os.path.join(work, "compose-secrets")
    out = subprocess.run([os.path.join(root, "deploy", "compose", "gen-secrets"), sdir],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(f"deploy/compose/gen-secrets failed: {out.stderr}")
    for name in os.listdir(sdir):
        values[f"secret {name}"] = open(os.path.join(sdir, name), "rb").read()
    for c in containers:
        for m in c.mounts:
            for rel, origin in m.origins.items():
                if origin.startswith("Secret "):
                    key = origin.rsplit(" ", 1)[1]
                    size = 32 if key == "admin-token" else 16
                    values.setdefault(origin, pysecrets.token_hex(size).encode())
    return values


def cleanup(work):
    shutil.rmtree(work, ignore_errors=True)
