"""bench/swarm image: generate an OCI image offline, push it, check pulled copies.

`push` builds L layers (each an uncompressed tar holding one file of
pseudo-random bytes, so the layers are incompressible like real binaries and
cost no compression time), an OCI config and an OCI manifest, and pushes them
with the Registry HTTP API (monolithic upload). It runs inside the registry's
namespace against the registry's loopback address, so the push never crosses
the shaped links. It prints the image description as JSON.

`verify_dir` checks a `skopeo copy ... dir:` result against that description:
the manifest byte for byte and every blob's SHA-256.

Usage: image.py push REGISTRY_URL NAME TAG SIZE_BYTES LAYERS SEED WORKDIR
"""

import hashlib
import http.client
import json
import os
import random
import sys
import tarfile
import urllib.parse

LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
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


def build_layer(path, payload, seed):
    info = tarfile.TarInfo("blob-%d.bin" % seed)
    info.size = payload
    info.mode = 0o644
    info.mtime = 0
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        t.addfile(info, _random_reader(payload, seed))
    return _sha256_file(path), os.path.getsize(path)


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
    for i in range(layers):
        path = os.path.join(workdir, "layer-%d.tar" % i)
        # The tar's own headers and padding: 512 + 512 (pax) + 1024 + up to
        # a 10 KiB record; keep the layer close to per_layer bytes.
        digest, length = build_layer(path, max(1, per_layer - 12288), seed * 1000 + i)
        with open(path, "rb") as f:
            push_blob(base, name, digest, f, length)
        os.unlink(path)
        blobs.append({"mediaType": LAYER_TYPE, "digest": digest, "size": length})
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [b["digest"] for b in blobs]},
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


def verify_dir(path, image):
    """Problems with a skopeo `dir:` copy of image (empty list: identical)."""
    problems = []
    try:
        with open(os.path.join(path, "manifest.json"), "rb") as f:
            if f.read() != image["manifest"].encode():
                problems.append("manifest.json differs from the registry's manifest")
    except OSError as e:
        problems.append("no manifest.json: %s" % e)
    for b in image["blobs"]:
        hexd = b["digest"].split(":", 1)[1]
        p = os.path.join(path, hexd)
        if not os.path.exists(p):
            problems.append("blob %s missing" % b["digest"][:19])
            continue
        if os.path.getsize(p) != b["size"]:
            problems.append("blob %s: %d bytes, expected %d" % (b["digest"][:19],
                                                                os.path.getsize(p), b["size"]))
            continue
        if _sha256_file(p) != b["digest"]:
            problems.append("blob %s: content does not match its digest" % b["digest"][:19])
    expected = {b["digest"].split(":", 1)[1] for b in image["blobs"]}
    extra = set(os.listdir(path)) - expected - {"manifest.json", "version"} if os.path.isdir(
        path) else set()
    if extra:
        problems.append("unexpected files: %s" % ", ".join(sorted(extra)))
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 9 or sys.argv[1] != "push":
        sys.exit(__doc__)
    _, _, url, name, tag, size, layers, seed, workdir = sys.argv
    print(json.dumps(push(url, name, tag, int(size), int(layers), int(seed), workdir)))
