"""The Dockerfile, compose.yaml, systemd unit and Procfile agree with the package and the CLI."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import click
import yaml

from bot.cli import main
from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]

# Every command the CLI has (the group loads commands lazily: ask it, not its loaded dict).
COMMAND_NAMES = frozenset(main.list_commands(click.Context(main)))


def dockerfile() -> dict[str, list[str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.setdefault(word.upper(), []).append(rest.strip())
    return out


def exec_form(text: str) -> list[str]:
    value = json.loads(text)
    assert isinstance(value, list) and all(isinstance(x, str) for x in value)
    return value


def script_name() -> str:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    (name,) = [k for k, v in scripts.items() if v == "bot.entry:run"]
    return str(name)


def test_dockerfile_entry_point_volume_and_health_command_match_the_cli() -> None:
    d = dockerfile()
    (base,) = d["FROM"]
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base)
    (user,) = d["USER"]
    assert user not in ("root", "0")
    assert any(step.startswith("pip install .") for step in d["RUN"])  # the package from the checkout
    assert exec_form(d["ENTRYPOINT"][0]) == [script_name()]
    cmd = exec_form(d["CMD"][0])
    assert cmd[0] in COMMAND_NAMES
    env = dict(kv.split("=", 1) for step in d["ENV"] for kv in shlex.split(step))
    (volume,) = d["VOLUME"]
    assert env["EXCHBOT_DB"] == "/data/exchbot.db" and volume == "/data"
    assert Path(env["EXCHBOT_DB"]).parent == Path(volume)
    health = d["HEALTHCHECK"][0]
    form = exec_form(health.split("CMD", 1)[1].strip())
    assert form[0] == script_name() and form[1] in COMMAND_NAMES and form[1] == "status"
    for step in d["COPY"]:
        *sources, _ = step.split()
        assert all((ROOT / s).exists() for s in sources), step


def test_compose_runs_socket_mode_with_a_named_volume_and_backups() -> None:
    doc = yaml.safe_load((ROOT / "compose.yaml").read_text())
    (service,) = doc["services"].values()
    assert service["command"][0] in COMMAND_NAMES and "--http" not in service["command"]
    env = service["environment"]
    assert "SLACK_APP_TOKEN" in env and "SLACK_BOT_TOKEN" in env
    (mount,) = service["volumes"]
    name, target = mount.split(":")[:2]
    assert name in doc["volumes"] and target == str(Path(dockerfile()["VOLUME"][0]))
    assert Path(env["EXCHBOT_DB"]).parent == Path(target)
    assert Path(env["EXCHBOT_BACKUP_DIR"]).is_relative_to(target)
    settings = Settings.from_env({k: str(v) for k, v in env.items() if not str(v).startswith("$")})
    assert settings.backup_keep >= 1 and settings.backup_dir == Path(env["EXCHBOT_BACKUP_DIR"])


def test_systemd_unit_and_procfile() -> None:
    unit = (ROOT / "deploy" / "exchbot.service").read_text()
    (exec_start,) = re.findall(r"^ExecStart=(.+)$", unit, re.M)
    argv = shlex.split(exec_start)
    assert Path(argv[0]).name == script_name() and argv[1] in COMMAND_NAMES
    env = dict(kv.split("=", 1) for kv in re.findall(r"^Environment=(\S+)$", unit, re.M))
    state = re.search(r"^StateDirectory=(\S+)$", unit, re.M)
    assert state and env["EXCHBOT_DB"].startswith(f"/var/lib/{state.group(1)}/")
    Settings.from_env(env)  # the example values pass the start-up checks
    procfile = (ROOT / "Procfile").read_text()
    assert "persistent disk" in procfile and "README" in procfile
    for line in procfile.splitlines():
        if line and not line.startswith("#"):
            assert shlex.split(line.split(":", 1)[1])[1] in COMMAND_NAMES
