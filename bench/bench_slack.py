"""Slack acknowledgement latency under load: ``python -m bench slack``.

The real Bolt app in HTTP mode (waitress) on 127.0.0.1, the fake Slack Web API, and the HTTPS
Exchange simulator in its own process with a simulated round trip of LATENCY per response (the
scanned servers are other machines in reality). Requests are signed like Slack's and sent by
``bench.burst_client`` in another process (Slack is a remote client too: its senders must not share
the app's interpreter), which times each from sending to the whole response.

1. One ``/exchcheck`` alone: acknowledgement time and time until its card reached the response_url.
2. ROUNDS rounds of 40 simultaneous ``/exchcheck`` commands from 40 users: p50 / p99 / max of the
   acknowledgement latency, and p99 as a fraction of Slack's 3 s budget (goal: well under 1).
3. Per round, time until all 40 cards arrived, as a multiple of one command alone; the ideal with
   W job workers is ceil(40 / W) (the work is bounded on purpose, the acknowledgements are not).
"""

from __future__ import annotations

import json
import logging
import math
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.sim_process import simulator_process
from bot.collector import freeze_startup_heap
from tests.fakes.slack_api import FakeSlack
from tests.slack_harness import PROXY_VARS, SlackHarness, headers

LATENCY = 0.1
BURST = 40
ROUNDS = 5
BUDGET = 3.0
PROFILES = ("exchange_se_current", "exchange2016_cu22_nov21su", "exchange2019_cu14_f5", "header_injection")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def _finished_at(fake: FakeSlack, name: str, timeout: float = 120.0) -> float:
    """Wall-clock time at which response_url ``name`` received its (first) card."""
    fake.wait_for_responses(name, count=1, timeout=timeout)
    return min(c.time for c in fake.calls_to("response_url") if c.name == name)


def _send(h: SlackHarness, commands: list[tuple[str, str]]) -> tuple[float, list[float], list[str]]:
    """Send ``(target, user)`` /exchcheck commands all at once from the client process: the time
    they were released, each acknowledgement's latency, each response_url's name."""
    requests, names = [], []
    for target, user in commands:
        body, name = h.command_body("/exchcheck", target, user=user)
        requests.append({"body": body.decode(), "headers": headers(body, "application/x-www-form-urlencoded")})
        names.append(name)
    order = json.dumps({"port": h.port, "requests": requests})
    done = subprocess.run(
        [sys.executable, "-m", "bench.burst_client"],
        input=order,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout)
    replies = result["replies"]
    bad = [
        r
        for r in replies
        if r["status"] != 200 or not json.loads(r["body"] or "{}").get("text", "").startswith("Checking")
    ]
    if bad:
        raise RuntimeError(f"{len(bad)} bad acknowledgements, e.g. {[(r['status'], r['body'][:100]) for r in bad[:2]]}")
    return float(result["started"]), [float(r["elapsed"]) for r in replies], names


def _one(h: SlackHarness, fake: FakeSlack, i: int) -> tuple[float, float]:
    start, (ack,), (name,) = _send(h, [(h.host(PROFILES[i % len(PROFILES)]), f"U0BENCH{i:03d}")])
    return ack, _finished_at(fake, name) - start


def _burst(h: SlackHarness, fake: FakeSlack, round_no: int) -> tuple[list[float], float]:
    commands = [(h.host(PROFILES[i % len(PROFILES)]), f"U0R{round_no}U{i:03d}") for i in range(BURST)]
    start, acks, names = _send(h, commands)
    done = max(_finished_at(fake, n) for n in names)
    return acks, done - start


def main() -> None:
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is N" is the point here
    saved = {k: os.environ.pop(k) for k in PROXY_VARS if k in os.environ}
    try:
        _run()
    finally:
        os.environ.update(saved)


def _run() -> None:
    with (
        simulator_process("exchange_se_current", LATENCY) as port,
        FakeSlack() as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        h = SlackHarness(fake, Path(tmp) / "bench.db", sim_port=port)
        try:
            workers = h.settings.max_concurrent_jobs
            _one(h, fake, 0)  # warm-up: imports, TLS contexts, database schema
            freeze_startup_heap()  # as `exchbot serve` does before it serves
            singles = [_one(h, fake, i) for i in range(1, 4)]
            single_ack = statistics.median(a for a, _ in singles)
            single_done = statistics.median(d for _, d in singles)
            acks: list[float] = []
            finals: list[float] = []
            for r in range(ROUNDS):
                a, d = _burst(h, fake, r)
                acks += a
                finals.append(d)
        finally:
            h.close()
    p50, p99, worst = _percentile(acks, 50), _percentile(acks, 99), max(acks)
    ideal = math.ceil(BURST / workers)
    print(
        f"   simulated round trip {LATENCY * 1000:.0f} ms per response; {workers} job workers; "
        f"{ROUNDS} rounds of {BURST} simultaneous /exchcheck ({len(acks)} commands)"
    )
    print(f"   one command alone:  ack {single_ack * 1000:6.1f} ms, card after {single_done * 1000:6.0f} ms")
    print(
        f"   acknowledgement under load:  p50 {p50 * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms   "
        f"max {worst * 1000:6.1f} ms"
    )
    print(
        f"   p99 / Slack's 3 s budget:    {p99 / BUDGET:6.3f}   (goal < 0.33; all {len(acks)} acknowledged: "
        f"{'yes' if worst < BUDGET else 'NO'})"
    )
    med = statistics.median(finals)
    print(
        f"   all {BURST} cards delivered after {med:5.2f} s (median of {ROUNDS} rounds, max {max(finals):5.2f} s) = "
        f"{med / single_done:4.1f} x one command   (ideal with {workers} workers: {ideal} x)"
    )
