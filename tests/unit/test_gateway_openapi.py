"""Tests for service.gateway.openapi, schemas and rules: the document follows the descriptors, never a hand."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from service.gateway import openapi, routes
from service.gateway.http_server import FILES
from tests.unit import shelves


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    return openapi.document(routes.build(s for f in FILES for s in f.services_by_name.values()))


@pytest.fixture(scope="module")
def test_api() -> dict[str, Any]:
    return openapi.document(routes.build([shelves.service()]))


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {op["operationId"]: (path, method, op) for path, item in document["paths"].items() for method, op in item.items()}


def test_both_documents_pass_openapi_spec_validator(ours: dict[str, Any], test_api: dict[str, Any]) -> None:
    validate(ours)
    validate(test_api)


def test_one_operation_per_binding_with_disambiguated_ids_and_collection_tags(test_api: dict[str, Any]) -> None:
    operations = _operations(test_api)
    assert sorted(operations) == ["CountBooks", "CreateShelf", "DeleteShelf", "GetShelf", "GetShelf2", "UpdateShelf"]
    assert operations["GetShelf2"][0] == "/v1/{name}/alias"
    assert {op["tags"][0] for _, _, op in operations.values()} == {"Shelves"}


def test_summaries_and_descriptions_come_from_proto_comments(ours: dict[str, Any]) -> None:
    _, _, create = _operations(ours)["CreateOrder"]
    assert create["summary"] == "Places an order"
    assert create["description"].startswith("Places an order. All lines are reserved")
    assert ours["tags"][2] == {"name": "Orders", "description": "Takes orders against stock and moves them through fulfilment."}


def test_status_codes_location_and_errors_per_operation(test_api: dict[str, Any]) -> None:
    operations = _operations(test_api)
    responses = {name: sorted(op["responses"]) for name, (_, _, op) in operations.items()}
    assert responses["CreateShelf"] == ["201", "4XX", "5XX"]
    assert responses["DeleteShelf"] == ["204", "4XX", "5XX"]
    assert "content" not in operations["DeleteShelf"][2]["responses"]["204"]
    assert operations["CreateShelf"][2]["responses"]["201"]["headers"]["Location"]["required"] is True
    assert operations["CountBooks"][2]["responses"]["200"]["content"]["application/json"]["schema"]["format"] == "int64"
    assert operations["GetShelf"][2]["responses"]["4XX"] == {"$ref": "#/components/responses/Error"}


def test_path_query_and_header_parameters_with_types(test_api: dict[str, Any]) -> None:
    _, _, get = _operations(test_api)["GetShelf"]
    params = {p["name"]: p for p in get["parameters"] if "name" in p}
    assert params["name"]["in"] == "path" and params["name"]["required"] is True
    assert params["tags"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert params["tags"]["explode"] is True
    assert params["since"]["schema"] == {"type": "string", "format": "date-time"}
    assert params["price.units"]["schema"]["format"] == "int64"
    assert params["kind"]["schema"] == {"$ref": "#/components/schemas/gatewaytest.v1.Kind"}
    assert params["mask"]["schema"]["type"] == "string"
    assert {"$ref": "#/components/parameters/IdempotencyKey"} not in get["parameters"]
    for name in ("CreateShelf", "UpdateShelf", "DeleteShelf", "CountBooks"):
        assert {"$ref": "#/components/parameters/IdempotencyKey"} in _operations(test_api)[name][2]["parameters"]


def test_request_bodies_refer_to_schemas_and_leave_out_path_fields(test_api: dict[str, Any]) -> None:
    operations = _operations(test_api)
    body = lambda name: operations[name][2]["requestBody"]["content"]["application/json"]["schema"]  # noqa: E731
    assert body("CreateShelf") == {"$ref": "#/components/schemas/gatewaytest.v1.Shelf"}
    assert body("UpdateShelf") == {"$ref": "#/components/schemas/gatewaytest.v1.Shelf"}
    assert body("CountBooks") == {"$ref": "#/components/schemas/CountBooksBody"}
    assert list(test_api["components"]["schemas"]["CountBooksBody"]["properties"]) == ["genre"]


def test_field_behaviour_becomes_required_and_read_only(test_api: dict[str, Any]) -> None:
    shelf = test_api["components"]["schemas"]["gatewaytest.v1.Shelf"]
    assert shelf["required"] == ["theme"]
    assert shelf["properties"]["name"]["readOnly"] is True
    assert shelf["additionalProperties"] is False


def test_buf_validate_rules_become_json_schema_keywords(ours: dict[str, Any]) -> None:
    schemas = ours["components"]["schemas"]
    item = schemas["erp.orders.v1.CreateOrderRequest.Item"]["properties"]
    assert (item["quantity"]["exclusiveMinimum"], item["quantity"]["maximum"]) == (0, 10000)
    assert (item["productId"]["minLength"], item["productId"]["maxLength"]) == (1, 64)
    order = schemas["erp.orders.v1.CreateOrderRequest"]
    assert (order["properties"]["items"]["minItems"], order["properties"]["items"]["maxItems"]) == (1, 100)
    assert order["required"] == ["customerId", "items"]
    customer = schemas["erp.orders.v1.CreateCustomerRequest"]["properties"]
    assert customer["email"]["format"] == "email"
    assert customer["document"]["pattern"] == "^([0-9]{11}|[0-9]{14})$"
    assert customer["phone"]["anyOf"][0] == {"const": ""}  # IGNORE_IF_ZERO_VALUE: empty passes
    status = schemas["UpdateOrderStatusBody"]["properties"]["status"]
    assert "ORDER_STATUS_CANCELED" not in status["enum"] and "ORDER_STATUS_PENDING" in status["enum"]
    delta = schemas["AdjustStockBody"]["properties"]["delta"]
    assert (delta["type"], delta["format"], delta["not"]) == ("string", "int64", {"enum": ["0"]})


def test_money_and_timestamps_have_their_json_forms(ours: dict[str, Any]) -> None:
    schemas = ours["components"]["schemas"]
    assert set(schemas["google.type.Money"]["properties"]) == {"currencyCode", "units", "nanos"}
    assert schemas["erp.orders.v1.Order"]["properties"]["total"]["$ref"] == "#/components/schemas/google.type.Money"
    assert schemas["erp.orders.v1.Order"]["properties"]["createTime"]["format"] == "date-time"
    assert schemas["erp.orders.v1.OrderStatus"]["type"] == "string"


def test_everything_requires_a_bearer_token(ours: dict[str, Any]) -> None:
    assert ours["security"] == [{"bearerAuth": []}]
    scheme = ours["components"]["securitySchemes"]["bearerAuth"]
    assert {k: v for k, v in scheme.items() if k != "description"} == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def test_groups_read_as_people_name_them_and_a_resource_has_one_path_parameter_name(ours: dict[str, Any]) -> None:
    assert [t["name"] for t in ours["tags"]] == ["Customers", "Products", "Orders", "Order events"]
    names: dict[str, set[str]] = {}
    for path in ours["paths"]:
        segments = path.split(":")[0].split("/")
        for collection, segment in zip(segments, segments[1:], strict=False):
            if segment.startswith("{"):  # each parameter is named by the collection it follows
                names.setdefault(collection, set()).add(segment.strip("{}"))
    assert names == {"customers": {"customer_id"}, "products": {"product_id"}, "orders": {"order_id"}, "shipments": {"shipment_id"}}
    # Get, Update and Delete of one customer are one path, whatever field each request binds.
    assert sorted(ours["paths"]["/v1/customers/{customer_id}"]) == ["delete", "get", "patch"]


def test_the_document_says_how_to_get_a_token_and_each_operation_names_its_role(ours: dict[str, Any]) -> None:
    howto = ours["components"]["securitySchemes"]["bearerAuth"]["description"]
    assert "erp-orders token --sub" in howto and "Authorize" in howto and "`orders.fulfil`" in howto
    assert howto in ours["info"]["description"]
    _, _, cancel = _operations(ours)["CancelOrder"]
    assert cancel["description"].endswith("Needs a token with the role `orders.write`.")
