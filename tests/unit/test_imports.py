"""Tests for tools.imports: the import graph, its cycles and the arrows that point up."""

from pathlib import Path

from tools import imports


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _tiny(root: Path, **extra: str) -> Path:
    return _tree(root, {
        "service/__init__.py": "",
        "service/domain/__init__.py": "",
        "service/domain/model.py": "import dataclasses\n",
        "service/usecases.py": "from service.domain.model import Thing\nfrom .bus import send\n",
        "service/bus.py": "import json\n",
        "storage/__init__.py": "",
        "storage/repo.py": "from service.domain import model\n",
        "service/_gen/__init__.py": "from service import usecases\n",  # generated: never read
        **extra,
    })


def test_a_clean_tree_has_its_arrows_and_no_problem(tmp_path: Path) -> None:
    graph = imports.build(_tiny(tmp_path))
    assert graph["service.usecases"] == {"service.domain.model", "service.bus"}
    assert graph["storage.repo"] == {"service.domain.model"}
    assert "service._gen" not in graph
    assert imports.cycles(graph) == [] and imports.upward(graph) == []
    assert imports.main(["--root", str(tmp_path)]) == 0


def test_a_cycle_through_a_function_level_import_is_flagged(tmp_path: Path) -> None:
    _tiny(tmp_path, **{"service/bus.py": "def send():\n    from service import usecases\n"})
    graph = imports.build(tmp_path)
    assert imports.cycles(graph) == [["service.bus", "service.usecases"]]
    assert imports.main(["--root", str(tmp_path)]) == 1


def test_storage_and_the_domain_importing_the_service_layer_are_flagged(tmp_path: Path) -> None:
    _tiny(tmp_path, **{
        "storage/repo.py": "from service import bus\nfrom service.domain import model\n",
        "service/domain/model.py": "from ..usecases import Thing\n",
    })
    graph = imports.build(tmp_path)
    assert imports.upward(graph) == [("service.domain.model", "service.usecases"), ("storage.repo", "service.bus")]
    assert imports.main(["--root", str(tmp_path)]) == 1


def test_an_arrow_to_a_higher_layer_is_flagged_whichever_layers(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "service/__init__.py": "",
        "service/settings.py": "from service.grpc import status\n",  # shared: imports no layer
        "service/runtime/__init__.py": "",
        "service/runtime/cli.py": "from service.rest import app\nfrom service.grpc import status\n",  # down: fine
        "service/rest/__init__.py": "",
        "service/rest/app.py": "from service.grpc import status\n",
        "service/grpc/__init__.py": "",
        "service/grpc/status.py": "from service.rest import app\n",  # up: rest is above grpc
        "service/usecases/__init__.py": "",
        "service/usecases/orders.py": "from service.runtime import cli\n",  # up: only entry points import runtime
        "service/redis/__init__.py": "",
        "service/redis/guard.py": "from service import metrics\nfrom service.grpc import status\n",  # an adapter reaching the edge
        "service/metrics.py": "",
    })
    assert imports.upward(imports.build(tmp_path)) == [
        ("service.grpc.status", "service.rest.app"),
        ("service.redis.guard", "service.grpc.status"),
        ("service.settings", "service.grpc.status"),
        ("service.usecases.orders", "service.runtime.cli"),
    ]


def test_layers_group_subpackages_and_storage() -> None:
    assert imports.layer("service.usecases.orders") == "service.usecases"
    assert imports.layer("service.settings") == "service.settings"
    assert imports.layer("storage.uow") == "storage"


def test_the_service_and_storage_have_no_cycle_and_no_upward_arrow() -> None:
    graph = imports.build()
    assert {"service.runtime.bootstrap", "service.runtime.lifecycle", "storage.uow"} <= set(graph)
    assert imports.cycles(graph) == [] and imports.upward(graph) == []
