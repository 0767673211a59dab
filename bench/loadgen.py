"""Closed-loop gRPC load generator (grpc.aio): `python -m bench.loadgen` reads a LoadSpec on stdin, prints raw results.

It runs in its own process so that its CPU is measured apart from the harness and the server.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import auth, http
from bench.processes import CpuMeter
from service._gen.erp.orders.v1 import order_pb2, order_pb2_grpc

CALL_TIMEOUT_S = 10.0
# The "ship" scenario's orders, per load-generator process: enough units that none runs out in a window.
SHIP_POOL, SHIP_UNITS = 64, 10_000
# The "amend" scenario's pending orders of the hot product, per load-generator process.
AMEND_POOL = 64


@dataclass
class LoadSpec:
    target: str
    rpc: str  # "create", "get", "list", "ship", "amend" (gRPC) or "rest" (CreateOrder through the gateway; target is HTTP)
    concurrency: int
    warmup_s: float
    duration_s: float
    channels: int = 4
    customers: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    items: int = 1
    hot: str = ""  # when set, every order is for this one product
    order_ids: list[str] = field(default_factory=list)
    page_size: int = 50
    token_factory: str = ""
    idempotency_header: str = "idempotency-key"
    watch: dict[str, list[int]] = field(default_factory=dict)
    max_calls: int = 5_000_000
    seed: int = 1


@dataclass
class Raw:
    """Unsummarized results, so several load-generator processes can be merged."""

    seconds: float
    latencies_ns: list[int]
    statuses: dict[str, int]
    cpu: dict[str, float]


Call = Callable[[random.Random], Awaitable[Any]]


def _caller(spec: LoadSpec, channel: grpc.aio.Channel, auth_md: tuple[tuple[str, str], ...], open_orders: list[order_pb2.Order]) -> Call:
    """One call of the scenario's RPC, with a fresh request (and idempotency key) each time."""
    if spec.rpc == "health":
        check, ping = health_pb2_grpc.HealthStub(channel).Check, health_pb2.HealthCheckRequest()
        return lambda rng: check(ping, timeout=CALL_TIMEOUT_S)
    stub = order_pb2_grpc.OrderServiceStub(channel)
    if spec.rpc == "create":
        def create(rng: random.Random) -> Awaitable[Any]:
            ids = _lines(spec, rng)
            request = order_pb2.CreateOrderRequest(
                customer_id=rng.choice(spec.customers),
                items=[order_pb2.CreateOrderRequest.Item(product_id=p, quantity=1) for p in ids],
            )
            md = (*auth_md, (spec.idempotency_header, uuid.uuid4().hex))
            return stub.CreateOrder(request, metadata=md, timeout=CALL_TIMEOUT_S)
        return create
    if spec.rpc == "get":
        return lambda rng: stub.GetOrder(
            order_pb2.GetOrderRequest(id=rng.choice(spec.order_ids)), metadata=auth_md, timeout=CALL_TIMEOUT_S
        )
    if spec.rpc == "list":
        request = order_pb2.ListOrdersRequest(page_size=spec.page_size)
        return lambda rng: stub.ListOrders(request, metadata=auth_md, timeout=CALL_TIMEOUT_S)
    if spec.rpc == "ship":
        def ship(rng: random.Random) -> Awaitable[Any]:
            order = rng.choice(open_orders)
            item = order_pb2.CreateShipmentRequest.Item(product_id=order.items[0].product_id, quantity=1)
            md = (*auth_md, (spec.idempotency_header, uuid.uuid4().hex))
            return stub.CreateShipment(order_pb2.CreateShipmentRequest(order_id=order.id, items=[item]), metadata=md, timeout=CALL_TIMEOUT_S)
        return ship
    if spec.rpc == "amend":
        sent: Counter[str] = Counter()

        def amend(rng: random.Random) -> Awaitable[Any]:
            order = rng.choice(open_orders)
            sent[order.id] += 1  # 2, 1, 2 … in the order the calls are made: each one changes the line
            item = order_pb2.AmendOrderRequest.Item(product_id=spec.hot, quantity=1 + sent[order.id] % 2)
            md = (*auth_md, (spec.idempotency_header, uuid.uuid4().hex))
            return stub.AmendOrder(order_pb2.AmendOrderRequest(id=order.id, items=[item], reason="bench"), metadata=md, timeout=CALL_TIMEOUT_S)
        return amend
    raise ValueError(f"unknown rpc {spec.rpc!r}")


