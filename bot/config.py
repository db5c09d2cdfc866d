"""Settings from the environment, read and range-checked in one place, once, at start-up.

Every setting is one declarative :class:`Setting` entry in :data:`SETTINGS` (variable, field,
parser with its accepted range, default, help); README.md ("Configuration") lists them all. A bad
value raises :class:`SettingError`, which the CLI turns into a usage error (exit 2, one line).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.paths import BUSY_TIMEOUT_S, default_path


class SettingError(ValueError):
    """One environment variable has a value exchbot does not accept."""

    def __init__(self, name: str, value: str, accepts: str, *, secret: bool = False) -> None:
        shown = "(hidden)" if secret else _show(value)
        super().__init__(f"{name}={shown} is not accepted: {accepts}")
        self.name = name


def _show(value: str, limit: int = 60) -> str:
    """The value as a short, inert (escaped) quote."""
    text = value if len(value) <= limit else value[:limit] + "…"
    return ascii(text)


# -- parsers: each is a callable str -> value that raises ValueError, plus the text of what it accepts --


@dataclass(frozen=True)
class Parser:
    """Turns a setting's text into its value (raises ValueError); ``accepts`` says what is allowed."""

    accepts: str
    parse: Callable[[str], Any]


def float_range(lo: float, hi: float, unit: str = "") -> Parser:
    def parse(text: str) -> float:
        value = float(text)
        if not math.isfinite(value) or not lo <= value <= hi:
            raise ValueError
        return value

    return Parser(f"a number from {lo:g} to {hi:g}{unit}", parse)


def int_range(lo: int, hi: int, unit: str = "") -> Parser:
    def parse(text: str) -> int:
        value = int(text, 10)
        if not lo <= value <= hi:
            raise ValueError
        return value

    return Parser(f"a whole number from {lo} to {hi}{unit}", parse)


