#!/usr/bin/python3
"""A real BitTorrent client for the seeder's tests: libtorrent's Python
binding (Debian python3-libtorrent; run with /usr/bin/python3).

Downloads one torrent into a directory, with DHT, LSD, UPnP, NAT-PMP and
PEX off, on loopback only, and prints "sha256:<hex>" of the downloaded file.
Peers come from the torrent's tracker, or from --peer host:port.

Usage: lt_client.py --torrent FILE --save DIR [--peer 127.0.0.1:6881]
                    [--timeout 60] [--rate BYTES_PER_S]
Exit status 0 when the download completed; 1 with a reason otherwise.
"""
import argparse
import hashlib
import os
import sys
import time

import libtorrent as lt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--save", required=True)
    ap.add_argument("--peer", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--rate", type=int, default=0)
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
        "alert_mask": lt.alert_category.error | lt.alert_category.tracker,
        "download_rate_limit": args.rate,
    }
    session = lt.session(settings)
    if args.rate:
        # Loopback peers are exempt from rate limits unless in the global class.
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        session.set_peer_class_filter(f)
    info = lt.torrent_info(args.torrent)
    params = lt.add_torrent_params()
    params.ti = info
    params.save_path = args.save
    handle = session.add_torrent(params)
    for peer in args.peer:
        host, port = peer.rsplit(":", 1)
        handle.connect_peer((host, int(port)))

    deadline = time.monotonic() + args.timeout
    while True:
        status = handle.status()
        if status.is_seeding:
            break
        for a in session.pop_alerts():
            if a.category() & lt.alert_category.error:
                print("alert:", a.message(), file=sys.stderr)
        if time.monotonic() > deadline:
            print(f"timeout: {status.progress * 100:.1f}% done, {status.num_peers} peers, "
                  f"state {status.state}", file=sys.stderr)
            return 1
        time.sleep(0.05)

    path = os.path.join(args.save, info.files().file_path(0))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    print("sha256:" + h.hexdigest())
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
