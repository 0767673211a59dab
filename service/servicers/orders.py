"""OrderService."""

from __future__ import annotations

import grpc

from service import context as ctx
from service import convert, paging
from service._gen.erp.orders.v1 import order_pb2 as pb
from service._gen.erp.orders.v1 import order_pb2_grpc
from service.domain.allocation import NewOrder
from service.domain.model import OrderLine, OrderStatus
from service.domain.ports import OrderFilter
from service.handlers import orders
from service.handlers.group_commit import OrderPlacer
from service.handlers.runner import Runner


class OrderServicer(order_pb2_grpc.OrderServiceServicer):
    def __init__(self, run: Runner, place: OrderPlacer, currency: str, pager: paging.Pager) -> None:
        self._run = run
        self._place = place
        self._currency = currency
        self._pager = pager

    def CreateOrder(self, request: pb.CreateOrderRequest, context: grpc.ServicerContext) -> pb.Order:
        lines = [OrderLine(i.product_id, i.quantity) for i in request.items]
        order, replayed = self._place(
            NewOrder(ctx.caller(context), request.customer_id, lines, request.note, self._currency, ctx.idempotency.get())
        )
        if replayed:
            ctx.mark_replayed(context)
        return convert.order_message(order)

    def GetOrder(self, request: pb.GetOrderRequest, context: grpc.ServicerContext) -> pb.Order:
        return convert.order_message(self._run(orders.get_order, request.id))

    def ListOrders(self, request: pb.ListOrdersRequest, context: grpc.ServicerContext) -> pb.ListOrdersResponse:
        flt = OrderFilter(
            request.customer_id,
            convert.order_statuses(request.status, request.statuses),
            convert.datetime_of(request.create_time_from, "create_time_from") if request.HasField("create_time_from") else None,
            convert.datetime_of(request.create_time_to, "create_time_to") if request.HasField("create_time_to") else None,
        )
        result = self._run(orders.list_orders, flt, paging.page_of(request))
        items, token = self._pager.fit(request, result, convert.order_message)
        return pb.ListOrdersResponse(orders=items, next_page_token=token)

    def UpdateOrderStatus(self, request: pb.UpdateOrderStatusRequest, context: grpc.ServicerContext) -> pb.Order:
        order = self._run(
            orders.update_order_status, ctx.caller(context), request.id, OrderStatus(request.status), request.reason, request.etag
        )
        return convert.order_message(order)

    def CancelOrder(self, request: pb.CancelOrderRequest, context: grpc.ServicerContext) -> pb.Order:
        return convert.order_message(self._run(orders.cancel_order, ctx.caller(context), request.id, request.reason, request.etag))

    def CreateShipment(self, request: pb.CreateShipmentRequest, context: grpc.ServicerContext) -> pb.Shipment:
        lines = [OrderLine(i.product_id, i.quantity) for i in request.items]
        shipment, replayed = self._run(
            orders.create_shipment, ctx.caller(context), request.order_id, lines, request.carrier, request.tracking_number,
            request.etag, ctx.idempotency.get(),
        )
        if replayed:
            ctx.mark_replayed(context)
        return convert.shipment_message(shipment)

    def GetShipment(self, request: pb.GetShipmentRequest, context: grpc.ServicerContext) -> pb.Shipment:
        return convert.shipment_message(self._run(orders.get_shipment, request.order_id, request.shipment_id))

    def ListShipments(self, request: pb.ListShipmentsRequest, context: grpc.ServicerContext) -> pb.ListShipmentsResponse:
        result = self._run(orders.list_shipments, request.order_id, paging.page_of(request))
        items, token = self._pager.fit(request, result, convert.shipment_message)
        return pb.ListShipmentsResponse(shipments=items, next_page_token=token)

    def DeliverShipment(self, request: pb.DeliverShipmentRequest, context: grpc.ServicerContext) -> pb.Shipment:
        shipment = self._run(orders.deliver_shipment, ctx.caller(context), request.order_id, request.shipment_id, request.etag)
        return convert.shipment_message(shipment)

    def ListOrderStatusHistory(
        self, request: pb.ListOrderStatusHistoryRequest, context: grpc.ServicerContext
    ) -> pb.ListOrderStatusHistoryResponse:
        result = self._run(orders.list_status_history, request.order_id, paging.page_of(request))
        items, token = self._pager.fit(request, result, convert.change_message)
        return pb.ListOrderStatusHistoryResponse(changes=items, next_page_token=token)
