"""Fixtures of the API tests (test_api_*.py): the API on fresh in-memory tables, and a client with every role."""

from __future__ import annotations

import pytest

from tests.helpers import Stubs, token
from tests.unit.api import Api


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.fixture
def stubs(api: Api) -> Stubs:
    return api.stubs(token("tester"))
