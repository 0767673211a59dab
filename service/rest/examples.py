"""Realistic example values for the document's fields, by proto field name: without them UIs show a
random string that matches the pattern (an 80-digit document, `AAAA` for an email)."""

from __future__ import annotations

from typing import Any

# Each must pass the field's own rules wherever the name occurs; tests/unit/test_gateway_openapi.py checks that.
BY_FIELD_NAME: dict[str, Any] = {
    "document": "52998224725",  # a CPF whose check digits are right
    "email": "ana.souza@example.com",
    "phone": "+5511999990000",
    "address": "Av. Paulista, 1000, São Paulo",
    "sku": "PHONE-001",
    "currency_code": "BRL",
    "customer_id": "1",
    "product_id": "1",
    "order_id": "1",
    "quantity": 2,
    "note": "deliver after 6 pm",
    "reason": "customer request",
}
