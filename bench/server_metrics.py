"""Where a chat run's slow messages spent their time, from the server's own histograms.

The load generator sees an ack or a delivery late; it cannot tell whether the database,
Valkey or the gateway made it late. Every gateway process exports latency histograms on
``/metrics`` (chat_project.metrics); the runner scrapes them at the start and at the end
of the measured window, and the difference says, per stage, how many events took longer
than 50 and 100 ms in that window.
"""

from __future__ import annotations

import contextlib
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

# The stages of a send: the timeline writer's round (group commit, durable), each
# database command, each Redis call, the gateway's ack and the channel-layer fan-out.
STAGES = {
    "chat_writer_round_seconds": "writer round",
    "chat_db_command_seconds": "db",
    "chat_redis_seconds": "redis",
    "chat_ws_ack_seconds": "ack",
    "chat_fanout_seconds": "fan-out",
}
THRESHOLDS = (0.01, 0.025, 0.05, 0.1)


def scrape(port: int, token: str) -> dict[tuple[str, str], dict[float, float]]:
    """:func:`parse` of one process's ``/metrics``; {} when the process does not answer
    (a run must not fail for want of its diagnostics)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=5) as response:
        return parse(response.read().decode())
    return {}


def parse(text: str) -> dict[tuple[str, str], dict[float, float]]:
    """{(stage, labels): {bucket upper bound: cumulative count}} of the STAGES' histograms
    in a Prometheus exposition."""
    out: dict[tuple[str, str], dict[float, float]] = {}
    for family in text_string_to_metric_families(text):
        stage = STAGES.get(family.name)
        if stage is None:
            continue
        for sample in family.samples:
            if not sample.name.endswith("_bucket"):
                continue
            labels = {k: v for k, v in sample.labels.items() if k != "le"}
            key = (stage, ",".join(labels.values()))
            out.setdefault(key, {})[float(sample.labels["le"])] = sample.value
    return out


def tails(before: dict, after: dict) -> dict[str, dict[str, int]]:
    """Per stage seen in the window: its count and how many took longer than each of
    THRESHOLDS (from the histograms' buckets, which include each of them)."""
    out: dict[str, dict[str, int]] = {}
    for key, buckets in after.items():
        earlier = before.get(key, {})
        window = {le: n - earlier.get(le, 0.0) for le, n in buckets.items()}
        total = window.get(float("inf"), 0.0)
        if total <= 0:
            continue
        row = {"n": int(total)}
        for limit in THRESHOLDS:
            row[f">{int(limit * 1000)}ms"] = int(total - window.get(limit, total))
        out[f"{key[0]}{'[' + key[1] + ']' if key[1] else ''}"] = row
    return out


def merge(rows: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    """Several processes' tails summed per stage."""
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        for stage, counts in row.items():
            into = out.setdefault(stage, {})
            for name, value in counts.items():
                into[name] = into.get(name, 0) + value
    return out


def line(tail: dict[str, dict[str, int]]) -> str:
    """The stages that had any event over 50 ms, worst first."""
    slow = [(stage, c) for stage, c in tail.items() if c.get(">50ms")]
    slow.sort(key=lambda sc: (-sc[1][">50ms"], sc[0]))
    if not slow:
        return "server stages: none over 50 ms"
    return "server stages over 50/100 ms: " + ", ".join(
        f"{stage} {c['>50ms']}/{c['>100ms']} of {c['n']}" for stage, c in slow
    )
