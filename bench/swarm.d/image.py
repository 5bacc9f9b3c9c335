"""bench/swarm image: generate an OCI image offline, push it, check pulled copies.

`push` builds L layers (each a gzip-compressed tar, like real images' layers,
holding one file of pseudo-random bytes, so the layers are incompressible like
real binaries; gzip level 1 keeps generation quick), an OCI config (with the
uncompressed tars' digests as diff_ids) and an OCI manifest, and pushes them
with the Registry HTTP API (monolithic upload). It runs inside the registry's
namespace against the registry's loopback address, so the push never crosses
the shaped links. It prints the image description as JSON.

Compressed layers matter to the pulls: `skopeo copy ... oci:` fetches layers
in parallel (as containerd and dockerd do) and stores gzip layers as they
are, where it would recompress uncompressed ones. `dir:` keeps them too but
fetches one blob after another (its destination does not take blobs in
parallel): bench/swarm's "serial" client.

`verify_oci` checks a `skopeo copy ... oci:DIR:TAG` result, `verify_dir` a
`skopeo copy ... dir:DIR` one, against that description: the manifest byte
for byte (so nothing was converted) and every blob's SHA-256.

Usage: image.py push REGISTRY_URL NAME TAG SIZE_BYTES LAYERS SEED WORKDIR
"""

import gzip
import hashlib
import http.client
import json
import os
import random
import sys
import tarfile
import urllib.parse

LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CHUNK = 1 << 20


class _random_reader:
    """A file-like object of `size` deterministic pseudo-random bytes."""

    def __init__(self, size, seed):
        self.left = size
        self.rng = random.Random(seed)

    def read(self, n=-1):
        if n < 0 or n > self.left:
            n = self.left
        self.left -= n
        # randbytes is fast in small pieces (about 300 MB/s at 16 KiB) and
        # slow for large ones (its big integers).
        return b"".join(self.rng.randbytes(min(16384, n - i)) for i in range(0, n, 16384))


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                break
            h.update(b)
    return "sha256:" + h.hexdigest()


class _hashing_writer:
    """Passes writes on to `out`, hashing them (the uncompressed tar's
    digest is the layer's diff_id)."""

    def __init__(self, out):
        self.out = out
        self.sha = hashlib.sha256()

    def write(self, b):
        self.sha.update(b)
        return self.out.write(b)

    def tell(self):
        return self.out.tell()


def build_layer(path, payload, seed):
    """Writes a gzip'd tar holding one file of `payload` random bytes.
    Returns (digest, size, diff_id)."""
    info = tarfile.TarInfo("blob-%d.bin" % seed)
    info.size = payload
    info.mode = 0o644
    info.mtime = 0
    with open(path, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=1, fileobj=f, mtime=0) as z:
            h = _hashing_writer(z)
            with tarfile.open(fileobj=h, mode="w", format=tarfile.PAX_FORMAT) as t:
                t.addfile(info, _random_reader(payload, seed))
    return _sha256_file(path), os.path.getsize(path), "sha256:" + h.sha.hexdigest()


def _request(base, method, path, body=None, headers=None, length=None):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=120, blocksize=CHUNK)
    h = dict(headers or {})
    if length is not None:
        h["Content-Length"] = str(length)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def push_blob(base, name, digest, body, length):
    status, headers, data = _request(base, "POST", "/v2/%s/blobs/uploads/" % name, b"",
                                     length=0)
    if status != 202:
        raise RuntimeError("upload start: %d %s" % (status, data[:200]))
    loc = urllib.parse.urlsplit(headers["location"])
    path = loc.path + "?" + (loc.query + "&" if loc.query else "") + "digest=" + digest
    status, _, data = _request(base, "PUT", path, body,
                               {"Content-Type": "application/octet-stream"}, length)
    if status != 201:
        raise RuntimeError("upload of %s: %d %s" % (digest, status, data[:200]))


