#!/usr/bin/python3
"""Checks blobswarm's deployment files against the binaries they run.

  check_deploy.py --root REPO --bin BUILD/bin --work DIR CHECK

CHECK is one of
  dockerfile   deploy/docker/Dockerfile: debian:bookworm stages, a non-root
               USER, every target the compose/k8s files use copies and runs
               its binary, the runtime stage installs the Debian packages of
               every library the built binaries link, the build stage has the
               build dependencies and sources, nothing downloaded but apt;
  compose      docker-compose.yml parses and `docker-compose config` accepts
               it; flags are in each binary's --help, config keys are
               settings, paths lie on mounts, URLs name services and ports
               they listen on, health checks hit the HTTP port, secrets and
               volumes exist, the credentials contract is wired consistently;
  k8s-ha       deploy/k8s/ha: the overlay (PostgreSQL and Redis StatefulSets,
               three trackers, two seeders) applied to the base with
               kustomize's strategic merge, then the k8s checks, plus: the
               replica counts, every seeder in its own --seeders list, the
               mirrors' --seeder list equal to the seeders';
  k8s          deploy/k8s: every manifest parses and knows only real API
               fields (python3-kubernetes models), selectors match pod
               labels, Services select one workload and target declared
               ports, every ConfigMap/Secret/PVC/volume/key referenced
               exists, probes hit declared ports, plus the compose checks for
               the containers' arguments;
  run-compose  starts the compose services as local processes (runner.py)
               and checks they work together, including a pull by torrent;
  run-k8s      the same for the Kubernetes workloads (two mirror "nodes");
  selftest     breaks copies of the files in ways each check must catch and
               fails unless every break is reported.
Exit status 0 when everything holds, 1 with one line per problem otherwise.
"""

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import yaml  # noqa: E402

import checks  # noqa: E402
import models  # noqa: E402
import runner  # noqa: E402
from deploylib import Problems, parse_dockerfile, project_version, read_help  # noqa: E402

BINARIES = ("blobswarm-tracker", "blobswarm-seeder", "blobswarm-mirror")
SKIP = 77


class Context:
    def __init__(self, root, bin_dir, work, problems):
        self.root, self.bin_dir, self.work, self.problems = root, bin_dir, work, problems
        self.helps = {b: read_help(bin_dir, b) for b in BINARIES}
        self.stages, self.order = parse_dockerfile(os.path.join(root, "deploy", "docker", "Dockerfile"))
        self.version = project_version(root)

    def compose(self):
        """(containers, names, settings) of docker-compose.yml, or None."""
        path = os.path.join(self.root, "docker-compose.yml")
        try:
            raw = yaml.safe_load(open(path, encoding="utf-8"))
            if not isinstance(raw, dict) or "services" not in raw:
                self.problems.add("docker-compose.yml", "has no services")
        except yaml.YAMLError as e:
            self.problems.add("docker-compose.yml", f"does not parse: {e}")
            return None
        resolved = models.compose_resolved(self.root, self.problems)
        if resolved is None:
            return None
        containers = models.compose_containers(self.root, resolved, self.stages, self.problems)
        self.resolved = resolved
        return containers, models.ComposeNames(containers), self._settings(containers)

    def k8s(self):
        objects, kustomization, files = models.k8s_objects(self.root, self.problems)
        containers = models.k8s_containers(objects, self.stages, self.version, self.problems)
        self.objects, self.kustomization, self.files = objects, kustomization, files
        return containers, models.K8sNames(objects, containers), self._settings(containers)

    def _settings(self, containers):
        return {c.name: checks.Settings(c, self.helps, self.problems)
                for c in containers if c.binary is not None}


def check_compose(ctx):
    loaded = ctx.compose()
    if loaded is None:
        return None
    containers, names, settings = loaded
    for c in containers:
        if c.engine:
            checks.check_engine(c, "compose", ctx.problems)
            continue
        if c.binary is None:
            check_registry(c, ctx.problems)
            continue
        checks.check_container(c, settings[c.name], names, "compose", settings, ctx.problems)
    checks.check_wiring([c for c in containers if c.binary], settings, "docker-compose.yml",
                        ctx.problems)
    checks.check_replicas(containers, settings, ctx.problems, names)
    checks.check_compose_stack(ctx.root, ctx.resolved, containers, ctx.stages, ctx.problems)
    return loaded


