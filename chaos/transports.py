"""The same calls over gRPC and over REST, answering plain dicts or raising CallError with the code name.

Transport failures (connection refused or reset, timeouts, a body that is not the gateway's) become
the gRPC codes a client would see for them, so the workload classifies both transports alike.
"""

from __future__ import annotations

from typing import Any, Protocol

import grpc
import httpx
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from service._gen.erp.orders.v1 import events_pb2, events_pb2_grpc, order_pb2, order_pb2_grpc, product_pb2, product_pb2_grpc
from service.grpc.context import STREAM_STARTED

TIMEOUT_S = 3.0
_RECONNECT = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 1000)]


class CallError(Exception):
    def __init__(self, code: str, reason: str = "") -> None:
        super().__init__(f"{code} {reason}".strip())
        self.code, self.reason = code, reason


class Transport(Protocol):
    name: str

    def create(self, key: str, customer_id: str, items: list[list[Any]]) -> dict[str, Any]: ...
    def cancel(self, key: str, order_id: str) -> dict[str, Any]: ...
    def status(self, key: str, order_id: str, status: int) -> dict[str, Any]: ...
    def adjust(self, key: str, product_id: str, delta: int) -> dict[str, Any]: ...
    def ship(self, key: str, order_id: str, items: list[list[Any]]) -> dict[str, Any]: ...
    def deliver(self, key: str, order_id: str, shipment_id: str) -> dict[str, Any]: ...
    def take_back(self, key: str, order_id: str, items: list[list[Any]]) -> dict[str, Any]: ...
    def count(self, key: str, product_id: str, counted: int, expected: int) -> dict[str, Any]: ...
    def amend(self, key: str, order_id: str, items: list[list[Any]], validate_only: bool, etag: str) -> dict[str, Any]: ...
    def on_hand(self, product_id: str) -> int: ...
    def read(self, order_id: str) -> dict[str, Any]: ...
    def watch(self, resume_token: str) -> dict[str, Any]: ...
    def close(self) -> None: ...


