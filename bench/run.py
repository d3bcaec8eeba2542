"""Benchmark runner (issue 8): starts the server the way users do and drives it with the
Node load generator (bench/loadgen.mjs), the pure-asyncio reference server first.

    .venv/bin/python bench/run.py                      # every scenario (~20 min)
    .venv/bin/python bench/run.py --scenario chat,knee # some of them
    .venv/bin/python bench/run.py --quick              # short smoke run (~3 min)

Scenarios: idle, chat, knee, knee2 (two server processes), routing, routing-teams (the
routing burst with three teams whose agents overlap, issue 15), history, search,
socketio (the chat scenario over Socket.IO beside plain WebSocket, issue 14), sendonly
(sends alone, 100 rooms, issue 29), stall (the chat workload through a 1 s database
stop, issue 29), reconnect (5,000 sockets back at once, issue 29), proxy (the
chat scenario through HAProxy with one and with three processes, issue 17:
bench/proxy_scenario.py), compat (the chat scenario in the reference backend's shapes on
the compatibility edge's namespace /compat beside the product's own Socket.IO namespace,
issue 27: server CPU per message, on a server started with COMPAT_ENABLED=1), webhooks
(the sendonly load with no webhook endpoints, then with ``--webhooks`` of them, issue 30).
The database and Valkey are the embedded servers (chat_project.dev.servers, a fresh data
folder per run) unless MONGODB_URI and REDIS_URL are set. daphne is started as ./run.sh
starts it (DJANGO_DEBUG=0 with a random key per run, the per-socket rate limit raised so
that the generator is not throttled: agents carry 5 chats each).

Every run is printed as one line and appended to bench/results/<stamp>.json; the summary
table at the end is what docs/benchmarks.md records. All traffic goes to 127.0.0.1; every
loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import server_metrics  # bench/, beside this script

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"  # stays in this checkout even with --from-head
PY = sys.executable
NODE = shutil.which("node") or "node"

SLOW_FLUSH = re.compile(r"journal flush took (\d+) ms")
PROJECT_FRAME = re.compile(r"[ (/](chat|accounts|chat_project|agents)/[a-z_/]+\.py")

# Scenario socketio connects at this rate (scenario 1's is 100/s; see socketio_idle).
SOCKETIO_CONNECT_RATE = 50

# Scenario compat: the page the reference frontend is served from (as ./run.sh allows it),
# a compatibility origin, so its sockets come in as the frontend's do: without a cookie.
COMPAT_ORIGIN = "http://127.0.0.1:3001"
COMPAT_ENV = {"COMPAT_ENABLED": "1", "COMPAT_ALLOWED_ORIGINS": COMPAT_ORIGIN}
# Issue 27's target: the edge costs at most this many times the server CPU per message
# of the product's own Socket.IO namespace.
COMPAT_CPU_RATIO_TARGET = 1.25

# Targets of issue 8.
FANOUT_P99_MS = 50
ACK_P99_MS = 100

# A knee step lasts until about this many messages were sent, 10 to 60 s.
KNEE_STEP_MESSAGES = 1_000
KNEE_STEP_MAX_S = 60.0

METRICS_TOKEN = "bench"  # the product's /metrics, for bench/server_metrics.py


def ensure_tools() -> None:
    try:
        import psutil  # noqa: F401
    except ImportError:  # bench-only dependency: not in pyproject's main deps
        subprocess.run([PY, "-m", "pip", "install", "--quiet", "psutil"], check=True)
    if not all((BENCH / "node_modules" / m).exists() for m in ("ws", "socket.io-client")):
        subprocess.run(["npm", "ci", "--silent"], cwd=BENCH, check=True, timeout=300)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):  # 5,000 sockets on each side
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- processes and their CPU / memory ------------------------------------------------------


class Stats:
    """CPU and RSS of named processes (psutil), between two snapshots."""

    def __init__(self, procs: dict[str, int]) -> None:
        import psutil

        self.procs = {name: psutil.Process(pid) for name, pid in procs.items()}

    def snapshot(self) -> dict:
        snap = {"t": time.monotonic()}
        for name, proc in self.procs.items():
            try:
                cpu = proc.cpu_times()
                snap[name] = (cpu.user + cpu.system, proc.memory_info().rss)
            except Exception:
                snap[name] = (0.0, 0)
        return snap

    @staticmethod
    def delta(a: dict, b: dict) -> dict:
        wall = max(1e-6, b["t"] - a["t"])
        out = {}
        for name in a:
            if name == "t":
                continue
            out[name] = {
                "cpu_pct": round((b[name][0] - a[name][0]) / wall * 100, 1),
                "cpu_s": round(b[name][0] - a[name][0], 3),
                "rss_mb": round(b[name][1] / 2**20, 1),
            }
        return out

    def wait_idle(self, names: list[str], *, threshold: float = 10.0, limit_s: float = 30) -> float:
        """Wait (bounded) until the named processes together use < threshold % CPU."""
        started = time.monotonic()
        while time.monotonic() - started < limit_s:
            a = self.snapshot()
            time.sleep(1.0)
            d = self.delta(a, self.snapshot())
            if sum(d[n]["cpu_pct"] for n in names if n in d) < threshold:
                break
        return round(time.monotonic() - started, 1)


class Target:
    """A server under test: the product (daphne x N) or the reference server."""

    def __init__(
        self,
        name: str,
        ports: list[int],
        procs: list[subprocess.Popen],
        metrics_ports: list[int] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.ports = ports
        self.procs = procs
        self.metrics_ports = metrics_ports or []  # the product's (METRICS_PORT), per process
        self.extra_env = extra_env or {}  # what it was started with beyond Bench.env

    @property
    def urls(self) -> list[str]:
        return [f"ws://127.0.0.1:{p}/ws/chat/" for p in self.ports]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick = args.quick
        self.stamp = time.strftime("%Y%m%d-%H%M%S")
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-"))
        self.results: list[dict] = []
        self.out = RESULTS / f"{self.stamp}.json"
        self.out.parent.mkdir(exist_ok=True)
        self.servers = None
        self.env = dict(os.environ)
        self.server_pids: dict[str, int] = {}
        self.profilers: list[threading.Thread] = []
        self.tags = (f"{self.stamp[-6:]}{i}" for i in range(10_000))

    # -- servers

    def start_backing_servers(self) -> None:
        sys.path.insert(0, str(ROOT))
        from chat_project.dev.servers import start_servers

        data = None if self.args.memory else self.workdir / "data"
        if data is not None:
            data.mkdir()
        self.servers = start_servers(data_dir=data, log_dir=self.workdir)
        self.env.update(self.servers.environ())
        for server in self.servers.started:
            self.server_pids[server.name] = server.process.pid
        self.env.update(
            PYTHONPATH=str(ROOT),  # this checkout, not whatever .venv's editable install names
            DJANGO_SETTINGS_MODULE="chat_project.settings",
            DJANGO_DEBUG="0",
            # DEBUG off needs a strong key; one per run, shared with bench/seed.py, which
            # writes the sessions the server reads.
            DJANGO_SECRET_KEY=self.env.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
            LOG_LEVEL="WARNING",
            # Agents carry 5 chats: at 600 msg/s over 200 chats an agent sends ~40
            # frames/s (messages, typing, receipts), over the default 10/s per socket.
            WS_RATE_PER_SECOND=str(self.args.ws_rate),
            WS_RATE_BURST=str(self.args.ws_rate),
            # ...and the user's budget across their sockets (issue 28) the same.
            USER_BUDGET_PER_SECOND=str(self.args.ws_rate),
            USER_BUDGET_BURST=str(self.args.ws_rate),
            # The webhooks scenario's receiver is on 127.0.0.1, which production refuses.
            WEBHOOK_BLOCK_PRIVATE_ADDRESSES="0",
            # Each run seeds fresh agents and leaves the previous run's rooms active with
            # agents who are gone; routing would re-route all of them after the grace
            # period, in the middle of the next run. The chat scenarios measure messaging,
            # so the grace is longer than a whole benchmark (routing has its own scenario).
            AGENT_GONE_GRACE_SECONDS="86400",
            METRICS_TOKEN=METRICS_TOKEN,  # bench/server_metrics.py reads the stage histograms
        )
        subprocess.run(
            [PY, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=300,
        )

    def start_product(self, processes: int = 1, extra_env: dict[str, str] | None = None) -> Target:
        """``extra_env``: settings for this server only (scenario compat's
        ``COMPAT_ENABLED``), kept when it is restarted."""
        ports, procs = [free_port() for _ in range(processes)], []
        metrics_ports = [free_port() for _ in ports]  # /metrics is served there only
        # The load generator's sockets all say they come from the first process's origin
        # (Target.origin); the others allow it (scheme, host and port are matched).
        env = {
            **self.env,
            "WS_ALLOWED_ORIGINS": f"http://127.0.0.1:{ports[0]}",
            **(extra_env or {}),
        }
        for port, metrics_port in zip(ports, metrics_ports, strict=True):
            log = open(self.workdir / f"daphne-{port}.log", "ab")  # noqa: SIM115
            cmd = [PY, "-m", "chat_project.serve", "-b", "127.0.0.1", "-p", str(port)]
            limit = self.env.get("WS_TRANSPORT_MAX_BYTES", "131072")  # as ./run.sh starts it
            cmd += ["--websocket-max-message-size", limit, "--websocket-max-frame-size", limit]
            procs.append(
                subprocess.Popen(
                    [*cmd, self.args.asgi],
                    cwd=ROOT,
                    env={**env, "METRICS_PORT": str(metrics_port)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        for port, proc in zip(ports, procs, strict=True):
            self._wait_http(f"http://127.0.0.1:{port}/api/health", proc)
        name = f"product x{processes}" if processes > 1 else "product"
        return Target(name, ports, procs, metrics_ports, extra_env)

    def start_reference(self) -> Target:
        port = free_port()
        proc = subprocess.Popen(
            [PY, str(BENCH / "reference_server.py"), str(port)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "reference.log", "ab"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            time.sleep(0.1)
        return Target("reference", [port], [proc])

    def _wait_http(self, url: str, proc: subprocess.Popen, limit_s: float = 60) -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited ({proc.returncode}); see {self.workdir}")
            with contextlib.suppress(Exception), urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{url} did not answer within {limit_s}s")

    def stats_for(self, target: Target, loadgen_pid: int | None = None) -> Stats:
        procs = {f"server{i}": p.pid for i, p in enumerate(target.procs)}
        if target.name != "reference":
            procs.update(self.server_pids)
        proxy = getattr(target, "proxy", None)
        if proxy is not None and proxy.process is not None:
            procs["haproxy"] = proxy.process.pid
        if loadgen_pid:
            procs["loadgen"] = loadgen_pid
        return Stats(procs)

    def wait_idle(self, target: Target) -> float:
        stats = self.stats_for(target)
        return stats.wait_idle(list(stats.procs))

    # -- seeding and the generator

    def seed(self, command: str, *args: str) -> dict:
        out = self.workdir / f"seed-{next(self.tags)}.json"
        tag = out.stem.split("-", 1)[1]
        subprocess.run(
            [PY, str(BENCH / "seed.py"), command, "--tag", tag, "--out", str(out), *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=600,
        )
        return json.loads(out.read_text())

    def loadgen(
        self, target: Target, cfg: dict, *, deadline_s: float = 400, on_measure_start=None
    ) -> dict:
        """Run the generator; snapshot CPU/RSS at its MEASURE/HOLD markers
        (``on_measure_start()`` is called at MEASURE_START: the stall scenario)."""
        cfg = {"origin": target.origin, "urls": target.urls, "deadline_s": deadline_s, **cfg}
        path = self.workdir / f"loadgen-{next(self.tags)}.json"
        path.write_text(json.dumps(cfg))
        proc = subprocess.Popen(
            [NODE, str(BENCH / "loadgen.mjs"), str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stats = self.stats_for(target, proc.pid)
        before = stats.snapshot()  # RSS before the sockets connect
        marks: dict[str, dict] = {}
        db_marks: dict[str, dict] = {}
        stage_marks: dict[str, list[dict]] = {}
        flush_marks: dict[str, list[int]] = {}
        result: dict = {}
        stderr: list[str] = []
        threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True).start()
        timer = threading.Timer(deadline_s + 30, proc.kill)
        timer.start()
        try:
            for line in proc.stdout:
                line = line.strip()
                if line in ("MEASURE_START", "MEASURE_END", "HOLD_START", "HOLD_END"):
                    marks[line] = stats.snapshot()
                    if target.name != "reference":
                        db_marks[line] = self.db_ops()
                        stage_marks[line] = [
                            server_metrics.scrape(port, METRICS_TOKEN)
                            for port in target.metrics_ports
                        ]
                        flush_marks[line] = self.slow_flushes()
                if line == "MEASURE_START" and on_measure_start is not None:
                    on_measure_start()
                if line == "MEASURE_START" and self.args.profile and target.name != "reference":
                    self.profile(target, cfg.get("duration_s", 10))
                elif line.startswith("RESULT "):
                    result = json.loads(line[7:])
            proc.wait(timeout=60)
        finally:
            timer.cancel()
        if not result:
            result = {"error": "loadgen failed", "stderr": "".join(stderr)[-2000:]}
        start = marks.get("MEASURE_START") or marks.get("HOLD_START")
        end = marks.get("MEASURE_END") or marks.get("HOLD_END")
        db_a, db_b = db_marks.get("MEASURE_START"), db_marks.get("MEASURE_END")
        if db_a and db_b:  # database operations in the window, per acked message
            ops = {k: db_b[k] - db_a.get(k, 0) for k in db_b}
            result["db_ops"] = ops
            if result.get("acked"):
                result["db_ops_per_msg"] = round(sum(ops.values()) / result["acked"], 1)
        stages_a, stages_b = stage_marks.get("MEASURE_START"), stage_marks.get("MEASURE_END")
        if stages_a and stages_b:
            result["server_stages"] = server_metrics.merge(
                [server_metrics.tails(a, b) for a, b in zip(stages_a, stages_b, strict=True)]
            )
        flushes_a, flushes_b = flush_marks.get("MEASURE_START"), flush_marks.get("MEASURE_END")
        if flushes_a is not None and flushes_b is not None:
            result["slow_journal_flushes_ms"] = flushes_b[len(flushes_a) :]
        if start and end:
            result["procs"] = Stats.delta(start, end)
            result["rss_before_mb"] = {
                k: round(v[1] / 2**20, 1) for k, v in before.items() if k != "t"
            }
        return result

    def slow_flushes(self) -> list[int]:
        """The embedded database's slow journal flushes so far, in ms (its log:
        ``chat_project.patches.secantus_bulk_write``)."""
        log = self.workdir / "secantusdb.log"
        with contextlib.suppress(OSError):
            return [int(m) for m in SLOW_FLUSH.findall(log.read_text(errors="replace"))]
        return []

    def db_ops(self) -> dict:
        """The database's opcounters (serverStatus), or {} when unavailable."""
        try:
            from pymongo import MongoClient

            client = MongoClient(self.env["MONGODB_URI"], serverSelectionTimeoutMS=2000)
            try:
                return dict(client.admin.command("serverStatus").get("opcounters") or {})
            finally:
                client.close()
        except Exception:
            return {}

    def profile(self, target: Target, seconds: float) -> None:
        """py-spy on the first server process and on the embedded database while the
        generator measures; each summary (top self and inclusive frames) is printed when
        it finishes."""
        spy = Path(PY).parent / "py-spy"
        if not spy.exists():
            subprocess.run([PY, "-m", "pip", "install", "--quiet", "py-spy"], check=True)
        pids = {"server": target.procs[0].pid}
        if "mongodb" in self.server_pids:
            pids["mongodb"] = self.server_pids["mongodb"]
        for name, pid in pids.items():
            out = self.workdir / f"profile-{name}-{next(self.tags)}.txt"
            cmd = [str(spy), "record", "-r", "200", "-d", str(int(seconds)), "-p", str(pid)]
            # --gil: only the thread holding the GIL, i.e. where Python CPU goes (waits
            # drop out).
            cmd += ["--format", "raw", "-o", str(out), "--threads", "--nonblocking", "--gil"]

            def run(cmd: list[str] = cmd, out: Path = out, name: str = name) -> None:
                subprocess.run(cmd, capture_output=True, timeout=seconds + 60)
                print(f"[{name}] {summarize_profile(out)}", flush=True)

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            self.profilers.append(thread)

    def record(self, scenario: str, target: Target, result: dict, **extra) -> dict:
        load = ",".join(f"{x:.1f}" for x in os.getloadavg())  # the machine is shared
        row = {"scenario": scenario, "target": target.name, **extra, **result, "loadavg": load}
        self.results.append(row)
        self.out.write_text(json.dumps(self.results, indent=1))
        print(f"[{scenario}] {target.name}: {summarize(row)} load={load}", flush=True)
        return row

    # -- scenarios

    def scenario_idle(self, product: Target, reference: Target) -> None:
        sizes = [200, 500] if self.quick else [int(n) for n in self.args.idle_sizes.split(",")]
        hold = 5 if self.quick else self.args.idle_hold
        ref_hold = 5 if self.quick else 10  # the reference idles at ~0% CPU
        rate = self.args.connect_rate
        for n in sizes:
            for run in (1, 2):
                for target in (reference, product):
                    # A fresh process per run: RSS never shrinks, so growth measured on a
                    # reused process undercounts the memory per socket.
                    if target is product:
                        self.restart(product)
                    else:
                        self.restart_reference(reference)
                    self.wait_idle(target)
                    if target is product:
                        users = self.seed("users", "--count", str(n))["users"]
                    else:
                        users = [{"cookie": f"sessionid=ref{i}"} for i in range(n)]
                    cfg = {
                        "mode": "idle",
                        "sockets": n,
                        "connect_rate": rate,
                        "hold_s": hold if target is product else ref_hold,
                        "users": users,
                    }
                    res = self.loadgen(target, cfg)
                    per_k = {}
                    for name, proc in (res.get("procs") or {}).items():
                        if name == "loadgen":
                            continue
                        grown = proc["rss_mb"] - res["rss_before_mb"].get(name, 0)
                        per_k[name] = round(grown / max(1, res.get("connected", 0)) * 1000, 1)
                    res["rss_mb_per_1000"] = per_k
                    self.record("idle", target, res, run=run, n=n)

    def chat_cfg(self, seeded: dict, rate: float, duration: float, tag: str) -> dict:
        return {
            "mode": "chat",
            "users": seeded["users"],
            "rooms": seeded["rooms"],
            "probe": seeded["probe"],
            "rate": rate,
            "duration_s": duration,
            "warmup_s": 2 if self.quick else 3,
            "tag": tag,
            "typing": True,
            "receipts": True,
        }

    def chat_once(
        self, target: Target, rate: float, duration: float, chats: int, **cfg_extra
    ) -> dict:
        tag = next(self.tags)
        if target.name == "reference":
            per_agent = 5
            agents = -(-chats // per_agent)
            seeded = {
                "users": [{"cookie": f"sessionid=r{tag}-{i}"} for i in range(agents + chats + 1)],
                "probe": agents + chats,
                "rooms": [
                    {"id": f"r{tag}-{i}", "agent": i // per_agent, "customer": agents + i}
                    for i in range(chats)
                ],
            }
        else:
            seeded = self.seed("chat", "--customers", str(chats), "--per-agent", "5")
        self.wait_idle(target)
        res = self.loadgen(target, {**self.chat_cfg(seeded, rate, duration, tag), **cfg_extra})
        if target.name != "reference" and (res.get("unacked") or res.get("lost")):
            # An overloaded server keeps working off its backlog for minutes; restart it
            # so that the next run starts clean.
            self.restart(target)
            res["server_restarted_after"] = True
        return res

    def restart_reference(self, target: Target) -> None:
        target.stop()
        fresh = self.start_reference()
        target.ports, target.procs = fresh.ports, fresh.procs

    def restart(self, target: Target) -> None:
        target.stop()
        fresh = self.start_product(len(target.procs), target.extra_env)
        target.ports, target.procs = fresh.ports, fresh.procs
        target.metrics_ports = fresh.metrics_ports

    def scenario_chat(self, product: Target, reference: Target) -> None:
        chats = self.args.chats
        duration = 5 if self.quick else 15
        for rate in (float(r) for r in self.args.rate.split(",")):
            for run in (1, 2):
                for target in (reference, product):
                    res = self.chat_once(target, rate, duration, chats)
                    extra = cpu_per_message(res) if target is product else {}
                    self.record(
                        "chat", target, res, run=run, chats=chats, passed=passes(res), **extra
                    )

    def scenario_socketio(self, product: Target) -> None:
        """Issue 14: the chat scenario over Socket.IO (/socket.io/, the npm
        socket.io-client) beside plain WebSocket (/ws/chat/), alternating, at rates
        below the knee; the figure is the server's CPU per acked message. Then idle
        sockets over both (memory per socket, as scenario 1 measures it)."""
        self.socketio_chat(product)
        self.socketio_idle(product)

    def scenario_sendonly(self, product: Target) -> None:
        """Issue 29's design load: 100 rooms of two, Poisson sends with ack, nothing else
        (no typing, no receipts), at ``--sendonly-rate``; delivery p99 <= 50 ms and
        nothing lost is the bar."""
        duration = 5 if self.quick else 20
        for rate in (float(r) for r in self.args.sendonly_rate.split(",")):
            for run in (1, 2):
                res = self.chat_once(product, rate, duration, 100, typing=False, receipts=False)
                self.record(
                    "sendonly",
                    product,
                    res,
                    run=run,
                    chats=100,
                    passed=passes(res),
                    **cpu_per_message(res),
                )

    def webhook_endpoints(self, count: int, url: str) -> None:
        """Leave exactly ``count`` webhook endpoints (``--webhooks-kinds``, customer scope)
        pointing at ``url``, registered through the product's own service as an admin."""
        kinds = self.args.webhooks_kinds
        wanted = "list(WebhookKind.values)" if kinds == "all" else repr(kinds.split(","))
        code = (
            "from accounts.models import User\n"
            "from integrations import services\n"
            "from integrations.models import WebhookEndpoint, WebhookKind\n"
            "admin = User.objects.filter(username='bench-webhooks').first()\n"
            "if admin is None:\n"
            "    admin = User(username='bench-webhooks', email='w@bench.invalid', role='admin')\n"
            "    admin.set_unusable_password(); admin.save()\n"
            "for e in WebhookEndpoint.objects.all():\n"
            "    services.endpoint_delete(actor=admin, endpoint_id=e.pk)\n"
            f"for n in range({count}):\n"
            f"    services.endpoint_create(actor=admin, url='{url}?n=%d' % n, kinds={wanted})\n"
        )
        subprocess.run(
            [PY, "manage.py", "shell", "-c", code], cwd=ROOT, env=self.env, check=True, timeout=120
        )

    def scenario_webhooks(self, product: Target) -> None:
        """Issue 30: sending costs no more with ``--webhooks`` endpoints registered than
        with none. The sendonly load (100 rooms of two, sends with ack) at
        ``--webhooks-rate``, with 0 then N endpoints that point at a receiver in this
        process (it answers 200 at once), twice. The worker runs as the product runs it by
        default, inside the gateway (WEBHOOKS_IN_GATEWAY), so the gateway's CPU includes
        delivering; with ``--webhooks-worker process`` it is ``manage.py run_webhooks``
        beside it, and its CPU is reported apart."""
        receiver = subprocess.Popen(
            [PY, str(ROOT / "bench" / "webhook_receiver.py")], stdout=subprocess.PIPE, text=True
        )
        port = int(receiver.stdout.readline())
        self.server_pids["receiver"] = receiver.pid

        def received() -> int:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=10) as r:
                return int(r.read())

        url = f"http://127.0.0.1:{port}/hook"
        in_process = self.args.webhooks_worker == "process"
        worker = None
        if in_process:  # the same target, started again without the worker inside
            product.extra_env = {**(product.extra_env or {}), "WEBHOOKS_IN_GATEWAY": "0"}
            self.restart(product)
            worker = subprocess.Popen([PY, "manage.py", "run_webhooks"], cwd=ROOT, env=self.env)
            self.server_pids["webhooks"] = worker.pid
        duration = 5 if self.quick else 20
        rate = float(self.args.webhooks_rate)
        try:
            for run in (1, 2):
                for endpoints in (0, self.args.webhooks):
                    self.webhook_endpoints(endpoints, url)
                    before = received()
                    res = self.chat_once(product, rate, duration, 100, typing=False, receipts=False)
                    in_window = received() - before
                    # How long the worker takes to deliver the rest: until the count has
                    # not moved for 3 s (at most 120 s).
                    ended, last, moved_at = time.monotonic(), in_window, time.monotonic()
                    while time.monotonic() - moved_at < 3 and time.monotonic() - ended < 120:
                        time.sleep(0.25)
                        now_count = received() - before
                        if now_count != last:
                            last, moved_at = now_count, time.monotonic()
                    catch_up_s = round(max(0.0, moved_at - ended), 1) if last != in_window else 0.0
                    extra = cpu_per_message(res)
                    worker_cpu = (res.get("procs") or {}).get("webhooks", {}).get("cpu_pct")
                    if worker_cpu is not None and res.get("acked"):
                        extra["worker_ms"] = round(
                            worker_cpu / 100 * res["duration_s"] * 1000 / res["acked"], 2
                        )
                    self.record(
                        "webhooks",
                        product,
                        res,
                        run=run,
                        endpoints=endpoints,
                        worker=self.args.webhooks_worker,
                        kinds=self.args.webhooks_kinds,
                        webhooks_received=last,
                        webhooks_in_window=in_window,
                        webhooks_catch_up_s=catch_up_s,
                        passed=passes(res),
                        **extra,
                    )
                    print(
                        f"[webhooks] endpoints={endpoints} kinds={self.args.webhooks_kinds} "
                        f"run={run} "
                        f"gateway CPU {extra.get('server_ms')} ms/msg, "
                        f"ack p99 {res.get('ack_ms', {}).get('p99')} ms, "
                        f"worker {extra.get('worker_ms', 'in gateway')} ms/msg, "
                        f"webhooks received {in_window} in the window, {last} in all "
                        f"({catch_up_s} s after it)",
                        flush=True,
                    )
        finally:
            self.webhook_endpoints(0, url)
            receiver.kill()
            receiver.wait(10)
            self.server_pids.pop("receiver", None)
            if worker is not None:
                worker.terminate()
                worker.wait(30)
                self.server_pids.pop("webhooks", None)
                product.extra_env.pop("WEBHOOKS_IN_GATEWAY")
                self.restart(product)

    def scenario_stall(self, product: Target) -> None:
        """Issue 29: the chat workload at 100 msg/s with the database stopped (SIGSTOP)
        for ``--stall-seconds`` a few seconds into the measured window; per second, the
        acks' p99, and how long after the resume it stays under 100 ms."""
        import signal

        pid = self.server_pids.get("mongodb")
        if pid is None:
            raise SystemExit("stall: needs the embedded database (MONGODB_URI is set)")
        stall_at, stall_s = 5.0, self.args.stall_seconds
        duration = 20
        for run in (1, 2):
            seeded = self.seed("chat", "--customers", str(self.args.chats), "--per-agent", "5")
            self.wait_idle(product)
            tag = next(self.tags)
            cfg = {**self.chat_cfg(seeded, 100, duration, tag), "series": True}
            # SIGSTOP and SIGCONT, timed from the generator's MEASURE_START
            timers = [
                threading.Timer(stall_at, os.kill, (pid, signal.SIGSTOP)),
                threading.Timer(stall_at + stall_s, os.kill, (pid, signal.SIGCONT)),
            ]
            try:
                res = self.loadgen(
                    product, cfg, on_measure_start=lambda ts=timers: [t.start() for t in ts]
                )
            finally:
                for timer in timers:
                    if timer.is_alive() or timer.finished.is_set():
                        timer.join()
                os.kill(pid, signal.SIGCONT)
            resumed = stall_at + stall_s
            fast_again = None
            for row in res.get("series") or []:
                slow = row["ack_p99"] is not None and row["ack_p99"] > ACK_P99_MS
                if row["s"] >= resumed - 1 and slow:
                    fast_again = None
                elif row["s"] >= resumed and fast_again is None:
                    fast_again = row["s"]
            res["stall"] = {
                "at_s": stall_at,
                "seconds": stall_s,
                # the first whole second, after the resume, from which every second's ack
                # p99 is under ACK_P99_MS, counted from the resume
                "ack_p99_fast_again_after_s": (
                    None if fast_again is None else round(fast_again - resumed, 1)
                ),
            }
            series = " ".join(f"{row['s']}:{row['ack_p99']}" for row in res.get("series") or [])
            print(f"[stall] ack p99 per second (s:ms): {series}", flush=True)
            self.record("stall", product, res, run=run, passed=passes(res), **cpu_per_message(res))
            if res.get("unacked") or res.get("lost"):
                self.restart(product)

    def scenario_reconnect(self, product: Target) -> None:
        """Issue 29: ``--reconnect-sockets`` authenticated sockets dropped and opened again
        at once (a deploy, a network blip): how long until every one is back, how many
        handshakes were refused as busy (4013) and retried, and the server's CPU per
        socket over the storm."""
        n = 500 if self.quick else self.args.reconnect_sockets
        for run in (1, 2):
            self.restart(product)
            self.wait_idle(product)
            users = self.seed("users", "--count", str(n))["users"]
            cfg = {
                "mode": "reconnect",
                "sockets": n,
                "connect_rate": self.args.connect_rate,
                "hold_s": 3,
                "users": users,
            }
            res = self.loadgen(product, cfg, deadline_s=900)
            procs = res.get("procs") or {}
            cpu_s = sum(
                proc.get("cpu_s", 0) for name, proc in procs.items() if name.startswith("server")
            )
            tries = max(1, res.get("back", 0) + res.get("refused", 0))
            res["server_cpu_ms_per_socket"] = round(cpu_s * 1000 / max(1, res.get("back", 0)), 2)
            res["server_cpu_ms_per_handshake"] = round(cpu_s * 1000 / tries, 2)
            print(
                f"[reconnect] {res.get('back')}/{n} back in {res.get('all_back_s')} s "
                f"(half in {res.get('half_back_s')} s), refused {res.get('refused')} "
                f"{res.get('refusals')}, server CPU {res['server_cpu_ms_per_socket']} ms "
                f"per socket back ({res['server_cpu_ms_per_handshake']} per handshake tried)",
                flush=True,
            )
            self.record("reconnect", product, res, run=run, n=n)

    def socketio_idle(self, product: Target) -> None:
        """Idle sockets over each transport, a fresh process per run: RSS per socket, and
        the server's CPU per socket over the whole run (handshake, hold, close)."""
        n = 200 if self.quick else 1000
        hold = 5 if self.quick else 10
        for run in (1, 2):
            order = ("websocket", "socketio") if run == 1 else ("socketio", "websocket")
            for transport in order:
                self.restart(product)  # RSS never shrinks: a fresh process per run
                self.wait_idle(product)
                users = self.seed("users", "--count", str(n))["users"]
                cfg = {
                    "mode": "idle",
                    "transport": transport,
                    "sockets": n,
                    # Half scenario 1's rate: 100/s is at this machine's handshake
                    # capacity when it is shared, and the point here is memory.
                    "connect_rate": SOCKETIO_CONNECT_RATE,
                    "hold_s": hold,
                    "users": users,
                }
                if transport == "socketio":
                    cfg["urls"] = [f"http://127.0.0.1:{p}" for p in product.ports]
                stats = self.stats_for(product)
                before = stats.snapshot()
                res = self.loadgen(product, cfg)
                time.sleep(2)  # the server closes the sockets
                after = stats.snapshot()
                cpu_ms = (after["server0"][0] - before["server0"][0]) * 1000
                res["server_cpu_ms_per_socket"] = round(cpu_ms / max(1, res.get("connected", 0)), 2)
                per_k = {}
                for name, proc in (res.get("procs") or {}).items():
                    if name.startswith("server"):
                        grown = proc["rss_mb"] - res["rss_before_mb"].get(name, 0)
                        per_k[name] = round(grown / max(1, res.get("connected", 0)) * 1000, 1)
                res["rss_mb_per_1000"] = per_k
                self.record("socketio-idle", product, res, run=run, n=n)

    def socketio_chat(self, product: Target) -> None:
        chats = self.args.chats
        duration = 5 if self.quick else 20
        per_msg: dict[str, list[float]] = {"websocket": [], "socketio": []}
        for rate in (float(r) for r in self.args.sio_rate.split(",")):
            for run in (1, 2, 3):  # the machine is shared: three of each, in turns
                order = ("websocket", "socketio") if run % 2 else ("socketio", "websocket")
                for transport in order:
                    extra: dict = {"transport": transport, "connect_rate": SOCKETIO_CONNECT_RATE}
                    if transport == "socketio":
                        extra["urls"] = [f"http://127.0.0.1:{p}" for p in product.ports]
                    res = self.chat_once(product, rate, duration, chats, **extra)
                    cost = cpu_per_message(res)
                    clean = not (res.get("lost") or res.get("unacked") or res.get("errors"))
                    if cost and clean:  # latency aside: what a message costs the server
                        per_msg[transport].append(cost["server_ms"])
                    self.record(
                        "socketio", product, res, run=run, chats=chats, passed=passes(res), **cost
                    )
        ws, sio = (round(sum(v) / len(v), 2) if v else None for v in per_msg.values())
        ratio = round(sio / ws, 3) if ws and sio else None
        print(
            f"[socketio] server CPU ms per message: websocket={ws} socketio={sio} "
            f"socketio/websocket={ratio}",
            flush=True,
        )
        self.results.append({"scenario": "socketio", "cpu_ms_per_msg": per_msg, "ratio": ratio})

    def scenario_compat(self, product: Target) -> None:
        """Issue 27: the chat traffic in the reference backend's shapes on the
        compatibility edge (namespace ``/compat``: ``auth.sessionId``, ``send-message
        {chatRoomId, content}``, receipts by ``messageId``) beside the same traffic on the
        product's own Socket.IO namespace ``/``, alternating, three runs of each at rates
        below the knee (``--sio-rate``), on one server started with the edge on
        (``COMPAT_ENV``, as ./run.sh starts it). The figure is the server's CPU per acked
        message; the target is compat/socketio <= COMPAT_CPU_RATIO_TARGET."""
        chats = self.args.chats
        duration = 5 if self.quick else 20
        per_msg: dict[str, list[float]] = {"socketio": [], "compat": []}
        for rate in (float(r) for r in self.args.sio_rate.split(",")):
            for run in (1, 2, 3):  # the machine is shared: three of each, in turns
                order = ("socketio", "compat") if run % 2 else ("compat", "socketio")
                for transport in order:
                    extra: dict = {"transport": transport, "connect_rate": SOCKETIO_CONNECT_RATE}
                    if transport == "socketio":
                        extra["urls"] = [f"http://127.0.0.1:{p}" for p in product.ports]
                    else:
                        extra["urls"] = [f"http://127.0.0.1:{p}/compat" for p in product.ports]
                        extra["origin"] = COMPAT_ORIGIN
                    res = self.chat_once(product, rate, duration, chats, **extra)
                    cost = cpu_per_message(res)
                    clean = not (res.get("lost") or res.get("unacked") or res.get("errors"))
                    if cost and clean:  # latency aside: what a message costs the server
                        per_msg[transport].append(cost["server_ms"])
                    self.record(
                        "compat", product, res, run=run, chats=chats, passed=passes(res), **cost
                    )
        sio, compat = (round(sum(v) / len(v), 2) if v else None for v in per_msg.values())
        ratio = round(compat / sio, 3) if sio and compat else None
        print(
            f"[compat] server CPU ms per message: socketio={sio} compat={compat} "
            f"compat/socketio={ratio} (target <= {COMPAT_CPU_RATIO_TARGET})",
            flush=True,
        )
        self.results.append(
            {
                "scenario": "compat",
                "cpu_ms_per_msg": per_msg,
                "ratio": ratio,
                "target_ratio": COMPAT_CPU_RATIO_TARGET,
            }
        )

    def knee(self, target: Target, label: str, steps: list[float]) -> float | None:
        """Ascending rates until the first miss, then two bisections; confirm twice."""
        chats = self.args.chats
        best, worst = None, None
        for rate in steps:
            res = self.chat_once(target, rate, self.knee_step_seconds(rate), chats)
            ok = passes(res)
            self.record(label, target, res, chats=chats, passed=ok)
            if ok:
                best = rate
            else:
                worst = rate
                break
        for _ in range(0 if self.quick else 2):
            if best is None or worst is None:
                break
            grain = 25 if worst - best > 100 else 1
            mid = round((best + worst) / 2 / grain) * grain
            if mid in (best, worst):
                break
            res = self.chat_once(target, mid, self.knee_step_seconds(mid), chats)
            ok = passes(res)
            self.record(label, target, res, chats=chats, passed=ok)
            best, worst = (mid, worst) if ok else (best, mid)
        if best is not None:
            for run in (1, 2):  # the knee, confirmed: every scenario runs at least twice
                res = self.chat_once(target, best, self.knee_step_seconds(best), chats)
                self.record(label, target, res, chats=chats, passed=passes(res), confirm=run)
        print(f"[{label}] {target.name}: knee = {best} msg/s (first miss: {worst})", flush=True)
        self.results.append({"scenario": label, "target": target.name, "knee": best, "miss": worst})
        return best

    def knee_step_seconds(self, rate: float) -> float:
        """10 s per step, longer at low rates: a p99 needs about 1,000 messages, or it is
        the step's maximum (80 messages at 8 msg/s: p99 is the slowest one, and one slow
        journal flush of this VM's disk fails the step). At most 60 s."""
        if self.quick:
            return 4
        return min(KNEE_STEP_MAX_S, max(10.0, KNEE_STEP_MESSAGES / rate))

    def scenario_knee(self, product: Target, reference: Target) -> None:
        steps = [5, 10, 25, 50, 100, 200, 300, 400, 600, 800, 1000, 1200, 1600, 2000]
        ref_steps = [1000, 2000, 3000, 4000, 5000] if not self.quick else [1000, 2000]
        if not self.args.knee_product_only:
            self.knee(reference, "knee", ref_steps)
        self.knee(product, "knee", steps[:4] if self.quick else steps)

    def scenario_knee2(self, product2: Target) -> None:
        steps = [5, 10, 25, 50, 100, 200, 400, 600, 800, 1000, 1200, 1600, 2000]
        self.knee(product2, "knee2", steps[:3] if self.quick else steps)

    def scenario_routing(self, product: Target, *, teams: int = 0) -> None:
        """The routing burst; ``teams``: the same burst over that many teams whose agents
        overlap, each customer choosing one (issue 15), recorded as ``routing-teams``."""
        label = "routing-teams" if teams else "routing"
        available = any(
            "room-assigned" in p.read_text(errors="ignore")
            for app in ("agents", "chat")
            for p in (ROOT / app).rglob("*.py")
            if "tests" not in p.parts
        )
        if not available:
            row = {"status": "not available yet: the product has no routing (room-assigned)"}
            self.record(label, product, row)
            return
        agents, customers = (10, 100) if self.quick else (50, 500)
        for run in (1, 2):
            self.restart(product)  # no agents left online from earlier runs
            args = ["--agents", str(agents), "--customers", str(customers)]
            seeded = self.seed("routing", *args, *(["--teams", str(teams)] if teams else []))
            self.wait_idle(product)
            cfg = {
                "mode": "routing",
                "base": product.origin,
                "agents": seeded["agents"],
                "customers": seeded["customers"],
                "create_rate": customers / 5,  # all within 5 s
                "max_chats": 5,
                "drain_s": 60,
            }
            self.record(label, product, self.loadgen(product, cfg), run=run, teams=teams)

    def http_runs(self, target: Target, label: str, cookie: str, paths: list[str], **extra):
        count = 40 if self.quick else 200
        for concurrency in (1, 8):
            for run in (1, 2):
                self.wait_idle(target)
                cfg = {
                    "mode": "http",
                    "base": target.origin,
                    "cookie": cookie,
                    "paths": paths,
                    "count": count,
                    "concurrency": concurrency,
                    "max_seconds": 10 if self.quick else 30,
                }
                res = self.loadgen(target, cfg)
                self.record(label, target, res, run=run, **extra)

    def scenario_history(self, product: Target) -> None:
        n = 2000 if self.quick else 10_000
        seeded = self.seed("history", "--rooms", "1", "--messages", str(n))
        room = seeded["rooms"][0]
        cookie = seeded["customer"]["cookie"]
        base = f"/api/chat/rooms/{room}/messages"
        self.http_runs(product, "history", cookie, [f"{base}?limit=50"], page="newest 50")
        rng = random.Random(1)
        for limit in (50, 100):
            deep = [
                f"{base}?before_seq={rng.randint(limit + 1, n // 2)}&limit={limit}"
                for _ in range(50)
            ]
            self.http_runs(product, "history", cookie, deep, page=f"deep {limit}")
        for run in (1, 2):
            self.wait_idle(product)
            cfg = {
                "mode": "sync",
                "cookie": cookie,
                "room_id": room,
                "after_seq": n - 500,
                "last_seq": n,
                "repeat": 5 if self.quick else 20,
            }
            self.record("sync", product, self.loadgen(product, cfg), run=run)

    def scenario_search(self, product: Target) -> None:
        sizes = [2000, 20_000] if self.quick else [10_000, 100_000]
        for n in sizes:
            seeded = self.seed("history", "--rooms", "1", "--messages", str(n))
            room = seeded["rooms"][0]
            cookie = seeded["customer"]["cookie"]
            paths = [f"/api/chat/rooms/{room}/search?q={q}" for q in ("zebracorn", "refund")]
            self.http_runs(product, "search", cookie, paths, room_messages=n)
            explain = subprocess.run(
                [PY, str(BENCH / "explain.py"), room, "zebracorn"],
                cwd=ROOT,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            text = (explain.stdout or explain.stderr).strip()
            print(f"[search] explain ({n} messages):\n{text}", flush=True)
            self.results.append({"scenario": "search-explain", "room_messages": n, "explain": text})

    # -- the whole run

    def run(self) -> None:
        wanted = self.args.scenario.split(",")
        every = ["idle", "chat", "knee", "knee2", "routing", "routing-teams", "history", "search"]
        every += ["socketio", "proxy", "compat", "sendonly", "stall", "reconnect", "webhooks"]
        if wanted == ["all"]:
            wanted = every
        ensure_tools()
        print(machine_line(), flush=True)
        self.start_backing_servers()
        product = reference = None
        try:
            reference = self.start_reference()
            product = self.start_product(self.args.processes)
            for name in wanted:
                started = time.monotonic()
                if name == "idle":
                    self.scenario_idle(product, reference)
                elif name == "chat":
                    self.scenario_chat(product, reference)
                elif name == "knee":
                    self.scenario_knee(product, reference)
                elif name == "knee2":
                    product.stop()
                    product2 = self.start_product(2)
                    try:
                        self.scenario_knee2(product2)
                    finally:
                        product2.stop()
                    product = self.start_product(self.args.processes)
                elif name == "routing":
                    self.scenario_routing(product)
                elif name == "routing-teams":
                    self.scenario_routing(product, teams=3)
                elif name == "history":
                    self.scenario_history(product)
                elif name == "search":
                    self.scenario_search(product)
                elif name == "socketio":
                    self.scenario_socketio(product)
                elif name == "proxy":
                    from bench.proxy_scenario import scenario_proxy

                    product.stop()  # the scenario starts its own processes
                    try:
                        scenario_proxy(self)
                    finally:
                        product = self.start_product(self.args.processes)
                elif name == "sendonly":
                    self.scenario_sendonly(product)
                elif name == "stall":
                    self.scenario_stall(product)
                elif name == "reconnect":
                    self.scenario_reconnect(product)
                elif name == "webhooks":
                    self.scenario_webhooks(product)
                elif name == "compat":
                    product.stop()  # started again with the edge on, then as before
                    compat_product = self.start_product(self.args.processes, COMPAT_ENV)
                    try:
                        self.scenario_compat(compat_product)
                    finally:
                        compat_product.stop()
                        product = self.start_product(self.args.processes)
                else:
                    raise SystemExit(f"unknown scenario {name!r}; one of {every}")
                print(f"== {name} took {time.monotonic() - started:.0f}s", flush=True)
        finally:
            for target in (product, reference):
                if target:
                    target.stop()
            if self.servers:
                self.servers.stop()
        for thread in self.profilers:
            thread.join(timeout=120)
        # record() writes the file after each run; a scenario's summary (the knee, the CPU
        # ratios of socketio and compat) is appended after its last run
        self.out.write_text(json.dumps(self.results, indent=1))
        print(f"results: {self.out}  (logs: {self.workdir})")


def passes(res: dict) -> bool:
    """The issue's criteria: fan-out p99 <= 50 ms (``--fanout-bar``), ack p99 <= 100 ms,
    nothing lost, duplicated, out of order, unacked or refused, and the client not the
    bottleneck."""
    if res.get("setup_failed") or res.get("error"):
        return False
    fan, ack = res["fanout_ms"]["p99"], res["ack_ms"]["p99"]
    return (
        fan is not None
        and ack is not None
        and fan <= FANOUT_P99_MS
        and ack <= ACK_P99_MS
        and res["lost"] == res["duplicated"] == res["out_of_order"] == res["unacked"] == 0
        and not res["errors"]
        and not res["client_bound"]
        and res["sent"] > 0
    )


def cpu_per_message(res: dict) -> dict:
    """CPU milliseconds per acked message over the measured window: the server
    process(es) alone, and with the database and Valkey."""
    procs, acked = res.get("procs") or {}, res.get("acked") or 0
    if not acked or not procs:
        return {}
    seconds = res["duration_s"]
    servers = sum(v["cpu_pct"] for k, v in procs.items() if k.startswith("server"))
    # Not the load generator, nor the webhooks scenario's endpoint: they are the clients.
    stores = sum(v["cpu_pct"] for k, v in procs.items() if k not in ("loadgen", "receiver"))
    return {
        "server_ms": round(servers / 100 * seconds * 1000 / acked, 2),
        "server_and_stores_ms": round(stores / 100 * seconds * 1000 / acked, 2),
    }


def summarize(row: dict) -> str:
    if "status" in row:
        return row["status"]
    if row.get("error") or row.get("setup_failed"):
        return json.dumps({k: v for k, v in row.items() if k != "users"})[:600]
    procs = row.get("procs") or {}
    cpu = " ".join(f"{k}={v['cpu_pct']}%/{v['rss_mb']}MB" for k, v in procs.items())
    mode = row.get("mode")
    if mode == "idle":
        hs = row["handshake_ms"]
        over = f"{row['transport']} " if row.get("scenario", "").startswith("socketio") else ""
        return over + (
            f"n={row['sockets']} run={row['run']} connected={row['connected']} "
            f"failed={row['failed']} closed={row['closed_during_hold']} "
            f"rate={row['connect_rate']}/s handshake p50={hs['p50']} p99={hs['p99']} ms "
            f"MB/1000 sockets={row['rss_mb_per_1000']} | {cpu}"
            + (
                f" | server CPU {row['server_cpu_ms_per_socket']} ms/socket"
                if "server_cpu_ms_per_socket" in row
                else ""
            )
        )
    if mode == "chat":
        a, f, p = row["ack_ms"], row["fanout_ms"], row["probe_ms"]
        return (
            f"R={row['offered_rate']} got={row['achieved_rate']}/s "
            f"ack p50/p95/p99/max={a['p50']}/{a['p95']}/{a['p99']}/{a['max']} "
            f"fanout={f['p50']}/{f['p95']}/{f['p99']}/{f['max']} ms "
            f"lost={row['lost']} dup={row['duplicated']} ooo={row['out_of_order']} "
            f"unacked={row['unacked']} errors={row['errors']} loop-probe p99={p['p99']} "
            f"client={row['client_cpu_pct']}%{' CLIENT-BOUND' if row['client_bound'] else ''} "
            f"db-ops/msg={row.get('db_ops_per_msg', '-')} "
            f"pass={row.get('passed')} | {cpu}"
            + (f" | setup: {row['busy_retries']} busy retries" if row.get("busy_retries") else "")
            + (
                f" | {row.get('transport', 'ws')}: server CPU {row.get('server_ms')} ms/msg"
                f" ({row.get('server_and_stores_ms')} with the stores)"
                if "server_ms" in row
                else ""
            )
            + (f" | {server_metrics.line(row['server_stages'])}" if "server_stages" in row else "")
            + (
                f" | slow journal flushes: {row['slow_journal_flushes_ms']} ms"
                if row.get("slow_journal_flushes_ms")
                else ""
            )
        )
    if mode == "reconnect":
        hs = row["handshake_ms"]
        return (
            f"n={row['sockets']} run={row['run']} back={row['back']} failed={row['failed']} "
            f"all back in {row['all_back_s']} s (half in {row['half_back_s']} s) "
            f"refused={row['refused']} {row['refusals']} attempts p50/max="
            f"{row['attempts']['p50']}/{row['attempts']['max']} handshake p50/p99="
            f"{hs['p50']}/{hs['p99']} ms server CPU {row.get('server_cpu_ms_per_socket')} "
            f"ms/socket back | {cpu}"
        )
    if mode == "http":
        lat = row["latency_ms"]
        extra = " ".join(f"{k}={row[k]}" for k in ("page", "room_messages") if k in row)
        return (
            f"{extra} c={row['concurrency']} run={row['run']} {row['per_s']}/s "
            f"p50={lat['p50']} p99={lat['p99']} max={lat['max']} ms status={row['statuses']} "
            f"| {cpu}"
        )
    if mode == "routing":
        keys = ("agents_online", "create_seconds", "statuses", "answered_active", "assigned")
        keys += ("assigned_within_2s_of_last_create", "waiting", "max_per_agent")
        keys += ("agents_over_capacity", "assignments_per_s", "time_to_assigned_ms")
        keys += ("close_statuses", "drained", "expected_drained", "drain_seconds")
        return " ".join(f"{k}={row.get(k)}" for k in keys)
    if mode == "sync":
        lat = row["latency_ms"]
        return (
            f"behind={row['behind']} runs={row['runs']} p50={lat['p50']} p99={lat['p99']} "
            f"max={lat['max']} ms events={row['events_received'][:3]} fail={row['failures']}"
        )
    return json.dumps(row)[:400]


def summarize_profile(path: Path, top: int = 12) -> str:
    """Collapsed stacks -> the hottest leaf frames and the hottest project frames."""
    if not path.exists():
        return f"profile: no output ({path})"
    leaf: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    threads: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        threads[frames[0][:60]] = threads.get(frames[0][:60], 0) + n
        leaf[frames[-1]] = leaf.get(frames[-1], 0) + n
        for frame in set(frames):
            if PROJECT_FRAME.search(frame):
                inclusive[frame] = inclusive.get(frame, 0) + n
    if not total:
        return "profile: empty"

    def table(d: dict[str, int]) -> str:
        rows = sorted(d.items(), key=lambda kv: -kv[1])[:top]
        return "\n".join(f"  {v / total * 100:5.1f}%  {k[:150]}" for k, v in rows)

    return (
        f"profile ({total} samples, {path}):\n threads:\n{table(threads)}\n"
        f" self:\n{table(leaf)}\n project frames (inclusive):\n{table(inclusive)}"
    )


def machine_line() -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import psutil

    ram = psutil.virtual_memory().total / 2**30
    return (
        f"machine: nproc={os.cpu_count()} cpu={model} ram={ram:.0f} GiB "
        f"date={time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def main() -> None:
    global FANOUT_P99_MS
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="all", help="comma-separated, or all")
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument("--rate", default="50,600", help="scenario chat: msg/s offered (list)")
    parser.add_argument("--chats", type=int, default=200, help="concurrent 1:1 chats")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="server processes for every scenario but knee2 and proxy (the knee is defined on 1)",
    )
    parser.add_argument(
        "--sio-rate", default="30", help="scenario socketio: msg/s offered (list, below the knee)"
    )
    parser.add_argument(
        "--proxy-rate", default="30,60", help="scenario proxy: msg/s offered (list)"
    )
    parser.add_argument(
        "--sendonly-rate", default="100,200", help="scenario sendonly: msg/s offered (list)"
    )
    parser.add_argument(
        "--webhooks", type=int, default=10, help="scenario webhooks: endpoints (vs none)"
    )
    parser.add_argument("--webhooks-rate", default="100", help="scenario webhooks: msg/s")
    parser.add_argument(
        "--webhooks-kinds",
        default="all",
        help="scenario webhooks: the endpoints' kinds, comma-separated, or all",
    )
    parser.add_argument(
        "--webhooks-worker",
        choices=["gateway", "process"],
        default="gateway",
        help="scenario webhooks: the worker in the gateway, or manage.py run_webhooks",
    )
    parser.add_argument(
        "--stall-seconds", type=float, default=1.0, help="scenario stall: database stopped"
    )
    parser.add_argument(
        "--reconnect-sockets", type=int, default=5000, help="scenario reconnect: sockets"
    )
    parser.add_argument("--ws-rate", type=int, default=1000, help="server WS_RATE_PER_SECOND")
    parser.add_argument("--memory", action="store_true", help="embedded database in memory")
    parser.add_argument("--connect-rate", type=int, default=100, help="idle: sockets/s")
    parser.add_argument(
        "--fanout-bar",
        type=float,
        default=FANOUT_P99_MS,
        help="a run passes with fan-out p99 at most this (ms; issue 29's knee: 100)",
    )
    parser.add_argument(
        "--knee-product-only", action="store_true", help="knee: skip the reference server"
    )
    parser.add_argument("--idle-sizes", default="1000,5000", help="idle: sockets (list)")
    parser.add_argument("--idle-hold", type=float, default=60, help="idle: seconds held")
    parser.add_argument(
        "--from-head",
        action="store_true",
        help="benchmark the committed HEAD (a git archive), not the working tree",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the server in chat runs")
    parser.add_argument("--asgi", default="chat_project.asgi:application", help="daphne app")
    args = parser.parse_args()
    FANOUT_P99_MS = args.fanout_bar
    if args.from_head:
        use_head_snapshot()
    Bench(args).run()


def use_head_snapshot() -> None:
    """Export HEAD to a temporary folder and run every child from there, so edits in
    progress in a shared working tree cannot break or change the measurement."""
    global ROOT, BENCH
    src = Path(tempfile.mkdtemp(prefix="bench-src-"))
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
    if (BENCH / "node_modules").exists():
        (src / "bench" / "node_modules").symlink_to(BENCH / "node_modules")
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(f"benchmarking HEAD {head} from {src}", flush=True)
    ROOT, BENCH = src, src / "bench"


if __name__ == "__main__":
    main()
