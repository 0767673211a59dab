"""python -m chaos: run the fault harness, print its table, exit 1 on any invariant violation."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from chaos.nemesis import DEFAULT_INTERVAL_S, FAULTS, injected, spacing
from chaos.report import render
from chaos.run import Config, run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    p.add_argument("--duration", type=float, default=60, help="seconds of load and faults (default 60)")
    p.add_argument("--seed", type=int, default=int(time.time()), help="seeds the clients and the nemesis (default: the time)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients, alternately gRPC and REST (default 8)")
    p.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated fault kinds (default all: {','.join(FAULTS)})")
    p.add_argument(
        "--interval", type=float, default=None,
        help=f"mean seconds between faults (default {DEFAULT_INTERVAL_S:g}, less in a short run: {spacing(10):g} in 10 s); faults closer than {DEFAULT_INTERVAL_S:g} s are held shorter",
    )
    p.add_argument("--mysql-url", default="mysql+mysqldb://root@127.0.0.1:3306", help="a server where a private database may be created")
    p.add_argument("--out", type=Path, default=None, help="directory for history.jsonl, history.edn, summary.json (default build/chaos/<time>)")
    args = p.parse_args(argv)
    out = args.out or Path("build/chaos") / time.strftime("%Y%m%d-%H%M%S")
    faults = [f for f in args.faults.split(",") if f]
    interval = args.interval if args.interval is not None else spacing(args.duration)
    print(
        f"chaos: seed {args.seed}, {args.duration:g} s, {args.clients} clients, a fault every {interval:g} s on average of "
        f"{','.join(faults)}; writing {out}", flush=True,
    )
    result = run(Config(args.duration, args.seed, args.clients, faults, interval, args.mysql_url, out))
    print(render(result))
    print(f"\n{result['events']} events in the stream; the outbox was drained {result['drain_s']:g} s after the service stopped")
    print(f"\n{result['violations']} violations; history {result['history']}")
    if not injected(result["faults"]):
        print(f"\nno fault was injected in {args.duration:g} s: this run tested nothing under faults (a longer --duration, or a shorter --interval)")
        return 1
    return 1 if result["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
