"""bench/swarm cells: the matrix of issue 18 (image shape x client x history),
each cell's targets, and the one table that reports them (text and Markdown).

Kept apart from the orchestration in bench/swarm so that what a cell is and
when it meets its target are read in one place. A cell's result is any
object with the attributes of bench/swarm's run_result (times, registry_tx,
preheat_registry_tx, first_wave_registry_tx, seeder_tx, sources, cpu,
history, client, image).
"""

import math
import re

MIB = 1 << 20

# Image shapes, "<MiB>x<layers>". The whole matrix (issue 18), and the quick
# subset for everyday use.
FULL_IMAGES = ("10x4", "100x1", "256x4", "1024x1", "200x12")
QUICK_IMAGES = ("10x4", "100x1")
CLIENTS = ("parallel", "serial")
HISTORIES = ("cold", "warm", "second", "staggered")
RUNS = ("direct",) + HISTORIES

# p99 <= factor x T1 + SLACK_S, and never above the p99 of N direct pulls.
TIME_FACTOR = {"cold": 1.5, "staggered": 1.5, "warm": 1.3, "second": 1.3}
SLACK_S = 1.0
REGISTRY_LIMIT = 1.05  # registry egress, copies of the image (every history)
SEEDER_LIMIT = 1.5  # seeder egress, copies of the image (warm, second)
SEEDER_LIMITED = ("warm", "second")
# What --check (the ctest run) fails on: bytes, never time (the machine is
# shared). The second wave's seeder egress is reported, not checked: it is
# what issue 18 is fixing (2.7x the image at 3 nodes, 2026-12-07); add
# "second" here once it holds.
SEEDER_CHECKED = ("warm",)


def parse_shape(text):
    """'10x4' -> (10, 4): MiB, layers. Raises ValueError."""
    m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", text)
    if not m:
        raise ValueError("an image shape is <MiB>x<layers> (10x4, 1024x1), not %r" % text)
    size_mb, layers = int(m.group(1)), int(m.group(2))
    if size_mb < 1 or not 1 <= layers <= 64 or size_mb * MIB // layers < 64 * 1024:
        raise ValueError("image %r: at least 1 MiB, 1-64 layers of at least 64 KiB each" % text)
    return size_mb, layers


def shape_key(size_mb, layers):
    return "%dx%d" % (size_mb, layers)


