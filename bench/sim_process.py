"""Run the HTTPS simulator in its own process, so the server's CPU is not charged to the prober
(in reality the scanned servers are other machines)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from tests.fakes.exchange_sim import ExchangeSimulator
with ExchangeSimulator(default={default!r}, latency={latency!r}) as sim:
    print(sim.port, flush=True)
    sys.stdin.read()  # run until the parent closes our stdin
"""


@contextlib.contextmanager
def simulator_process(default: str, latency: float) -> Iterator[int]:
    code = CHILD.format(root=str(ROOT), default=default, latency=latency)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield port
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
