"""`python -m bench`: runs the benchmark (or `--smoke`, the cheap CI guard) and writes results under build/bench/
(bench/results/, the files kept in git, only with --update-results)."""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import signal
import sys
import time
from pathlib import Path

from bench import chart, report, scenarios
from bench.run import Config, InvariantViolation, execute
from bench.server import ROOT

DEFAULT_MYSQL = os.environ.get("BENCH_MYSQL_URL", "mysql+mysqldb://root@127.0.0.1:3306")
BUILD, COMMITTED = ROOT / "build" / "bench", ROOT / "bench" / "results"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--smoke", action="store_true", help="CI guard: 10 s of scenario a (+2 s ceiling), invariants checked, no timing asserted")
    p.add_argument(
        "-s", "--scenarios", default="a+,a-noevents,h,b+,c+,d,e,f,g",
        help="comma-separated keys: a h b c d e(10k+100k) f g(1,4,16,64,256); KEY-off: batching off; a+ b+ c+: both; a-noevents, events: a with events off / both",
    )
    p.add_argument("--warmup", type=float, default=2.0, help="seconds before each measured window")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of each measured window")
    p.add_argument("--rounds", type=int, default=3, help="ceiling and service alternate this many times, splitting the durations")
    p.add_argument("--ceiling-duration", type=float, default=None, help="seconds of each ceiling window (default: --duration)")
    p.add_argument("--mysql-url", default=DEFAULT_MYSQL, help="server where bench_<random> databases are created and dropped")
    p.add_argument("--processes", type=int, default=None, help="server processes (sets ORDERS_GRPC_PROCESSES)")
    p.add_argument("--server-env-file", type=Path, default=ROOT / "bench" / "server.env", help="the server's settings (KEY=VALUE lines)")
    p.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE", help="extra ORDERS_* setting for the server (repeatable)")
    p.add_argument("--nats-url", default="nats://127.0.0.1:4222", help="a relay publishes the run's outbox to a stream of its own there ('' for none)")
    p.add_argument("--redis-url", default="", help="passed to the server as ORDERS_REDIS_URL (use your own DB index)")
    p.add_argument("--token-factory", default="bench.auth:hs256", metavar="MODULE:FUNC", help="mints the bearer token (default: an HS256 JWT with every role, signed with the run's secret)")
    p.add_argument("--idempotency-header", default="idempotency-key", help="metadata key carrying a fresh key on every create")
    # One TCP connection per in-flight call (up to 16): SO_REUSEPORT hashes connections, not calls, to the
    # server processes, and with 4 connections one process got 3 or all 4 of them in half the runs.
    p.add_argument("--channels", type=int, default=16, help="gRPC channels (TCP connections) per load-generator process")
    p.add_argument("--client-procs", type=int, default=1, help="load-generator processes")
    p.add_argument("--out", type=Path, default=None, help=f"results folder (default {BUILD.relative_to(ROOT)})")
    p.add_argument("--update-results", action="store_true", help=f"write the committed summary and chart in {COMMITTED.relative_to(ROOT)}")
    p.add_argument("--profile", action="store_true", help="py-spy the server in each service window (profile-<key>.txt)")
    p.add_argument("--no-chart", action="store_true", help="skip the PNG (drawn only where matplotlib is installed: the bench extra)")
    return p


def _server_env(args: argparse.Namespace) -> dict[str, str]:
    env = read_env_file(args.server_env_file) if args.server_env_file else {}
    env |= dict(item.split("=", 1) for item in args.server_env)
    if args.processes is not None:
        env["ORDERS_GRPC_PROCESSES"] = str(args.processes)
    if args.redis_url:
        env["ORDERS_REDIS_URL"] = args.redis_url
    return env


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments are skipped."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the server is stopped and the private databases are dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.smoke:
        args.scenarios, args.warmup, args.duration, args.ceiling_duration, args.rounds = "a", 1.0, 10.0, 2.0, 1
    try:
        out = results_folder(args.out, args.update_results)
    except ValueError as error:
        print(f"python -m bench: {error}", file=sys.stderr)
        return 2
    drawing = not args.no_chart and chart.available()
    if not args.no_chart and not drawing:
        print(f"[bench] {chart.NOT_INSTALLED}", file=sys.stderr, flush=True)
    cfg = Config(
        scenarios=scenarios.select(args.scenarios.split(",")), mysql_url=args.mysql_url, warmup_s=args.warmup,
        duration_s=args.duration, rounds=args.rounds, ceiling_duration_s=args.ceiling_duration, channels=args.channels,
        client_procs=args.client_procs, server_env=_server_env(args), token_factory=args.token_factory,
        idempotency_header=args.idempotency_header, out=out, profile=args.profile, nats_url=args.nats_url,
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        outcomes, meta = execute(cfg, out / "logs" / f"server-{stamp}.log")
    except InvariantViolation as error:
        print(f"\nINVARIANT VIOLATED — the benchmark failed:\n{error}", file=sys.stderr)
        return 1
    report.judge(outcomes)
    meta |= {
        "started": stamp, "load_before": [round(x, 2) for x in meta["load_before"]],
        "load_after": [round(x, 2) for x in meta["load_after"]],
        "command": shlex.join(["python", "-m", "bench", *(argv if argv is not None else sys.argv[1:])]),
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}",
        "warmup_s": cfg.warmup_s, "duration_s": cfg.duration_s, "rounds": cfg.rounds, "server_env": cfg.server_env, "client_procs": cfg.client_procs,
    }
    paths = report.write(outcomes, meta, out, stamp)
    paths += [chart.draw(outcomes, out / "chart.png")] if drawing else []
    print("\n" + report.markdown(outcomes))
    print("invariants: OK (stock never negative; initial + adjustments − sold = stock = Σ ledger)")
    print("written: " + ", ".join(str(p) for p in paths))
    if not args.no_chart and not drawing:
        print(chart.NOT_INSTALLED)
    return 0


def results_folder(out: Path | None, update_results: bool) -> Path:
    """Where a run writes: --out, or build/bench/; the committed bench/results/ only when asked to update them."""
    if out is not None and update_results:
        raise ValueError("--update-results writes bench/results; it takes no --out")
    if update_results:
        return COMMITTED
    if out is not None and out.resolve() == COMMITTED.resolve():
        raise ValueError("bench/results holds the committed results: pass --update-results to replace them")
    return out or BUILD


if __name__ == "__main__":
    sys.exit(main())