def push(base, name, tag, size, layers, seed, workdir):
    os.makedirs(workdir, exist_ok=True)
    per_layer = max(1, size // layers)
    blobs = []
    diff_ids = []
    for i in range(layers):
        path = os.path.join(workdir, "layer-%d.tar" % i)
        # The tar's own headers and padding: 512 + 512 (pax) + 1024 + up to
        # a 10 KiB record; keep the layer close to per_layer bytes.
        digest, length, diff_id = build_layer(path, max(1, per_layer - 12288),
                                              seed * 1000 + i)
        with open(path, "rb") as f:
            push_blob(base, name, digest, f, length)
        os.unlink(path)
        blobs.append({"mediaType": LAYER_TYPE, "digest": digest, "size": length})
        diff_ids.append(diff_id)
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "bench/swarm layer %d" % i} for i in range(layers)],
    }, sort_keys=True).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    push_blob(base, name, config_digest, config, len(config))
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config)},
        "layers": blobs,
    }, sort_keys=True).encode()
    status, _, data = _request(base, "PUT", "/v2/%s/manifests/%s" % (name, tag), manifest,
                               {"Content-Type": MANIFEST_TYPE}, len(manifest))
    if status != 201:
        raise RuntimeError("manifest: %d %s" % (status, data[:200]))
    # Read it back: what the registry serves is what pulls must reproduce.
    status, _, served = _request(base, "GET", "/v2/%s/manifests/%s" % (name, tag), None,
                                 {"Accept": MANIFEST_TYPE})
    if status != 200 or served != manifest:
        raise RuntimeError("manifest read back differs (%d)" % status)
    all_blobs = [{"digest": config_digest, "size": len(config), "mediaType": CONFIG_TYPE}] + blobs
    return {
        "name": name,
        "tag": tag,
        "manifest": manifest.decode(),
        "manifest_digest": "sha256:" + hashlib.sha256(manifest).hexdigest(),
        "blobs": all_blobs,
        "size": sum(b["size"] for b in all_blobs),
    }


def _expected_blobs(image):
    """The manifest and every blob a complete copy of image holds."""
    manifest = {"digest": image["manifest_digest"], "size": len(image["manifest"].encode())}
    return [manifest] + image["blobs"]


def _check_blob(path, blob):
    """A problem with the file that should hold blob, or None."""
    if not os.path.exists(path):
        return "blob %s missing" % blob["digest"][:19]
    if os.path.getsize(path) != blob["size"]:
        return "blob %s: %d bytes, expected %d" % (blob["digest"][:19], os.path.getsize(path),
                                                   blob["size"])
    if _sha256_file(path) != blob["digest"]:
        return "blob %s: content does not match its digest" % blob["digest"][:19]
    return None


def _check_files(directory, blobs, allowed=()):
    """Problems with blobs stored as directory/<hex digest>, and with files
    there that are neither a blob nor in allowed."""
    problems = [p for p in (_check_blob(os.path.join(directory, b["digest"].split(":", 1)[1]), b)
                            for b in blobs) if p]
    names = {b["digest"].split(":", 1)[1] for b in blobs} | set(allowed)
    extra = set(os.listdir(directory)) - names if os.path.isdir(directory) else set()
    if extra:
        problems.append("unexpected files: %s" % ", ".join(sorted(extra)))
    return problems


def verify_oci(path, tag, image):
    """Problems with a skopeo `oci:PATH:TAG` copy of image (empty list:
    identical)."""
    problems = []
    try:
        with open(os.path.join(path, "index.json")) as f:
            index = json.load(f)
        refs = [m for m in index.get("manifests", [])
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
        if len(refs) != 1:
            return ["index.json has %d manifests tagged %s" % (len(refs), tag)]
        if refs[0].get("digest") != image["manifest_digest"]:
            problems.append("the manifest is %s, the registry's is %s (converted?)" %
                            (refs[0].get("digest"), image["manifest_digest"]))
    except (OSError, ValueError) as e:
        return ["no usable index.json: %s" % e]
    return problems + _check_files(os.path.join(path, "blobs", "sha256"), _expected_blobs(image))


def verify_dir(path, image):
    """Problems with a skopeo `dir:PATH` copy of image (empty list:
    identical): manifest.json holds the registry's manifest bytes, every
    blob is PATH/<hex digest>, and nothing else is there but skopeo's
    `version` file."""
    try:
        with open(os.path.join(path, "manifest.json"), "rb") as f:
            manifest = f.read()
    except OSError as e:
        return ["no manifest.json: %s" % e]
    problems = []
    if manifest != image["manifest"].encode():
        problems.append("manifest.json is sha256:%s, the registry's manifest is %s (converted?)" %
                        (hashlib.sha256(manifest).hexdigest(), image["manifest_digest"]))
    return problems + _check_files(path, image["blobs"], allowed=("manifest.json", "version"))


if __name__ == "__main__":
    if len(sys.argv) != 9 or sys.argv[1] != "push":
        sys.exit(__doc__)
    _, _, url, name, tag, size, layers, seed, workdir = sys.argv
    print(json.dumps(push(url, name, tag, int(size), int(layers), int(seed), workdir)))
