"""models: docker-compose.yml and deploy/k8s/ turned into deploylib.Container
lists, plus the name resolution each of them does (compose service names;
Kubernetes Service DNS names -> Service -> targetPort -> container).
Problems found while resolving references (a ConfigMap key that does not
exist, a volume that is not declared) are reported, not raised.
"""

import base64
import copy
import os
import shlex
import subprocess

import yaml

from deploylib import (Container, Mount, engine_of, expand_env, load_yaml_docs, parse_duration,
                       parse_quantity, split_host_port, stage_attr)

# Values the downward API gives a pod; the runner replaces POD_IP with the
# loopback address it runs everything on.
POD_IP = "10.244.7.9"
NODE_IP = "192.168.7.9"


def read_files(path):
    """A bind-mount source: {"": bytes} for a file, {relpath: bytes} for a directory."""
    if os.path.isfile(path):
        return {"": open(path, "rb").read()}
    files = {}
    for dirpath, _, names in os.walk(path):
        for n in names:
            full = os.path.join(dirpath, n)
            files[os.path.relpath(full, path)] = open(full, "rb").read()
    return files


# --- compose ------------------------------------------------------------------

def compose_resolved(root, problems):
    """`docker-compose config` of the stack: the file as Compose itself reads it
    (anchors merged, variables at their defaults, paths absolute)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLOBSWARM_", "COMPOSE_"))}
    try:
        out = subprocess.run(["docker-compose", "-f", os.path.join(root, "docker-compose.yml"),
                              "config"], capture_output=True, text=True, cwd=root, env=env,
                             timeout=120)
    except FileNotFoundError:
        problems.add("docker-compose.yml", "docker-compose is not installed (scripts/install-deps)")
        return None
    if out.returncode != 0:
        problems.add("docker-compose.yml", f"`docker-compose config` rejects it: {out.stderr.strip()}")
        return None
    return yaml.safe_load(out.stdout)


def _compose_volume(spec):
    """(source, target, read_only, kind) of a compose volume entry."""
    if isinstance(spec, dict):
        return spec.get("source"), spec["target"], bool(spec.get("read_only")), spec.get("type")
    parts = spec.split(":")
    source, target = parts[0], parts[1] if len(parts) > 1 else parts[0]
    mode = parts[2] if len(parts) > 2 else "rw"
    kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
    return source, target, "ro" in mode.split(","), kind


def compose_containers(root, resolved, stages, problems):
    containers = []
    secrets_top = resolved.get("secrets") or {}
    volumes_top = resolved.get("volumes") or {}
    dockerfile = os.path.join(root, "deploy", "docker", "Dockerfile")
    for name, svc in (resolved.get("services") or {}).items():
        where = f"docker-compose.yml: service {name}"
        binary, run_as = None, None
        build = svc.get("build")
        if build:
            path = os.path.normpath(os.path.join(build.get("context", root),
                                                 build.get("dockerfile", "Dockerfile")))
            if path != os.path.normpath(dockerfile):
                problems.add(where, f"builds {path}, not deploy/docker/Dockerfile")
            target = build.get("target")
            if target not in stages:
                problems.add(where, f"build target {target!r} is not a stage of the Dockerfile")
            else:
                entry = stage_attr(stages, target, "entrypoint")
                binary = os.path.basename(entry[0]) if entry else None
                user = stage_attr(stages, target, "user")
                run_as = int(user.split(":")[0]) if user and user.split(":")[0].isdigit() else None
        elif not str(svc.get("image", "")).startswith("registry:") and \
                not engine_of(svc.get("image", "")):
            problems.add(where, "neither built from deploy/docker/Dockerfile nor the registry, "
                               "postgres or redis image")
        command = svc.get("command") or []
        args = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
        c = Container(name=name, workload=name, binary=binary, image=str(svc.get("image", "")),
                      args=args, run_as=run_as)
        c.engine = None if binary else engine_of(c.image)
        c.profiles = list(svc.get("profiles") or [])
        for net in (svc.get("networks") or {}).values():
            c.aliases += list((net or {}).get("aliases") or [])
        for spec in svc.get("volumes") or []:
            source, target, ro, kind = _compose_volume(spec)
            if kind == "volume":
                if source not in volumes_top:
                    problems.add(where, f"volume {source!r} is not declared under volumes:")
                c.mounts.append(Mount(target, "volume", f"volume {source}", writable=not ro))
            else:
                src = os.path.join(root, source) if not source.startswith("/") else source
                if not os.path.exists(src):
                    problems.add(where, f"bind mount source {source} does not exist")
                    continue
                files = read_files(src)
                c.mounts.append(Mount(target, "file" if "" in files else "dir",
                                      os.path.relpath(src, root), files=files, writable=not ro))
        for spec in svc.get("secrets") or []:
            source = spec if isinstance(spec, str) else spec["source"]
            target = source if isinstance(spec, str) else spec.get("target", source)
            top = secrets_top.get(source)
            if top is None:
                problems.add(where, f"secret {source!r} is not declared under secrets:")
                continue
            path = target if target.startswith("/") else f"/run/secrets/{target}"
            src = top.get("file")
            content = open(src, "rb").read() if src and os.path.isfile(src) else None
            c.mounts.append(Mount(path, "file", f"secret {source}", files={"": content},
                                  mode=0o644))
        for t in svc.get("tmpfs") or []:
            c.mounts.append(Mount(t.split(":")[0], "tmp", "tmpfs", writable=True))
        for p in svc.get("ports") or []:
            text = str(p["target"]) if isinstance(p, dict) else str(p)
            container_port = text.split("/")[0].split(":")[-1]
            c.ports[int(container_port)] = None
        hc = svc.get("healthcheck")
        if hc and not hc.get("disable"):
            test = hc.get("test") or []
            urls = [t for t in test if isinstance(t, str) and t.startswith("http")]
            if c.engine and test[:1] == ["CMD"] and len(test) > 1 and not urls:
                c.health = ("command", test[1:])  # pg_isready, redis-cli ping
            elif test[:1] != ["CMD"] or len(urls) != 1:
                problems.add(where, f"healthcheck {test} is not [\"CMD\", <tool>, ..., <url>]")
            else:
                from deploylib import URL_RE
                m = URL_RE.match(urls[0])
                c.health = (m.group(2), int(m.group(3) or 80), m.group(4) or "/")
                c.health_tool = test[1]
        else:
            problems.add(where, "no healthcheck")
        c.grace = parse_duration(svc.get("stop_grace_period", "10s"))
        deps = svc.get("depends_on") or []
        c.depends_on = list(deps.keys()) if isinstance(deps, dict) else list(deps)
        containers.append(c)
    return containers


class ComposeNames:
    """Service names on the compose network, and network aliases (several
    services under one name: Docker's DNS answers with all of them)."""

    def __init__(self, containers):
        self.by_name = {c.name: [c] for c in containers}
        names = set(self.by_name)
        for c in containers:
            for a in c.aliases:
                if a not in names:  # a service's own name wins
                    self.by_name.setdefault(a, []).append(c)

    def knows(self, host):
        return host in self.by_name

    def resolve(self, host, port, listen_ports):
        """(container, container port) for a URL's host and port, or an error string.
        Every service behind an alias must listen there."""
        group = self.by_name.get(host)
        if not group:
            return None, f"host {host!r} is not a compose service"
        for c in group:
            ports = listen_ports(c)
            if port not in ports:
                who = host if c.name == host else f"{host} ({c.name})"
                return None, f"{who} listens on {sorted(ports)}, not {port}"
        return (group[0], port), None


# --- Kubernetes -----------------------------------------------------------------

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def k8s_objects(root, problems):
    """{(kind, name): object} from every manifest in deploy/k8s, and the kustomization."""
    kdir = os.path.join(root, "deploy", "k8s")
    objects, kustomization, files = {}, None, {}
    for fname in sorted(os.listdir(kdir)):
        if not fname.endswith((".yaml", ".yml")):
            continue
        path = os.path.join(kdir, fname)
        try:
            docs = load_yaml_docs(path)
        except yaml.YAMLError as e:
            problems.add(f"deploy/k8s/{fname}", f"does not parse: {e}")
            continue
        for d in docs:
            if not isinstance(d, dict) or "kind" not in d:
                problems.add(f"deploy/k8s/{fname}", "a document without kind")
                continue
            if d["kind"] == "Kustomization":
                kustomization = d
                continue
            name = (d.get("metadata") or {}).get("name")
            key = (d["kind"], name)
            if key in objects:
                problems.add(f"deploy/k8s/{fname}", f"{d['kind']} {name} is defined twice")
            objects[key] = d
            files.setdefault(fname, []).append(key)
    return objects, kustomization, files


# Strategic merge patch keys of the lists patched here (as the Kubernetes
# API defines them): items with the same key merge, others are appended.
PATCH_MERGE_KEYS = {"containers": "name", "initContainers": "name", "volumes": "name",
                    "env": "name", "volumeMounts": "mountPath", "ports": "containerPort"}


def strategic_merge(base, patch):
    """`patch` applied to `base` the way kustomize applies a strategic merge
    patch: dictionaries merge, lists with a merge key merge by it
    (`$patch: delete` removes an item), other lists and scalars are replaced."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return patch
    out = dict(base)
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            out.pop(key, None)
        elif isinstance(value, list) and key in PATCH_MERGE_KEYS and isinstance(out.get(key), list):
            mk = PATCH_MERGE_KEYS[key]
            merged = list(out[key])
            for item in value:
                at = next((i for i, b in enumerate(merged)
                           if isinstance(item, dict) and isinstance(b, dict) and
                           b.get(mk) == item.get(mk)), None)
                if isinstance(item, dict) and item.get("$patch") == "delete":
                    if at is not None:
                        merged.pop(at)
                elif at is not None:
                    merged[at] = strategic_merge(merged[at], item)
                else:
                    merged.append(item)
            out[key] = merged
        else:
            out[key] = strategic_merge(out.get(key), value)
    return out


def k8s_overlay(root, rel, base, problems):
    """The objects of the kustomize overlay in `rel` (resources: "../" and its
    own manifests; patches: strategic merge documents) over the base objects:
    ({(kind, name): object}, its kustomization, {file: [keys]} of its own manifests)."""
    odir = os.path.join(root, rel)
    objects = {k: copy.deepcopy(v) for k, v in base.items()}
    kustomization, own, patches = None, {}, {}
    docs_of = {}
    for fname in sorted(os.listdir(odir)):
        if not fname.endswith((".yaml", ".yml")):
            continue
        try:
            docs_of[fname] = load_yaml_docs(os.path.join(odir, fname))
        except yaml.YAMLError as e:
            problems.add(f"{rel}/{fname}", f"does not parse: {e}")
    for d in docs_of.get("kustomization.yaml", []):
        kustomization = d
    if kustomization is None:
        problems.add(rel, "no kustomization.yaml")
        return objects, None, own
    patch_files = [p.get("path") for p in kustomization.get("patches") or []]
    for fname, docs in docs_of.items():
        if fname == "kustomization.yaml":
            continue
        for d in docs:
            if not isinstance(d, dict) or "kind" not in d:
                problems.add(f"{rel}/{fname}", "a document without kind")
                continue
            key = (d["kind"], (d.get("metadata") or {}).get("name"))
            if fname in patch_files:
                patches.setdefault(fname, []).append((key, d))
            else:
                if key in objects:
                    problems.add(f"{rel}/{fname}", f"{key[0]} {key[1]} is also defined by the base")
                objects[key] = d
                own.setdefault(fname, []).append(key)
    for fname in patch_files:
        if fname not in docs_of:
            problems.add(f"{rel}/kustomization.yaml", f"patch {fname} does not exist")
    for fname in patch_files:
        for key, d in patches.get(fname, []):
            if key not in objects:
                problems.add(f"{rel}/{fname}", f"patches {key[0]} {key[1]}, which does not exist")
                continue
            if d.get("$patch") == "delete":
                del objects[key]
                continue
            objects[key] = strategic_merge(objects[key], d)
    return objects, kustomization, own


def _config_data(obj):
    if obj["kind"] == "Secret":
        data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
        data.update({k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()})
        return data
    return {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}


def k8s_containers(objects, stages, version, problems):
    containers = []
    for (kind, wname), obj in objects.items():
        if kind not in WORKLOAD_KINDS:
            continue
        spec = obj.get("spec") or {}
        pod = (spec.get("template") or {}).get("spec") or {}
        ns = obj["metadata"].get("namespace", "default")
        where = f"{kind} {wname}"
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        claims = {t["metadata"]["name"]: t for t in spec.get("volumeClaimTemplates") or []}
        pod_sc = pod.get("securityContext") or {}
        fs_group = pod_sc.get("fsGroup", 0)
        used = set()
        for cspec in pod.get("containers") or []:
            cname = cspec["name"]
            cwhere = f"{where} container {cname}"
            image = cspec.get("image", "")
            repo, _, tag = image.rpartition(":")
            target = repo.rsplit("/", 1)[-1]
            binary = None
            engine = engine_of(image)
            if engine:
                pass  # an official engine image (checks.check_engine)
            elif not repo.startswith("blobswarm/") or target not in stages:
                problems.add(cwhere, f"image {image} is not blobswarm/<Dockerfile target>:<tag>")
            else:
                entry = stage_attr(stages, target, "entrypoint")
                binary = os.path.basename(entry[0]) if entry else None
                if tag != version:
                    problems.add(cwhere, f"image tag {tag} is not the project version {version}")
            if cspec.get("command"):
                problems.add(cwhere, "overrides the image's entry point (command:); use args:")
            env = {}
            for e in cspec.get("env") or []:
                if "value" in e:
                    env[e["name"]] = expand_env(str(e["value"]), env)
                    continue
                secret = (e.get("valueFrom") or {}).get("secretKeyRef")
                if secret is not None:
                    obj = objects.get(("Secret", secret.get("name")))
                    if obj is None or secret.get("key") not in _config_data(obj):
                        problems.add(cwhere, f"env {e['name']}: Secret {secret.get('name')} has no "
                                             f"key {secret.get('key')!r}")
                    env[e["name"]] = f"<Secret {secret.get('name')} key {secret.get('key')}>"
                    continue
                ref = (e.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
                values = {"metadata.name": f"{wname}-0" if kind == "StatefulSet" else f"{wname}-x1",
                          "metadata.namespace": ns, "status.podIP": POD_IP,
                          "status.hostIP": NODE_IP, "spec.nodeName": "node-1"}
                if ref not in values:
                    problems.add(cwhere, f"env {e['name']}: unsupported valueFrom {e.get('valueFrom')}")
                    continue
                env[e["name"]] = NODE_IP if ref == "status.podIP" and pod.get("hostNetwork") \
                    else values[ref]
            args = [expand_env(str(a), env) for a in cspec.get("args") or []]
            for a in args:
                if "$(" in a:
                    problems.add(cwhere, f"argument {a!r} uses a variable that env does not define")
            sc = cspec.get("securityContext") or {}
            run_as = sc.get("runAsUser", pod_sc.get("runAsUser"))
            c = Container(name=f"{wname}/{cname}", workload=wname, binary=binary, image=image,
                          args=args, env=env, run_as=run_as, host_network=bool(pod.get("hostNetwork")))
            c.engine = engine
            c.kind = kind
            c.namespace = ns
            c.pod = pod
            c.spec = cspec
            c.replicas = spec.get("replicas", 1)
            c.grace = float(pod.get("terminationGracePeriodSeconds", 30))
            limits = (cspec.get("resources") or {}).get("limits") or {}
            if "memory" in limits:
                c.memory_limit = parse_quantity(limits["memory"])
            for p in cspec.get("ports") or []:
                c.ports[int(p["containerPort"])] = p.get("name")
            probe = cspec.get("readinessProbe") or cspec.get("livenessProbe")
            if probe and "httpGet" in probe:
                g = probe["httpGet"]
                c.health = (g.get("host"), g.get("port"), g.get("path", "/"))
            elif probe and "exec" in probe and engine:
                c.health = ("command", probe["exec"].get("command") or [])
            for vm in cspec.get("volumeMounts") or []:
                used.add(vm["name"])
                m = _k8s_mount(vm, volumes, claims, objects, ns, fs_group, cwhere, problems)
                if m:
                    c.mounts.append(m)
            containers.append(c)
        for vname in volumes:
            if vname not in used:
                problems.add(where, f"volume {vname} is mounted by no container")
    return containers


def _k8s_mount(vm, volumes, claims, objects, ns, fs_group, where, problems):
    name, path = vm["name"], vm["mountPath"]
    ro = bool(vm.get("readOnly"))
    if name in claims:
        size = claims[name]["spec"]["resources"]["requests"]["storage"]
        return Mount(path, "volume", f"volumeClaimTemplate {name}", writable=not ro,
                     size_limit=parse_quantity(size))
    v = volumes.get(name)
    if v is None:
        problems.add(where, f"volumeMount {name} names no volume of the pod")
        return None
    if "persistentVolumeClaim" in v:
        claim = v["persistentVolumeClaim"]["claimName"]
        pvc = objects.get(("PersistentVolumeClaim", claim))
        if pvc is None:
            problems.add(where, f"PersistentVolumeClaim {claim} does not exist")
            return None
        if pvc["metadata"].get("namespace") != ns:
            problems.add(where, f"PersistentVolumeClaim {claim} is in another namespace")
        size = pvc["spec"]["resources"]["requests"]["storage"]
        return Mount(path, "volume", f"PersistentVolumeClaim {claim}", writable=not ro,
                     size_limit=parse_quantity(size))
    if "emptyDir" in v:
        limit = (v["emptyDir"] or {}).get("sizeLimit")
        return Mount(path, "tmp" if path == "/tmp" else "volume", f"emptyDir {name}",
                     writable=not ro, size_limit=parse_quantity(limit) if limit else None)
    if "hostPath" in v:
        return Mount(path, "volume", f"hostPath {v['hostPath']['path']}", writable=not ro)
    for kind, key, field_name in (("ConfigMap", "configMap", "name"),
                                  ("Secret", "secret", "secretName")):
        if key not in v:
            continue
        src = v[key]
        oname = src[field_name]
        obj = objects.get((kind, oname))
        if obj is None:
            problems.add(where, f"{kind} {oname} (volume {name}) does not exist")
            return None
        if obj["metadata"].get("namespace") != ns:
            problems.add(where, f"{kind} {oname} is in another namespace")
        data = _config_data(obj)
        mode = src.get("defaultMode", 0o644)
        files, origins = {}, {}
        items = src.get("items")
        for item in items if items is not None else [{"key": k, "path": k} for k in data]:
            if item["key"] not in data:
                problems.add(where, f"{kind} {oname} has no key {item['key']!r}")
                continue
            files[item["path"]] = data[item["key"]]
            origins[item["path"]] = f"{kind} {oname} key {item['key']}"
        sub = vm.get("subPath")
        if sub is not None:
            if sub not in files:
                problems.add(where, f"subPath {sub!r}: {kind} {oname} volume has no such file")
                return None
            return Mount(path, "file", origins[sub], files={"": files[sub]}, mode=mode,
                         group=fs_group)
        return Mount(path, "dir", f"{kind} {oname}", files=files, mode=mode, group=fs_group,
                     origins=origins)
    problems.add(where, f"volume {name}: unsupported volume type {sorted(v)}")
    return None


class K8sNames:
    """Service DNS names: svc, svc.ns, svc.ns.svc, svc.ns.svc.cluster.local;
    and a StatefulSet pod's name on its headless Service: pod.svc[...]."""

    def __init__(self, objects, containers):
        self.objects = objects
        self.containers = containers

    def knows(self, host):
        return ("Service", host.split(".")[0]) in self.objects or \
            host.endswith((".svc", ".svc.cluster.local")) or any(self.pod_of(host))

    def workload_of(self, service):
        sel = (service.get("spec") or {}).get("selector") or {}
        if not sel:
            return []
        out = []
        for c in self.containers:
            labels = c.pod_labels if hasattr(c, "pod_labels") else None
            if labels is None:
                obj = next(o for (k, n), o in self.objects.items()
                           if k == c.kind and n == c.workload)
                labels = ((obj["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
            if all(labels.get(k) == v for k, v in sel.items()):
                out.append(c)
        return out

    def target_port(self, containers, target):
        """The container and container port a Service's targetPort names."""
        for c in containers:
            for port, pname in c.ports.items():
                if target == port or (isinstance(target, str) and target == pname):
                    return c, port
        return None

    def pod_of(self, host):
        """(StatefulSet, error) when host is <sts>-<n>.<its headless Service>[...]."""
        parts = host.split(".")
        if len(parts) < 2 or ("Service", parts[1]) not in self.objects:
            return None, None
        for (kind, name), obj in self.objects.items():
            spec = obj.get("spec") or {}
            if kind != "StatefulSet" or spec.get("serviceName") != parts[1]:
                continue
            prefix, _, index = parts[0].rpartition("-")
            if prefix != name or not index.isdigit():
                continue
            if int(index) >= spec.get("replicas", 1):
                return None, f"host {host!r}: StatefulSet {name} has {spec.get('replicas', 1)} " \
                             f"replica(s), no pod {parts[0]}"
            return name, None
        return None, None

    def resolve(self, host, port, listen_ports):
        sts, err = self.pod_of(host)
        if err:
            return None, err
        if sts is not None:
            for c in self.containers:
                if c.workload == sts and port in listen_ports(c):
                    return (c, port), None
            return None, f"host {host!r}: no container of {sts} listens on {port}"
        parts = host.split(".")
        svc_name = parts[0]
        ns = parts[1] if len(parts) > 1 else None
        if len(parts) > 2 and parts[2:] not in (["svc"], ["svc", "cluster", "local"]):
            return None, f"host {host!r} is not a cluster Service name"
        svc = self.objects.get(("Service", svc_name))
        if svc is None:
            return None, f"host {host!r}: there is no Service {svc_name}"
        if ns is not None and svc["metadata"].get("namespace") != ns:
            return None, f"host {host!r}: Service {svc_name} is in namespace " \
                         f"{svc['metadata'].get('namespace')}"
        for p in svc["spec"].get("ports") or []:
            if p["port"] == port:
                target = p.get("targetPort", p["port"])
                found = self.target_port(self.workload_of(svc), target)
                if found is None:
                    return None, f"Service {svc_name} port {port}: no container declares {target}"
                c, cport = found
                if cport not in listen_ports(c):
                    return None, f"Service {svc_name} port {port} -> {c.name}:{cport}, " \
                                 f"which does not listen there ({sorted(listen_ports(c))})"
                return found, None
        return None, f"Service {svc_name} has no port {port}"
