"""The erp-orders command: serve, gateway, relay, events tail, migrate, seed, version."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from importlib import metadata

from sqlalchemy import Engine, exc
from sqlalchemy.engine import make_url

from service.runtime import embedded, logs
from service.domain.errors import AlreadyExists
from service.grpc.methods import ALL_ROLES
from service.settings import Settings, SettingsError


_LOCAL_NATS = "nats://127.0.0.1:4222"  # a development machine's nats-server, for `events tail` without ORDERS_NATS_URL


def _engine(settings: Settings) -> Engine:
    from service.runtime import bootstrap

    return bootstrap.engine(settings, pool_size=2, max_overflow=0)


def _where(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)


def _upgrade(settings: Settings) -> str | None:
    """Migrates to the head; what changed, or None when the schema was already there."""
    from storage.migrate import upgrade

    before, after = upgrade(_engine(settings))
    return None if before == after else f"migrated {_where(settings)} from {before or 'an empty database'} to {after}"


def _migrate(settings: Settings, args: argparse.Namespace) -> None:
    from storage.migrate import head

    print(_upgrade(settings) or f"{_where(settings)} is already at revision {head()}")


def _serve(settings: Settings, args: argparse.Namespace | None = None) -> None:
    from service.runtime.lifecycle import serve

    if make_url(settings.database_url).get_backend_name() == "sqlite":
        # The embedded default must work with one command; MySQL is migrated by an explicit job.
        migrated = _upgrade(settings)
        if migrated:
            print(migrated)
    serve(settings)


def _relay(settings: Settings, args: argparse.Namespace) -> None:
    from service.events.relay import Relay
    from service.runtime.lifecycle import until_signalled

    if args.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port)
    from service.runtime import bootstrap

    engine = bootstrap.engine(settings, pool_size=2, max_overflow=2)
    Relay(engine, settings).run(until_signalled())


def _events_tail(settings: Settings, args: argparse.Namespace) -> None:
    from service.events.tail import tail

    try:
        tail(settings, args.nats_url or settings.nats_url or _LOCAL_NATS, args.subjects, args.from_start, args.count)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a tail ends


def _gateway(settings: Settings, args: argparse.Namespace) -> None:
    from service.runtime.lifecycle import serve_gateway

    serve_gateway(settings, args.grpc_target or settings.gateway_target or f"127.0.0.1:{settings.grpc_port}")


def _seed(settings: Settings, args: argparse.Namespace | None = None) -> None:
    from service.domain.model import Caller
    from service.usecases import customers, products
    from service.runtime import bootstrap

    database = embedded.database_file(settings)
    if database is not None and not database.exists():
        raise SettingsError(f"no database at {database}: run this where `erp-orders serve` runs, or `erp-orders migrate` first")
    engine = _engine(settings)
    run = bootstrap.runner(settings, bootstrap.units_of_work(settings, engine))
    caller = Caller("seed", "seed")
    demo = [
        ("PHONE-001", "Smartphone", "6.1 inch, 128 GB", "1999.90", 5),
        ("LAPTOP-001", "Laptop", "14 inch, 16 GB RAM", "5499.00", 3),
        ("EARBUDS-001", "Wireless earbuds", "Bluetooth 5.3", "299.90", 10),
    ]
    try:
        c = run(customers.create_customer, "Demo Customer", "52998224725", "demo@example.com", "+5511999990000", "Av. Paulista, 1000, São Paulo")
        print(f"customer {c.id} {c.name}")
    except AlreadyExists:
        print("customer already seeded")
    for sku, name, description, price, stock in demo:
        try:
            p = run(products.create_product, caller, sku, name, description, Decimal(price), settings.currency, stock)
            print(f"product {p.id} {p.sku} stock {p.stock_quantity}")
        except AlreadyExists:
            print(f"product {sku} already seeded")


def _version(settings: Settings, args: argparse.Namespace) -> None:
    print(metadata.version("erp-orders"))


def _token(settings: Settings, args: argparse.Namespace) -> None:
    from service.runtime.auth_setup import existing_signing_secret
    from service.grpc.tokens import mint

    roles = [r for r in args.roles.split(",") if r]
    unknown = set(roles) - ALL_ROLES
    if unknown:
        raise SettingsError(f"unknown roles {sorted(unknown)}; known: {sorted(ALL_ROLES)}")
    print(mint(existing_signing_secret(settings), args.sub, roles, args.ttl, settings.jwt_audience, settings.jwt_issuer))


def _health(settings: Settings, args: argparse.Namespace) -> None:
    """Exits 0 when the local server reports SERVING (the Docker HEALTHCHECK), 1 otherwise."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from service.runtime import tls

    target = args.target or f"127.0.0.1:{settings.grpc_port}"
    credentials = tls.channel_credentials(settings)
    options = tls.channel_options(settings)
    try:
        with (grpc.secure_channel(target, credentials, options) if credentials else grpc.insecure_channel(target)) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=args.timeout)
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    except grpc.RpcError as error:
        status = f"unreachable ({error.code().name})"
    print(f"{target}: {status}")
    if status != "SERVING":
        raise SystemExit(1)


