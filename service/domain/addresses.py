"""The rules a postal address (a shipping address, a customer's address) must meet."""

from __future__ import annotations

import re
from service.domain.errors import FieldViolation, InvalidArgument
from service.domain.model import PostalAddress

_REGION = re.compile(r"[A-Z]{2}")
MAX_LINES = 5
MAX_RECIPIENTS = 5
# The longest each single-line part may be, in characters.
_LENGTHS = {
    "postal_code": 16, "sorting_code": 16, "administrative_area": 80, "locality": 80, "sublocality": 80,
    "organization": 120, "language_code": 35,
}
_LINE = 120


def violations(address: PostalAddress, field: str) -> list[FieldViolation]:
    """Every rule the address breaks, each naming its part (`shipping_address.address_lines[1]`)."""
    bad = []
    if not _REGION.fullmatch(address.region_code):
        bad.append(FieldViolation(f"{field}.region_code", "must be a CLDR region code: two capital letters, such as BR", "ADDRESS_REGION_CODE"))
    if not 1 <= len(address.address_lines) <= MAX_LINES:
        bad.append(FieldViolation(f"{field}.address_lines", f"must have 1 to {MAX_LINES} lines", "ADDRESS_LINES"))
    if len(address.recipients) > MAX_RECIPIENTS:
        bad.append(FieldViolation(f"{field}.recipients", f"must have at most {MAX_RECIPIENTS} recipients", "ADDRESS_RECIPIENTS"))
    for name in ("address_lines", "recipients"):
        bad += [
            FieldViolation(f"{field}.{name}[{i}]", f"must be 1 to {_LINE} characters, on one line", "ADDRESS_LENGTH")
            for i, line in enumerate(getattr(address, name))
            if not 1 <= len(line.strip()) <= _LINE or "\n" in line or "\r" in line
        ]
    bad += [
        FieldViolation(f"{field}.{name}", f"must be at most {limit} characters, on one line", "ADDRESS_LENGTH")
        for name, limit in _LENGTHS.items()
        if len(value := getattr(address, name)) > limit or "\n" in value or "\r" in value
    ]
    return bad


def ensure_valid(address: PostalAddress | None, field: str) -> None:
    """Raises InvalidArgument with one violation per broken rule; None (no address) is valid."""
    if address is not None and (bad := violations(address, field)):
        raise InvalidArgument(bad)
