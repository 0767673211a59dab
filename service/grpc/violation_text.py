"""What a person reads when a request breaks a rule: protovalidate's text, reworded where it is
written for machines ("must be at least 1 characters", a raw regex, "must not be in list [0, 6]").

The rule id (`string.min_len`, `enum.not_in`, …) stays the BadRequest reason, so programs keep
matching on it; only the description changes. This is the one place the wording lives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

# Every pattern in the contract, in words (tests/unit/test_violation_text.py checks none is missing).
PATTERNS = {
    "^([0-9]{11}|[0-9]{14})$": "must be a CPF (11 digits) or a CNPJ (14 digits), digits only",
    "^\\+?[0-9]{8,15}$": "must be 8 to 15 digits, with an optional leading +",
    "^[A-Z0-9][A-Z0-9._-]{0,63}$": "must be 1 to 64 characters of A-Z, 0-9, '.', '_' or '-', starting with a letter or digit",
    "^[A-Za-z0-9][A-Za-z0-9._/#:-]*$": "must be ASCII letters, digits, '.', '_', '/', '#', ':' or '-', starting with a letter or digit",
}

# A refused enum value that has a right way of its own: (field's full name, value name) → where to go.
ENUM_HINTS = {
    ("erp.orders.v1.UpdateOrderStatusRequest.status", "ORDER_STATUS_CANCELED"):
        "to cancel an order use CancelOrder (POST /v1/orders/{id}:cancel), which also returns its stock",
}


def enum_choices(enum: EnumDescriptor, allowed: Callable[[int], bool] = lambda _: True) -> str:
    """`A, B or C`: the values a caller may send (never the zero UNSPECIFIED value)."""
    names = [v.name for v in enum.values if v.number != 0 and allowed(v.number)]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def describe(rule_id: str, text: str, rule_value: Any, field_value: Any, field: FieldDescriptor | None) -> str:
    """The description for one violation; protovalidate's own `text` where it already reads well."""
    if rule_id == "string.min_len":
        return "must not be empty" if rule_value == 1 else f"must be at least {rule_value} characters"
    if rule_id == "string.pattern":
        return PATTERNS.get(rule_value, "is not in the expected format")
    if rule_id == "string.email_empty":
        return "must not be empty"
    if rule_id == "string.email":
        return "must be an email address, such as ana@example.com"
    if rule_id == "string.in":
        named = [repr(v) for v in rule_value if v]
        return f"must be {', '.join(named[:-1])} or {named[-1]}" + (" (or empty)" if "" in rule_value else "")
    if rule_id == "repeated.unique":
        return "must not name the same value twice"
    if rule_id == "required":
        return "is required"
    if rule_id in ("repeated.min_items", "repeated.max_items"):
        bound = "at least" if rule_id.endswith("min_items") else "at most"
        return f"must have {bound} {rule_value} {'item' if rule_value == 1 else 'items'}"
    if field is not None and field.enum_type is not None and rule_id.startswith(("enum.", "repeated.items.enum.")):
        return _enum(rule_id, field, rule_value, field_value)
    return text


def field_at(message: Descriptor, names: Iterable[str]) -> FieldDescriptor | None:
    """The field a violation's path names, walking nested messages."""
    field = None
    for name in names:
        if message is None or name not in message.fields_by_name:
            return None
        field = message.fields_by_name[name]
        message = field.message_type
    return field


def _enum(rule_id: str, field: FieldDescriptor, rule_value: Any, field_value: Any) -> str:
    enum = field.enum_type
    if rule_id.endswith("not_in"):
        refused = set(rule_value)
        allowed = enum_choices(enum, lambda n: n not in refused)
        if field_value == 0:
            return f"must be set: {allowed}"
        value = enum.values_by_number.get(field_value)
        hint = ENUM_HINTS.get((field.full_name, value.name)) if value else None
        named = value.name if value else str(field_value)
        return f"{named} is not accepted here: {hint}" if hint else f"must be {allowed}, not {named}"
    if rule_id.endswith("defined_only"):
        return f"must be one of {enum_choices(enum)}; {field_value} is not a value of {enum.name}"
    return f"must be one of {enum_choices(enum)}"
