"""Work that waits until the requests are out (bot.probe.outgoing, Prober.when_requests_out).

What only the answers need (the knowledge, the judge, the database) is loaded once no connection is
still being opened: not while TLS handshakes wait for the interpreter, and not after the answers
have arrived."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from bot.clock import FixedClock
from bot.core.catalog import Catalog
from bot.core.model import CheckResult
from bot.probe.fetch import Http1Session, http1_sessions
from bot.probe.outgoing import OutgoingRequests
from bot.probe.prober import Prober, ProbeSettings
from bot.probe.targets import parse_target
from bot.services.checks import CheckService
from bot.store import Store
from tests.fakes.exchange_sim import ExchangeSimulator
from tests.fakes.slow_relay import SlowRelay

NOW = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)
T = TypeVar("T")


def test_work_runs_at_once_when_no_connection_is_being_opened() -> None:
    ran: list[str] = []

    async def main() -> None:
        OutgoingRequests().when_sent(lambda: ran.append("work"))
        assert ran == ["work"]

    asyncio.run(main())


def test_work_waits_for_the_last_connection_and_for_the_request_written_after_it() -> None:
    """Two connections being opened: the work runs after both, and after the code that follows the
    last one in the same step (where the request is written), not inside it."""
    events: list[str] = []

    async def main() -> None:
        out = OutgoingRequests()
        first, second = asyncio.Event(), asyncio.Event()

        async def connection(name: str, opened: asyncio.Event) -> None:
            with out.opening():
                await opened.wait()
            events.append(f"{name} request written")

        tasks = [asyncio.create_task(connection("a", first)), asyncio.create_task(connection("b", second))]
        await asyncio.sleep(0)  # both are opening now
        assert out.opening_now == 2
        out.when_sent(lambda: events.append("work"))
        first.set()
        await asyncio.sleep(0.01)
        assert events == ["a request written"]  # b is still opening: the work waits
        second.set()
        await asyncio.gather(*tasks)
        await asyncio.sleep(0)
        assert out.opening_now == 0

    asyncio.run(main())
    assert events == ["a request written", "b request written", "work"]


@pytest.mark.parametrize("ending", ["raises", "cancelled"])
def test_a_connection_that_fails_or_is_cancelled_counts_as_out(ending: str) -> None:
    ran: list[str] = []

    async def main() -> None:
        out = OutgoingRequests()

        async def failing() -> None:
            with out.opening():
                await asyncio.sleep(0)
                raise ConnectionRefusedError

        async def hanging() -> None:
            with out.opening():
                await asyncio.Event().wait()

        task = asyncio.create_task(failing() if ending == "raises" else hanging())
        await asyncio.sleep(0)
        out.when_sent(lambda: ran.append("work"))
        if ending == "cancelled":
            task.cancel()
        with pytest.raises((ConnectionRefusedError, asyncio.CancelledError)):
            await task
        await asyncio.sleep(0)
        assert out.opening_now == 0

    asyncio.run(main())
    assert ran == ["work"]


def test_waiting_work_runs_once() -> None:
    ran: list[str] = []

    async def main() -> None:
        out = OutgoingRequests()

        async def connection() -> None:
            with out.opening():
                await asyncio.sleep(0)

        await asyncio.create_task(connection())  # before anything waits: nothing to run
        task = asyncio.create_task(connection())
        await asyncio.sleep(0)
        out.when_sent(lambda: ran.append("work"))
        await task
        await asyncio.create_task(connection())  # a later connection runs nothing again
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert ran == ["work"]


def test_each_event_loop_counts_its_own_connections() -> None:
    """``serve`` shares one prober among job threads, each with its own loop: a connection being
    opened in one job neither holds back the other's work nor runs it on its own thread."""
    out = OutgoingRequests()
    opened, a_registered = threading.Event(), threading.Event()
    release = threading.Event()
    ran: dict[str, str] = {}

    def job_a() -> None:  # opens a connection and holds it until released
        async def main() -> None:
            async def connection() -> None:
                with out.opening():
                    await asyncio.get_running_loop().run_in_executor(None, release.wait)

            task = asyncio.create_task(connection())
            await asyncio.sleep(0)
            opened.set()
            out.when_sent(lambda: ran.setdefault("a", threading.current_thread().name))
            a_registered.set()
            await task
            await asyncio.sleep(0)

        asyncio.run(main())

    def job_b() -> None:  # nothing being opened on its loop: its work runs at once
        async def main() -> None:
            assert out.opening_now == 0
            out.when_sent(lambda: ran.setdefault("b", threading.current_thread().name))

            async def connection() -> None:
                with out.opening():
                    await asyncio.sleep(0)

            await connection()  # closing its own last connection runs nothing of job a's

        asyncio.run(main())

    a = threading.Thread(target=job_a, name="job-a", daemon=True)
    a.start()
    try:
        assert opened.wait(5) and a_registered.wait(5)
        b = threading.Thread(target=job_b, name="job-b", daemon=True)
        b.start()
        b.join(5)
        assert ran == {"b": "job-b"}  # a's work still waits for a's connection
    finally:
        release.set()
    a.join(5)
    assert ran == {"b": "job-b", "a": "job-a"}


