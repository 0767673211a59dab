"""CustomerService."""

from __future__ import annotations

import grpc

from service.grpc import convert, paging
from service._gen.erp.orders.v1 import customer_pb2 as pb
from service._gen.erp.orders.v1 import customer_pb2_grpc
from service.domain import rules
from service.domain.ports import CustomerFilter
from service.usecases import customers
from service.usecases.runner import Runner


class CustomerServicer(customer_pb2_grpc.CustomerServiceServicer):
    def __init__(self, run: Runner, pager: paging.Pager) -> None:
        self._run = run
        self._pager = pager

    def CreateCustomer(self, request: pb.CreateCustomerRequest, context: grpc.ServicerContext) -> pb.Customer:
        r = request
        postal = convert.address_of(r.postal_address, "postal_address")
        c = self._run(customers.create_customer, r.name, r.document, r.email, r.phone, r.address, postal)
        return convert.customer_message(c)

    def GetCustomer(self, request: pb.GetCustomerRequest, context: grpc.ServicerContext) -> pb.Customer:
        return convert.customer_message(self._run(customers.get_customer, request.id))

    def ListCustomers(self, request: pb.ListCustomersRequest, context: grpc.ServicerContext) -> pb.ListCustomersResponse:
        flt = CustomerFilter(request.show_deleted, request.document, request.email)
        result = self._run(customers.list_customers, flt, paging.page_of(request))
        items, token = self._pager.fit(request, result, convert.customer_message)
        return pb.ListCustomersResponse(customers=items, next_page_token=token)

    def UpdateCustomer(self, request: pb.UpdateCustomerRequest, context: grpc.ServicerContext) -> pb.Customer:
        mask = request.update_mask if request.HasField("update_mask") else None
        read = {"postal_address": lambda m: convert.address_of(m, "customer.postal_address")}
        changes = convert.changes("customer", request.customer, mask, rules.CUSTOMER_UPDATABLE, read)
        return convert.customer_message(self._run(customers.update_customer, request.customer.id, changes))

    def DeleteCustomer(self, request: pb.DeleteCustomerRequest, context: grpc.ServicerContext) -> pb.Customer:
        return convert.customer_message(self._run(customers.delete_customer, request.id))

    def UndeleteCustomer(self, request: pb.UndeleteCustomerRequest, context: grpc.ServicerContext) -> pb.Customer:
        return convert.customer_message(self._run(customers.undelete_customer, request.id))
