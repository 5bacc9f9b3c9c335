#!/usr/bin/python3
"""A TCP load balancer on loopback, for the high-availability fault tests
(tests/faults/ha_*): one address in front of several tracker replicas, as a
Kubernetes Service or a load balancer puts them. Python standard library
only; loopback only.

Each accepted connection goes to the next backend in turn that accepts it:
a backend that is down refuses at once (loopback) and the next is tried, so
a killed replica costs its own connections only, which the clients make
again. The connection to the backend is made from the client's own
loopback address (127.0.0.x), so the tracker sees every mirror at its own
address, as it does behind a Service that keeps source addresses.

Usage: tcp_balancer.py --backends 127.0.0.1:P1,127.0.0.1:P2[,...] [--port 0]
Prints "tcp_balancer listening on 127.0.0.1:PORT" once it accepts connections.
"""
import argparse
import select
import socket
import sys
import threading

lock = threading.Lock()
turn = [0]


def loopback(host):
    return host == "localhost" or host.startswith("127.")


def connect(backends, source):
    with lock:
        start = turn[0]
        turn[0] = (turn[0] + 1) % len(backends)
    for i in range(len(backends)):
        host, port = backends[(start + i) % len(backends)]
        try:
            s = socket.create_connection((host, port), timeout=2, source_address=(source, 0))
            s.settimeout(None)
            return s
        except OSError:
            continue
    return None


def relay(client, backends):
    source = client.getpeername()[0]
    backend = connect(backends, source)
    if backend is None:
        client.close()
        return
    socks = [client, backend]
    other = {client: backend, backend: client}
    open_reads = set(socks)
    try:
        # Bounded by the connections' lives: ends when both sides closed.
        while open_reads:
            ready, _, _ = select.select(list(open_reads), [], [], 60)
            if not ready:
                break
            for s in ready:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    open_reads.discard(s)
                    try:
                        other[s].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                other[s].sendall(data)
    except OSError:
        pass
    finally:
        client.close()
        backend.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", required=True)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    backends = []
    for b in args.backends.split(","):
        host, _, port = b.rpartition(":")
        if not loopback(host):
            sys.exit("tcp_balancer: backends must be on loopback")
        backends.append((host, int(port)))
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", args.port))
    server.listen(256)
    print("tcp_balancer listening on 127.0.0.1:%d" % server.getsockname()[1], flush=True)
    while True:
        client, _ = server.accept()
        threading.Thread(target=relay, args=(client, backends), daemon=True).start()


if __name__ == "__main__":
    main()
