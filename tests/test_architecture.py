"""The house rules, as tests (docs/ARCHITECTURE.md explains them).

* ``bot/core`` is pure: it imports no IO library (Slack, Shodan, HTTP, sockets, TLS, SQLite,
  plotting, processes, the environment) and nothing of ``bot`` outside ``bot.core``.
* ``bot.wiring`` is the composition root: only ``bot/cli/`` and ``bot/__main__.py`` import it, in
  any spelling (absolute, ``from bot import wiring``, relative, inside a function, by name).
* ``bot/services`` imports no Slack or plotting library, nor ``bot.render.charts`` (posting and
  chart drawing go through small protocols handed in by ``bot.wiring``).
* No tracked file cites a file outside the repository or an absolute machine path.

Imports are read with :mod:`ast` (every ``import`` node, at any depth), not with regular expressions.
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"

IO_LIBRARIES = frozenset(
    {
        "slack_bolt",
        "slack_sdk",
        "shodan",
        "requests",
        "httpx",
        "h11",
        "httptools",
        "urllib",
        "http",
        "socket",
        "ssl",
        "asyncio",
        "selectors",
        "sqlite3",
        "sqlite_utils",
        "matplotlib",
        "waitress",
        "subprocess",
        "os",
        "pathlib",
        "threading",
        "concurrent",
        "time",
        "click",
        "cryptography",
    }
)
SERVICE_FORBIDDEN = frozenset({"slack_bolt", "slack_sdk", "matplotlib"})
SERVICE_FORBIDDEN_MODULES = ("bot.render.charts",)  # plotting, however it imports matplotlib
WIRING = "bot.wiring"


@dataclass(frozen=True)
class Import:
    module: str  # absolute dotted name of what is imported ("bot.wiring", "slack_sdk.web")
    line: int


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(source: str, module: str, *, is_package: bool = False) -> Iterator[Import]:
    """Every module ``source`` imports, absolute, from any depth (functions, ``if TYPE_CHECKING``)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts)
                parent = f"{base}.{node.module}" if node.module else base
            else:
                parent = node.module or ""
            yield Import(parent, node.lineno)
            for alias in node.names:  # "from bot import wiring" imports the module bot.wiring
                yield Import(f"{parent}.{alias.name}", node.lineno)
        elif isinstance(node, ast.Call):  # importlib.import_module("bot.wiring"), __import__("bot.wiring")
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("import_module", "__import__") and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    yield Import(arg.value, node.lineno)


def top(name: str) -> str:
    return name.split(".", 1)[0]


def is_or_under(name: str, module: str) -> bool:
    return name == module or name.startswith(module + ".")


def modules(under: Path) -> list[Path]:
    return sorted(under.rglob("*.py"))


