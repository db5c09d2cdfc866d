"""Whole-process speed: what a user waits for, timed from outside, side by side in one run.

Every figure is the wall time of whole subprocesses (interpreter start, imports, work, exit),
measured in rounds: each round runs the yardstick and the commands one right after the other. A
ratio is the median of the rounds' ratios, so a change in the machine's speed during the run (on a
shared 2-core machine the bare interpreter alone varies from ~70 to ~150 ms) hits both sides of
each ratio alike. The yardsticks, measured in the same run:

1. ``exchbot --version`` and ``exchbot build BUILD`` against a bare interpreter importing what a
   check needs (``python -c "import asyncio, ssl, json, sqlite3, h11, click, packaging.version"``).
2. One whole ``exchbot check`` of a host behind the HTTPS simulator (its own process, LATENCY
   before every response) as a multiple of LATENCY: the probing itself is one round trip.
   Also printed: its fixed cost beyond the round trip as a multiple of the bare interpreter of (1),
   which is what the machine's speed sets.
3. ``exchbot check`` of 200 hosts against bench/bare_client.py, which makes three GETs per host,
   one TLS connection each, all at once, against the same simulator; also their CPU time.
"""

from __future__ import annotations

import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.sim_process import simulator_process

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
EXCHBOT = str(Path(PYTHON).with_name("exchbot"))  # the console script installed next to python
BARE_IMPORT = "import asyncio, ssl, json, sqlite3, h11, click, packaging.version"
BUILD = "15.1.2507.6"
LATENCY = 0.3
PROFILE = "exchange_se_current"
HOST = "exchange-se-current.sim.test"
BATCH = 200
RUNS = 9  # start-up and one check: median of this many runs each
BATCH_RUNS = 15  # the batch swings most with the shared machine (single rounds 0.6 to 1.4 x): more rounds


