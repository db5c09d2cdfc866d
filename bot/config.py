"""Settings from the environment, read in one place (documented in README.md, "Configuration")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.paths import default_path


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(env.get(name, default))
    except ValueError:
        return default


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(env.get(name, default))
    except ValueError:
        return default


class SettingError(ValueError):
    """A setting has a value outside its accepted range (the CLI reports it as a usage error)."""


def _whole_days(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise SettingError(f"{name}={raw[:40]!r}: expected a whole number of days, 0 to 999999")
    return int(raw)


def _list(env: Mapping[str, str], name: str) -> frozenset[str]:
    return frozenset(x.strip() for x in env.get(name, "").split(",") if x.strip())


@dataclass(frozen=True)
class Settings:
    db_path: Path
    allow_private: bool = False
    timeout: float = 10.0
    concurrency: int = 20
    shodan_api_key: str | None = None
    shodan_rps: float = 1.0
    shodan_timeout: float = 30.0
    exposure_ttl_hours: float = 24.0
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
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
    knowledge_max_age_days: int = 35  # older knowledge: every answer warns (one Patch Tuesday + margin)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        db = e.get("EXCHBOT_DB")
        return cls(
            db_path=Path(db).expanduser() if db else default_path(),
            allow_private=_flag(e, "EXCHBOT_ALLOW_PRIVATE"),
            timeout=_float(e, "EXCHBOT_TIMEOUT", 10.0),
            concurrency=_int(e, "EXCHBOT_CONCURRENCY", 20),
            shodan_api_key=e.get("SHODAN_API_KEY") or None,
            shodan_rps=_float(e, "EXCHBOT_SHODAN_RPS", 1.0),
            shodan_timeout=_float(e, "EXCHBOT_SHODAN_TIMEOUT", 30.0),
            exposure_ttl_hours=_float(e, "EXCHBOT_EXPOSURE_TTL_HOURS", 24.0),
            slack_bot_token=e.get("SLACK_BOT_TOKEN") or None,
            slack_app_token=e.get("SLACK_APP_TOKEN") or None,
            slack_signing_secret=e.get("SLACK_SIGNING_SECRET") or None,
            slack_api_url=e.get("SLACK_API_URL") or "https://slack.com/api/",
            allowed_channels=_list(e, "EXCHBOT_ALLOWED_CHANNELS"),
            allowed_users=_list(e, "EXCHBOT_ALLOWED_USERS"),
            digest_channel=e.get("EXCHBOT_DIGEST_CHANNEL") or None,
            digest_time=e.get("EXCHBOT_DIGEST_TIME", "08:00"),
            digest_tz=e.get("EXCHBOT_DIGEST_TZ", "UTC"),
            digest_regions=tuple(x.strip().lower() for x in e.get("EXCHBOT_DIGEST_REGIONS", "").split(",") if x.strip())
            or ("eu", "us", "world"),
            watch_time=e.get("EXCHBOT_WATCH_TIME", "07:30"),
            user_rate_per_minute=_int(e, "EXCHBOT_USER_RATE_PER_MINUTE", 6),
            max_concurrent_jobs=_int(e, "EXCHBOT_MAX_JOBS", 8),
            resolve=_pins(e.get("EXCHBOT_RESOLVE", "")),
            knowledge_max_age_days=_whole_days(e, "EXCHBOT_KNOWLEDGE_MAX_AGE_DAYS", 35),
        )


def _pins(text: str) -> tuple[tuple[str, str], ...]:
    if not text.strip():
        return ()
    from bot.probe.ssrf import parse_pins

    try:
        return tuple(parse_pins([x for x in text.split(",") if x.strip()]).items())
    except ValueError:
        return ()
