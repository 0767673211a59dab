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
        "service/handlers.py": "from service.domain.model import Thing\nfrom .bus import send\n",
        "service/bus.py": "import json\n",
        "storage/__init__.py": "",
        "storage/repo.py": "from service.domain import model\n",
        "service/_gen/__init__.py": "from service import handlers\n",  # generated: never read
        **extra,
    })


def test_a_clean_tree_has_its_arrows_and_no_problem(tmp_path: Path) -> None:
    graph = imports.build(_tiny(tmp_path))
    assert graph["service.handlers"] == {"service.domain.model", "service.bus"}
    assert graph["storage.repo"] == {"service.domain.model"}
    assert "service._gen" not in graph
    assert imports.cycles(graph) == [] and imports.upward(graph) == []
    assert imports.main(["--root", str(tmp_path)]) == 0


def test_a_cycle_through_a_function_level_import_is_flagged(tmp_path: Path) -> None:
    _tiny(tmp_path, **{"service/bus.py": "def send():\n    from service import handlers\n"})
    graph = imports.build(tmp_path)
    assert imports.cycles(graph) == [["service.bus", "service.handlers"]]
    assert imports.main(["--root", str(tmp_path)]) == 1


def test_storage_and_the_domain_importing_the_service_layer_are_flagged(tmp_path: Path) -> None:
    _tiny(tmp_path, **{
        "storage/repo.py": "from service import bus\nfrom service.domain import model\n",
        "service/domain/model.py": "from ..handlers import Thing\n",
    })
    graph = imports.build(tmp_path)
    assert imports.upward(graph) == [("service.domain.model", "service.handlers"), ("storage.repo", "service.bus")]
    assert imports.main(["--root", str(tmp_path)]) == 1


def test_layers_group_subpackages_and_storage() -> None:
    assert imports.layer("service.handlers.orders") == "service.handlers"
    assert imports.layer("service.settings") == "service.settings"
    assert imports.layer("storage.uow") == "storage"


def test_the_service_and_storage_have_no_cycle_and_no_upward_arrow() -> None:
    graph = imports.build()
    assert {"service.bootstrap", "service.lifecycle", "storage.uow"} <= set(graph)
    assert imports.cycles(graph) == [] and imports.upward(graph) == []
