"""The app's bounded executor and per-user rate limiter (bot.slack.workers, bot.ratelimit)."""

from __future__ import annotations

import functools
import threading
import time

from bot.ratelimit import RateLimiter, per_user_limiter
from bot.slack.workers import JobRunner


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_runner_refuses_at_once_when_workers_and_queue_are_full() -> None:
    runner = JobRunner(2, 1)
    gate = threading.Event()
    started = threading.Semaphore(0)
    done: list[int] = []

    def job(i: int) -> None:
        started.release()
        gate.wait(5)
        done.append(i)

    try:
        assert [runner.submit(functools.partial(job, i)) for i in range(3)] == [True, True, True]
        assert started.acquire(timeout=5) and started.acquire(timeout=5)  # two run, one waits
        assert runner.submit(lambda: job(99)) is False
        assert runner.pending == 3
        gate.set()
        assert runner.wait_idle(5)
        assert sorted(done) == [0, 1, 2] and runner.pending == 0
        assert runner.submit(lambda: job(3))  # slots come back
        assert runner.wait_idle(5) and 3 in done
    finally:
        gate.set()
        runner.shutdown(5)


def test_a_failing_job_frees_its_slot() -> None:
    runner = JobRunner(1, 0)
    try:
        assert runner.submit(lambda: 1 / 0)
        assert runner.wait_idle(5)
        ran = threading.Event()
        assert runner.submit(ran.set) and ran.wait(5)
    finally:
        runner.shutdown(5)


def test_shutdown_refuses_new_jobs_and_drops_queued_ones() -> None:
    runner = JobRunner(1, 5)
    gate = threading.Event()
    started = threading.Event()
    ran: list[int] = []
    runner.submit(lambda: (started.set(), gate.wait(5), ran.append(0)))  # type: ignore[func-returns-value]
    for i in range(1, 4):
        runner.submit(functools.partial(ran.append, i))
    assert started.wait(5)  # the first job is running, the other three are queued
    stopped: list[bool] = []
    stopper = threading.Thread(target=lambda: stopped.append(runner.shutdown(5)))
    stopper.start()
    deadline = time.monotonic() + 10
    while runner.pending > 1 and time.monotonic() < deadline:  # until the queued three are dropped
        time.sleep(0.01)
    gate.set()
    stopper.join(10)
    assert ran == [0]
    assert stopped == [True]  # the running job finished; the dropped ones are not waited for
    assert runner.submit(lambda: ran.append(9)) is False


def test_token_bucket_per_user() -> None:
    clock = Clock()
    limiter = per_user_limiter(3, clock=clock)
    assert [limiter.acquire("alice") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("alice")
    assert wait == 20.0  # one token every 60/3 s
    assert limiter.acquire("bob") == 0.0
    clock.t += 10
    assert limiter.acquire("alice") == 10.0
    clock.t += 10
    assert limiter.acquire("alice") == 0.0
    limiter.refund("alice")
    assert limiter.acquire("alice") == 0.0


def test_zero_means_no_limit_and_memory_is_bounded() -> None:
    assert all(per_user_limiter(0).acquire("u") == 0.0 for _ in range(1000))
    clock = Clock()
    limiter = RateLimiter(1, per=60.0, burst=1, clock=clock, max_keys=100)
    for i in range(1000):
        limiter.acquire(f"u{i}")
    assert len(limiter._buckets) <= 100
