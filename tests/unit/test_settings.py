"""Settings are read once from ORDERS_* variables, cast, and fail loudly on mistakes."""

from __future__ import annotations

import pytest

from service.settings import Settings, SettingsError


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert (settings.database_url, settings.grpc_port, settings.currency) == ("sqlite:///orders.db", 50051, "BRL")


def test_values_are_cast_to_their_types() -> None:
    settings = Settings.from_env({"ORDERS_GRPC_PORT": "6000", "ORDERS_DB_POOL_TIMEOUT_S": "2.5", "PATH": "/bin"})
    assert (settings.grpc_port, settings.db_pool_timeout_s) == (6000, 2.5)


def test_an_unknown_setting_names_the_nearest_valid_one() -> None:
    with pytest.raises(SettingsError, match="ORDERS_GRPC_PROT; did you mean ORDERS_GRPC_PORT"):
        Settings.from_env({"ORDERS_GRPC_PROT": "1"})


def test_a_value_of_the_wrong_type_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="ORDERS_GRPC_PORT='http'"):
        Settings.from_env({"ORDERS_GRPC_PORT": "http"})
