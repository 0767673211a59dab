"""The Docker image and the compose stack are wired right, checked without a Docker engine."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import yaml

from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"ORDERS_" + f.name.upper() for f in fields(Settings)}


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _stages() -> list[list[str]]:
    stages: list[list[str]] = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("FROM "):
            stages.append([])
        if stages and line.strip() and not line.startswith("#"):
            stages[-1].append(line)
    return stages


def test_databases_have_healthchecks_and_the_service_waits_for_them() -> None:
    services = _compose()["services"]
    assert "mysqladmin ping" in " ".join(services["mysql"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert services["migrate"]["depends_on"] == {"mysql": {"condition": "service_healthy"}}
    assert services["orders"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "redis": {"condition": "service_healthy"},
    }
    assert services["migrate"]["command"] == ["migrate"] and services["orders"]["command"] == ["serve"]


def test_redis_keeps_idempotency_keys_across_restarts() -> None:
    command = _compose()["services"]["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "everysec"


def test_every_variable_the_compose_file_sets_is_a_known_setting() -> None:
    for name, service in _compose()["services"].items():
        used = {key for key in service.get("environment", {}) if key.startswith("ORDERS_")}
        assert used <= SETTINGS, f"{name}: unknown settings {used - SETTINGS}"


def test_the_env_example_documents_every_setting() -> None:
    documented = set(re.findall(r"ORDERS_[A-Z0-9_]+", (ROOT / ".env.example").read_text()))
    # A setting may be documented as itself or as its ORDERS_<NAME>_FILE variant.
    assert SETTINGS <= documented | {name.removesuffix("_FILE") for name in documented}


def test_the_image_is_multi_stage_non_root_and_checks_grpc_health() -> None:
    build, runtime = _stages()
    assert any("python -m service.codegen" in line for line in build)
    assert any("libmariadb-dev" in line for line in build)
    assert not any("build-essential" in line for line in runtime)
    user = next(line.split()[1] for line in runtime if line.startswith("USER "))
    assert user not in ("root", "0")
    healthcheck = next(line for line in runtime if line.startswith("HEALTHCHECK "))
    assert '["erp-orders", "health"]' in healthcheck


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    copied = [line.split()[1] for line in _stages()[0] if line.startswith("COPY ")]
    assert ignore[next(i for i, line in enumerate(ignore) if not line.startswith("#"))] == "*"
    for source in copied:
        assert f"!{source.rstrip('/')}/" in ignore or f"!{source}" in ignore, source
