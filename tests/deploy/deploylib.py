"""deploylib: reading blobswarm's deployment files and binaries for the
deployment checks (tests/deploy/check_deploy.py).

Everything here is parsing and resolving: the binaries' --help (flags,
JSON keys, defaults), unit values (blobswarm sizes and durations, Kubernetes
quantities), argument lists, the Dockerfile's stages, and one model of "a
container to run" that both the compose file and the Kubernetes manifests
are turned into, so that the same checks and the same runner serve both.
"""

import json
import os
import re
import subprocess
from dataclasses import dataclass, field

import yaml

BLOBSWARM_UID = 10001


class Problems:
    """Collects check failures; a check never stops at the first one."""

    def __init__(self):
        self.items = []
        self.blocked = []   # what cannot pass until another component catches up

    def add(self, where, message):
        self.items.append(f"{where}: {message}")

    def block(self, where, message):
        self.blocked.append(f"{where}: {message}")

    def __bool__(self):
        return bool(self.items)


# --- values -----------------------------------------------------------------

_SIZE_UNITS = {
    "": 1, "B": 1,
    "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40,
    "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40,
    "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
}


def parse_size(value):
    """A blobswarm size ("20GiB", "512MB", "4M", 1048576) in bytes."""
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(value))
    if not m or m.group(2).upper() not in _SIZE_UNITS:
        raise ValueError(f"not a size: {value!r}")
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).upper()])


