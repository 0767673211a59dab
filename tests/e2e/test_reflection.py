"""Operators debug the service with grpcurl, which relies on server reflection."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from service.server import Running

GRPCURL = shutil.which("grpcurl") or str(Path(sys.executable).parent / "grpcurl")


def test_grpcurl_lists_the_three_services_and_health(server: Running) -> None:
    result = subprocess.run(
        [GRPCURL, "-plaintext", f"127.0.0.1:{server.port}", "list"], capture_output=True, text=True, timeout=30, check=True
    )
    assert set(result.stdout.split()) >= {
        "erp.orders.v1.CustomerService", "erp.orders.v1.ProductService", "erp.orders.v1.OrderService", "grpc.health.v1.Health",
    }


def test_grpcurl_describes_http_bindings_and_validation_rules(server: Running) -> None:
    def describe(symbol: str) -> str:
        command = [GRPCURL, "-plaintext", f"127.0.0.1:{server.port}", "describe", symbol]
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout

    assert "int32:<lte:10000 gt:0>" in describe("erp.orders.v1.CreateOrderRequest")
    assert 'post:"/v1/orders/{id}:cancel"' in describe("erp.orders.v1.OrderService").replace(" ", "")
