#!/usr/bin/python3
"""Makes N small single-file v1 torrents (synthetic piece hashes: nothing is
hashed, the tracker never sees file data) and registers them with a
blobswarm-tracker, or just writes their info-hashes.

  torrents.py --count N --out DIR [--tracker URL --token TOKEN]

Writes DIR/hashes.hex (40-hex info-hashes, one per line: opentracker's
whitelist format) and DIR/hashes.url (the same, percent-encoded for
announce URLs). Uses only python3-libtorrent and the standard library.
"""
import argparse
import hashlib
import http.client
import os
import sys
import urllib.parse

import libtorrent as lt


def make_torrent(i):
    fs = lt.file_storage()
    size = 64 * 1024
    fs.add_file(f"bench-{i:08d}.bin", size)
    ct = lt.create_torrent(fs, 16 * 1024, flags=lt.create_torrent.v1_only)
    for p in range(ct.num_pieces()):
        ct.set_hash(p, hashlib.sha1(f"{i}:{p}".encode()).digest())
    ct.set_priv(True)
    return lt.bencode(ct.generate())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tracker", help="http://host:port of a blobswarm-tracker to register with")
    ap.add_argument("--token", help="admin token")
    args = ap.parse_args()

    conn = None
    if args.tracker:
        u = urllib.parse.urlparse(args.tracker)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    hexes, urls = [], []
    for i in range(args.count):
        data = make_torrent(i)
        info = lt.torrent_info(lt.bdecode(data))
        h = info.info_hashes().v1.to_bytes()
        hexes.append(h.hex())
        urls.append(urllib.parse.quote(h, safe=""))
        if conn:
            conn.request("POST", "/api/v1/torrents", body=data, headers={
                "Authorization": f"Bearer {args.token}",
                "Content-Type": "application/x-bittorrent"})
            r = conn.getresponse()
            body = r.read()
            if r.status not in (200, 201):
                sys.exit(f"registering torrent {i} failed: {r.status} {body[:200]!r}")
    with open(os.path.join(args.out, "hashes.hex"), "w") as f:
        f.write("\n".join(hexes) + "\n")
    with open(os.path.join(args.out, "hashes.url"), "w") as f:
        f.write("\n".join(urls) + "\n")


if __name__ == "__main__":
    main()
