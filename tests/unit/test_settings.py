"""Settings are read once from ORDERS_* variables, cast, and fail loudly on mistakes."""

from __future__ import annotations

import dataclasses

import pytest

from service.redis.rate_limiter import Rate
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


def test_secrets_can_come_from_files_and_never_from_both_places(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "jwt"
    secret.write_text("from-a-file\n")
    assert Settings.from_env({"ORDERS_JWT_SECRET_FILE": str(secret)}).jwt_secret == "from-a-file"
    with pytest.raises(SettingsError, match="not both"):
        Settings.from_env({"ORDERS_JWT_SECRET_FILE": str(secret), "ORDERS_JWT_SECRET": "x"})
    with pytest.raises(SettingsError, match="cannot read"):
        Settings.from_env({"ORDERS_JWT_SECRET_FILE": str(tmp_path / "missing")})


def test_tls_settings_must_come_as_a_consistent_set() -> None:
    with pytest.raises(SettingsError, match="both ORDERS_TLS_CERT_FILE and ORDERS_TLS_KEY_FILE"):
        Settings(tls_cert_file="c.pem")
    with pytest.raises(SettingsError, match="ORDERS_GATEWAY_TLS_CA_FILE"):
        Settings(tls_cert_file="c.pem", tls_key_file="k.pem")
    with pytest.raises(SettingsError, match="mTLS"):
        Settings(tls_client_ca_file="ca.pem")


def test_printed_settings_mask_secrets_and_passwords() -> None:
    shown = Settings(database_url="mysql+mysqldb://orders:hunter2@db/orders", jwt_secret="s3cret").public()
    assert shown["ORDERS_JWT_SECRET"] == "********"
    assert shown["ORDERS_DATABASE_URL"] == "mysql+mysqldb://orders:***@db/orders"
    cluster = Settings(redis_url="redis+cluster://:hunter2@r1:7000,r2:7000").public()
    assert cluster["ORDERS_REDIS_URL"] == "redis+cluster://:***@r1:7000,r2:7000"


def test_a_redis_cluster_url_names_host_port_seeds_and_the_prefix_no_hash_tag() -> None:
    Settings(redis_url="redis+cluster://r1:7000, r2:7001,[::1]:7002/?ssl_cert_reqs=none")
    with pytest.raises(SettingsError, match="ORDERS_REDIS_URL: cluster seed 'r2' is not host:port"):
        Settings(redis_url="redis+cluster://r1:7000,r2")
    with pytest.raises(SettingsError, match="names no host:port seed node"):
        Settings(redis_url="rediss+cluster:///0")
    with pytest.raises(SettingsError, match="must not contain braces"):
        Settings(redis_key_prefix="erp-{orders}:")


def test_the_idempotency_lease_is_renewed_so_it_need_not_outlast_the_longest_call() -> None:
    Settings(idempotency_lease_s=10, retry_attempts=5, db_pool_timeout_s=10, db_lock_wait_timeout_s=5)
    with pytest.raises(SettingsError, match="ORDERS_IDEMPOTENCY_LEASE_S=0.5 must be at least 1"):
        Settings(idempotency_lease_s=0.5)
    with pytest.raises(SettingsError, match="at most ORDERS_IDEMPOTENCY_TTL_S=5"):
        Settings(idempotency_lease_s=10, idempotency_ttl_s=5)


def test_open_streams_leave_handler_threads_for_authenticated_calls() -> None:
    with pytest.raises(SettingsError, match="ORDERS_OPEN_STREAMS_MAX=32 must be at least 1 and below ORDERS_GRPC_WORKERS=32"):
        Settings(open_streams_max=32)
    with pytest.raises(SettingsError, match="ORDERS_OPEN_STREAMS_MAX=0"):
        Settings(open_streams_max=0)


def test_rate_limits_are_parsed_once_into_rates_that_are_not_settings_of_their_own() -> None:
    settings = Settings.from_env({"ORDERS_RATE_LIMIT_WRITE": "5/min", "ORDERS_RATE_LIMIT_READ": "off"})
    assert (settings.write_rate, settings.read_rate, settings.auth_failure_rate) == (Rate(5, 60.0), None, Rate(10, 1.0))
    assert dataclasses.replace(settings, rate_limit_write="7/s").write_rate == Rate(7, 1.0)
    assert not {"ORDERS_WRITE_RATE", "ORDERS_READ_RATE", "ORDERS_AUTH_FAILURE_RATE"} & set(settings.public())
    with pytest.raises(SettingsError, match="ORDERS_RATE_LIMIT_READ"):
        Settings(rate_limit_read="5 per second")


def test_the_http_edge_limits_must_be_positive() -> None:
    for name in ("HTTP_HEADER_TIMEOUT_S", "HTTP_BODY_TIMEOUT_S", "HTTP_KEEP_ALIVE_S", "HTTP_ERROR_LOG_INTERVAL_S"):
        with pytest.raises(SettingsError, match=f"ORDERS_{name}=0 must be above 0"):
            Settings.from_env({f"ORDERS_{name}": "0"})
    for name in ("HTTP_MAX_CONNECTIONS", "HTTP_ERROR_LOG_LINES"):
        with pytest.raises(SettingsError, match=f"ORDERS_{name}=0 must be at least 1"):
            Settings.from_env({f"ORDERS_{name}": "0"})


@pytest.mark.parametrize(("values", "named"), [
    ({"ORDERS_JWT_SECRET": "change-me-to-32-random-bytes-or-more"}, "ORDERS_JWT_SECRET is still the placeholder"),
    ({"ORDERS_DATABASE_URL": "mysql+mysqldb://orders:change-me@mysql:3306/orders"}, "the password in ORDERS_DATABASE_URL"),
    ({"ORDERS_REDIS_URL": "redis://:change-me-too@redis:6379/0"}, "the password in ORDERS_REDIS_URL"),
])
def test_a_placeholder_from_the_example_is_refused_where_a_secret_goes(values: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(values)
    assert Settings.from_env({"ORDERS_JWT_SECRET": "not-a-placeholder-change-me"}).jwt_secret  # only as the start


def test_one_principal_may_hold_between_one_and_all_of_the_watch_slots() -> None:
    assert Settings(watch_max_streams=8, watch_max_per_principal=8).watch_max_per_principal == 8
    for share in (0, 9):
        with pytest.raises(SettingsError, match=f"ORDERS_WATCH_MAX_PER_PRINCIPAL={share} must be at least 1 and at most ORDERS_WATCH_MAX_STREAMS=8"):
            Settings(watch_max_streams=8, watch_max_per_principal=share)


def test_the_resume_token_secret_is_masked_and_holds_at_least_one_secret() -> None:
    assert Settings(watch_token_secret="new,old").public()["ORDERS_WATCH_TOKEN_SECRET"] == "********"
    with pytest.raises(SettingsError, match="ORDERS_WATCH_TOKEN_SECRET must hold at least one secret"):
        Settings(watch_token_secret=",")


def test_a_negative_sync_settle_is_refused() -> None:
    with pytest.raises(SettingsError, match="ORDERS_SYNC_SETTLE_S=-1 must not be negative"):
        Settings.from_env({"ORDERS_SYNC_SETTLE_S": "-1"})
    assert Settings.from_env({"ORDERS_SYNC_SETTLE_S": "0"}).sync_settle_s == 0