def check_registry(c, problems):
    ports = checks.listen_ports(c, {})
    if c.health is None or c.health[1] not in ports or c.health[2] != "/v2/":
        problems.add(c.name, f"health check {c.health} is not GET /v2/ on the registry's port "
                             f"{sorted(ports)}")
    for p in c.ports:
        if p not in ports:
            problems.add(c.name, f"publishes container port {p}, the registry listens on {sorted(ports)}")
    if not any(m.kind == "volume" and m.path == "/var/lib/registry" for m in c.mounts):
        problems.add(c.name, "registry storage (/var/lib/registry) is not on a volume")


def check_k8s(ctx):
    containers, names, settings = loaded = ctx.k8s()
    for c in containers:
        if c.binary is not None:
            checks.check_container(c, settings[c.name], names, "k8s", settings, ctx.problems)
    checks.check_wiring(containers, settings, "deploy/k8s", ctx.problems)
    checks.check_k8s_stack(ctx.root, ctx.objects, ctx.kustomization, ctx.files, containers,
                           ctx.version, ctx.problems)
    return loaded


def check_dockerfile(ctx):
    used = set()
    loaded = ctx.compose()
    if loaded is not None:
        for svc in ctx.resolved["services"].values():
            if svc.get("build"):
                used.add(svc["build"].get("target"))
    containers, _, _ = ctx.k8s()
    used |= {c.image.rpartition(":")[0].rsplit("/", 1)[-1] for c in containers}
    checks.check_dockerfile(ctx.root, ctx.bin_dir, ctx.stages, ctx.order, used, ctx.problems)


def check_k8s_ha(ctx):
    """deploy/k8s/ha: the overlay applied to the base, then every k8s check."""
    base, base_k, base_files = models.k8s_objects(ctx.root, ctx.problems)
    rel = "deploy/k8s/ha"
    objects, kustomization, own = models.k8s_overlay(ctx.root, rel, base, ctx.problems)
    containers = models.k8s_containers(objects, ctx.stages, ctx.version, ctx.problems)
    names = models.K8sNames(objects, containers)
    settings = ctx._settings(containers)
    for c in containers:
        if c.binary is not None:
            checks.check_container(c, settings[c.name], names, "k8s", settings, ctx.problems)
    checks.check_wiring(containers, settings, rel, ctx.problems)
    checks.check_k8s_stack(ctx.root, objects, base_k, base_files, containers, ctx.version,
                           ctx.problems)
    if kustomization is not None:
        listed = set(kustomization.get("resources") or [])
        want = {"../"} | (set(own) - {"secret.yaml"})
        if listed != want:
            ctx.problems.add(f"{rel}/kustomization.yaml", f"resources {sorted(listed)}, expected "
                                                          f"{sorted(want)} (secret.yaml stays out)")
        if kustomization.get("namespace") != (base_k or {}).get("namespace"):
            ctx.problems.add(f"{rel}/kustomization.yaml", "namespace differs from the base's")
    counts = {kind: obj["spec"].get("replicas", 1) for (kind, name), obj in objects.items()
              if name in ("blobswarm-tracker", "blobswarm-seeder")}
    if counts.get("Deployment", 1) < 2 or counts.get("StatefulSet", 1) < 2:
        ctx.problems.add(rel, f"replicas {counts}: the tracker and the seeder need 2 or more")
    checks.check_replicas(containers, settings, ctx.problems)
    return objects


