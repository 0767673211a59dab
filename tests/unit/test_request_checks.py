"""Which requests are checked against buf.validate rules: every request of our contract, and none of a
file that cannot carry rules (grpc.health.v1), which would pay for a check that finds nothing."""

from __future__ import annotations

import pytest
from grpc_health.v1 import health_pb2

from service.grpc import request_checks
from service._gen.erp.orders.v1 import customer_pb2
from service.grpc.contract import SERVICES
from service.domain.errors import InvalidArgument


def test_every_request_of_the_contract_is_checked() -> None:
    requests = [rpc.input_type for service in SERVICES for rpc in service.methods]
    assert requests and all(request_checks._may_have_rules(r.file) for r in requests)
    with pytest.raises(InvalidArgument):
        request_checks.validate(customer_pb2.GetCustomerRequest(id=""))


def test_a_request_whose_files_never_import_validate_proto_is_not_checked() -> None:
    assert not request_checks._may_have_rules(health_pb2.HealthCheckRequest.DESCRIPTOR.file)
