"""The environment the tests give erp-orders child processes: the product's settings, never the tests' own."""

from __future__ import annotations

import pytest

from tests.helpers import product_env


def test_the_tests_own_orders_variables_never_reach_the_product(monkeypatch: pytest.MonkeyPatch) -> None:
    # CI (.github/workflows/ci.yml) sets ORDERS_TEST_MYSQL_URL; a child that saw it would refuse to start.
    monkeypatch.setenv("ORDERS_TEST_MYSQL_URL", "mysql+mysqldb://root@mysql:3306")
    monkeypatch.setenv("ORDERS_GRPC_PORT", "1")  # the parent's own settings are not the child's either
    monkeypatch.setenv("PATH", "/somewhere")
    env = product_env(ORDERS_DATABASE_URL="sqlite:///orders.db")
    assert {k: v for k, v in env.items() if k.startswith("ORDERS_")} == {"ORDERS_DATABASE_URL": "sqlite:///orders.db"}
    assert env["PATH"] == "/somewhere"