def run_stack(ctx, stack):
    loaded = check_compose(ctx) if stack == "compose" else check_k8s(ctx)
    if ctx.problems or loaded is None:
        ctx.problems.add(f"run-{stack}", "not started: the static checks above fail")
        return
    if ctx.problems.blocked:
        ctx.problems.block(f"run-{stack}", "not started: the tracker would refuse its config")
        return
    if os.geteuid() != 0:
        ctx.problems.add(f"run-{stack}", "needs root (bwrap mounts, setpriv to uid 10001, chown)")
        return
    containers, names, settings = loaded
    # What `docker compose up` starts: services without a profile ("ha" has
    # its own static checks; its engines are not run here).
    containers = [c for c in containers if not c.profiles]
    # The services run as uid 10001 and must reach their files and binaries
    # wherever the checkout is (under /root, mode 0700, they could not): the
    # run's directory is made where anyone may traverse, and the binaries
    # are copied into it.
    work = tempfile.mkdtemp(prefix=f"blobswarm-run-{stack}-", dir=runner.traversable_temp_dir())
    os.chmod(work, 0o755)
    try:
        bin_dir = os.path.join(work, "bin")
        os.mkdir(bin_dir)
        for b in BINARIES:
            shutil.copy(os.path.join(ctx.bin_dir, b), bin_dir)
        values = runner.generated_secrets(containers, ctx.root, work)
        r = runner.Runner(stack, containers, names, settings, bin_dir, work, ctx.problems,
                          values, ctx.root)
        r.run()
    finally:
        runner.cleanup(work)


CHECKS = {
    "dockerfile": check_dockerfile,
    "compose": check_compose,
    "k8s": check_k8s,
    "k8s-ha": check_k8s_ha,
    "run-compose": lambda ctx: run_stack(ctx, "compose"),
    "run-k8s": lambda ctx: run_stack(ctx, "k8s"),
}

