#!/usr/bin/python3
"""A fault-injecting HTTP proxy in front of a real registry, for the fault
tests (tests/faults). Python standard library only; loopback only.

Forwards every request to --upstream and relays the answer, unless a rule
matches. Rules are set at run time with `PUT /__faults` (a JSON list) and
apply in order; the first rule whose `path` is a substring of the request
path (and whose `method`, when given, matches) and that has uses left wins:

  {"path": "/blobs/", "method": "GET", "times": 2, "action": "status", "status": 503}
      answer with that status and a registry error body, without asking upstream
  {"path": "/blobs/", "action": "drop", "after": 100000}
      relay the headers and `after` body bytes, then close the connection
  {"path": "/blobs/", "action": "stall", "after": 100000, "seconds": 30}
      relay `after` body bytes, then send nothing for `seconds` and close
  {"path": "/blobs/", "action": "corrupt", "after": 5000}
      relay everything, with the body byte at offset `after` flipped
  {"path": "/blobs/", "action": "throttle", "rate": 1000000}
      relay at `rate` bytes per second

`times` (default: unlimited) counts uses of the rule. `GET /__faults`
answers {"rules": [...], "requests": ["GET /v2/... 200 drop", ...],
"body_bytes": N}, N being the response body bytes sent to clients so far
(what the registry's link would carry).

Usage: fault_proxy.py --upstream http://127.0.0.1:5000 [--port 0]
Prints "fault_proxy listening on 127.0.0.1:PORT" once it accepts connections.
"""
import argparse
import http.client
import http.server
import json
import socket
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te",
              "trailer", "upgrade"}


class state:
    lock = threading.Lock()
    rules = []
    requests = []
    body_bytes = 0
    upstream = None  # (host, port)


def take_rule(method, path):
    with state.lock:
        for rule in state.rules:
            if rule.get("path", "") not in path:
                continue
            if rule.get("method") and rule["method"] != method:
                continue
            times = rule.get("times")
            if times is not None:
                if times <= 0:
                    continue
                rule["times"] = times - 1
            return dict(rule)
    return None


def count(n):
    with state.lock:
        state.body_bytes += n


def record(line):
    with state.lock:
        state.requests.append(line)


class handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # the test prints our output on failure
        sys.stdout.write("%s\n" % (fmt % args))
        sys.stdout.flush()

    def do_GET(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def control(self):
        if self.command == "PUT":
            length = int(self.headers.get("Content-Length", "0"))
            rules = json.loads(self.rfile.read(length) or b"[]")
            with state.lock:
                state.rules = rules
            self.send_json(200, {"rules": rules})
        else:
            with state.lock:
                body = {"rules": state.rules, "requests": list(state.requests),
                        "body_bytes": state.body_bytes}
            self.send_json(200, body)

    def handle_any(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/__faults":
            self.control()
            return
        if self.command == "PUT":
            self.send_json(405, {"errors": [{"code": "UNSUPPORTED", "message": "read only"}]})
            return
        rule = take_rule(self.command, path)
        action = rule["action"] if rule else "pass"
        if action == "status":
            status = int(rule.get("status", 503))
            record(f"{self.command} {self.path} {status} status")
            self.send_json(status, {"errors": [{"code": "UNAVAILABLE" if status == 503 else
                                                "UNKNOWN", "message": "injected fault"}]})
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = "%s:%d" % state.upstream
        conn = http.client.HTTPConnection(*state.upstream, timeout=60)
        try:
            conn.request(self.command, self.path, headers=headers)
            res = conn.getresponse()
        except OSError as e:
            record(f"{self.command} {self.path} 502 upstream-error")
            self.send_json(502, {"errors": [{"code": "UNKNOWN", "message": str(e)}]})
            return
        record(f"{self.command} {self.path} {res.status} {action}")
        body_length = res.getheader("Content-Length")
        buffered = None
        if body_length is None and self.command != "HEAD":
            buffered = res.read()
            body_length = str(len(buffered))
        self.send_response(res.status)
        for k, v in res.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        if body_length is not None:
            self.send_header("Content-Length", body_length)
        self.end_headers()
        if self.command == "HEAD":
            conn.close()
            return
        self.relay(res, buffered, rule or {})
        conn.close()

    def relay(self, res, buffered, rule):
        action = rule.get("action", "pass")
        after = int(rule.get("after", 0))
        rate = float(rule.get("rate", 0))
        sent = 0
        start = time.monotonic()
        while True:
            chunk = buffered if buffered is not None else res.read(16384)
            buffered = b"" if buffered is not None else None
            if not chunk:
                break
            if action in ("drop", "stall") and sent + len(chunk) >= after:
                self.wfile.write(chunk[:after - sent])
                count(after - sent)
                self.wfile.flush()
                if action == "stall":
                    time.sleep(float(rule.get("seconds", 30)))
                self.close_abruptly()
                return
            if action == "corrupt" and sent <= after < sent + len(chunk):
                b = bytearray(chunk)
                b[after - sent] ^= 0x5A
                chunk = bytes(b)
            try:
                self.wfile.write(chunk)
            except OSError:
                self.close_connection = True
                return
            count(len(chunk))
            sent += len(chunk)
            if rate > 0:
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
        self.wfile.flush()

    def close_abruptly(self):
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    u = urllib.parse.urlsplit(args.upstream)
    if u.hostname not in ("127.0.0.1", "localhost") and not u.hostname.startswith("127."):
        sys.exit("fault_proxy: the upstream must be on loopback")
    state.upstream = (u.hostname, u.port or 80)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    print("fault_proxy listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