def shape_label(size_mb, layers):
    """'10 MiB x 4', '1 GiB x 1'."""
    size = "%d GiB" % (size_mb // 1024) if size_mb % 1024 == 0 else "%d MiB" % size_mb
    return "%s x %d" % (size, layers)


def percentile(values, q):
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def registry_bytes(r):
    """The registry egress a cell's target is about: the pulls (cold,
    staggered); the preheat and the pulls (warm); the preheat and both waves
    (second)."""
    return r.registry_tx + r.preheat_registry_tx + r.first_wave_registry_tx


def evaluate(r, size, t1, direct_p99):
    """The cell's figures and verdicts. t1 None (T1 failed): the time is not
    judged; direct_p99 None (not run or failed): only against T1."""
    p99 = percentile(r.times, 0.99) if r.times else None
    limit = None
    if t1:
        limit = TIME_FACTOR[r.history] * t1 + SLACK_S
        if direct_p99:
            limit = min(limit, direct_p99)
    reg = registry_bytes(r) / size
    seed = r.seeder_tx / size
    missed = []
    if limit is None:
        missed.append("time unjudged (no T1)")
    elif p99 is None or p99 > limit:
        missed.append("time")
    if reg > REGISTRY_LIMIT:
        missed.append("registry")
    if r.history in SEEDER_LIMITED and seed > SEEDER_LIMIT:
        missed.append("seeder")
    peers = None
    if r.sources:
        total = sum(r.sources.values())
        peers = 100.0 * r.sources["from_peers"] / total if total else 0.0
    cpu = r.cpu or {}
    return {
        "p50": percentile(r.times, 0.5) if r.times else None,
        "p99": p99,
        "ratio": p99 / t1 if p99 is not None and t1 else None,
        "limit": limit,
        "registry": reg,
        "seeder": seed,
        "peers": peers,
        "cpu_services": cpu.get("services"),
        "cpu_machine": cpu.get("machine_busy"),
        "missed": missed,
        "failed": bool(r.problems),
    }


def byte_checks(r, size):
    """The targets --check enforces: registry egress in every history,
    seeder egress in SEEDER_CHECKED. Returns descriptions of the ones
    missed."""
    e = evaluate(r, size, None, None)
    out = []
    if "registry" in e["missed"]:
        out.append("registry egress %.2fx the image (limit %.2fx)" % (e["registry"],
                                                                     REGISTRY_LIMIT))
    if "seeder" in e["missed"] and r.history in SEEDER_CHECKED:
        out.append("seeder egress %.2fx the image (limit %.2fx)" % (e["seeder"], SEEDER_LIMIT))
    return out


def _num(v, fmt):
    return "-" if v is None else fmt % v


def verdict(e):
    if e["failed"]:
        return "FAILED"
    return "MISSED " + ",".join(e["missed"]) if e["missed"] else "met"


CELL_HEAD = ("image", "client", "history", "p50 s", "p99 s", "p99/T1", "target s", "result",
             "registry", "seeder", "peers", "CPU svc s", "CPU all s")


def cell_rows(cells):
    """cells: [(image key, result, evaluation)] -> table rows."""
    rows = []
    for key, r, e in cells:
        rows.append((key, r.client, r.history, _num(e["p50"], "%.1f"), _num(e["p99"], "%.1f"),
                     _num(e["ratio"], "%.2fx"), _num(e["limit"], "<= %.1f"), verdict(e),
                     "%.2fx" % e["registry"], "%.2fx" % e["seeder"], _num(e["peers"], "%.0f%%"),
                     _num(e["cpu_services"], "%.1f"), _num(e["cpu_machine"], "%.1f")))
    return rows


IMAGE_HEAD = ("image", "shape", "bytes", "T1 s", "N direct p99 s", "direct/T1",
              "direct registry")


def image_rows(images):
    """images: [(key, label, size, t1, direct_p99, direct registry bytes)]."""
    rows = []
    for key, label, size, t1, direct_p99, direct_tx in images:
        rows.append((key, label, str(size), _num(t1, "%.1f"), _num(direct_p99, "%.1f"),
                     "-" if not (t1 and direct_p99) else "%.2fx" % (direct_p99 / t1),
                     "-" if direct_tx is None else "%.2fx" % (direct_tx / size)))
    return rows


def text_table(head, rows, left):
    """Columns padded; the first `left` left-aligned, the rest right."""
    widths = [max(len(str(x[c])) for x in [head] + rows) for c in range(len(head))]

    def line(row):
        return "  ".join(str(v).ljust(widths[c]) if c < left else str(v).rjust(widths[c])
                         for c, v in enumerate(row)).rstrip()

    return [line(head)] + [line(r) for r in rows]


def markdown_table(head, rows, left):
    out = ["| " + " | ".join(head) + " |",
           "| " + " | ".join("---" if c < left else "---:" for c in range(len(head))) + " |"]
    out += ["| " + " | ".join(str(v).replace("|", "\\|") for v in r) + " |" for r in rows]
    return out


LEGEND = ("target: p99 <= %.1fx T1 + %.0f s cold and staggered, <= %.1fx T1 + %.0f s warm and "
          "second, and never above the p99 of the N direct pulls; registry egress <= %.2fx the "
          "image (cold, staggered: the pulls; warm: preheat + pulls; second: preheat + both "
          "waves); seeder egress <= %.1fx the image (warm, second: the measured pulls). "
          "registry, seeder: bytes out of their links, in copies of the image; peers: share of "
          "the nodes' blob bytes that came from other nodes; CPU: seconds used during the "
          "measured pulls by the services (registry, tracker, seeder, mirrors) and by the whole "
          "machine" % (TIME_FACTOR["cold"], SLACK_S, TIME_FACTOR["warm"], SLACK_S,
                       REGISTRY_LIMIT, SEEDER_LIMIT))
