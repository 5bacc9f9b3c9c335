"""checks: the static deployment checks (no process is started except the
binaries' --help and docker-compose config). Each function adds what it
finds to a deploylib.Problems.
"""

import json
import os
import re
import subprocess

from deploylib import (BLOBSWARM_UID, ENGINE_PORTS, URL_RE, parse_args, parse_duration, parse_quantity,
                       parse_size, split_host_port, stage_attr, stage_chain, strings_in,
                       effective)
from models import POD_IP, NODE_IP, WORKLOAD_KINDS

HEALTH_PATH = {None: "/v2/"}  # the registry; every blobswarm binary answers /healthz
REGISTRY_CONFIG = "/etc/docker/registry/config.yml"


# --- per container -------------------------------------------------------------

class Settings:
    """A blobswarm container's parsed arguments and config file."""

    def __init__(self, c, helps, problems):
        self.c, self.ok = c, False
        self.help = helps.get(c.binary)
        self.args, self.config, self.config_path = [], None, None
        if self.help is None:
            problems.add(c.name, f"runs {c.binary!r}, which is not a blobswarm binary")
            return
        try:
            self.args = parse_args(c.args, self.help)
        except ValueError as e:
            problems.add(c.name, str(e))
            return
        self.config_path = self.flag("config")
        if self.config_path is not None:
            content = c.file_content(self.config_path)
            if content is None:
                problems.add(c.name, f"--config {self.config_path} is not a mounted file")
                return
            try:
                self.config = json.loads(content)
            except ValueError as e:
                problems.add(c.name, f"{self.config_path} is not JSON: {e}")
                return
            if not isinstance(self.config, dict):
                problems.add(c.name, f"{self.config_path} is not a JSON object")
                return
        self.ok = True

    def flag(self, key):
        for flag, value in self.args:
            if self.help.options[flag].key == key:
                return value
        return None

    def get(self, key):
        return effective(key, self.args, self.config, self.help)


def listen_ports(c, settings):
    """{port: option} the container listens on."""
    if c.engine:
        return {ENGINE_PORTS[c.engine]: c.engine}
    if c.binary is None:
        content = c.file_content(REGISTRY_CONFIG)
        if content is None:
            return {5000: "registry default"}
        import yaml
        addr = ((yaml.safe_load(content) or {}).get("http") or {}).get("addr", ":5000")
        return {split_host_port(addr)[1]: "http.addr"}
    s = settings.get(c.name)
    if s is None or not s.ok:
        return {}
    out = {}
    for key in sorted(s.help.keys()):
        if key.endswith("listen"):
            value = s.get(key)
            if value:
                out[split_host_port(value)[1]] = key
    return out


