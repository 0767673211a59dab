"""Violation descriptions a person can read; the rule ids stay the machine-readable reasons."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.protobuf.descriptor import Descriptor

from service import buf_validate
from service._gen.erp.orders.v1 import customer_pb2, order_pb2, product_pb2
from service.domain.errors import InvalidArgument
from service.grpc.request_checks import validate
from service.grpc.violation_text import PATTERNS


def _messages(message: Descriptor) -> Iterator[Descriptor]:
    yield message
    for nested in message.nested_types:
        yield from _messages(nested)


def _violations(request: object) -> dict[str, tuple[str, str]]:
    with pytest.raises(InvalidArgument) as refused:
        validate(request)  # type: ignore[arg-type]
    return {v.field: (v.reason, v.description) for v in refused.value.violations}


def test_every_pattern_in_the_contract_is_described_in_words() -> None:
    patterns = {
        field.GetOptions().Extensions[buf_validate.field].string.pattern
        for module in (customer_pb2, order_pb2, product_pb2)
        for top in module.DESCRIPTOR.message_types_by_name.values()
        for message in _messages(top)
        for field in message.fields
    } - {""}
    assert patterns and patterns <= PATTERNS.keys()


def test_missing_and_malformed_fields_are_described_without_regexes_or_bad_grammar() -> None:
    found = _violations(customer_pb2.CreateCustomerRequest(document="123", phone="call me"))
    assert found["name"] == ("string.min_len", "must not be empty")
    assert found["document"] == ("string.pattern", "must be a CPF (11 digits) or a CNPJ (14 digits), digits only")
    assert found["email"] == ("string.email_empty", "must not be empty")
    assert found["phone"] == ("string.pattern", "must be 8 to 15 digits, with an optional leading +")
    items = _violations(order_pb2.CreateOrderRequest(customer_id="1"))
    assert items["items"] == ("repeated.min_items", "must have at least 1 item")


def test_a_refused_status_says_where_cancelling_goes_and_unknown_values_list_the_valid_ones() -> None:
    canceled = _violations(order_pb2.UpdateOrderStatusRequest(id="1", status=order_pb2.ORDER_STATUS_CANCELED))
    reason, text = canceled["status"]
    assert reason == "enum.not_in" and "CancelOrder" in text and "[0, 6]" not in text
    unset = _violations(order_pb2.UpdateOrderStatusRequest(id="1"))["status"][1]
    assert unset.startswith("must be set: ") and "ORDER_STATUS_CONFIRMED" in unset and "CANCELED" not in unset
    unknown = _violations(order_pb2.UpdateOrderStatusRequest(id="1", status=42))["status"]
    assert unknown[0] == "enum.defined_only"
    assert "ORDER_STATUS_DELIVERED" in unknown[1] and "42" in unknown[1]
