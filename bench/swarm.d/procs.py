"""bench/swarm processes: children started inside namespaces, tracked so that
every one of them is stopped on exit, failure or Ctrl-C; HTTP and commands
run inside a namespace; bounded waits."""

import json
import os
import signal
import subprocess
import time


def clean_env():
    """The environment for children: no proxy settings (everything here is
    addressed directly inside the benchmark's namespaces)."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["NO_PROXY"] = "*"
    return env


class process_set:
    def __init__(self):
        self.procs = []  # (name, Popen, log file)

    def start(self, name, ns, argv, log_path, env=None):
        """Starts argv in namespace ns (ip netns exec execs argv, so the pid
        is the program's), in its own process group, output to log_path."""
        log = open(log_path, "ab")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + list(argv), stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, env=env or clean_env())
        self.procs.append((name, p, log))
        return p

    def stop(self, p, grace=15.0):
        """SIGTERM to p's process group, SIGKILL after grace seconds."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            if p.poll() is not None:
                break
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                p.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        for entry in list(self.procs):
            if entry[1] is p:
                entry[2].close()
                self.procs.remove(entry)

    def stop_all(self, grace=10.0):
        """Idempotent. SIGTERM to everyone first, so they stop in parallel."""
        for _, p, _ in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for _, p, _ in list(self.procs):
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for _, p, _ in list(self.procs):
            self.stop(p, grace=0.1)


def ns_run(ns, argv, timeout):
    return subprocess.run(["ip", "netns", "exec", ns] + list(argv), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout + 5,
                          env=clean_env())


def ns_http(ns, method, url, body=None, headers=(), timeout=10):
    """(status, body text) of an HTTP request made with curl inside ns;
    status 0 when nothing answered."""
    argv = ["curl", "-sS", "--noproxy", "*", "-m", str(timeout), "-X", method, "-o", "-", "-w",
            "\n%{http_code}", url]
    for h in headers:
        argv += ["-H", h]
    if body is not None:
        argv += ["--data-binary", body]
    try:
        r = ns_run(ns, argv, timeout)
    except subprocess.TimeoutExpired:
        return 0, "timed out"
    text = r.stdout.decode(errors="replace")
    text, _, code = text.rpartition("\n")
    try:
        return int(code), text
    except ValueError:
        return 0, r.stderr.decode(errors="replace")


def ns_json(ns, url, timeout=10):
    status, text = ns_http(ns, "GET", url, timeout=timeout)
    if status != 200:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def wait_until(what, predicate, timeout, interval=0.2, alive=None):
    """Polls predicate() until it is true; raises after timeout seconds, or
    at once when alive (a Popen) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if alive is not None and alive.poll() is not None:
            raise RuntimeError("%s: the process exited (status %s)" % (what, alive.returncode))
        if time.monotonic() > deadline:
            raise RuntimeError("%s: not ready after %.0f s" % (what, timeout))
        time.sleep(interval)