def check_container(c, s, names, stack, settings, problems):
    where = c.name
    if not s.ok:
        return
    help_ = s.help
    # Listen addresses explicit, and reachable the way the stack needs.
    for key in sorted(help_.keys()):
        if not key.endswith("listen"):
            continue
        given = s.flag(key)
        if given is None:
            problems.add(where, f"--{key.replace('_', '-')} is not given (listen addresses must be explicit)")
            continue
        host, _ = split_host_port(given)
        if stack == "compose" and host != "0.0.0.0":
            problems.add(where, f"--{key.replace('_', '-')} {given}: in a container it must listen on "
                                "0.0.0.0 for published ports and other services to reach it")
        if stack == "k8s" and host in ("127.0.0.1", "localhost") and not c.host_network:
            problems.add(where, f"--{key.replace('_', '-')} {given}: loopback of a pod is reachable "
                                "by nothing else")
    # Config keys.
    if s.config is not None:
        for key in s.config:
            if key in help_.keys():
                continue
            if key == "users" and c.binary == "blobswarm-tracker":
                # The credentials contract (issue 8): the tracker creates the
                # users listed here with the passkeys in their files. Until the
                # tracker implements it, nothing deployed can start.
                problems.block(where, f"{s.config_path}: blobswarm-tracker does not accept the "
                                      "config key 'users' yet (the credentials contract)")
                continue
            problems.add(where, f"{s.config_path}: key {key!r} is not a {c.binary} setting "
                                "(unknown config key)")
    ports = listen_ports(c, settings)
    # Absolute paths: flags and config values must lie on mounts.
    values = [(f"--{help_.options[f].key.replace('_', '-')}", v) for f, v in s.args if v]
    if s.config is not None:
        values += [(f"{s.config_path}:{p}", v) for p, v in strings_in(s.config)]
    for what, value in values:
        if value.startswith("/"):
            m = c.mount_for(value)
            if m is None:
                problems.add(where, f"{what} {value} is on no mounted volume, file or secret")
            elif m.kind in ("file", "dir") and c.file_content(value) is None and \
                    not (m.kind == "file" and m.path == value):
                problems.add(where, f"{what} {value}: {m.source} mounted at {m.path} has no such file")
            elif value.startswith("/run/secrets/") and "ecret" not in (c.origin_of(value) or ""):
                problems.add(where, f"{what} {value} is not a secret")
        # A list (the mirror's --seeder, the seeder's --seeders): each URL.
        for part in (value.split(",") if "," in value else [value]):
            url = URL_RE.match(part)
            if url:
                check_url(c, what, part, url, ports, names, settings, problems)
            engine_url = ENGINE_URL_RE.match(part)
            if engine_url:
                check_engine_url(c, what, part, engine_url, names, settings, problems)
    for key in ("data", "db"):
        if key in help_.keys():
            value = s.get(key)
            if key == "db" and value and ENGINE_URL_RE.match(value):
                continue  # PostgreSQL: its data is the engine's (check_engine_url)
            m = c.mount_for(value) if value and value.startswith("/") else None
            if m is None or m.kind != "volume" or not m.writable:
                problems.add(where, f"--{key} {value} is not on a writable volume (data would be "
                                    "lost with the container)")
    # Health check.
    if c.health is None:
        problems.add(where, "no health check / readiness probe")
    else:
        host, port, path = c.health
        if isinstance(port, str):
            port = next((p for p, n in c.ports.items() if n == port), None)
            if port is None:
                problems.add(where, f"probe port {c.health[1]!r} is not a declared container port")
        http_port = next((p for p, k in ports.items() if k == "listen"), None)
        if port is not None and port != http_port:
            problems.add(where, f"health check on port {port}, but the HTTP API listens on {http_port}")
        if path != "/healthz":
            problems.add(where, f"health check path {path}, not /healthz")
        if stack == "k8s" and host not in (None, "127.0.0.1"):
            problems.add(where, f"probe host {host}: only the pod address or 127.0.0.1 work")
        if stack == "k8s" and host == "127.0.0.1" and not c.host_network:
            problems.add(where, "probe host 127.0.0.1 reaches the kubelet's node, not this pod")
        if stack == "k8s" and host is None and http_port in ports:
            lhost = split_host_port(s.get("listen"))[0]
            if lhost in ("127.0.0.1", "localhost"):
                problems.add(where, "probes go to the pod address, but --listen is loopback "
                                    "(set httpGet.host: 127.0.0.1 with hostNetwork)")
    # Declared ports match what it listens on.
    if stack == "compose":
        for p in c.ports:
            if p not in ports:
                problems.add(where, f"publishes container port {p}, which it does not listen on "
                                    f"({sorted(ports)})")
    else:
        if set(c.ports) != set(ports):
            problems.add(where, f"declares container ports {sorted(c.ports)} but listens on "
                                f"{sorted(ports)}")
        if c.host_network:
            for p in c.spec.get("ports") or []:
                if p.get("hostPort", p["containerPort"]) != p["containerPort"]:
                    problems.add(where, f"hostNetwork: hostPort {p['hostPort']} must equal "
                                        f"containerPort {p['containerPort']}")
    # Graceful stop fits in the time the runtime waits.
    if "shutdown_grace" in help_.keys():
        grace = parse_duration(s.get("shutdown_grace"))
        if c.grace is not None and c.grace <= grace:
            problems.add(where, f"stop grace period {c.grace:g}s is not longer than "
                                f"--shutdown-grace {grace:g}s")
    # The disk quota fits the volume.
    data_mount = c.mount_for(s.get("data")) if "data" in help_.keys() and s.get("data") else None
    for key, reserve in (("cache_size", None), ("max_size", "min_free")):
        if key in help_.keys() and data_mount is not None and data_mount.size_limit:
            need = parse_size(s.get(key)) + (parse_size(s.get(reserve)) if reserve else 0)
            if need >= data_mount.size_limit:
                problems.add(where, f"{key} ({s.get(key)}) does not fit {data_mount.source} "
                                    f"({data_mount.size_limit} bytes)")
    if c.run_as in (None, 0):
        problems.add(where, f"runs as uid {c.run_as} (must be the image's non-root user)")
    elif c.run_as != BLOBSWARM_UID:
        problems.add(where, f"runs as uid {c.run_as}, the image's user is {BLOBSWARM_UID}")