def _flag(text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError


def _text(text: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError
    text.encode("utf-8")  # undecodable bytes from the environment raise UnicodeEncodeError
    return text


def _id_list(text: str) -> frozenset[str]:
    items = [x.strip() for x in text.split(",")]
    if any(not x.isascii() or not x.isalnum() for x in items if x):
        raise ValueError
    return frozenset(x for x in items if x)


def _hhmm(text: str) -> str:
    hours, minutes = text.strip().split(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2):
        raise ValueError
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError
    return text.strip()


def _tz(text: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError from exc
    return text.strip()


def _regions(text: str) -> tuple[str, ...]:
    items = tuple(x.strip().lower() for x in text.split(",") if x.strip())
    if not items or any(not (x.isascii() and x.isalpha() and len(x) <= 20) for x in items):
        raise ValueError
    return items


def _pins(text: str) -> tuple[tuple[str, str], ...]:
    from bot.probe.ssrf import parse_pins

    items = [x.strip() for x in text.split(",")]
    if any(not x for x in items):
        raise ValueError  # an empty item is a typo, not "no pin"
    return tuple(parse_pins(items).items())


def _path(text: str) -> Path:
    if not text.strip() or "\0" in text:
        raise ValueError
    return Path(text).expanduser()


def _knowledge_dir(text: str) -> Path:
    path = _path(text)
    if not (path / "builds.csv").is_file():
        raise ValueError
    return path


def _directory(text: str) -> Path:
    path = _path(text)
    if path.exists() and not path.is_dir():
        raise ValueError  # a file where a directory is meant; a missing one is created when used
    return path


def _dns_servers(text: str) -> tuple[tuple[str, int], ...]:
    from bot.probe.dns import parse_servers

    return parse_servers(text)


def _url(text: str) -> str:
    if not text.startswith(("http://", "https://")) or any(c.isspace() for c in text):
        raise ValueError
    return text if text.endswith("/") else text + "/"


FLAG = Parser("1, true, yes, on, 0, false, no or off", _flag)
SECRET = Parser("any UTF-8 text without control characters", _text)
TEXT = Parser("any UTF-8 text without control characters", _text)
IDS = Parser("comma-separated Slack IDs (letters and digits)", _id_list)
HHMM = Parser("a time of day HH:MM (00:00 to 23:59)", _hhmm)
TZ = Parser("an IANA time zone such as UTC or Europe/Berlin", _tz)
REGIONS = Parser("comma-separated region names or ISO country codes, e.g. eu,us,world", _regions)
PINS = Parser("comma-separated HOST:ADDRESS pins, e.g. mail.example.com:192.0.2.10", _pins)
PATH = Parser("a file path", _path)
KNOWLEDGE_DIR = Parser("an existing directory that contains builds.csv", _knowledge_dir)
URL = Parser("an http:// or https:// URL", _url)
DIRECTORY = Parser("a directory path (not a file)", _directory)
DNS_SERVERS = Parser("comma-separated name servers ip[:port], e.g. 192.0.2.53,[2001:db8::53]:5353", _dns_servers)


@dataclass(frozen=True)
class Setting:
    """One environment variable: where it goes, how it is parsed (and its range), default, help."""

    env: str
    field: str
    parser: Parser
    default: Any
    help: str
    secret: bool = False


# Add a setting here (and a field to Settings); README.md's Configuration table lists each one.
SETTINGS: tuple[Setting, ...] = (
    Setting("EXCHBOT_DB", "db_path", PATH, None, "SQLite history (`$XDG_DATA_HOME` is honoured)"),
    Setting(
        "EXCHBOT_DB_LOCK_TIMEOUT",
        "db_lock_timeout",
        float_range(0, 600, " seconds"),
        BUSY_TIMEOUT_S,
        "longest wait for another process's database lock",
    ),
    Setting("EXCHBOT_ALLOW_PRIVATE", "allow_private", FLAG, False, "allow private/loopback targets"),
    Setting("EXCHBOT_TIMEOUT", "timeout", float_range(0.5, 300, " seconds"), 10.0, "seconds per host"),
    Setting("EXCHBOT_CONCURRENCY", "concurrency", int_range(1, 1000), 20, "hosts checked at once"),
    Setting("EXCHBOT_RESOLVE", "resolve", PINS, (), "HOST:ADDRESS pins, like curl --resolve"),
    Setting("SHODAN_API_KEY", "shodan_api_key", SECRET, None, "Shodan API key", secret=True),
    Setting("EXCHBOT_SHODAN_RPS", "shodan_rps", float_range(0, 100), 1.0, "Shodan requests per second (0 = no limit)"),
    Setting(
        "EXCHBOT_SHODAN_TIMEOUT", "shodan_timeout", float_range(0.5, 600, " seconds"), 30.0, "seconds per Shodan call"
    ),
    Setting(
        "EXCHBOT_EXPOSURE_TTL_HOURS",
        "exposure_ttl_hours",
        float_range(0, 8760, " hours"),
        24.0,
        "reuse a snapshot this young (0 = always new)",
    ),
    Setting("SLACK_BOT_TOKEN", "slack_bot_token", SECRET, None, "bot token (xoxb-…)", secret=True),
    Setting("SLACK_APP_TOKEN", "slack_app_token", SECRET, None, "app-level token (xapp-…)", secret=True),
    Setting("SLACK_SIGNING_SECRET", "slack_signing_secret", SECRET, None, "HTTP mode signing secret", secret=True),
    Setting("SLACK_API_URL", "slack_api_url", URL, "https://slack.com/api/", "Slack Web API base URL"),
    Setting("EXCHBOT_ALLOWED_CHANNELS", "allowed_channels", IDS, frozenset(), "channels allowed (default: all)"),
    Setting("EXCHBOT_ALLOWED_USERS", "allowed_users", IDS, frozenset(), "users allowed (default: all)"),
    Setting("EXCHBOT_DIGEST_CHANNEL", "digest_channel", TEXT, None, "channel for the daily digest"),
    Setting("EXCHBOT_DIGEST_TIME", "digest_time", HHMM, "08:00", "time of the daily digest"),
    Setting("EXCHBOT_DIGEST_TZ", "digest_tz", TZ, "UTC", "time zone of the daily times"),
    Setting("EXCHBOT_DIGEST_REGIONS", "digest_regions", REGIONS, ("eu", "us", "world"), "regions in the digest"),
    Setting("EXCHBOT_WATCH_TIME", "watch_time", HHMM, "07:30", "time of the daily watchlist run"),
    Setting(
        "EXCHBOT_USER_RATE_PER_MINUTE",
        "user_rate_per_minute",
        int_range(0, 10_000),
        6,
        "per-user Slack commands per minute (0 = no limit)",
    ),
    Setting("EXCHBOT_MAX_JOBS", "max_concurrent_jobs", int_range(1, 256), 8, "Slack job workers"),
    Setting("EXCHBOT_KNOWLEDGE_DIR", "knowledge_dir", KNOWLEDGE_DIR, None, "another knowledge directory"),
    Setting(
        "EXCHBOT_KNOWLEDGE_MAX_AGE_DAYS",
        "knowledge_max_age_days",
        int_range(0, 999_999, " days"),
        35,
        "older knowledge makes every answer carry a staleness warning (so does the next Patch Tuesday)",
    ),
    Setting("EXCHBOT_DNS_SERVERS", "dns_servers", DNS_SERVERS, (), "name servers for every lookup (default: system's)"),
    Setting("EXCHBOT_BACKUP_DIR", "backup_dir", DIRECTORY, None, "`serve` writes one dated backup a day here"),
    Setting("EXCHBOT_BACKUP_KEEP", "backup_keep", int_range(1, 10_000), 7, "daily backups kept"),
    Setting(
        "EXCHBOT_UNREACHABLE_DAYS",
        "unreachable_days",
        int_range(1, 3650, " days"),
        3,
        "the digest lists watched hosts unreachable this long",
    ),
    Setting("EXCHBOT_HEALTH_PORT", "health_port", int_range(1, 65_535), None, "Socket Mode: GET /healthz port"),
)


@dataclass(frozen=True)
class Settings:
    """Every setting of a run, from the environment (``EXCHBOT_*``, ``SLACK_*``, ``SHODAN_*``) and the options."""

    db_path: Path
    db_lock_timeout: float = BUSY_TIMEOUT_S
    allow_private: bool = False
    timeout: float = 10.0
    concurrency: int = 20
    shodan_api_key: str | None = field(default=None, repr=False)  # a secret: never in a repr or log
    shodan_rps: float = 1.0
    shodan_timeout: float = 30.0
    exposure_ttl_hours: float = 24.0
    slack_bot_token: str | None = field(default=None, repr=False)  # a secret: never in a repr or log
    slack_app_token: str | None = field(default=None, repr=False)  # a secret: never in a repr or log
    slack_signing_secret: str | None = field(default=None, repr=False)  # a secret: never in a repr or log
    slack_api_url: str = "https://slack.com/api/"
    allowed_channels: frozenset[str] = field(default_factory=frozenset)
    allowed_users: frozenset[str] = field(default_factory=frozenset)
    digest_channel: str | None = None
    digest_time: str = "08:00"
    digest_tz: str = "UTC"
    digest_regions: tuple[str, ...] = ("eu", "us", "world")
    watch_time: str = "07:30"
    user_rate_per_minute: int = 6
    max_concurrent_jobs: int = 8
    resolve: tuple[tuple[str, str], ...] = ()  # HOST -> ADDRESS pins, like curl --resolve
    knowledge_dir: Path | None = None  # None: the packaged knowledge/
    knowledge_max_age_days: int = 35  # older knowledge: every answer warns (core/staleness.py)
    dns_servers: tuple[tuple[str, int], ...] = ()  # EXCHBOT_DNS_SERVERS; empty: the system's resolv.conf
    backup_dir: Path | None = None  # daily backups of `serve` go here (off when unset)
    backup_keep: int = 7  # newest daily backups kept
    health_port: int | None = None  # Socket Mode: serve GET /healthz on this port
    unreachable_days: int = 3  # the digest lists watched hosts unreachable this long

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Parse every setting; raises :class:`SettingError` for the first bad one. An unset or
        empty variable means the default."""
        e = os.environ if env is None else env
        values: dict[str, Any] = {}
        for s in SETTINGS:
            raw = e.get(s.env, "")
            if raw.strip() == "":
                if s.default is not None:
                    values[s.field] = s.default
                continue
            try:
                values[s.field] = s.parser.parse(raw)
            except (ValueError, TypeError, OverflowError):
                raise SettingError(s.env, raw, s.parser.accepts, secret=s.secret) from None
        values.setdefault("db_path", default_path())
        return cls(**values)