def _env(db: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXCHBOT_", "SLACK_", "SHODAN_"))}
    env["EXCHBOT_DB"] = str(db)
    env.update(extra or {})
    return env


CPU: dict[str, list[float]] = {}  # CPU seconds (user + system) of each timed command, by its first words


def _key(cmd: Sequence[str]) -> str:
    return " ".join([Path(cmd[0]).name, *cmd[1:3]])


def timed(cmd: Sequence[str], env: dict[str, str], check: Callable[[str], bool] | None = None) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU.setdefault(_key(cmd), []).append(used)
    if check is not None and not check(proc.stdout):
        raise RuntimeError(f"{' '.join(cmd[:4])}...: unexpected output (exit {proc.returncode}): {proc.stderr[-300:]}")
    return elapsed


class Rounds:
    """Each case's time in each round; the cases take turns within a round."""

    def __init__(self, runs: int, cases: dict[str, Callable[[], float]]) -> None:
        self.times: dict[str, list[float]] = {name: [] for name in cases}
        for case in cases.values():
            case()  # warm-up: file system caches, bytecode
        for _ in range(runs):
            for name, case in cases.items():
                self.times[name].append(case())

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def ratios(self, name: str, to: str) -> list[float]:
        """``name``'s time over ``to``'s in the same round, for each round."""
        return [a / b for a, b in zip(self.times[name], self.times[to], strict=True)]

    def ratio(self, name: str, to: str) -> float:
        """The median over the rounds of ``name``'s time over ``to``'s in the same round."""
        return statistics.median(self.ratios(name, to))

    def spread(self, name: str, to: str) -> str:
        """The rounds' lowest and highest ratio: how far one round can be trusted on this machine."""
        r = self.ratios(name, to)
        return f"rounds {min(r):4.2f} to {max(r):4.2f}"


def startup(db: Path) -> None:
    env = _env(db)
    rounds = Rounds(
        RUNS,
        {
            "bare": lambda: timed([PYTHON, "-c", BARE_IMPORT], env),
            "version": lambda: timed([EXCHBOT, "--version"], env, lambda out: "version" in out),
            "build": lambda: timed([EXCHBOT, "build", BUILD, "--json"], env, lambda out: BUILD in out),
        },
    )
    bare = rounds.median("bare")
    print(f"   bare interpreter importing what a check needs: {bare * 1000:5.0f} ms (median of {RUNS} rounds)")
    version, build = rounds.median("version"), rounds.median("build")
    print(
        f"   exchbot --version:          {version * 1000:5.0f} ms = {rounds.ratio('version', 'bare'):4.2f} x"
        "   (goal <= 1.5)"
    )
    print(f"   exchbot build {BUILD}: {build * 1000:5.0f} ms = {rounds.ratio('build', 'bare'):4.2f} x   (goal <= 2)")


def one_check(db: Path, port: int) -> None:
    env = _env(db)
    target = f"{HOST}:{port}"
    cmd = [EXCHBOT, "check", target, "--allow-private", "--resolve", f"{HOST}:127.0.0.1", "--json"]
    rounds = Rounds(
        RUNS,
        {
            "bare": lambda: timed([PYTHON, "-c", BARE_IMPORT], env),
            "check": lambda: timed(cmd, env, lambda out: '"build": "15.' in out),
        },
    )
    check, bare = rounds.median("check"), rounds.median("bare")
    print(
        f"   one whole exchbot check, {LATENCY * 1000:.0f} ms per response: {check * 1000:5.0f} ms = "
        f"{check / LATENCY:4.2f} x the latency   (goal <= 1.5; median of {RUNS}, "
        f"rounds {min(rounds.times['check']) / LATENCY:4.2f} to {max(rounds.times['check']) / LATENCY:4.2f})"
    )
    # What the machine's speed sets: the cost beyond the round trip, against the bare interpreter.
    fixed = statistics.median(
        (c - LATENCY) / b for c, b in zip(rounds.times["check"], rounds.times["bare"], strict=True)
    )
    print(
        f"   its fixed cost beyond the round trip: {(check - LATENCY) * 1000:5.0f} ms = "
        f"{fixed:4.2f} x the bare interpreter importing what a check needs ({bare * 1000:.0f} ms)"
    )


def batch(db: Path, port: int) -> None:
    hosts = [f"h{i}.{HOST}" for i in range(BATCH)]
    env = _env(db, {"EXCHBOT_RESOLVE": ",".join(f"{h}:127.0.0.1" for h in hosts)})
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("".join(f"{h}:{port}\n" for h in hosts))
        listing = f.name
    try:
        cmd = [EXCHBOT, "check", "-f", listing, "--allow-private", "--concurrency", str(BATCH), "--json"]
        bare_cmd = [PYTHON, str(ROOT / "bench" / "bare_client.py"), str(port), *(f"{h}" for h in hosts)]
        rounds = Rounds(
            BATCH_RUNS,
            {
                "bare": lambda: timed(bare_cmd, env, lambda out: out.strip() == str(3 * BATCH)),
                "exchbot": lambda: timed(cmd, env, lambda out: out.count('"build": "15.') == BATCH),
            },
        )
    finally:
        os.unlink(listing)
    cpu = {name: CPU[_key(c)][-BATCH_RUNS:] for name, c in (("exchbot", cmd), ("bare", bare_cmd))}
    cpu_ratio = statistics.median(a / b for a, b in zip(cpu["exchbot"], cpu["bare"], strict=True))
    print(
        f"   {BATCH} hosts at once: exchbot check {rounds.median('exchbot'):5.2f} s, bare asyncio/ssl client "
        f"(3 GETs per host, one TLS connection each) {rounds.median('bare'):5.2f} s = "
        f"{rounds.ratio('exchbot', 'bare'):4.2f} x   (goal <= 1.1; median of {BATCH_RUNS} rounds, "
        f"{rounds.spread('exchbot', 'bare')})"
    )
    print(
        f"   their CPU time (user + system): exchbot {statistics.median(cpu['exchbot']):5.2f} s, bare client "
        f"{statistics.median(cpu['bare']):5.2f} s = {cpu_ratio:4.2f} x"
    )


def main() -> None:
    # An installed package has its bytecode compiled at install time; an editable checkout run with
    # PYTHONDONTWRITEBYTECODE would compile every module on every start instead (make install does this too).
    compileall.compile_dir(str(ROOT / "bot"), quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        startup(db)
        with simulator_process(PROFILE, LATENCY) as port:
            one_check(db, port)
            batch(db, port)


if __name__ == "__main__":
    main()