def check_url(c, what, value, url, ports, names, settings, problems):
    host, port = url.group(2), int(url.group(3) or (443 if url.group(1) == "https" else 80))
    if host in (POD_IP, NODE_IP):
        if port not in ports:
            problems.add(c.name, f"{what} {value}: this pod does not listen on {port}")
        return
    if names.knows(host):
        _, err = names.resolve(host, port, lambda t: listen_ports(t, settings))
        if err:
            problems.add(c.name, f"{what} {value}: {err}")
        return
    key = what.split(":")[-1]
    if "." not in host or not ("upstream" in key or key.endswith(".url")):
        problems.add(c.name, f"{what} {value}: {host} is not a service of this deployment")


# postgresql://[user[:password]@]host[:port][/db] and redis://[:password@]host[:port][/db]
ENGINE_URL_RE = re.compile(r"^(postgres(?:ql)?|redis)://(?:[^@/]*@)?([^/:?#]+)(?::(\d+))?")


def check_engine_url(c, what, value, m, names, settings, problems):
    """A PostgreSQL or Redis URL names a service of the stack that runs that
    engine and listens on the port (or an external host name, with dots)."""
    scheme, host = m.group(1), m.group(2)
    engine = "redis" if scheme == "redis" else "postgres"
    port = int(m.group(3) or ENGINE_PORTS[engine])
    if not names.knows(host):
        if "." not in host:
            problems.add(c.name, f"{what} {value}: {host} is not a service of this deployment")
        return
    found, err = names.resolve(host, port, lambda t: listen_ports(t, settings))
    if err:
        problems.add(c.name, f"{what} {value}: {err}")
    elif found[0].engine != engine:
        problems.add(c.name, f"{what} {value}: {found[0].name} runs {found[0].engine or found[0].binary}, "
                             f"not {engine}")


def check_engine(c, stack, problems):
    """PostgreSQL and Redis containers (the replicated control plane)."""
    where = c.name
    if c.health is None or c.health[0] != "command":
        problems.add(where, f"no health check (pg_isready, redis-cli ping) for {c.engine}")
    if c.engine == "postgres":
        data = next((m for m in c.mounts if m.path.startswith("/var/lib/postgresql")), None)
        if data is None or data.kind != "volume" or not data.writable:
            problems.add(where, "PostgreSQL's data (/var/lib/postgresql/data) is not on a writable "
                                "volume: the index of record would be lost with the container")
    if stack == "compose" and any(p for p in c.ports):
        problems.add(where, f"publishes {c.engine}'s port on the host: keep it on the stack's network")


# --- across a stack ------------------------------------------------------------

