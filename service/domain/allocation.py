"""Stock allocation for a batch of orders: each judged alone, in arrival order, against what is left.

Pure: the caller has read the customers and locked the products; nothing here does I/O. This is
the one judgement of an order (a single order is a batch of one): every order gets the answer it
would have had alone at that point of the sequence, including its own InsufficientStock violations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from service.domain import rules
from service.domain.errors import IdempotencyKeyReused, NotFound, OrdersError, ReferenceTaken
from service.domain.model import Caller, Customer, IdempotencyKey, OrderItem, OrderLine, PostalAddress, Product


@dataclass(frozen=True)
class NewOrder:
    """A CreateOrder request. Its lines are merged per product here, the one place they are: a
    product asked for twice is judged once, against its stock, for the sum."""

    caller: Caller
    customer_id: str
    lines: list[OrderLine]
    note: str
    currency: str
    key: IdempotencyKey | None = None
    external_reference: str = ""
    shipping_address: PostalAddress | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", rules.merge_lines(self.lines))


@dataclass(frozen=True)
class Placed:
    items: list[OrderItem]
    after: dict[str, int]  # each product's stock after this order, for its ledger rows
    shipping_address: PostalAddress | None  # the request's, or else the customer's


@dataclass(frozen=True)
class SameKey:
    """An earlier order of the batch holds this call's key and request: this call replays it."""

    first: int  # its index in the batch


Decision = Placed | SameKey | OrdersError


# (customer id, external reference) → the id of the stored order that has it.
References = Mapping[tuple[str, str], str]


def allocate(
    batch: Sequence[NewOrder], customers: Mapping[str, Customer], products: Mapping[str, Product], references: References
) -> tuple[list[Decision], dict[str, int]]:
    """One decision per order, and the stock every product is left with.

    `references` are the stored orders' references among the batch's. Two orders of one batch
    with the same new reference both pass here; the unique index then fails the batch, whose
    orders run alone, and the later one meets the earlier's reference when it is judged again.
    """
    stock = {pid: p.stock_quantity for pid, p in products.items()}
    holders: dict[tuple[str, str], int] = {}  # (principal, key) → the placed order that stores it
    decisions: list[Decision] = []
    for i, order in enumerate(batch):
        first = holders.get((order.key.principal, order.key.key)) if order.key else None
        if first is not None:
            # As the unique index would decide: the same key replays the stored order, if it was the same request.
            same = order.key is not None and batch[first].key == order.key
            decisions.append(SameKey(first) if same else IdempotencyKeyReused())
            continue
        try:
            placed = _judge(order, customers, products, references, stock)
        except OrdersError as refusal:
            decisions.append(refusal)
            continue
        stock.update(placed.after)
        if order.key:
            holders[(order.key.principal, order.key.key)] = i
        decisions.append(placed)
    return decisions, stock


def _judge(
    order: NewOrder, customers: Mapping[str, Customer], products: Mapping[str, Product], references: References,
    stock: Mapping[str, int],
) -> Placed:
    # Customer first, then its reference, then unknown products, then price_lines (stock and orderability).
    customer = customers.get(order.customer_id)
    if customer is None:
        raise NotFound("customer", order.customer_id)
    rules.ensure_customer_can_order(customer)
    if (taken := references.get((order.customer_id, order.external_reference))) is not None:
        raise ReferenceTaken(order.customer_id, order.external_reference, taken)
    for line in order.lines:
        if line.product_id not in products:
            raise NotFound("product", line.product_id)
    left = {line.product_id: replace(products[line.product_id], stock_quantity=stock[line.product_id]) for line in order.lines}
    items = rules.price_lines(order.lines, left)
    after = {item.product_id: stock[item.product_id] - item.quantity for item in items}
    return Placed(items, after, customer.postal_address if order.shipping_address is None else order.shipping_address)