def imports_of(path: Path) -> list[Import]:
    return list(imports(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py"))


# -- the rules, as functions of (path, imports): a list of violations ---------------------------


def core_violations(module: str, found: list[Import]) -> list[str]:
    out = []
    for imp in found:
        if top(imp.module) in IO_LIBRARIES:
            out.append(f"{module}:{imp.line} imports {imp.module} (an IO library)")
        elif top(imp.module) == "bot" and imp.module != "bot" and not is_or_under(imp.module, "bot.core"):
            out.append(f"{module}:{imp.module} is outside bot.core (line {imp.line})")
    return out


def wiring_violations(module: str, found: list[Import]) -> list[str]:
    allowed = is_or_under(module, "bot.cli") or module in ("bot.__main__", WIRING)
    if allowed:
        return []
    return [f"{module}:{imp.line} imports {WIRING}" for imp in found if is_or_under(imp.module, WIRING)]


def service_violations(module: str, found: list[Import]) -> list[str]:
    return [
        f"{module}:{imp.line} imports {imp.module}"
        for imp in found
        if top(imp.module) in SERVICE_FORBIDDEN or any(is_or_under(imp.module, m) for m in SERVICE_FORBIDDEN_MODULES)
    ]


# -- the rules applied to the code ------------------------------------------------------------


def test_every_module_is_seen() -> None:
    names = {module_name(p) for p in modules(BOT)}
    assert {"bot.core.assess", "bot.wiring", "bot.cli", "bot.services.digest", "bot.__main__"} <= names


def test_core_imports_no_io_library_and_nothing_outside_core() -> None:
    problems = [v for p in modules(BOT / "core") for v in core_violations(module_name(p), imports_of(p))]
    assert problems == []


def test_only_the_cli_and_main_import_wiring() -> None:
    problems = [v for p in modules(BOT) for v in wiring_violations(module_name(p), imports_of(p))]
    assert problems == []
    importers = {module_name(p) for p in modules(BOT) if any(is_or_under(i.module, WIRING) for i in imports_of(p))}
    assert importers and all(m.startswith("bot.cli") or m == "bot.__main__" for m in importers)


def test_services_import_no_slack_or_plotting_library() -> None:
    problems = [v for p in modules(BOT / "services") for v in service_violations(module_name(p), imports_of(p))]
    assert problems == []


# -- the checker catches every spelling (a rule that cannot fail checks nothing) ------------------


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("bot.slack.home", "import bot.wiring\n"),
        ("bot.slack.home", "from bot.wiring import make_store\n"),
        ("bot.slack.home", "from bot import wiring\n"),
        ("bot.slack.home", "from .. import wiring\n"),
        ("bot.services.checks", "from ..wiring import make_store\n"),
        ("bot.jobs_like", "from . import wiring\n"),
        ("bot.slack.home", "def f():\n    from bot.wiring import make_store\n    return make_store\n"),
        ("bot.slack.home", "import importlib\nw = importlib.import_module('bot.wiring')\n"),
        ("bot.slack.home", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import bot.wiring as w\n"),
    ],
)
def test_wiring_rule_catches_every_spelling(module: str, source: str) -> None:
    assert wiring_violations(module, list(imports(source, module)))
    assert not wiring_violations("bot.cli.check_cmd", list(imports(source, "bot.cli.check_cmd")))


@pytest.mark.parametrize(
    "source",
    [
        "import sqlite3\n",
        "from slack_sdk import WebClient\n",
        "import matplotlib.pyplot as plt\n",
        "def f():\n    import socket\n",
        "from bot.store import Store\n",
        "from ..probe import fetch\n",
        "import os\n",
    ],
)
def test_core_rule_catches_io_and_outside_imports(source: str) -> None:
    assert core_violations("bot.core.judge", list(imports(source, "bot.core.judge")))


def test_core_rule_allows_pure_imports() -> None:
    source = "import datetime as dt\nfrom bot.core.catalog import Catalog\nfrom .model import Assessment\n"
    assert core_violations("bot.core.judge", list(imports(source, "bot.core.judge"))) == []


def test_service_rule_catches_slack_and_plotting() -> None:
    for source in (
        "from slack_sdk import WebClient\n",
        "import matplotlib\n",
        "def f():\n    import slack_bolt\n",
        "def f():\n    from bot.render import charts\n",
        "from bot.render.charts import digest_charts\n",
        "from ..render import charts\n",
    ):
        assert service_violations("bot.services.digest", list(imports(source, "bot.services.digest")))
    for fine in ("import datetime\n", "from bot.render.digest import digest_message\n"):
        assert service_violations("bot.services.digest", list(imports(fine, "bot.services.digest"))) == []


# -- no citations of what the repository does not contain -----------------------------------------

# Built at run time so that this file does not match itself.
FORBIDDEN = (
    "DESIGN" + ".md",
    ".." + "/shared",
    "/" + "work/",
    "/" + "home/",
    "/" + "tmp/",
    "/" + "Users/",
    "C:" + "\\",
)


def citations(text: str) -> list[str]:
    return [f for f in FORBIDDEN if f in text]


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in out.split("\0") if name]


def test_no_tracked_file_cites_outside_the_repository() -> None:
    files = tracked_files()
    assert len(files) > 50
    problems = []
    for path in files:
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for found in citations(text):
            problems.append(f"{path.relative_to(ROOT)}: {found}")
    assert problems == []


def test_citation_check_catches_each_form() -> None:
    for bad in FORBIDDEN:
        assert citations(f"see {bad}notes") == [bad]
    assert citations("see docs/ARCHITECTURE.md and tests/data/sample.json") == []