def check_wiring(containers, settings, stack, problems):
    """The credentials contract and the upstream lists agree across services."""
    by_binary = {}
    for c in containers:
        by_binary.setdefault(c.binary, []).append(c)
    trackers = by_binary.get("blobswarm-tracker", [])
    seeders = by_binary.get("blobswarm-seeder", [])
    mirrors = by_binary.get("blobswarm-mirror", [])
    for role, group in (("tracker", trackers), ("seeder", seeders), ("mirror", mirrors)):
        if not group:
            problems.add(stack, f"no {role}")
    if not trackers or not all(settings[c.name].ok for c in trackers + seeders + mirrors):
        return
    t = settings[trackers[0].name]
    admin = trackers[0].origin_of(t.get("admin_token_file") or "")
    users = (t.config or {}).get("users") or []
    nodes = [u for u in users if isinstance(u, dict) and u.get("name") == "nodes"]
    if not nodes:
        problems.add(trackers[0].name, "tracker config has no users entry named 'nodes'")
        nodes_origin = None
    else:
        nodes_origin = trackers[0].origin_of(nodes[0].get("passkey_file", ""))
        if nodes_origin is None:
            problems.add(trackers[0].name, f"users[nodes].passkey_file "
                                           f"{nodes[0].get('passkey_file')} is not mounted")
    for c in seeders:
        s = settings[c.name]
        origin = c.origin_of(s.get("tracker_token_file") or "")
        if origin is None or origin != admin:
            problems.add(c.name, f"--tracker-token-file comes from {origin}, the tracker's admin "
                                 f"token from {admin}")
    for c in mirrors:
        s = settings[c.name]
        origin = c.origin_of(s.get("passkey_file") or "")
        if nodes_origin is not None and origin != nodes_origin:
            problems.add(c.name, f"--passkey-file comes from {origin}, the tracker's 'nodes' "
                                 f"passkey from {nodes_origin}")
    # A mirror asks the seeder for the registry the runtime named: both must
    # know the same registries and have the same default.
    for c in mirrors:
        for sc in seeders:
            m, sd = settings[c.name], settings[sc.name]
            mu, su = (m.config or {}).get("upstreams") or {}, (sd.config or {}).get("upstreams") or {}
            if set(mu) != set(su):
                problems.add(c.name, f"upstreams {sorted(mu)} differ from {sc.name}'s {sorted(su)}")
            for host in set(mu) & set(su):
                if (mu[host] or {}).get("url") != (su[host] or {}).get("url"):
                    problems.add(c.name, f"upstreams[{host}] url differs from {sc.name}'s")
            if m.get("upstream") != sd.get("upstream"):
                problems.add(c.name, f"--upstream {m.get('upstream')} differs from {sc.name}'s "
                                     f"{sd.get('upstream')}")


def _urls(value):
    return sorted(u.rstrip("/") for u in (value or "").split(",") if u)


def check_replicas(containers, settings, problems, names=None):
    """Tracker replicas (a PostgreSQL --db) are all behind the name their
    --public-url gives (compose: a network alias); seeder replicas each find
    themselves (--public-url) in their --seeders and have a lease store; a
    mirror that knows one of them knows exactly the seeders' list
    (rendezvous hashing needs the same set everywhere)."""
    by_name = getattr(names, "by_name", None)
    for c in containers:
        s = settings.get(c.name)
        if c.binary != "blobswarm-tracker" or s is None or not s.ok or by_name is None:
            continue
        if not ENGINE_URL_RE.match(s.get("db") or ""):
            continue
        url = URL_RE.match(s.get("public_url") or "")
        if url is None or c not in by_name.get(url.group(2), []):
            problems.add(c.name, f"a replica (PostgreSQL --db) that is not behind its --public-url "
                                 f"{s.get('public_url')}: give it that network alias")
    lists = {}
    for c in containers:
        s = settings.get(c.name)
        if c.binary != "blobswarm-seeder" or s is None or not s.ok or not s.get("seeders"):
            continue
        seeders = _urls(s.get("seeders"))
        lists[c.name] = seeders
        if (s.get("public_url") or "").rstrip("/") not in seeders:
            problems.add(c.name, f"--public-url {s.get('public_url')} is not in --seeders {seeders}")
        if len(seeders) > 1 and not (s.get("lease_store") or "").startswith("redis://"):
            problems.add(c.name, "several --seeders but no --lease-store redis:// URL")
    if len({tuple(v) for v in lists.values()}) > 1:
        problems.add("seeders", f"the seeder replicas list different --seeders: {lists}")
    for c in containers:
        s = settings.get(c.name)
        if c.binary != "blobswarm-mirror" or s is None or not s.ok:
            continue
        mine = _urls(s.get("seeder"))
        cluster = next((v for v in lists.values() if set(mine) & set(v)), None)
        if cluster is not None and mine != cluster:
            problems.add(c.name, f"--seeder {mine} is not the seeders' list "
                                 f"{next(iter(lists.values()))}")