class GrpcTransport:
    name = "grpc"

    def __init__(self, target: str, token: str) -> None:
        # After a restart the channel reconnects within a second, not after grpc's default backoff
        # of up to two minutes, during which every call fails at once with UNAVAILABLE.
        self._channel = grpc.insecure_channel(target, options=_RECONNECT)
        self._orders = order_pb2_grpc.OrderServiceStub(self._channel)
        self._products = product_pb2_grpc.ProductServiceStub(self._channel)
        self._events = events_pb2_grpc.OrderEventServiceStub(self._channel)
        self._auth = ("authorization", f"Bearer {token}")

    def create(self, key: str, customer_id: str, items: list[list[Any]]) -> dict[str, Any]:
        lines = [order_pb2.CreateOrderRequest.Item(product_id=p, quantity=q) for p, q in items]
        order = self._call(self._orders.CreateOrder, order_pb2.CreateOrderRequest(customer_id=customer_id, items=lines), key)
        return {"order_id": order.id}

    def cancel(self, key: str, order_id: str) -> dict[str, Any]:
        order = self._call(self._orders.CancelOrder, order_pb2.CancelOrderRequest(id=order_id, reason="chaos"), key)
        return {"status": int(order.status)}

    def status(self, key: str, order_id: str, status: int) -> dict[str, Any]:
        request = order_pb2.UpdateOrderStatusRequest(id=order_id, status=status, reason="chaos")  # type: ignore[arg-type]
        return {"status": int(self._call(self._orders.UpdateOrderStatus, request, key).status)}

    def adjust(self, key: str, product_id: str, delta: int) -> dict[str, Any]:
        reply = self._call(self._products.AdjustStock, product_pb2.AdjustStockRequest(id=product_id, delta=delta, reason="chaos"), key)
        return {"stock": reply.product.stock_quantity}

    def ship(self, key: str, order_id: str, items: list[list[Any]]) -> dict[str, Any]:
        lines = [order_pb2.CreateShipmentRequest.Item(product_id=p, quantity=q) for p, q in items]
        request = order_pb2.CreateShipmentRequest(order_id=order_id, items=lines, carrier="chaos")
        return {"shipment_id": self._call(self._orders.CreateShipment, request, key).id}

    def deliver(self, key: str, order_id: str, shipment_id: str) -> dict[str, Any]:
        request = order_pb2.DeliverShipmentRequest(order_id=order_id, shipment_id=shipment_id)
        return {"state": int(self._call(self._orders.DeliverShipment, request, key).state)}

    def take_back(self, key: str, order_id: str, items: list[list[Any]]) -> dict[str, Any]:
        lines = [order_pb2.CreateReturnRequest.Item(product_id=p, quantity=q, disposition=d) for p, q, d in items]
        request = order_pb2.CreateReturnRequest(order_id=order_id, items=lines, reason="chaos")
        return {"return_id": self._call(self._orders.CreateReturn, request, key).id}

    def count(self, key: str, product_id: str, counted: int, expected: int) -> dict[str, Any]:
        request = product_pb2.CountStockRequest(product_id=product_id, counted_quantity=counted, expected_on_hand_quantity=expected, reason="chaos")
        return {"on_hand": self._call(self._products.CountStock, request, key).product.on_hand_quantity}

    def amend(self, key: str, order_id: str, items: list[list[Any]], validate_only: bool, etag: str) -> dict[str, Any]:
        lines = [order_pb2.AmendOrderRequest.Item(product_id=p, quantity=q) for p, q in items]
        request = order_pb2.AmendOrderRequest(id=order_id, items=lines, reason="chaos", validate_only=validate_only, etag=etag)
        order = self._call(self._orders.AmendOrder, request, key).order
        return {"status": int(order.status), "items": [[i.product_id, i.quantity] for i in order.items], "etag": order.etag}

    def on_hand(self, product_id: str) -> int:
        return int(self._call(self._products.GetProduct, product_pb2.GetProductRequest(id=product_id), "").on_hand_quantity)

    def read(self, order_id: str) -> dict[str, Any]:
        order = self._call(self._orders.GetOrder, order_pb2.GetOrderRequest(id=order_id), "")
        return {"status": int(order.status), "etag": order.etag}

    def watch(self, resume_token: str) -> dict[str, Any]:
        """Opens WatchOrderEvents from the token; an accepted watch is closed at once."""
        request = events_pb2.WatchOrderEventsRequest(resume_token=resume_token)
        call = self._events.WatchOrderEvents(request, metadata=[self._auth], timeout=TIMEOUT_S)
        try:
            if any(key == STREAM_STARTED for key, _ in call.initial_metadata() or ()):
                return {"accepted": True}
            next(call)  # a refused watch ends with its status
            return {"accepted": True}
        except grpc.RpcError as error:
            raise CallError(error.code().name, _reason(error)) from None  # type: ignore[attr-defined]
        finally:
            call.cancel()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: Any, request: Any, key: str) -> Any:
        metadata = [self._auth] + ([("idempotency-key", key)] if key else [])
        try:
            return method(request, metadata=metadata, timeout=TIMEOUT_S)
        except grpc.RpcError as error:
            raise CallError(error.code().name, _reason(error)) from None  # type: ignore[attr-defined]


def _reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return str(info.reason)
    return ""


