#!/usr/bin/python3
"""One node of bench/seeder's cold-pull measurement: pulls a blob through the
swarm the way a mirror would, with libtorrent (python3-libtorrent), rate
limited like a node's link (loopback included, via the global peer class).

  --mode whole     GET the seeder's /torrent (which waits for the ingest),
                   then download the whole-blob torrent.
  --mode segments  GET /descriptor (starting the ingest), then fetch every
                   segment torrent as soon as the seeder publishes it
                   (GET /segments/<n>/torrent waits until it is ready) and
                   download all of them, in order of publication; a blob
                   that is not segmented is pulled as in --mode whole.

Torrents announce to <tracker>/announce/<passkey>. DHT, LSD, UPnP, NAT-PMP
and uTP are off. Prints one JSON line: start and end (time.time()), bytes,
sha256 of the reassembled blob.
"""
import argparse
import hashlib
import json
import os
import sys
import threading
import time
import urllib.request

import libtorrent as lt


def http_get(url, timeout=600):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeder", required=True)  # http://127.0.0.1:PORT
    ap.add_argument("--name", required=True)
    ap.add_argument("--digest", required=True)
    ap.add_argument("--announce", required=True)  # http://tracker/announce/<passkey>
    ap.add_argument("--mode", choices=["whole", "segments"], required=True)
    ap.add_argument("--rate", type=int, default=0)  # bytes/s, up and down
    ap.add_argument("--save", required=True)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--start-at", type=float, default=0)  # time.time() to start at
    ap.add_argument("--verbose", action="store_true")  # progress to stderr every second
    args = ap.parse_args()

    settings = {
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        # A mirror wants new torrents to announce and connect at once, not on
        # the next 500 ms tick (see docs/seeder.md).
        "tick_interval": 100,
        "upload_rate_limit": args.rate,
        "download_rate_limit": args.rate,
        "alert_mask": lt.alert_category.error,
    }
    ses = lt.session(settings)
    if args.rate:
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(f)

    base = f"{args.seeder}/api/v1/blobs/{args.name}/{args.digest}"
    if args.start_at:
        time.sleep(max(0, args.start_at - time.time()))
    start = time.time()

    handles = []
    lock = threading.Lock()
    errors = []

    def add(torrent_bytes):
        info = lt.torrent_info(lt.bdecode(torrent_bytes))
        p = lt.add_torrent_params()
        p.ti = info
        p.save_path = args.save
        p.trackers = [args.announce]
        h = ses.add_torrent(p)
        with lock:
            handles.append((h, info))

    expected = 1
    if args.mode == "segments":
        desc = json.loads(http_get(base + "/descriptor"))
        count = desc.get("segment_count") or 0
        if count == 0 and desc.get("state") == "ingesting" and desc.get("size") is None:
            # The size is not known yet: ask again once the ingest started.
            for _ in range(200):
                time.sleep(0.01)
                desc = json.loads(http_get(base + "/descriptor"))
                if desc.get("size") is not None or desc.get("state") != "ingesting":
                    break
            count = desc.get("segment_count") or 0
        if count > 0:
            expected = count

            def fetch_segments():
                try:
                    for n in range(count):
                        add(http_get(f"{base}/segments/{n}/torrent"))
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(str(e))

            threading.Thread(target=fetch_segments, daemon=True).start()
        else:
            add(http_get(base + "/torrent"))
    else:
        add(http_get(base + "/torrent"))

    deadline = start + args.timeout
    last_report = start
    while True:
        if args.verbose and time.time() - last_report >= 0.25:
            last_report = time.time()
            with lock:
                for h, _ in handles:
                    st = h.status()
                    print(f"{last_report - start:6.2f}s {st.name[-8:]} {st.progress * 100:5.1f}% "
                          f"peers {st.num_peers} seeds {st.num_seeds} "
                          f"down {st.download_payload_rate / 1e6:.1f} MB/s "
                          f"up {st.upload_payload_rate / 1e6:.1f} MB/s", file=sys.stderr)
        with lock:
            done = len(handles) == expected and all(h.status().is_seeding for h, _ in handles)
        if done:
            break
        if errors or time.time() > deadline:
            print(json.dumps({"error": errors or ["timeout"]}))
            return 1
        time.sleep(0.02)
    end = time.time()

    h = hashlib.sha256()
    total = 0
    for _, info in handles:
        with open(os.path.join(args.save, info.files().file_path(0)), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
                total += len(chunk)
    print(json.dumps({"start": start, "end": end, "bytes": total,
                      "digest": "sha256:" + h.hexdigest(), "torrents": len(handles)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
