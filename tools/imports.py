"""Prints the import graph of service/ and storage/ and fails on a cycle or an arrow pointing up.

python -m tools.imports [--modules] [PACKAGE ...]

Every import counts, at module level or inside a function (a function-level import is still a
dependency, and the usual way a cycle hides). The rule (ARCHITECTURE.md):
- the layers of service/, top to bottom: runtime → rest → events → grpc → usecases → domain; a
  module imports its own layer or those below it, never one above, so nothing imports runtime but
  the entry points (the CLI, tests, bench, chaos); settings and metrics, shared by all, import none;
- storage/ and service/redis/ implement the domain's ports: they import the domain and themselves
  (and the shared metrics and settings), nothing above; the domain imports only itself.
The generated code (service._gen) is a leaf, not read.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("service", "storage")
SKIPPED = ("service._gen",)
# The layers of service/, top first: each may import itself and the ones after it.
LAYERS = ("service.runtime", "service.rest", "service.events", "service.grpc", "service.usecases", "service.domain")
# The adapters and the domain, and what each may import of ours.
SHARED = ("service.metrics", "service.settings")
INNER = {
    "service.domain": ("service.domain",),
    "storage": ("storage", "service.domain"),
    "service.redis": ("service.redis", "service.domain", *SHARED),
}

Graph = dict[str, set[str]]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _modules(root: Path, packages: Sequence[str]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if not any(_within(name, skipped) for skipped in SKIPPED):
                found[name] = path
    return found


def _imported(module: str, path: Path) -> Iterator[str]:
    """Every dotted name `module` imports: `from a import b` yields a.b (a module or a name in a)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest prefix of `name` that is one of our modules."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if (candidate := ".".join(parts[:end])) in known:
            return candidate
    return None


def build(root: Path = ROOT, packages: Sequence[str] = PACKAGES) -> Graph:
    """Module → the modules of ours it imports (packages as their __init__)."""
    known = _modules(root, packages)
    graph: Graph = {}
    for module, path in known.items():
        targets = {_resolve(name, known) for name in _imported(module, path)}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _rank(module: str) -> int | None:
    return next((i for i, layer in enumerate(LAYERS) if _within(module, layer)), None)


def upward(graph: Graph) -> list[tuple[str, str]]:
    """Arrows to a layer above the source's own, from a shared module (settings, metrics) into a
    layer, and from an inner package (the domain, storage, the Redis adapters) to a module it may
    not import."""
    arrows = set()
    for source, targets in graph.items():
        rank = _rank(source)
        for target in targets:
            above = _rank(target)
            if above is not None and (above < rank if rank is not None else source in SHARED):
                arrows.add((source, target))
        for inner, allowed in INNER.items():
            if _within(source, inner):
                arrows |= {(source, t) for t in targets if not any(_within(t, a) for a in allowed)}
    return sorted(arrows)


def layer(module: str) -> str:
    """A module of a subpackage → the subpackage (service.usecases.orders → service.usecases); the
    service's own top-level modules stay themselves, storage's are one layer."""
    parts = module.split(".")
    if len(parts) > 2:
        return ".".join(parts[:2])
    return module if parts[0] == "service" else parts[0]


def _layers(graph: Graph) -> list[str]:
    arrows = Counter((layer(s), layer(t)) for s, targets in graph.items() for t in targets if layer(s) != layer(t))
    by_source: dict[str, list[str]] = {}
    for (source, target), count in sorted(arrows.items()):
        by_source.setdefault(source, []).append(f"{target}" + (f" ×{count}" if count > 1 else ""))
    return [f"{source} → {', '.join(targets)}" for source, targets in sorted(by_source.items())]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.imports", description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=list(PACKAGES))
    parser.add_argument("--root", type=Path, default=ROOT, help="the folder holding the packages")
    parser.add_argument("--modules", action="store_true", help="one line per module instead of per layer")
    args = parser.parse_args(argv)
    graph = build(args.root, args.packages)
    if args.modules:
        lines = [f"{m} → {', '.join(sorted(t))}" for m, t in sorted(graph.items()) if t]
    else:
        lines = _layers(graph)
    print("\n".join(lines))
    problems = [f"cycle: {' ↔ '.join(c)}" for c in cycles(graph)]
    problems += [f"upward arrow: {source} → {target}" for source, target in upward(graph)]
    print(f"{len(graph)} modules, {sum(map(len, graph.values()))} arrows, {len(problems)} problems")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
