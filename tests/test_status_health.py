"""``exchbot status`` and the ``/healthz`` answer of ``exchbot serve``: real processes, real files."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.catalog import Catalog
from bot.services.health import health_check
from bot.slack.http_server import HttpServer
from bot.store import Store
from bot.store.migrations import LATEST
from tests.fakes.slack_api import FakeSlack
from tests.helpers import T0, result
from tests.slack_harness import PROXY_VARS, SECRET

ROOT = Path(__file__).resolve().parents[1]
EXCHBOT = str(Path(sys.executable).parent / "exchbot")


def clean_env(db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXCHBOT_", "SLACK_")) and k not in PROXY_VARS}
    return {**env, "EXCHBOT_DB": str(db), **extra}


def run(args: list[str], db: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXCHBOT, *args], capture_output=True, text=True, timeout=60, env=clean_env(db, **extra), cwd=ROOT, check=False
    )


def test_status_json_reports_the_database_and_the_jobs(tmp_path: Path, catalog: Catalog) -> None:
    db = tmp_path / "s.db"
    store = Store(db)
    try:
        store.save_checks([result(catalog, "mail.example.com", T0, "15.2.1544.11")], requested_by="watchlist")
        store.record_job_run("watchlist", T0, T0 + dt.timedelta(minutes=1), True, "1 hosts, 0 could not be checked")
        store.record_job_run("digest", T0, T0 + dt.timedelta(minutes=2), False, "SlackApiError: channel_not_found")
    finally:
        store.close()
    proc = run(["status", "--json"], db)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["db"] == {
        "path": str(db),
        "exists": True,
        "writable": True,
        "schema_version": LATEST,
        "schema_expected": LATEST,
    }
    assert doc["knowledge_date"] == catalog.data_date.isoformat()
    assert doc["knowledge_age_days"] == (dt.datetime.now(dt.UTC).date() - catalog.data_date).days
    assert doc["counts"] == {"checks": 1, "hosts": 1, "snapshots": 0, "watchlist": 0}
    assert doc["last_backup"] is None and doc["healthy"] is True
    assert doc["last_watchlist_run"]["ok"] is True and "1 hosts" in doc["last_watchlist_run"]["detail"]
    assert doc["last_digest"]["ok"] is False and "channel_not_found" in doc["last_digest"]["detail"]
    text = run(["status"], db).stdout
    assert "last digest: " in text and "FAILED" in text and str(db) in text


def test_status_says_when_answers_warn_of_old_knowledge_without_calling_it_unhealthy(
    tmp_path: Path, catalog: Catalog
) -> None:
    from bot.core.staleness import next_patch_tuesday

    db = tmp_path / "k.db"
    with Store(db) as store:  # a database to report on: made on the first write
        store.watch_add("mail.example.com", "mail.example.com", T0)
    release = next_patch_tuesday(catalog.data_date).isoformat()
    doc = json.loads(run(["status", "--json"], db, EXCHBOT_KNOWLEDGE_MAX_AGE_DAYS="999").stdout)
    assert doc["knowledge_warn_from"] == release  # the next Patch Tuesday comes first
    stale = run(["status", "--json"], db, EXCHBOT_KNOWLEDGE_MAX_AGE_DAYS="0")  # older than 0 days: due now
    doc = json.loads(stale.stdout)
    assert stale.returncode == 0 and doc["healthy"] is True  # the service works; its answers carry the warning
    assert doc["knowledge_warn_from"] == (catalog.data_date + dt.timedelta(days=1)).isoformat()
    assert len(doc["knowledge_warnings"]) == 1 and "more than 0" in doc["knowledge_warnings"][0]
    text = run(["status"], db, EXCHBOT_KNOWLEDGE_MAX_AGE_DAYS="0").stdout
    assert f"answers warn from {doc['knowledge_warn_from']}" in text and "  warning: knowledge data is from" in text


def test_status_without_a_database_is_unhealthy_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "missing" / "x.db"
    proc = run(["status", "--json"], db)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["db"]["exists"] is False and doc["db"]["writable"] is False and doc["healthy"] is False
    assert not db.parent.exists()


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("EXCHBOT_BACKUP_KEEP", "0"),
        ("EXCHBOT_BACKUP_KEEP", "seven"),
        ("EXCHBOT_HEALTH_PORT", "70000"),
        ("EXCHBOT_BACKUP_DIR", "FILE"),
    ],
)
def test_bad_settings_stop_every_command_with_exit_2(tmp_path: Path, var: str, value: str) -> None:
    if value == "FILE":
        (tmp_path / "afile").write_text("x")
        value = str(tmp_path / "afile")
    proc = run(["status"], tmp_path / "x.db", **{var: value})
    assert proc.returncode == 2 and var in proc.stderr and "Traceback" not in proc.stderr
    assert run(["history", "mail.example.com"], tmp_path / "x.db", **{var: value}).returncode == 2


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` read-only even for root (the immutable flag), else by its mode bits."""
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if not chattr or subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False).returncode:
            pytest.skip("cannot make a file read-only for root here (no chattr +i)")
        try:
            yield
        finally:
            subprocess.run([chattr, "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)


def get(port: int, path: str = "/healthz") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def test_healthz_turns_503_when_the_database_becomes_read_only(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    with FakeSlack() as fake:
        env = clean_env(
            db,
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake.api_url,
            PYTHONUNBUFFERED="1",
        )
        proc = subprocess.Popen(
            [EXCHBOT, "serve", "--http", "--port", "0"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        assert proc.stderr is not None
        stream = proc.stderr

        def pump() -> None:
            for x in iter(stream.readline, ""):
                lines.put(x)

        threading.Thread(target=pump, daemon=True).start()
        try:
            port, log = 0, []
            deadline = time.monotonic() + 30
            while not port and time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    log.append(lines.get(timeout=1))
                    if "listening on http://127.0.0.1:" in log[-1]:
                        port = int(log[-1].split("127.0.0.1:")[1].split("/")[0])
            assert port, "".join(log)
            assert any(f"database {db} holds 0 checks" in line for line in log), "".join(log)
            assert get(port) == (200, "ok")
            with read_only(db):
                status, body = get(port)
                assert status == 503 and body.startswith("unhealthy: the database is not writable")
                assert run(["status"], db).returncode == 1
            assert get(port) == (200, "ok")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


def test_health_only_server_for_socket_mode(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    Store(db).close()
    Store(db).watchlist()  # created and migrated
    up = [True]
    server = HttpServer(None, port=0, threads=2, health=health_check(db, lambda: up[0])).start()
    try:
        assert get(server.port) == (200, "ok")
        assert get(server.port, "/slack/events")[0] == 404
        up[0] = False
        assert get(server.port) == (503, "unhealthy: the connection to Slack is down")
    finally:
        server.stop()


def test_socket_mode_health_port_is_503_until_the_connection_is_up(tmp_path: Path) -> None:
    from slack_bolt import App

    from bot.cli.serve_cmd import _HealthServer, _SocketRunner
    from bot.config import Settings

    db = tmp_path / "x.db"
    Store(db).watchlist()
    settings = Settings.from_env({"EXCHBOT_DB": str(db), "SLACK_APP_TOKEN": "xapp-1-test"})
    app = App(token="xoxb-test", token_verification_enabled=False, request_verification_enabled=False)
    runner = _SocketRunner(app, settings)
    health = _HealthServer("127.0.0.1", 0, health_check(db, runner.connected))
    health.start()  # as `serve --health-port` does once the connection is made; here it never was
    try:
        assert health.server is not None
        assert get(health.server.port) == (503, "unhealthy: the connection to Slack is down")
    finally:
        health.stop()
        runner.handler.client.close()