_QUANTITY = {"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
             "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def parse_quantity(value):
    """A Kubernetes memory/storage quantity ("24Gi", "1G", 1024) in bytes."""
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([A-Za-z]*)", str(value))
    if not m or m.group(2) not in _QUANTITY:
        raise ValueError(f"not a quantity: {value!r}")
    return int(float(m.group(1)) * _QUANTITY[m.group(2)])


def parse_duration(value):
    """A blobswarm or compose duration ("10s", "1m30s", "250ms", 45) in seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    total, pos = 0.0, 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", text):
        if m.start() != pos:
            raise ValueError(f"not a duration: {value!r}")
        n = float(m.group(1))
        total += n * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"not a duration: {value!r}")
    return total


def split_host_port(value):
    """"0.0.0.0:6969" -> ("0.0.0.0", 6969); "[::]:80" -> ("::", 80)."""
    m = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]*):(\d+)", value)
    if not m:
        raise ValueError(f"not host:port: {value!r}")
    if m.group(1) is not None:
        return m.group(1), int(m.group(2))
    return m.group(3), int(m.group(4))


URL_RE = re.compile(r"^(https?)://([^/:?#]+)(?::(\d+))?(.*)$")


def strings_in(value):
    """Every string inside a JSON value, with its key path."""
    if isinstance(value, str):
        yield "", value
    elif isinstance(value, dict):
        for k, v in value.items():
            for path, s in strings_in(v):
                yield f".{k}{path}", s
    elif isinstance(value, list):
        for i, v in enumerate(value):
            for path, s in strings_in(v):
                yield f"[{i}]{path}", s


def map_strings(value, fn):
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    return value


# --- binaries ---------------------------------------------------------------

@dataclass
class Option:
    flag: str            # "--peer-listen"
    key: str             # "peer_listen"
    takes_value: bool
    default: str | None  # as --help shows it


@dataclass
class BinaryHelp:
    name: str
    options: dict        # flag -> Option (both --x and --no-x for booleans)
    json_only: set       # JSON-only configuration keys

    def keys(self):
        return {o.key for o in self.options.values()} | self.json_only

    def default(self, key):
        for o in self.options.values():
            if o.key == key:
                return o.default
        return None


_OPTION_LINE = re.compile(r"^\s{2}(?:-\w,)?(--[a-z0-9][a-z0-9-]*)((?:,--[a-z0-9-]+)*)(\{\w+\})?"
                          r"(?:\s+([A-Z]+)(?:=(\S*))?)?")


_HELP_CACHE = {}


def read_help(bin_dir, name):
    path = os.path.join(bin_dir, name)
    if path not in _HELP_CACHE:
        _HELP_CACHE[path] = _read_help(path, name)
    return _HELP_CACHE[path]


def _read_help(path, name):
    out = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(f"{path} --help exited {out.returncode}: {out.stderr.strip()}")
    options, json_only, in_json = {}, set(), False
    for line in out.stdout.splitlines():
        if line.startswith("Configuration-file keys"):
            in_json = True
            continue
        if in_json:
            m = re.match(r"^\s{2}([a-z][a-z0-9_]*)\s", line)
            if m:
                json_only.add(m.group(1))
                continue
            if line and not line.startswith(" "):
                in_json = False
            continue
        m = _OPTION_LINE.match(line)
        if not m:
            continue
        flag, more, braces, type_name, default = m.groups()
        if flag in ("--help", "--version"):
            continue
        key = flag[2:].replace("-", "_")
        negations = [f for f in more.split(",") if f]
        # CLI11 shows a boolean flag as --x,--no-x{false} and no type.
        is_bool = bool(negations) or (braces is not None and type_name is None)
        opt = Option(flag, key, not is_bool, default)
        options[flag] = opt
        for neg in negations:
            options[neg] = Option(neg, key, False, default)
    if not options:
        raise RuntimeError(f"{path} --help lists no options")
    return BinaryHelp(name, options, json_only)


def parse_args(argv, help_):
    """[(flag, value)] from an argument list; ValueError names what is wrong."""
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--"):
            raise ValueError(f"unexpected argument {a!r} (not a --flag)")
        flag, _, inline = a.partition("=")
        opt = help_.options.get(flag)
        if opt is None:
            raise ValueError(f"{flag} is not in `{help_.name} --help`")
        if opt.takes_value:
            if "=" in a:
                value = inline
            else:
                if i + 1 >= len(argv):
                    raise ValueError(f"{flag} needs a value")
                i += 1
                value = argv[i]
            out.append((flag, value))
        else:
            if "=" in a:
                raise ValueError(f"{flag} is a switch and takes no value")
            out.append((flag, None))
        i += 1
    return out


def effective(key, args, config, help_):
    """A setting's value: the flag if given, else the JSON config, else --help's default."""
    for flag, value in args:
        opt = help_.options[flag]
        if opt.key == key:
            return value
    if config is not None and key in config:
        return config[key]
    return help_.default(key)


# --- Dockerfile -------------------------------------------------------------

@dataclass
class Stage:
    name: str
    base: str
    user: str | None = None
    entrypoint: list | None = None
    copies: list = field(default_factory=list)   # (from_stage or None, [src...], dst)
    runs: list = field(default_factory=list)
    exposes: list = field(default_factory=list)


def parse_dockerfile(path):
    text = open(path, encoding="utf-8").read()
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            if stripped.startswith("# syntax=") or stripped.startswith("#syntax="):
                lines.append(("SYNTAX", stripped))
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        lines.append((word.upper(), rest.strip()))
        current = ""
    stages, order = {}, []
    stage = None
    for word, rest in lines:
        if word == "SYNTAX":
            raise ValueError(f"{path}: a '# syntax=' line makes BuildKit download a frontend image")
        if word == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.IGNORECASE)
            if not m:
                raise ValueError(f"{path}: cannot read FROM {rest}")
            stage = Stage(m.group(2) or f"stage{len(order)}", m.group(1))
            stages[stage.name] = stage
            order.append(stage.name)
            continue
        if stage is None:
            if word == "ARG":
                continue
            raise ValueError(f"{path}: {word} before the first FROM")
        if word == "USER":
            stage.user = rest
        elif word == "ENTRYPOINT":
            stage.entrypoint = json.loads(rest) if rest.startswith("[") else ["/bin/sh", "-c", rest]
        elif word in ("COPY", "ADD"):
            parts = rest.split()
            src_stage = None
            while parts and parts[0].startswith("--"):
                opt = parts.pop(0)
                if opt.startswith("--from="):
                    src_stage = opt.split("=", 1)[1]
            stage.copies.append((word, src_stage, parts[:-1], parts[-1]))
        elif word == "RUN":
            stage.runs.append(rest)
        elif word == "EXPOSE":
            stage.exposes += [int(p.split("/")[0]) for p in rest.split()]
    return stages, order


def stage_chain(stages, name):
    """The stage and the stages it builds on, nearest first."""
    chain = []
    while name in stages:
        chain.append(stages[name])
        name = stages[name].base
    return chain


def stage_attr(stages, name, attr):
    for s in stage_chain(stages, name):
        v = getattr(s, attr)
        if v:
            return v
    return None


def project_version(root):
    text = open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8").read()
    m = re.search(r"project\(\s*blobswarm\s+VERSION\s+([0-9.]+)", text)
    if not m:
        raise ValueError("CMakeLists.txt: no project(blobswarm VERSION x.y.z)")
    return m.group(1)


# --- the container model ------------------------------------------------------

@dataclass
class Mount:
    path: str                 # where the container sees it
    kind: str                 # "volume" (writable dir), "file", "dir" (files), "tmp"
    source: str               # human-readable origin (volume name, file, ConfigMap)
    files: dict = field(default_factory=dict)   # relative path ("" for kind file) -> bytes
    mode: int = 0o644
    group: int = 0            # owner group of secret/config files
    writable: bool = False
    size_limit: int | None = None
    origins: dict = field(default_factory=dict)  # relative path -> where it comes from


@dataclass
class Container:
    name: str                 # compose service or "<workload>/<container>"
    workload: str             # compose service / workload name
    binary: str | None        # blobswarm binary, or None for the registry
    image: str
    args: list
    env: dict = field(default_factory=dict)
    mounts: list = field(default_factory=list)
    ports: dict = field(default_factory=dict)        # container port -> name (or None)
    health: tuple | None = None                      # (host, port or name, path)
    memory_limit: int | None = None
    grace: float | None = None
    host_network: bool = False
    run_as: int | None = None
    depends_on: list = field(default_factory=list)
    engine: str | None = None   # "postgres" or "redis": an engine of the replicated control plane
    aliases: list = field(default_factory=list)      # other names on the compose network
    profiles: list = field(default_factory=list)     # compose profiles (none: always started)

    def mount_for(self, path):
        """The mount that holds `path`, or None (longest prefix wins)."""
        best = None
        for m in self.mounts:
            if path == m.path or path.startswith(m.path.rstrip("/") + "/"):
                if best is None or len(m.path) > len(best.path):
                    best = m
        return best

    def origin_of(self, path):
        """Where the file at `path` comes from ("secret nodes-passkey",
        "Secret blobswarm-credentials key nodes-passkey"), or None."""
        m = self.mount_for(path)
        if m is None:
            return None
        rel = "" if path == m.path else path[len(m.path.rstrip("/")) + 1:]
        return m.origins.get(rel, m.source if rel == "" else None)

    def file_content(self, path):
        m = self.mount_for(path)
        if m is None:
            return None
        rel = "" if path == m.path else path[len(m.path.rstrip("/")) + 1:]
        return m.files.get(rel)


# The engines of the replicated control plane (tracker and seeder replicas),
# run from their official images, and the port each listens on.
ENGINE_PORTS = {"postgres": 5432, "redis": 6379}


def engine_of(image):
    """"postgres" or "redis" for their official images (any tag), else None."""
    name = str(image).rsplit("/", 1)[-1].split(":")[0]
    return name if name in ENGINE_PORTS else None


def expand_env(value, env):
    """Kubernetes $(VAR) expansion; $$ escapes. Unknown variables stay as they are."""
    def repl(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", repl, value)


def load_yaml_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]