def _settings(settings: Settings, args: argparse.Namespace) -> None:
    """Prints the effective settings, secrets masked; invalid settings already failed in main()."""
    for name, value in sorted(settings.public().items()):
        print(f"{name}={value}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="erp-orders", description="ERP order service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the gRPC server and the REST gateway").set_defaults(run=_serve)
    gateway = commands.add_parser("gateway", help="run only the REST gateway, in front of a remote gRPC server")
    gateway.add_argument("--grpc-target", default="", metavar="HOST:PORT", help="default: ORDERS_GATEWAY_TARGET")
    gateway.set_defaults(run=_gateway)
    relay = commands.add_parser("relay", help="publish the order-event outbox to NATS JetStream, and prune it")
    relay.add_argument("--metrics-port", type=int, default=0, help="serve /metrics on this port (default: off)")
    relay.set_defaults(run=_relay)
    events = commands.add_parser("events", help="the order events on NATS JetStream").add_subparsers(dest="events", required=True)
    tail = events.add_parser("tail", help="follow the event stream, one JSON line per event")
    tail.add_argument("subjects", nargs="?", default=">", help="below ORDERS_EVENTS_SUBJECT_PREFIX, e.g. 'order.>' (default: every event)")
    tail.add_argument("--from-start", action="store_true", help="print the events the stream holds first (default: only new ones)")
    tail.add_argument("--count", type=int, default=0, help="stop after this many events (default: follow until Ctrl-C)")
    tail.add_argument("--nats-url", default="", help=f"default: ORDERS_NATS_URL, else {_LOCAL_NATS}")
    tail.set_defaults(run=_events_tail)
    commands.add_parser("migrate", help="upgrade the database schema to the latest version").set_defaults(run=_migrate)
    commands.add_parser("seed", help="add a demo customer and products").set_defaults(run=_seed)
    commands.add_parser("version", help="print the version").set_defaults(run=_version)
    commands.add_parser("settings", help="validate and print the settings (secrets masked)").set_defaults(run=_settings)
    health = commands.add_parser("health", help="exit 0 if the gRPC server reports SERVING")
    health.add_argument("--target", default="", help="HOST:PORT (default: 127.0.0.1:ORDERS_GRPC_PORT)")
    health.add_argument("--timeout", type=float, default=3.0)
    health.set_defaults(run=_health)
    token = commands.add_parser("token", help="mint an HS256 token with the configured secret")
    token.add_argument("--sub", required=True, help="the principal, recorded as the actor")
    token.add_argument("--roles", default=",".join(sorted(ALL_ROLES)), help="comma-separated; default: all")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (default 3600)")
    token.set_defaults(run=_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        logs.configure(settings.log_level, settings.log_format)
        args.run(settings, args)
    except SettingsError as e:
        print(f"erp-orders: {e}", file=sys.stderr)
        return 2
    except exc.OperationalError as e:
        # No server, no such database, access denied: one line that says which, not a traceback.
        print(f"erp-orders: cannot use the database {_where(settings)}: {e.orig}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
