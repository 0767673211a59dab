"""The Docker image and the compose stack are wired right, checked without a Docker engine
(`docker compose config` only resolves the file)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest
import setuptools
import yaml

from service.settings import Settings, SettingsError

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
    # The relay is its own process; it waits for the broker itself, so started is enough.
    assert services["relay"]["command"] == ["relay"] and services["relay"]["environment"]["ORDERS_NATS_URL"] == "nats://nats:4222"
    assert services["relay"]["depends_on"]["nats"] == {"condition": "service_started"} and "-js" in services["nats"]["command"]
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
    assert any("python -m tools.codegen" in line for line in build)
    assert any("libmariadb-dev" in line for line in build)
    assert not any("build-essential" in line for line in runtime)
    user = next(line.split()[1] for line in runtime if line.startswith("USER "))
    assert user not in ("root", "0")
    healthcheck = next(line for line in runtime if line.startswith("HEALTHCHECK "))
    assert '["erp-orders", "health"]' in healthcheck


def test_the_wheel_holds_the_runtime_packages_and_no_build_tool() -> None:
    # The packages setuptools puts in the wheel, found as pyproject.toml tells it to find them.
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = set(setuptools.find_packages(where=str(ROOT), **find))
    assert {"service", "service.rest", "service._gen", "storage"} <= packages
    assert not {p for p in packages if p.split(".")[0] not in ("service", "storage")}


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    copied = [line.split()[1] for line in _stages()[0] if line.startswith("COPY ")]
    assert ignore[next(i for i, line in enumerate(ignore) if not line.startswith("#"))] == "*"
    for source in copied:
        assert f"!{source.rstrip('/')}/" in ignore or f"!{source}" in ignore, source


def _compose_run(env_file: Path) -> subprocess.CompletedProcess[str]:
    """`docker compose config` with this .env (Debian's docker-compose where the compose plugin is
    missing, as in .ci/run)."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        compose = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        compose = ["docker-compose"]
    else:
        pytest.fail("needs `docker compose` or docker-compose: apt-get install docker-compose (.ci/run does)")
    return subprocess.run(
        [*compose, "-f", str(ROOT / "docker-compose.yml"), "--env-file", str(env_file), "config"],
        env={**os.environ, "ENV_FILE": str(env_file)}, capture_output=True, text=True, timeout=60,
    )


def _compose_config(env_file: Path) -> dict:  # type: ignore[type-arg]
    """The stack as `docker compose config` resolves it with this .env."""
    result = _compose_run(env_file)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def _example_with(**values: str) -> str:
    """.env.example with these lines set, as a person fills in their copy."""
    text = (ROOT / ".env.example").read_text()
    for name, value in values.items():
        text, replaced = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.MULTILINE)
        assert replaced == 1, name
    return text


def test_compose_refuses_the_example_until_the_database_password_is_set(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(_example_with())
    refused = _compose_run(env_file)
    assert refused.returncode != 0 and "set MYSQL_PASSWORD in .env" in refused.stderr


def test_the_services_refuse_the_examples_secret_placeholder() -> None:
    lines = _example_with(MYSQL_PASSWORD="a-password-of-mine").splitlines()
    example = dict(line.split("=", 1) for line in lines if line.startswith("ORDERS_"))
    with pytest.raises(SettingsError, match="ORDERS_JWT_SECRET is still the placeholder of .env.example"):
        Settings.from_env(example)


def test_every_orders_setting_in_dot_env_reaches_the_migration_and_the_service(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(_example_with(MYSQL_PASSWORD="a-password-of-mine") + "ORDERS_GRPC_PROCESSES=2\nORDERS_RATE_LIMIT_WRITE=50/s\n")
    services = _compose_config(env_file)["services"]
    for name in ("migrate", "orders"):
        environment = services[name]["environment"]
        assert (environment["ORDERS_GRPC_PROCESSES"], environment["ORDERS_RATE_LIMIT_WRITE"]) == ("2", "50/s"), name
        assert {key for key in environment if key.startswith("ORDERS_")} <= SETTINGS, name
        assert not [key for key in environment if "ROOT" in key], "no root secret reaches the service"
    assert services["orders"]["environment"]["ORDERS_REDIS_URL"] == "redis://redis:6379/0"  # the stack's own wins
