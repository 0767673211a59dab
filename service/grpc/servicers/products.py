"""ProductService."""

from __future__ import annotations

import grpc

from service.grpc import context as ctx
from service.grpc import convert, paging
from service._gen.erp.orders.v1 import product_pb2 as pb
from service._gen.erp.orders.v1 import product_pb2_grpc
from service.domain import rules
from service.domain.ports import ProductFilter
from service.usecases import products
from service.usecases.runner import Runner


class ProductServicer(product_pb2_grpc.ProductServiceServicer):
    def __init__(self, run: Runner, currency: str, pager: paging.Pager) -> None:
        self._run = run
        self._currency = currency
        self._pager = pager

    def CreateProduct(self, request: pb.CreateProductRequest, context: grpc.ServicerContext) -> pb.Product:
        r = request
        price = convert.amount_of(r.price, "price", self._currency)
        p = self._run(
            products.create_product, ctx.caller(context), r.sku, r.name, r.description, price, self._currency, r.initial_stock
        )
        return convert.product_message(p)

    def GetProduct(self, request: pb.GetProductRequest, context: grpc.ServicerContext) -> pb.Product:
        return convert.product_message(self._run(products.get_product, request.id))

    def ListProducts(self, request: pb.ListProductsRequest, context: grpc.ServicerContext) -> pb.ListProductsResponse:
        active = request.active if request.HasField("active") else None
        flt = ProductFilter(request.show_deleted, request.sku, request.name_contains, active)
        result = self._run(products.list_products, flt, paging.page_of(request))
        items, token = self._pager.fit(request, result, convert.product_message)
        return pb.ListProductsResponse(products=items, next_page_token=token)

    def UpdateProduct(self, request: pb.UpdateProductRequest, context: grpc.ServicerContext) -> pb.Product:
        mask = request.update_mask if request.HasField("update_mask") else None
        read_price = {"price": lambda m: convert.amount_of(m, "product.price", self._currency)}
        changes = convert.changes("product", request.product, mask, rules.PRODUCT_UPDATABLE, read_price)
        return convert.product_message(self._run(products.update_product, request.product.id, changes))

    def DeleteProduct(self, request: pb.DeleteProductRequest, context: grpc.ServicerContext) -> pb.Product:
        return convert.product_message(self._run(products.delete_product, request.id))

    def UndeleteProduct(self, request: pb.UndeleteProductRequest, context: grpc.ServicerContext) -> pb.Product:
        return convert.product_message(self._run(products.undelete_product, request.id))

    def AdjustStock(self, request: pb.AdjustStockRequest, context: grpc.ServicerContext) -> pb.AdjustStockResponse:
        product, movement, replayed = self._run(
            products.adjust_stock, ctx.caller(context), request.id, request.delta, request.reason, ctx.idempotency.get()
        )
        if replayed:
            ctx.mark_replayed(context)
        return pb.AdjustStockResponse(product=convert.product_message(product), movement=convert.movement_message(movement))

    def CountStock(self, request: pb.CountStockRequest, context: grpc.ServicerContext) -> pb.CountStockResponse:
        product, movement, replayed = self._run(
            products.count_stock, ctx.caller(context), request.product_id, request.counted_quantity,
            request.expected_on_hand_quantity, request.reason, ctx.idempotency.get(),
        )
        if replayed:
            ctx.mark_replayed(context)
        return pb.CountStockResponse(product=convert.product_message(product), movement=convert.movement_message(movement))

    def ListStockMovements(
        self, request: pb.ListStockMovementsRequest, context: grpc.ServicerContext
    ) -> pb.ListStockMovementsResponse:
        result = self._run(products.list_stock_movements, request.product_id, paging.page_of(request))
        items, token = self._pager.fit(request, result, convert.movement_message)
        return pb.ListStockMovementsResponse(movements=items, next_page_token=token)