# (check, file, old text, new text, a problem must contain this). Each break
# must apply to exactly one place in the current files, so a break that no
# longer matches fails the self-test instead of silently testing nothing.
BREAKS = [
    ("compose", "docker-compose.yml", "ports: [\"127.0.0.1:6969:6969\"]", "ports: 6969",
     "`docker-compose config` rejects it"),
    ("compose", "docker-compose.yml", "    - --peer-listen\n    - 0.0.0.0:6882\n    - --data\n"
     "    - /var/lib/blobswarm/mirror\n    - --tracker\n    - http://tracker:6969",
     "    - --peer-listn\n    - 0.0.0.0:6882\n    - --data\n"
     "    - /var/lib/blobswarm/mirror\n    - --tracker\n    - http://tracker:6969",
     "--peer-listn is not in `blobswarm-mirror --help`"),
    ("compose", "deploy/compose/mirror.json", "\"stall_timeout\"", "\"stall_timout\"",
     "key 'stall_timout' is not a blobswarm-mirror setting"),
    ("compose", "docker-compose.yml", "secrets: [admin-token, nodes-passkey]",
     "secrets: [admin-token]", "is on no mounted volume, file or secret"),
    ("compose", "docker-compose.yml", "    - /var/lib/blobswarm/mirror\n    - --tracker\n"
     "    - http://tracker:6969",
     "    - /var/lib/blobswarm/mirror-data\n    - --tracker\n    - http://tracker:6969",
     "is not on a writable volume"),
    ("compose", "deploy/compose/seeder.json", "    \"localhost:5000\": {\"url\": \"http://registry:5000\"},\n",
     "", "differ from seeder's"),
    ("compose", "docker-compose.yml",
     "      test: [\"CMD\", \"curl\", \"-fsS\", \"-o\", \"/dev/null\", \"http://127.0.0.1:6969/healthz\"]",
     "      test: [\"CMD\", \"curl\", \"-fsS\", \"-o\", \"/dev/null\", \"http://127.0.0.1:6968/healthz\"]",
     "health check on port 6968"),
    # The "ha" profile.
    ("compose", "docker-compose.yml", "      default:\n        aliases: [tracker-ha]\n\n  tracker-b:",
     "      default:\n        aliases: [tracker-a]\n\n  tracker-b:",
     "not behind its --public-url http://tracker-ha:6969"),
    ("compose", "docker-compose.yml", "    - --peer-store\n    - redis://redis:6379",
     "    - --peer-store\n    - redis://redis:6380", "redis listens on [6379], not 6380"),
    ("compose", "docker-compose.yml", "      - --public-url\n      - http://seeder-b:8001",
     "      - --public-url\n      - http://seeder-c:8001", "is not in --seeders"),
    ("compose", "docker-compose.yml", "      - postgres-data:/var/lib/postgresql/data",
     "      - postgres-data:/srv/pgdata",
     "PostgreSQL's data (/var/lib/postgresql/data) is not on a writable volume"),
    ("compose", "docker-compose.yml",
     "    - --seeder\n    - http://seeder-a:8001,http://seeder-b:8001",
     "    - --seeder\n    - http://seeder-a:8001", "is not the seeders' list"),
    ("compose", "docker-compose.yml", "    - --seeder\n    - http://seeder:8001",
     "    - --seeder\n    - http://seeder:8002", "seeder listens on [6881, 8001], not 8002"),
    ("compose", "docker-compose.yml", "      - mirror-2-cache:/var/lib/blobswarm/mirror",
     "      - mirror-1-cache:/var/lib/blobswarm/mirror", "each service needs its own data volume"),
    ("compose", "deploy/compose/tracker.json", "/run/secrets/nodes-passkey", "/run/secrets/admin-token",
     "the tracker's 'nodes' passkey from secret admin-token"),
    ("k8s", "deploy/k8s/tracker.yaml",
     "  selector:\n    app.kubernetes.io/name: blobswarm\n    app.kubernetes.io/component: tracker\n  ports:",
     "  selector:\n    app.kubernetes.io/name: blobswarm\n    app.kubernetes.io/component: trackr\n  ports:",
     "selects 0 workloads"),
    ("k8s", "deploy/k8s/mirror.yaml", "          readinessProbe:\n            httpGet:\n"
     "              host: 127.0.0.1\n              path: /healthz\n              port: http",
     "          readinessProbe:\n            httpGet:\n"
     "              host: 127.0.0.1\n              path: /healthz\n              port: metrics",
     "readinessProbe port 'metrics' is not a declared container port"),
    ("k8s", "deploy/k8s/config.yaml", "  mirror.json: |", "  mirror-config.json: |",
     "has no key 'mirror.json'"),
    ("k8s", "deploy/k8s/seeder.yaml", "      targetPort: bittorrent", "      targetPort: bittorent",
     "targets 'bittorent', which no container"),
    ("k8s", "deploy/k8s/mirror.yaml", "            - 127.0.0.1:65001", "            - 127.0.0.1:65011",
     "declares container ports [6882, 65001] but listens on [6882, 65011]"),
    ("k8s", "deploy/k8s/mirror.yaml", "              - key: nodes-passkey", "              - key: node-passkey",
     "has no key 'node-passkey'"),
    ("k8s", "deploy/k8s/tracker.yaml", "              - key: nodes-passkey\n                path: nodes-passkey\n",
     "", "/run/secrets/nodes-passkey: Secret blobswarm-credentials mounted at /run/secrets has no such file"),
    ("k8s", "deploy/k8s/tracker.yaml", "            readOnlyRootFilesystem: true",
     "            readOnlyRootFileSystem: true", "unknown field 'readOnlyRootFileSystem'"),
    ("k8s", "deploy/k8s/seeder.yaml", "            - http://blobswarm-tracker.blobswarm.svc.cluster.local:6969",
     "            - http://blobswarm-trackers.blobswarm.svc.cluster.local:6969", "there is no Service blobswarm-trackers"),
    ("k8s", "deploy/k8s/mirror.yaml", "            sizeLimit: 24Gi", "            sizeLimit: 16Gi",
     "cache_size (20GiB) does not fit emptyDir cache"),
    ("k8s", "deploy/k8s/kustomization.yaml", "  - mirror.yaml\n", "", "resources"),
    ("k8s-ha", "deploy/k8s/ha/seeder.yaml", "  replicas: 2", "  replicas: 1",
     "has 1 replica(s), no pod blobswarm-seeder-1"),
    ("k8s-ha", "deploy/k8s/ha/tracker.yaml", "  replicas: 3", "  replicas: 1",
     "the tracker and the seeder need 2 or more"),
    ("k8s-ha", "deploy/k8s/ha/tracker.yaml",
     "            - redis://blobswarm-redis.blobswarm.svc.cluster.local:6379",
     "            - redis://blobswarm-postgres.blobswarm.svc.cluster.local:5432",
     "runs postgres, not redis"),
    ("k8s-ha", "deploy/k8s/ha/tracker.yaml", "                  key: postgres-password",
     "                  key: postgres-pasword", "has no key 'postgres-pasword'"),
    ("k8s-ha", "deploy/k8s/ha/kustomization.yaml", "  - redis.yaml\n", "", "resources"),
    ("k8s-ha", "deploy/k8s/ha/postgres.yaml", "              mountPath: /var/lib/postgresql/data",
     "              mountPath: /srv/pgdata", "is not on a writable volume"),
    ("dockerfile", "deploy/docker/Dockerfile", "USER 10001:10001", "USER root", "not the non-root"),
    ("dockerfile", "deploy/docker/Dockerfile", "libtorrent-rasterbar2.0 libcurl4", "libcurl4",
     "from libtorrent-rasterbar2.0, which the image does not install"),
    ("dockerfile", "deploy/docker/Dockerfile", "COPY mirror/ mirror/\n", "",
     "does not copy mirror/"),
    ("dockerfile", "deploy/docker/Dockerfile", "FROM debian:bookworm AS runtime",
     "FROM ubuntu:22.04 AS runtime", "not debian:bookworm"),
    ("dockerfile", "deploy/docker/Dockerfile",
     "COPY --from=build /build/bin/blobswarm-seeder /usr/local/bin/blobswarm-seeder\n", "",
     "target seeder does not COPY"),
    # Found only by running: a value of the wrong type, and a config that
    # makes the tracker refuse to start.
    ("run-compose", "deploy/compose/mirror.json", "\"stall_timeout\": \"5s\"", "\"stall_timeout\": \"soon\"",
     "exited with"),
]

