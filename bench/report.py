"""Markdown tables of one bench/run.py results file (every run, one row each), for
docs/benchmarks.md: python bench/report.py bench/results/STAMP.json"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def cpu(row: dict, name: str) -> str:
    proc = (row.get("procs") or {}).get(name)
    return f"{proc['cpu_pct']}% / {proc['rss_mb']:.0f} MB" if proc else "-"


def servers_cpu(row: dict) -> str:
    procs = row.get("procs") or {}
    parts = [f"{procs[k]['cpu_pct']}%" for k in sorted(procs) if k.startswith("server")]
    return " + ".join(parts) or "-"


def idle_rows(rows: list[dict]) -> list[str]:
    out = [
        "| target | sockets | run | connected | failed | connect rate/s | handshake p50 / p99 ms "
        "| server MB per 1,000 | Redis MB per 1,000 | idle CPU server / Redis |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        hs = r["handshake_ms"]
        per = r.get("rss_mb_per_1000") or {}
        out.append(
            f"| {r['target']} | {r['n']} | {r['run']} | {r['connected']} | {r['failed']} "
            f"| {r['connect_rate']} | {hs['p50']} / {hs['p99']} | {per.get('server0', '-')} "
            f"| {per.get('redis', '-')} | {cpu(r, 'server0').split(' /')[0]} / "
            f"{cpu(r, 'redis').split(' /')[0]} |"
        )
    return out


def chat_rows(rows: list[dict]) -> list[str]:
    out = [
        "| scenario | target | R offered | acked/s | ack p50/p95/p99/max ms "
        "| fan-out p50/p95/p99/max ms | lost | dup | ooo | unacked | loop probe p99 ms "
        "| server CPU | MongoDB CPU | Redis CPU | DB ops/msg | client CPU | pass |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.get("setup_failed") or r.get("error"):
            out.append(f"| {r['scenario']} | {r['target']} | setup failed: {r} |")
            continue
        a, f = r["ack_ms"], r["fanout_ms"]
        bound = " (client-bound)" if r["client_bound"] else ""
        # the scenarios that compare transports (socketio, compat) name the row's
        transport = r.get("transport", "websocket")
        target = r["target"] + ("" if transport == "websocket" else f" ({transport})")
        out.append(
            f"| {r['scenario']} | {target} | {r['offered_rate']:g} | {r['achieved_rate']} "
            f"| {a['p50']}/{a['p95']}/{a['p99']}/{a['max']} "
            f"| {f['p50']}/{f['p95']}/{f['p99']}/{f['max']} "
            f"| {r['lost']} | {r['duplicated']} | {r['out_of_order']} | {r['unacked']} "
            f"| {r['probe_ms']['p99']} | {servers_cpu(r)} | {cpu(r, 'mongodb').split(' /')[0]} "
            f"| {cpu(r, 'redis').split(' /')[0]} | {r.get('db_ops_per_msg', '-')} "
            f"| {r['client_cpu_pct']}%{bound} | {'yes' if r.get('passed') else 'no'} |"
        )
    return out


def http_rows(rows: list[dict]) -> list[str]:
    out = [
        "| scenario | what | concurrency | run | requests | req/s | p50 ms | p99 ms | max ms "
        "| statuses | server CPU | MongoDB CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lat = r["latency_ms"]
        what = r.get("page") or f"{r.get('room_messages')} messages"
        out.append(
            f"| {r['scenario']} | {what} | {r['concurrency']} | {r['run']} | {r['requests']} "
            f"| {r['per_s']} | {lat['p50']} | {lat['p99']} | {lat['max']} | {r['statuses']} "
            f"| {servers_cpu(r)} | {cpu(r, 'mongodb').split(' /')[0]} |"
        )
    return out


def main() -> None:
    rows = json.loads(Path(sys.argv[1]).read_text())
    idle = [r for r in rows if r.get("mode") == "idle"]
    chat = [r for r in rows if r.get("mode") == "chat"]
    http = [r for r in rows if r.get("mode") == "http"]
    sync = [r for r in rows if r.get("mode") == "sync"]
    for table in (idle_rows(idle) if idle else [], chat_rows(chat) if chat else []):
        print("\n".join(table) + "\n")
    if http:
        print("\n".join(http_rows(http)) + "\n")
    for r in sync:
        lat = r["latency_ms"]
        print(
            f"- sync from {r['behind']} behind, run {r['run']}: {r['runs']} syncs, "
            f"p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms, "
            f"events {sorted(set(r['events_received']))}, failures {r['failures']}"
        )
    for r in rows:
        if "knee" in r:
            print(
                f"- {r['scenario']} {r['target']}: knee {r['knee']} msg/s, first miss {r['miss']}"
            )
        if r.get("status"):
            print(f"- {r['scenario']}: {r['status']}")
        if "cpu_ms_per_msg" in r:  # socketio, compat: the server's CPU ms per acked message
            runs = "; ".join(f"{k} {v}" for k, v in r["cpu_ms_per_msg"].items())
            first, second = r["cpu_ms_per_msg"]
            target = f" (target <= {r['target_ratio']})" if "target_ratio" in r else ""
            print(
                f"- {r['scenario']}: server CPU ms per message, clean runs: {runs}; "
                f"{second}/{first} = {r['ratio']}{target}"
            )
        if r.get("scenario") == "search-explain":
            print(f"- explain ({r['room_messages']} messages): `{r['explain'][:1500]}`")


if __name__ == "__main__":
    main()
