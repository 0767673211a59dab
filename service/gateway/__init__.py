"""REST gateway: HTTP/JSON transcoded to gRPC by the google.api.http options of the contract.

How a request flows, one module per step:

    app        ASGI entry: docs and OpenAPI documents, body limits, one place that turns failures into responses
    ├── router     method + path → route (404 / 405), built from routes
    │   └── routes     descriptors → one Route per binding, including additional_bindings
    │       └── pathtemplate   "/v1/{name=shelves/*}:verb" → regex, variables, expansion
    ├── headers    HTTP headers → gRPC metadata and deadline; response metadata → HTTP headers
    ├── transcode  path variables, query and JSON body → request message
    ├── errors     gRPC status → HTTP status (one table) and the AIP-193 body
    └── server     uvicorn on its own thread and loop, or standalone
    openapi, schemas, rules, comments   the OpenAPI 3.1 document, from the same routes
    docs       the offline Swagger UI page and its assets
"""
