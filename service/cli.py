"""The erp-orders command: serve, gateway, migrate, seed, version."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from decimal import Decimal
from importlib import metadata

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from service.domain.errors import AlreadyExists
from service.settings import Settings, SettingsError
from storage.engine import make_engine


def _engine(settings: Settings) -> Engine:
    return make_engine(settings.database_url, pool_size=2, max_overflow=0)


def _migrate(settings: Settings) -> None:
    from storage.migrate import upgrade

    upgrade(_engine(settings))
    print(f"migrated {make_url(settings.database_url).render_as_string(hide_password=True)}")


def _serve(settings: Settings) -> None:
    from service.server import serve

    if make_url(settings.database_url).get_backend_name() == "sqlite":
        # The embedded default must work with one command; MySQL is migrated by an explicit job.
        _migrate(settings)
    serve(settings)


def _gateway(settings: Settings) -> None:
    from service.gateway import server

    server.serve(settings, settings.gateway_target or f"127.0.0.1:{settings.grpc_port}")


def _seed(settings: Settings) -> None:
    from service.domain.model import Caller
    from service.handlers import customers, products
    from service.handlers.retry import RetryPolicy
    from service.handlers.runner import Runner
    from storage.uow import SqlUnitOfWork

    engine = _engine(settings)
    run = Runner(lambda: SqlUnitOfWork(engine), RetryPolicy())
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


def _version(_: Settings) -> None:
    print(metadata.version("erp-orders"))


COMMANDS = {"serve": _serve, "gateway": _gateway, "migrate": _migrate, "seed": _seed, "version": _version}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="erp-orders", description="ERP order service")
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--grpc-target", metavar="HOST:PORT", help="gateway: the gRPC server to call (ORDERS_GATEWAY_TARGET)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = Settings.from_env()
    except SettingsError as e:
        print(f"erp-orders: {e}", file=sys.stderr)
        return 2
    if args.grpc_target:
        settings = dataclasses.replace(settings, gateway_target=args.grpc_target)
    COMMANDS[args.command](settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