async def _open_orders(spec: LoadSpec, channel: grpc.aio.Channel, auth_md: tuple[tuple[str, str], ...]) -> list[order_pb2.Order]:
    """For "ship": SHIP_POOL confirmed orders of one line of SHIP_UNITS units, which the calls ship one unit at a time.
    For "amend": AMEND_POOL pending orders of one unit of the hot product, which the calls amend."""
    stub, rng, pool = order_pb2_grpc.OrderServiceStub(channel), random.Random(spec.seed), []
    if spec.rpc == "amend":
        line = order_pb2.CreateOrderRequest.Item(product_id=spec.hot, quantity=1)
        for _ in range(AMEND_POOL):
            pool.append(await stub.CreateOrder(order_pb2.CreateOrderRequest(customer_id=rng.choice(spec.customers), items=[line]), metadata=auth_md))
        return pool
    if spec.rpc != "ship":
        return []
    for _ in range(SHIP_POOL):
        line = order_pb2.CreateOrderRequest.Item(product_id=rng.choice(spec.products), quantity=SHIP_UNITS)
        order = await stub.CreateOrder(order_pb2.CreateOrderRequest(customer_id=rng.choice(spec.customers), items=[line]), metadata=auth_md)
        confirm = order_pb2.UpdateOrderStatusRequest(id=order.id, status=order_pb2.ORDER_STATUS_CONFIRMED)
        pool.append(await stub.UpdateOrderStatus(confirm, metadata=auth_md))
    return pool


def _lines(spec: LoadSpec, rng: random.Random) -> list[str]:
    return [spec.hot] if spec.hot else rng.sample(spec.products, spec.items)


def _rest_caller(spec: LoadSpec, conn: http.Connection, auth_md: tuple[tuple[str, str], ...]) -> Call:
    """CreateOrder as POST /v1/orders on one kept-alive connection, with a fresh Idempotency-Key."""
    headers = {name.title(): value for name, value in auth_md}

    def create(rng: random.Random) -> Awaitable[Any]:
        items = [{"productId": p, "quantity": 1} for p in _lines(spec, rng)]
        body = json.dumps({"customerId": rng.choice(spec.customers), "items": items}).encode()
        return conn.post("/v1/orders", body, headers | {"Idempotency-Key": uuid.uuid4().hex})

    return create


async def run(spec: LoadSpec) -> Raw:
    factory = auth.load(spec.token_factory)
    auth_md = (("authorization", f"Bearer {factory()}"),) if factory else ()
    # A local subchannel pool per channel: separate TCP connections, which SO_REUSEPORT spreads across workers.
    channels = [] if spec.rpc == "rest" else [
        grpc.aio.insecure_channel(spec.target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(spec.channels)
    ]
    host, _, port = spec.target.rpartition(":")
    connections = [http.Connection(host, int(port)) for _ in range(spec.concurrency)] if spec.rpc == "rest" else []
    for ch in channels:
        await asyncio.wait_for(ch.channel_ready(), timeout=10)
    open_orders = await _open_orders(spec, channels[0], auth_md) if channels else []
    calls = [_rest_caller(spec, conn, auth_md) for conn in connections] or [
        _caller(spec, ch, auth_md, open_orders) for ch in channels
    ]
    latencies: list[int] = []
    statuses: Counter[str] = Counter()
    started = 0
    t0 = time.perf_counter_ns()
    window_start = t0 + int(spec.warmup_s * 1e9)
    window_end = window_start + int(spec.duration_s * 1e9)

    async def worker(i: int) -> None:
        nonlocal started
        rng, call = random.Random(spec.seed * 100_003 + i), calls[i % len(calls)]
        while started < spec.max_calls and (begin := time.perf_counter_ns()) < window_end:
            started += 1
            try:
                await call(rng)
                code = "OK"
            except grpc.aio.AioRpcError as error:
                code = error.code().name
            except http.HttpError as error:
                code = f"HTTP_{error.status}"
            done = time.perf_counter_ns()
            if window_start <= done <= window_end:
                statuses[code] += 1
                if code == "OK":
                    latencies.append(done - begin)

    async def meter() -> dict[str, float]:
        cpu = CpuMeter(spec.watch)
        await asyncio.sleep(spec.warmup_s)
        cpu.start()
        await asyncio.sleep(spec.duration_s)
        return cpu.stop()

    try:
        results = await asyncio.gather(meter(), *(worker(i) for i in range(spec.concurrency)))
    finally:
        for ch in channels:
            await ch.close()
        for conn in connections:
            await conn.close()
    cpu = results[0]
    cpu["client"] = cpu.pop("self")
    return Raw(spec.duration_s, latencies, dict(statuses), cpu)


def main() -> None:
    spec = LoadSpec(**json.load(sys.stdin))
    raw = asyncio.run(run(spec))
    json.dump(asdict(raw), sys.stdout)


if __name__ == "__main__":
    main()
