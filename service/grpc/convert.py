"""Pure conversions between protobuf messages and domain values. No I/O, no grpc."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from google.protobuf import field_mask_pb2, timestamp_pb2
from google.protobuf.message import Message
from google.type import money_pb2, postal_address_pb2

from service._gen.erp.orders.v1 import customer_pb2, events_pb2, order_pb2, product_pb2
from service.domain import addresses, rules
from service.domain.amendments import Amendment
from service.domain.events import Event, OrderEvent, StockEvent
from service.domain.errors import FieldViolation, InvalidArgument
from service.domain.model import (
    Customer,
    Order,
    OrderStatus,
    PostalAddress,
    Product,
    Return,
    ReturnDisposition,
    ReturnLine,
    Shipment,
    StatusChange,
    StockMovement,
)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    # Integer arithmetic on the timedelta: Timestamp.FromDatetime is pure Python and took a third of
    # the time of building an Order message. A naive value is UTC, as FromDatetime reads it.
    if value is None:
        return None
    since = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)) - _EPOCH
    return timestamp_pb2.Timestamp(seconds=since.days * 86_400 + since.seconds, nanos=since.microseconds * 1000)


def datetime_of(ts: timestamp_pb2.Timestamp, field: str) -> datetime:
    try:
        value: datetime = ts.ToDatetime(tzinfo=UTC)
        return value
    except (ValueError, OverflowError):
        raise InvalidArgument([FieldViolation(field, "is not a valid timestamp (year 1 to 9999)", "INVALID_TIMESTAMP")]) from None


def optional_datetime(message: Message, field: str) -> datetime | None:
    """A Timestamp field as a datetime, or None when it is unset."""
    return datetime_of(getattr(message, field), field) if message.HasField(field) else None


def postal_address(a: PostalAddress | None) -> postal_address_pb2.PostalAddress | None:
    if a is None:
        return None
    return postal_address_pb2.PostalAddress(
        region_code=a.region_code, address_lines=a.address_lines, postal_code=a.postal_code,
        administrative_area=a.administrative_area, locality=a.locality, sublocality=a.sublocality,
        recipients=a.recipients, organization=a.organization, language_code=a.language_code, sorting_code=a.sorting_code,
    )


def address_of(message: postal_address_pb2.PostalAddress, field: str) -> PostalAddress | None:
    """The address a request gives, checked against the contract's rules; None for an empty message."""
    if message.ByteSize() == 0:
        return None
    if message.revision != 0:
        raise InvalidArgument([FieldViolation(f"{field}.revision", "must be 0, the only revision of PostalAddress", "ADDRESS_REVISION")])
    a = PostalAddress(
        message.region_code, tuple(message.address_lines), message.postal_code, message.administrative_area, message.locality,
        message.sublocality, tuple(message.recipients), message.organization, message.language_code, message.sorting_code,
    )
    addresses.ensure_valid(a, field)
    return a


def money(amount: Decimal, currency: str) -> money_pb2.Money:
    units = int(amount)
    return money_pb2.Money(currency_code=currency, units=units, nanos=int((amount - units).scaleb(9)))


def amount_of(value: money_pb2.Money, field: str, currency: str) -> Decimal:
    rules.ensure_currency(f"{field}.currency_code", value.currency_code, currency)
    return Decimal(value.units) + Decimal(value.nanos).scaleb(-9)


def customer_message(c: Customer) -> customer_pb2.Customer:
    return customer_pb2.Customer(
        id=c.id, name=c.name, document=c.document, email=c.email, phone=c.phone, address=c.address,
        active=c.active, create_time=timestamp(c.create_time), update_time=timestamp(c.update_time),
        delete_time=timestamp(c.delete_time), postal_address=postal_address(c.postal_address),
    )


def product_message(p: Product) -> product_pb2.Product:
    return product_pb2.Product(
        id=p.id, sku=p.sku, name=p.name, description=p.description, price=money(p.price, p.currency),
        stock_quantity=p.stock_quantity, active=p.active, create_time=timestamp(p.create_time),
        update_time=timestamp(p.update_time), delete_time=timestamp(p.delete_time),
        on_hand_quantity=p.on_hand_quantity, reserved_quantity=p.reserved_quantity, available_quantity=p.stock_quantity,
    )


def order_message(o: Order) -> order_pb2.Order:
    return order_pb2.Order(
        id=o.id, customer_id=o.customer_id, status=order_pb2.OrderStatus.ValueType(o.status), note=o.note,
        items=[
            order_pb2.OrderItem(
                product_id=i.product_id, sku=i.sku, quantity=i.quantity, unit_price=money(i.unit_price, o.currency),
                subtotal=money(i.subtotal, o.currency), shipped_quantity=i.shipped_quantity,
                canceled_quantity=i.canceled_quantity, open_quantity=i.open_quantity, returned_quantity=i.returned_quantity,
            )
            for i in o.items
        ],
        total=money(o.total, o.currency), create_time=timestamp(o.create_time), update_time=timestamp(o.update_time),
        external_reference=o.external_reference, shipping_address=postal_address(o.shipping_address),
        etag=o.etag,
    )


