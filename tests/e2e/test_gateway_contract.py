"""The OpenAPI document against the live gateway: it validates, and schemathesis finds no 5xx or off-schema reply."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import yaml
from openapi_spec_validator import validate

from service.runtime.http_server import RunningGateway

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Server errors and schema-breaking responses are what the contract forbids. Positive-data acceptance is
# left out on purpose: CEL rules (e.g. whole cents) and ids that do not exist make valid-looking data fail.
# The coverage phase alone takes about a minute here, so examples and fuzzing (~20 s) run.
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"
from tests.helpers import token


def test_the_served_document_is_valid_openapi_3_1_in_json_and_yaml(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    validate(document)
    assert yaml.safe_load(http.get("/openapi.yaml").text) == document


def test_schemathesis_finds_no_server_error_and_no_schema_breaking_response(gateway: RunningGateway) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    schemathesis = Path(sys.executable).with_name("schemathesis")
    command = [
        str(schemathesis), "run", f"http://127.0.0.1:{gateway.port}/openapi.json",
        "--checks", CHECKS, "--phases", "examples,fuzzing", "--max-examples", "20", "--seed", "4", "--workers", "1",
        "--header", f"Authorization: Bearer {token('contract-test')}",
        "--request-timeout", "10", "--no-color",
        # An event stream from now never ends by itself; tests/e2e/test_watch_sse.py covers it.
        "--exclude-operation-id", "WatchOrderEvents",
        "--report", "junit", "--report-junit-path", str(ARTIFACTS / "schemathesis.xml"),
    ]
    # Run inside test-artifacts/, where schemathesis also leaves its own working files.
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"}, cwd=ARTIFACTS)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
