"""The rules a postal address must meet, each violation naming its part."""

from __future__ import annotations

import pytest

from service.domain import addresses
from service.domain.errors import InvalidArgument
from service.domain.model import PostalAddress


def test_a_brazilian_address_with_a_line_is_valid_and_no_address_is_too() -> None:
    addresses.ensure_valid(PostalAddress("BR", ("Av. Paulista, 1000", "Bela Vista"), "01310-100", "SP", "São Paulo"), "a")
    addresses.ensure_valid(None, "a")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (PostalAddress("br", ("x",)), {"a.region_code": "ADDRESS_REGION_CODE"}),
        (PostalAddress("BRA", ("x",)), {"a.region_code": "ADDRESS_REGION_CODE"}),
        (PostalAddress("BR"), {"a.address_lines": "ADDRESS_LINES"}),
        (PostalAddress("BR", ("x",) * 6), {"a.address_lines": "ADDRESS_LINES"}),
        (PostalAddress("BR", ("x", " ", "y" * 121)), {"a.address_lines[1]": "ADDRESS_LENGTH", "a.address_lines[2]": "ADDRESS_LENGTH"}),
        (PostalAddress("BR", ("two\nlines",)), {"a.address_lines[0]": "ADDRESS_LENGTH"}),
        (PostalAddress("BR", ("x",), postal_code="1" * 17, locality="l" * 81), {"a.postal_code": "ADDRESS_LENGTH", "a.locality": "ADDRESS_LENGTH"}),
        (PostalAddress("BR", ("x",), recipients=("r",) * 6), {"a.recipients": "ADDRESS_RECIPIENTS"}),
    ],
    ids=["lower case region", "three letters", "no lines", "six lines", "blank and long lines", "a newline", "long parts", "six recipients"],
)
def test_each_broken_rule_is_a_violation_naming_its_part(address: PostalAddress, expected: dict[str, str]) -> None:
    with pytest.raises(InvalidArgument) as caught:
        addresses.ensure_valid(address, "a")
    assert {v.field: v.reason for v in caught.value.violations} == expected