def amendment_message(a: Amendment) -> order_pb2.AmendOrderResponse:
    return order_pb2.AmendOrderResponse(
        order=order_message(a.order),
        shortages=[
            order_pb2.AmendOrderResponse.Shortage(product_id=s.product_id, requested_quantity=s.requested, available_quantity=s.available)
            for s in a.shortages
        ],
    )


def shipment_message(s: Shipment) -> order_pb2.Shipment:
    return order_pb2.Shipment(
        id=s.id, order_id=s.order_id, items=[order_pb2.Shipment.Item(product_id=pid, quantity=q) for pid, q in s.items.items()],
        carrier=s.carrier, tracking_number=s.tracking_number, state=order_pb2.ShipmentState.ValueType(s.state),
        create_time=timestamp(s.create_time), deliver_time=timestamp(s.deliver_time),
    )


def return_message(r: Return) -> order_pb2.Return:
    return order_pb2.Return(
        id=r.id, order_id=r.order_id, reason=r.reason, create_time=timestamp(r.create_time),
        items=[
            order_pb2.Return.Item(product_id=i.product_id, quantity=i.quantity, disposition=order_pb2.ReturnDisposition.ValueType(i.disposition))
            for i in r.items
        ],
    )


def return_lines(items: Iterable[order_pb2.CreateReturnRequest.Item]) -> list[ReturnLine]:
    """A CreateReturn request's lines; validation has refused an unspecified or unknown disposition."""
    return [ReturnLine(i.product_id, i.quantity, ReturnDisposition(i.disposition)) for i in items]


def movement_message(m: StockMovement) -> product_pb2.StockMovement:
    return product_pb2.StockMovement(
        id=m.id, product_id=m.product_id, kind=product_pb2.StockMovementKind.ValueType(m.kind), delta=m.delta, stock_after=m.stock_after,
        order_id=m.order_id, reason=m.reason, actor=m.actor, request_id=m.request_id, create_time=timestamp(m.create_time),
    )


def change_message(c: StatusChange) -> order_pb2.OrderStatusChange:
    return order_pb2.OrderStatusChange(
        id=c.id, order_id=c.order_id, from_status=order_pb2.OrderStatus.ValueType(c.from_status or 0),
        to_status=order_pb2.OrderStatus.ValueType(c.to_status),
        actor=c.actor, reason=c.reason, request_id=c.request_id, create_time=timestamp(c.create_time),
    )


def order_event_message(e: OrderEvent) -> events_pb2.OrderEvent:
    return events_pb2.OrderEvent(
        id=e.id, order_id=e.order.id, sequence=e.sequence, type=events_pb2.OrderEventType.ValueType(e.type),
        order=order_message(e.order), actor=e.actor, request_id=e.request_id, time=timestamp(e.time),
        shipment=shipment_message(e.shipment) if e.shipment is not None else None,
        order_return=return_message(e.order_return) if e.order_return is not None else None,
    )


def stock_event_message(e: StockEvent) -> events_pb2.ProductStockEvent:
    return events_pb2.ProductStockEvent(
        id=e.id, product_id=e.movement.product_id, sequence=e.sequence, movement=movement_message(e.movement),
        on_hand_quantity=e.on_hand, reserved_quantity=e.reserved, available_quantity=e.movement.stock_after,
    )


def event_payload(e: Event) -> bytes:
    """An outbox row's payload: the event as its contract message."""
    message = order_event_message(e) if isinstance(e, OrderEvent) else stock_event_message(e)
    payload: bytes = message.SerializeToString()
    return payload


def order_statuses(status: int, statuses: Iterable[int]) -> frozenset[OrderStatus]:
    """ListOrders' status filter: `status` (one) or `statuses` (any of several); validation
    refuses both at once. Empty: any status."""
    return frozenset(OrderStatus(v) for v in ([status] if status else statuses))


def changes(
    resource: str,
    message: Message,
    mask: field_mask_pb2.FieldMask | None,
    updatable: Iterable[str],
    read: Mapping[str, Callable[[Any], object]] | None = None,
) -> dict[str, object]:
    """The fields an Update request changes, as {name: domain value} (AIP-134).

    A "*" mask means every updatable field; no mask means every field set to a non-default value.
    `read` converts fields whose domain value differs from the proto value (e.g. Money).
    """
    read = read or {}
    known = {f.name for f in message.DESCRIPTOR.fields}
    if mask is None or not mask.paths:
        paths = [f.name for f, _ in message.ListFields() if f.name != "id"]
    elif list(mask.paths) == ["*"]:
        paths = list(updatable)
    else:
        paths = list(mask.paths)
    unknown = [p for p in paths if p not in known]
    if unknown:
        raise InvalidArgument(
            [FieldViolation("update_mask", f"{resource} has no field {p!r}", "UNKNOWN_FIELD") for p in unknown]
        )
    return {p: read[p](getattr(message, p)) if p in read else getattr(message, p) for p in paths}
