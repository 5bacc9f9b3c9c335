#!/usr/bin/python3
"""A BitTorrent seed for the /files tests: libtorrent's Python binding
(Debian python3-libtorrent; run with /usr/bin/python3), standing for
whoever first shares a torrent made with torrentgen.

Seeds one torrent from a directory, announcing to one tracker URL, on
loopback only, with DHT, LSD, UPnP, NAT-PMP and uTP off. Prints "announced"
once the tracker has answered, then seeds until SIGTERM or SIGINT, when it
announces "stopped" and exits.

Usage: lt_seed.py --torrent FILE --save DIR --tracker URL [--timeout 120]
                  [--rate BYTES_PER_S]
"""
import argparse
import signal
import sys
import time

import libtorrent as lt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--save", required=True)
    ap.add_argument("--tracker", required=True)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--rate", type=int, default=0, help="upload limit (0: none)")
    args = ap.parse_args()

    session = lt.session({
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert_category.error | lt.alert_category.tracker | lt.alert_category.status,
        "upload_rate_limit": args.rate,
    })
    if args.rate:
        # Loopback peers are exempt from rate limits unless in the global class.
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        session.set_peer_class_filter(f)
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(args.torrent)
    params.save_path = args.save
    params.trackers = [args.tracker]
    params.flags |= lt.torrent_flags.seed_mode
    handle = session.add_torrent(params)

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))

    announced = False
    deadline = time.monotonic() + args.timeout
    while not stopping and time.monotonic() < deadline:
        session.wait_for_alert(200)
        for a in session.pop_alerts():
            if isinstance(a, lt.tracker_reply_alert) and not announced:
                announced = True
                print("announced", flush=True)
            elif isinstance(a, (lt.tracker_error_alert, lt.torrent_error_alert)):
                print("error:", a.message(), flush=True)
    # Tell the tracker, so that nodes stop being handed this peer.
    handle.pause()
    session.pause()
    end = time.monotonic() + 3
    while time.monotonic() < end:
        session.wait_for_alert(200)
        if any(isinstance(a, lt.tracker_reply_alert) for a in session.pop_alerts()):
            break
    return 0 if announced else 1


if __name__ == "__main__":
    sys.exit(main())
