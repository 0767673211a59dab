import datetime

from service import buf_validate as _validate_pb2
from service._gen.erp.orders.v1 import order_pb2 as _order_pb2
from service._gen.erp.orders.v1 import policy_pb2 as _policy_pb2
from service._gen.erp.orders.v1 import product_pb2 as _product_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_EVENT_TYPE_UNSPECIFIED: _ClassVar[OrderEventType]
    ORDER_EVENT_TYPE_CREATED: _ClassVar[OrderEventType]
    ORDER_EVENT_TYPE_STATUS_CHANGED: _ClassVar[OrderEventType]
    ORDER_EVENT_TYPE_CANCELED: _ClassVar[OrderEventType]
    ORDER_EVENT_TYPE_SHIPMENT_CREATED: _ClassVar[OrderEventType]
    ORDER_EVENT_TYPE_SHIPMENT_DELIVERED: _ClassVar[OrderEventType]
    ORDER_EVENT_TYPE_RETURN_CREATED: _ClassVar[OrderEventType]
    ORDER_EVENT_TYPE_AMENDED: _ClassVar[OrderEventType]
ORDER_EVENT_TYPE_UNSPECIFIED: OrderEventType
ORDER_EVENT_TYPE_CREATED: OrderEventType
ORDER_EVENT_TYPE_STATUS_CHANGED: OrderEventType
ORDER_EVENT_TYPE_CANCELED: OrderEventType
ORDER_EVENT_TYPE_SHIPMENT_CREATED: OrderEventType
ORDER_EVENT_TYPE_SHIPMENT_DELIVERED: OrderEventType
ORDER_EVENT_TYPE_RETURN_CREATED: OrderEventType
ORDER_EVENT_TYPE_AMENDED: OrderEventType

class OrderEvent(_message.Message):
    __slots__ = ("id", "order_id", "sequence", "type", "order", "actor", "request_id", "time", "resume_token", "shipment", "order_return")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHIPMENT_FIELD_NUMBER: _ClassVar[int]
    ORDER_RETURN_FIELD_NUMBER: _ClassVar[int]
    id: str
    order_id: str
    sequence: int
    type: OrderEventType
    order: _order_pb2.Order
    actor: str
    request_id: str
    time: _timestamp_pb2.Timestamp
    resume_token: str
    shipment: _order_pb2.Shipment
    order_return: _order_pb2.Return
    def __init__(self, id: _Optional[str] = ..., order_id: _Optional[str] = ..., sequence: _Optional[int] = ..., type: _Optional[_Union[OrderEventType, str]] = ..., order: _Optional[_Union[_order_pb2.Order, _Mapping]] = ..., actor: _Optional[str] = ..., request_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resume_token: _Optional[str] = ..., shipment: _Optional[_Union[_order_pb2.Shipment, _Mapping]] = ..., order_return: _Optional[_Union[_order_pb2.Return, _Mapping]] = ...) -> None: ...

class ProductStockEvent(_message.Message):
    __slots__ = ("id", "product_id", "sequence", "movement", "on_hand_quantity", "reserved_quantity", "available_quantity")
    ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    MOVEMENT_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RESERVED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    id: str
    product_id: str
    sequence: int
    movement: _product_pb2.StockMovement
    on_hand_quantity: int
    reserved_quantity: int
    available_quantity: int
    def __init__(self, id: _Optional[str] = ..., product_id: _Optional[str] = ..., sequence: _Optional[int] = ..., movement: _Optional[_Union[_product_pb2.StockMovement, _Mapping]] = ..., on_hand_quantity: _Optional[int] = ..., reserved_quantity: _Optional[int] = ..., available_quantity: _Optional[int] = ...) -> None: ...

class WatchOrderEventsRequest(_message.Message):
    __slots__ = ("order_id", "customer_id", "resume_token")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    customer_id: str
    resume_token: str
    def __init__(self, order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., resume_token: _Optional[str] = ...) -> None: ...
