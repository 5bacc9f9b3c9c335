"""bench/swarm processes: children started inside namespaces, tracked so that
every one of them is stopped on exit, failure or Ctrl-C; HTTP and commands
run inside a namespace; bounded waits."""

import json
import os
import resource
import signal
import subprocess
import threading
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
        self.closed = False  # after stop_all: nothing new starts
        # Pull threads start skopeo while the main thread may be stopping
        # everything (Ctrl-C): a start either lands in procs before stop_all
        # looks, or is refused.
        self._lock = threading.Lock()

    def start(self, name, ns, argv, log_path, env=None, cwd=None, core_dumps=False):
        """Starts argv in namespace ns (ip netns exec execs argv, so the pid
        is the program's), in its own process group, output to log_path.
        With core_dumps, a crash leaves a core file (kernel.core_pattern,
        relative to cwd when the pattern is a plain name)."""

        def allow_cores():
            resource.setrlimit(resource.RLIMIT_CORE,
                               (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

        with self._lock:
            if self.closed:
                raise RuntimeError("%s: not started, the benchmark is stopping" % name)
            log = open(log_path, "ab")
            p = subprocess.Popen(["ip", "netns", "exec", ns] + list(argv), stdout=log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True, env=env or clean_env(), cwd=cwd,
                                 preexec_fn=allow_cores if core_dumps else None)
            self.procs.append((name, p, log))
        return p

    def died(self):
        """(name, exit status) of every tracked process that has exited on
        its own (negative status: killed by that signal)."""
        return [(name, p.returncode) for name, p, _ in self.procs if p.poll() is not None]

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

    def stop_many(self, ps, grace=15.0):
        """Stops the processes ps in parallel: SIGTERM to all, SIGKILL to
        those still running after grace seconds. Returns the names of those
        that had to be killed."""
        for p in ps:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for p in ps:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        killed = [name for name, p, _ in self.procs if p in ps and p.poll() is None]
        for p in ps:
            self.stop(p, grace=0.1)
        return killed

    def stop_all(self, grace=10.0):
        """Idempotent. SIGTERM to everyone first, so they stop in parallel;
        nothing starts afterwards."""
        with self._lock:
            self.closed = True
        self.stop_many([p for _, p, _ in self.procs], grace)


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


def cpu_seconds(pid):
    """User + system CPU seconds of a running process (0 when gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def children_cpu():
    """CPU seconds of this process's reaped children so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def machine_cpu():
    """(busy, total) CPU seconds of the whole machine since boot, all CPUs."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / tick, sum(v[:8]) / tick
