"""Tests for service.rest.openapi, schemas and rules: the document follows the descriptors, never a hand."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from google.rpc import code_pb2
from openapi_spec_validator import validate

from service.rest import http_errors, openapi, routes
from service.runtime.http_server import FILES
from tests.unit import shelves


# Statuses the gateway answers with its own HTTP status, not the code's: the reason says which.
_GATEWAY_STATUS = {**http_errors.REASON_STATUS, "BODY_TOO_LARGE": 413, "UNSUPPORTED_MEDIA_TYPE": 415, "HEADERS_TOO_LARGE": 431}


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
    assert responses["CreateShelf"] == ["201", "400", "409", "413", "415", "422", "429", "431", "500", "503", "504", "default"]
    assert responses["DeleteShelf"] == ["204", "400", "404", "409", "422", "429", "431", "500", "503", "504", "default"]
    assert "content" not in operations["DeleteShelf"][2]["responses"]["204"]
    assert operations["CreateShelf"][2]["responses"]["201"]["headers"]["Location"]["required"] is True
    assert operations["CountBooks"][2]["responses"]["200"]["content"]["application/json"]["schema"]["format"] == "int64"
    assert operations["GetShelf"][2]["responses"]["404"] == {"$ref": "#/components/responses/NotFound"}
    assert operations["GetShelf"][2]["responses"]["default"] == {"$ref": "#/components/responses/Error"}


def test_every_error_status_has_an_aip_193_example_whose_status_is_that_code(ours: dict[str, Any]) -> None:
    responses = ours["components"]["responses"]
    seen = set()
    for _, _, operation in _operations(ours).values():
        for status, reference in operation["responses"].items():
            if status[0] in "45":
                error = responses[reference["$ref"].rsplit("/", 1)[1]]["content"]["application/json"]["example"]["error"]
                assert error["code"] == int(status)
                code = code_pb2.Code.Value(error["status"])
                reason = error["details"][0]["reason"]
                assert http_errors.HTTP_STATUS.get(code, 500) == int(status) or _GATEWAY_STATUS.get(reason) == int(status)
                seen.add(int(status))
    assert seen >= {400, 401, 403, 404, 409, 413, 415, 422, 429, 431, 500, 503, 504}


def test_path_query_and_header_parameters_with_types(test_api: dict[str, Any]) -> None:
    _, _, get = _operations(test_api)["GetShelf"]
    params = {p["name"]: p for p in get["parameters"] if "name" in p}
    assert params["name"]["in"] == "path" and params["name"]["required"] is True
    assert params["tags"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert params["tags"]["explode"] is True
    assert params["since"]["schema"] == {"type": "string", "format": "date-time"}
    assert params["price.units"]["schema"]["format"] == "int64"
    assert params["kind"]["schema"] == {"$ref": "#/components/schemas/Kind"}
    assert params["mask"]["schema"]["type"] == "string"
    assert {"$ref": "#/components/parameters/IdempotencyKey"} not in get["parameters"]
    for name in ("CreateShelf", "UpdateShelf", "DeleteShelf", "CountBooks"):
        assert {"$ref": "#/components/parameters/IdempotencyKey"} in _operations(test_api)[name][2]["parameters"]


def test_request_bodies_refer_to_schemas_and_leave_out_path_fields(test_api: dict[str, Any]) -> None:
    operations = _operations(test_api)
    body = lambda name: operations[name][2]["requestBody"]["content"]["application/json"]["schema"]  # noqa: E731
    assert body("CreateShelf") == {"$ref": "#/components/schemas/Shelf"}
    assert body("UpdateShelf") == {"$ref": "#/components/schemas/Shelf"}
    assert body("CountBooks") == {"$ref": "#/components/schemas/CountBooksBody"}
    assert list(test_api["components"]["schemas"]["CountBooksBody"]["properties"]) == ["genre"]


def test_field_behaviour_becomes_required_and_read_only(test_api: dict[str, Any]) -> None:
    shelf = test_api["components"]["schemas"]["Shelf"]
    assert shelf["required"] == ["theme"]
    assert shelf["properties"]["name"]["readOnly"] is True
    assert shelf["additionalProperties"] is False


def test_buf_validate_rules_become_json_schema_keywords(ours: dict[str, Any]) -> None:
    schemas = ours["components"]["schemas"]
    item = schemas["CreateOrderRequestItem"]["properties"]
    assert (item["quantity"]["exclusiveMinimum"], item["quantity"]["maximum"]) == (0, 10000)
    assert (item["productId"]["minLength"], item["productId"]["maxLength"]) == (1, 64)
    order = schemas["CreateOrderRequest"]
    assert (order["properties"]["items"]["minItems"], order["properties"]["items"]["maxItems"]) == (1, 100)
    assert order["required"] == ["customerId", "items"]
    customer = schemas["CreateCustomerRequest"]["properties"]
    assert customer["email"]["format"] == "email"
    assert customer["document"]["pattern"] == "^([0-9]{11}|[0-9]{14})$"
    status = schemas["UpdateOrderStatusBody"]["properties"]["status"]
    assert "ORDER_STATUS_CANCELED" not in status["enum"] and "ORDER_STATUS_PENDING" in status["enum"]
    delta = schemas["AdjustStockBody"]["properties"]["delta"]
    assert (delta["type"], delta["format"], delta["not"]) == ("string", "int64", {"enum": ["0"]})


def test_money_and_timestamps_have_their_json_forms(ours: dict[str, Any]) -> None:
    schemas = ours["components"]["schemas"]
    assert set(schemas["Money"]["properties"]) == {"currencyCode", "units", "nanos"}
    assert schemas["Order"]["properties"]["total"]["$ref"] == "#/components/schemas/Money"
    assert schemas["Order"]["properties"]["createTime"]["format"] == "date-time"
    assert schemas["OrderStatus"]["type"] == "string"


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


def test_schema_names_have_no_dots_and_say_the_type(ours: dict[str, Any]) -> None:
    names = ours["components"]["schemas"]
    assert not [name for name in names if "." in name]
    assert {"Order", "CreateOrderRequest", "CreateOrderRequestItem", "OrderStatus", "Money", "Error"} <= set(names)


@pytest.mark.parametrize(("value", "passes"), [("", True), ("12345678901", True), ("12345678901234", True), ("123", False)])
def test_empty_or_a_pattern_is_one_pattern_generators_can_type(ours: dict[str, Any], value: str, passes: bool) -> None:
    document = ours["components"]["schemas"]["Customer"]["properties"]["document"]
    assert set(document) - {"description", "readOnly", "example"} == {"type", "pattern"}
    assert (re.search(document["pattern"], value) is not None) == passes


@pytest.mark.parametrize(("value", "passes"), [("", True), ("ana@example.com", True), ("ana@", False), ("not an email", False)])
def test_an_email_that_may_be_empty_is_the_html_email_pattern_or_empty(ours: dict[str, Any], value: str, passes: bool) -> None:
    email = ours["components"]["schemas"]["Customer"]["properties"]["email"]
    assert "anyOf" not in email and "format" not in email and email["maxLength"] == 254
    assert (re.search(email["pattern"], value) is not None) == passes


def _properties(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, value in schema.get("properties", {}).items():
        yield name, value.get("items", value)


def test_every_example_passes_the_schema_it_illustrates(ours: dict[str, Any]) -> None:
    illustrated = []
    for component, schema in ours["components"]["schemas"].items():
        for name, value in _properties(schema):
            if "example" in value:
                checked = {k: v for k, v in value.items() if k not in ("example", "description", "readOnly")}
                jsonschema.Draft202012Validator(checked, format_checker=jsonschema.FormatChecker()).validate(value["example"])
                illustrated.append(f"{component}.{name}")
    assert {"CreateCustomerRequest.document", "Customer.email", "CreateProductRequest.sku", "CreateOrderRequestItem.quantity"} <= set(illustrated)
