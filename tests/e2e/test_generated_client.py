"""A Python client generated from the live /openapi.json by openapi-python-client runs the REST walkthrough:
a schema change that breaks generated clients fails here."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.helpers import cpf, token, unique

_PACKAGE = "erp_orders_generated_client"
# The generator runs ruff on its output by default; the test reads the code, it need not be formatted.
_CONFIG = "post_hooks: []\n"


@pytest.fixture(scope="module")
def generated(http: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("generated")
    (root / "openapi.json").write_bytes(http.get("/openapi.json").content)
    (root / "config.yaml").write_text(_CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    command = [str(generator), "generate", "--path", "openapi.json", "--config", "config.yaml", "--meta", "none", "--output-path", _PACKAGE]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout  # a skipped operation or schema is a broken client
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(_PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.split(".")[0] == _PACKAGE]:
            del sys.modules[name]


@pytest.fixture
def client(generated: ModuleType, http: httpx.Client) -> Iterator[Any]:
    with generated.AuthenticatedClient(base_url=str(http.base_url), token=token("tester")) as client:
        yield client


def _module(name: str) -> Any:
    return importlib.import_module(f"{_PACKAGE}.{name}")


def test_the_walkthrough_runs_on_a_client_generated_from_the_live_document(client: Any) -> None:
    models = _module("models")

    customer_request = models.CreateCustomerRequest(name="Ana Souza", document=cpf(), email=f"{unique()}@example.com")
    customer = _module("api.customers.create_customer").sync(client=client, body=customer_request, idempotency_key=unique("c-"))
    assert isinstance(customer, models.Customer) and customer.document == customer_request.document

    price = models.Money(currency_code="BRL", units="19", nanos=900000000)
    product_request = models.CreateProductRequest(sku=unique("SKU-"), name="Widget", price=price, initial_stock="10")
    product = _module("api.products.create_product").sync(client=client, body=product_request, idempotency_key=unique("p-"))
    assert isinstance(product, models.Product) and product.stock_quantity == "10"

    create_order = _module("api.orders.create_order")
    item = models.CreateOrderRequestItem(product_id=product.id, quantity=2)
    order_request = models.CreateOrderRequest(customer_id=customer.id, items=[item], note="by a generated client")
    key = unique("o-")
    first = create_order.sync_detailed(client=client, body=order_request, idempotency_key=key)
    assert first.status_code == 201 and isinstance(first.parsed, models.Order)
    assert first.parsed.status == models.OrderStatus.ORDER_STATUS_PENDING

    replay = create_order.sync_detailed(client=client, body=order_request, idempotency_key=key)
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.parsed.id == first.parsed.id

    missing = _module("api.orders.get_order").sync_detailed(order_id="999999999", client=client)
    assert missing.status_code == 404 and isinstance(missing.parsed, models.Error)
    assert (missing.parsed.error.code, missing.parsed.error.status) == (404, models.ErrorErrorStatus.NOT_FOUND)

    listed = _module("api.orders.list_orders").sync(client=client, customer_id=customer.id, page_size=20)
    assert isinstance(listed, models.ListOrdersResponse)
    assert [o.id for o in listed.orders] == [first.parsed.id]

    cancel = _module("api.orders.cancel_order")
    canceled = cancel.sync(order_id=first.parsed.id, client=client, body=models.CancelOrderBody(reason="customer request"), idempotency_key=unique("x-"))
    assert isinstance(canceled, models.Order) and canceled.status == models.OrderStatus.ORDER_STATUS_CANCELED