SELFTEST_FILES = ["docker-compose.yml", "CMakeLists.txt", "deploy", "scripts/install-deps"]


def selftest(ctx):
    failures = skipped = 0
    for i, (check, rel, old, new, expect) in enumerate(BREAKS):
        copy = tempfile.mkdtemp(prefix="selftest-", dir=ctx.work)
        try:
            for f in SELFTEST_FILES:
                src, dst = os.path.join(ctx.root, f), os.path.join(copy, f)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                if os.path.isdir(src):
                    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("secrets"))
                else:
                    shutil.copy2(src, dst)
            path = os.path.join(copy, rel)
            text = open(path, encoding="utf-8").read()
            if text.count(old) != 1:
                ctx.problems.add(f"selftest break {i}", f"{old!r} occurs {text.count(old)} times in "
                                                        f"{rel} (update the break)")
                continue
            open(path, "w", encoding="utf-8").write(text.replace(old, new))
            found = Problems()
            sub = Context(copy, ctx.bin_dir, copy, found)
            CHECKS[check](sub)
            hit = [p for p in found.items if expect in p]
            if not hit and check.startswith("run-") and found.blocked and not found.items:
                print(f"selftest: {check:11} {rel}: SKIPPED (blocked: {found.blocked[0]})")
                skipped += 1
                ctx.problems.block(f"selftest break {i} ({check}, {rel})", found.blocked[0])
                continue
            status = "caught" if hit else "MISSED"
            print(f"selftest: {check:11} {rel}: {status}: {expect}")
            if not hit:
                failures += 1
                ctx.problems.add(f"selftest break {i} ({check}, {rel})",
                                 f"no problem mentions {expect!r}; got: {found.items[:5]}")
        finally:
            shutil.rmtree(copy, ignore_errors=True)
    print(f"selftest: {len(BREAKS) - failures - skipped} of {len(BREAKS)} breaks caught"
          + (f", {skipped} skipped" if skipped else ""))


CHECKS["selftest"] = selftest


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", required=True, help="repository root")
    ap.add_argument("--bin", required=True, help="directory with the built binaries")
    ap.add_argument("--work", required=True,
                    help="scratch directory (the run-* checks run in the system's temp directory)")
    ap.add_argument("check", choices=sorted(CHECKS))
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    problems = Problems()
    ctx = Context(os.path.abspath(a.root), os.path.abspath(a.bin), os.path.abspath(a.work), problems)
    CHECKS[a.check](ctx)
    for p in problems.blocked:
        print(f"BLOCKED {p}")
    if problems:
        for p in problems.items:
            print(f"FAIL {p}")
        print(f"{a.check}: {len(problems.items)} problem(s)")
        return 1
    if problems.blocked:
        # ctest shows this as skipped (SKIP_RETURN_CODE): everything else
        # holds, but the deployment cannot work until the blocker is fixed.
        print(f"{a.check}: blocked, everything else ok")
        return SKIP
    print(f"{a.check}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
