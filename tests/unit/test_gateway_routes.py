"""Tests for service.rest.routes and router: the table built from descriptors, and 404/405 resolution."""

from __future__ import annotations

import pytest

from service.rest import csv_export, routes
from service.rest.http_errors import GatewayError
from service.rest.router import Router
from service.runtime.http_server import FILES
from tests.unit import shelves


@pytest.fixture(scope="module")
def table() -> dict[str, routes.Route]:
    return {r.operation_id: r for r in routes.build([shelves.service()])}


def test_every_binding_becomes_a_route_and_methods_without_one_are_skipped(table: dict[str, routes.Route]) -> None:
    assert sorted(table) == ["CountBooks", "CreateShelf", "DeleteShelf", "GetShelf", "GetShelf2", "UpdateShelf"]
    assert table["GetShelf2"].template.source == "/v1/{name=shelves/*}/alias"
    assert table["GetShelf2"].grpc_path == "/gatewaytest.v1.ShelfService/GetShelf"


def test_success_status_is_201_for_create_204_for_empty_and_200_otherwise(table: dict[str, routes.Route]) -> None:
    statuses = {name: r.success_status for name, r in table.items()}
    assert statuses == {"CountBooks": 200, "CreateShelf": 201, "DeleteShelf": 204, "GetShelf": 200, "GetShelf2": 200, "UpdateShelf": 200}


def test_creates_get_their_location_from_the_get_of_the_same_resource(table: dict[str, routes.Route]) -> None:
    location = table["CreateShelf"].location
    assert location is not None
    shelf = table["CreateShelf"].response_class(name="shelves/s 1")
    assert location.of(shelf) == "/v1/shelves/s%201"


def test_fields_bound_by_path_or_body_are_not_query_parameters(table: dict[str, routes.Route]) -> None:
    get = {".".join(f.json_path) for f in table["GetShelf"].query.values()}
    assert get == {"tags", "kind", "since", "price.currencyCode", "price.units", "price.nanos", "inner.code", "inner.nums", "mask", "open", "big"}
    assert {".".join(f.json_path) for f in table["UpdateShelf"].query.values()} == {"updateMask"}
    assert table["CountBooks"].query == {}  # body "*" takes every field


def test_query_parameters_answer_to_proto_and_json_spellings(table: dict[str, routes.Route]) -> None:
    query = table["GetShelf"].query
    assert query["price.currency_code"] is query["price.currencyCode"]


def test_the_table_of_our_contract_has_one_route_per_rpc() -> None:
    built = routes.build(s for f in FILES for s in f.services_by_name.values())
    assert len(built) == sum(len(s.methods) for f in FILES for s in f.services_by_name.values())
    # ExportOrders served as text/csv (service/rest/csv_export.py), WatchOrderEvents as Server-Sent Events
    assert [r.rpc.name for r in built if r.streaming] == ["ExportOrders", "WatchOrderEvents"]
    assert [r.rpc.name for r in built if csv_export.renders(r)] == ["ExportOrders"]


def test_the_router_prefers_custom_verbs_and_answers_404_and_405(table: dict[str, routes.Route]) -> None:
    router = Router(table.values())
    assert router.resolve("POST", "/v1/shelves/s1:count")[0].operation_id == "CountBooks"
    assert router.resolve("GET", "/v1/shelves/s1") == (table["GetShelf"], {"name": "shelves/s1"})
    assert router.resolve("POST", "/v1/shelves")[0].operation_id == "CreateShelf"
    with pytest.raises(GatewayError) as missing:
        router.resolve("GET", "/v2/shelves/s1")
    assert missing.value.status.code == 5 and missing.value.http_status is None  # NOT_FOUND → 404 by the table
    with pytest.raises(GatewayError) as wrong:
        router.resolve("PUT", "/v1/shelves/s1")
    assert wrong.value.http_status == 405
    assert wrong.value.headers == [(b"allow", b"DELETE, GET, PATCH")]