def check_compose_stack(root, resolved, containers, stages, problems):
    owners = {}
    for c in containers:
        for m in c.mounts:
            if m.kind == "volume" and m.writable:
                owners.setdefault(m.source, []).append(c.name)
        if c.binary and getattr(c, "health_tool", None) == "curl":
            if not any("curl" in r.split() for s in stage_chain(stages, _target(c, resolved))
                       for r in s.runs if "apt-get install" in r):
                problems.add(c.name, "health check uses curl, which the image does not install")
        if c.binary:
            target = _target(c, resolved)
            want = f"blobswarm/{target}:{_version(root)}"
            if c.image != want:
                problems.add(c.name, f"image {c.image}, expected {want}")
    for vol, users in owners.items():
        if len(users) > 1:
            problems.add("docker-compose.yml", f"{vol} is written by {users}: each service needs "
                                               "its own data volume")
    gen = open(os.path.join(root, "deploy", "compose", "gen-secrets"), encoding="utf-8").read()
    for name, spec in (resolved.get("secrets") or {}).items():
        f = spec.get("file", "")
        if os.path.dirname(f) != os.path.join(root, "deploy", "compose", "secrets"):
            problems.add("docker-compose.yml", f"secret {name}: file {f} is not in deploy/compose/secrets")
        if not re.search(rf"^make_secret {re.escape(name)} ", gen, re.M):
            problems.add("deploy/compose/gen-secrets", f"does not make secret {name}")
    by_name = {c.name: c for c in containers}
    for c in containers:
        for d in c.depends_on:
            if d not in by_name:
                problems.add(c.name, f"depends on {d}, which is not a service")


def _target(c, resolved):
    return ((resolved["services"][c.name].get("build")) or {}).get("target")


def _version(root):
    from deploylib import project_version
    return project_version(root)


