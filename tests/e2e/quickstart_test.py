#!/usr/bin/env python3
"""The README's demo command, run as a user runs it.

    quickstart_test.py exit      --bin-dir DIR   # scripts/quickstart --exit --check
    quickstart_test.py interrupt --bin-dir DIR   # runs until Ctrl-C, then SIGINT
    quickstart_test.py upstream  --bin-dir DIR   # --upstream: a registry it did not start

Each case runs the script with its own TMPDIR and fails unless the script
exits 0, prints the table with all three nodes, and leaves nothing behind: no
process of the ones it started (they all have the working directory on their
command line) and no working directory.
"""
import argparse
import importlib.machinery
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICKSTART = os.path.join(ROOT, "scripts", "quickstart")  # the bash entry a user runs
QUICKSTART_PY = os.path.join(ROOT, "scripts", "quickstart.d", "quickstart.py")
TABLE = re.compile(r"^node3\s+127\.0\.0\.4:\d+\s+[\d.]+s\s", re.M)


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def leftovers(tmp):
    """Processes whose command line names a path under tmp."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if tmp in cmd and int(pid) != os.getpid():
            found.append(f"{pid}: {cmd.strip()}")
    return found


def quickstart_module():
    loader = importlib.machinery.SourceFileLoader("quickstart", QUICKSTART_PY)
    spec = importlib.util.spec_from_loader("quickstart", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def start(argv, tmp):
    env = dict(os.environ, TMPDIR=tmp)
    # Python leaves SIGINT ignored if it starts ignored (as under a
    # non-interactive shell); a user's Ctrl-C must reach the script.
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def finish(p, tmp, out):
    print(out, flush=True)
    if p.returncode != 0:
        fail(f"quickstart exited with {p.returncode}")
    if not TABLE.search(out):
        fail("no table row for node3 in the output")
    time.sleep(0.2)
    left = leftovers(tmp)
    if left:
        fail("processes left running:\n  " + "\n  ".join(left))
    if os.listdir(tmp):
        fail(f"left in TMPDIR: {os.listdir(tmp)}")


def case_exit(base, tmp):
    p = start(base + ["--exit", "--check"], tmp)
    out, _ = p.communicate(timeout=240)
    finish(p, tmp, out)
    if "check passed" not in out:
        fail("--check did not report its result")


def case_interrupt(base, tmp):
    p = start(base, tmp)
    lines = []
    # SIGINT (what Ctrl-C sends) if it is not up in time: it must stop then too.
    watchdog = threading.Timer(240, p.send_signal, [signal.SIGINT])
    watchdog.start()
    for line in p.stdout:  # the script flushes this line, then waits
        lines.append(line)
        if "press Ctrl-C" in line:
            break
    watchdog.cancel()
    if not lines or "press Ctrl-C" not in lines[-1]:
        p.wait(timeout=60)
        fail(f"quickstart was not up within 240 s (exit {p.returncode}):\n{''.join(lines)}")
    if not leftovers(tmp):
        fail("no running service names the working directory; the leftover check would prove nothing")
    p.send_signal(signal.SIGINT)
    rest, _ = p.communicate(timeout=60)
    finish(p, tmp, "".join(lines) + rest)
    if "stopping" not in rest:
        fail("quickstart did not say it was stopping")


def case_upstream(base, tmp):
    qs = quickstart_module()
    work = tempfile.mkdtemp(prefix="upstream-", dir=os.path.dirname(tmp))
    host = f"127.0.0.1:{qs.free_port()}"
    with open(os.path.join(work, "registry.yml"), "w") as f:
        f.write(f"version: 0.1\nlog: {{level: warn}}\n"
                f"storage: {{filesystem: {{rootdirectory: {work}/registry}}}}\n"
                f"http: {{addr: {host}}}\n")
    reg = subprocess.Popen(["docker-registry", "serve", os.path.join(work, "registry.yml")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        qs.wait_http(f"http://{host}/v2/", "the upstream registry", reg)
        qs.build_image(work, host, [4, 8])
        p = start(base + ["--exit", "--check", "--upstream", f"http://{host}",
                          "--image", "demo/app:v1"], tmp)
        out, _ = p.communicate(timeout=240)
        finish(p, tmp, out)
        if '"registry-mirrors": [' not in out or "127.0.0.2:" not in out.split("registry-mirrors")[1]:
            fail("no daemon.json naming node1's mirror in the output")
    finally:
        reg.terminate()
        reg.wait(timeout=15)
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=["exit", "interrupt", "upstream"])
    ap.add_argument("--bin-dir", required=True)
    args = ap.parse_args()
    base = [QUICKSTART, "--skip-build", "--bin-dir", args.bin_dir]
    scratch = tempfile.mkdtemp(prefix="quickstart-test-")
    tmp = os.path.join(scratch, "tmp")
    os.mkdir(tmp)
    try:
        {"exit": case_exit, "interrupt": case_interrupt, "upstream": case_upstream}[args.case](base, tmp)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"PASS: quickstart {args.case}")


if __name__ == "__main__":
    main()
