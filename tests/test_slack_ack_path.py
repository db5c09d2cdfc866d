"""What an acknowledgement waits on, and what it no longer waits on: the gate that holds jobs back
while Slack requests are answered (bot.slack.ack_gate), the job runner's threads started up front,
listeners running on the request's own thread with button follow-ups after the answer, the
start-up heap frozen (bot.collector), and the benchmark's out-of-process Slack client
(bench.burst_client). No timing is asserted: only what happened, and in which order."""

from __future__ import annotations

import gc
import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.burst_client import send_all
from bot.collector import freeze_startup_heap
from bot.core.model import CheckResult
from bot.probe.targets import Target
from bot.ratelimit import RateLimiter
from bot.render.blocks import RECHECK
from bot.slack.ack_gate import AckGate
from bot.slack.workers import JobRunner
from tests.fakes.slack_api import FakeSlack
from tests.slack_harness import PROXY_VARS, SlackHarness, headers

# ------------------------------------------------------------------------------------------- the gate


def test_a_quiet_gate_lets_jobs_through_at_once() -> None:
    gate = AckGate(settle=0.0, max_wait=30.0)
    assert gate.wait_quiet() is True and gate.in_flight == 0


def test_the_gate_holds_a_job_back_while_a_request_is_answered() -> None:
    gate = AckGate(settle=0.0, max_wait=30.0)
    results: list[bool] = []
    with gate.answering():
        assert gate.in_flight == 1
        waiter = threading.Thread(target=lambda: results.append(gate.wait_quiet()))
        waiter.start()
        waiter.join(0.2)
        assert waiter.is_alive() and results == []  # still held back
    waiter.join(10)
    assert results == [True] and gate.in_flight == 0


def test_the_gate_never_holds_a_job_longer_than_its_bound() -> None:
    gate = AckGate(settle=0.0, max_wait=30.0)
    with gate.answering():
        assert gate.wait_quiet(max_wait=0.05) is False  # cut short: requests never starve jobs
        assert AckGate(settle=0.0, max_wait=0.0).wait_quiet() is True  # another gate is quiet


def test_the_gate_waits_for_the_settle_time_after_the_last_request() -> None:
    now = [100.0]
    gate = AckGate(settle=5.0, max_wait=0.0, clock=lambda: now[0])
    with gate.answering():
        pass
    assert gate.wait_quiet() is False  # left at 100.0, quiet only from 105.0; no time to wait
    now[0] = 105.0
    assert gate.wait_quiet() is True


def test_the_gate_counts_a_request_that_failed() -> None:
    gate = AckGate()
    with pytest.raises(RuntimeError), gate.answering():
        raise RuntimeError("listener failed")
    assert gate.in_flight == 0


# ------------------------------------------------------------------------------------------ the runner


def _threads(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def test_job_threads_exist_before_the_first_job() -> None:
    runner = JobRunner(3, 0, name="exchbot-prestart-test")
    try:
        assert len(_threads("exchbot-prestart-test")) == 3
        assert runner.pending == 0
        done = threading.Event()
        assert runner.submit(done.set)
        assert done.wait(10)
        assert len(_threads("exchbot-prestart-test")) == 3  # no thread started by submit()
    finally:
        runner.shutdown(10)


def test_a_job_starts_only_once_the_requests_are_answered() -> None:
    gate = AckGate(settle=0.0, max_wait=30.0)
    runner = JobRunner(1, 0, gate=gate)
    ran = threading.Event()
    try:
        with gate.answering():
            assert runner.submit(ran.set)
            assert not ran.wait(0.2)  # held at the gate
        assert ran.wait(10)
    finally:
        runner.shutdown(10)


# ------------------------------------------------------------------------------------- the app itself


@pytest.fixture(scope="module", autouse=True)
def no_proxy() -> Iterator[None]:
    saved = {k: os.environ.pop(k) for k in PROXY_VARS if k in os.environ}
    yield
    os.environ.update(saved)


@pytest.fixture()
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


class SpyLimiter(RateLimiter):
    """Allows everything; notes how many Slack requests the gate saw while the listener ran."""

    def __init__(self) -> None:
        super().__init__(0)
        self.gate: AckGate | None = None
        self.seen: list[int] = []

    def acquire(self, key: str = "") -> float:
        assert self.gate is not None
        self.seen.append(self.gate.in_flight)
        return 0.0


def test_a_slash_command_is_marked_on_the_job_gate_while_it_is_answered(fake: FakeSlack, tmp_path: Path) -> None:
    limiter = SpyLimiter()
    with SlackHarness(fake, tmp_path / "a.db", check=_no_check, limiter=limiter) as h:
        limiter.gate = h.deps.jobs.gate
        ack, name = h.command("/exchcheck", "mail.example.com")
        assert ack.status == 200 and ack.json()["text"].startswith("Checking")
        assert limiter.seen == [1]  # the listener ran inside the marked request
        assert "went wrong" in h.final(name)["text"]  # the job ran after the answer left
        assert h.deps.jobs.gate.in_flight == 0


def _no_check(target: Target, who: str) -> CheckResult:
    raise RuntimeError("no probing in this test")


def test_a_button_is_acknowledged_before_its_follow_up_posts(fake: FakeSlack, tmp_path: Path) -> None:
    """A forged button value is answered through the response_url; that post is slow here, and
    the click's HTTP answer must not wait for it (it runs after, on the listener pool)."""
    with SlackHarness(fake, tmp_path / "b.db", check=_no_check) as h:
        fake.delay("response_url", 2.0)
        ack, name = h.click(RECHECK, "$(reboot); <!channel>")
        assert ack.status == 200
        assert [c for c in fake.calls_to("response_url") if c.name == name] == []  # not delivered yet
        answer = h.final(name, timeout=15)
        assert "no valid host" in answer["text"]
        fake.delay("response_url", 0)


# ------------------------------------------------------------------------------------------- the heap


def test_the_start_up_heap_is_frozen() -> None:
    kept = [object() for _ in range(10)]
    try:
        frozen = freeze_startup_heap()
        assert frozen == gc.get_freeze_count() and frozen >= len(kept)
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


# ---------------------------------------------------------------------------- the benchmark's client


class _Echo(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = json.dumps({"path": self.path, "got": body.decode(), "sig": self.headers.get("X-Slack-Signature")})
        data = reply.encode()
        self.send_response(200 if body != b"fail" else 500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_the_burst_client_sends_every_request_and_reports_each_reply_in_order() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        bodies = [f"n={i}".encode() for i in range(12)] + [b"fail"]
        requests = [{"body": b.decode(), "headers": headers(b, "application/x-www-form-urlencoded")} for b in bodies]
        result = send_all(server.server_address[1], requests)
    finally:
        server.shutdown()
        server.server_close()
    replies = result["replies"]
    assert [r["status"] for r in replies] == [200] * 12 + [500]
    assert [json.loads(r["body"])["got"] for r in replies] == [b.decode() for b in bodies]
    assert all(json.loads(r["body"])["path"] == "/slack/events" for r in replies)
    assert all(json.loads(r["body"])["sig"].startswith("v0=") for r in replies)
    assert all(r["elapsed"] > 0 for r in replies) and result["started"] > 0


def test_the_burst_client_reports_a_refused_connection_as_data() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    port = server.server_address[1]
    server.server_close()  # nothing listens there now
    result = send_all(port, [{"body": "x", "headers": {}}], timeout=5)
    (reply,) = result["replies"]
    assert reply["status"] == 0 and "Error" in reply["body"]
