"""Where the server's time goes: py-spy samples (collapsed stacks) grouped by library. `python -m bench.profile FILE`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# First match wins, tested against a frame's "function (file:line)" text.
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("driver (MySQLdb)", ("MySQLdb/",)),
    ("SQLAlchemy", ("sqlalchemy/", "<sqlalchemy")),
    ("protobuf + validation", ("google/protobuf", "_pb2.py", "protovalidate", "google/type", "google/rpc")),
    ("grpc", ("grpc/", "grpc_", "cygrpc")),
    ("our code", ("(service/", "(storage/", "/service/", "/storage/")),
    ("threading/queue", ("threading.py", "queue.py", "concurrent/futures")),
]


def _category(frame: str) -> str:
    for name, needles in CATEGORIES:
        if any(n in frame for n in needles):
            return name
    return "other (stdlib, logging, ...)"


def record(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """Starts py-spy on the server and its worker processes; samples of the thread holding the GIL (--gil): where the Python CPU goes."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--subprocesses", "--duration", str(max(1, round(seconds))), "--rate", "250",
         "--gil", "--nonblocking", "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _stacks(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    return stacks


def breakdown(path: Path) -> dict[str, float]:
    """Self time per category, in % of samples: the innermost frame of each sample decides."""
    totals: Counter[str] = Counter()
    for frames, count in _stacks(path):
        totals[_category(frames[-1])] += count
    n = sum(totals.values()) or 1
    return {k: round(100 * v / n, 1) for k, v in totals.most_common()}


def inclusive(path: Path, needle: str) -> float:
    """% of samples with a frame containing `needle` anywhere on the stack."""
    stacks = _stacks(path)
    n = sum(c for _, c in stacks) or 1
    return round(100 * sum(c for frames, c in stacks if any(needle in f for f in frames)) / n, 1)


def top(path: Path, n: int = 25) -> list[tuple[str, float]]:
    """The innermost frames that take the most samples."""
    totals: Counter[str] = Counter()
    for frames, count in _stacks(path):
        totals[frames[-1]] += count
    all_ = sum(totals.values()) or 1
    return [(frame, round(100 * c / all_, 1)) for frame, c in totals.most_common(n)]


def main() -> None:
    path = Path(sys.argv[1])
    print(f"self time by category ({path.name}):")
    for name, share in breakdown(path).items():
        print(f"  {share:5.1f} %  {name}")
    for needle in sys.argv[2:]:
        print(f"  inclusive {needle!r}: {inclusive(path, needle)} %")
    print("top innermost frames:")
    for frame, share in top(path):
        print(f"  {share:5.1f} %  {frame}")


if __name__ == "__main__":
    main()
