"""Each chaos fault really breaks what it says, against the harness's own servers, and is healed when it returns."""

from __future__ import annotations

import random
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

import grpc
import httpx
import pytest
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bench.database import private_database
from chaos.nemesis import FAULTS, Nemesis, Targets, spacing
from chaos.run import STREAM, start_targets
from chaos.stream import read_stream
from service.runtime.bootstrap import unit_of_work
from service.domain.model import Caller
from service.usecases.products import create_product
from storage import outbox
from tests.conftest import MYSQL_URL
from tests.helpers import unique, until


@pytest.fixture(scope="module")
def targets() -> Iterator[Targets]:
    with ExitStack() as stack:
        url = stack.enter_context(private_database(MYSQL_URL, "nemesis"))
        admin = create_engine(url)
        stack.callback(admin.dispose)
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chaos-test-")))
        found, _ = start_targets(stack, url, admin, workdir, workdir)
        yield found


def _inject(targets: Targets, fault: str, during: Callable[[], None] = lambda: None) -> str:
    """Runs the fault with `during` called while it holds, instead of waiting."""
    targets.hold = lambda _seconds: during()
    return FAULTS[fault](targets, random.Random(7))


def _through_proxy(targets: Targets) -> str:
    url = make_url(str(targets.admin.url)).set(port=targets.db_proxy.port)
    return url.render_as_string(hide_password=False)


def _state(pid: int) -> str:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2]


def _running(pid: int) -> bool:
    """Whether the process is still there and not a zombie: workers orphaned by a killed supervisor
    are reaped by init whenever it gets to it, and stay in /proc as zombies until then."""
    try:
        return _state(pid) != "Z"
    except OSError:  # gone, also while being read
        return False


def test_kill_worker_sigkills_one_and_the_supervisor_replaces_it(targets: Targets) -> None:
    before, supervisor = set(targets.service.workers()), targets.service.supervisor()
    _inject(targets, "kill-worker")
    after = set(targets.service.workers())
    assert targets.service.supervisor() == supervisor
    assert len(after) == 2 and len(after & before) == 1
    assert sum(_running(pid) for pid in before) == 1


def test_kill_service_sigkills_everything_and_it_is_started_again(targets: Targets) -> None:
    before, supervisor, restarts = set(targets.service.workers()), targets.service.supervisor(), targets.service.restarts
    _inject(targets, "kill-service")
    assert targets.service.restarts == restarts + 1 and targets.service.supervisor() != supervisor
    assert len(set(targets.service.workers()) - before) == 2
    assert not any(_running(pid) for pid in [supervisor, *before])


def _eventually(states: Callable[[], list[str]], want: Callable[[list[str]], bool]) -> list[str]:
    """Process states, polled until `want` holds (signals are delivered asynchronously) or 10 s pass."""
    deadline = time.monotonic() + 10
    while not want(seen := states()) and time.monotonic() < deadline:
        time.sleep(0.01)  # polling /proc for a real condition, bounded by the deadline
    return seen


def test_pause_worker_stops_a_worker_while_it_holds_and_resumes_it(targets: Targets) -> None:
    def states() -> list[str]:
        return [_state(p) for p in targets.service.workers()]

    during: list[list[str]] = []
    _inject(targets, "pause-worker", lambda: during.append(_eventually(states, lambda s: "T" in s)))
    assert len(during[0]) == 2 and during[0].count("T") == 1
    assert "T" not in _eventually(states, lambda s: "T" not in s)


def test_kill_db_connections_drops_the_private_databases_connections_only(targets: Targets, mysql_url: str) -> None:
    victim, bystander = create_engine(_through_proxy(targets)), create_engine(mysql_url)
    try:
        with victim.connect() as doomed, bystander.connect() as other:
            doomed.execute(text("SELECT 1"))
            other.execute(text("SELECT 1"))
            assert "killed" in _inject(targets, "kill-db-connections")
            with pytest.raises(OperationalError):
                doomed.execute(text("SELECT 1"))
            assert other.execute(text("SELECT 1")).scalar_one() == 1
        targets.service.wait_serving()
    finally:
        victim.dispose()
        bystander.dispose()


def test_cut_db_refuses_connections_while_it_holds_then_restores_them(targets: Targets) -> None:
    engine = create_engine(_through_proxy(targets), connect_args={"connect_timeout": 2})
    failures: list[Exception] = []

    def during() -> None:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as error:
            failures.append(error)

    try:
        _inject(targets, "cut-db", during)
        assert len(failures) == 1
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("fault, proxy", [("slow-db", "db_proxy"), ("slow-redis", "redis_proxy")])
def test_slow_links_delay_traffic_while_they_hold_but_still_carry_it(targets: Targets, fault: str, proxy: str) -> None:
    client = redis.Redis(port=targets.redis_proxy.port, socket_timeout=5)
    seen: list[tuple[float, bool]] = []
    _inject(targets, fault, lambda: seen.append((getattr(targets, proxy).delay_s, bool(client.ping()))))
    assert seen[0][0] > 0 and seen[0][1]
    assert getattr(targets, proxy).delay_s == 0
    client.close()


