#!/usr/bin/python3
"""A BitTorrent peer that serves corrupted pieces, for the fault tests: a
real libtorrent client (Debian python3-libtorrent; run with /usr/bin/python3)
that checks and seeds a correct file, then has the file altered on disk
behind its back, so it keeps uploading pieces that fail their hash check.

DHT, LSD, UPnP, NAT-PMP and PEX are off; it listens on one loopback
address (give it its own, e.g. 127.0.0.66: peers are banned by address)
and announces to the tracker in the torrent.

Usage: bad_peer.py --torrent FILE --data FILE --save DIR --listen 127.0.0.66
Prints "seeding", then "corrupted N pieces", then alerts about peers until
it is terminated.
"""
import argparse
import os
import shutil
import sys
import time

import libtorrent as lt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--data", required=True, help="the correct content")
    ap.add_argument("--save", required=True)
    ap.add_argument("--listen", default="127.0.0.66")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()

    session = lt.session({
        "listen_interfaces": args.listen + ":0",
        "outgoing_interfaces": args.listen,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "min_announce_interval": 1,
        "alert_mask": lt.alert_category.error | lt.alert_category.status
        | lt.alert_category.tracker | lt.alert_category.peer,
    })
    info = lt.torrent_info(args.torrent)
    path = os.path.join(args.save, info.files().file_path(0))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    shutil.copyfile(args.data, path)
    params = lt.add_torrent_params()
    params.ti = info
    params.save_path = args.save
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    handle = session.add_torrent(params)

    deadline = time.monotonic() + args.timeout
    while not handle.status().is_seeding:
        if time.monotonic() > deadline:
            print("timeout: never became a seed", file=sys.stderr)
            return 1
        time.sleep(0.05)
    print("seeding", flush=True)

    # Alter every piece after the check: libtorrent does not hash what it
    # uploads, so from now on each piece it sends fails at the receiver.
    size = info.total_size()
    piece = info.piece_length()
    with open(path, "r+b") as f:
        n = 0
        for offset in range(0, size, piece):
            f.seek(offset + min(piece, size - offset) // 2)
            b = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([b[0] ^ 0xFF]))
            n += 1
        f.flush()
        os.fsync(f.fileno())
    print(f"corrupted {n} pieces", flush=True)

    while time.monotonic() < deadline:
        for a in session.pop_alerts():
            print("alert:", type(a).__name__, a.message(), flush=True)
        time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