class RestTransport:
    name = "rest"

    def __init__(self, base_url: str, token: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=TIMEOUT_S, headers={"authorization": f"Bearer {token}"})

    def create(self, key: str, customer_id: str, items: list[list[Any]]) -> dict[str, Any]:
        body = {"customerId": customer_id, "items": [{"productId": p, "quantity": q} for p, q in items]}
        return {"order_id": self._call("POST", "/v1/orders", key, body)["id"]}

    def cancel(self, key: str, order_id: str) -> dict[str, Any]:
        return {"status": _status(self._call("POST", f"/v1/orders/{order_id}:cancel", key, {"reason": "chaos"}))}

    def status(self, key: str, order_id: str, status: int) -> dict[str, Any]:
        body = {"status": order_pb2.OrderStatus.Name(status), "reason": "chaos"}  # type: ignore[arg-type]
        return {"status": _status(self._call("POST", f"/v1/orders/{order_id}:updateStatus", key, body))}

    def adjust(self, key: str, product_id: str, delta: int) -> dict[str, Any]:
        reply = self._call("POST", f"/v1/products/{product_id}:adjustStock", key, {"delta": str(delta), "reason": "chaos"})
        return {"stock": int(reply["product"]["stockQuantity"])}

    def ship(self, key: str, order_id: str, items: list[list[Any]]) -> dict[str, Any]:
        body = {"items": [{"productId": p, "quantity": q} for p, q in items], "carrier": "chaos"}
        return {"shipment_id": self._call("POST", f"/v1/orders/{order_id}/shipments", key, body)["id"]}

    def deliver(self, key: str, order_id: str, shipment_id: str) -> dict[str, Any]:
        reply = self._call("POST", f"/v1/orders/{order_id}/shipments/{shipment_id}:deliver", key, {})
        return {"state": int(order_pb2.ShipmentState.Value(reply["state"]))}

    def take_back(self, key: str, order_id: str, items: list[list[Any]]) -> dict[str, Any]:
        lines = [{"productId": p, "quantity": q, "disposition": order_pb2.ReturnDisposition.Name(d)} for p, q, d in items]
        return {"return_id": self._call("POST", f"/v1/orders/{order_id}/returns", key, {"items": lines, "reason": "chaos"})["id"]}

    def count(self, key: str, product_id: str, counted: int, expected: int) -> dict[str, Any]:
        body = {"countedQuantity": str(counted), "expectedOnHandQuantity": str(expected), "reason": "chaos"}
        return {"on_hand": int(self._call("POST", f"/v1/products/{product_id}:countStock", key, body)["product"]["onHandQuantity"])}

    def amend(self, key: str, order_id: str, items: list[list[Any]], validate_only: bool, etag: str) -> dict[str, Any]:
        body = {"items": [{"productId": p, "quantity": q} for p, q in items], "reason": "chaos", "validateOnly": validate_only, "etag": etag}
        order = self._call("POST", f"/v1/orders/{order_id}:amend", key, body)["order"]
        return {"status": _status(order), "items": [[i["productId"], i["quantity"]] for i in order.get("items", [])], "etag": order.get("etag", "")}

    def on_hand(self, product_id: str) -> int:
        return int(self._call("GET", f"/v1/products/{product_id}", "", None).get("onHandQuantity", "0"))

    def read(self, order_id: str) -> dict[str, Any]:
        order = self._call("GET", f"/v1/orders/{order_id}", "", None)
        return {"status": _status(order), "etag": order.get("etag", "")}

    def watch(self, resume_token: str) -> dict[str, Any]:
        try:
            with self._http.stream("GET", "/v1/orderEvents:watch", params={"resumeToken": resume_token}) as reply:
                if reply.is_success:
                    return {"accepted": True}
                reply.read()
        except httpx.TimeoutException:
            raise CallError("DEADLINE_EXCEEDED") from None
        except httpx.TransportError:
            raise CallError("UNAVAILABLE") from None
        raise _error(reply)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, key: str, body: dict[str, Any] | None) -> dict[str, Any]:
        headers = {"idempotency-key": key} if key else {}
        try:
            reply = self._http.request(method, path, json=body, headers=headers)
        except httpx.TimeoutException:
            raise CallError("DEADLINE_EXCEEDED") from None
        except httpx.TransportError:
            raise CallError("UNAVAILABLE") from None
        if reply.is_success:
            try:
                payload: dict[str, Any] = reply.json()
                return payload
            except ValueError:
                raise CallError("UNKNOWN", f"HTTP {reply.status_code} without a JSON body") from None
        raise _error(reply)


def _error(reply: httpx.Response) -> CallError:
    """The gateway's AIP-193 error body as the code name and ErrorInfo reason."""
    try:
        error = reply.json().get("error", {})
    except ValueError:
        return CallError("UNKNOWN", f"HTTP {reply.status_code} without a JSON body")
    reasons = [d.get("reason", "") for d in error.get("details", []) if d.get("@type", "").endswith("ErrorInfo")]
    return CallError(error.get("status", "UNKNOWN"), reasons[0] if reasons else "")


def _status(order: dict[str, Any]) -> int:
    return int(order_pb2.OrderStatus.Value(order["status"]))