LATENCY = 1.5  # the simulator's delay before every answer
SLOW_HANDSHAKE = 0.3  # the relay's delay before a connection's first byte passes


def _recording(name: str, times: dict[str, float], make: Callable[[], T]) -> Callable[[], T]:
    def record() -> T:
        times.setdefault(name, time.monotonic())
        return make()

    return record


def test_a_check_loads_what_the_answers_need_once_every_request_is_out_and_before_any_answer(
    catalog: Catalog, tmp_path: Path
) -> None:
    """One host answers its TLS handshake at once, the other after SLOW_HANDSHAKE: the knowledge and
    the database are loaded after the slow host's requests have left (so no handshake waited for
    them), and before the first answer can have arrived."""
    times: dict[str, float] = {}
    with (
        ExchangeSimulator(default="exchange_se_current", latency=LATENCY) as sim,
        SlowRelay(sim.port, SLOW_HANDSHAKE) as relay,
    ):

        async def loopback(host: str, port: int) -> list[str]:
            return ["127.0.0.1"]

        prober = Prober(
            load_catalog=_recording("knowledge", times, lambda: catalog),
            settings=ProbeSettings(timeout=10.0, allow_private=True),
            resolver=loopback,
            clock=FixedClock(NOW),
        )
        service = CheckService(
            prober=prober,
            store=None,
            open_store=_recording("store", times, lambda: Store(tmp_path / "checks.db")),
        )
        targets = [parse_target(f"fast.sim.test:{sim.port}"), parse_target(f"slow.sim.test:{relay.port}")]

        async def run() -> list[CheckResult]:
            try:
                return await service.check_all(targets)
            finally:
                service.shutdown()

        results = asyncio.run(run())
        first_request = min(r.monotonic for r in sim.requests)

    assert [r.assessment.build for r in results] == ["15.2.2562.53"] * 2  # both judged
    assert all(any(e.signal == "tls-certificate" for e in r.evidence) for r in results)
    assert len(relay.accepted) == 3  # the slow host's three connections
    slow_open = max(relay.accepted) + SLOW_HANDSHAKE  # no handshake through the relay ends sooner
    for name in ("knowledge", "store"):
        assert slow_open < times[name] < first_request + LATENCY, name
    assert service.store is not None
    assert [len(service.store.history(r.host)) for r in results] == [1, 1]  # both stored
    service.store.close()


def test_copies_of_a_prober_share_its_count_and_its_tls_context(catalog: Catalog) -> None:
    """Discovery checks each endpoint with a copy of the prober (``dataclasses.replace``): the copies
    count into the same OutgoingRequests, and no copy makes a TLS context of its own."""
    prober = Prober(catalog=catalog, settings=ProbeSettings(allow_private=True))
    copy = dataclasses.replace(prober, settings=ProbeSettings(timeout=3.0))
    assert copy.outgoing is prober.outgoing
    target = parse_target("mail.example.com")
    first, second = http1_sessions()(target, "192.0.2.1"), http1_sessions()(target, "192.0.2.2")
    assert isinstance(first, Http1Session) and isinstance(second, Http1Session)
    assert first.ssl_context is second.ssl_context
