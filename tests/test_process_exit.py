"""How the ``exchbot`` process ends (bot/entry.py): exit handlers run and output is flushed,
the exit status is what ``sys.exit`` would give, a thread still running is waited for, and only the
interpreter's teardown is skipped. Each case runs in its own interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.cli_proc import ROOT, clean_env
from tests.fakes.exchange_sim import ExchangeSimulator

HOST = "exchange-se-current.sim.test"
# A module-level object whose finaliser reports the interpreter's teardown (module globals cleared).
PRELUDE = """
import atexit, sys, threading, time
from bot.entry import end
class Teardown:
    def __del__(self):
        sys.stderr.write("teardown ran\\n")
witness = Teardown()
atexit.register(lambda: sys.stderr.write("atexit ran\\n"))
"""


def _python(body: str, *, stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    code = PRELUDE + textwrap.dedent(body)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout buffered, as usual
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60
    )


def test_the_teardown_is_skipped_but_exit_handlers_run_and_output_is_flushed() -> None:
    proc = _python("""
        sys.stdout.write("x" * 100_000)  # more than one buffer, some of it still unwritten
        end(3)
    """)
    assert proc.returncode == 3
    assert proc.stdout == "x" * 100_000
    assert "atexit ran" in proc.stderr
    assert "teardown ran" not in proc.stderr


def test_the_normal_exit_would_have_torn_down() -> None:
    """The witness works: without end(), the teardown runs its finaliser."""
    proc = _python("sys.exit(0)")
    assert proc.returncode == 0 and "teardown ran" in proc.stderr


@pytest.mark.parametrize(
    ("code", "status", "printed"), [("None", 0, ""), ("2", 2, ""), ("'bad input'", 1, "bad input")]
)
def test_the_status_is_what_sys_exit_gives(code: str, status: int, printed: str) -> None:
    proc = _python(f"end({code})")
    assert proc.returncode == status
    assert proc.stderr.startswith(printed)
    assert "Traceback" not in proc.stderr


def test_a_thread_still_running_is_waited_for() -> None:
    proc = _python("""
        def late():
            time.sleep(0.3)
            print("thread finished", flush=True)
        threading.Thread(target=late).start()
        end(0)
    """)
    assert proc.returncode == 0
    assert proc.stdout == "thread finished\n"  # not cut off by the exit
    assert "teardown ran" in proc.stderr  # the normal way, which waits for it


def test_a_closed_stdout_is_an_error_status_without_a_traceback() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: writing the rest of the output fails (as `exchbot ... | head`)
    try:
        proc = _python(
            """
            sys.stdout.write("x" * 10)  # buffered: the flush in end() meets the closed pipe
            end(0)
            """,
            stdout=write_end,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 120  # what CPython exits with when it cannot flush stdout
    assert "Traceback" not in proc.stderr


def test_the_console_script_stores_and_prints_everything_before_it_ends(tmp_path: Path) -> None:
    """End to end through ``python -m bot`` (bot/__main__.py, as the console script): the check's
    whole JSON is printed and its result is in the database when the process has ended."""
    import json

    from bot.store import Store

    db = tmp_path / "end.db"
    with ExchangeSimulator(default="exchange_se_current") as sim:
        pin = ["--allow-private", "--resolve", f"{HOST}:127.0.0.1"]
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "check", f"{HOST}:{sim.port}", *pin, "--json"],
            env=clean_env(EXCHBOT_DB=str(db)),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-500:]
    result = json.loads(proc.stdout)
    with Store(db) as store:
        (point,) = store.history(f"{HOST}:{sim.port}")
    assert result["build"] == str(point.build) and result["build"].startswith("15.2.")
