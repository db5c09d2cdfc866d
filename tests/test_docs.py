"""The README and docs/ARCHITECTURE.md describe the program as it is: every command the CLI lists
is in the README's commands table, every schema migration is in the architecture's list, and the
README's build table is what ``exchbot build`` prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bot.knowledge import load_catalog
from bot.store.migrations import MIGRATIONS

ROOT = Path(__file__).resolve().parents[1]


def _section(text: str, title: str) -> str:
    return text.split(f"\n## {title}", 1)[1].split("\n## ", 1)[0]


def _commands(*group: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *group, "--help"], capture_output=True, text=True, cwd=ROOT, check=True
    )
    listing = proc.stdout.split("Commands:", 1)[1]
    return re.findall(r"^  ([a-z][a-z-]*)  ", listing, re.M)


def test_readme_commands_table_lists_every_command_and_subcommand() -> None:
    table = _section((ROOT / "README.md").read_text(encoding="utf-8"), "Commands")
    rows = [line for line in table.splitlines() if line.startswith("| `exchbot ")]
    top = _commands()
    assert {"build", "check", "serve"} <= set(top)  # the listing was read at all
    for name in top:
        assert any(r.startswith(f"| `exchbot {name} ") or r.startswith(f"| `exchbot {name}`") for r in rows), name
    for group in ("exposure", "watch"):
        subs = _commands(group)
        assert subs, group
        for sub in subs:
            assert any(re.search(rf"`exchbot {group} [^`]*\b{sub}\b", r) for r in rows), f"{group} {sub}"


def test_architecture_lists_every_migration() -> None:
    section = _section((ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8"), "Database migrations")
    listed = {int(m) for m in re.findall(r"^\| (\d+) \|", section, re.M)}
    assert listed == {version for version, _, _ in MIGRATIONS}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (said,) = re.findall(r"schema versions 1 to (\d+)", readme)
    assert int(said) == max(version for version, _, _ in MIGRATIONS)


def test_readme_build_table_is_what_the_command_prints(tmp_path: Path) -> None:
    """The example under "What it answers" is the real output of the packaged knowledge, as of its
    data date: from the next Patch Tuesday on, the command adds the staleness warning, and the test
    must not depend on the day it runs. After a knowledge update, paste the new output."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```text\n\$ exchbot build ((?:[0-9.]+ )+[0-9.]+)\n(.*?)```", readme, re.S)
    assert found, "the README's multi-build example"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "build",
            *found.group(1).split(),
            "--today",
            load_catalog().data_date.isoformat(),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env={"PATH": "/usr/bin:/bin", "EXCHBOT_DB": str(tmp_path / "unused.db")},
    )
    assert proc.stdout == found.group(2)
