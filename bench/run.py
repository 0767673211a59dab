"""One benchmark run: private databases, the service and the ceiling side by side, invariants, results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine

from bench import database, events, invariants, processes, production, profile, report
from bench.ceiling import CeilingSpec
from bench.database import Catalogue
from bench.floor import running_floor
from bench.floor import shape as floor_shape
from bench.loadgen import LoadSpec, Raw
from bench.report import Outcome
from bench.scenarios import Scenario
from bench.server import ROOT, ServiceProcess, running_service
from bench.stats import Window, percentile, summarize


class InvariantViolation(RuntimeError):
    """The data is wrong after the run: the benchmark must fail, whatever the numbers."""


@dataclass
class Config:
    scenarios: list[Scenario]
    mysql_url: str
    warmup_s: float = 2.0
    duration_s: float = 10.0
    rounds: int = 3  # the ceiling and the service alternate this many times per scenario
    ceiling_duration_s: float | None = None  # defaults to duration_s
    customers: int = 100
    products: int = 1000
    channels: int = 16
    client_procs: int = 1
    server_env: dict[str, str] = field(default_factory=dict)
    token_factory: str = ""
    idempotency_header: str = "idempotency-key"
    profile: bool = False  # py-spy the server during each service window (costs CPU: numbers drop)
    # A relay publishes the run's outbox to a JetStream stream of its own there, as in production; "": none.
    nats_url: str = "nats://127.0.0.1:4222"
    out: Path = ROOT / "bench" / "results"


def _child_env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}


def _spawn(module: str, spec: Any) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """Starts a load-generator process; its results go to a temporary file, so no pipe can fill up."""
    out = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=out, cwd=ROOT, env=_child_env()
    )
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(asdict(spec)).encode())
    proc.stdin.close()
    return proc, out


def _collect(spawned: list[tuple[subprocess.Popen[bytes], IO[bytes]]], budget_s: float) -> list[Raw]:
    raws = []
    deadline = time.monotonic() + budget_s
    try:
        for proc, out in spawned:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            if proc.returncode != 0:
                raise RuntimeError(f"{proc.args[-1]} exited with {proc.returncode}")
            out.seek(0)
            raws.append(Raw(**json.loads(out.read())))
    finally:
        for proc, out in spawned:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            out.close()
    return raws


def parallel(raws: list[Raw]) -> Raw:
    """Several load-generator processes over the same window: calls and client CPU add up."""
    cpu = dict(raws[0].cpu) | {"client": round(sum(r.cpu["client"] for r in raws), 3)}
    return Raw(raws[0].seconds, [ns for r in raws for ns in r.latencies_ns], _add(raws), cpu)


def rounds(raws: list[Raw]) -> Raw:
    """Consecutive windows of one side: durations add, CPU is averaged over them."""
    seconds = sum(r.seconds for r in raws)
    cpu = {k: round(sum(r.cpu.get(k, 0.0) * r.seconds for r in raws) / seconds, 3) for k in raws[0].cpu}
    return Raw(seconds, [ns for r in raws for ns in r.latencies_ns], _add(raws), cpu)


def _add(raws: list[Raw]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for raw in raws:
        total.update(raw.statuses)
    return dict(total)


def window(raw: Raw) -> Window:
    return summarize(raw.seconds, raw.latencies_ns, Counter(raw.statuses), raw.cpu)


def _watch(service: ServiceProcess | None) -> dict[str, list[int]]:
    watch = {"db": processes.pids_named("mariadbd") or processes.pids_named("mysqld"), "redis": processes.pids_named("redis-server")}
    return watch | ({"server": [service.pid]} if service else {})


def run_service_load(cfg: Config, sc: Scenario, service: ServiceProcess, cat: Catalogue, order_ids: list[str], duration: float) -> Raw:
    budget = cfg.warmup_s + duration + 60
    per_proc = max(1, sc.concurrency // cfg.client_procs)
    procs = [
        _spawn("bench.loadgen", LoadSpec(
            target=service.http_target if sc.rpc == "rest" else service.target, rpc=sc.rpc, concurrency=per_proc, warmup_s=cfg.warmup_s, duration_s=duration,
            channels=min(cfg.channels, per_proc), customers=[str(c) for c in cat.customers],
            products=[str(p) for p in cat.products], items=sc.items, hot=str(cat.products[0]) if sc.hot else "",
            order_ids=order_ids, token_factory=cfg.token_factory, idempotency_header=cfg.idempotency_header,
            watch=_watch(service), seed=k + 1,
        ))
        for k in range(min(cfg.client_procs, sc.concurrency))
    ]
    return parallel(_collect(procs, budget))


# The ceiling's connections at most: MariaDB's default max_connections (151) is shared with the
# service's pools and everything else on the server. A hot row is lock-bound well below this.
CEILING_THREADS = 64


def run_ceiling(cfg: Config, sc: Scenario, url: str, cat: Catalogue, duration: float, per_tx: int = 1) -> Raw:
    """The naive ceiling (one order per transaction, `sc.concurrency` threads) or, with per_tx > 1, the
    batched one: that many orders per transaction, on as many threads as the service had batches in flight."""
    threads = min(CEILING_THREADS, max(1, round(sc.concurrency / per_tx)))
    spec = CeilingSpec(
        connect=database.mysqldb_args(url), threads=threads, warmup_s=cfg.warmup_s,
        duration_s=duration, customers=cat.customers, products=cat.products, items=sc.items,
        hot=cat.products[0] if sc.hot else 0, watch=_watch(None), per_tx=per_tx,
    )
    budget = cfg.warmup_s + duration + 60
    return _collect([_spawn("bench.ceiling", spec)], budget)[0]


def execute(cfg: Config, log: Path) -> tuple[list[Outcome], dict[str, Any]]:
    """Runs every scenario; raises InvariantViolation after the run if the data is inconsistent."""
    meta: dict[str, Any] = {"load_before": os.getloadavg(), "table_orders": {}}
    outcomes: list[Outcome] = []
    with (
        database.private_database(cfg.mysql_url, "") as svc_url,
        database.private_database(cfg.mysql_url, "ceil") as ceil_url,
        production.secrets_of_this_run(cfg.server_env) as server_env,
    ):
        svc_db, ceil_db = create_engine(svc_url), create_engine(ceil_url)
        try:
            cat = database.seed_catalogue(svc_db, cfg.customers, cfg.products)
            if database.seed_catalogue(ceil_db, cfg.customers, cfg.products) != cat:
                raise RuntimeError("the two private databases got different ids")
            with ExitStack() as stack:
                on = stack.enter_context(running_service(svc_url, server_env, log))
                # The same server with group commit off, on the same database, for the "-off" scenarios.
                off = (
                    stack.enter_context(running_service(svc_url, server_env | {"ORDERS_BATCH_MAX_ORDERS": "1"}, log.with_suffix(".off.log")))
                    if any(not sc.batching for sc in cfg.scenarios) else None
                )
                # And with no events written, for the "-noevents" scenario.
                quiet = (
                    stack.enter_context(running_service(svc_url, server_env | {"ORDERS_EVENTS_OUTBOX": "false"}, log.with_suffix(".noevents.log")))
                    if any(not sc.events for sc in cfg.scenarios) else None
                )
                bare = None
                if any(sc.floor for sc in cfg.scenarios):
                    bare = stack.enter_context(running_floor(*floor_shape(server_env), log.with_name(f"floor-{log.name}")))
                stream = (
                    stack.enter_context(events.running_relay(svc_url, cfg.nats_url, server_env, log.with_name(f"relay-{log.name}")))
                    if cfg.nats_url else None
                )
                for sc in cfg.scenarios:
                    service = quiet if not sc.events else on if sc.batching else off
                    assert service is not None
                    outcomes.append(_one(cfg, sc, service, bare, svc_db, ceil_url, cat, meta, stream))
                report.price_the_outbox(outcomes)
                report.compare(outcomes)
            found = invariants.violations(svc_db, "service") + invariants.violations(ceil_db, "ceiling")
        finally:
            svc_db.dispose()
            ceil_db.dispose()
    meta["load_after"] = os.getloadavg()
    if found:
        raise InvariantViolation("\n".join(found))
    return outcomes, meta


def _one(
    cfg: Config, sc: Scenario, service: ServiceProcess, bare: ServiceProcess | None, svc_db: Any, ceil_url: str,
    cat: Catalogue, meta: dict[str, Any], stream: events.Stream | None,
) -> Outcome:
    print(f"[bench] {sc.key}: {sc.title} @ {sc.concurrency}", file=sys.stderr, flush=True)
    note = ""
    if sc.table_size:
        t = time.monotonic()
        count = database.top_up_orders(svc_db, cat, sc.table_size)
        meta["table_orders"][sc.key] = count
        note = f"orders table held {count:,} rows (topped up in {time.monotonic() - t:.1f} s)"
    if sc.floor:
        note = "ceiling/s is the bare grpcio server's (bench/floor.py), called by the same client"
    if sc.ceiling and sc.concurrency > CEILING_THREADS:
        note = f"the ceiling runs {CEILING_THREADS} threads (connections), not {sc.concurrency}"
    order_ids = database.sample_order_ids(svc_db, 20_000) if sc.rpc == "get" else []
    # Ceiling and service alternate in short rounds, so background load drifting on a shared
    # machine weighs on both sides alike.
    n = max(1, cfg.rounds)
    ceiling_s, service_s = (cfg.ceiling_duration_s or cfg.duration_s) / n, cfg.duration_s / n
    ours, theirs = [], []
    last_order = database.last_order_id(svc_db)
    last_event = events.last_sequence(stream) if stream else 0
    for r in range(n):
        if sc.ceiling:
            theirs.append(run_ceiling(cfg, sc, ceil_url, cat, ceiling_s))
        elif sc.floor:
            assert bare is not None
            theirs.append(run_service_load(cfg, sc, bare, cat, order_ids, ceiling_s))
        path = cfg.out / f"profile-{sc.key}-{r}.txt"
        spy = profile.record(service.pid, cfg.warmup_s + service_s, path) if cfg.profile else None
        ours.append(run_service_load(cfg, sc, service, cat, order_ids, service_s))
        if spy is not None:
            spy.wait(timeout=60)
            note = report.joined(note, f"profiled: python -m bench.profile {path}")
    service_window, ceiling = window(rounds(ours)), window(rounds(theirs)) if theirs else None
    outcome = Outcome(sc, service_window, ceiling, note)
    if sc.rpc in ("create", "rest"):
        outcome.batch_mean = database.mean_batch_size(svc_db, last_order)
        if sc.ceiling and sc.batching and outcome.batch_mean >= 1.5:
            # At the batch size the service reached: how close it comes to the database with batching.
            per_tx = round(outcome.batch_mean)
            outcome.batched_ceiling = window(rounds([run_ceiling(cfg, sc, ceil_url, cat, ceiling_s, per_tx) for _ in range(n)]))
    if stream and sc.events and sc.rpc in ("create", "rest"):
        _measure_lag(outcome, stream, svc_db, last_event)
    outcome.round_ratios = [  # theirs is empty for a scenario without a ceiling
        round(window(o).throughput / window(t).throughput, 3) for o, t in zip(ours, theirs, strict=False) if window(t).throughput
    ]
    ratio = f" ratio {outcome.ratio:.2f}" if outcome.ratio is not None else ""
    ceil = f" ceiling {ceiling.throughput:,.0f}/s" if ceiling else ""
    batch = f" mean batch {outcome.batch_mean:.1f}" if outcome.batch_mean is not None else ""
    batched = f" batched ceiling {outcome.batched_ceiling.throughput:,.0f}/s" if outcome.batched_ceiling else ""
    lag = f" event lag p50 {outcome.event_lag_ms[0]:.0f} ms p99 {outcome.event_lag_ms[1]:.0f} ms" if outcome.event_lag_ms else ""
    print(f"[bench]   service {service_window.throughput:,.0f}/s p99 {service_window.p99:.1f} ms{ceil}{ratio}{batch}{batched}{lag}", file=sys.stderr, flush=True)
    return outcome


def _measure_lag(outcome: Outcome, stream: events.Stream, svc_db: Any, after: int) -> None:
    """The lag of the events the scenario's windows made (ceiling windows make none: another database)."""
    if not events.caught_up(svc_db):
        outcome.add_note("the relay had not published the whole outbox 120 s after the windows")
        return
    lags = sorted(1000 * lag for lag in events.lags_after(stream, after))
    if lags:
        outcome.events = len(lags)
        outcome.event_lag_ms = (round(percentile(lags, 50), 1), round(percentile(lags, 99), 1))
        outcome.add_note(
            f"{len(lags):,} events, change → JetStream p50 {outcome.event_lag_ms[0]:.0f} ms, p99 {outcome.event_lag_ms[1]:.0f} ms",
        )
