"""blobswarm quickstart: build, then run a whole blobswarm system on this machine.

Starts a Distribution registry holding a freshly generated sample image, the
tracker (with its web UI), a seeder and three mirrors on 127.0.0.2, .3 and
.4 (like three nodes), pulls the image through each mirror with skopeo, and
prints where every node's bytes came from. It then stays up until Ctrl-C
(or exits right away with --exit). Everything it starts is stopped on exit.

    scripts/quickstart                  # build, run, wait for Ctrl-C
    scripts/quickstart --exit           # build, run, print the table, stop
    scripts/quickstart --upstream https://registry-1.docker.io   # against Docker Hub
    scripts/quickstart --exit --check   # and fail unless the swarm did its job

--check (the test suite runs it) fails unless: no node fetched a blob from
the upstream itself, the seeder read at most 1.05 times the image from the
upstream, and the second and later nodes got at least 90% of their blob
bytes from the other nodes.
"""
import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

# scripts/quickstart (bash) installs the dependencies, then runs this file.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "build", "bin")  # --bin-dir overrides
NODES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]


def say(msg):
    print(f"quickstart: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_free(host, port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def pick(host, preferred):
    return preferred if port_free(host, preferred) else free_port(host)


def http(method, url, body=None, headers=None, timeout=10):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def wait_http(url, what, proc, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"quickstart: {what} exited early; see its log")
        try:
            http("GET", url, timeout=1)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise SystemExit(f"quickstart: {what} did not answer {url} within {seconds}s")


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def metric(text, name):
    """The value of an unlabelled sample in a Prometheus text exposition."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == name:
            return float(parts[1])
    raise SystemExit(f"quickstart: no {name} in the metrics")


def check_swarm(rows, image_bytes, seeder_read):
    """What --check demands of a run; returns the problems found."""
    problems = []
    if seeder_read > 1.05 * image_bytes:
        problems.append(f"the seeder read {human(seeder_read)} from the upstream for a "
                        f"{human(image_bytes)} image (more than 1.05x)")
    for name, _, _, t in rows:
        if t["from_upstream"]:
            problems.append(f"{name} fetched {human(t['from_upstream'])} from the upstream itself")
    for name, _, _, t in rows[1:]:
        got = t["from_peers"] + t["from_seeder"] + t["from_upstream"]
        if t["from_peers"] < 0.9 * got:
            problems.append(f"{name} got {human(t['from_peers'])} of {human(got)} from the other "
                            f"nodes (less than 90%)")
    return problems


class System:
    """The processes quickstart starts, stopped in reverse order."""

    def __init__(self, work):
        self.work = work
        self.procs = []  # (name, Popen, logfile)

    def start(self, name, argv):
        log = os.path.join(self.work, "logs", f"{name}.log")
        out = open(log, "ab")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        self.procs.append((name, p, log))
        return p

    def stop(self):
        for name, p, _ in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.time() + 15
        for name, p, _ in reversed(self.procs):
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.procs.clear()


def build_image(work, registry, layers_mb):
    """A sample image with one layer of random bytes per entry, pushed with skopeo."""
    layout = os.path.join(work, "image")
    run(["umoci", "init", "--layout", layout], stdout=subprocess.DEVNULL)
    run(["umoci", "new", "--image", f"{layout}:demo"], stdout=subprocess.DEVNULL)
    for i, mb in enumerate(layers_mb):
        bundle = os.path.join(work, f"bundle{i}")
        run(["umoci", "unpack", "--rootless", "--image", f"{layout}:demo", bundle],
            stdout=subprocess.DEVNULL)
        data = os.path.join(bundle, "rootfs", "data")
        os.makedirs(data, exist_ok=True)
        with open(os.path.join(data, f"layer{i}.bin"), "wb") as f:
            f.write(os.urandom(mb << 20))
        run(["umoci", "repack", "--image", f"{layout}:demo", bundle], stdout=subprocess.DEVNULL)
        shutil.rmtree(bundle)
    run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:demo",
         f"docker://{registry}/demo/app:v1"])
    shutil.rmtree(layout)


def main():
    ap = argparse.ArgumentParser(prog="scripts/quickstart", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exit", action="store_true", help="stop after printing the table (CI uses this)")
    ap.add_argument("--upstream", help="use this registry instead of a local one, e.g. https://registry-1.docker.io")
    ap.add_argument("--image", help="image to pull (default: the generated demo/app:v1; with --upstream: library/alpine:3.19)")
    ap.add_argument("--layers-mb", default="8,16,24", help="sizes of the generated image's layers (default 8,16,24)")
    ap.add_argument("--skip-build", action="store_true",
                    help="use the binaries already built (and install no packages)")
    ap.add_argument("--bin-dir", help="where the binaries are (default: build/bin)")
    ap.add_argument("--keep", action="store_true", help="keep the working directory on exit")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless the swarm did its job (see above); the test suite uses it")
    args = ap.parse_args()
    global BIN
    if args.bin_dir:
        BIN = os.path.abspath(args.bin_dir)

    if not args.skip_build:
        say("building (Release)")
        run(["cmake", "--preset", "release"], cwd=ROOT, stdout=subprocess.DEVNULL)
        run(["cmake", "--build", "--preset", "release", "--target", "blobswarm-tracker",
             "blobswarm-seeder", "blobswarm-mirror", "torrentgen"], cwd=ROOT)

    work = tempfile.mkdtemp(prefix="blobswarm-quickstart-")
    os.makedirs(os.path.join(work, "logs"))
    system = System(work)
    stopping = {"yes": False}

    def on_signal(signum, _frame):
        stopping["yes"] = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    ok = False
    try:
        # --- registry ---------------------------------------------------------
        if args.upstream:
            upstream_url = args.upstream.rstrip("/")
            registry_host = "docker.io" if "docker.io" in upstream_url else upstream_url.split("://", 1)[1]
            image = args.image or "library/alpine:3.19"
        else:
            reg_port = pick("127.0.0.1", 5000)
            registry_host = f"127.0.0.1:{reg_port}"
            upstream_url = f"http://{registry_host}"
            with open(os.path.join(work, "registry.yml"), "w") as f:
                f.write(f"version: 0.1\nlog: {{level: warn}}\n"
                        f"storage: {{filesystem: {{rootdirectory: {work}/registry}}, delete: {{enabled: true}}}}\n"
                        f"http: {{addr: {registry_host}}}\n")
            reg = system.start("registry", ["docker-registry", "serve", os.path.join(work, "registry.yml")])
            wait_http(f"{upstream_url}/v2/", "the registry", reg)
            sizes = [int(x) for x in args.layers_mb.split(",") if x]
            say(f"building a sample image ({'+'.join(map(str, sizes))} MiB in {len(sizes)} layers) and pushing it")
            build_image(work, registry_host, sizes)
            image = args.image or "demo/app:v1"

        # --- tracker ------------------------------------------------------------
        admin_token = secrets.token_hex(16)
        passkey = secrets.token_hex(16)
        seeder_token = secrets.token_hex(16)
        for name, value in (("admin-token", admin_token), ("nodes-passkey", passkey),
                            ("seeder-token", seeder_token)):
            path = os.path.join(work, name)
            with open(path, "w") as f:
                f.write(value + "\n")
            os.chmod(path, 0o600)
        tracker_port = pick("127.0.0.1", 6969)
        tracker_url = f"http://127.0.0.1:{tracker_port}"
        with open(os.path.join(work, "tracker.json"), "w") as f:
            json.dump({"listen": f"127.0.0.1:{tracker_port}", "db": f"{work}/tracker.db",
                       "admin_token_file": f"{work}/admin-token",
                       "users": [{"name": "nodes", "passkey_file": f"{work}/nodes-passkey"}],
                       "access_log": False}, f)
        tracker = system.start("tracker", [f"{BIN}/blobswarm-tracker", "--config", f"{work}/tracker.json"])
        wait_http(f"{tracker_url}/healthz", "the tracker", tracker)
        # A web UI user to sign in with (the admin token works too).
        ui_password = secrets.token_urlsafe(12)
        http("POST", f"{tracker_url}/api/v1/users",
             json.dumps({"name": "demo", "password": ui_password}).encode(),
             {"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"})

        # --- seeder -------------------------------------------------------------
        seeder_port = pick("127.0.0.1", 8001)
        seeder_url = f"http://127.0.0.1:{seeder_port}"
        upstreams = {registry_host: {"url": upstream_url}}
        with open(os.path.join(work, "seeder.json"), "w") as f:
            json.dump({"listen": f"127.0.0.1:{seeder_port}", "data": f"{work}/seeder",
                       "upstream": upstream_url, "upstreams": upstreams,
                       "tracker": tracker_url, "tracker_token_file": f"{work}/admin-token",
                       "api_token_file": f"{work}/seeder-token",
                       "peer_listen": f"127.0.0.1:{pick('127.0.0.1', 6881)}"}, f)
        seeder = system.start("seeder", [f"{BIN}/blobswarm-seeder", "--config", f"{work}/seeder.json"])
        wait_http(f"{seeder_url}/healthz", "the seeder", seeder)

        # --- three mirrors, one per "node" ----------------------------------------
        mirrors = []
        for i, host in enumerate(NODES):
            port = pick(host, 65001)
            cfg = os.path.join(work, f"mirror{i + 1}.json")
            with open(cfg, "w") as f:
                json.dump({"listen": f"{host}:{port}", "data": f"{work}/mirror{i + 1}",
                           "tracker": tracker_url, "seeder": seeder_url,
                           "passkey_file": f"{work}/nodes-passkey",
                           "seeder_token_file": f"{work}/seeder-token",
                           "peer_listen": f"{host}:{pick(host, 6882)}",
                           "upstream": upstream_url, "upstreams": upstreams}, f)
            p = system.start(f"mirror{i + 1}", [f"{BIN}/blobswarm-mirror", "--config", cfg])
            mirrors.append((f"node{i + 1}", f"{host}:{port}", p))
        for name, addr, p in mirrors:
            wait_http(f"http://{addr}/healthz", f"{name}'s mirror", p)

        # --- pull through each node's mirror ---------------------------------------
        rows = []
        for name, addr, _ in mirrors:
            dest = os.path.join(work, "pulled", name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            say(f"{name}: pulling {image} through its mirror {addr}")
            t0 = time.time()
            r = run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{addr}/{image}",
                     f"oci:{dest}:image"], check=False, capture_output=True, text=True)
            seconds = time.time() - t0
            if r.returncode != 0:
                raise SystemExit(f"quickstart: {name}'s pull failed:\n{r.stderr}")
            _, body = http("GET", f"http://{addr}/api/v1/stats")
            totals = json.loads(body)["totals"]
            rows.append((name, addr, seconds, totals))

        # Every node must hold the same image.
        trees = []
        for name, _, _, _ in rows:
            root = os.path.join(work, "pulled", name, "blobs")
            trees.append(sorted(os.listdir(os.path.join(root, "sha256"))))
        if any(t != trees[0] for t in trees):
            raise SystemExit("quickstart: the nodes pulled different images")
        blobs = os.path.join(work, "pulled", rows[0][0], "blobs", "sha256")
        image_bytes = sum(os.path.getsize(os.path.join(blobs, b)) for b in trees[0])
        seeder_read = metric(http("GET", f"{seeder_url}/metrics")[1].decode(),
                             "blobswarm_seeder_upstream_bytes_total")

        print()
        print(f"blobswarm: {image} pulled through three mirrors")
        print(f"{'node':<7} {'mirror':<17} {'pull time':>9} {'from upstream':>14} {'from seeder':>12} {'from peers':>11}")
        for name, addr, seconds, t in rows:
            print(f"{name:<7} {addr:<17} {seconds:>8.1f}s {human(t['from_upstream']):>14} "
                  f"{human(t['from_seeder']):>12} {human(t['from_peers']):>11}")
        print(f"upstream: the seeder read {human(seeder_read)} for a {human(image_bytes)} image "
              f"({seeder_read / image_bytes:.2f}x); the nodes read "
              f"{human(sum(t['from_upstream'] for *_, t in rows))} themselves")
        print()
        print(f"Web UI:    {tracker_url}/   (sign in as demo / {ui_password}, or with the admin token)")
        print(f"Admin token: {admin_token}")
        print(f"Metrics:   {tracker_url}/metrics, http://<mirror>/metrics, {seeder_url}/metrics")
        if args.keep or not args.exit:
            print(f"Logs:      {work}/logs/")
        print(f"Try it:    skopeo inspect --tls-verify=false docker://{rows[0][1]}/{image}")
        if args.upstream:
            print()
            print("To use a mirror from dockerd, in /etc/docker/daemon.json:")
            print(json.dumps({"registry-mirrors": [f"http://{rows[0][1]}"],
                              "insecure-registries": [rows[0][1]]}, indent=2))
        if args.check:
            problems = check_swarm(rows, image_bytes, seeder_read)
            for p in problems:
                say(f"check failed: {p}")
            if problems:
                raise SystemExit(1)
            say("check passed: every blob left the upstream once and spread between the nodes")
        ok = True
        if not args.exit:
            print("\nRunning; press Ctrl-C to stop everything.", flush=True)
            while all(p.poll() is None for _, p, _ in system.procs):
                time.sleep(0.5)
            say("a process exited; stopping")
    except KeyboardInterrupt:
        say("stopping")
    finally:
        system.stop()
        if args.keep or not ok:
            say(f"kept {work} (logs in {work}/logs)")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok or stopping["yes"] else 1


if __name__ == "__main__":
    sys.exit(main())
