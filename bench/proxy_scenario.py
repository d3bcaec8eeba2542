"""Scenario ``proxy`` of bench/run.py (issue 17): the chat scenario through HAProxy
(``deploy/haproxy.cfg``, ``chat_project.dev.proxy``) in front of one and of three daphne
processes, in turns, at each rate of ``--proxy-rate``. The figures: acked msg/s, ack
and fan-out latency, and CPU per acked message of the gateway processes together, of
HAProxy, and of everything on the machine but the generator (the stores included).
"""

from __future__ import annotations

import time
from typing import Any


class ProxiedTarget:
    """N daphne processes behind one HAProxy; the generator sees only the proxy."""

    def __init__(self, bench: Any, processes: int) -> None:
        from chat_project.dev.proxy import Proxy

        self.product = bench.start_product(processes)
        self.proxy = Proxy(self.product.ports).start()
        self.name = f"proxy x{processes}"
        self.procs = self.product.procs
        self.metrics_ports = self.product.metrics_ports  # the stage histograms, per process

    @property
    def urls(self) -> list[str]:
        return [self.proxy.ws_url]

    @property
    def origin(self) -> str:
        return self.proxy.http_url

    def stop(self) -> None:
        self.proxy.stop()
        self.product.stop()


def cpu_split(res: dict) -> dict:
    """CPU ms per acked message: gateways, proxy, everything but the generator."""
    procs, acked = res.get("procs") or {}, res.get("acked") or 0
    if not acked or not procs:
        return {}
    per_msg = res["duration_s"] * 1000 / acked / 100  # cpu_pct -> ms per message

    def of(names: list[str]) -> float:
        return round(sum(procs[n]["cpu_pct"] for n in names) * per_msg, 2)

    servers = [n for n in procs if n.startswith("server")]
    return {
        "gateways_ms": of(servers),
        "proxy_ms": of(["haproxy"]) if "haproxy" in procs else None,
        "all_but_generator_ms": of([n for n in procs if n != "loadgen"]),
    }


def scenario_proxy(bench: Any) -> None:
    chats = bench.args.chats
    duration = 5 if bench.quick else 15
    rates = [float(r) for r in bench.args.proxy_rate.split(",")]
    targets = {n: ProxiedTarget(bench, n) for n in (1, 3)}
    try:
        for rate in rates:
            for run in (1, 2):  # in turns: the machine is shared
                order = (1, 3) if run == 1 else (3, 1)
                for processes in order:
                    target = targets[processes]
                    seeded = bench.seed("chat", "--customers", str(chats), "--per-agent", "5")
                    bench.wait_idle(target)
                    tag = next(bench.tags)
                    cfg = bench.chat_cfg(seeded, rate, duration, tag)
                    res = bench.loadgen(target, cfg)
                    res.update(cpu_split(res))
                    row = bench.record(
                        "proxy", target, res, run=run, chats=chats, processes=processes
                    )
                    print(
                        f"   cpu/msg: gateways {row.get('gateways_ms')} ms, haproxy "
                        f"{row.get('proxy_ms')} ms, all but the generator "
                        f"{row.get('all_but_generator_ms')} ms",
                        flush=True,
                    )
                    if res.get("unacked") or res.get("lost"):
                        # An overloaded run leaves a backlog: fresh processes for the next.
                        target.stop()
                        time.sleep(1)
                        targets[processes] = ProxiedTarget(bench, processes)
    finally:
        for target in targets.values():
            target.stop()
