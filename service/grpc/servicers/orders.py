"""OrderService."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc

from service.grpc import context as ctx
from service.grpc import convert, paging, status
from service._gen.erp.orders.v1 import order_pb2 as pb
from service._gen.erp.orders.v1 import order_pb2_grpc
from service.domain.allocation import NewOrder
from service.domain.errors import OrdersError
from service.domain.model import OrderLine, OrderStatus, update_cursor
from service.domain.ports import OrderFilter, OrderSort
from service.usecases import amendments, orders
from service.usecases.group_commit import OrderPlacer
from service.usecases.runner import Runner

log = logging.getLogger(__name__)

# Orders read per transaction by ExportOrders: what one export holds in memory, with their items.
EXPORT_PAGE_SIZE = 500


class OrderServicer(order_pb2_grpc.OrderServiceServicer):
    def __init__(self, run: Runner, place: OrderPlacer, currency: str, pager: paging.Pager, sync_settle_s: float) -> None:
        self._run = run
        self._place = place
        self._currency = currency
        self._pager = pager
        self._settle = timedelta(seconds=sync_settle_s)

    def CreateOrder(self, request: pb.CreateOrderRequest, context: grpc.ServicerContext) -> pb.Order:
        lines = [OrderLine(i.product_id, i.quantity) for i in request.items]
        order, replayed = self._place(
            NewOrder(
                ctx.caller(context), request.customer_id, lines, request.note, self._currency, ctx.idempotency.get(),
                request.external_reference, convert.address_of(request.shipping_address, "shipping_address"),
            )
        )
        if replayed:
            ctx.mark_replayed(context)
        return convert.order_message(order)

    def GetOrder(self, request: pb.GetOrderRequest, context: grpc.ServicerContext) -> pb.Order:
        return convert.order_message(self._run(orders.get_order, request.id))

    def BatchGetOrders(self, request: pb.BatchGetOrdersRequest, context: grpc.ServicerContext) -> pb.BatchGetOrdersResponse:
        return pb.BatchGetOrdersResponse(orders=[convert.order_message(o) for o in self._run(orders.batch_get_orders, list(request.ids))])

    def ListOrders(self, request: pb.ListOrdersRequest, context: grpc.ServicerContext) -> pb.ListOrdersResponse:
        flt = self._filter(request)
        result = self._run(orders.list_orders, flt, paging.page_of(request))
        key = update_cursor if flt.sort is OrderSort.UPDATE_TIME_ASC else (lambda order: order.id)
        items, token = self._pager.fit(request, result, convert.order_message, key)
        return pb.ListOrdersResponse(orders=items, next_page_token=token)

    def ExportOrders(self, request: pb.ExportOrdersRequest, context: grpc.ServicerContext) -> Iterator[pb.Order]:
        # The filters are checked here, before the stream starts, so the interceptors map a refusal;
        # the generator only streams, one page of orders in memory at a time.
        flt = self._filter(request)
        ctx.respond_with(context, [(ctx.STREAM_STARTED, "true")])
        return self._export(flt, context)

    def _export(self, flt: OrderFilter, context: grpc.ServicerContext) -> Iterator[pb.Order]:
        try:
            for order in orders.export_orders(self._run, flt, EXPORT_PAGE_SIZE):
                if not context.is_active():
                    return
                yield convert.order_message(order)
        except OrdersError as error:
            status.abort(context, error)
        except Exception:  # noqa: BLE001 - a fault after the start: logged, and INTERNAL without its text
            log.exception("ExportOrders failed after it started")
            context.abort_with_status(status.INTERNAL)

    def _filter(self, request: pb.ListOrdersRequest | pb.ExportOrdersRequest) -> OrderFilter:
        """ListOrders' and ExportOrders' filters, which have the same names."""
        sort = OrderSort(request.order_by or OrderSort.CREATE_TIME_DESC.value)
        return OrderFilter(
            request.customer_id,
            convert.order_statuses(request.status, request.statuses),
            convert.optional_datetime(request, "create_time_from"),
            convert.optional_datetime(request, "create_time_to"),
            request.external_reference,
            convert.optional_datetime(request, "update_time_from"),
            datetime.now(UTC) - self._settle if sort is OrderSort.UPDATE_TIME_ASC else None,
            sort,
        )

    def UpdateOrderStatus(self, request: pb.UpdateOrderStatusRequest, context: grpc.ServicerContext) -> pb.Order:
        order = self._run(
            orders.update_order_status, ctx.caller(context), request.id, OrderStatus(request.status), request.reason, request.etag
        )
        return convert.order_message(order)

    def CancelOrder(self, request: pb.CancelOrderRequest, context: grpc.ServicerContext) -> pb.Order:
        return convert.order_message(self._run(orders.cancel_order, ctx.caller(context), request.id, request.reason, request.etag))

    def AmendOrder(self, request: pb.AmendOrderRequest, context: grpc.ServicerContext) -> pb.AmendOrderResponse:
        entries = [OrderLine(i.product_id, i.quantity) for i in request.items]
        amendment, replayed = self._run(
            amendments.amend_order, ctx.caller(context), request.id, entries, request.reason, request.etag, request.validate_only,
            ctx.idempotency.get(),
        )
        if replayed:
            ctx.mark_replayed(context)
        return convert.amendment_message(amendment)

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

    def CreateReturn(self, request: pb.CreateReturnRequest, context: grpc.ServicerContext) -> pb.Return:
        taken, replayed = self._run(
            orders.create_return, ctx.caller(context), request.order_id, convert.return_lines(request.items), request.reason,
            request.etag, ctx.idempotency.get(),
        )
        if replayed:
            ctx.mark_replayed(context)
        return convert.return_message(taken)

    def ListReturns(self, request: pb.ListReturnsRequest, context: grpc.ServicerContext) -> pb.ListReturnsResponse:
        result = self._run(orders.list_returns, request.order_id, paging.page_of(request))
        items, token = self._pager.fit(request, result, convert.return_message)
        return pb.ListReturnsResponse(returns=items, next_page_token=token)

    def ListOrderStatusHistory(
        self, request: pb.ListOrderStatusHistoryRequest, context: grpc.ServicerContext
    ) -> pb.ListOrderStatusHistoryResponse:
        result = self._run(orders.list_status_history, request.order_id, paging.page_of(request))
        items, token = self._pager.fit(request, result, convert.change_message)
        return pb.ListOrderStatusHistoryResponse(changes=items, next_page_token=token)
