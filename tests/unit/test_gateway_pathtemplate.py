"""Tests for service.rest.pathtemplate: parsing, matching raw paths, and expanding back."""

from __future__ import annotations

import pytest

from service.rest.pathtemplate import TemplateError, parse


def test_a_simple_variable_matches_one_segment_and_is_percent_decoded() -> None:
    template = parse("/v1/orders/{id}")
    assert template.match("/v1/orders/a%20b") == {"id": "a b"}
    assert template.match("/v1/orders/a/b") is None
    assert template.match("/v1/orders/") is None


def test_nested_fields_bind_by_their_dotted_path_and_show_with_underscores() -> None:
    template = parse("/v1/customers/{customer.id}")
    assert template.match("/v1/customers/7") == {"customer.id": "7"}
    assert template.openapi_path == "/v1/customers/{customer_id}"


def test_a_variable_after_a_collection_is_named_for_its_resource_whatever_field_it_binds() -> None:
    assert parse("/v1/customers/{id}").openapi_path == parse("/v1/customers/{customer.id}").openapi_path
    assert parse("/v1/orders/{id}:cancel").openapi_path == "/v1/orders/{order_id}:cancel"
    assert parse("/v1/shelves/{shelf}/books/{book}").openapi_path == "/v1/shelves/{shelf_id}/books/{book_id}"
    assert parse("/v1/a/{x}/a/{y}").openapi_path == "/v1/a/{x}/a/{y}"  # one name twice: the field names
    assert parse("/v1/orders/{id}").expand({"id": "7"}) == "/v1/orders/7"


def test_segment_patterns_bind_several_segments_and_keep_encoded_slashes() -> None:
    template = parse("/v1/{name=shelves/*/books/*}")
    assert template.match("/v1/shelves/s1/books/b%2F2") == {"name": "shelves/s1/books/b%2F2"}
    assert template.match("/v1/shelves/s1") is None
    assert parse("/v1/{path=files/**}").match("/v1/files/a/b/c") == {"path": "files/a/b/c"}


def test_a_custom_verb_is_part_of_the_match() -> None:
    template = parse("/v1/orders/{id}:cancel")
    assert template.verb == "cancel"
    assert template.match("/v1/orders/9:cancel") == {"id": "9"}
    assert template.match("/v1/orders/9:undelete") is None


def test_expand_percent_encodes_single_segments_but_not_slashes_of_multi_segment_values() -> None:
    assert parse("/v1/orders/{id}").expand({"id": "a/b c"}) == "/v1/orders/a%2Fb%20c"
    assert parse("/v1/{name=shelves/*}").expand({"name": "shelves/x y"}) == "/v1/shelves/x%20y"


@pytest.mark.parametrize("bad", ["v1/orders", "/v1/{id", "/v1//x", "/v1/a*b"])
def test_malformed_templates_are_refused(bad: str) -> None:
    with pytest.raises(TemplateError):
        parse(bad)
