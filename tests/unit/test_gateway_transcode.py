"""Tests for service.rest.transcode and query: HTTP pieces → request message, response → canonical JSON."""

from __future__ import annotations

import json

import pytest
from google.protobuf import timestamp_pb2

from service.rest import routes, transcode
from service.rest.http_errors import GatewayError
from tests.unit import shelves


@pytest.fixture(scope="module")
def table() -> dict[str, routes.Route]:
    return {r.operation_id: r for r in routes.build([shelves.service()])}


def _violation(error: GatewayError) -> tuple[str, str]:
    from google.rpc import error_details_pb2

    for detail in error.status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return bad.field_violations[0].field, bad.field_violations[0].description
    raise AssertionError("no BadRequest")


def test_query_parameters_fill_repeated_nested_enum_and_well_known_fields(table: dict[str, routes.Route]) -> None:
    query = (
        b"tags=a&tags=b&kind=KIND_BIG&since=2024-05-01T10:00:00Z&price.currencyCode=BRL&price.units=12&price.nanos=5"
        b"&inner.code=x&inner.nums=1&inner.nums=2&mask=theme,count&open=true&big=9007199254740993"
    )
    request = transcode.request(table["GetShelf"], {"name": "shelves/s1"}, query, b"")
    assert request.name == "shelves/s1"
    assert list(request.tags) == ["a", "b"]
    assert request.kind == 1
    assert request.since == timestamp_pb2.Timestamp(seconds=1714557600)
    assert (request.price.currency_code, request.price.units, request.price.nanos) == ("BRL", 12, 5)
    assert (request.inner.code, list(request.inner.nums)) == ("x", [1, 2])
    assert list(request.mask.paths) == ["theme", "count"]
    assert request.open is True
    assert request.big == 9007199254740993


def test_proto_names_work_in_the_query_as_well(table: dict[str, routes.Route]) -> None:
    request = transcode.request(table["GetShelf"], {"name": "shelves/s1"}, b"price.currency_code=USD", b"")
    assert request.price.currency_code == "USD"


@pytest.mark.parametrize(
    ("query", "field"),
    [(b"colour=red", "colour"), (b"kind=KIND_HUGE", "kind"), (b"open=yes", "open"), (b"open=true&open=false", "open"), (b"big=1.5", "big")],
)
def test_bad_query_parameters_name_the_field(table: dict[str, routes.Route], query: bytes, field: str) -> None:
    with pytest.raises(GatewayError) as caught:
        transcode.request(table["GetShelf"], {"name": "shelves/s1"}, query, b"")
    assert _violation(caught.value)[0] == field


def test_a_body_field_binding_parses_the_body_into_that_field_and_the_path_wins(table: dict[str, routes.Route]) -> None:
    body = json.dumps({"name": "shelves/other", "theme": "sci-fi", "count": "3"}).encode()
    request = transcode.request(table["UpdateShelf"], {"shelf.name": "shelves/s1"}, b"updateMask=theme", body)
    assert (request.shelf.name, request.shelf.theme, request.shelf.count) == ("shelves/s1", "sci-fi", 3)
    assert list(request.update_mask.paths) == ["theme"]


def test_a_whole_body_binding_refuses_fields_the_path_binds(table: dict[str, routes.Route]) -> None:
    with pytest.raises(GatewayError) as caught:
        transcode.request(table["CountBooks"], {"name": "shelves/s1"}, b"", b'{"name": "shelves/s2"}')
    assert _violation(caught.value)[0] == "name"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"theme": 5}', "theme"),
        (b'{"count": "lots"}', "count"),
        (b'{"count": 1.5}', "count"),
        (b'{"kind": "KIND_HUGE"}', "kind"),
        (b'{"shelfColour": "red"}', "shelfColour"),
        (b"[]", ""),
        (b"{", ""),
        (b"\xff", ""),
    ],
)
def test_bad_bodies_name_the_field_when_there_is_one(table: dict[str, routes.Route], body: bytes, field: str) -> None:
    with pytest.raises(GatewayError) as caught:
        transcode.request(table["CreateShelf"], {}, b"", body)
    assert caught.value.status.code == 3  # INVALID_ARGUMENT
    assert _violation(caught.value)[0] == field


def test_an_empty_body_is_an_empty_message(table: dict[str, routes.Route]) -> None:
    assert transcode.request(table["CreateShelf"], {}, b"", b"") == table["CreateShelf"].request_class()


def test_responses_are_canonical_json_with_defaults_and_response_body_selects_a_field(table: dict[str, routes.Route]) -> None:
    shelf = table["GetShelf"].response_class(name="shelves/s1", count=2**53 + 1, kind=1)
    assert json.loads(transcode.response(table["GetShelf"], shelf)) == {
        "name": "shelves/s1", "theme": "", "count": "9007199254740993", "kind": "KIND_BIG",
    }
    assert json.loads(transcode.response(table["CountBooks"], shelf)) == "9007199254740993"
