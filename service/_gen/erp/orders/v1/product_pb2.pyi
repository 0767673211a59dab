import datetime

from service import buf_validate as _validate_pb2
from service._gen.erp.orders.v1 import policy_pb2 as _policy_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StockMovementKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOCK_MOVEMENT_KIND_UNSPECIFIED: _ClassVar[StockMovementKind]
    STOCK_MOVEMENT_KIND_INITIAL: _ClassVar[StockMovementKind]
    STOCK_MOVEMENT_KIND_ORDER: _ClassVar[StockMovementKind]
    STOCK_MOVEMENT_KIND_CANCEL: _ClassVar[StockMovementKind]
    STOCK_MOVEMENT_KIND_ADJUSTMENT: _ClassVar[StockMovementKind]
    STOCK_MOVEMENT_KIND_SHIPMENT: _ClassVar[StockMovementKind]
    STOCK_MOVEMENT_KIND_COUNT: _ClassVar[StockMovementKind]
    STOCK_MOVEMENT_KIND_RETURN: _ClassVar[StockMovementKind]
STOCK_MOVEMENT_KIND_UNSPECIFIED: StockMovementKind
STOCK_MOVEMENT_KIND_INITIAL: StockMovementKind
STOCK_MOVEMENT_KIND_ORDER: StockMovementKind
STOCK_MOVEMENT_KIND_CANCEL: StockMovementKind
STOCK_MOVEMENT_KIND_ADJUSTMENT: StockMovementKind
STOCK_MOVEMENT_KIND_SHIPMENT: StockMovementKind
STOCK_MOVEMENT_KIND_COUNT: StockMovementKind
STOCK_MOVEMENT_KIND_RETURN: StockMovementKind

class Product(_message.Message):
    __slots__ = ("id", "sku", "name", "description", "price", "stock_quantity", "active", "create_time", "update_time", "delete_time", "on_hand_quantity", "reserved_quantity", "available_quantity")
    ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    STOCK_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DELETE_TIME_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RESERVED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    id: str
    sku: str
    name: str
    description: str
    price: _money_pb2.Money
    stock_quantity: int
    active: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    delete_time: _timestamp_pb2.Timestamp
    on_hand_quantity: int
    reserved_quantity: int
    available_quantity: int
    def __init__(self, id: _Optional[str] = ..., sku: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., stock_quantity: _Optional[int] = ..., active: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., on_hand_quantity: _Optional[int] = ..., reserved_quantity: _Optional[int] = ..., available_quantity: _Optional[int] = ...) -> None: ...

class CreateProductRequest(_message.Message):
    __slots__ = ("sku", "name", "description", "price", "initial_stock")
    SKU_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    INITIAL_STOCK_FIELD_NUMBER: _ClassVar[int]
    sku: str
    name: str
    description: str
    price: _money_pb2.Money
    initial_stock: int
    def __init__(self, sku: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., initial_stock: _Optional[int] = ...) -> None: ...

class GetProductRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListProductsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "show_deleted", "sku", "name_contains", "active")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHOW_DELETED_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    NAME_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    show_deleted: bool
    sku: str
    name_contains: str
    active: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., show_deleted: _Optional[bool] = ..., sku: _Optional[str] = ..., name_contains: _Optional[str] = ..., active: _Optional[bool] = ...) -> None: ...

class ListProductsResponse(_message.Message):
    __slots__ = ("products", "next_page_token")
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[Product]
    next_page_token: str
    def __init__(self, products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateProductRequest(_message.Message):
    __slots__ = ("product", "update_mask")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    product: Product
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteProductRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class UndeleteProductRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class AdjustStockRequest(_message.Message):
    __slots__ = ("id", "delta", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    delta: int
    reason: str
    def __init__(self, id: _Optional[str] = ..., delta: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class AdjustStockResponse(_message.Message):
    __slots__ = ("product", "movement")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    MOVEMENT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    movement: StockMovement
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ..., movement: _Optional[_Union[StockMovement, _Mapping]] = ...) -> None: ...

class CountStockRequest(_message.Message):
    __slots__ = ("product_id", "counted_quantity", "expected_on_hand_quantity", "reason")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_ON_HAND_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    counted_quantity: int
    expected_on_hand_quantity: int
    reason: str
    def __init__(self, product_id: _Optional[str] = ..., counted_quantity: _Optional[int] = ..., expected_on_hand_quantity: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class CountStockResponse(_message.Message):
    __slots__ = ("product", "movement")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    MOVEMENT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    movement: StockMovement
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ..., movement: _Optional[_Union[StockMovement, _Mapping]] = ...) -> None: ...

class ListStockMovementsRequest(_message.Message):
    __slots__ = ("product_id", "page_size", "page_token")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    page_size: int
    page_token: str
    def __init__(self, product_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStockMovementsResponse(_message.Message):
    __slots__ = ("movements", "next_page_token")
    MOVEMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    movements: _containers.RepeatedCompositeFieldContainer[StockMovement]
    next_page_token: str
    def __init__(self, movements: _Optional[_Iterable[_Union[StockMovement, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StockMovement(_message.Message):
    __slots__ = ("id", "product_id", "kind", "delta", "stock_after", "order_id", "reason", "actor", "request_id", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    STOCK_AFTER_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    product_id: str
    kind: StockMovementKind
    delta: int
    stock_after: int
    order_id: str
    reason: str
    actor: str
    request_id: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., product_id: _Optional[str] = ..., kind: _Optional[_Union[StockMovementKind, str]] = ..., delta: _Optional[int] = ..., stock_after: _Optional[int] = ..., order_id: _Optional[str] = ..., reason: _Optional[str] = ..., actor: _Optional[str] = ..., request_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