def check_k8s_stack(root, objects, kustomization, files, containers, version, problems):
    kdir = "deploy/k8s"
    # Schema: every field known to the Kubernetes API (python3-kubernetes models).
    for (kind, name), obj in objects.items():
        check_schema(obj, kind, f"{kind} {name}", problems)
    # Kustomization lists every manifest except the placeholder Secret.
    if kustomization is None:
        problems.add(kdir, "no kustomization.yaml")
    else:
        listed = set(kustomization.get("resources") or [])
        want = set(files) - {"secret.yaml"}
        if listed != want:
            problems.add(f"{kdir}/kustomization.yaml", f"resources {sorted(listed)}, expected "
                                                       f"{sorted(want)} (secret.yaml stays out)")
        extra = set(kustomization) - {"apiVersion", "kind", "namespace", "resources", "images"}
        if extra:
            problems.add(f"{kdir}/kustomization.yaml", f"unexpected keys {sorted(extra)}")
        for img in kustomization.get("images") or []:
            if img.get("newTag") != version:
                problems.add(f"{kdir}/kustomization.yaml", f"image {img.get('name')} newTag "
                                                           f"{img.get('newTag')} is not {version}")
        images = {c.image.rpartition(":")[0] for c in containers if not c.engine}
        named = {i.get("name") for i in kustomization.get("images") or []}
        if images != named:
            problems.add(f"{kdir}/kustomization.yaml", f"images {sorted(named)}, the workloads use "
                                                       f"{sorted(images)}")
    namespaces = {n for (k, n) in objects if k == "Namespace"}
    ns_want = (kustomization or {}).get("namespace")
    if ns_want not in namespaces:
        problems.add(kdir, f"namespace {ns_want} is not defined by a Namespace manifest")
    for (kind, name), obj in objects.items():
        if kind != "Namespace" and obj["metadata"].get("namespace") != ns_want:
            problems.add(f"{kind} {name}", f"namespace {obj['metadata'].get('namespace')}, "
                                           f"not {ns_want}")
    # Workloads: selectors match their own pods and nobody else's.
    pods = {}
    for (kind, name), obj in objects.items():
        if kind not in WORKLOAD_KINDS:
            continue
        sel = ((obj["spec"].get("selector") or {}).get("matchLabels")) or {}
        labels = ((obj["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not sel:
            problems.add(f"{kind} {name}", "selector.matchLabels is empty")
        for k, v in sel.items():
            if labels.get(k) != v:
                problems.add(f"{kind} {name}", f"selector {k}={v} does not match the pod template "
                                               f"labels {labels}")
        pods[(kind, name)] = (sel, labels)
        if kind == "StatefulSet":
            gov = objects.get(("Service", obj["spec"].get("serviceName")))
            if gov is None:
                problems.add(f"{kind} {name}", f"serviceName {obj['spec'].get('serviceName')} is "
                                               "not a Service")
            elif gov["spec"].get("clusterIP") != "None":
                problems.add(f"{kind} {name}", "its governing Service must be headless")
        if kind == "Deployment" and obj["spec"].get("replicas", 1) == 1 and \
                (obj["spec"].get("strategy") or {}).get("type") != "Recreate":
            for c in containers:
                if c.workload == name and any(m.kind == "volume" and "PersistentVolumeClaim" in m.source
                                              for m in c.mounts):
                    problems.add(f"{kind} {name}", "a single-writer volume needs strategy Recreate")
    for a, (sel_a, _) in pods.items():
        for b, (_, labels_b) in pods.items():
            if a != b and sel_a and all(labels_b.get(k) == v for k, v in sel_a.items()):
                problems.add(f"{a[0]} {a[1]}", f"its selector also matches the pods of {b[0]} {b[1]}")
    # Services select exactly one workload and target declared ports.
    by_workload = {}
    for c in containers:
        by_workload.setdefault(c.workload, []).append(c)
    for (kind, name), obj in objects.items():
        if kind != "Service":
            continue
        sel = obj["spec"].get("selector") or {}
        matched = [w for (k, w), (_, labels) in pods.items()
                   if sel and all(labels.get(x) == y for x, y in sel.items())]
        if len(matched) != 1:
            problems.add(f"Service {name}", f"selector {sel} selects {len(matched)} workloads "
                                            f"({matched}), expected exactly one")
            continue
        for p in obj["spec"].get("ports") or []:
            target = p.get("targetPort", p["port"])
            ok = any(target == port or target == pname
                     for c in by_workload.get(matched[0], []) for port, pname in c.ports.items())
            if not ok:
                problems.add(f"Service {name}", f"port {p['port']} targets {target!r}, which no "
                                                f"container of {matched[0]} declares")
    # Containers: resources, security, probes' ports.
    for c in containers:
        if c.engine:
            check_engine(c, "k8s", problems)
        res = c.spec.get("resources") or {}
        for k in ("cpu", "memory"):
            if k not in (res.get("requests") or {}):
                problems.add(c.name, f"no {k} request")
        if "memory" not in (res.get("limits") or {}):
            problems.add(c.name, "no memory limit")
        sc = {**(c.pod.get("securityContext") or {}), **(c.spec.get("securityContext") or {})}
        if sc.get("runAsNonRoot") is not True:
            problems.add(c.name, "securityContext.runAsNonRoot is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.add(c.name, "securityContext.allowPrivilegeEscalation is not false")
        for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = c.spec.get(probe_name)
            if probe is None:
                problems.add(c.name, f"no {probe_name}")
                continue
            if c.engine:
                if "exec" not in probe:
                    problems.add(c.name, f"{probe_name} of {c.engine} is not an exec probe")
                continue
            port = (probe.get("httpGet") or {}).get("port")
            if not any(port == p or port == n for p, n in c.ports.items()):
                problems.add(c.name, f"{probe_name} port {port!r} is not a declared container port")
            if (probe.get("httpGet") or {}).get("path") != "/healthz":
                problems.add(c.name, f"{probe_name} does not ask /healthz")
    kinds = {c.binary: c.kind for c in containers}
    if kinds.get("blobswarm-mirror") != "DaemonSet":
        problems.add(kdir, "the mirror must run as a DaemonSet")
    for c in containers:
        if c.binary == "blobswarm-mirror" and not c.host_network:
            problems.add(c.name, "the mirror must use hostNetwork (runtimes pull via 127.0.0.1)")
        if c.host_network and c.pod.get("dnsPolicy") != "ClusterFirstWithHostNet":
            problems.add(c.name, "hostNetwork pods need dnsPolicy ClusterFirstWithHostNet to "
                                 "resolve Service names")


def check_schema(value, type_name, where, problems):
    """Unknown fields and wrong types, against the Kubernetes API models."""
    from kubernetes.client import models
    if type_name in {"Namespace", "ConfigMap", "Secret", "Service", "PersistentVolumeClaim",
                     "Deployment", "StatefulSet", "DaemonSet"}:
        type_name = f"V1{type_name}"
    if type_name.startswith("list["):
        if not isinstance(value, list):
            problems.add(where, f"must be a list, not {value!r}")
            return
        for i, v in enumerate(value):
            check_schema(v, type_name[5:-1], f"{where}[{i}]", problems)
        return
    if type_name.startswith("dict("):
        if not isinstance(value, dict):
            problems.add(where, f"must be a map, not {value!r}")
            return
        inner = type_name[5:-1].split(", ", 1)[1]
        for k, v in value.items():
            check_schema(v, inner, f"{where}.{k}", problems)
        return
    simple = {"str": str, "int": int, "bool": bool, "float": (int, float)}
    if type_name in simple:
        ok = isinstance(value, simple[type_name]) and not (type_name == "int" and isinstance(value, bool))
        if not ok:
            problems.add(where, f"must be {type_name}, not {value!r}")
        return
    if type_name in ("object", "datetime"):
        return
    cls = getattr(models, type_name, None)
    if cls is None:
        problems.add(where, f"unknown type {type_name}")
        return
    if not isinstance(value, dict):
        problems.add(where, f"must be a {type_name} object, not {value!r}")
        return
    by_json = {j: p for p, j in cls.attribute_map.items()}
    for k, v in value.items():
        if k not in by_json:
            problems.add(where, f"unknown field {k!r} ({type_name})")
            continue
        check_schema(v, cls.openapi_types[by_json[k]], f"{where}.{k}", problems)


# --- Dockerfile --------------------------------------------------------------------

INSTALL_DEPS_BUILD_NOT_NEEDED = {
    "ccache": "compiler cache for repeated local builds",
    "git": "the image builds from the copied sources",
    "sqlite3": "the sqlite command-line shell (the library is libsqlite3-dev)",
    "libgtest-dev": "tests are not built in the image (BLOBSWARM_TESTS=OFF)",
    "libgmock-dev": "tests are not built in the image",
    "libbenchmark-dev": "benchmarks are not built in the image",
    "clang-format": "formatting, not building",
}


def apt_packages(run_lines):
    pkgs = set()
    for r in run_lines:
        for m in re.finditer(r"apt-get install((?:\s+-{1,2}[\w-]+)*)((?:\s+[a-z0-9][a-z0-9.+-]+)+)", r):
            pkgs |= set(m.group(2).split())
    return pkgs


_BASE_PACKAGES = None
_OWNERS = {}


def base_image_packages():
    """Packages debian:bookworm certainly has: apt and what apt needs (from
    this Debian 12 machine's dpkg database)."""
    global _BASE_PACKAGES
    if _BASE_PACKAGES is None:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Depends}, ${Pre-Depends}\n"],
                             capture_output=True, text=True, check=True).stdout
        deps = {}
        for line in out.splitlines():
            name, _, rest = line.partition("\t")
            deps[name] = [d.strip().split(" ")[0].split(":")[0] for d in rest.split(",")
                          if d.strip() and "|" not in d]
        seen, todo = set(), ["apt", "dpkg", "base-files"]
        while todo:
            p = todo.pop()
            if p not in seen:
                seen.add(p)
                todo += deps.get(p, [])
        _BASE_PACKAGES = seen
    return _BASE_PACKAGES


def needed_packages(binary_path):
    """Debian packages holding the shared libraries a binary links directly."""
    out = subprocess.run(["objdump", "-p", binary_path], capture_output=True, text=True, check=True)
    sonames = re.findall(r"^\s+NEEDED\s+(\S+)", out.stdout, re.M)
    ldd = subprocess.run(["ldd", binary_path], capture_output=True, text=True, check=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    ask = [x for so in sonames if so in paths
           for x in (paths[so], os.path.realpath(paths[so])) if x not in _OWNERS]
    if ask:
        q = subprocess.run(["dpkg", "-S"] + ask, capture_output=True, text=True)
        for line in q.stdout.splitlines():
            pkg, _, path = line.partition(": ")
            _OWNERS[path.strip()] = pkg.split(":")[0].strip()
        for p in ask:
            _OWNERS.setdefault(p, None)
    return {so: (_OWNERS.get(paths[so]) or _OWNERS.get(os.path.realpath(paths[so])))
            if so in paths else None for so in sonames}


def check_dockerfile(root, bin_dir, stages, order, used_targets, problems):
    where = "deploy/docker/Dockerfile"
    for name in order:
        base = stages[name].base
        if base not in stages and base != "debian:bookworm":
            problems.add(where, f"stage {name} is FROM {base}, not debian:bookworm")
    build_stages = [s for s in stages.values() if any("cmake --build" in r for r in s.runs)]
    if len(build_stages) != 1:
        problems.add(where, "expected exactly one stage that runs cmake --build")
        return
    build = build_stages[0]
    # Only Debian packages are downloaded.
    for s in stages.values():
        for r in s.runs:
            if re.search(r"(^|&&|;|\|\|?)\s*(curl|wget|git|pip3?|npm|go)\s", r):
                problems.add(where, f"stage {s.name} downloads outside apt: {r[:80]}")
        for word, _, srcs, _ in s.copies:
            if word == "ADD" and any(x.startswith(("http://", "https://")) for x in srcs):
                problems.add(where, f"stage {s.name} ADDs a URL")
    # The build stage gets the build dependencies scripts/install-deps lists.
    deps = open(os.path.join(root, "scripts", "install-deps"), encoding="utf-8").read()
    m = re.search(r"# build\n(.*?)\n\s*#", deps, re.S)
    if not m:
        problems.add("scripts/install-deps", "no '# build' package group")
    else:
        # Words before any inline comment ("libpq-dev libhiredis-dev  # why").
        words = " ".join(line.split("#", 1)[0] for line in m.group(1).splitlines()).split()
        want = set(words) - set(INSTALL_DEPS_BUILD_NOT_NEEDED)
        have = apt_packages(build.runs)
        if want - have:
            problems.add(where, f"build stage lacks build dependencies {sorted(want - have)} "
                                "(scripts/install-deps '# build')")
    # It copies every source folder the top CMakeLists.txt builds.
    cml = open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8").read()
    dirs = set(re.findall(r"add_subdirectory\((\w[\w/]*)\)", cml)) - {"tests", "fuzz"}
    copied = {src.rstrip("/").split("/")[0] for (_, frm, srcs, _) in build.copies if frm is None
              for src in srcs}
    for d in sorted(dirs):
        if d.split("/")[0] not in copied and d != "fuzz":
            problems.add(where, f"build stage does not copy {d}/, which CMakeLists.txt builds")
    base_pkgs = base_image_packages()
    for target in sorted(used_targets):
        if target not in stages:
            problems.add(where, f"no stage {target} (used by the compose or k8s files)")
            continue
        user = stage_attr(stages, target, "user")
        uid = (user or "root").split(":")[0]
        if uid in ("root", "0") or not uid.isdigit() or int(uid) != BLOBSWARM_UID:
            problems.add(where, f"target {target} runs as USER {user}, not the non-root "
                                f"{BLOBSWARM_UID}")
        entry = stage_attr(stages, target, "entrypoint")
        if not entry:
            problems.add(where, f"target {target} has no ENTRYPOINT")
            continue
        binary = os.path.basename(entry[0])
        copied_to = [dst for s in stage_chain(stages, target) for (_, frm, srcs, dst) in s.copies
                     if frm == build.name and any(os.path.basename(x) == binary for x in srcs)]
        if entry[0] not in copied_to and os.path.dirname(entry[0]) + "/" not in copied_to:
            problems.add(where, f"target {target} does not COPY --from={build.name} {binary} to "
                                f"{entry[0]}")
        if not any(re.search(rf"--target\b[^&]*\b{re.escape(binary)}\b", r) for r in build.runs):
            problems.add(where, f"the build stage does not build {binary}")
        path = os.path.join(bin_dir, binary)
        if not os.path.exists(path):
            problems.add(where, f"{path} is not built; cannot check its libraries")
            continue
        needed = needed_packages(path)
        if any(re.match(r"lib(asan|tsan|ubsan)\.so", so) for so in needed):
            # A sanitizer build (scripts/test's asan stage) links the
            # sanitizer runtimes and, unoptimised, libraries a Release build
            # drops: it says nothing about the image's Release binaries.
            print(f"note: {path} is a sanitizer build; its libraries are not checked "
                  "against the image")
            continue
        installed = set()
        for s in stage_chain(stages, target):
            installed |= apt_packages(s.runs)
        for so, pkg in needed.items():
            if pkg is None:
                problems.add(where, f"{binary} needs {so}, which no Debian package provides here")
            elif pkg not in installed and pkg not in base_pkgs:
                problems.add(where, f"target {target}: {binary} needs {so} from {pkg}, which the "
                                    "image does not install")