def test_cut_redis_makes_redis_unreachable_while_it_holds(targets: Targets) -> None:
    client = redis.Redis(port=targets.redis_proxy.port, socket_connect_timeout=1, socket_timeout=1)
    outcomes: list[str] = []

    def during() -> None:
        try:
            client.ping()
            outcomes.append("answered")
        except redis.ConnectionError:
            outcomes.append("unreachable")

    _inject(targets, "cut-redis", during)
    assert outcomes == ["unreachable"]
    assert client.ping()
    client.close()


def test_restart_redis_stops_it_while_it_holds_and_brings_it_back_empty_on_its_port(targets: Targets) -> None:
    old, port = targets.redis, targets.redis.port
    old.client.set("chaos-test-key", "1")
    answered: list[bool] = []

    def during() -> None:
        try:
            answered.append(bool(redis.Redis(port=port, socket_connect_timeout=1).ping()))
        except redis.ConnectionError:
            answered.append(False)

    _inject(targets, "restart-redis", during)
    assert answered == [False]
    assert targets.redis is not old and targets.redis.port == port
    assert targets.redis.client.get("chaos-test-key") is None


def test_flush_redis_empties_the_private_redis(targets: Targets) -> None:
    targets.redis.client.set("chaos-test-key", "1")
    _inject(targets, "flush-redis")
    assert targets.redis.client.dbsize() == 0


def _product_event(targets: Targets) -> str:
    """A new product: its initial stock row is an event for the relay; returns that event's id."""
    product = create_product(unit_of_work(targets.admin), Caller("nemesis-test", ""), unique("SKU-"), "p", "", Decimal("1.00"), "BRL", 5)
    return f"product-{product.id}-1"


def _published(targets: Targets) -> set[str]:
    until(lambda: outbox.backlog(targets.admin)[0] == 0, "the relay has published the whole outbox", 60)
    return {m.headers["Nats-Msg-Id"] for m in read_stream(targets.nats.url, STREAM)}


def test_kill_relay_sigkills_it_and_the_harness_starts_a_relay_that_publishes(targets: Targets) -> None:
    before, restarts = targets.relay.current().pid, targets.relay.restarts
    _inject(targets, "kill-relay")
    assert targets.relay.restarts == restarts + 1 and targets.relay.current().pid != before
    assert not Path(f"/proc/{before}").exists() or _state(before) == "Z"
    assert _product_event(targets) in _published(targets)


def test_stop_nats_stops_the_broker_while_it_holds_and_restarts_it_with_its_stream(targets: Targets) -> None:
    first = _product_event(targets)
    assert first in _published(targets)
    during: list[tuple[bool, str]] = []

    def while_down() -> None:
        try:
            socket.create_connection(("127.0.0.1", targets.nats.port), timeout=1).close()
            refused = False
        except OSError:
            refused = True
        during.append((refused, _product_event(targets)))

    _inject(targets, "stop-nats", while_down)
    [(refused, second)] = during
    assert refused
    assert {first, second} <= _published(targets)  # the stream survived, and the relay caught up


def _established(port: int) -> int:
    """Open TCP connections whose server side is `port` on 127.0.0.1 (from /proc/net/tcp: state 01)."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1] == f"0100007F:{port:04X}" and row[3] == "01")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, headers={"Connection": "close"}, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_slow_http_clients_hold_connections_on_the_rest_port_while_rest_and_grpc_still_serve(targets: Targets) -> None:
    outcomes: list[tuple[int, int, str]] = []

    def during() -> None:
        status = httpx.get(f"{targets.service.base_url}/readyz", headers={"Connection": "close"}, timeout=5).status_code
        with grpc.insecure_channel(targets.service.target) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        outcomes.append((_established(targets.service.http_port), status, health_pb2.HealthCheckResponse.ServingStatus.Name(health.status)))

    until(lambda: _answers(f"{targets.service.base_url}/readyz"), "the gateway listens (it starts after gRPC)")
    description = _inject(targets, "slow-http-clients", during)
    [(held, status, health)] = outcomes
    assert held >= 105 and (status, health) == (200, "SERVING"), (description, outcomes)
    until(lambda: _established(targets.service.http_port) < 5, "the slow connections are closed")


def test_a_short_run_spaces_its_faults_closer_and_holds_each_shorter(targets: Targets) -> None:
    assert (spacing(600), spacing(10)) == (5.0, 1.25)
    held: list[float] = []
    Nemesis(targets, ["stop-nats"], spacing(10), seed=7, record=lambda _name, _what: None)
    try:
        targets.hold = held.append
        FAULTS["stop-nats"](targets, random.Random(7))
    finally:
        targets.pace = 1.0
    assert len(held) == 1 and held[0] <= 8 * 1.25 / 5.0  # stop-nats holds 2–8 s at the default spacing
